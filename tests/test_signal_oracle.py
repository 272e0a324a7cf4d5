"""pyconvx.correlate2d / convolve2d against scipy.signal, the oracle.

pyconvx sums in scipy's order, so every comparison is exact: same dtype,
same shape, same bits (tighter than any tolerance), for every dtype.
"""

import itertools

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import pyconvx
from pyconvx import _corr2d
from _helpers import (ALL_DTYPES, BOUNDARIES, FUNCTIONS, MODES,
                      assert_identical, assert_same_outcome, hook, outcome,
                      random_array, scipy_call, scipy_crashes)

# Shape pairs chosen for the edge cases of the modes: kernel larger than the
# image (in one or both axes), even kernels, 1xN / Nx1, a single pixel, and
# widths past one accumulator tile (32..256 elements depending on dtype).
SHAPE_PAIRS = [
    ((5, 5), (3, 3)),
    ((7, 9), (4, 2)),
    ((1, 17), (1, 4)),
    ((17, 1), (5, 1)),
    ((3, 4), (6, 7)),
    ((4, 6), (2, 9)),
    ((1, 1), (1, 1)),
    ((6, 300), (3, 5)),
    ((2, 2), (5, 5)),
]


@pytest.mark.parametrize("dtype", ALL_DTYPES, ids=str)
@pytest.mark.parametrize("name", FUNCTIONS)
def test_every_dtype_mode_boundary(rng, name, dtype):
    for (s1, s2), mode, boundary in itertools.product(SHAPE_PAIRS, MODES,
                                                      BOUNDARIES):
        a = random_array(rng, s1, dtype)
        b = random_array(rng, s2, dtype)
        theirs = outcome(scipy_call, name, a, b, mode, boundary)
        ours = outcome(getattr(pyconvx, name), a, b, mode, boundary)
        assert_same_outcome(ours, theirs)


@pytest.mark.parametrize("name", FUNCTIONS)
@pytest.mark.parametrize("boundary", ["pad", "circular", "symmetric"])
def test_boundary_aliases(rng, name, boundary):
    a = random_array(rng, (6, 7), np.float64)
    b = random_array(rng, (3, 4), np.float64)
    for mode in MODES:
        assert_identical(getattr(pyconvx, name)(a, b, mode, boundary),
                         scipy_call(name, a, b, mode, boundary))


# Pairs whose promotion scipy performs with PyArray_ObjectType.
MIXED_PAIRS = [
    ("u1", "i1"), ("i1", "u2"), ("u4", "i8"), ("u8", "i8"), ("i4", "f4"),
    ("i8", "f4"), ("f4", "f8"), ("f4", "c8"), ("f8", "c8"), ("u2", "c8"),
    ("f4", "g"), ("c8", "g"), ("?", "i4"), ("?", "f4"), ("i2", "?"),
    ("e", "f8"), ("e", "i1"), ("e", "f4"),
    # Type numbers of one type under two names (long and long long).
    ("q", "l"), ("l", "q"), ("Q", "L"), ("L", "Q"), ("l", "f4"),
]


@pytest.mark.parametrize("t1,t2", MIXED_PAIRS)
@pytest.mark.parametrize("name", FUNCTIONS)
def test_mixed_dtype_promotion(rng, name, t1, t2):
    def make(shape, t):
        t = np.dtype(t)
        if t == np.bool_:
            return rng.integers(0, 2, size=shape).astype(bool)
        if t == np.float16:
            return rng.standard_normal(shape).astype(t)
        # The view keeps t's own type number (rng.integers gives long's
        # for long long).
        return random_array(rng, shape, t).view(t)

    a, b = make((9, 8), t1), make((3, 2), t2)
    assert (a.dtype.num, b.dtype.num) == (np.dtype(t1).num, np.dtype(t2).num)
    for mode, boundary in itertools.product(MODES, BOUNDARIES):
        assert_same_outcome(outcome(getattr(pyconvx, name), a, b, mode, boundary),
                            outcome(scipy_call, name, a, b, mode, boundary))


