"""The NCHW face: conv2d with the semantics of torch.nn.functional.conv2d
(plus nn.Conv2d's padding_mode), on NumPy arrays.

Size arguments are normalised and checked by _shapes.conv2d_geometry; this
module checks the arrays (ranks, channels, groups, bias, dtypes, out=) and
calls the kernel in _conv.pyx.  Errors follow torch's wording, raised as
ValueError / TypeError.
"""

import numpy as np

from . import _conv
from ._arrays import cast_result, check_out, kernel_array
from ._shapes import (_as_int, check_conv_weight_shape, conv2d_geometry,
                      shape_str as _shape_str)
from ._threads import resolve_workers

__all__ = ["conv2d"]

# Codes match PAD_* in _conv.pxd.
_PADDING_MODES = {"zeros": 0, "reflect": 1, "replicate": 2, "circular": 3,
                  "symmetric": 4}
_COMPUTE_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


def _result_dtype(arrays):
    dtype = np.result_type(*arrays)
    if dtype in _COMPUTE_DTYPES:
        return dtype, dtype
    if dtype == np.float16:
        # float16 is computed with float32 accumulators, returned as float16.
        return dtype, np.dtype(np.float32)
    names = " x ".join(str(a.dtype) for a in arrays)
    raise TypeError(f"conv2d does not support dtype {dtype} (from {names}); "
                    "use float16, float32 or float64")


def _check_groups(groups):
    groups = _as_int(groups, "groups")
    if groups <= 0:
        raise ValueError("non-positive groups is not supported")
    return groups


def _check_padding_fits(x_shape, pads, mode_name):
    # torch's rules for nn.Conv2d's padding_mode (F.pad underneath).
    h, w = x_shape[-2:]
    if mode_name == "reflect":
        for pad, size, dim in ((pads[2:], w, 3), (pads[:2], h, 2)):
            if max(pad) >= size:
                raise ValueError(
                    "Padding size should be less than the corresponding input "
                    f"dimension, but got: padding ({pad[0]}, {pad[1]}) at "
                    f"dimension {dim} of input {_shape_str(x_shape)}")
    elif mode_name == "circular":
        if max(pads[:2]) > h or max(pads[2:]) > w:
            raise ValueError("Padding value causes wrapping around more than "
                             "once.")
    elif h == 0 or w == 0:
        if max(pads) > 0:
            raise ValueError(f"padding_mode={mode_name!r} cannot extend an "
                             f"empty input of size {_shape_str(x_shape)}")


