"""How the Python fronts hand arrays to the typed kernels."""

import numpy as np

__all__ = ["kernel_array", "check_out"]


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


def check_out(out, shape, dtype, name="out"):
    """Check an ``out=`` argument: an ndarray of exactly the result's shape
    and dtype, C-contiguous and writeable (it may be misaligned: the fronts
    then compute into a buffer of their own and copy)."""
    if not isinstance(out, np.ndarray):
        raise ValueError(f"{name} must be a numpy.ndarray, got "
                         f"{type(out).__name__}")
    if out.shape != shape or out.dtype != dtype:
        raise ValueError(f"{name} must have shape {shape} and dtype {dtype}, "
                         f"got shape {out.shape} and dtype {out.dtype}")
    if not (out.flags.c_contiguous and out.flags.writeable):
        raise ValueError(f"{name} must be a writeable, C-contiguous array")
