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
) -> int: ...