def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1,
           *, padding_mode="zeros", method="auto", workers=None, out=None):
    """2-D convolution (cross-correlation) of a batch of multi-channel images.

    The operation of ``torch.nn.functional.conv2d``::

        out[n, co] = bias[co] + sum_{ci in group(co)} weight[co, ci] * input[n, ci]

    where ``*`` slides the kernel over the padded image without flipping it
    (cross-correlation), moving by `stride` and spacing the taps by
    `dilation`.  Along each axis the output has
    ``floor((in + pad_before + pad_after - dilation*(k-1) - 1) / stride) + 1``
    elements (see :func:`pyconvx.conv2d_output_shape`).

    Parameters
    ----------
    input : array_like
        ``(N, C_in, H, W)``, or ``(C_in, H, W)`` for a single image.
    weight : array_like
        ``(C_out, C_in / groups, kH, kW)``.
    bias : array_like, optional
        ``(C_out,)``, added to every output position.
    stride : int or (int, int), optional
        Step of the kernel, >= 1.
    padding : int, (int, int), ((int, int), (int, int)), 'valid' or 'same'
        Padding on both sides of each axis, per axis, or per side as
        ``((top, bottom), (left, right))``.  ``'same'`` keeps the input size
        (stride 1 only): ``dilation*(k-1)`` in total, the odd one after.
    dilation : int or (int, int), optional
        Spacing of the kernel taps, >= 1.
    groups : int, optional
        Splits the channels into `groups` independent convolutions; must
        divide C_in and C_out.  ``groups == C_in`` is a depthwise convolution.
    padding_mode : {'zeros', 'reflect', 'replicate', 'circular', 'symmetric'}
        How the padding is filled (``torch.nn.Conv2d``'s option, plus
        ``'symmetric'``, a mirror that repeats the edge sample, as
        ``numpy.pad`` has it).
    method : {'auto', 'direct'}, optional
        ``'auto'`` lets dense float32 3x3 layers use Winograd's algorithm
        (see Notes); ``'direct'`` sums every layer's products directly, in
        the order given in Notes (as ``method='direct'`` of
        ``scipy.signal.convolve``).  The result's shape and dtype are the
        same.
    workers : int, optional
        Threads: None for the OpenMP default, negative to count back from
        the CPU count.  Results are identical for every value.
    out : ndarray, optional
        A C-contiguous array of the exact result shape and dtype to write
        into; it is returned.  The arguments are all checked before `out`
        is written, so an invalid call leaves it untouched.  If the call
        raises (for example KeyboardInterrupt from Ctrl-C while the kernel
        runs), `out` may be left partially written.

    Returns
    -------
    ndarray
        ``(N, C_out, H_out, W_out)`` (or ``(C_out, H_out, W_out)``), of the
        NumPy promotion of the dtypes of `input`, `weight` and `bias`.

    Raises
    ------
    ValueError
        For shapes, channel counts, groups, paddings, strides or `out` that
        do not fit together (torch's messages).
    TypeError
        For dtypes other than float16, float32 and float64 (after
        promotion), or non-integer size arguments.

    Notes
    -----
    Accumulation: float32 accumulates in float32 and float64 in float64;
    float16 is computed in float32 and rounded to float16 once, at the
    end.  Each output starts from its bias (0 without one) and adds the
    products in the order of the weight's elements: input channel, then
    kernel row, then kernel column, the same for every `workers`.  Fused
    multiply-adds are used where the CPU has them (the AVX2 and AVX-512
    builds of the kernel; not the baseline x86-64 one), so the last bits
    may differ from one CPU to another; torch sums in other orders, so
    results agree with torch to floating-point tolerance, not bit for bit.
    float32 cancels as in torch: the window ``[1e8, 1, 1, 1, -1e8]``
    under a kernel of ones gives 0.0 in float32 (3.0 in float64).

    One exception to that order: float32 3x3 layers of unit stride with at
    least 16 input channels and at most 256 x 256 (input x output)
    channels per group, outputs of at least 12x12 per dilation phase and
    at least 512 outputs per channel in all (the dense 3x3 layers of CNNs)
    use Winograd's F(4x4, 3x3) algorithm, 4 times fewer multiplications,
    unless ``method='direct'``.  It sums transformed products instead, so
    its error is bounded by a larger sum -- at most about 100 times the
    sum of ``|x|`` over each 4x4 output tile's 6x6 input window times that
    of ``|w|`` over the kernel, instead of ``|x| * |w|`` over the window.
    On random data its root-mean-square error measured 2.5-3 times the
    direct sums': 6e-7 to 2e-6 of the outputs' for 16 to 256 input
    channels (float32's unit roundoff is 6e-8), and its largest error
    2.5-3 times too.  Results still do not depend on
    `workers`; float64 is always summed directly.

    The other exception: 1x1 layers on at most four output positions in
    all (fully connected layers as convolutions) add to the bias L = 16
    interleaved partial sums (8 in float64) in order -- sum i of the
    products of input channels i, i + L, i + 2L, ... -- and then the
    products of the last ``C_in/groups % L`` channels in order.  Their
    rounding error is no larger than the sequential sums' (each partial
    sum has an L-th of the terms), and the weights are read 3-4 times
    faster.

    NaN and Inf follow IEEE arithmetic: a NaN reaches every output whose
    window touches it (one NaN inside a 6x6 image, a 3x3 kernel and 3
    output channels give 27 NaN outputs, as in torch); ``0 * inf`` is NaN,
    so an infinite input under a zero weight, or an infinite weight over
    zero padding, gives NaN; +inf and -inf in one window give NaN.  This
    holds for the Winograd layers too: non-finite weights, or a block of
    outputs that comes out non-finite, are summed directly instead.

    The GIL is released while the kernel runs.

    Examples
    --------
    The tutorial's first CNN layer, ``nn.Conv2d(1, 5, 5)`` on a 28x28 image:

    >>> import numpy as np
    >>> from pyconvx import conv2d
    >>> x = np.zeros((1, 1, 28, 28), dtype=np.float32)
    >>> w = np.ones((5, 1, 5, 5), dtype=np.float32)
    >>> conv2d(x, w).shape
    (1, 5, 24, 24)
    """
    x = np.asarray(input)
    w = np.asarray(weight)
    if x.ndim not in (3, 4):
        raise ValueError("Expected 3D (unbatched) or 4D (batched) input to "
                         f"conv2d, but got input of size: {_shape_str(x.shape)}")
    if w.ndim != 4:
        raise ValueError("weight must be 4-D (C_out, C_in/groups, kH, kW), but "
                         f"got weight of size {_shape_str(w.shape)}")
    unbatched = x.ndim == 3
    if unbatched:
        x = x[np.newaxis]
    groups = _check_groups(groups)
    c_out, cg_in, kh, kw = w.shape
    check_conv_weight_shape(w.shape)
    if c_out % groups:
        raise ValueError(f"Given groups={groups}, expected weight to be "
                         f"divisible by {groups} at dimension 0, but got "
                         f"weight of size {_shape_str(w.shape)} instead")
    if x.shape[1] != cg_in * groups:
        raise ValueError(
            f"Given groups={groups}, weight of size {_shape_str(w.shape)}, "
            f"expected input{_shape_str(x.shape)} to have {cg_in * groups} "
            f"channels, but got {x.shape[1]} channels instead")
    arrays = [x, w]
    if bias is not None:
        b = np.asarray(bias)
        if b.shape != (c_out,):
            raise ValueError(
                f"Given weight of size {_shape_str(w.shape)}, expected bias to "
                f"be 1-dimensional with {c_out} elements, but got bias of size "
                f"{_shape_str(b.shape)} instead")
        arrays.append(b)
    try:
        mode = _PADDING_MODES[padding_mode]
    except (KeyError, TypeError):
        raise ValueError(
            "padding_mode must be one of {'zeros', 'reflect', 'replicate', "
            f"'circular', 'symmetric'}}, but got padding_mode={padding_mode!r}"
        ) from None
    if not isinstance(method, str) or method not in ("auto", "direct"):
        raise ValueError("method must be one of {'auto', 'direct'}, but got "
                         f"method={method!r}")
    geom = conv2d_geometry(x.shape[2:], (kh, kw), stride, padding, dilation)
    if mode:
        _check_padding_fits(x.shape, geom.padding, padding_mode)
    dtype, compute = _result_dtype(arrays)
    n_threads = resolve_workers(workers)

    shape = (x.shape[0], c_out, *geom.out_hw)
    result_shape = shape[1:] if unbatched else shape
    if out is not None:
        check_out(out, result_shape, dtype)
        if any(np.may_share_memory(out, a) for a in arrays):
            raise ValueError("out must not overlap the input, weight or bias")
    # The kernel writes `out` directly unless it needs another dtype or is
    # misaligned (a typed store there is undefined behaviour in C).
    direct = out is not None and compute == dtype and out.flags.aligned
    result = out if direct else np.empty(result_shape, dtype=compute)
    target = result[np.newaxis] if unbatched else result

    bias_c = (np.zeros(c_out, dtype=compute) if bias is None
              else kernel_array(arrays[2], compute))
    if x.shape[0] and cg_in == 0:
        # No taps: every output is the bias.
        target[...] = bias_c[:, np.newaxis, np.newaxis]
    elif x.shape[0] and (x.shape[2] == 0 or x.shape[3] == 0):
        # Every window sees zero padding only: bias + sum(0 * w), which is
        # the bias unless a weight is NaN or infinite (then NaN).
        with np.errstate(invalid="ignore"):      # 0 * inf, as the kernel
            zeros = (0 * kernel_array(w, compute)).sum(axis=(1, 2, 3))
        target[...] = (bias_c + zeros)[:, np.newaxis, np.newaxis]
    elif x.shape[0]:
        stride, pads, dil = geom.stride, geom.padding, geom.dilation
        if (kh, kw) == (1, 1) and not any(pads):
            # A pointwise convolution is a matrix product per image: take the
            # strided pixels, then treat each plane as one long row so the
            # kernel's column tiles are full.
            x = x[:, :, ::stride[0], ::stride[1]]
            x = kernel_array(x, compute, n_threads).reshape(
                *x.shape[:2], 1, -1)
            target = target.reshape(*target.shape[:2], 1, -1)
            stride = dil = (1, 1)
        _conv.conv2d_forward(
            kernel_array(x, compute, n_threads), kernel_array(w, compute),
            bias_c, target, stride[0], stride[1], pads[0], pads[2], dil[0],
            dil[1], groups, mode, n_threads, method == "direct")
    return cast_result(result, dtype, out, n_threads)
