"""pyconvx.conv2d against an oracle built from scipy.signal.correlate2d."""

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

import pyconvx
from _conv_oracle import assert_conv_close, conv2d_oracle
from pyconvx import conv2d

MODES = ["zeros", "reflect", "replicate", "circular", "symmetric"]


@st.composite
def conv_cases(draw):
    groups = draw(st.integers(1, 3))
    cg_in = draw(st.integers(1, 3))
    cg_out = draw(st.integers(1, 3))
    n = draw(st.integers(0, 2))
    h, w = draw(st.integers(1, 11)), draw(st.integers(1, 40))
    kh, kw = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    stride = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    dilation = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    kind = draw(st.sampled_from(["int", "pair", "sides", "same", "valid"]))
    if kind == "same":
        stride = (1, 1)
        padding = "same"
    elif kind == "valid":
        padding = "valid"
    elif kind == "int":
        padding = draw(st.integers(0, 3))
    elif kind == "pair":
        padding = (draw(st.integers(0, 3)), draw(st.integers(0, 3)))
    else:
        padding = tuple((draw(st.integers(0, 3)), draw(st.integers(0, 3)))
                        for _ in range(2))
    mode = draw(st.sampled_from(MODES))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, groups * cg_in, h, w))
    wt = rng.standard_normal((groups * cg_out, cg_in, kh, kw))
    bias = rng.standard_normal(groups * cg_out) if draw(st.booleans()) else None
    return dict(x=x, w=wt, bias=bias, stride=stride, padding=padding,
                dilation=dilation, groups=groups, padding_mode=mode)


def _pads(case):
    from pyconvx._shapes import conv2d_geometry
    return conv2d_geometry(case["x"].shape[2:], case["w"].shape[2:],
                           case["stride"], case["padding"],
                           case["dilation"]).padding


def _fits(case, pads):
    h, w = case["x"].shape[2:]
    kh, kw = case["w"].shape[2:]
    dh, dw = case["dilation"]
    if h + pads[0] + pads[1] < (kh - 1) * dh + 1:
        return False
    if w + pads[2] + pads[3] < (kw - 1) * dw + 1:
        return False
    mode = case["padding_mode"]
    if mode == "reflect" and (max(pads[:2]) >= h or max(pads[2:]) >= w):
        return False
    if mode == "circular" and (max(pads[:2]) > h or max(pads[2:]) > w):
        return False
    return True


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@given(case=conv_cases(), unbatched=st.booleans(), workers=st.sampled_from([1, 2, None]))
def test_matches_correlate2d_oracle(dtype, case, unbatched, workers):
    try:
        pads = _pads(case)
    except ValueError as exc:
        assert "Kernel size can't be greater" in str(exc)
        return
    assume(_fits(case, pads))
    x = case["x"].astype(dtype)
    w = case["w"].astype(dtype)
    bias = None if case["bias"] is None else case["bias"].astype(dtype)
    if unbatched:
        assume(x.shape[0] == 1)
    ref, bound = conv2d_oracle(x, w, bias, case["stride"], pads,
                               case["dilation"], case["groups"],
                               case["padding_mode"])
    args = dict(stride=case["stride"], padding=case["padding"],
                dilation=case["dilation"], groups=case["groups"],
                padding_mode=case["padding_mode"], workers=workers)
    out = conv2d(x[0] if unbatched else x, w, bias, **args)
    assert out.dtype == dtype
    if unbatched:
        out = out[np.newaxis]
    assert out.shape == ref.shape
    assert out.shape[1:] == pyconvx.conv2d_output_shape(
        x.shape[1:], w.shape, case["stride"], case["padding"], case["dilation"])
    assert_conv_close(out, ref, bound, np.prod(w.shape[1:]), dtype)


@given(case=conv_cases())
def test_kernel_too_large_is_refused(case):
    try:
        _pads(case)
    except ValueError as exc:
        with pytest.raises(ValueError, match=r"^Calculated padded input size "
                           r"per channel: \(\d+ x \d+\)\. Kernel size: \(\d+ x "
                           r"\d+\)\. Kernel size can't be greater than actual "
                           r"input size$"):
            conv2d(case["x"], case["w"], None, case["stride"],
                   case["padding"], case["dilation"], case["groups"])
        assert "Kernel size" in str(exc)


