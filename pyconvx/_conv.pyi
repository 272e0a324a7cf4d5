# Private kernel entry point (see _conv.pyx); the public API is pyconvx.conv2d.
import numpy as np

def conv2d_forward(
    x: np.ndarray,
    weight: np.ndarray,
    bias: np.ndarray,
    out: np.ndarray,
    sh: int,
    sw: int,
    pt: int,
    pl: int,
    dh: int,
    dw: int,
    groups: int,
    padding_mode: int,
    n_threads: int,
    direct: bool = ...,
) -> int: ...
def engine(
    dtype: str,
    c_in: int,
    c_out: int,
    kh: int,
    kw: int,
    ow: int,
    sw: int = ...,
    dw: int = ...,
    groups: int = ...,
    sh: int = ...,
    dh: int = ...,
    oh: int | None = ...,
    n: int = ...,
) -> str: ...
def cv_kernels() -> dict[str, tuple[str, int, int]]: ...
def _set_engine(name: str | None) -> str | None: ...
def _set_exact_fill(fill: float) -> float: ...
def _set_defer(mode: bool | None) -> bool | None: ...
def _set_share_bytes(n_bytes: float) -> float: ...
def _set_stream_bytes(n_bytes: float) -> float: ...
def _set_isa_cap(name: str | None) -> str | None: ...
