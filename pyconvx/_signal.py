"""The scipy face: drop-in replacements for scipy.signal.correlate2d and
convolve2d.

Every rule below mirrors scipy.signal 1.17 (Python front and C loop): the
argument checks and their order, the valid-mode swap, PyArray_ObjectType
promotion, the `fillvalue` conversion, the error messages.  Only the
computation differs: multithreaded, GIL-free and vectorised, yet summed in
scipy's order so that results are identical, bit for bit.
"""

import numpy as np

from . import _corr2d
from ._arrays import kernel_array
from ._shapes import scipy_geometry
from ._threads import resolve_workers

__all__ = ["correlate2d", "convolve2d"]

_MODES = {"valid": 0, "same": 1, "full": 2}
_FILL, _WRAP, _SYMM = 0, 1, 2   # match BOUNDARY_* in _corr2d.pxd
_BOUNDARIES = {
    "fill": _FILL, "pad": _FILL,
    "wrap": _WRAP, "circular": _WRAP,
    "symm": _SYMM, "symmetric": _SYMM,
    # scipy's table lists 'reflect', but its C loop then rejects it.
    "reflect": None,
}
_CDOUBLE = np.dtype(np.cdouble).num


def _inputs_swap_needed(mode, shape1, shape2):
    # 'valid' needs the larger input first; other modes never swap.
    if mode != "valid":
        return False
    ok1 = all(a >= b for a, b in zip(shape1, shape2))
    ok2 = all(b >= a for a, b in zip(shape1, shape2))
    if not (ok1 or ok2):
        raise ValueError("For 'valid' mode, one must be at least "
                         "as large as the other in every dimension")
    return not ok1


def _check_mode(mode):
    try:
        return _MODES[mode]
    except KeyError as e:
        raise ValueError("Acceptable mode flags are 'valid',"
                         " 'same', or 'full'.") from e


def _check_boundary(boundary):
    try:
        return _BOUNDARIES[boundary]
    except KeyError as e:
        raise ValueError("Acceptable boundary flags are 'fill', 'circular' "
                         "(or 'wrap'), and 'symmetric' (or 'symm').") from e


def _supported(dtype):
    # scipy's loop has all integer, real and complex types: type numbers
    # 1 (byte) to 16 (clongdouble).  Not bool, float16, object, strings...
    return 1 <= dtype.num <= 16


def _as_operand(x, dtype, typenum):
    if not _supported(dtype):
        # Error path: convert exactly as scipy's C front does, so any
        # conversion error is scipy's own.
        return _corr2d.from_object(x, typenum, 2, 2)
    return kernel_array(x, dtype)


def _fill_array(fillvalue, typenum, dtype):
    # scipy converts the fill value to the output type directly; if that
    # fails it retries through complex only to produce its error message.
    try:
        fill = _corr2d.from_object(fillvalue, typenum, 0, 0)
    except Exception:
        tmp = _corr2d.from_object(fillvalue, _CDOUBLE, 0, 0)
        tmp.astype(dtype)    # emits scipy's ComplexWarning
        raise ValueError("could not cast `fillvalue` directly to the output "
                         "type (it was first converted to complex).") from None
    if fill.size != 1:
        if fill.size == 0:
            raise ValueError("`fillvalue` cannot be an empty array.")
        raise ValueError("`fillvalue` must be scalar or an array with "
                         "one element.")
    return fill


def _correlate_or_convolve(name, flip, in1, in2, mode, boundary, fillvalue,
                           workers):
    in1 = np.asarray(in1)
    in2 = np.asarray(in2)
    if not in1.ndim == in2.ndim == 2:
        raise ValueError(f"{name} inputs must both be 2-D arrays")

    swapped = _inputs_swap_needed(mode, in1.shape, in2.shape)
    if swapped:
        in1, in2 = in2, in1
    _check_mode(mode)
    bcode = _check_boundary(boundary)
    n_threads = resolve_workers(workers)
    if not flip and in2.dtype.kind not in "iuf":
        in2 = in2.conj()

    typenum = _corr2d.scipy_result_typenum(in1, in2)
    dtype = np.dtype(_corr2d.dtype_from_typenum(typenum))
    image = _as_operand(in1, dtype, typenum)
    kernel = _as_operand(in2, dtype, typenum)
    if bcode is None:
        raise ValueError("Incorrect boundary value.")
    if bcode == _FILL:
        fill = _fill_array(fillvalue, typenum, dtype)
    else:
        fill = np.zeros((), dtype=dtype)

    out_shape, (pad_top, pad_left) = scipy_geometry(mode, image.shape,
                                                    kernel.shape, flip)
    out = _corr2d.empty_from_typenum(out_shape, typenum)
    if not _supported(dtype):
        raise ValueError("convolve2d not available for this type.")
    if out.size == 0:
        return out
    if kernel.size == 0:
        out[...] = 0        # an empty sum
        return out
    if image.size == 0 and bcode != _FILL:
        # scipy.signal divides by zero here and kills the process (SIGFPE).
        raise ValueError(f"boundary {boundary!r} cannot extend an empty "
                         "array; use boundary='fill'")

    # (Signed integers are computed as unsigned ones, wrapping as scipy's;
    # fill, made by PyArray_FromObject or np.zeros, is ready as it is.)
    _corr2d.correlate2d_into(image, kernel, out, pad_top, pad_left, flip,
                             bcode, fill, n_threads)
    if swapped and not flip:
        # correlate2d(small, big, 'valid') is the flipped correlation.
        out = np.ascontiguousarray(out[::-1, ::-1])
    return out


