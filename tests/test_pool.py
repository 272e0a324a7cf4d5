"""max_pool2d / avg_pool2d against the NumPy reference (tests/_pool_oracle.py):
values, indices, dtypes, layouts, errors, NaN/Inf rules, threads."""

import threading

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from _helpers import assert_identical, hook
from _pool_oracle import (assert_avg_close, assert_avg_matches_reference,
                          avg_tolerance, case_out_hw, pool_case, random_input,
                          ref_avg_pool2d, ref_max_pool2d)
from pyconvx import _pool, avg_pool2d, max_pool2d

INT_DTYPES = [np.dtype(c) for c in ("i1", "u1", "i2", "u2", "i4", "u4", "i8",
                                    "u8")]
FLOAT_DTYPES = [np.dtype(c) for c in ("f2", "f4", "f8")]
DTYPES = INT_DTYPES + FLOAT_DTYPES


# -- hypothesis: every parameter against the reference ----------------------

@given(case=pool_case(), dtype=st.sampled_from(DTYPES),
       seed=st.integers(0, 2**32 - 1), return_indices=st.booleans())
def test_max_pool2d_matches_reference(case, dtype, seed, return_indices):
    rng = np.random.default_rng(seed)
    shape = case.pop("shape")
    x = random_input(rng, shape, dtype, specials=True)
    if min(case_out_hw(dict(case, shape=shape))) < 1:
        with pytest.raises(ValueError, match="Output size is too small$"):
            max_pool2d(x, **case)
        return
    ref, ref_idx = ref_max_pool2d(x, **case)
    got = max_pool2d(x, **case, return_indices=return_indices)
    if return_indices:
        got, idx = got
        assert idx.dtype == np.int64 and idx.flags.c_contiguous
        np.testing.assert_array_equal(idx, ref_idx, strict=True)
    # Max pooling is exact: same bits (signed zeros included).
    assert_identical(got, ref)
    assert got.flags.c_contiguous


@given(case=pool_case(dilation=False), dtype=st.sampled_from(DTYPES),
       seed=st.integers(0, 2**32 - 1), count_include_pad=st.booleans(),
       divisor_override=st.one_of(st.none(), st.integers(-5, 7).filter(bool)))
def test_avg_pool2d_matches_reference(case, dtype, seed, count_include_pad,
                                      divisor_override):
    rng = np.random.default_rng(seed)
    shape = case.pop("shape")
    case.pop("dilation")
    x = random_input(rng, shape, dtype)
    kwargs = dict(case, count_include_pad=count_include_pad,
                  divisor_override=divisor_override)
    if min(case_out_hw(dict(case, shape=shape, dilation=1), False)) < 1:
        with pytest.raises(ValueError, match="Output size is too small$"):
            avg_pool2d(x, **kwargs)
        return
    got = avg_pool2d(x, **kwargs)
    ref = ref_avg_pool2d(x, **kwargs)
    if dtype.kind in "iu":
        assert_identical(got, ref)
    else:
        tol = avg_tolerance(x, dtype, **kwargs)
        assert_avg_close(got, ref, tol, dtype)
    assert got.flags.c_contiguous


@given(case=pool_case(dilation=False), seed=st.integers(0, 2**32 - 1),
       count_include_pad=st.booleans())
def test_avg_pool2d_specials_match_reference(case, seed, count_include_pad):
    # NaN and +-inf propagate as in a plain float64 sum.
    rng = np.random.default_rng(seed)
    shape = case.pop("shape")
    case.pop("dilation")
    if min(case_out_hw(dict(case, shape=shape, dilation=1), False)) < 1:
        return
    x = random_input(rng, shape, np.float64, specials=True)
    got = avg_pool2d(x, **case, count_include_pad=count_include_pad)
    ref = ref_avg_pool2d(x, **case, count_include_pad=count_include_pad)
    tol = avg_tolerance(np.nan_to_num(x, posinf=0, neginf=0), x.dtype, **case,
                        count_include_pad=count_include_pad,
                        divisor_override=None)
    assert_avg_close(got, ref, tol, x.dtype)


@given(case=pool_case(), dtype=st.sampled_from(DTYPES),
       seed=st.integers(0, 2**32 - 1), count_include_pad=st.booleans())
def test_windows_match_row_passes(case, dtype, seed, count_include_pad):
    """Rows of one output go window by window (_by_window); here every
    geometry goes both ways, with the same bits (and the reference's)."""
    rng = np.random.default_rng(seed)
    shape = case.pop("shape")
    if min(case_out_hw(dict(case, shape=shape))) < 1:
        return
    x = random_input(rng, shape, dtype, specials=True)
    xa = random_input(rng, shape, dtype)
    avg_case = dict(case, count_include_pad=count_include_pad)
    avg_case.pop("dilation")
    got = {}
    for n in (0, 10**9):
        with hook(_pool._set_window_outputs, n):
            got[n] = (max_pool2d(x, **case, return_indices=True),
                      max_pool2d(x, **case),
                      avg_pool2d(xa, **avg_case)
                      if min(case_out_hw(dict(avg_case, shape=shape), False))
                      >= 1 else None)
    (out, idx), out_plain, avg = got[10**9]
    ref, ref_idx = ref_max_pool2d(x, **case)
    assert_identical(out, ref)
    assert_identical(out_plain, ref)
    np.testing.assert_array_equal(idx, ref_idx, strict=True)
    assert_identical(out, got[0][0][0])
    np.testing.assert_array_equal(idx, got[0][0][1], strict=True)
    if avg is not None:
        assert_identical(avg, got[0][2])
        assert_avg_matches_reference(avg, xa, **avg_case)


@pytest.mark.parametrize("dtype", DTYPES, ids=str)
@pytest.mark.parametrize("shape,kw", [
    ((2, 5, 7, 7), dict(kernel_size=7)),                     # global
    ((1, 3, 14, 13), dict(kernel_size=(14, 13))),
    ((2, 3, 9, 8), dict(kernel_size=(3, 8), stride=(2, 1))),  # column
    ((1, 2, 6, 2), dict(kernel_size=5, stride=4, padding=2, ceil_mode=True)),
])
def test_global_pooling(rng, dtype, shape, kw):
    """Global pooling, the common case of one output a row (by windows)."""
    x = random_input(rng, shape, dtype, specials=True)
    out, idx = max_pool2d(x, **kw, return_indices=True)
    assert out.shape[-1] == 1
    ref, ref_idx = ref_max_pool2d(x, **kw)
    assert_identical(out, ref)
    assert_identical(max_pool2d(x, **kw), ref)
    np.testing.assert_array_equal(idx, ref_idx, strict=True)
    xa = random_input(rng, shape, dtype)
    got = avg_pool2d(xa, **kw)
    assert_avg_matches_reference(got, xa, **kw)
    with hook(_pool._set_window_outputs, 0):
        assert_identical(avg_pool2d(xa, **kw), got)


