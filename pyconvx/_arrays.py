"""How the Python fronts hand arrays to the typed kernels."""

import numpy as np

__all__ = ["kernel_array"]


def kernel_array(x, dtype):
    """`x` as a base-class ndarray of native `dtype` that the kernels can
    read: C-contiguous and aligned.

    ``np.ascontiguousarray`` keeps a misaligned array as it is, and a typed
    load from a misaligned address is undefined behaviour in C (UBSan
    reports it; vector loads may fault): such inputs are copied.
    """
    flags = getattr(x, "flags", None)
    # The common case, without np.require's ~3 us of argument handling.
    # (An explicit '<' long double equals the native dtype but the buffer
    # protocol refuses it: np.require relabels it '='.)
    if (type(x) is np.ndarray and x.dtype == dtype
            and x.dtype.byteorder in "=|" and flags.c_contiguous
            and flags.aligned):
        return x
    return np.require(x, dtype=dtype, requirements="CAE")
