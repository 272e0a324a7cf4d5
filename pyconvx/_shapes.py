"""Every output-size and padding formula of pyconvx, in one place.

The tutorial's rule for the length of a convolution output along one axis,

    output = (input + 2 * padding - filter) / stride + 1,

generalises (floor division, dilation, asymmetric padding) to

    output = floor((input + pad_before + pad_after - dilation*(kernel-1) - 1)
                   / stride) + 1.

scipy.signal's modes are the stride-1 special cases: 'full' pads kernel-1 on
both sides, 'valid' pads nothing, 'same' pads kernel-1 in total.
"""

import operator
from typing import NamedTuple

__all__ = ["conv_output_size", "conv2d_output_shape", "pool2d_output_shape"]

# Sizes beyond this cannot describe an array (or its padding) in memory;
# refusing them early keeps every later product inside Py_ssize_t.
_MAX_SIZE = 2**48


def _window_count(size, kernel, stride, pad_before, pad_after, dilation):
    # The formula itself, unchecked (it may be <= 0: no window fits).
    span = dilation * (kernel - 1) + 1
    return (size + pad_before + pad_after - span) // stride + 1


def _as_int(value, name):
    if isinstance(value, bool):
        raise TypeError(f"{name} must be an integer, got bool")
    try:
        return operator.index(value)
    except TypeError:
        raise TypeError(
            f"{name} must be an integer, got {type(value).__name__}") from None


def _pair(value, name):
    """An int or a sequence of two ints -> (int, int) (torch's _pair)."""
    if isinstance(value, (tuple, list)):
        if len(value) == 1:
            value = (value[0], value[0])
        if len(value) != 2:
            raise ValueError(
                f"expected {name} to be a single integer value or a list of 2 "
                "values to match the convolution dimensions, but got "
                f"{name}={list(value)}")
        pair = tuple(_as_int(v, name) for v in value)
    else:
        pair = (_as_int(value, name),) * 2
    for v in pair:
        if abs(v) > _MAX_SIZE:
            raise OverflowError(f"{name}={v} is too large")
    return pair


def _as_padding(padding):
    if isinstance(padding, (tuple, list)):
        if len(padding) != 2:
            raise ValueError(
                "padding must be an integer or a (before, after) pair, "
                f"got {len(padding)} values")
        before, after = (_as_int(p, "padding") for p in padding)
    else:
        before = after = _as_int(padding, "padding")
    if before < 0 or after < 0:
        raise ValueError(f"padding must be non-negative, got {padding!r}")
    return before, after


def conv_output_size(input_size, kernel_size, stride=1, padding=0, dilation=1):
    """Length of a convolution or pooling output along one axis.

    Counts the positions of a (dilated) window of ``kernel_size`` taps that
    fit inside the padded input when it moves by ``stride``::

        output = floor((input_size + 2*padding - dilation*(kernel_size-1) - 1)
                       / stride) + 1

    With ``dilation=1`` this is the textbook rule
    ``(input + 2*padding - filter) / stride + 1``.

    Parameters
    ----------
    input_size : int
        Length of the input axis, ``>= 0``.
    kernel_size : int
        Number of taps of the window, ``>= 1``.
    stride : int, optional
        Step between window positions, ``>= 1``.
    padding : int or (int, int), optional
        Padding added on both sides, or ``(before, after)``; ``>= 0``.
    dilation : int, optional
        Spacing between taps, ``>= 1``.

    Returns
    -------
    int
        The number of window positions; 0 when the window does not fit.

    Raises
    ------
    TypeError
        If an argument is not an integer (bools are refused).
    ValueError
        If an argument is out of range.

    Examples
    --------
    The tutorial's 5x5 input and 3x3 filter, stride 1, no padding:

    >>> from pyconvx import conv_output_size
    >>> conv_output_size(5, 3)
    3
    >>> conv_output_size(28, 5)        # Conv2d(1, 5, 5) on 28x28
    24
    >>> conv_output_size(224, 7, stride=2, padding=3)
    112
    """
    size = _as_int(input_size, "input_size")
    kernel = _as_int(kernel_size, "kernel_size")
    stride = _as_int(stride, "stride")
    dilation = _as_int(dilation, "dilation")
    before, after = _as_padding(padding)
    if size < 0:
        raise ValueError(f"input_size must be non-negative, got {size}")
    if kernel < 1:
        raise ValueError(f"kernel_size must be at least 1, got {kernel}")
    if stride < 1:
        raise ValueError(f"stride must be at least 1, got {stride}")
    if dilation < 1:
        raise ValueError(f"dilation must be at least 1, got {dilation}")
    return max(0, _window_count(size, kernel, stride, before, after, dilation))