@pytest.mark.parametrize("name", FUNCTIONS)
@pytest.mark.parametrize("fillvalue", [0, 3, -2.5, 1.7, 255, 300, -1,
                                       2**40, np.float32(0.1), np.int8(-3),
                                       [7], np.array([[1.5]]), np.inf])
@pytest.mark.parametrize("dtype", ["i1", "u1", "i8", "u8", "f4", "f8", "c16"])
def test_fillvalue_conversion(rng, name, fillvalue, dtype):
    a = random_array(rng, (5, 6), dtype)
    b = random_array(rng, (2, 3), dtype)
    for mode in ("full", "same"):
        assert_same_outcome(
            outcome(getattr(pyconvx, name), a, b, mode, "fill", fillvalue),
            outcome(scipy_call, name, a, b, mode, "fill", fillvalue))


def _odd_fills(dtype):
    """One-element fill arrays the kernel cannot read as they are: a
    misaligned one, a byte-swapped one, a strided view, a read-only one."""
    dtype = np.dtype(dtype)
    raw = np.zeros(dtype.itemsize + 1, np.uint8)
    misaligned = raw[1:].view(dtype)
    misaligned[0] = 3
    swapped = np.array([3], dtype.newbyteorder())
    strided = np.array([[3, 4]], dtype)[:, ::-2]
    readonly = np.array([3], dtype)
    readonly.flags.writeable = False
    return [misaligned, swapped, strided, readonly]


@pytest.mark.parametrize("name", FUNCTIONS)
@pytest.mark.parametrize("dtype", ["i2", "f8", "c16"])
def test_fillvalue_arrays_of_any_layout(rng, name, dtype):
    a = random_array(rng, (5, 6), dtype)
    b = random_array(rng, (2, 3), dtype)
    for fill in _odd_fills(dtype) + _odd_fills("f4"):
        assert_same_outcome(
            outcome(getattr(pyconvx, name), a, b, "full", "fill", fill),
            outcome(scipy_call, name, a, b, "full", "fill", fill))


@pytest.mark.parametrize("name", FUNCTIONS)
def test_nan_and_inf_propagate_like_scipy(name):
    a = np.ones((6, 7))
    a[2, 3] = np.nan
    a[4, 0] = np.inf
    a[0, 6] = -np.inf
    b = np.array([[1.0, 0.0, -1.0], [2.0, np.inf, 0.5]])
    for mode, boundary in itertools.product(MODES, BOUNDARIES):
        assert_identical(getattr(pyconvx, name)(a, b, mode, boundary),
                         scipy_call(name, a, b, mode, boundary))
    # 0 * inf: a zero fill times an infinite tap is NaN in both.
    out = getattr(pyconvx, name)(np.ones((3, 3)), b, "full")
    assert np.isnan(out).any()


@pytest.mark.parametrize("name", FUNCTIONS)
def test_signed_zero(name):
    a = np.full((3, 4), -0.0)
    b = np.full((2, 2), 1.0)
    for mode, boundary in itertools.product(MODES, BOUNDARIES):
        assert_identical(getattr(pyconvx, name)(a, b, mode, boundary, -0.0),
                         scipy_call(name, a, b, mode, boundary, -0.0))


# The register-blocked kernels (src/pcx_corr_vec_body.h) take float, double,
# complex and 32- and 64-bit integer rows by whole vectors (2 to 16
# outputs), four vectors at a time, and leave the rest to the generic
# kernel; rows over 3 KiB are read in place between edges of whole vectors.
# Widths around those sizes, kernel widths with every remainder of the
# groups of four, under every instruction set.
VECTOR_WIDTHS = [1, 3, 4, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64, 65, 100,
                 800, 1030]
