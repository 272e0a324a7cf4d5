"""float16 <-> float32 conversion (pyconvx._convert, src/pcx_half.h): NumPy's
astype bit for bit, which the float16 paths of pooling and conv2d rely on."""

import warnings

import numpy as np
import pytest

from _helpers import assert_identical
from pyconvx import _convert, avg_pool2d, conv2d, max_pool2d


def _to_float(h, n_threads=1):
    out = np.empty(h.shape, np.float32)
    _convert.half_to_float(h, out, n_threads)
    return out


def _to_half(f, n_threads=1):
    out = np.empty(f.shape, np.float16)
    _convert.float_to_half(f, out, n_threads)
    return out


def _numpy_half(f):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")         # overflow to inf
        return f.astype(np.float16)


def test_every_half_to_float():
    h = np.arange(2**16, dtype=np.uint32).astype(np.uint16).view(np.float16)
    got = _to_float(h)
    # NaN payloads included: a signalling NaN stays signalling.
    np.testing.assert_array_equal(got.view(np.uint32),
                                  h.astype(np.float32).view(np.uint32))


def _float_cases():
    """float32 bit patterns where a rounding goes wrong first: every half's
    value and its neighbours, the midpoints between halves and theirs (for
    every exponent and top mantissa), the overflow and subnormal borders,
    NaNs of every top payload, and random patterns."""
    top = np.arange(2**19, dtype=np.uint32) << 13      # sign, exp, 10 bits
    low = np.array([0, 1, 0xFFF, 0x1000, 0x1001, 0x1FFF], np.uint32)
    bits = (top[:, None] | low[None, :]).ravel()
    rng = np.random.default_rng(0)
    bits = np.concatenate([bits, rng.integers(0, 2**32, 2**20,
                                              dtype=np.uint32)])
    return bits.view(np.float32)


@pytest.mark.parametrize("n_threads", [1, 2])
def test_float_to_half_matches_numpy(n_threads):
    f = _float_cases()
    np.testing.assert_array_equal(_to_half(f, n_threads).view(np.uint16),
                                  _numpy_half(f).view(np.uint16))


def test_named_roundings():
    # 65504 is the largest half; from 65520 (the midpoint to 65536) up,
    # inf; 2**-25 ties to even (0), a bit above it rounds up to 2**-24.
    f = np.array([65504, 65519.996, 65520, 1e10, -np.inf, 2.0**-25,
                  np.nextafter(np.float32(2.0**-25), np.float32(1)),
                  2.0**-24 * 1.5, -0.0], np.float32)
    assert _to_half(f).view(np.uint16).tolist() == [
        0x7BFF, 0x7BFF, 0x7C00, 0x7C00, 0xFC00, 0x0000, 0x0001, 0x0002,
        0x8000]
    # A NaN whose payload lies below the kept bits stays a NaN (NumPy).
    nan = np.array([0x7F800001, 0xFFC00000], np.uint32).view(np.float32)
    assert _to_half(nan).view(np.uint16).tolist() == [0x7C01, 0xFE00]


@pytest.mark.parametrize("n", [0, 1, 15, 16, 17, 3 * 2**16 + 5])
def test_sizes_and_threads(n):
    rng = np.random.default_rng(n)
    h = rng.integers(0, 2**16, n, dtype=np.uint16).view(np.float16)
    f = _to_float(h)
    np.testing.assert_array_equal(_to_float(h, 2).view(np.uint32),
                                  f.view(np.uint32))
    np.testing.assert_array_equal(f.view(np.uint32),
                                  h.astype(np.float32).view(np.uint32))
    f = rng.standard_normal(n).astype(np.float32) * 1e4
    np.testing.assert_array_equal(_to_half(f, 2).view(np.uint16),
                                  _numpy_half(f).view(np.uint16))


def test_checks():
    h = np.zeros(4, np.float16)
    f = np.zeros(4, np.float32)
    with pytest.raises(ValueError, match=r"^expected C-contiguous, aligned, "
                       r"native float16 arrays$"):
        _convert.half_to_float(f, f, 1)
    with pytest.raises(ValueError, match="native float32 arrays$"):
        _convert.half_to_float(h, np.zeros(8, np.float32)[::2], 1)
    with pytest.raises(ValueError, match="native float16 arrays$"):
        _convert.float_to_half(f, h.astype(">f2"), 1)
    with pytest.raises(ValueError, match=r"^src and dst must have the same "
                       r"size$"):
        _convert.float_to_half(f, np.zeros(5, np.float16), 1)
    f.flags.writeable = False
    with pytest.raises(ValueError, match=r"^dst must be writeable$"):
        _convert.half_to_float(h, f, 1)


def test_fronts_keep_half_nan_payloads():
    # max pooling returns input elements: a signalling NaN's bits come
    # back unchanged through float32, as through NumPy's astype.
    x = np.zeros((1, 2, 4), np.float16)
    x.view(np.uint16)[0, 0, 1] = 0x7C01            # signalling NaN
    x.view(np.uint16)[0, 1, 2] = 0xFE3F            # quiet, negative
    got = max_pool2d(x, (1, 4))
    assert got.view(np.uint16).ravel().tolist() == [0x7C01, 0xFE3F]


@pytest.mark.parametrize("layout", ["C", "F", "swapped", "strided"])
def test_fronts_convert_every_layout(layout):
    rng = np.random.default_rng(1)
    x = (rng.standard_normal((2, 3, 9, 10)) * 100).astype(np.float16)
    w = rng.standard_normal((4, 3, 3, 3)).astype(np.float16)
    y = {"C": x, "F": np.asfortranarray(x), "swapped": x.astype(">f2"),
         "strided": np.repeat(x, 2, axis=3)[..., ::2]}[layout]
    x32 = x.astype(np.float32)
    assert_identical(max_pool2d(y, 3, 2, 1),
                     max_pool2d(x32, 3, 2, 1).astype(np.float16))
    assert_identical(avg_pool2d(y, 3, 2, 1),
                     avg_pool2d(x32, 3, 2, 1).astype(np.float16))
    assert_identical(conv2d(y, w, padding=1),
                     conv2d(x32, w.astype(np.float32),
                            padding=1).astype(np.float16))
