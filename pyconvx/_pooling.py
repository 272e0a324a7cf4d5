"""The NCHW face, pooling: max_pool2d and avg_pool2d with the semantics of
torch.nn.functional (2.13) on NumPy arrays.

The fronts validate in torch's order and with torch's messages (as
ValueError / TypeError), normalise any array-like to a C-contiguous,
native-byte-order (planes, H, W) array and hand it to the typed kernels of
_pool.pyx, which run without the GIL.
"""

import functools
from typing import NamedTuple

import numpy as np

from . import _pool
from ._arrays import cast_result, check_out, kernel_array
from ._shapes import (_as_int, check_pool_input_shape, check_pool_output,
                      plain_args, pool2d_geometry)
from ._threads import resolve_workers

__all__ = ["max_pool2d", "avg_pool2d"]


def _as_input(input):
    x = np.asarray(input)
    if x.ndim not in (3, 4):
        raise ValueError("non-empty 3D or 4D (batch mode) tensor expected for "
                         "input")
    return x


class _Call(NamedTuple):
    """What one call does, derived from the input's shape and dtype and the
    size arguments alone (hence cacheable)."""
    geom: object        # Pool2dGeometry
    work: np.dtype      # the kernel's element type
    shape: tuple        # the result's shape


def _call(name, shape, dtype, kernel_size, stride, padding, dilation,
          ceil_mode):
    """Validate a call in torch's order, with torch's messages, and plan it.

    Validating and planning is most of the time of a small call: with plain
    int arguments the result is cached (exceptions are not)."""
    if plain_args(kernel_size, stride, padding, dilation) and (
            type(ceil_mode) is bool):
        return _call_cached(name, shape, dtype, kernel_size, stride, padding,
                            dilation, ceil_mode)
    return _plan_call(name, shape, dtype, kernel_size, stride, padding,
                      dilation, ceil_mode)


def _plan_call(name, shape, dtype, kernel_size, stride, padding, dilation,
               ceil_mode):
    geom = pool2d_geometry(shape[-2:], kernel_size, stride, padding, dilation,
                           ceil_mode)
    check_pool_input_shape(shape)
    check_pool_output(shape, geom.out_hw)
    # Integers of every width, float16/32/64.  Not bool, complex, long
    # double, objects, strings, datetimes.
    if not (dtype.kind in "iu" or (dtype.kind == "f" and dtype.itemsize <= 8)):
        raise TypeError(f'"{name}" not implemented for dtype {str(dtype)!r}')
    if dtype.kind == "f" and dtype.itemsize == 2:
        # float16 is computed in float32: exactly for max, and as torch's
        # accumulator for avg.
        work = np.dtype(np.float32)
    else:
        # Canonical type object (e.g. 'l' for 'q'), native byte order.
        work = np.dtype(f"{dtype.kind}{dtype.itemsize}")
    if name == "avg_pool2d" and geom.kernel[0] * geom.kernel[1] >= 2**63:
        # The divisor (and torch's) is an int64 count of window elements.
        raise OverflowError("kernel_size is too large: the window's element "
                            "count does not fit in int64")
    return _Call(geom, work, (*shape[:-2], *geom.out_hw))


_call_cached = functools.lru_cache(maxsize=256)(_plan_call)


def _target(out, shape, dtype, work, x, name="out"):
    """The array the kernel writes, of `work` type: `out` itself where it
    can (checked: `dtype`, the result's, and `shape`; no overlap with x),
    else a new array."""
    if out is not None:
        check_out(out, shape, dtype, name)
        if np.may_share_memory(out, x):
            raise ValueError(f"{name} must not overlap the input")
        # A misaligned out would make the kernel's typed stores undefined
        # behaviour in C: it is filled through a copy, as float16 is.
        if out.dtype == work and out.flags.aligned:
            return out
    return np.empty(shape, dtype=work)


