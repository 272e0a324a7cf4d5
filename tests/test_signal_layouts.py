"""Any array-like is accepted and gives the contiguous array's result."""

import warnings

import numpy as np
import pytest

import pyconvx
from _helpers import FUNCTIONS, MODES, assert_identical, random_array


def _layouts(a):
    """(name, array-like) pairs holding the same values as the C array a."""
    if np.asarray(a.tolist()).dtype == a.dtype:   # lists lose narrow dtypes
        yield "list", a.tolist()
    yield "fortran", np.asfortranarray(a)
    padded = np.zeros((a.shape[0] * 2, a.shape[1] * 3), dtype=a.dtype)
    padded[::2, ::3] = a
    yield "strided view", padded[::2, ::3]
    yield "negative strides", np.ascontiguousarray(a[::-1, ::-1])[::-1, ::-1]
    ro = a.copy()
    ro.flags.writeable = False
    yield "read-only", ro
    yield "byte-swapped", a.astype(a.dtype.newbyteorder())
    # Swapped twice: native bytes labelled with an explicit byte order.
    # Equal to the native dtype, but the buffer protocol refuses a
    # long double labelled '<' (found by the never-crash fuzzing).
    twice = a.astype(a.dtype.newbyteorder()).byteswap()
    yield "explicit byte order", twice.view(twice.dtype.newbyteorder())
    raw = np.zeros(a.nbytes + 1, dtype=np.uint8)
    mis = raw[1:].view(a.dtype).reshape(a.shape)
    mis[...] = a
    yield "misaligned", mis
    yield "masked", np.ma.masked_array(a, mask=np.ones(a.shape, bool))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PendingDeprecationWarning)
        yield "matrix", np.asmatrix(a)


@pytest.mark.parametrize("dtype", ["i2", "u4", "i8", "f4", "f8", "c8", "c16", "g", "G"])
@pytest.mark.parametrize("name", FUNCTIONS)
def test_layouts_equal_contiguous(rng, name, dtype):
    a = random_array(rng, (9, 7), dtype)
    k = random_array(rng, (3, 2), dtype)
    func = getattr(pyconvx, name)
    for mode in MODES:
        expected = func(a, k, mode)
        for label, a_like in _layouts(a):
            assert_identical(func(a_like, k, mode), expected), label
        for label, k_like in _layouts(k):
            assert_identical(func(a, k_like, mode), expected), label


def test_broadcast_zero_strides():
    a = np.broadcast_to(np.arange(6.0), (5, 6))
    k = np.broadcast_to(np.float64(2.0), (2, 3))
    assert a.strides[0] == 0 and k.strides == (0, 0)
    for name in FUNCTIONS:
        func = getattr(pyconvx, name)
        assert_identical(func(a, k, "same", "symm"),
                         func(np.array(a), np.array(k), "same", "symm"))


def test_inputs_are_not_modified(rng):
    a = random_array(rng, (8, 8), np.float64)
    k = random_array(rng, (3, 3), np.complex128)
    a0, k0 = a.copy(), k.copy()
    pyconvx.correlate2d(a, k, "same", "wrap")
    pyconvx.convolve2d(k, a, "valid")
    np.testing.assert_array_equal(a, a0)
    np.testing.assert_array_equal(k, k0)


@pytest.mark.parametrize("name", FUNCTIONS)
def test_result_is_a_fresh_c_contiguous_array(rng, name):
    a = random_array(rng, (4, 5), np.float64)
    k = random_array(rng, (6, 7), np.float64)   # valid mode swaps the inputs
    out = getattr(pyconvx, name)(a, k, "valid")
    assert type(out) is np.ndarray
    assert out.flags.c_contiguous and out.flags.writeable and out.flags.owndata


def test_kernel_entry_point_refuses_unready_arrays():
    # The Python front hands the kernel C-contiguous, aligned, native arrays
    # of one type; anything else is refused, never read.
    from pyconvx import _corr2d
    a, k, out, fill = np.ones((4, 5)), np.ones((2, 2)), np.empty((3, 4)), np.zeros(1)
    bad = [
        (a[:, ::2], k, np.empty((3, 2)), fill),
        (a, k.astype(">f8"), out, fill),
        (a, k.astype("f4"), out, fill),
        (a, k, out, np.zeros(2)),
        (a, np.ones((0, 2)), out, fill),
        (a, k, np.empty((3, 4), "f4"), fill),
        (a[None], k, out, fill),
    ]
    ro = out.copy()
    ro.flags.writeable = False
    bad.append((a, k, ro, fill))
    for image, kernel, result, fill_value in bad:
        with pytest.raises(ValueError, match=r"^correlate2d_into: image, "
                           r"kernel and out must be C-contiguous, aligned, "
                           r"native 2-D arrays of one type, out writeable, "
                           r"kernel non-empty, fill of one element$"):
            _corr2d.correlate2d_into(image, kernel, result, 0, 0, False, 0,
                                     fill_value, 1)
    with pytest.raises(TypeError, match=r"^no correlation kernel for bool$"):
        _corr2d.correlate2d_into(a > 0, k > 0, out > 0, 0, 0, False, 0,
                                 fill > 0, 1)
