"""How the Python fronts hand arrays to the typed kernels."""

import numpy as np

from . import _convert

__all__ = ["kernel_array", "check_out", "cast_result"]

_F16 = np.dtype(np.float16)
_F32 = np.dtype(np.float32)


def kernel_array(x, dtype, n_threads=1):
    """`x` as a base-class ndarray of native `dtype` that the kernels can
    read: C-contiguous and aligned.

    ``np.ascontiguousarray`` keeps a misaligned array as it is, and a typed
    load from a misaligned address is undefined behaviour in C (UBSan
    reports it; vector loads may fault): such inputs are copied.  float16
    goes to float32 through _convert, on `n_threads` threads.
    """
    flags = getattr(x, "flags", None)
    # The common case, without np.require's ~3 us of argument handling.
    # (An explicit '<' long double equals the native dtype but the buffer
    # protocol refuses it: np.require relabels it '='.)
    if (type(x) is np.ndarray and x.dtype == dtype
            and x.dtype.byteorder in "=|" and flags.c_contiguous
            and flags.aligned):
        return x
    if (dtype == _F32 and isinstance(x, np.ndarray) and x.dtype.kind == "f"
            and x.dtype.itemsize == 2):
        # (Byte-swapped float16 too: np.require swaps it first.)
        x = np.require(x, dtype=_F16, requirements="CAE")
        out = np.empty(x.shape, _F32)
        _convert.half_to_float(x, out, n_threads)
        return out
    return np.require(x, dtype=dtype, requirements="CAE")


def cast_result(result, dtype, out=None, n_threads=1):
    """A kernel's C-contiguous `result` in `dtype` (native byte order):
    written into `out` if given (checked already; returned), else a new
    array, or `result` itself when it has that type.  float32 to float16
    goes through _convert, on `n_threads` threads; the bits are astype's."""
    dtype = dtype.newbyteorder("=")
    if out is not None:
        if result is out:
            return out
        if (result.dtype == _F32 and out.dtype == _F16
                and out.flags.aligned and out.flags.c_contiguous):
            _convert.float_to_half(result, out, n_threads)
        else:
            out[...] = result
        return out
    if result.dtype == dtype:
        return result
    if result.dtype == _F32 and dtype == _F16:
        half = np.empty(result.shape, _F16)
        _convert.float_to_half(result, half, n_threads)
        return half
    return result.astype(dtype)


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
