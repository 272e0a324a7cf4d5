"""Every conv2d error, pinned (torch's wording where torch has one)."""

import numpy as np
import pytest

from pyconvx import conv2d

X = np.ones((2, 4, 6, 6))
W = np.ones((3, 4, 3, 3))


@pytest.mark.parametrize("args,kwargs,exc,pattern", [
    ((np.ones((6, 6)), W), {}, ValueError,
     r"^Expected 3D \(unbatched\) or 4D \(batched\) input to conv2d, but got "
     r"input of size: \[6, 6\]$"),
    ((np.ones((1, 1, 1, 6, 6)), W), {}, ValueError, r"input of size: \[1, 1, 1, 6, 6\]$"),
    ((X, np.ones((3, 4, 3))), {}, ValueError,
     r"^weight must be 4-D \(C_out, C_in/groups, kH, kW\), but got weight of "
     r"size \[3, 4, 3\]$"),
    ((X, np.ones((3, 2, 3, 3))), {}, ValueError,
     r"^Given groups=1, weight of size \[3, 2, 3, 3\], expected input\[2, 4, 6, "
     r"6\] to have 2 channels, but got 4 channels instead$"),
    ((X, np.ones((3, 1, 3, 3))), {"groups": 3}, ValueError,
     r"^Given groups=3, weight of size \[3, 1, 3, 3\], expected input\[2, 4, 6, "
     r"6\] to have 3 channels, but got 4 channels instead$"),
    ((X, W), {"groups": 0}, ValueError, r"^non-positive groups is not supported$"),
    ((X, W), {"groups": 2.0}, TypeError, r"^groups must be an integer, got float$"),
    ((X, np.ones((3, 2, 3, 3))), {"groups": 2}, ValueError,
     r"^Given groups=2, expected weight to be divisible by 2 at dimension 0, "
     r"but got weight of size \[3, 2, 3, 3\] instead$"),
    ((X, np.ones((0, 4, 3, 3))), {}, ValueError,
     r"^expected weight to be at least 1 at dimension 0, but got weight of size "
     r"\[0, 4, 3, 3\] instead$"),
    ((X, np.ones((3, 4, 0, 3))), {}, ValueError,
     r"^expected weight to be at least 1 at dimensions 2 and 3"),
    ((X, W), {"stride": 0}, ValueError, r"^non-positive stride is not supported$"),
    ((X, W), {"stride": (1, -1)}, ValueError, r"^non-positive stride is not supported$"),
    ((X, W), {"padding": -1}, ValueError, r"^negative padding is not supported$"),
    ((X, W), {"padding": ((0, -1), (0, 0))}, ValueError,
     r"^negative padding is not supported$"),
    ((X, W), {"dilation": 0}, ValueError,
     r"^dilation should be greater than zero, but got \[0, 0\]$"),
    ((X, W), {"stride": (1, 1, 1)}, ValueError,
     r"^expected stride to be a single integer value or a list of 2 values to "
     r"match the convolution dimensions, but got stride=\[1, 1, 1\]$"),
    ((X, W), {"padding": [1, 2, 1, 2]}, ValueError,
     r"^expected padding to be a single integer value or a list of 2 values"),
    ((X, W), {"stride": 1.5}, TypeError, r"^stride must be an integer, got float$"),
    ((X, W), {"dilation": True}, TypeError, r"^dilation must be an integer, got bool$"),
    ((X, W), {"padding": 2**63}, OverflowError, r"^padding=9223372036854775808 is too large$"),
    ((X, W), {"stride": -2**70}, OverflowError, r"is too large$"),
    ((X, np.ones((3, 4, 7, 7))), {}, ValueError,
     r"^Calculated padded input size per channel: \(6 x 6\)\. Kernel size: "
     r"\(7 x 7\)\. Kernel size can't be greater than actual input size$"),
    ((X, W), {"dilation": 3}, ValueError,
     r"^Calculated padded input size per channel: \(6 x 6\)\. Kernel size: "
     r"\(7 x 7\)\."),
    ((np.ones((2, 4, 0, 6)), W), {}, ValueError,
     r"^Calculated padded input size per channel: \(0 x 6\)"),
    ((X, W, np.ones(2)), {}, ValueError,
     r"^Given weight of size \[3, 4, 3, 3\], expected bias to be 1-dimensional "
     r"with 3 elements, but got bias of size \[2\] instead$"),
    ((X, W, np.ones((3, 1))), {}, ValueError, r"but got bias of size \[3, 1\] instead$"),
    ((X, W), {"padding": "same", "stride": 2}, ValueError,
     r"^padding='same' is not supported for strided convolutions$"),
    ((X, W), {"padding": "full"}, ValueError, r"^Invalid padding string: 'full'$"),
    ((X, W), {"padding_mode": "mirror"}, ValueError,
     r"^padding_mode must be one of \{'zeros', 'reflect', 'replicate', "
     r"'circular', 'symmetric'\}, but got padding_mode='mirror'$"),
    ((X, W), {"method": "fft"}, ValueError,
     r"^method must be one of \{'auto', 'direct'\}, but got method='fft'$"),
    ((X, W), {"method": None}, ValueError,
     r"^method must be one of \{'auto', 'direct'\}, but got method=None$"),
    ((X, W), {"padding": 6, "padding_mode": "reflect"}, ValueError,
     r"^Padding size should be less than the corresponding input dimension, but "
     r"got: padding \(6, 6\) at dimension 3 of input \[2, 4, 6, 6\]$"),
    ((X, W), {"padding": 7, "padding_mode": "circular"}, ValueError,
     r"^Padding value causes wrapping around more than once\.$"),
    ((np.ones((1, 4, 0, 6)), W), {"padding": 2, "padding_mode": "replicate"},
     ValueError, r"^padding_mode='replicate' cannot extend an empty input of size "
     r"\[1, 4, 0, 6\]$"),
    ((X.astype(np.int64), W.astype(np.int64)), {}, TypeError,
     r"^conv2d does not support dtype int64 \(from int64 x int64\); use float16, "
     r"float32 or float64$"),
    ((X.astype(bool), W.astype(bool)), {}, TypeError, r"dtype bool"),
    ((X.astype(np.complex64), W), {}, TypeError, r"dtype complex128"),
    ((X.astype(object), W), {}, TypeError, r"dtype object"),
    ((X, W.astype(np.longdouble)), {}, TypeError, r"dtype float128"),
    ((X, W), {"workers": 0}, ValueError, r"^workers must not be zero$"),
])
def test_errors(args, kwargs, exc, pattern):
    with pytest.raises(exc, match=pattern):
        conv2d(*args, **kwargs)


@pytest.mark.parametrize("out,pattern", [
    ([0.0], r"^out must be a numpy\.ndarray, got list$"),
    (np.empty((2, 3, 4, 5)), r"^out must have shape \(2, 3, 4, 4\) and dtype float64, "
     r"got shape \(2, 3, 4, 5\) and dtype float64$"),
    (np.empty((2, 3, 4, 4), np.float32), r"and dtype float32$"),
    (np.empty((2, 3, 4, 4), order="F"), r"^out must be a writeable, C-contiguous array$"),
    (np.empty((2, 3, 4, 8))[..., ::2], r"^out must be a writeable, C-contiguous array$"),
])
def test_bad_out(out, pattern):
    with pytest.raises(ValueError, match=pattern):
        conv2d(X, W, out=out)


def test_read_only_out():
    out = np.empty((2, 3, 4, 4))
    out.flags.writeable = False
    with pytest.raises(ValueError, match=r"^out must be a writeable, C-contiguous array$"):
        conv2d(X, W, out=out)


def test_out_overlapping_input():
    buf = np.ones((2, 4, 6, 6))
    with pytest.raises(ValueError, match=r"^out must not overlap the input, weight or bias$"):
        conv2d(buf, np.ones((4, 4, 1, 1)), out=buf)