def max_pool2d(input, kernel_size, stride=None, padding=0, dilation=1,
               ceil_mode=False, return_indices=False, *, workers=None,
               out=None):
    x = _as_input(input)
    call = _call("max_pool2d", x.shape, x.dtype, kernel_size, stride, padding,
                 dilation, ceil_mode)
    n_threads = resolve_workers(workers)

    dtype = x.dtype.newbyteorder("=")
    out_idx = None
    if return_indices and out is not None:
        if not (isinstance(out, tuple) and len(out) == 2):
            raise ValueError("out must be a tuple (values, indices) with "
                             f"return_indices=True, got {type(out).__name__}")
        out, out_idx = out
        if (out is not None and out_idx is not None
                and np.may_share_memory(out, out_idx)):
            raise ValueError("out's values and indices must not overlap")
    result = _target(out, call.shape, dtype, call.work, x)
    indices = None
    if return_indices:
        indices = _target(out_idx, call.shape, np.dtype(np.int64),
                          np.dtype(np.int64), x, "indices out")
    geom = call.geom
    _pool.max_pool2d_into(kernel_array(x, call.work, n_threads), result,
                          indices, geom.kernel, geom.stride, geom.padding,
                          geom.dilation, n_threads)
    result = cast_result(result, dtype, out, n_threads)
    if return_indices:
        return result, cast_result(indices, indices.dtype, out_idx)
    return result


def avg_pool2d(input, kernel_size, stride=None, padding=0, ceil_mode=False,
               count_include_pad=True, divisor_override=None, *,
               workers=None, out=None):
    x = _as_input(input)
    call = _call("avg_pool2d", x.shape, x.dtype, kernel_size, stride, padding,
                 1, ceil_mode)
    if divisor_override is None:
        divisor = 0
    else:
        divisor = _as_int(divisor_override, "divisor_override")
        if divisor == 0:
            raise ValueError("divisor must be not zero")
        if not -2**63 <= divisor < 2**63:
            raise OverflowError(f"divisor_override={divisor} does not fit "
                                "in int64")
    n_threads = resolve_workers(workers)

    dtype = x.dtype.newbyteorder("=")
    result = _target(out, call.shape, dtype, call.work, x)
    geom = call.geom
    _pool.avg_pool2d_into(kernel_array(x, call.work, n_threads), result,
                          geom.kernel,
                          geom.stride, geom.padding, bool(count_include_pad),
                          divisor, n_threads)
    return cast_result(result, dtype, out, n_threads)


_COMMON_PARAMS = """\
    input : array_like
        ``(N, C, H, W)``, or ``(C, H, W)`` for an unbatched input.  Any
        array-like is accepted (lists, non-contiguous, read-only, Fortran or
        byte-swapped arrays); N may be 0, C, H and W may not.
    kernel_size : int or (int, int)
        Window size ``(kH, kW)``; >= 1.
    stride : int or (int, int), optional
        Step between windows; >= 1.  Defaults to `kernel_size`."""

_WORKERS_PARAM = """\
    workers : int, optional
        Number of threads.  None (default) uses the OpenMP default, which
        honours ``OMP_NUM_THREADS`` and threadpoolctl; a negative value
        counts back from the number of CPUs (-1: all of them).  The result is
        the same, bit for bit, for every value."""

_OUT_NOTE = """  The arguments are
        all checked before anything is written.  If the call raises (for
        example KeyboardInterrupt from Ctrl-C while the kernel runs), `out`
        may be left partially written."""

