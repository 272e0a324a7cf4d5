from typing import IO, Literal, overload

import numpy as np
from numpy.typing import ArrayLike

__version__: str
__all__: list[str]

_Mode = Literal["full", "valid", "same"]
_Padding = (
    int
    | tuple[int, int]
    | tuple[tuple[int, int], tuple[int, int]]
    | Literal["valid", "same"]
)
_Boundary = Literal["fill", "pad", "wrap", "circular", "symm", "symmetric"]

def correlate2d(
    in1: ArrayLike,
    in2: ArrayLike,
    mode: _Mode = "full",
    boundary: _Boundary = "fill",
    fillvalue: complex | ArrayLike = 0,
    *,
    workers: int | None = None,
) -> np.ndarray: ...
def convolve2d(
    in1: ArrayLike,
    in2: ArrayLike,
    mode: _Mode = "full",
    boundary: _Boundary = "fill",
    fillvalue: complex | ArrayLike = 0,
    *,
    workers: int | None = None,
) -> np.ndarray: ...
def conv_output_size(
    input_size: int,
    kernel_size: int,
    stride: int = 1,
    padding: int | tuple[int, int] = 0,
    dilation: int = 1,
) -> int: ...
def conv2d_output_shape(
    input_shape: tuple[int, ...],
    weight_shape: tuple[int, ...],
    stride: int | tuple[int, int] = 1,
    padding: _Padding = 0,
    dilation: int | tuple[int, int] = 1,
) -> tuple[int, ...]: ...
def pool2d_output_shape(
    input_shape: tuple[int, ...],
    kernel_size: int | tuple[int, int],
    stride: int | tuple[int, int] | None = None,
    padding: int | tuple[int, int] = 0,
    dilation: int | tuple[int, int] = 1,
    ceil_mode: bool = False,
) -> tuple[int, ...]: ...
def conv2d(
    input: ArrayLike,
    weight: ArrayLike,
    bias: ArrayLike | None = None,
    stride: int | tuple[int, int] = 1,
    padding: _Padding = 0,
    dilation: int | tuple[int, int] = 1,
    groups: int = 1,
    *,
    padding_mode: Literal["zeros", "reflect", "replicate", "circular", "symmetric"] = "zeros",
    method: Literal["auto", "direct"] = "auto",
    workers: int | None = None,
    out: np.ndarray | None = None,
) -> np.ndarray: ...
@overload
def max_pool2d(
    input: ArrayLike,
    kernel_size: int | tuple[int, int],
    stride: int | tuple[int, int] | None = None,
    padding: int | tuple[int, int] = 0,
    dilation: int | tuple[int, int] = 1,
    ceil_mode: bool = False,
    return_indices: Literal[False] = False,
    *,
    workers: int | None = None,
    out: np.ndarray | None = None,
) -> np.ndarray: ...
@overload
def max_pool2d(
    input: ArrayLike,
    kernel_size: int | tuple[int, int],
    stride: int | tuple[int, int] | None = None,
    padding: int | tuple[int, int] = 0,
    dilation: int | tuple[int, int] = 1,
    ceil_mode: bool = False,
    *,
    return_indices: Literal[True],
    workers: int | None = None,
    out: tuple[np.ndarray | None, np.ndarray | None] | None = None,
) -> tuple[np.ndarray, np.ndarray]: ...
def avg_pool2d(
    input: ArrayLike,
    kernel_size: int | tuple[int, int],
    stride: int | tuple[int, int] | None = None,
    padding: int | tuple[int, int] = 0,
    ceil_mode: bool = False,
    count_include_pad: bool = True,
    divisor_override: int | None = None,
    *,
    workers: int | None = None,
    out: np.ndarray | None = None,
) -> np.ndarray: ...
def show_config(file: IO[str] | None = None) -> None: ...
