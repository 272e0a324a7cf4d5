# Private kernel entry points (see _pool.pyx); the public API is in
# pyconvx/__init__.pyi.
import numpy as np

def max_pool2d_into(
    x: np.ndarray,
    out: np.ndarray,
    indices: np.ndarray | None,
    kernel: tuple[int, int],
    stride: tuple[int, int],
    padding: tuple[int, int],
    dilation: tuple[int, int],
    n_threads: int,
) -> int: ...
def avg_pool2d_into(
    x: np.ndarray,
    out: np.ndarray,
    kernel: tuple[int, int],
    stride: tuple[int, int],
    padding: tuple[int, int],
    count_include_pad: bool,
    divisor_override: int,
    n_threads: int,
) -> int: ...
def _set_isa_cap(name: str | None) -> str | None: ...
def _set_window_outputs(n: int) -> int: ...