max_pool2d.__doc__ = f"""2-D max pooling over the last two axes, as
    ``torch.nn.functional.max_pool2d``.

    ``out[n, c, i, j]`` is the largest element of the window of ``kH x kW``
    taps ``input[n, c, i*sH - pH + a*dH, j*sW - pW + b*dW]`` that lie inside
    the input (padding never wins: it counts as -inf, or the dtype's minimum
    for integers).

    Parameters
    ----------
{_COMMON_PARAMS}
    padding : int or (int, int), optional
        Implicit padding on both sides, ``0 <= padding <= kernel_size // 2``.
    dilation : int or (int, int), optional
        Spacing between taps; >= 1.
    ceil_mode : bool, optional
        Round the output size up instead of down; a last window that would
        start in the right padding is dropped (torch's rule).
    return_indices : bool, optional
        Also return the position of each maximum.
{_WORKERS_PARAM}
    out : ndarray or (ndarray or None, ndarray or None), optional
        Where to write the result: an array of the exact result shape and
        dtype (the input's, native byte order), C-contiguous, writeable and
        not overlapping the input; it is returned.  With `return_indices`,
        a tuple ``(values, indices)``: either may be None (a new array),
        ``indices`` is int64 of the same shape.{_OUT_NOTE}

    Returns
    -------
    out : ndarray
        ``(N, C, H_out, W_out)`` (or ``(C, H_out, W_out)``), C-contiguous,
        the dtype of `input`, with
        ``H_out = floor((H + 2*pH - dH*(kH-1) - 1) / sH) + 1`` (ceil with
        `ceil_mode`), likewise ``W_out``.
    indices : ndarray of int64
        Only with `return_indices`: the flat offset ``h * W + w`` of each
        maximum inside its ``H x W`` input plane (also for unbatched input).

    Raises
    ------
    ValueError
        With torch's message, for an input that is not 3-D or 4-D, an empty
        C, H or W, a non-positive kernel size, stride or dilation, a
        negative or too large padding, or an output smaller than 1x1; or
        for an `out` that does not fit.
    TypeError
        For dtypes other than integers and float16/32/64 (bool, complex,
        long double, object...), non-integer size arguments or `workers`.

    Notes
    -----
    Exactly torch's result, values and indices: each window's taps inside
    the input are scanned row by row, left to right, and a tap replaces the
    current maximum when it is larger or NaN.  Hence:

    * any NaN in a window gives NaN (a NaN reaches every output whose
      window touches it), and the index is that of the *last* NaN in scan
      order, whose bits (payload) are returned -- torch's rule;
    * ties keep the first element in scan order; -0.0 and 0.0 are equal,
      so whichever comes first is returned, sign included;
    * a window of only -inf (or of the integer dtype's minimum) gives that
      value with the index of its first tap inside the input, a valid
      index, never -1;
    * padding never wins: padded positions are not compared at all (as if
      -inf, or the dtype's minimum for integers), so every value comes from
      the input.

    With dilation, a window may have no tap inside the input; torch then
    returns -inf (the dtype's minimum) and an index computed from the first
    non-negative tap, possibly past the plane, and so does pyconvx.

    Nothing is accumulated: each output is one of the input's elements,
    bit for bit; float16 is compared in float32, which is exact.  The GIL
    is released during the computation.

    See Also
    --------
    avg_pool2d

    Examples
    --------
    The tutorial's ``MaxPool2d(2)`` after a 5-channel 24x24 feature map:

    >>> import numpy as np
    >>> from pyconvx import max_pool2d
    >>> max_pool2d(np.zeros((1, 5, 24, 24), np.float32), 2).shape
    (1, 5, 12, 12)
    >>> x = np.arange(16.0).reshape(1, 4, 4)
    >>> out, idx = max_pool2d(x, 2, return_indices=True)
    >>> out
    array([[[ 5.,  7.],
            [13., 15.]]])
    >>> idx
    array([[[ 5,  7],
            [13, 15]]])
    >>> max_pool2d([[[1.0, np.nan, 3.0, 0.0]]], (1, 2), stride=1)
    array([[[nan, nan,  3.]]])
"""