def test_seed_example_as_conv2d():
    x = np.array([[1, 2, 3, 0, 0], [0, 1, 5, 2, 0], [1, 0, 2, 2, 1],
                  [1, 2, 2, 2, 0], [1, 0, 0, 2, 0]], dtype=np.float64)
    k = np.array([[1, 0, 1], [0, 1, 0], [1, 0, 1]], dtype=np.float64)
    out = conv2d(x[None, None], k[None, None], bias=np.array([0.5]))
    np.testing.assert_array_equal(out[0, 0], np.array([[8, 9, 8], [8, 9, 9],
                                                       [6, 6, 5]]) + 0.5)


def test_tutorial_cnn_shapes():
    x = np.random.default_rng(0).standard_normal((1, 1, 28, 28)).astype(np.float32)
    w = np.random.default_rng(1).standard_normal((5, 1, 5, 5)).astype(np.float32)
    out = conv2d(x, w)
    assert out.shape == (1, 5, 24, 24)
    assert pyconvx.conv2d_output_shape(x.shape, w.shape) == (1, 5, 24, 24)


@pytest.mark.parametrize("padding,expected", [
    ("same", (1, 2, 0, 1)), ("valid", (0, 0, 0, 0)), (2, (2, 2, 2, 2)),
    ((1, 3), (1, 1, 3, 3)), (((0, 2), (3, 1)), (0, 2, 3, 1)),
])
def test_padding_forms(padding, expected):
    rng = np.random.default_rng(3)
    x = rng.standard_normal((2, 3, 9, 8))
    w = rng.standard_normal((4, 3, 4, 2))
    ref, _ = conv2d_oracle(x, w, None, (1, 1), expected, (1, 1), 1, "zeros")
    np.testing.assert_allclose(conv2d(x, w, padding=padding), ref, rtol=1e-12,
                               atol=1e-12)


@pytest.mark.parametrize("mode", MODES)
def test_padding_modes_even_kernel_same(mode):
    rng = np.random.default_rng(4)
    x = rng.standard_normal((1, 2, 7, 9))
    w = rng.standard_normal((3, 2, 4, 4))
    ref, _ = conv2d_oracle(x, w, None, (1, 1), (1, 2, 1, 2), (1, 1), 1, mode)
    np.testing.assert_allclose(conv2d(x, w, padding="same", padding_mode=mode),
                               ref, rtol=1e-12, atol=1e-12)