VECTOR_KERNELS = [(1, 1), (2, 3), (3, 4), (3, 5), (1, 8), (2, 9), (3, 15)]


@pytest.mark.parametrize("isa", [None, "avx2", "baseline"])
@pytest.mark.parametrize("dtype", ["f4", "f8", "c8", "c16", "i4", "u8"])
def test_vector_kernels_every_isa(rng, dtype, isa):
    cases = itertools.product(VECTOR_WIDTHS, VECTOR_KERNELS, MODES, FUNCTIONS)
    with hook(_corr2d._set_isa_cap, isa):
        for i, (width, ks, mode, name) in enumerate(cases):
            a = random_array(rng, (4, width), dtype)
            b = random_array(rng, ks, dtype)
            if i % 7 == 0 and a.dtype.kind in "fc":
                a[rng.integers(4), rng.integers(width)] = np.nan
            boundary = BOUNDARIES[i % len(BOUNDARIES)]
            assert_same_outcome(
                outcome(getattr(pyconvx, name), a, b, mode, boundary, 1.5),
                outcome(scipy_call, name, a, b, mode, boundary, 1.5))


@pytest.mark.parametrize("isa", [None, "avx2", "baseline"])
@pytest.mark.parametrize("dtype", ["c8", "c16"])
@pytest.mark.parametrize("name", FUNCTIONS)
def test_vector_kernels_complex_infinities(name, dtype, isa):
    # (inf + inf j) * 1 is NaN + NaN j by the textbook formula, which C99's
    # rules (scipy's complex product) turn back into infinities: the
    # vectors' NaN sums are computed again by the generic kernel.
    a = np.ones((3, 40), dtype)
    a[1, 5] = 0
    a[1, 7] = 1j
    a[2, 30] = complex(np.nan, 2)
    b = np.array([[complex(np.inf, np.inf), 1], [2, 1j]], dtype)
    with hook(_corr2d._set_isa_cap, isa):
        for mode in MODES:
            assert_identical(getattr(pyconvx, name)(a, b, mode),
                             scipy_call(name, a, b, mode))


@pytest.mark.parametrize("isa", [None, "avx2", "baseline"])
@pytest.mark.parametrize("name", FUNCTIONS)
def test_vector_kernels_signed_zero(name, isa):
    # Each sum starts from +0.0, as scipy's does, so sums of negative zeros
    # are +0.0; a kernel that started from its first product gave -0.0.
    a = np.full((3, 90), -0.0)              # blocks of 4 vectors, and of 1
    b = np.array([[1.0, 2.0, 3.0], [4.0, 0.5, 6.0]])
    with hook(_corr2d._set_isa_cap, isa):
        for mode, boundary in itertools.product(MODES, BOUNDARIES):
            assert_identical(getattr(pyconvx, name)(a, b, mode, boundary, -0.0),
                             scipy_call(name, a, b, mode, boundary, -0.0))


@pytest.mark.parametrize("name", FUNCTIONS)
@pytest.mark.parametrize("s1,s2", [((0, 5), (2, 2)), ((4, 0), (2, 3)),
                                   ((5, 5), (0, 0)), ((5, 5), (0, 3)),
                                   ((0, 0), (1, 1)), ((3, 3), (3, 0))])
def test_empty_inputs(name, s1, s2):
    a = np.ones(s1)
    b = np.ones(s2)
    for mode, boundary in itertools.product(MODES, BOUNDARIES):
        if scipy_crashes(a, b, mode, boundary):
            continue
        for fill in (0, 2.5):
            assert_same_outcome(
                outcome(getattr(pyconvx, name), a, b, mode, boundary, fill),
                outcome(scipy_call, name, a, b, mode, boundary, fill))


