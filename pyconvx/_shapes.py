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

__all__ = ["conv_output_size"]


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


def scipy_output_shape(mode, in_shape, kernel_shape, flip):
    """Output shape of scipy.signal.correlate2d/convolve2d (may be negative)."""
    return tuple(
        _window_count(n, k, 1, *scipy_mode_padding(mode, k, flip), 1)
        for n, k in zip(in_shape, kernel_shape))
