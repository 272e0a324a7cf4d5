"""conv_output_size against a count of window positions."""

import itertools

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import pyconvx
from pyconvx import conv_output_size
from pyconvx._shapes import scipy_output_shape


def _count_windows(size, kernel, stride, before, after, dilation):
    # Straight from the definition: slide and count.
    span = dilation * (kernel - 1) + 1
    length = size + before + after
    return sum(1 for start in range(0, length, stride) if start + span <= length)


@given(size=st.integers(0, 40), kernel=st.integers(1, 8), stride=st.integers(1, 5),
       before=st.integers(0, 5), after=st.integers(0, 5),
       dilation=st.integers(1, 4))
def test_matches_window_count(size, kernel, stride, before, after, dilation):
    assert conv_output_size(size, kernel, stride, (before, after), dilation) == \
        _count_windows(size, kernel, stride, before, after, dilation)
    if before == after:
        assert conv_output_size(size, kernel, stride, before, dilation) == \
            _count_windows(size, kernel, stride, before, after, dilation)


@pytest.mark.parametrize("args,expected", [
    ((5, 3), 3), ((5, 3, 1, 1), 5), ((5, 3, 2, 1), 3), ((28, 5), 24),
    ((224, 7, 2, 3), 112), ((56, 3, 2, 1), 28), ((7, 3, 1, 0, 3), 1),
    ((2, 3), 0), ((0, 1), 0), ((2, 3, 1, 1), 2),
])
def test_known_sizes(args, expected):
    assert conv_output_size(*args) == expected


def test_accepts_numpy_integers():
    assert conv_output_size(np.int64(5), np.int32(3), stride=np.uint8(1)) == 3


@pytest.mark.parametrize("kwargs,exc,pattern", [
    ({"input_size": 5.0}, TypeError, r"^input_size must be an integer, got float$"),
    ({"kernel_size": "3"}, TypeError, r"^kernel_size must be an integer, got str$"),
    ({"stride": True}, TypeError, r"^stride must be an integer, got bool$"),
    ({"dilation": None}, TypeError, r"^dilation must be an integer, got NoneType$"),
    ({"padding": 1.5}, TypeError, r"^padding must be an integer, got float$"),
    ({"input_size": -1}, ValueError, r"^input_size must be non-negative, got -1$"),
    ({"kernel_size": 0}, ValueError, r"^kernel_size must be at least 1, got 0$"),
    ({"stride": 0}, ValueError, r"^stride must be at least 1, got 0$"),
    ({"dilation": -2}, ValueError, r"^dilation must be at least 1, got -2$"),
    ({"padding": -1}, ValueError, r"^padding must be non-negative, got -1$"),
    ({"padding": (1, -1)}, ValueError, r"^padding must be non-negative, got \(1, -1\)$"),
    ({"padding": (1, 2, 3)}, ValueError,
     r"^padding must be an integer or a \(before, after\) pair, got 3 values$"),
    ({"stride": 2**70}, None, None),
])
def test_bad_arguments(kwargs, exc, pattern):
    args = {"input_size": 5, "kernel_size": 3, **kwargs}
    if exc is None:   # huge Python ints are fine: pure Python arithmetic
        assert conv_output_size(**args) == 1
        return
    with pytest.raises(exc, match=pattern):
        conv_output_size(**args)


def test_scipy_modes_are_the_formula():
    # full = n + k - 1, same = n, valid = n - k + 1, for both functions.
    for n, k, flip in itertools.product(range(0, 7), range(0, 7), (False, True)):
        full, same, valid = (scipy_output_shape(m, (n, n), (k, k), flip)[0]
                             for m in ("full", "same", "valid"))
        assert (full, same, valid) == (n + k - 1, n, n - k + 1)


@pytest.mark.parametrize("call,pattern", [
    (lambda: pyconvx.conv2d_output_shape((1, 3, 8, 8), (4, 3, 0, 3)),
     r"^expected weight to be at least 1 at dimensions 2 and 3, but got "
     r"weight of size \[4, 3, 0, 3\] instead$"),
    (lambda: pyconvx.conv2d_output_shape((1, 3, 8, 8), (0, 3, 3, 3)),
     r"^expected weight to be at least 1 at dimension 0"),
    (lambda: pyconvx.conv2d_output_shape((1, 3, 8, 8), (4, 3, -3, 3)),
     r"^negative dimensions are not allowed in weight_shape$"),
    (lambda: pyconvx.conv2d_output_shape((-1, 3, 8, 8), (4, 3, 3, 3)),
     r"^negative dimensions are not allowed in input_shape$"),
    (lambda: pyconvx.conv2d_output_shape((3, 8), (4, 3, 3, 3)),
     r"^input_shape must have 3 or 4 entries$"),
    (lambda: pyconvx.pool2d_output_shape((1, 0, 8, 8), 2),
     r"^Expected 3D or 4D \(batch mode\) tensor with optional 0 dim batch "
     r"size for input, but got:\[1, 0, 8, 8\]$"),
    (lambda: pyconvx.pool2d_output_shape((1, 3, 0, 8), 2, padding=1),
     r"^Expected 3D or 4D"),
])
def test_shape_helpers_refuse_what_the_functions_refuse(call, pattern):
    # The helpers answer from shapes alone, with the functions' own rules.
    with pytest.raises(ValueError, match=pattern):
        call()