@pytest.mark.parametrize("dtype", ["f4", "f8"])
def test_global_max_keeps_the_scans_zero_and_nan(dtype):
    """A window of whole rows is one vectorised block (pcx_max_block_):
    the largest key, whose bits are ambiguous for zeros (the scan keeps
    the first, either sign) and NaNs (the last, payload included)."""
    f = np.dtype(dtype)
    u = np.dtype(f"u{f.itemsize}")
    sign = 1 << (8 * f.itemsize - 1)
    quiet = (np.array([np.nan], f).view(u)[0]).item()
    planes = []
    for order in ([-0.0, 0.0], [0.0, -0.0]):        # first zero wins
        p = np.full(37, -1.0, f)
        p[[5, 30]] = order
        planes.append(p)
    p = np.full(37, -np.inf, f)                     # -inf only
    planes.append(p)
    p = np.linspace(-3, 3, 37).astype(f)           # one largest value
    planes.append(p)
    p = np.linspace(-3, 3, 37).astype(f)
    p.view(u)[[2, 17, 33]] = [quiet | 1, sign | quiet | 2, quiet | 3]
    planes.append(p)                                # the last NaN's bits
    p = np.full(37, -2.0, f)
    p.view(u)[36] = sign | quiet | 5                # at the very end
    planes.append(p)
    x = np.stack(planes)[:, None, :].reshape(len(planes), 1, 37)
    got = max_pool2d(x, (1, 37))
    ref, _ = ref_max_pool2d(x, (1, 37))
    assert_identical(got, ref)
    assert got.view(u).ravel().tolist() == [
        sign, 0, np.array([-np.inf], f).view(u)[0], np.array([3.0], f).view(u)[0],
        quiet | 3, sign | quiet | 5]
    with hook(_pool._set_window_outputs, 0):
        assert_identical(max_pool2d(x, (1, 37)), ref)
    # As whole rows of a plane too (a 7x7 global pooling).
    x = np.concatenate([x, x[:, :, :12]], axis=2).reshape(-1, 1, 7, 7)
    assert_identical(max_pool2d(x, 7), ref_max_pool2d(x, 7)[0])


@pytest.mark.parametrize("windows", [0, 10**9])
def test_windows_without_taps(windows):
    # Dilated windows that start in the padding can miss the input: torch
    # gives -inf and the index of the first tap at or past the plane's
    # start -- here row 2 of a plane of 2 rows, column 0.
    x = np.arange(10.0).reshape(1, 1, 2, 5)
    kw = dict(kernel_size=(2, 5), padding=(1, 0), dilation=(3, 1))
    with hook(_pool._set_window_outputs, windows):
        out, idx = max_pool2d(x, **kw, return_indices=True)
    ref, ref_idx = ref_max_pool2d(x, **kw)
    assert out.tolist() == [[[[-np.inf]]]] and idx.tolist() == [[[[10]]]]
    assert_identical(out, ref)
    np.testing.assert_array_equal(idx, ref_idx, strict=True)


# -- fixed cases: dtypes and larger shapes ------------------------------------

# Output widths around every vector length of the stride-2 kernels (4, 8
# and 16 lanes: 8- and 4-byte elements, AVX2 and AVX-512).
S2_OUT_WIDTHS = (3, 4, 5, 7, 8, 9, 15, 16, 17, 31, 33, 48)


@pytest.mark.parametrize("dtype", DTYPES, ids=str)
def test_stride2_kernels_at_every_isa(rng, dtype):
    """Stride 2 with windows of 2 and 3 (src/pcx_pool_s2_body.h), rows of
    outputs around every vector length, ending at the input's last element
    or one before it: max bit for bit against the reference, avg against
    it and bit for bit the same at every instruction set."""
    for k, p in ((2, 0), (3, 0), (3, 1), (2, 1)):
        kw = dict(kernel_size=k, stride=2, padding=p)
        for ow in S2_OUT_WIDTHS:
            for extra in (0, 1):
                w = 2 * (ow - 1) + k - 2 * p + extra
                x = random_input(rng, (1, 2, 5, w), dtype, specials=True)
                # (Integer sums of the specials would wrap.)
                xa = random_input(rng, x.shape, dtype)
                ref, _ = ref_max_pool2d(x, **kw)
                avg = {}
                for isa in ("avx512", "avx2", "baseline"):
                    with hook(_pool._set_isa_cap, isa):
                        got = max_pool2d(x, **kw)
                        assert got.shape[-1] == ow
                        assert_identical(got, ref, f"{kw} w={w} {isa}")
                        avg[isa] = avg_pool2d(xa, **kw)
                for isa in ("avx2", "baseline"):
                    assert_identical(avg[isa], avg["avx512"], f"{kw} w={w}")
                ref_avg = ref_avg_pool2d(xa, **kw)
                if dtype.kind in "iu":
                    assert_identical(avg["avx512"], ref_avg)
                else:
                    tol = avg_tolerance(xa, dtype, k, 2, p, False, True, None)
                    assert_avg_close(avg["avx512"], ref_avg, tol, dtype)

@pytest.mark.parametrize("dtype", DTYPES, ids=str)
@pytest.mark.parametrize("params", [
    dict(kernel_size=2),
    dict(kernel_size=3, stride=2, padding=1),
    dict(kernel_size=3, stride=1, padding=1),
    dict(kernel_size=(2, 5), stride=(3, 1), padding=(1, 2), ceil_mode=True),
    dict(kernel_size=4, stride=2, padding=2, dilation=2),
    dict(kernel_size=3, stride=3, ceil_mode=True),
])
def test_max_pool2d_dtypes(rng, dtype, params):
    x = random_input(rng, (2, 3, 23, 37), dtype, specials=True)
    ref, ref_idx = ref_max_pool2d(x, **params)
    got, idx = max_pool2d(x, **params, return_indices=True)
    assert_identical(got, ref)
    np.testing.assert_array_equal(idx, ref_idx, strict=True)
    assert_identical(max_pool2d(x, **params), ref)