_PARAMS_DOC = """
    Parameters
    ----------
    in1 : array_like
        First input, 2-D.
    in2 : array_like
        Second input, 2-D.
    mode : {{'full', 'valid', 'same'}}, optional
        Size of the output:

        ``full``
           The full discrete linear {op} of the inputs (default).
        ``valid``
           Only the elements that do not rely on padding.  Either `in1` or
           `in2` must be at least as large as the other in every dimension;
           if `in2` is the larger, the inputs are swapped (as in scipy).
        ``same``
           The shape of `in1`, centred with respect to the 'full' output.
    boundary : {{'fill', 'wrap', 'symm'}}, optional
        How the inputs are extended past their edges: ``fill`` pads with
        `fillvalue` (alias ``pad``), ``wrap`` is periodic (alias
        ``circular``), ``symm`` mirrors with the edge sample repeated (alias
        ``symmetric``).
    fillvalue : scalar, optional
        Value to pad with in ``fill`` mode, converted to the output type.
        Default is 0.
    workers : int, optional
        Number of threads.  None (default) uses the OpenMP default, which
        honours ``OMP_NUM_THREADS`` and threadpoolctl; a negative value
        counts back from the number of CPUs (-1: all of them).  The result is
        the same, bit for bit, for every value.

    Returns
    -------
    out : ndarray
        A C-contiguous 2-D array of the promoted type of `in1` and `in2`
        (as ``scipy.signal.{name}`` computes it).

    Raises
    ------
    ValueError
        For every input scipy.signal.{name} rejects, with scipy's message;
        also for ``boundary='wrap'`` or ``'symm'`` with an empty `in1`, a
        non-empty `in2` and a non-empty output, where scipy.signal crashes
        (SIGFPE).  When `in2` is empty too, every output is an empty sum:
        zeros are returned (scipy.signal crashes there as well).
    TypeError
        If `workers` is not an integer.

    Notes
    -----
    A drop-in replacement for ``scipy.signal.{name}``: same signature,
    output shape, dtype and values, bit for bit.

    Accumulation: floating-point outputs are computed in the result
    dtype, with no wider accumulator (float32 sums in float32, longdouble
    in longdouble, complex64 in complex64), and in scipy's order, so they
    are identical to scipy's, not merely close, on every CPU and for every
    `workers` (no fused multiply-add is used).  The order: the
    sum starts from 0 and takes the kernel rows one after another (the
    kernel is `in2`, or `in1` when ``valid`` mode swaps them); within a
    row the products are taken in the order of the kernel's columns, in
    groups of four, each group summed as ``((p0 + p1) + p2) + p3`` and then
    added to the running sum, and the last ``kW % 4`` products are added
    to the running sum one at a time.  So float32 cancels as in scipy: the
    window ``[1e8, 1, 1, 1, -1e8]`` under a kernel of ones sums to 0.0 in
    float32 (3.0 in float64).

    Integers wrap around modulo 2**bits of the result dtype, silently, as
    in scipy (no overflow check, no warning; every product and partial sum
    is reduced modulo 2**bits, so the order does not matter): in int8
    ``100 * 100`` gives 16 and ``100 + 100`` gives -56; in uint8
    ``200 * 2`` gives 144.

    NaN and Inf follow IEEE arithmetic, as in scipy: a NaN reaches every
    output whose window touches it (its copies made by ``wrap`` and
    ``symm`` included); ``0 * inf`` is NaN, so an infinite input under a
    zero kernel entry, or an infinite kernel entry over the zero fill,
    gives NaN; +inf and -inf in one window give NaN.

    The GIL is released during the computation.
"""


def correlate2d(in1, in2, mode="full", boundary="fill", fillvalue=0, *,
                workers=None):
    return _correlate_or_convolve("correlate2d", False, in1, in2, mode,
                                  boundary, fillvalue, workers)


def convolve2d(in1, in2, mode="full", boundary="fill", fillvalue=0, *,
               workers=None):
    return _correlate_or_convolve("convolve2d", True, in1, in2, mode,
                                  boundary, fillvalue, workers)


correlate2d.__doc__ = """Cross-correlate two 2-D arrays.

    ``out[i, j] = sum_{m,n} in1[i + m, j + n] * conj(in2[m, n])`` with the
    offsets of `mode`: the kernel slides over the image without flipping
    (what deep-learning libraries call convolution).
""" + _PARAMS_DOC.format(op="cross-correlation", name="correlate2d") + """
    See Also
    --------
    convolve2d : the same with the kernel flipped by 180 degrees.

    Examples
    --------
    The worked example of the tutorial pyconvx grew from:

    >>> import numpy as np
    >>> from pyconvx import correlate2d
    >>> x = np.array([[1, 2, 3, 0, 0], [0, 1, 5, 2, 0], [1, 0, 2, 2, 1],
    ...               [1, 2, 2, 2, 0], [1, 0, 0, 2, 0]])
    >>> k = np.array([[1, 0, 1], [0, 1, 0], [1, 0, 1]])
    >>> correlate2d(x, k, mode='valid')
    array([[8, 9, 8],
           [8, 9, 9],
           [6, 6, 5]])
"""

convolve2d.__doc__ = """Convolve two 2-D arrays.

    ``out[i, j] = sum_{m,n} in1[i - m, j - n] * in2[m, n]`` with the offsets
    of `mode`: the kernel is flipped by 180 degrees before it slides.
""" + _PARAMS_DOC.format(op="convolution", name="convolve2d") + """
    See Also
    --------
    correlate2d : the same without the flip.

    Examples
    --------
    Convolution is cross-correlation with the kernel rotated by 180 degrees:

    >>> import numpy as np
    >>> from pyconvx import convolve2d, correlate2d
    >>> a = np.arange(16.0).reshape(4, 4)
    >>> k = np.array([[1.0, 2.0], [0.0, -1.0]])
    >>> np.array_equal(convolve2d(a, k), correlate2d(a, k[::-1, ::-1]))
    True
"""
