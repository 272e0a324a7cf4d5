# Private kernel entry points (see _corr2d.pyx); the public API is in
# pyconvx/__init__.pyi.
import numpy as np

def correlate2d_into(
    image: np.ndarray,
    kernel: np.ndarray,
    out: np.ndarray,
    pad_top: int,
    pad_left: int,
    flip: bool,
    boundary: int,
    fill: np.ndarray,
    n_threads: int,
) -> int: ...
def scipy_result_typenum(in1: object, in2: object) -> int: ...
def from_object(obj: object, typenum: int, min_depth: int, max_depth: int) -> np.ndarray: ...
def dtype_from_typenum(typenum: int) -> np.dtype: ...
def empty_from_typenum(shape: tuple[int, int], typenum: int) -> np.ndarray: ...
def _set_isa_cap(name: str | None) -> str | None: ...