@pytest.mark.parametrize("dtype", DTYPES, ids=str)
@pytest.mark.parametrize("params", [
    dict(kernel_size=2),
    dict(kernel_size=3, stride=2, padding=1),
    dict(kernel_size=3, stride=2, padding=1, count_include_pad=False),
    dict(kernel_size=(2, 5), stride=(3, 1), padding=(1, 2), ceil_mode=True),
    dict(kernel_size=3, stride=2, padding=1, ceil_mode=True,
         count_include_pad=False),
    dict(kernel_size=4, stride=1, divisor_override=3),
])
def test_avg_pool2d_dtypes(rng, dtype, params):
    x = random_input(rng, (2, 3, 23, 37), dtype)
    assert_avg_matches_reference(avg_pool2d(x, **params), x, **params)


def test_tutorial_case(rng):
    # The tutorial's CNN: MaxPool2d(2) after Conv2d(1, 5, 5) on 28x28.
    x = rng.standard_normal((1, 5, 24, 24)).astype(np.float32)
    out = max_pool2d(x, 2)
    assert out.shape == (1, 5, 12, 12)
    assert_identical(out, ref_max_pool2d(x, 2)[0])
    assert_identical(out, x.reshape(1, 5, 12, 2, 12, 2).max(axis=(3, 5)))


def test_docstring_examples():
    x = np.arange(16.0).reshape(1, 4, 4)
    out, idx = max_pool2d(x, 2, return_indices=True)
    assert_identical(out, np.array([[[5.0, 7.0], [13.0, 15.0]]]))
    assert_identical(idx, np.array([[[5, 7], [13, 15]]]))


# -- semantics pinned by example (reliability checklist 29-35) ----------------

def test_max_nan_index_is_the_last_nan():
    x = np.array([[[1.0, np.nan], [np.nan, 2.0]]])
    out, idx = max_pool2d(x, 2, return_indices=True)
    assert np.isnan(out).all() and idx.tolist() == [[[2]]]
    x = np.array([[[np.nan, 5.0], [3.0, 2.0]]])
    out, idx = max_pool2d(x, 2, return_indices=True)
    assert np.isnan(out).all() and idx.tolist() == [[[0]]]
    out, idx = max_pool2d([[[1.0, np.nan, 3.0, 0.0]]], (1, 2), stride=1,
                          return_indices=True)
    np.testing.assert_array_equal(out, [[[np.nan, np.nan, 3.0]]])
    assert idx.tolist() == [[[1, 1, 2]]]


def test_max_nan_payload_is_the_last_nan():
    # The last NaN in scan order is the one returned, bit for bit.
    a = np.array([0x7FC00001, 0x7FC00002, 0x7FC00003, 0x3F800000], np.uint32)
    x = a.view(np.float32).reshape(1, 2, 2)
    out, idx = max_pool2d(x, 2, return_indices=True)
    assert out.view(np.uint32).tolist() == [[[0x7FC00003]]]
    assert idx.tolist() == [[[2]]]
    out = max_pool2d(x[:, ::-1].copy(), 2)
    assert out.view(np.uint32).tolist() == [[[0x7FC00002]]]


def test_max_ties_keep_the_first():
    out, idx = max_pool2d(np.array([[[-0.0, 0.0], [0.0, -0.0]]]), 2,
                          return_indices=True)
    assert np.signbit(out).all() and idx.tolist() == [[[0]]]
    out, idx = max_pool2d(np.array([[[0.0, -0.0], [-0.0, 0.0]]]), 2,
                          return_indices=True)
    assert not np.signbit(out).any() and idx.tolist() == [[[0]]]
    # Row-major order, not column-major: -0.0 in row 0 beats 0.0 in row 1.
    out, idx = max_pool2d(np.array([[[-1.0, -0.0], [0.0, -1.0]]]), 2,
                          return_indices=True)
    assert np.signbit(out).all() and idx.tolist() == [[[1]]]
    out, idx = max_pool2d(np.array([[[3, 7, 7], [7, 1, 7]]], np.int16), (2, 3),
                          return_indices=True)
    assert out.tolist() == [[[7]]] and idx.tolist() == [[[1]]]


def test_max_all_minus_inf_window():
    x = np.full((1, 2, 2), -np.inf)
    out, idx = max_pool2d(x, 2, return_indices=True)
    assert out.tolist() == [[[-np.inf]]] and idx.tolist() == [[[0]]]
    # With padding the index is the first in-bounds element, never -1.
    out, idx = max_pool2d(x, 2, stride=1, padding=1, return_indices=True)
    assert (out == -np.inf).all()
    assert idx.tolist() == [[[0, 0, 1], [0, 0, 1], [2, 2, 3]]]


@pytest.mark.parametrize("dtype", ["i4", "i1", "f4"])
def test_max_padding_never_wins(dtype):
    x = np.array([[[-5, -6], [-7, -8]]], dtype)
    out, idx = max_pool2d(x, 2, stride=1, padding=1, return_indices=True)
    assert out.tolist() == [[[-5, -5, -6], [-5, -5, -6], [-7, -7, -8]]]
    assert idx.tolist() == [[[0, 0, 1], [0, 0, 1], [2, 2, 3]]]


def test_max_dtype_minimum_window():
    x = np.full((1, 2, 2), -128, np.int8)
    out, idx = max_pool2d(x, 2, stride=1, padding=1, return_indices=True)
    assert (out == -128).all()
    assert idx.tolist() == [[[0, 0, 1], [0, 0, 1], [2, 2, 3]]]


def test_max_indices_per_plane():
    x = np.arange(16.0).reshape(4, 4)
    want = [[5, 7], [13, 15]]
    out, idx = max_pool2d(np.stack([x, x + 100]), 2, return_indices=True)
    assert idx.tolist() == [want, want]
    out, idx = max_pool2d(np.stack([x, -x])[None], 2, return_indices=True)
    assert idx.shape == (1, 2, 2, 2)
    assert idx[0, 0].tolist() == want and idx[0, 1].tolist() == [[0, 2], [8, 10]]
    out, idx = max_pool2d(np.arange(9.0).reshape(1, 3, 3), 2, dilation=2,
                          return_indices=True)
    assert out.tolist() == [[[8.0]]] and idx.tolist() == [[[8]]]