avg_pool2d.__doc__ = f"""2-D average pooling over the last two axes, as
    ``torch.nn.functional.avg_pool2d``.

    ``out[n, c, i, j]`` is the sum of the elements of the window
    ``input[n, c, i*sH - pH : i*sH - pH + kH, j*sW - pW : j*sW - pW + kW]``
    that lie inside the input, divided by the window's divisor.

    Parameters
    ----------
{_COMMON_PARAMS}
    padding : int or (int, int), optional
        Implicit zero padding on both sides,
        ``0 <= padding <= kernel_size // 2``.
    ceil_mode : bool, optional
        Round the output size up instead of down; a last window that would
        start in the right padding is dropped (torch's rule).
    count_include_pad : bool, optional
        Whether the padding counts in the divisor (default True).
    divisor_override : int, optional
        A divisor for every window instead of the computed one; not 0.
{_WORKERS_PARAM}
    out : ndarray, optional
        Where to write the result: an array of the exact result shape and
        dtype (the input's, native byte order), C-contiguous, writeable and
        not overlapping the input; it is returned.{_OUT_NOTE}

    Returns
    -------
    out : ndarray
        ``(N, C, H_out, W_out)`` (or ``(C, H_out, W_out)``), C-contiguous,
        the dtype of `input`, with
        ``H_out = floor((H + 2*pH - kH) / sH) + 1`` (ceil with `ceil_mode`),
        likewise ``W_out``.

    Raises
    ------
    ValueError
        With torch's message, for an input that is not 3-D or 4-D, an empty
        C, H or W, invalid sizes, an output smaller than 1x1, or
        ``divisor_override=0`` ("divisor must be not zero"); or for an
        `out` that does not fit.
    TypeError
        For dtypes other than integers and float16/32/64, non-integer size
        arguments, `divisor_override` or `workers`.
    OverflowError
        If `divisor_override`, or the number of elements of a window
        (``kH * kW``), does not fit in int64.

    Notes
    -----
    The divisor is torch's: with `count_include_pad`, the window clipped to
    the padded input ``[-p, L + p)`` -- the part of a ceil-mode window that
    hangs past the padding is never counted -- otherwise the number of real
    elements; `divisor_override` replaces both.

    Accumulation: float32 sums in float32 and float64 in float64, as torch
    does (so the window ``[1e8, 1, 1, 1, -1e8]`` averages to 0.0 in float32,
    as in torch, and to 0.6 in float64); float16 is summed and divided in
    float32 and the quotient rounded to float16.  Only the real elements
    are summed (padding adds nothing), in a fixed order: each column of
    the window from top to bottom, starting from +0.0, then those column
    sums from left to right; the sum is then divided by the divisor
    converted to the float type.  torch sums row by row, so floating
    results agree with torch to rounding, not bit for bit (float32 window
    ``[[1e8, 4], [4, 4]]`` averages to ``(1e8 + 8) / 4`` here, to
    ``1e8 / 4`` in torch).

    NaN and Inf follow IEEE arithmetic: a NaN reaches every output whose
    window touches it; +inf and -inf in one window give NaN.

    Integers (every width; torch allows only int64): the sum is exact
    (computed modulo 2**64, which only matters for 64-bit sums that
    overflow, as in torch) and divided with truncation toward zero, like
    torch's int64 rule (7/4 -> 1, -7/4 -> -1).  The quotient is returned in
    the input dtype; it always fits unless `divisor_override` is negative,
    where it wraps modulo 2**bits as NumPy's ``astype`` does (uint8 with
    divisor -1 gives ``-x mod 256``).  The GIL is released during the
    computation.

    See Also
    --------
    max_pool2d

    Examples
    --------
    >>> import numpy as np
    >>> from pyconvx import avg_pool2d
    >>> x = np.ones((1, 2, 2))
    >>> avg_pool2d(x, 2, padding=1)
    array([[[0.25, 0.25],
            [0.25, 0.25]]])
    >>> avg_pool2d(x, 2, padding=1, count_include_pad=False)
    array([[[1., 1.],
            [1., 1.]]])
    >>> avg_pool2d(np.array([[[7, -7]]]), (1, 2), divisor_override=4)
    array([[[0]]])
"""