@pytest.mark.parametrize("name", FUNCTIONS)
@pytest.mark.parametrize("boundary", ["wrap", "symm", "circular", "symmetric"])
def test_empty_image_cannot_wrap_or_mirror(name, boundary):
    # scipy.signal crashes the interpreter here (division by zero in C).
    with pytest.raises(ValueError, match=rf"^boundary '{boundary}' cannot "
                       r"extend an empty array; use boundary='fill'$"):
        getattr(pyconvx, name)(np.ones((0, 5)), np.ones((2, 2)), "full", boundary)
    # An empty kernel or an empty output is fine, as in scipy.
    assert getattr(pyconvx, name)(np.ones((0, 5)), np.ones((2, 2)),
                                  "same", boundary).shape == (0, 5)
    np.testing.assert_array_equal(
        getattr(pyconvx, name)(np.ones((0, 5)), np.ones((2, 0)), "full", boundary),
        np.zeros((1, 4)))


# -- hypothesis: random shapes, dtypes, modes, boundaries, values ----------

dtypes = st.sampled_from(ALL_DTYPES)
small_side = st.integers(0, 9)


@st.composite
def operands(draw):
    dt1 = draw(dtypes)
    dt2 = draw(st.one_of(st.just(dt1), dtypes))
    wide = draw(st.booleans())
    s1 = (draw(small_side), draw(st.integers(0, 300) if wide else small_side))
    s2 = (draw(st.integers(0, 6)), draw(st.integers(0, 6)))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    a = random_array(rng, s1, dt1)
    b = random_array(rng, s2, dt2)
    if draw(st.booleans()) and a.size and dt1.kind in "fc":
        # Sprinkle non-finite values.
        idx = tuple(rng.integers(0, n) for n in a.shape)
        a[idx] = draw(st.sampled_from([np.nan, np.inf, -np.inf]))
    return a, b


@given(ab=operands(), name=st.sampled_from(FUNCTIONS),
       mode=st.sampled_from(MODES), boundary=st.sampled_from(BOUNDARIES),
       fillvalue=st.one_of(st.just(0), st.integers(-5, 5),
                           st.floats(-10, 10, allow_nan=False)),
       workers=st.sampled_from([None, 1, 2]))
def test_hypothesis_matches_scipy(ab, name, mode, boundary, fillvalue, workers):
    a, b = ab
    assume(not scipy_crashes(a, b, mode, boundary))
    theirs = outcome(scipy_call, name, a, b, mode, boundary, fillvalue)
    ours = outcome(getattr(pyconvx, name), a, b, mode, boundary, fillvalue,
                   workers=workers)
    assert_same_outcome(ours, theirs)


@given(a=hnp.arrays(np.float64, hnp.array_shapes(min_dims=2, max_dims=2,
                                                 max_side=12),
                    elements=st.floats(allow_nan=True, allow_infinity=True,
                                       allow_subnormal=True, width=64)),
       b=hnp.arrays(np.float64, hnp.array_shapes(min_dims=2, max_dims=2,
                                                 max_side=5),
                    elements=st.floats(-1e300, 1e300, allow_subnormal=True)),
       name=st.sampled_from(FUNCTIONS), mode=st.sampled_from(MODES),
       boundary=st.sampled_from(BOUNDARIES))
def test_hypothesis_extreme_floats(a, b, name, mode, boundary):
    # Overflow to inf, subnormals, signed zeros: still scipy's exact bits.
    assert_same_outcome(outcome(getattr(pyconvx, name), a, b, mode, boundary),
                        outcome(scipy_call, name, a, b, mode, boundary))


@pytest.mark.parametrize("dtype", ["f4", "f8", "c16", "i4"])
def test_large_image_tiles_and_blocks(rng, dtype):
    # Big enough to run multithreaded with several row and column blocks.
    a = random_array(rng, (37, 1500), dtype)
    b = random_array(rng, (5, 11), dtype)
    for name, mode in itertools.product(FUNCTIONS, MODES):
        assert_identical(getattr(pyconvx, name)(a, b, mode, "symm", workers=2),
                         scipy_call(name, a, b, mode, "symm"))