def test_max_window_without_taps_inside():
    # Dilation can step over the whole input: torch returns -inf (the
    # dtype's minimum) and an index built from the first non-negative tap.
    x = np.arange(3.0).reshape(1, 1, 3)
    kw = dict(kernel_size=(1, 2), stride=1, padding=(0, 1), dilation=(1, 4))
    out, idx = max_pool2d(x, **kw, return_indices=True)
    assert out.tolist() == [[[-np.inf]]] and idx.tolist() == [[[3]]]
    out, idx = max_pool2d(x.astype(np.int64), **kw, return_indices=True)
    assert out.tolist() == [[[np.iinfo(np.int64).min]]]
    assert idx.tolist() == [[[3]]]
    out, idx = max_pool2d(np.arange(9.0).reshape(1, 3, 3), 2, stride=1,
                          padding=1, dilation=4, return_indices=True)
    assert out.tolist() == [[[-np.inf]]] and idx.tolist() == [[[12]]]


@pytest.mark.parametrize("shape,params,out_hw", [
    ((1, 6, 7), dict(kernel_size=1, stride=2, ceil_mode=True), (3, 4)),
    ((1, 5, 5), dict(kernel_size=2, stride=2, padding=1, ceil_mode=True), (3, 3)),
    ((1, 4, 4), dict(kernel_size=2, stride=2, padding=1, ceil_mode=True), (3, 3)),
    ((1, 5, 5), dict(kernel_size=2, stride=2, ceil_mode=True), (3, 3)),
    ((1, 5, 5), dict(kernel_size=2, stride=2), (2, 2)),
    ((1, 7, 7), dict(kernel_size=3, stride=2, padding=1), (4, 4)),
])
def test_output_sizes(shape, params, out_hw):
    x = np.ones(shape)
    assert max_pool2d(x, **params).shape == (1, *out_hw)
    assert avg_pool2d(x, **params).shape == (1, *out_hw)


def test_avg_count_include_pad():
    x = np.ones((1, 2, 2))
    assert avg_pool2d(x, 2, 2, 1).tolist() == [[[0.25, 0.25], [0.25, 0.25]]]
    assert avg_pool2d(x, 2, 2, 1, count_include_pad=False).tolist() == \
        [[[1.0, 1.0], [1.0, 1.0]]]


def test_avg_ceil_overhang_is_not_counted():
    out = avg_pool2d(np.ones((1, 4, 4)), 3, 2, 1, ceil_mode=True)
    np.testing.assert_allclose(out[0], [[4 / 9, 6 / 9, 3 / 9],
                                        [6 / 9, 1.0, 0.5],
                                        [3 / 9, 0.5, 0.25]], rtol=1e-15)
    out = avg_pool2d(np.arange(25.0).reshape(1, 5, 5), 2, ceil_mode=True)
    assert out.tolist() == [[[3.0, 5.0, 6.5], [13.0, 15.0, 16.5],
                             [20.5, 22.5, 24.0]]]
    assert not np.isnan(out).any()


def test_avg_nan_and_inf():
    x = np.array([[[1.0, np.nan, 2.0, 3.0]]])
    np.testing.assert_array_equal(avg_pool2d(x, (1, 2), 1),
                                  [[[np.nan, np.nan, 2.5]]])
    x = np.array([[[np.inf, -np.inf, np.inf, 1.0]]])
    np.testing.assert_array_equal(avg_pool2d(x, (1, 2), 1),
                                  [[[np.nan, np.nan, np.inf]]])


def test_avg_accumulates_in_the_input_precision():
    x = np.array([[[1e8, 1, 1, 1, -1e8]]])
    assert avg_pool2d(x.astype(np.float32), (1, 5)).tolist() == [[[0.0]]]
    assert avg_pool2d(x, (1, 5)).tolist() == [[[0.6]]]
    # float16 sums in float32: 2048 + 1 is not representable in float16.
    x16 = np.array([[[2048, 1, 1, -2048]]], np.float16)
    out = avg_pool2d(x16, (1, 4))
    assert out.dtype == np.float16 and out.tolist() == [[[0.5]]]


def test_avg_signed_zero():
    # torch sums from +0.0: an all -0.0 window averages to +0.0.
    out = avg_pool2d(np.full((1, 2, 2), -0.0), 2)
    assert out.tolist() == [[[0.0]]] and not np.signbit(out).any()


def test_avg_divisor_override():
    x = np.arange(16.0).reshape(1, 4, 4)
    assert avg_pool2d(x, 2, divisor_override=1).tolist() == \
        [[[10.0, 18.0], [42.0, 50.0]]]
    assert avg_pool2d(np.ones((1, 4, 4)), 2, divisor_override=-2).tolist() == \
        [[[-2.0, -2.0], [-2.0, -2.0]]]


