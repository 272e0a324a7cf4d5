from typing import IO, Literal

import numpy as np
from numpy.typing import ArrayLike

__version__: str
__all__: list[str]

_Mode = Literal["full", "valid", "same"]
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
def show_config(file: IO[str] | None = None) -> None: ...