def test_depthwise_and_channel_multiplier():
    rng = np.random.default_rng(5)
    x = rng.standard_normal((2, 6, 10, 33))
    for mult in (1, 3):
        w = rng.standard_normal((6 * mult, 1, 3, 3))
        ref, _ = conv2d_oracle(x, w, None, (1, 1), (1, 1, 1, 1), (1, 1), 6, "zeros")
        np.testing.assert_allclose(conv2d(x, w, padding=1, groups=6), ref,
                                   rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("stride", [1, 2, 3])
def test_pointwise_path(stride):
    rng = np.random.default_rng(6)
    x = rng.standard_normal((3, 8, 13, 70)).astype(np.float32)
    w = rng.standard_normal((20, 4, 1, 1)).astype(np.float32)
    b = rng.standard_normal(20).astype(np.float32)
    ref, bound = conv2d_oracle(x, w, b, (stride, stride), (0, 0, 0, 0), (1, 1),
                               2, "zeros")
    assert_conv_close(conv2d(x, w, b, stride=stride, groups=2), ref, bound, 4,
                      np.float32)


def test_float16_uses_float32_accumulation():
    rng = np.random.default_rng(7)
    x = rng.standard_normal((2, 16, 12, 12)).astype(np.float16)
    w = rng.standard_normal((4, 16, 3, 3)).astype(np.float16)
    out = conv2d(x, w, padding=1)
    assert out.dtype == np.float16
    ref32 = conv2d(x.astype(np.float32), w.astype(np.float32), padding=1)
    # One rounding to float16 at the end: within half an ulp of float16.
    np.testing.assert_array_equal(out, ref32.astype(np.float16))


@pytest.mark.parametrize("dtypes,expected", [
    (("f4", "f4", None), "f4"), (("f4", "f8", None), "f8"),
    (("f8", "f4", "f4"), "f8"), (("f4", "f4", "f8"), "f8"),
    (("e", "e", None), "e"), (("e", "f4", None), "f4"), (("i4", "f4", None), "f8"),
])
def test_result_dtype_is_numpy_promotion(dtypes, expected):
    x = np.ones((1, 2, 5, 5), dtype=dtypes[0])
    w = np.ones((3, 2, 3, 3), dtype=dtypes[1])
    b = None if dtypes[2] is None else np.ones(3, dtype=dtypes[2])
    out = conv2d(x, w, b)
    assert out.dtype == np.dtype(expected)
    np.testing.assert_array_equal(out, 18 + (0 if b is None else 1))


def test_empty_batch_and_empty_channels():
    w = np.ones((3, 2, 3, 3))
    assert conv2d(np.ones((0, 2, 6, 6)), w).shape == (0, 3, 4, 4)
    # C_in == 0: every output is an empty sum plus the bias (torch returns
    # an empty array here; the mathematical answer is more useful).
    out = conv2d(np.ones((2, 0, 6, 6)), np.ones((3, 0, 3, 3)),
                 bias=np.array([1.0, 2.0, 3.0]))
    assert out.shape == (2, 3, 4, 4)
    np.testing.assert_array_equal(out[:, :, 0, 0], [[1, 2, 3], [1, 2, 3]])
    # An empty image with enough zero padding: the bias again.
    out = conv2d(np.ones((1, 2, 0, 3)), w, bias=np.array([1.0, 2.0, 3.0]),
                 padding=(2, 0))
    assert out.shape == (1, 3, 2, 1)
    np.testing.assert_array_equal(out[0, :, :, 0], [[1, 1], [2, 2], [3, 3]])
    # ... unless a weight is NaN or infinite: 0 * inf is NaN on the padding
    # as on any zero input.
    w_bad = w.copy()
    w_bad[1, 0, 0, 0] = np.inf
    out = conv2d(np.ones((1, 2, 0, 3)), w_bad, padding=(2, 0))
    np.testing.assert_array_equal(np.isnan(out[0, :, :, 0]),
                                  [[False] * 2, [True] * 2, [False] * 2])
    assert np.array_equal(np.isnan(out), np.isnan(
        conv2d(np.zeros((1, 2, 4, 3)), w_bad)[:, :, :2, :1]))


def test_nan_and_inf_propagate():
    x = np.ones((1, 1, 8, 8))
    x[0, 0, 3, 4] = np.nan
    w = np.ones((2, 1, 3, 3))
    out = conv2d(x, w)
    expected = np.zeros((6, 6), bool)
    expected[1:4, 2:5] = True
    np.testing.assert_array_equal(np.isnan(out[0, 0]), expected)
    np.testing.assert_array_equal(np.isnan(out[0, 1]), expected)
    # 0 * inf = NaN even through a zero weight.
    x = np.ones((1, 1, 4, 4))
    x[0, 0, 0, 0] = np.inf
    assert np.isnan(conv2d(x, np.zeros((1, 1, 2, 2)))[0, 0, 0, 0])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_thread_count_invariance(dtype):
    rng = np.random.default_rng(8)
    x = rng.standard_normal((3, 8, 30, 41)).astype(dtype)
    w = rng.standard_normal((16, 4, 3, 5)).astype(dtype)
    for kwargs in ({}, {"stride": 2, "padding": 2}, {"dilation": 2, "groups": 2},
                   {"padding": "same", "padding_mode": "reflect"}):
        groups = kwargs.get("groups", 1)
        ww = w if groups == 2 else rng.standard_normal((16, 8, 3, 5)).astype(dtype)
        serial = conv2d(x, ww, workers=1, **kwargs)
        for workers in (2, 3, None, -1):
            np.testing.assert_array_equal(conv2d(x, ww, workers=workers, **kwargs),
                                          serial, strict=True)


def test_layouts_equal_contiguous():
    rng = np.random.default_rng(9)
    x = rng.standard_normal((2, 3, 7, 9))
    w = rng.standard_normal((4, 3, 3, 2))
    b = rng.standard_normal(4)
    expected = conv2d(x, w, b, padding=1)
    ro = x.copy()
    ro.flags.writeable = False
    for xl in (x.tolist(), np.asfortranarray(x), x[:, :, ::-1, ::-1][:, :, ::-1, ::-1],
               ro, x.astype(">f8"), np.repeat(x, 2, axis=3)[..., ::2]):
        np.testing.assert_array_equal(conv2d(xl, w, b, padding=1), expected)
    for wl in (w.tolist(), np.asfortranarray(w), w.astype(">f8")):
        np.testing.assert_array_equal(conv2d(x, wl, b.tolist(), padding=1), expected)


def test_out_parameter():
    rng = np.random.default_rng(10)
    x = rng.standard_normal((2, 3, 7, 9)).astype(np.float32)
    w = rng.standard_normal((4, 3, 3, 3)).astype(np.float32)
    out = np.full((2, 4, 5, 7), np.nan, dtype=np.float32)
    result = conv2d(x, w, out=out)
    assert result is out
    np.testing.assert_array_equal(out, conv2d(x, w))
    out16 = np.empty((4, 5, 7), dtype=np.float16)
    assert conv2d(x[0].astype(np.float16), w.astype(np.float16), out=out16) is out16
    np.testing.assert_array_equal(out16, conv2d(x[0].astype(np.float16),
                                                w.astype(np.float16)))
    # A misaligned (but C-contiguous, writeable) out is filled through a copy.
    buf = np.zeros(out.nbytes + 1, np.uint8)
    mis = buf[1:].view(np.float32).reshape(out.shape)
    assert not mis.flags.aligned and mis.flags.c_contiguous
    assert conv2d(x, w, out=mis) is mis
    np.testing.assert_array_equal(mis, conv2d(x, w))


def test_inputs_not_modified():
    rng = np.random.default_rng(11)
    x = rng.standard_normal((1, 2, 6, 6))
    w = rng.standard_normal((2, 2, 3, 3))
    x0, w0 = x.copy(), w.copy()
    conv2d(x, w, padding=2, padding_mode="reflect")
    np.testing.assert_array_equal(x, x0)
    np.testing.assert_array_equal(w, w0)


def _direct_conv2d(x, w, stride, pads, dilation):
    """Zero-padded conv2d straight from the definition, one tap at a time
    (cheap however large the stride or dilation): out[n, o, i, j] =
    sum over c, u, v of w[o, c, u, v] * x[n, c, i*sh + u*dh - pt, j*sw + v*dw - pl]."""
    (sh, sw), (pt, pb, pl, pr), (dh, dw) = stride, pads, dilation
    n, c, h, wd = x.shape
    co, _, kh, kw = w.shape
    oh = (h + pt + pb - (kh - 1) * dh - 1) // sh + 1
    ow = (wd + pl + pr - (kw - 1) * dw - 1) // sw + 1
    out = np.zeros((n, co, oh, ow))
    for u in range(kh):
        rows = np.arange(oh) * sh + u * dh - pt
        for v in range(kw):
            cols = np.arange(ow) * sw + v * dw - pl
            inside = ((rows >= 0) & (rows < h))[:, None] & ((cols >= 0) & (cols < wd))
            taps = np.where(inside, x[:, :, rows.clip(0, h - 1)][:, :, :, cols.clip(0, wd - 1)], 0)
            out += np.einsum("nchw,oc->nohw", taps, w[:, :, u, v])
    return out


@pytest.mark.parametrize("stride,padding,dilation", [
    ((1, 2**27), 1, 1),           # a stride far beyond the input
    ((2, 3), (1, 2), (100, 200)),  # taps far apart: per-tap column segments
    ((1, 1), 0, (100, 200)),       # ... and a dilated span of 101 rows
    ((1, 1), (2**19, 2**19), (2**20, 2**19)),   # taps on the padding only
])
def test_workspace_does_not_grow_with_stride_or_dilation(rng, stride, padding,
                                                         dilation):
    # Found by the never-crash fuzzing: the engine kept every stride phase of
    # every padded row the dilated kernel spans (17 GB for a 4x1 output).
    import resource
    x = rng.standard_normal((1, 3, 150, 500))
    w = rng.standard_normal((4, 3, 2, 3))
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    got = conv2d(x, w, stride=stride, padding=padding, dilation=dilation)
    grew_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
    pads = (padding,) * 4 if isinstance(padding, int) else (
        padding[0], padding[0], padding[1], padding[1])
    want = _direct_conv2d(x, w, stride, pads, (dilation,) * 2
                          if isinstance(dilation, int) else dilation)
    assert got.shape == want.shape
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)
    assert grew_kib < 200 * 1024 + got.nbytes // 1024