class TestIntegerAverage:
    """The documented policy: exact sum, truncation toward zero, result in
    the input dtype (wrapping only for a negative divisor_override)."""

    def test_truncates_toward_zero(self):
        x = np.array([[[7, 0], [0, 0]], [[-7, 0], [0, 0]]], np.int64)
        assert avg_pool2d(x, 2).tolist() == [[[1]], [[-1]]]
        assert avg_pool2d(x, 2, divisor_override=-3).tolist() == [[[-2]], [[2]]]

    @pytest.mark.parametrize("dtype", [d for d in INT_DTYPES if d.itemsize < 8],
                             ids=str)
    def test_sums_do_not_overflow_narrow_types(self, dtype):
        info = np.iinfo(dtype)
        x = np.full((1, 3, 3), info.max, dtype)
        assert avg_pool2d(x, 3).tolist() == [[[info.max]]]
        x = np.full((1, 3, 3), info.min, dtype)
        assert avg_pool2d(x, 3).tolist() == [[[info.min]]]
        assert avg_pool2d(x, 3).dtype == dtype

    def test_negative_divisor_wraps_unsigned(self):
        x = np.array([[[7, 200]]], np.uint8)
        out = avg_pool2d(x, 1, divisor_override=-1)
        assert out.dtype == np.uint8 and out.tolist() == [[[249, 56]]]
        x = np.array([[[-128]]], np.int8)
        assert avg_pool2d(x, 1, divisor_override=-1).tolist() == [[[-128]]]
        x = np.array([[[2**63 + 4]]], np.uint64)
        assert avg_pool2d(x, 1, divisor_override=-2).tolist() == \
            [[[(-(2**62 + 2)) % 2**64]]]

    def test_int64_min_over_minus_one(self):
        # INT64_MIN / -1 traps in C; the result wraps to INT64_MIN.
        x = np.array([[[np.iinfo(np.int64).min]]])
        assert avg_pool2d(x, 1, divisor_override=-1).tolist() == \
            [[[np.iinfo(np.int64).min]]]

    @pytest.mark.parametrize("dtype", ["i8", "u8", "i4", "u1"])
    def test_division_by_every_kind_of_divisor(self, dtype):
        # The kernel divides by multiplying (Granlund-Montgomery): check it
        # against Python's integers on 1x1 windows, for divisors of every
        # magnitude and sign and for the dividends where a multiplicative
        # division goes wrong first: the extremes and the neighbours of
        # the divisor's multiples.
        info = np.iinfo(dtype)
        lo, hi = int(info.min), int(info.max)
        mags = {1, 2, 3, 5, 6, 7, 9, 10, 11, 25, 49, 641, 6700417, 2**63 - 1}
        mags |= {2**k + e for k in range(1, 63) for e in (-1, 0, 1)}
        divisors = sorted(mags) + sorted(-m for m in mags | {2**63})
        base = {0, 1, 2, 3, 7, hi, hi - 1, lo, lo + 1, -1, -2, -3, -7}
        base |= set(int(v) for v in np.random.default_rng(5).integers(
            lo, hi, 64, dtype=dtype, endpoint=True))
        for d in divisors:
            values = set(base)
            for k in (1, 2, 3, hi // abs(d), hi // abs(d) - 1):
                values |= {k * abs(d) + e for e in (-1, 0, 1)}
                values |= {-k * abs(d) + e for e in (-1, 0, 1)}
            values = sorted(v for v in values if lo <= v <= hi)
            x = np.array([[values]], dtype)
            q = [abs(v) // abs(d) * (1 if (v >= 0) == (d > 0) else -1)
                 for v in values]
            want = np.array([[[v % 2**(8 * x.itemsize) for v in q]]],
                            f"u{x.itemsize}").view(dtype)
            assert_identical(avg_pool2d(x, 1, divisor_override=d), want)

    def test_64_bit_sums_wrap(self):
        # As in torch's int64 loop: the sum is taken modulo 2**64.
        x = np.array([[[2**62, 2**62]]], np.int64)
        assert avg_pool2d(x, (1, 2)).tolist() == [[[-2**62]]]
        x = np.array([[[2**63, 2**63]]], np.uint64)
        assert avg_pool2d(x, (1, 2)).tolist() == [[[0]]]
        x = np.array([[[2**63, 2**62]]], np.uint64)
        assert avg_pool2d(x, (1, 2)).tolist() == [[[(2**63 + 2**62) // 2]]]


# -- shapes, layouts, array-likes ---------------------------------------------

def test_empty_batch():
    x = np.ones((0, 3, 8, 9), np.float32)
    out, idx = max_pool2d(x, 3, 2, 1, return_indices=True)
    assert out.shape == idx.shape == (0, 3, 4, 5)
    assert out.dtype == np.float32 and idx.dtype == np.int64
    out = avg_pool2d(x, 3, 2, 1)
    assert out.shape == (0, 3, 4, 5) and out.dtype == np.float32
    with pytest.raises(ValueError, match="Output size is too small"):
        max_pool2d(np.ones((0, 3, 2, 2)), 3)


def test_unbatched_equals_batched(rng):
    x = random_input(rng, (3, 11, 13), np.float64, specials=True)
    out, idx = max_pool2d(x, 3, 2, 1, return_indices=True)
    out4, idx4 = max_pool2d(x[None], 3, 2, 1, return_indices=True)
    assert out.shape == (3, 6, 7)
    assert_identical(out, out4[0])
    assert_identical(idx, idx4[0])
    assert_identical(avg_pool2d(x, 3, 2, 1), avg_pool2d(x[None], 3, 2, 1)[0])


def _layouts(x):
    """Arrays equal to x in other memory layouts."""
    yield "fortran", np.asfortranarray(x)
    yield "strided", np.repeat(x, 2, axis=-1)[..., ::2]
    yield "negative strides", np.ascontiguousarray(x[..., ::-1, ::-1])[..., ::-1, ::-1]
    ro = x.copy()
    ro.flags.writeable = False
    yield "read-only", ro
    yield "byte-swapped", x.astype(x.dtype.newbyteorder())
    mis = np.zeros(x.nbytes + 1, np.uint8)[1:].view(x.dtype).reshape(x.shape)
    mis[...] = x
    yield "misaligned", mis


@pytest.mark.parametrize("dtype", ["f8", "f4", "f2", "i2", "u8"])
def test_layouts(rng, dtype):
    x = random_input(rng, (2, 3, 9, 10), np.dtype(dtype), specials=True)
    want_max = max_pool2d(x, 3, 2, 1, return_indices=True)
    want_avg = avg_pool2d(x, 3, 2, 1)
    for name, y in _layouts(x):
        assert not y.flags.c_contiguous or name in ("read-only", "byte-swapped",
                                                    "misaligned"), name
        got = max_pool2d(y, 3, 2, 1, return_indices=True)
        assert_identical(got[0], want_max[0])
        assert_identical(got[1], want_max[1])
        assert_identical(avg_pool2d(y, 3, 2, 1), want_avg)


def test_zero_stride_input(rng):
    x = rng.standard_normal((1, 1, 6, 7))
    y = np.broadcast_to(x, (4, 3, 6, 7))
    assert_identical(max_pool2d(y, 2), np.broadcast_to(max_pool2d(x, 2),
                                                       (4, 3, 3, 3)).copy())
    assert_identical(avg_pool2d(y, 2), np.broadcast_to(avg_pool2d(x, 2),
                                                       (4, 3, 3, 3)).copy())


def test_list_input_gives_float64():
    out = max_pool2d([[[1.0, 2.0], [3.0, 4.0]]], 2)
    assert out.dtype == np.float64 and out.tolist() == [[[4.0]]]
    out = avg_pool2d([[[1, 2], [3, 5]]], 2)
    assert out.dtype == np.array(1).dtype and out.tolist() == [[[2]]]


def test_subclass_input_gives_ndarray():
    x = np.ma.masked_array(np.arange(16.0).reshape(1, 4, 4), mask=False)
    assert type(max_pool2d(x, 2)) is np.ndarray
    assert type(avg_pool2d(x, 2)) is np.ndarray


def test_float16_max_is_exact(rng):
    x = random_input(rng, (2, 2, 9, 9), np.float16, specials=True)
    ref, ref_idx = ref_max_pool2d(x, 3, 2, 1)
    got, idx = max_pool2d(x, 3, 2, 1, return_indices=True)
    assert_identical(got, ref)
    np.testing.assert_array_equal(idx, ref_idx)


def test_huge_window():
    # A window far larger than the input: only the taps inside count, and
    # sizes stay exact (no overflow).
    x = np.ones((1, 1, 1))
    out, idx = max_pool2d(x, (1, 2**40), padding=(0, 2**39),
                          return_indices=True)
    assert out.tolist() == [[[1.0]]] and idx.tolist() == [[[0]]]
    assert avg_pool2d(x, (1, 2**40), padding=(0, 2**39)).tolist() == \
        [[[2.0**-40]]]
    assert avg_pool2d(x, (1, 2**40), padding=(0, 2**39),
                      count_include_pad=False).tolist() == [[[1.0]]]
    with pytest.raises(OverflowError, match="does not fit in int64"):
        avg_pool2d(x, (2**32, 2**32), padding=(2**31, 2**31))


def test_huge_output_raises_memory_error():
    x = np.broadcast_to(np.float64(1.0), (2**20, 2**10, 2**10, 2))
    with pytest.raises(MemoryError):
        max_pool2d(x, 1)


# -- errors -----------------------------------------------------------------------

X = np.ones((1, 2, 5, 5))


@pytest.mark.parametrize("func", [max_pool2d, avg_pool2d])
@pytest.mark.parametrize("args,kwargs,exc,pattern", [
    ((np.ones((5, 5)), 2), {}, ValueError,
     r"^non-empty 3D or 4D \(batch mode\) tensor expected for input$"),
    ((np.ones((1, 1, 1, 5, 5)), 2), {}, ValueError,
     r"^non-empty 3D or 4D \(batch mode\) tensor expected for input$"),
    ((np.float64(1.0), 2), {}, ValueError, r"^non-empty 3D or 4D"),
    ((np.ones((1, 0, 5, 5)), 2), {}, ValueError,
     r"^Expected 3D or 4D \(batch mode\) tensor with optional 0 dim batch "
     r"size for input, but got:\[1, 0, 5, 5\]$"),
    ((np.ones((2, 5, 0)), 2), {}, ValueError,
     r"but got:\[2, 5, 0\]$"),
    ((np.ones((0, 5, 5)), 2), {}, ValueError, r"but got:\[0, 5, 5\]$"),
    ((X, 0), {}, ValueError,
     r"^kernel_size must be greater than zero, but got kH: 0 kW: 0$"),
    ((X, 2), {"stride": 0}, ValueError, r"^stride should not be zero$"),
    ((X, 2), {"stride": -1}, ValueError,
     r"^stride should be greater than zero, but got dH: -1 dW: -1$"),
    ((X, 2), {"padding": -1}, ValueError,
     r"^pad must be non-negative, but got pad: -1$"),
    ((X, 2), {"padding": 2}, ValueError,
     r"^pad should be at most half of effective kernel size, but got pad=2, "
     r"kernel_size=2 and dilation=1$"),
    ((np.ones((2, 5, 5)), 6), {}, ValueError,
     r"^Given input size: \(2x5x5\)\. Calculated output size: \(2x0x0\)\. "
     r"Output size is too small$"),
    ((X, (2, 2, 2)), {}, ValueError, r"^expected kernel_size to be a single"),
    ((X, 2.0), {}, TypeError, r"^kernel_size must be an integer, got float$"),
    ((X, 2), {"stride": "1"}, TypeError, r"^stride must be an integer"),
    ((X, 2), {"workers": 0}, ValueError, r"^workers must not be zero$"),
    ((X, 2), {"workers": 1.5}, TypeError, r"^workers must be an integer"),
])
def test_errors(func, args, kwargs, exc, pattern):
    with pytest.raises(exc, match=pattern):
        func(*args, **kwargs)


@pytest.mark.parametrize("args,kwargs,exc,pattern", [
    ((X, 2), {"dilation": 0}, ValueError,
     r"^dilation should be greater than zero, but got dilationH: 0 "
     r"dilationW: 0$"),
    ((np.ones((1, 4, 4)), 3), {"dilation": 2}, ValueError,
     r"^Given input size: \(1x4x4\)\. Calculated output size: \(1x0x0\)\. "
     r"Output size is too small$"),
    ((X, 3), {"padding": 2, "dilation": 2}, ValueError,
     r"^pad should be smaller than or equal to half of kernel size, but got "
     r"padW = 2, padH = 2, kW = 3, kH = 3$"),
    ((np.ones((1, 2, 2), bool), 2), {}, TypeError,
     r"^\"max_pool2d\" not implemented for dtype 'bool'$"),
    ((np.ones((1, 2, 2), np.complex64), 2), {}, TypeError,
     r"^\"max_pool2d\" not implemented for dtype 'complex64'$"),
    ((np.ones((1, 2, 2), np.longdouble), 2), {}, TypeError,
     r"not implemented for dtype 'float128'$"),
    ((np.array([[["a"]]]), 1), {}, TypeError, r"not implemented for dtype '<U1'$"),
    ((np.ones((1, 1, 1), object), 1), {}, TypeError,
     r"not implemented for dtype 'object'$"),
])
def test_max_errors(args, kwargs, exc, pattern):
    with pytest.raises(exc, match=pattern):
        max_pool2d(*args, **kwargs)


@pytest.mark.parametrize("args,kwargs,exc,pattern", [
    ((X, 2), {"divisor_override": 0}, ValueError, r"^divisor must be not zero$"),
    ((X, 2), {"divisor_override": 1.5}, TypeError,
     r"^divisor_override must be an integer, got float$"),
    ((X, 2), {"divisor_override": 2**63}, OverflowError, r"does not fit in int64"),
    ((np.ones((1, 2, 2), bool), 2), {}, TypeError,
     r"^\"avg_pool2d\" not implemented for dtype 'bool'$"),
    ((np.ones((1, 2, 2), np.complex128), 2), {}, TypeError,
     r"^\"avg_pool2d\" not implemented for dtype 'complex128'$"),
    ((np.ones((1, 2, 2), "M8[s]"), 2), {}, TypeError,
     r"not implemented for dtype 'datetime64\[s\]'$"),
])
def test_avg_errors(args, kwargs, exc, pattern):
    with pytest.raises(exc, match=pattern):
        avg_pool2d(*args, **kwargs)


def test_avg_has_no_dilation_argument():
    with pytest.raises(TypeError):
        avg_pool2d(X, 2, dilation=2)


# -- out= ------------------------------------------------------------------------

def _misaligned(shape, dtype):
    dtype = np.dtype(dtype)
    buf = np.zeros(int(np.prod(shape)) * dtype.itemsize + 1, np.uint8)
    a = buf[1:].view(dtype).reshape(shape)
    assert a.flags.aligned == (dtype.itemsize == 1) and a.flags.c_contiguous
    return a


@pytest.mark.parametrize("dtype", ["f4", "f2", "i1", "u8", ">f8"], ids=str)
@pytest.mark.parametrize("batched", [True, False])
def test_out_parameter(rng, dtype, batched):
    shape = (2, 3, 9, 11) if batched else (3, 9, 11)
    x = random_input(rng, shape, np.dtype(dtype))
    kw = dict(kernel_size=3, stride=2, padding=1)
    want, want_idx = max_pool2d(x, **kw, return_indices=True)
    want_avg = avg_pool2d(x, **kw)
    assert want.dtype == want_avg.dtype == np.dtype(dtype).newbyteorder("=")
    for make in (lambda s, d: np.full(s, 7, d), _misaligned):
        out = make(want.shape, want.dtype)
        assert max_pool2d(x, **kw, out=out) is out
        assert_identical(out, want)
        out = make(want.shape, want.dtype)
        idx = make(want.shape, np.int64)
        got = max_pool2d(x, **kw, return_indices=True, out=(out, idx))
        assert got[0] is out and got[1] is idx
        assert_identical(out, want)
        assert_identical(idx, want_idx)
        # Either part may be left to the function.
        got = max_pool2d(x, **kw, return_indices=True, out=(None, idx))
        assert got[1] is idx
        assert_identical(got[0], want)
        got = max_pool2d(x, **kw, return_indices=True, out=(out, None))
        assert got[0] is out
        assert_identical(got[1], want_idx)
        out = make(want.shape, want.dtype)
        assert avg_pool2d(x, **kw, out=out) is out
        assert_identical(out, want_avg)


X_OUT = np.ones((2, 3, 4, 4))


@pytest.mark.parametrize("func", [max_pool2d, avg_pool2d])
@pytest.mark.parametrize("out,pattern", [
    ([0.0], r"^out must be a numpy\.ndarray, got list$"),
    (np.empty((2, 3, 2, 3)), r"^out must have shape \(2, 3, 2, 2\) and dtype "
     r"float64, got shape \(2, 3, 2, 3\) and dtype float64$"),
    (np.empty((2, 3, 2, 2), np.float32), r"and dtype float32$"),
    (np.empty((2, 3, 2, 2), ">f8"), r"and dtype >f8$"),
    (np.empty((2, 3, 2, 2), order="F"),
     r"^out must be a writeable, C-contiguous array$"),
    (np.empty((2, 3, 2, 4))[..., ::2],
     r"^out must be a writeable, C-contiguous array$"),
    ("read-only", r"^out must be a writeable, C-contiguous array$"),
])
def test_bad_out(func, out, pattern):
    if isinstance(out, str):
        out = np.empty((2, 3, 2, 2))
        out.flags.writeable = False
    with pytest.raises(ValueError, match=pattern):
        func(X_OUT, 2, out=out)


@pytest.mark.parametrize("func", [max_pool2d, avg_pool2d])
def test_out_overlapping_input(func):
    buf = np.ones((1, 2, 4, 4))
    with pytest.raises(ValueError, match=r"^out must not overlap the input$"):
        func(buf, (1, 2), out=buf.reshape(-1)[:16].reshape(1, 2, 4, 2))


def test_bad_indices_out():
    out = np.empty((2, 3, 2, 2))
    with pytest.raises(ValueError, match=r"^out must be a tuple \(values, "
                       r"indices\) with return_indices=True, got ndarray$"):
        max_pool2d(X_OUT, 2, return_indices=True, out=out)
    with pytest.raises(ValueError, match=r"^out must be a tuple"):
        max_pool2d(X_OUT, 2, return_indices=True, out=(out,))
    with pytest.raises(ValueError, match=r"^indices out must have shape "
                       r"\(2, 3, 2, 2\) and dtype int64, got shape "
                       r"\(2, 3, 2, 2\) and dtype int32$"):
        max_pool2d(X_OUT, 2, return_indices=True,
                   out=(out, np.empty(out.shape, np.int32)))
    both = np.empty((2, 3, 2, 2), np.int64)
    with pytest.raises(ValueError, match=r"^out's values and indices must "
                       r"not overlap$"):
        max_pool2d(X_OUT.astype(np.int64), 2, return_indices=True,
                   out=(both, both))
    x = X_OUT.view(np.int64)
    with pytest.raises(ValueError, match=r"^indices out must not overlap "
                       r"the input$"):
        max_pool2d(x, (1, 2), return_indices=True,
                   out=(None, x.reshape(-1)[:48].reshape(2, 3, 4, 2)))


def test_invalid_call_leaves_out_untouched():
    out = np.full((2, 3, 2, 2), 5.0)
    with pytest.raises(ValueError, match="divisor must be not zero"):
        avg_pool2d(X_OUT, 2, divisor_override=0, out=out)
    with pytest.raises(TypeError, match="workers"):
        max_pool2d(X_OUT, 2, workers=1.5, out=out)
    assert (out == 5.0).all()


# -- threads ---------------------------------------------------------------------

@pytest.mark.parametrize("shape", [(3, 5, 37, 41), (1, 1, 300, 257),
                                   (1, 2, 64, 3)])
def test_thread_count_invariance(rng, shape):
    x = random_input(rng, shape, np.float32, specials=True)
    xi = random_input(rng, shape, np.int64)
    calls = [
        lambda w: max_pool2d(x, 3, 2, 1, workers=w),
        lambda w: max_pool2d(x, 3, 1, 1, dilation=2, return_indices=True,
                             workers=w),
        lambda w: max_pool2d(x, 2, workers=w, return_indices=True),
        lambda w: avg_pool2d(x, 3, 2, 1, workers=w),
        lambda w: avg_pool2d(x, (2, 5), 1, (1, 2), ceil_mode=True,
                             count_include_pad=False, workers=w),
        lambda w: avg_pool2d(xi, 3, 1, 1, workers=w),
    ]
    for call in calls:
        want = call(1)
        for w in (2, 3, None, -1):
            got = call(w)
            if isinstance(want, tuple):
                assert_identical(got[0], want[0])
                assert_identical(got[1], want[1])
            else:
                assert_identical(got, want)


def test_concurrent_python_threads(rng):
    x = random_input(rng, (4, 8, 64, 64), np.float32, specials=True)
    want_max = max_pool2d(x, 3, 2, 1, workers=1)
    want_avg = avg_pool2d(x, 3, 2, 1, workers=1)
    results, barrier = [], threading.Barrier(8)

    def work():
        barrier.wait()
        for _ in range(5):
            results.append((max_pool2d(x, 3, 2, 1, workers=2),
                            avg_pool2d(x, 3, 2, 1, workers=2)))

    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 40
    for m, a in results:
        assert_identical(m, want_max)
        assert_identical(a, want_avg)


@pytest.mark.parametrize("good,bad,match", [
    (dict(kernel_size=2), dict(kernel_size=2.0),
     "kernel_size must be an integer, got float"),
    (dict(kernel_size=(2, 1)), dict(kernel_size=(2, True)),
     "kernel_size must be an integer, got bool"),
    (dict(kernel_size=2, stride=(2, 2)), dict(kernel_size=2, stride=(2.0, 2)),
     "stride must be an integer, got float"),
    (dict(kernel_size=2, padding=0), dict(kernel_size=2, padding=False),
     "padding must be an integer, got bool"),
])
def test_geometry_cache_never_answers_for_equal_non_ints(good, bad, match):
    # 2.0 == 2 and True == 1 hash alike: a cached geometry for the int
    # arguments must not be returned for them.
    x = np.zeros((1, 2, 8, 8), np.float32)
    for func in (max_pool2d, avg_pool2d):
        func(x, **good)
        func(x, **good)     # now cached
        with pytest.raises(TypeError, match=match):
            func(x, **bad)


def test_call_cache_keys_on_dtype_and_byte_order():
    # Calls are planned once per (shape, dtype, sizes): a plan made for one
    # dtype (its kernel type, its integer sums) must never serve another of
    # the same shape.  Full-range data tells the kernel types apart.
    rng = np.random.default_rng(7)
    for dt in (np.float32, ">f4", np.float16, np.int8, np.uint8, np.uint64,
               ">i8", np.int64, np.float64):
        native = np.dtype(dt).newbyteorder("=")
        x = random_input(rng, (1, 2, 4, 4), native)
        if native == np.uint64:
            x[..., 0, 0] = 2**63 + 12345    # as int64, negative
        x = x.astype(dt)
        got, idx = max_pool2d(x, 2, return_indices=True)
        want, want_idx = ref_max_pool2d(x, 2)
        assert got.dtype == native
        assert_identical(got, want.astype(native))
        np.testing.assert_array_equal(idx, want_idx)
        got = avg_pool2d(x, 2, divisor_override=3)
        assert got.dtype == native
        want = ref_avg_pool2d(x, 2, divisor_override=3)
        if native.kind in "iu":
            assert_identical(got, want)
        else:
            assert_avg_close(got, want, avg_tolerance(
                x, native, 2, None, 0, False, True, 3), native)


def test_kernel_entry_points_check_their_arrays():
    # The Cython entry points take raw arrays (no typed memoryviews): they
    # must refuse, not misread, arrays the kernels cannot take.
    from pyconvx import _pool
    x = np.zeros((2, 8, 8), np.float32)
    out = np.zeros((2, 4, 4), np.float32)
    geo = ((2, 2), (2, 2), (0, 0))

    def max_into(x, out, indices=None):
        return _pool.max_pool2d_into(x, out, indices, *geo, (1, 1), 1)

    def avg_into(x, out):
        return _pool.avg_pool2d_into(x, out, *geo, True, 0, 1)

    for into in (max_into, avg_into):
        with pytest.raises(ValueError, match="x must be a C-contiguous, aligned, native"):
            into(np.zeros((2, 8, 16), np.float32)[..., ::2], out)
        with pytest.raises(ValueError, match="x must be a C-contiguous, aligned, native"):
            into(x.astype(">f4"), out)
        with pytest.raises(ValueError, match="x must be .* of at least 2 dimensions"):
            into(np.zeros(8, np.float32), out)
        with pytest.raises(ValueError, match="out must be a C-contiguous"):
            into(x, np.zeros((2, 4, 4), np.float32, order="F")[:, ::1, ::2])
        readonly = out.copy()
        readonly.flags.writeable = False
        with pytest.raises(ValueError, match="out must be writeable and have x's planes"):
            into(x, readonly)
        with pytest.raises(ValueError, match="out must be writeable and have x's planes"):
            into(x, np.zeros((3, 4, 4), np.float32))
        with pytest.raises(TypeError, match="x and out must have the same type"):
            into(x, out.astype(np.float64))
    with pytest.raises(TypeError, match="no max pooling kernel for float16"):
        max_into(x.astype(np.float16), out.astype(np.float16))
    with pytest.raises(TypeError, match="no average pooling kernel for float16"):
        avg_into(x.astype(np.float16), out.astype(np.float16))
    for bad in (np.zeros((2, 4, 4), np.int32), np.zeros((2, 4, 3), np.int64),
                np.zeros((2, 4, 8), np.int64)[..., ::2]):
        with pytest.raises(ValueError, match="indices must be|indices must be a C-contiguous"):
            max_into(x, out, bad)
    # And what they accept they compute: 4-D arrays, whose planes are the
    # leading dimensions' product.
    x4 = np.arange(2 * 3 * 4 * 4, dtype=np.float64).reshape(2, 3, 4, 4)
    out4 = np.empty((2, 3, 2, 2))
    idx4 = np.empty((2, 3, 2, 2), np.int64)
    _pool.max_pool2d_into(x4, out4, idx4, *geo, (1, 1), 1)
    want, want_idx = ref_max_pool2d(x4, 2)
    assert_identical(out4, want)
    np.testing.assert_array_equal(idx4, want_idx)
