"""pyconvx.max_pool2d / avg_pool2d against torch.nn.functional on
hypothesis-generated cases: values and indices bit for bit for max, a
rounding tolerance for float averages, exact integer averages, the same
error messages.  Skipped without torch."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from _helpers import assert_identical
from _pool_oracle import (assert_avg_close, avg_tolerance, case_out_hw,
                          pool_case, random_input, ref_avg_pool2d)
from pyconvx import avg_pool2d, max_pool2d

torch = pytest.importorskip("torch")
F = torch.nn.functional

# What torch's CPU kernels accept (max: every integer type it has; avg: only
# int64 among the integers).
MAX_DTYPES = [np.dtype(c) for c in ("f2", "f4", "f8", "i1", "u1", "i2", "i4",
                                    "i8")]
AVG_DTYPES = [np.dtype(c) for c in ("f2", "f4", "f8", "i8")]


def _outcome(func, *args, **kwargs):
    try:
        return func(*args, **kwargs)
    except (RuntimeError, ValueError) as exc:
        return exc


def _torch(x):
    return torch.from_numpy(np.ascontiguousarray(x))


def _same_error(ours, theirs):
    assert isinstance(ours, ValueError), ours
    assert str(ours) == str(theirs)


def _bits(a):
    # Bit patterns: NaN payloads and signed zeros included.
    return a.view(f"u{a.dtype.itemsize}") if a.dtype.kind == "f" else a


@given(case=pool_case(), dtype=st.sampled_from(MAX_DTYPES),
       seed=st.integers(0, 2**32 - 1))
def test_max_pool2d_matches_torch(case, dtype, seed):
    rng = np.random.default_rng(seed)
    x = random_input(rng, case.pop("shape"), dtype, specials=True)
    args = (case["kernel_size"], case["stride"], case["padding"],
            case["dilation"], case["ceil_mode"])
    theirs = _outcome(F.max_pool2d, _torch(x), *args, return_indices=True)
    ours = _outcome(max_pool2d, x, *args, return_indices=True)
    if isinstance(theirs, Exception):
        _same_error(ours, theirs)
        return
    out, idx = ours
    np.testing.assert_array_equal(_bits(out), _bits(theirs[0].numpy()),
                                  strict=True)
    np.testing.assert_array_equal(idx, theirs[1].numpy(), strict=True)
    # torch's path without indices, and ours.
    out2 = max_pool2d(x, *args)
    np.testing.assert_array_equal(_bits(out2),
                                  _bits(F.max_pool2d(_torch(x), *args).numpy()),
                                  strict=True)


@given(case=pool_case(dilation=False), dtype=st.sampled_from(AVG_DTYPES),
       seed=st.integers(0, 2**32 - 1), count_include_pad=st.booleans(),
       divisor_override=st.one_of(st.none(), st.integers(-5, 7).filter(bool)),
       specials=st.booleans())
def test_avg_pool2d_matches_torch(case, dtype, seed, count_include_pad,
                                  divisor_override, specials):
    rng = np.random.default_rng(seed)
    x = random_input(rng, case.pop("shape"), dtype,
                     specials=specials and dtype.kind == "f")
    case.pop("dilation")
    kwargs = dict(kernel_size=case["kernel_size"], stride=case["stride"],
                  padding=case["padding"], ceil_mode=case["ceil_mode"],
                  count_include_pad=count_include_pad,
                  divisor_override=divisor_override)
    theirs = _outcome(F.avg_pool2d, _torch(x), **kwargs)
    ours = _outcome(avg_pool2d, x, **kwargs)
    if isinstance(theirs, Exception):
        _same_error(ours, theirs)
        return
    theirs = theirs.numpy()
    if dtype.kind == "i":
        assert_identical(ours, theirs)
        return
    # Both accumulate in float32 (float64 for float64) in different orders:
    # each is within the rounding bound of the exact mean.
    ref = ref_avg_pool2d(x, **kwargs)
    tol = avg_tolerance(np.nan_to_num(x, posinf=0, neginf=0), dtype, **kwargs)
    assert_avg_close(ours, ref, tol, dtype)
    assert_avg_close(theirs, ref, tol, dtype)
    np.testing.assert_array_equal(np.isnan(ours), np.isnan(theirs))


@pytest.mark.parametrize("shape,params", [
    ((32, 64, 12, 12), dict(kernel_size=2)),
    ((4, 8, 23, 19), dict(kernel_size=3, stride=2, padding=1)),
    ((4, 8, 23, 19), dict(kernel_size=3, stride=2, padding=1, ceil_mode=True)),
    ((2, 3, 40, 33), dict(kernel_size=(3, 5), stride=(1, 2), padding=(1, 2),
                          dilation=(2, 1))),
])
@pytest.mark.parametrize("dtype", ["f4", "f8", "i8"])
def test_larger_cases(rng, shape, params, dtype):
    x = random_input(rng, shape, np.dtype(dtype), specials=True)
    out, idx = max_pool2d(x, **params, return_indices=True)
    tout, tidx = F.max_pool2d(_torch(x), **params, return_indices=True)
    np.testing.assert_array_equal(_bits(out), _bits(tout.numpy()), strict=True)
    np.testing.assert_array_equal(idx, tidx.numpy(), strict=True)
    params = {k: v for k, v in params.items() if k != "dilation"}
    x = random_input(rng, shape, np.dtype(dtype))
    ours = avg_pool2d(x, **params)
    theirs = F.avg_pool2d(_torch(x), **params).numpy()
    if x.dtype.kind == "i":
        assert_identical(ours, theirs)
    else:
        np.testing.assert_allclose(ours, theirs, rtol=1e-5 if dtype == "f4"
                                   else 1e-12, atol=1e-6)


def test_integer_division_like_torch():
    x = np.array([[[7, 0], [0, 0]], [[-7, 0], [0, 0]]], np.int64)
    for d in (None, 3, -3, 4, -1):
        assert_identical(avg_pool2d(x, 2, divisor_override=d),
                         F.avg_pool2d(_torch(x), 2, divisor_override=d).numpy())
    # int64 sums wrap modulo 2**64 in both.
    x = np.array([[[2**62, 2**62, -2**63, 5]]], np.int64)
    assert_identical(avg_pool2d(x, (1, 2), 1),
                     F.avg_pool2d(_torch(x), (1, 2), 1).numpy())


@pytest.mark.parametrize("func,x,args,kwargs", [
    ("max_pool2d", np.ones((1, 2, 5, 5)), (2,), dict(stride=0)),
    ("max_pool2d", np.ones((1, 2, 5, 5)), (2,), dict(stride=-1)),
    ("max_pool2d", np.ones((1, 2, 5, 5)), (2,), dict(padding=-1)),
    ("max_pool2d", np.ones((1, 2, 5, 5)), (2,), dict(padding=2)),
    ("max_pool2d", np.ones((1, 2, 5, 5)), (2,), dict(dilation=0)),
    ("max_pool2d", np.ones((1, 2, 9, 9)), (3,), dict(padding=2, dilation=2)),
    ("max_pool2d", np.ones((2, 5, 5)), (6,), {}),
    ("max_pool2d", np.ones((1, 4, 4)), (3,), dict(dilation=2)),
    ("max_pool2d", np.ones((5, 5)), (2,), {}),
    ("max_pool2d", np.ones((1, 1, 1, 5, 5)), (2,), {}),
    ("max_pool2d", np.ones((1, 0, 5, 5)), (2,), {}),
    ("max_pool2d", np.ones((2, 0, 5)), (2,), {}),
    ("max_pool2d", np.ones((0, 5, 5)), (2,), {}),
    ("avg_pool2d", np.ones((1, 2, 5, 5)), (2,), dict(stride=0)),
    ("avg_pool2d", np.ones((1, 2, 5, 5)), (2,), dict(padding=2)),
    ("avg_pool2d", np.ones((2, 5, 5)), (6,), {}),
    ("avg_pool2d", np.ones((1, 2, 5, 5)), (2,), dict(divisor_override=0)),
    ("avg_pool2d", np.ones((1, 0, 5, 5)), (2,), {}),
])
def test_error_messages_are_torchs(func, x, args, kwargs):
    theirs = _outcome(getattr(F, func), _torch(x), *args, **kwargs)
    assert isinstance(theirs, RuntimeError)
    with pytest.raises(ValueError) as info:
        getattr(__import__("pyconvx"), func)(x, *args, **kwargs)
    assert str(info.value) == str(theirs)
