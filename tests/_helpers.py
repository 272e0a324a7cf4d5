"""Shared test utilities: random data per dtype and scipy.signal as oracle."""

import contextlib

import numpy as np
from scipy import signal

MODES = ("full", "same", "valid")
BOUNDARIES = ("fill", "wrap", "symm")
BOUNDARY_ALIASES = {"pad": "fill", "circular": "wrap", "symmetric": "symm"}
FUNCTIONS = ("correlate2d", "convolve2d")

# Every dtype scipy.signal.correlate2d computes in.
INT_DTYPES = [np.dtype(c) for c in "bBhHiIlLqQ"]
FLOAT_DTYPES = [np.dtype(np.float32), np.dtype(np.float64),
                np.dtype(np.longdouble)]
COMPLEX_DTYPES = [np.dtype(np.complex64), np.dtype(np.complex128),
                  np.dtype(np.clongdouble)]
ALL_DTYPES = INT_DTYPES + FLOAT_DTYPES + COMPLEX_DTYPES


def random_array(rng, shape, dtype):
    """Values that exercise the whole type: full-range integers (so sums
    wrap), signed floats of mixed magnitude, complex with both parts."""
    dtype = np.dtype(dtype)
    if dtype.kind in "iu":
        info = np.iinfo(dtype)
        return rng.integers(info.min, info.max, size=shape, dtype=dtype,
                            endpoint=True)
    if dtype.kind == "f":
        return (rng.standard_normal(shape)
                * 10.0 ** rng.integers(-3, 4, size=shape)).astype(dtype)
    if dtype.kind == "c":
        return (random_array(rng, shape, np.float64)
                + 1j * random_array(rng, shape, np.float64)).astype(dtype)
    raise ValueError(dtype)


def scipy_crashes(in1, in2, mode, boundary):
    """scipy.signal divides by zero (SIGFPE) when it must wrap or mirror an
    empty in1 into a non-empty output; such cases cannot be run against it."""
    from pyconvx._shapes import scipy_output_shape

    in1, in2 = np.asarray(in1), np.asarray(in2)
    if BOUNDARY_ALIASES.get(boundary, boundary) == "fill" or in1.size:
        return False
    if mode == "valid" and not all(a >= b for a, b in zip(in1.shape, in2.shape)):
        in1, in2 = in2, in1
        if in1.size:
            return False
    shape = scipy_output_shape(mode, in1.shape, in2.shape, False)
    (h, w), (kh, kw) = in1.shape, in2.shape
    # Its loop maps every kernel row's image row (modulo h), then every
    # column (modulo w): one mapping of an empty axis is enough.
    return min(shape) > 0 and kh > 0 and (h == 0 or kw > 0)


def outcome(func, *args, **kwargs):
    """The result of a call, or the exception it raised."""
    try:
        return func(*args, **kwargs)
    except Exception as exc:  # noqa: BLE001 - compared, not swallowed
        return exc


def assert_identical(ours, theirs, err_msg=""):
    """Same dtype, same shape, same values bit for bit (NaN matches NaN).

    (Unlike ``assert a.tobytes() == b.tobytes()``, whose failure pytest
    spends minutes diffing, a mismatch reports the elements that differ.)
    """
    assert isinstance(ours, np.ndarray), ours
    assert type(ours) is np.ndarray
    assert ours.dtype == theirs.dtype, (ours.dtype, theirs.dtype, err_msg)
    assert ours.shape == theirs.shape, (ours.shape, theirs.shape, err_msg)
    if ours.dtype.kind in "fc":
        # Compare bit patterns: catches -0.0 vs 0.0 and NaN payload drift
        # is irrelevant, so NaNs are compared as NaNs.
        nan = np.isnan(theirs)
        np.testing.assert_array_equal(np.isnan(ours), nan, err_msg=err_msg)
        np.testing.assert_array_equal(ours[~nan], theirs[~nan], strict=True,
                                      err_msg=err_msg)
        np.testing.assert_array_equal(np.signbit(ours.real[~nan]),
                                      np.signbit(theirs.real[~nan]),
                                      err_msg=err_msg)
        np.testing.assert_array_equal(np.signbit(ours.imag[~nan]),
                                      np.signbit(theirs.imag[~nan]),
                                      err_msg=err_msg)
    else:
        np.testing.assert_array_equal(ours, theirs, strict=True,
                                      err_msg=err_msg)


def assert_same_outcome(ours, theirs):
    """Both raised the same exception type and message, or both returned
    identical arrays."""
    if isinstance(theirs, Exception):
        assert isinstance(ours, Exception), f"scipy raised {theirs!r}, we returned"
        assert type(ours) is type(theirs), (ours, theirs)
        assert str(ours) == str(theirs), (ours, theirs)
    else:
        assert not isinstance(ours, Exception), f"we raised {ours!r}"
        assert_identical(ours, theirs)


def scipy_call(name, *args, **kwargs):
    return getattr(signal, name)(*args, **kwargs)


@contextlib.contextmanager
def hook(setter, value):
    """A _set_* test hook of an extension (it returns the previous value),
    set to value for a block."""
    old = setter(value)
    try:
        yield
    finally:
        setter(old)