def scipy_mode_padding(mode, kernel, flip):
    """(before, after) padding of scipy.signal's correlate2d/convolve2d modes.

    Expressed for a correlation with the kernel as applied, i.e. flipped
    when ``flip`` (convolution).  For even kernels 'same' centres
    differently for the two functions: correlate2d pads (k-1)//2 before,
    convolve2d pads k//2 before (scipy's C loop, reproduced exactly).
    """
    if mode == "full":
        return kernel - 1, kernel - 1
    if mode == "same":
        return (kernel // 2, (kernel - 1) // 2) if flip else ((kernel - 1) // 2, kernel // 2)
    return 0, 0


def scipy_geometry(mode, in_shape, kernel_shape, flip):
    """((out_h, out_w), (pad_top, pad_left)) of scipy.signal.correlate2d /
    convolve2d; the output sizes may be negative."""
    # Unrolled, not generators: this runs on every call (1.2 us -> 0.5).
    (h, w), (kh, kw) = in_shape, kernel_shape
    top, bottom = scipy_mode_padding(mode, kh, flip)
    left, right = scipy_mode_padding(mode, kw, flip)
    return ((_window_count(h, kh, 1, top, bottom, 1),
             _window_count(w, kw, 1, left, right, 1)), (top, left))


def scipy_output_shape(mode, in_shape, kernel_shape, flip):
    """Output shape of scipy.signal.correlate2d/convolve2d (may be negative)."""
    return scipy_geometry(mode, in_shape, kernel_shape, flip)[0]


# -- NCHW geometry ---------------------------------------------------------

class Conv2dGeometry(NamedTuple):
    """Normalised conv2d arguments and the output size they give."""
    stride: tuple       # (sh, sw)
    padding: tuple      # (top, bottom, left, right)
    dilation: tuple     # (dh, dw)
    out_hw: tuple       # (oh, ow), both >= 1


def same_padding(kernel, dilation):
    """(before, after) of padding='same' at stride 1: d*(k-1) in total, the
    odd one at the end (torch, TensorFlow and JAX 'SAME')."""
    total = dilation * (kernel - 1)
    return total // 2, total - total // 2


def _conv_padding(padding, kernel_hw, dilation, stride):
    if isinstance(padding, str):
        if padding == "valid":
            return (0, 0, 0, 0)
        if padding == "same":
            if stride != (1, 1):
                raise ValueError("padding='same' is not supported for strided "
                                 "convolutions")
            return (*same_padding(kernel_hw[0], dilation[0]),
                    *same_padding(kernel_hw[1], dilation[1]))
        raise ValueError(f"Invalid padding string: {padding!r}")
    if (isinstance(padding, (tuple, list)) and len(padding) == 2
            and all(isinstance(p, (tuple, list)) for p in padding)):
        # Beyond torch: ((top, bottom), (left, right)).
        pads = (*_pair(padding[0], "padding"), *_pair(padding[1], "padding"))
    else:
        (ph, pw) = _pair(padding, "padding")
        pads = (ph, ph, pw, pw)
    if min(pads) < 0:
        raise ValueError("negative padding is not supported")
    return pads


def conv2d_geometry(in_hw, kernel_hw, stride=1, padding=0, dilation=1):
    """Validate conv2d's size arguments and compute the output size.

    Raises torch's errors (as ValueError) for non-positive strides or
    dilations, negative or malformed padding, and a dilated kernel larger
    than the padded input.
    """
    stride = _pair(stride, "stride")
    if min(stride) <= 0:
        raise ValueError("non-positive stride is not supported")
    dilation = _pair(dilation, "dilation")
    if min(dilation) <= 0:
        raise ValueError("dilation should be greater than zero, but got "
                         f"{list(dilation)}")
    pads = _conv_padding(padding, kernel_hw, dilation, stride)
    out = (_window_count(in_hw[0], kernel_hw[0], stride[0], pads[0], pads[1],
                         dilation[0]),
           _window_count(in_hw[1], kernel_hw[1], stride[1], pads[2], pads[3],
                         dilation[1]))
    if min(out) < 1:
        padded = (in_hw[0] + pads[0] + pads[1], in_hw[1] + pads[2] + pads[3])
        span = tuple(d * (k - 1) + 1 for d, k in zip(dilation, kernel_hw))
        raise ValueError(
            f"Calculated padded input size per channel: ({padded[0]} x "
            f"{padded[1]}). Kernel size: ({span[0]} x {span[1]}). Kernel size "
            "can't be greater than actual input size")
    return Conv2dGeometry(stride, pads, dilation, out)


def shape_str(shape):
    """torch's way of printing a size in messages: ``[2, 3, 4]``."""
    return "[" + ", ".join(str(n) for n in shape) + "]"


def check_conv_weight_shape(weight_shape):
    """conv2d's rules for the (C_out, C_in/groups, kH, kW) of its weight."""
    if weight_shape[0] < 1:
        raise ValueError("expected weight to be at least 1 at dimension 0, but "
                         f"got weight of size {shape_str(weight_shape)} instead")
    if weight_shape[2] < 1 or weight_shape[3] < 1:
        raise ValueError("expected weight to be at least 1 at dimensions 2 "
                         f"and 3, but got weight of size {shape_str(weight_shape)} "
                         "instead")


def check_pool_input_shape(shape):
    """Pooling accepts an empty batch, no other empty axis."""
    if 0 in shape[-3:]:
        raise ValueError("Expected 3D or 4D (batch mode) tensor with optional "
                         f"0 dim batch size for input, but got:{list(shape)}")


def _shape_entries(shape, name, ranks):
    entries = tuple(_as_int(n, name) for n in shape)
    if len(entries) not in ranks:
        raise ValueError(f"{name} must have "
                         f"{' or '.join(map(str, ranks))} entries")
    if any(n < 0 for n in entries):
        raise ValueError(f"negative dimensions are not allowed in {name}")
    return entries


def conv2d_output_shape(input_shape, weight_shape, stride=1, padding=0,
                        dilation=1):
    """Shape of ``conv2d(input, weight, ...)``, computed from shapes alone.

    Along each spatial axis (the tutorial's rule, generalised)::

        out = floor((in + pad_before + pad_after - dilation*(k-1) - 1)
                    / stride) + 1

    Parameters
    ----------
    input_shape : tuple of int
        ``(N, C_in, H, W)``, or ``(C_in, H, W)`` for an unbatched input.
    weight_shape : tuple of int
        ``(C_out, C_in / groups, kH, kW)``.
    stride, padding, dilation
        As for :func:`pyconvx.conv2d`: ints or pairs; `padding` may also be
        ``'valid'``, ``'same'`` or ``((top, bottom), (left, right))``.

    Returns
    -------
    tuple of int
        ``(N, C_out, H_out, W_out)``, or ``(C_out, H_out, W_out)``.

    Examples
    --------
    The tutorial's CNN: a 28x28 image through ``Conv2d(1, 5, 5)``.

    >>> from pyconvx import conv2d_output_shape
    >>> conv2d_output_shape((1, 1, 28, 28), (5, 1, 5, 5))
    (1, 5, 24, 24)
    """
    input_shape = _shape_entries(input_shape, "input_shape", (3, 4))
    weight_shape = _shape_entries(weight_shape, "weight_shape", (4,))
    check_conv_weight_shape(weight_shape)
    geom = conv2d_geometry(input_shape[-2:], weight_shape[-2:], stride,
                           padding, dilation)
    return (*input_shape[:-3], weight_shape[0], *geom.out_hw)


# -- pooling ---------------------------------------------------------------

class Pool2dGeometry(NamedTuple):
    kernel: tuple       # (kh, kw)
    stride: tuple       # (sh, sw)
    padding: tuple      # (ph, pw), applied on both sides
    dilation: tuple     # (dh, dw)
    out_hw: tuple       # (oh, ow); may be < 1, the caller reports it


def pool_output_size(size, kernel, stride, padding, dilation, ceil_mode):
    """torch's pooling output length along one axis (may be < 1).

    floor (or ceil) of (size + 2*padding - dilation*(kernel-1) - 1) / stride,
    plus one; with ceil_mode the last window must start inside the input or
    the left padding, never in the right padding.
    """
    span = dilation * (kernel - 1) + 1
    num = size + 2 * padding - span
    if not ceil_mode:
        return num // stride + 1
    out = -(-num // stride) + 1
    if (out - 1) * stride >= size + padding:
        out -= 1
    return out


def plain_args(*values):
    """True when every value is None, an int or a tuple of ints (exactly
    those types): arguments a cache may key on (2.0 == 2 and True == 1 hash
    alike, and must raise)."""
    for value in values:
        if value is None or type(value) is int:
            continue
        if type(value) is not tuple:
            return False
        for v in value:
            if type(v) is not int:
                return False
    return True


def pool2d_geometry(in_hw, kernel_size, stride=None, padding=0, dilation=1,
                    ceil_mode=False):
    """Validate pooling size arguments (torch's rules and messages, as
    ValueError) and compute the output size."""
    kernel = _pair(kernel_size, "kernel_size")
    if min(kernel) <= 0:
        raise ValueError("kernel_size must be greater than zero, but got "
                         f"kH: {kernel[0]} kW: {kernel[1]}")
    if stride is None or (isinstance(stride, (tuple, list)) and len(stride) == 0):
        stride = kernel
    stride = _pair(stride, "stride")
    if 0 in stride:
        raise ValueError("stride should not be zero")
    if min(stride) < 0:
        raise ValueError("stride should be greater than zero, but got "
                         f"dH: {stride[0]} dW: {stride[1]}")
    pad = _pair(padding, "padding")
    if min(pad) < 0:
        raise ValueError(f"pad must be non-negative, but got pad: {min(pad)}")
    dilation = _pair(dilation, "dilation")
    if min(dilation) <= 0:
        raise ValueError("dilation should be greater than zero, but got "
                         f"dilationH: {dilation[0]} dilationW: {dilation[1]}")
    for p, k, d in zip(pad, kernel, dilation):
        if p > (d * (k - 1) + 1) // 2:
            raise ValueError("pad should be at most half of effective kernel "
                             f"size, but got pad={p}, kernel_size={k} and "
                             f"dilation={d}")
    # torch (2.13) also requires pad <= kernel // 2, dilation or not.
    if pad[0] > kernel[0] // 2 or pad[1] > kernel[1] // 2:
        raise ValueError("pad should be smaller than or equal to half of "
                         f"kernel size, but got padW = {pad[1]}, padH = "
                         f"{pad[0]}, kW = {kernel[1]}, kH = {kernel[0]}")
    out = tuple(pool_output_size(n, k, s, p, d, ceil_mode) for n, k, s, p, d
                in zip(in_hw, kernel, stride, pad, dilation))
    return Pool2dGeometry(kernel, stride, pad, dilation, out)


def pool2d_output_shape(input_shape, kernel_size, stride=None, padding=0,
                        dilation=1, ceil_mode=False):
    """Shape of ``max_pool2d`` / ``avg_pool2d`` output, from shapes alone.

    Along each spatial axis::

        out = floor((in + 2*padding - dilation*(k-1) - 1) / stride) + 1

    with ceil instead of floor when `ceil_mode`, in which case a last window
    that would start in the right padding is dropped (torch's rule).

    Parameters
    ----------
    input_shape : tuple of int
        ``(N, C, H, W)`` or ``(C, H, W)``.
    kernel_size, stride, padding, dilation, ceil_mode
        As for :func:`pyconvx.max_pool2d`; `stride` defaults to
        `kernel_size`.

    Returns
    -------
    tuple of int

    Raises
    ------
    ValueError
        For invalid arguments, or an output smaller than 1x1.

    Examples
    --------
    >>> from pyconvx import pool2d_output_shape
    >>> pool2d_output_shape((1, 5, 24, 24), 2)      # MaxPool2d(2)
    (1, 5, 12, 12)
    >>> pool2d_output_shape((1, 5, 5), 2, padding=1, ceil_mode=True)
    (1, 3, 3)
    """
    input_shape = _shape_entries(input_shape, "input_shape", (3, 4))
    check_pool_input_shape(input_shape)
    geom = pool2d_geometry(input_shape[-2:], kernel_size, stride, padding,
                           dilation, ceil_mode)
    check_pool_output(input_shape, geom.out_hw)
    return (*input_shape[:-2], *geom.out_hw)


def check_pool_output(input_shape, out_hw):
    """torch's 'Output size is too small' error."""
    if min(out_hw) < 1:
        c, h, w = input_shape[-3:]
        raise ValueError(f"Given input size: ({c}x{h}x{w}). Calculated output "
                         f"size: ({c}x{out_hw[0]}x{out_hw[1]}). Output size is "
                         "too small")
