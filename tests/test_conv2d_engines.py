"""conv2d's engines and its dispatcher.

Every engine, and every instruction set of the cv and wino engines this CPU
runs, is checked against the scipy-built oracle on shapes that exercise its
edges (partial channel blocks, stride phases, tiles past a strip, odd
output sizes, padding modes), whatever the dispatcher would pick for them.
The direct engines are held to the error bound of a sum of products; wino
(Winograd F(4x4, 3x3)) to the bound its transforms allow (see
_conv_oracle.winograd_bound).
"""

import contextlib

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from _conv_oracle import (WINO_AT, WINO_BT, WINO_EXTRA_TERMS, WINO_G,
                          assert_conv_close, conv2d_oracle, winograd_bound)
from _helpers import assert_identical, hook as _hook
from pyconvx import _conv, conv2d
from pyconvx._shapes import conv2d_geometry

MODES = ["zeros", "reflect", "replicate", "circular", "symmetric"]


def _available_isas():
    """The cv kernel's instruction sets this CPU runs, best first."""
    found = []
    with _forced(None, None):
        for cap in ("avx512", "avx2", "baseline"):
            old = _conv._set_isa_cap(cap)
            try:
                name = _conv.engine("float32", 64, 64, 5, 5, 28)
            finally:
                _conv._set_isa_cap(old)
            if name == "cv-" + cap:
                found.append(cap)
    return found


@contextlib.contextmanager
def _forced(engine, isa):
    old_engine = _conv._set_engine(engine)
    old_isa = _conv._set_isa_cap(isa)
    try:
        yield
    finally:
        _conv._set_engine(old_engine)
        _conv._set_isa_cap(old_isa)


ENGINES = ([("rows", None), ("flat", None)]
           + [("cv", isa) for isa in _available_isas()]
           + [("gemm", isa) for isa in _available_isas()])
ENGINE_IDS = [e if isa is None else f"{e}-{isa}" for e, isa in ENGINES]


@st.composite
def layer_cases(draw):
    groups = draw(st.integers(1, 2))
    cg_in = draw(st.integers(1, 4))
    # Up to 40 channels a group: a full and a partial channel block for
    # every instruction set (blocks of 32, 16 or 8 float32 channels).
    cg_out = draw(st.integers(1, 40))
    n = draw(st.integers(1, 2))
    h, w = draw(st.integers(1, 14)), draw(st.integers(1, 70))
    kh, kw = draw(st.integers(1, 5)), draw(st.integers(1, 5))
    stride = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    dilation = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    pads = tuple(draw(st.integers(0, 3)) for _ in range(2))
    mode = draw(st.sampled_from(MODES))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    return dict(
        x=rng.standard_normal((n, groups * cg_in, h, w)),
        w=rng.standard_normal((groups * cg_out, cg_in, kh, kw)),
        bias=rng.standard_normal(groups * cg_out) if draw(st.booleans()) else None,
        stride=stride, padding=pads, dilation=dilation, groups=groups,
        padding_mode=mode)


@st.composite
def wino_cases(draw):
    """3x3 layers of unit stride: the ones wino computes."""
    groups = draw(st.integers(1, 2))
    cg_in = draw(st.integers(1, 20))
    cg_out = draw(st.integers(1, 40))
    n = draw(st.integers(1, 2))
    h, w = draw(st.integers(1, 19)), draw(st.integers(1, 40))
    pads = (draw(st.integers(0, 4)), draw(st.integers(0, 4)))
    dilation = (draw(st.sampled_from([1, 1, 2, 3])),
                draw(st.sampled_from([1, 1, 2, 3])))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    return dict(
        x=rng.standard_normal((n, groups * cg_in, h, w)),
        w=rng.standard_normal((groups * cg_out, cg_in, 3, 3)),
        bias=rng.standard_normal(groups * cg_out) if draw(st.booleans()) else None,
        stride=(1, 1), padding=pads, dilation=dilation, groups=groups,
        padding_mode=draw(st.sampled_from(MODES)))


@st.composite
def pointwise_cases(draw, few=False):
    """1x1 layers: the ones gemm computes (strided and padded too); `few`:
    inputs of at most 2 x 3 x 3, for gemv."""
    groups = draw(st.integers(1, 2))
    # Up to 40 channels a group: full and partial blocks of 12 (avx512),
    # 6 (avx2, baseline) channels.
    cg_in, cg_out = draw(st.integers(1, 40)), draw(st.integers(1, 40))
    n = draw(st.integers(1, 2 if few else 3))
    h = draw(st.integers(1, 3 if few else 12))
    w = draw(st.integers(1, 3 if few else 45))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    return dict(
        x=rng.standard_normal((n, groups * cg_in, h, w)),
        w=rng.standard_normal((groups * cg_out, cg_in, 1, 1)),
        bias=(rng.standard_normal(groups * cg_out) if draw(st.booleans())
              else None),
        stride=(draw(st.integers(1, 3)), draw(st.integers(1, 3))),
        padding=(draw(st.integers(0, 2)), draw(st.integers(0, 2))),
        dilation=(1, 1), groups=groups,
        padding_mode=draw(st.sampled_from(MODES)))


def _fits(case):
    try:
        geo = conv2d_geometry(case["x"].shape[2:], case["w"].shape[2:],
                              case["stride"], case["padding"], case["dilation"])
    except ValueError:
        return None
    pt, pb, pl, pr = geo.padding
    h, w = case["x"].shape[2:]
    if case["padding_mode"] == "reflect" and (max(pt, pb) >= h or max(pl, pr) >= w):
        return None
    if case["padding_mode"] == "circular" and (max(pt, pb) > h or max(pl, pr) > w):
        return None
    return geo.padding


@pytest.mark.parametrize("engine,isa", ENGINES, ids=ENGINE_IDS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@settings(max_examples=60)
@given(case=layer_cases(), workers=st.sampled_from([1, 2]))
def test_engine_matches_oracle(engine, isa, dtype, case, workers):
    pads = _fits(case)
    assume(pads is not None)
    x, w = case["x"].astype(dtype), case["w"].astype(dtype)
    bias = None if case["bias"] is None else case["bias"].astype(dtype)
    ref, bound = conv2d_oracle(x, w, bias, case["stride"], pads,
                               case["dilation"], case["groups"],
                               case["padding_mode"])
    with _forced(engine, isa):
        out = conv2d(x, w, bias, stride=case["stride"], padding=case["padding"],
                     dilation=case["dilation"], groups=case["groups"],
                     padding_mode=case["padding_mode"], workers=workers)
    assert out.dtype == dtype and out.shape == ref.shape
    assert_conv_close(out, ref, bound, np.prod(w.shape[1:]), dtype)


WINO_ISAS = _available_isas()


@pytest.mark.parametrize("isa", WINO_ISAS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@settings(max_examples=60)
@given(case=pointwise_cases(), workers=st.sampled_from([1, 2]))
def test_gemm_matches_oracle(isa, dtype, case, workers):
    pads = _fits(case)
    assume(pads is not None)
    x, w = case["x"].astype(dtype), case["w"].astype(dtype)
    bias = None if case["bias"] is None else case["bias"].astype(dtype)
    ref, bound = conv2d_oracle(x, w, bias, case["stride"], pads, (1, 1),
                               case["groups"], case["padding_mode"])
    with _forced("gemm", isa):
        out = conv2d(x, w, bias, stride=case["stride"],
                     padding=case["padding"], groups=case["groups"],
                     padding_mode=case["padding_mode"], workers=workers)
    assert out.dtype == dtype and out.shape == ref.shape
    assert_conv_close(out, ref, bound, w.shape[1], dtype)


@pytest.mark.parametrize("isa", WINO_ISAS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape,kw", [
    # More input channels than a panel holds (256 float32 with avx512),
    # partial tiles and channel blocks, several items per image.
    (((2, 600, 23, 37), (50, 300, 1, 1)), dict(groups=2)),
    # Outputs of 3x3: several images per item, tiles across images.
    (((9, 64, 3, 3), (40, 64, 1, 1)), {}),
    # Strided and padded: packed from scattered inputs, zeros at padding.
    (((3, 40, 17, 30), (70, 40, 1, 1)), dict(stride=(2, 3), padding=(1, 2))),
    (((2, 33, 5, 9), (33, 33, 1, 1)), dict(padding=2,
                                           padding_mode="circular")),
])
def test_gemm_larger_layers(rng, isa, dtype, shape, kw):
    _check_pointwise(rng, "gemm", isa, dtype, shape, kw)


def _check_pointwise(rng, engine, isa, dtype, shape, kw):
    """A 1x1 layer forced to `engine` against the oracle, at 1 and 2
    threads."""
    xs, ws = shape
    x = rng.standard_normal(xs).astype(dtype)
    w = rng.standard_normal(ws).astype(dtype)
    b = rng.standard_normal(ws[0]).astype(dtype)
    geo = conv2d_geometry(xs[2:], ws[2:], kw.get("stride", 1),
                          kw.get("padding", 0), 1)
    ref, bound = conv2d_oracle(x, w, b, geo.stride, geo.padding, (1, 1),
                               kw.get("groups", 1),
                               kw.get("padding_mode", "zeros"))
    with _forced(engine, isa):
        one = conv2d(x, w, b, **kw, workers=1)
        two = conv2d(x, w, b, **kw, workers=2)
    assert_conv_close(one, ref, bound, ws[1], dtype)
    # One thread computes each output, in channel order: bit for bit.
    assert_identical(one, two)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@settings(max_examples=60)
@given(case=pointwise_cases(few=True), workers=st.sampled_from([1, 2]))
def test_gemv_matches_oracle(dtype, case, workers):
    pads = _fits(case)
    assume(pads is not None)
    geo = conv2d_geometry(case["x"].shape[2:], (1, 1), case["stride"],
                          case["padding"], 1)
    # gemv takes one vector of positions: 16 float32, 8 float64.
    assume(len(case["x"]) * np.prod(geo.out_hw) * np.dtype(dtype).itemsize
           <= 64)
    x, w = case["x"].astype(dtype), case["w"].astype(dtype)
    bias = None if case["bias"] is None else case["bias"].astype(dtype)
    ref, bound = conv2d_oracle(x, w, bias, case["stride"], pads, (1, 1),
                               case["groups"], case["padding_mode"])
    with _forced("gemv", None):
        out = conv2d(x, w, bias, stride=case["stride"],
                     padding=case["padding"], groups=case["groups"],
                     padding_mode=case["padding_mode"], workers=workers)
    assert out.dtype == dtype and out.shape == ref.shape
    assert_conv_close(out, ref, bound, w.shape[1], dtype)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape,kw", [
    # A fully connected layer: one position; 70 channels, eight rows at a
    # time and 6 more, over several items.
    (((1, 1000, 1, 1), (70, 1000, 1, 1)), {}),
    # Several images and positions (8), groups, strided and padded.
    (((2, 66, 2, 3), (40, 33, 1, 1)), dict(groups=2, stride=3, padding=1,
                                          padding_mode="replicate")),
    # Three positions: vectors along 130 input channels (and 2 more), rows
    # four at a time and one more.
    (((3, 130, 1, 1), (9, 130, 1, 1)), {}),
])
def test_gemv_larger_layers(rng, dtype, shape, kw):
    _check_pointwise(rng, "gemv", None, dtype, shape, kw)


def test_gemm_on_other_layers_falls_back_to_cv():
    for engine in ("gemm", "gemv"):
        with _forced(engine, None):
            assert _conv.engine("float32", 8, 8, 1, 1, 2).startswith(engine)
            assert _conv.engine("float32", 8, 8, 1, 1, 4, 3).startswith(engine)
            for layer in [(64, 64, 3, 3, 56), (64, 64, 1, 3, 56)]:
                assert _conv.engine("float32", *layer).startswith("cv-")
    # gemv beyond one vector of positions: gemm.
    with _forced("gemv", None):
        assert _conv.engine("float32", 8, 8, 1, 1, 4).startswith("gemv")
        assert _conv.engine("float32", 8, 8, 1, 1, 5).startswith("gemm-")
        assert _conv.engine("float64", 8, 8, 1, 1, 3).startswith("gemm-")


@pytest.mark.parametrize("isa", WINO_ISAS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@settings(max_examples=60)
@given(case=wino_cases(), workers=st.sampled_from([1, 2]))
def test_wino_matches_oracle(isa, dtype, case, workers):
    pads = _fits(case)
    assume(pads is not None)
    x, w = case["x"].astype(dtype), case["w"].astype(dtype)
    bias = None if case["bias"] is None else case["bias"].astype(dtype)
    ref, _ = conv2d_oracle(x, w, bias, (1, 1), pads, case["dilation"],
                           case["groups"], case["padding_mode"])
    bound = winograd_bound(x, w, bias, pads, case["groups"],
                           case["padding_mode"], case["dilation"])
    with _forced("wino", isa):
        out = conv2d(x, w, bias, padding=case["padding"], groups=case["groups"],
                     dilation=case["dilation"],
                     padding_mode=case["padding_mode"], workers=workers)
    assert out.dtype == dtype and out.shape == ref.shape
    assert_conv_close(out, ref, bound, w.shape[1] + WINO_EXTRA_TERMS, dtype)


@pytest.mark.parametrize("isa", WINO_ISAS)
@pytest.mark.parametrize("shape,groups,mode,dil", [
    # Several items per image (tile rows), channels past a block, odd sizes.
    (((2, 24, 37, 45), (70, 24, 3, 3)), 1, "zeros", (1, 1)),
    # One tile row, many vectors of tiles.
    (((1, 8, 2, 700), (40, 8, 3, 3)), 1, "reflect", (1, 1)),
    # More input channels than one chunk of weights (256 float32 at most).
    (((1, 300, 6, 9), (20, 300, 3, 3)), 1, "circular", (1, 1)),
    # Groups, each its own weights, and replicated edges.
    (((3, 64, 16, 15), (96, 16, 3, 3)), 4, "replicate", (1, 1)),
    # Dilation phases of different sizes, several items.
    (((2, 20, 41, 23), (36, 20, 3, 3)), 1, "zeros", (2, 3)),
    # Small outputs, several images per item (4 on one thread, 2 on two),
    # their tiles end to end; rows of 5 tiles (half-length vectors).
    (((16, 16, 12, 20), (24, 16, 3, 3)), 1, "reflect", (1, 1)),
])
def test_wino_larger_layers(rng, isa, shape, groups, mode, dil):
    xs, ws = shape
    x = rng.standard_normal(xs).astype(np.float32)
    w = rng.standard_normal(ws).astype(np.float32)
    b = rng.standard_normal(ws[0]).astype(np.float32)
    pads = (dil[0], dil[0], dil[1], dil[1])
    ref, _ = conv2d_oracle(x, w, b, (1, 1), pads, dil, groups, mode)
    bound = winograd_bound(x, w, b, pads, groups, mode, dil)
    with _forced("wino", isa):
        one = conv2d(x, w, b, padding=dil, dilation=dil, groups=groups,
                     padding_mode=mode, workers=1)
        two = conv2d(x, w, b, padding=dil, dilation=dil, groups=groups,
                     padding_mode=mode, workers=2)
    assert_conv_close(one, ref, bound, ws[1] + WINO_EXTRA_TERMS, np.float32)
    # Items are rows of tiles (or images), each computed by one thread:
    # bit for bit.
    assert_identical(one, two)


@pytest.mark.parametrize("isa", WINO_ISAS)
@pytest.mark.parametrize("where", ["input", "weight"])
def test_wino_keeps_infinities_and_nans_in_their_windows(rng, isa, where):
    # The transforms mix a tile's 4x4 inputs and a kernel's 9 weights: an
    # infinity there would turn into NaN in outputs whose windows never
    # held it.  Such items (inputs) or layers (weights) are summed directly.
    x = rng.standard_normal((2, 32, 16, 17)).astype(np.float32)
    w = rng.standard_normal((40, 32, 3, 3)).astype(np.float32)
    if where == "input":
        x[1, 5, 7, 9] = np.nan
        x[0, 3, 0, 0] = np.inf
        x[0, 30, 10, 11] = -np.inf
    else:
        w[3, 1, 0, 0] = np.inf
        w[20, 7, 2, 1] = np.nan
    ref, _ = conv2d_oracle(x, w, None, (1, 1), (1, 1, 1, 1), (1, 1), 1, "zeros")
    for engine in ("wino", None):
        with _forced(engine, isa):
            assert _conv.engine("float32", 32, 40, 3, 3, 17, oh=16,
                                n=2).startswith("wino")
            out = conv2d(x, w, padding=1)
        np.testing.assert_array_equal(np.isnan(out), np.isnan(ref))
        np.testing.assert_array_equal(out[np.isinf(ref)], ref[np.isinf(ref)])
        finite = np.isfinite(ref)
        bound = winograd_bound(np.where(np.isfinite(x), x, 0),
                               np.where(np.isfinite(w), w, 0), None,
                               (1, 1, 1, 1), 1, "zeros")
        assert_conv_close(out[finite], ref[finite], bound[finite],
                          32 + WINO_EXTRA_TERMS,
                          np.float32)


@pytest.mark.parametrize("forced", [None, "wino"])
def test_method_direct_keeps_wino_layers_on_direct_sums(rng, forced):
    # A layer the dispatcher gives to wino: method='direct' sums it as the
    # cv engine does, bit for bit, held to the direct sums' bound; 'auto'
    # (Winograd) rounds differently.
    x = rng.standard_normal((2, 32, 24, 20)).astype(np.float32)
    w = rng.standard_normal((40, 32, 3, 3)).astype(np.float32)
    b = rng.standard_normal(40).astype(np.float32)
    assert _conv.engine("float32", 32, 40, 3, 3, 20, oh=24,
                        n=2).startswith("wino")
    with _forced("cv", None):
        cv = conv2d(x, w, b, padding=1)
    with _forced(forced, None):
        auto = conv2d(x, w, b, padding=1)
        direct = conv2d(x, w, b, padding=1, method="direct", workers=2)
    assert_identical(direct, cv)
    assert auto.tobytes() != cv.tobytes()
    ref, bound = conv2d_oracle(x, w, b, (1, 1), (1, 1, 1, 1), (1, 1), 1,
                               "zeros")
    assert_conv_close(direct, ref, bound, 32 * 9, np.float32)


def test_winograd_matrices_compute_the_correlation(rng):
    # The bound's matrices (and so the engine's, whose results meet it) are
    # F(4x4, 3x3): in float64 they give the 4x4 correlation of a 6x6 window.
    d = rng.standard_normal((6, 6))
    g = rng.standard_normal((3, 3))
    u, v = WINO_G @ g @ WINO_G.T, WINO_BT @ d @ WINO_BT.T
    y = WINO_AT @ (u * v) @ WINO_AT.T
    want = np.array([[np.sum(d[i:i + 3, j:j + 3] * g) for j in range(4)]
                     for i in range(4)])
    np.testing.assert_allclose(y, want, rtol=0, atol=1e-12 * np.abs(want).max())


def test_wino_on_other_layers_falls_back_to_cv():
    with _forced("wino", None):
        assert _conv.engine("float32", 64, 64, 3, 3, 56).startswith("wino-")
        assert _conv.engine("float32", 64, 64, 3, 3, 56, 1, 2).startswith("wino-")
        for layer in [(64, 64, 5, 5, 56), (64, 64, 3, 3, 56, 2),
                      (64, 64, 3, 3, 56, 1, 1, 1, 2), (64, 64, 1, 3, 56)]:
            assert _conv.engine("float32", *layer).startswith("cv-")


@pytest.mark.parametrize("engine,isa", ENGINES, ids=ENGINE_IDS)
@pytest.mark.parametrize("shape,kw", [
    # Several work items and stage strips per image; channels past a block.
    (((2, 24, 37, 45), (70, 24, 3, 3)), dict(padding=1)),
    # Rows wider than a stage strip: one row per strip, many tiles.
    (((1, 8, 3, 700), (40, 8, 3, 3)), dict(padding=(1, 2))),
    # Outputs too small for one image per item: several images end to end
    # (3x3 with halo rows between them, and 1x1).
    (((5, 24, 6, 7), (70, 24, 3, 3)), dict(padding=1)),
    (((7, 40, 4, 5), (40, 40, 1, 1)), dict(padding=0)),
    # Stride phases in both directions, dilated, reflect-padded.
    (((1, 6, 31, 29), (33, 6, 4, 3)), dict(stride=(2, 3), padding=2,
                                           dilation=(2, 1),
                                           padding_mode="reflect")),
])
def test_engine_larger_layers(rng, engine, isa, shape, kw):
    ws = shape[1]
    x, w, b = _layer(rng, shape)
    ref, bound = _oracle(x, w, b, kw)
    with _forced(engine, isa):
        one = conv2d(x, w, b, **kw, workers=1)
        two = conv2d(x, w, b, **kw, workers=2)
    assert_conv_close(one, ref, bound, np.prod(ws[1:]), np.float32)
    # One thread computes each output, in tap order: bit for bit.
    assert_identical(one, two)


def _layer(rng, shape, dtype=np.float32):
    """Random input, weights and bias for shape = (x's shape, w's)."""
    xs, ws = shape
    return (rng.standard_normal(xs).astype(dtype),
            rng.standard_normal(ws).astype(dtype),
            rng.standard_normal(ws[0]).astype(dtype))


def _oracle(x, w, b, kw):
    """The oracle's (sums, bound) for conv2d(x, w, b, **kw)."""
    geo = conv2d_geometry(x.shape[2:], w.shape[2:], kw.get("stride", 1),
                          kw.get("padding", 0), kw.get("dilation", 1))
    return conv2d_oracle(x, w, b, geo.stride, geo.padding, geo.dilation,
                         kw.get("groups", 1), kw.get("padding_mode", "zeros"))


def _under(setter, values, engine, isa, x, w, b, kw, workers=2):
    """conv2d(x, w, b, **kw) on a forced engine, once per value of a
    _conv._set_* hook."""
    outs = []
    for value in values:
        with _hook(setter, value), _forced(engine, isa):
            outs.append(conv2d(x, w, b, **kw, workers=workers))
    return outs


def _wino_oracle(x, w, b, kw):
    """The oracle's sums and the Winograd error bound for a unit-stride
    3x3 conv2d(x, w, b, **kw)."""
    geo = conv2d_geometry(x.shape[2:], w.shape[2:], 1, kw.get("padding", 0),
                          kw.get("dilation", 1))
    groups, mode = kw.get("groups", 1), kw.get("padding_mode", "zeros")
    ref, _ = conv2d_oracle(x, w, b, (1, 1), geo.padding, geo.dilation, groups,
                           mode)
    return ref, winograd_bound(x, w, b, geo.padding, groups, mode,
                               geo.dilation)


def _exact_fill(fill):
    # 0.0: the cv engine runs at every flat position (pitch mode); 2.0: at
    # the list of output positions (exact mode).
    return _hook(_conv._set_exact_fill, fill)


@pytest.mark.parametrize("isa", WINO_ISAS)
@pytest.mark.parametrize("shape,kw", [
    # 7x7 outputs, several images per item: a third of the flat positions
    # are halo rows or pitch columns.
    (((6, 40, 7, 7), (72, 40, 3, 3)), dict(padding=1)),
    # Wide kernels, narrow outputs, strided and dilated.
    (((2, 24, 9, 30), (40, 24, 3, 5)), dict(stride=(1, 2), dilation=(2, 3),
                                           padding=(1, 2))),
    # Dense, one image per item: nearly every flat position is an output.
    (((1, 16, 20, 33), (33, 16, 3, 3)), dict(padding=1)),
])
def test_cv_exact_positions_match_flat_ones(rng, isa, shape, kw):
    # Only the positions computed differ, never a sum: bit for bit.
    ws = shape[1]
    x, w, b = _layer(rng, shape)
    outs = []
    for fill in (0.0, 2.0):
        with _exact_fill(fill), _forced("cv", isa):
            outs.append(conv2d(x, w, b, **kw, workers=2))
    assert_identical(outs[0], outs[1])
    ref, bound = _oracle(x, w, b, kw)
    assert_conv_close(outs[1], ref, bound, np.prod(ws[1:]), np.float32)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("isa", _available_isas())
@pytest.mark.parametrize("shape,kw", [
    # 7x7 outputs: two full channel blocks and a part one, one item each
    # (the late-layer case the deferral is for).
    (((1, 40, 7, 7), (72, 40, 3, 3)), dict(padding=1)),
    # Several images per item, two groups, strided.
    (((3, 16, 12, 12), (48, 8, 3, 3)), dict(stride=2, padding=1, groups=2)),
    # Several chunks of positions per block; several row blocks per image
    # (a block packed again by every item that uses it).
    (((2, 8, 40, 40), (40, 8, 3, 3)), dict(padding=1)),
])
def test_cv_items_packing_their_blocks_match_the_prepacked_weights(
        rng, dtype, isa, shape, kw):
    # Where each item packs its own channel blocks, the kernel sums the
    # same packed weights in the same order: bit for bit.
    ws = shape[1]
    x, w, b = _layer(rng, shape, dtype)
    outs = _under(_conv._set_defer, (False, True), "cv", isa, x, w, b, kw)
    assert_identical(outs[0], outs[1])
    ref, bound = _oracle(x, w, b, kw)
    assert_conv_close(outs[1], ref, bound, np.prod(ws[1:]), dtype)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("isa", _available_isas())
@pytest.mark.parametrize("n", [1, 2])
def test_cv_last_tile_cut_to_fit(rng, dtype, isa, n):
    # One output row of every width up to 13 (n of them): every count of
    # positions left for the last tile (12 or 6 a tile), which exact mode
    # runs as a third, two thirds or a whole tile.  The same sums as whole
    # tiles over the flat positions (pitch mode): bit for bit.
    for ow in range(1, 14):
        x, w, b = _layer(rng, ((n, 8, 3, ow + 2), (40, 8, 3, 3)), dtype)
        outs = []
        for fill in (0.0, 2.0):
            with _exact_fill(fill), _forced("cv", isa):
                outs.append(conv2d(x, w, b, workers=1))
        assert_identical(outs[1], outs[0], err_msg=f"{ow=}")
        ref, bound = _oracle(x, w, b, {})
        assert_conv_close(outs[1], ref, bound, 72, dtype)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("isa", _available_isas())
@pytest.mark.parametrize("shape,kw", [
    # Several images an item (small outputs, three channel blocks): the
    # offsets span the images' planes.
    (((3, 40, 5, 7), (72, 40, 1, 1)), dict()),
    (((2, 64, 6, 6), (96, 32, 1, 1)), dict(groups=2)),
    # One image of 990 positions (the front makes a 1x1 layer's planes
    # rows): several chunks of positions.
    (((1, 48, 33, 30), (40, 48, 1, 1)), dict()),
    # Strided: the front takes the strided pixels, then in place too.
    (((3, 40, 9, 9), (72, 40, 1, 1)), dict(stride=2)),
    # Padded: gathered, as before.
    (((3, 40, 5, 7), (72, 40, 1, 1)), dict(padding=1)),
])
def test_cv_reads_1x1_inputs_in_place(rng, dtype, isa, shape, kw):
    ws = shape[1]
    x, w, b = _layer(rng, shape, dtype)
    with _forced("cv", isa):
        one = conv2d(x, w, b, **kw, workers=1)
        two = conv2d(x, w, b, **kw, workers=2)
    assert_identical(one, two)
    ref, bound = _oracle(x, w, b, kw)
    assert_conv_close(one, ref, bound, ws[1], dtype)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape,kw", [
    # Several images an item, three channel blocks.
    (((4, 24, 7, 7), (96, 24, 3, 3)), dict(padding=1)),
    # Two groups, stride 2, reflected edges; two row blocks of 7 output
    # rows (4 and 3) per group, each split by channels.
    (((1, 64, 14, 10), (80, 32, 3, 3)),
     dict(stride=2, padding=1, groups=2, padding_mode="reflect")),
    # Dilated, circular edges, two images.
    (((2, 8, 9, 9), (64, 8, 3, 3)),
     dict(padding=2, dilation=2, padding_mode="circular")),
])
def test_cv_items_sharing_a_gather_match_their_own_gathers(rng, dtype, shape,
                                                          kw):
    # Items that split an input's channel blocks read one gathering of its
    # phase planes: the same planes, bit for bit.
    ws = shape[1]
    x, w, b = _layer(rng, shape, dtype)
    outs = _under(_conv._set_share_bytes, (0.0, np.inf), "cv", None, x, w, b,
                  kw)
    assert_identical(outs[1], outs[0])
    ref, bound = _oracle(x, w, b, kw)
    assert_conv_close(outs[1], ref, bound, np.prod(ws[1:]), dtype)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("isa", WINO_ISAS)
@pytest.mark.parametrize("shape,kw", [
    # Three images end to end; 70 input channels, two chunks of weights
    # (64 and 6); 50 output channels, a full and a part block.
    (((3, 70, 9, 9), (50, 70, 3, 3)), dict(padding=1)),
    # 144 tiles: two blocks of images (8 and 1); reflected edges.
    (((9, 24, 16, 16), (40, 24, 3, 3)),
     dict(padding=1, padding_mode="reflect")),
    # Two groups, rows and columns padded differently.
    (((2, 32, 10, 12), (64, 16, 3, 3)), dict(padding=(2, 0), groups=2)),
])
@pytest.mark.parametrize("ranges", [1, 3])
def test_wino_by_channel_blocks_matches_the_tile_plan(rng, dtype, isa, shape,
                                                      kw, ranges):
    # By channel blocks, each item transforms its blocks' weights chunk by
    # chunk of input channels and sums every term over the chunks in turn
    # (the tile plan: over all input channels at once), from inputs
    # transformed once for all its items, or by each item: the same sums
    # in the same order, bit for bit.
    ws = shape[1]
    x, w, b = _layer(rng, shape, dtype)
    with _forced("wino", isa), _hook(_conv._set_defer, False):
        tiles = conv2d(x, w, b, **kw, workers=2)
    outs = []
    for share in (0.0, np.inf):
        with _forced("wino", isa), _hook(_conv._set_share_bytes, share):
            with _hook(_conv._set_wino_ranges, ranges):
                outs.append(conv2d(x, w, b, **kw, workers=2))
        assert_identical(outs[-1], tiles, err_msg=f"share={share}")
    ref, bound = _wino_oracle(x, w, b, kw)
    assert_conv_close(outs[0], ref, bound, ws[1] + WINO_EXTRA_TERMS, dtype)


@pytest.mark.parametrize("isa", WINO_ISAS)
@pytest.mark.parametrize("shape,kw", [
    # One image, one item: all the blocks, weights transformed by it.
    (((1, 70, 12, 12), (50, 70, 3, 3)), dict(padding=1)),
    # Dilation phases, several items each transforming every block.
    (((2, 20, 29, 23), (36, 20, 3, 3)), dict(padding=(2, 3), dilation=(2, 3))),
])
def test_wino_items_transforming_their_weights_match_the_prepacked_ones(
        rng, isa, shape, kw):
    ws = shape[1]
    x, w, b = _layer(rng, shape)
    outs = _under(_conv._set_defer, (False, True), "wino", isa, x, w, b, kw)
    assert_identical(outs[1], outs[0])
    ref, bound = _wino_oracle(x, w, b, kw)
    assert_conv_close(outs[1], ref, bound, ws[1] + WINO_EXTRA_TERMS,
                      np.float32)


def _streamed(n_bytes):
    return _hook(_conv._set_stream_bytes, n_bytes)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("engine,isa",
                         [("cv", isa) for isa in _available_isas()]
                         + [("wino", isa) for isa in WINO_ISAS])
@pytest.mark.parametrize("shape,kw", [
    # Rows of 32 outputs (whole lines for both types), chunks of positions
    # that end mid-row, 40 channels: a full and a part block.
    (((2, 3, 64, 64), (40, 3, 7, 7)), dict(stride=2, padding=3)),
    (((1, 8, 30, 32), (40, 8, 3, 3)), dict(padding=1)),
    # Rows of 16, several images per item.
    (((3, 4, 9, 16), (16, 4, 3, 3)), dict(padding=1)),
])
def test_streamed_output_is_the_cached_one(rng, dtype, engine, isa, shape, kw):
    # Large outputs are written with non-temporal stores, whole lines
    # only: the same bits wherever the output starts in a line, and
    # nothing written outside it.
    xs, ws = shape
    x = rng.standard_normal(xs).astype(dtype)
    w = rng.standard_normal(ws).astype(dtype)
    b = rng.standard_normal(ws[0]).astype(dtype)
    # The cv engine's stage rows: of the pitch (pitch mode) or of ow
    # (exact mode).
    for fill in (0.0, 2.0) if engine == "cv" else (1.0,):
        with _forced(engine, isa), _exact_fill(fill):
            with _streamed(np.inf):
                cached = conv2d(x, w, b, **kw, workers=2)
            with _streamed(0):
                for start in range(64 // x.itemsize):
                    buf = np.full(cached.size + 64 // x.itemsize, np.nan,
                                  dtype)
                    out = buf[start:start + cached.size].reshape(cached.shape)
                    conv2d(x, w, b, **kw, workers=2, out=out)
                    assert_identical(out, cached, err_msg=f"{fill=} {start=}")
                    assert np.isnan(buf[:start]).all()
                    assert np.isnan(buf[start + cached.size:]).all()
    geo = conv2d_geometry(xs[2:], ws[2:], kw.get("stride", 1), kw["padding"],
                          kw.get("dilation", 1))
    ref, bound = conv2d_oracle(x, w, b, geo.stride, geo.padding, geo.dilation,
                               1, "zeros")
    n_terms = np.prod(ws[1:])
    if engine == "wino" and ws[2:] == (3, 3) and geo.stride == (1, 1):
        # (Forced on the 7x7 layer, the wino engine falls back to cv.)
        bound = winograd_bound(x, w, b, geo.padding, 1, "zeros")
        n_terms = ws[1] + WINO_EXTRA_TERMS
    assert_conv_close(cached, ref, bound, n_terms, dtype)


@pytest.mark.parametrize("layer,expected", [
    # (dtype, C_in, C_out, kH, kW, W_out, stride_w, dilation_w, groups)
    (("float32", 64, 64, 3, 3, 56, 1, 1, 1), "wino"),    # resnet 3x3
    (("float64", 64, 64, 3, 3, 56, 1, 1, 1), "cv"),      # float64: direct
    (("float32", 128, 128, 3, 3, 28, 1, 1, 4), "wino"),  # grouped
    (("float32", 256, 256, 3, 3, 28, 1, 1, 1), "wino"),  # 4 MiB of weights
    (("float32", 512, 512, 3, 3, 28, 1, 1, 1), "wino"),  # by blocks
    (("float32", 512, 512, 3, 3, 28, 1, 2, 1), "cv"),    # dilated: cv
    (("float32", 64, 64, 3, 3, 10, 1, 1, 1), "cv"),      # 10x10 outputs
    (("float32", 8, 64, 3, 3, 56, 1, 1, 1), "cv"),       # few input channels
    (("float32", 64, 64, 3, 3, 64, 1, 2, 1), "wino"),    # dilated
    (("float32", 64, 64, 3, 3, 22, 1, 2, 1), "cv"),      # 11x11 phases
    (("float32", 256, 512, 1, 1, 28, 1, 1, 1), "gemm"),  # pointwise
    (("float64", 1024, 256, 1, 1, 14, 1, 1, 1), "gemm"),
    (("float32", 256, 512, 1, 1, 28, 2, 1, 1), "gemm"),  # strided 1x1
    (("float32", 128, 256, 1, 1, 28, 1, 1, 2), "gemm"),  # grouped 1x1
    (("float32", 16, 64, 1, 1, 32, 1, 1, 1), "flat"),    # few inputs
    (("float32", 256, 24, 1, 1, 28, 1, 1, 1), "flat"),   # few outputs
    (("float32", 3, 64, 7, 7, 112, 2, 1, 1), "cv"),      # resnet stem
    (("float32", 128, 128, 3, 3, 56, 1, 1, 128), "flat"),  # depthwise
    (("float32", 1, 32, 3, 3, 28, 1, 1, 1), "flat"),     # 9 taps
    (("float32", 64, 4, 3, 3, 56, 1, 1, 1), "flat"),     # few channels
    (("float32", 64, 64, 3, 3, 8, 1, 100, 1), "rows"),   # rows mostly padding
    (("float32", 64, 64, 3, 3, 8, 4, 1, 1), "cv"),       # stride 4 > kernel
])
def test_dispatcher_choices(layer, expected):
    dtype, c_in, c_out, kh, kw, ow, sw, dw, groups = layer
    with _forced(None, None):
        got = _conv.engine(dtype, c_in, c_out, kh, kw, ow, sw, dw, groups)
    assert got.split("-")[0] == expected
    if expected in ("cv", "wino", "gemm"):
        assert got.split("-")[1] == _available_isas()[0]


def test_dispatcher_leaves_small_batches_of_wino_layers_to_cv():
    # One channel block (the tile plan): too few outputs to repay
    # transforming the weights below 512, so 28x28 needs a batch of at
    # least one image, 16x16 of two, 14x14 of three.  Two blocks or more
    # on up to 128 tiles in all go by channel blocks, from 16 tiles.
    ob = _conv.cv_kernels()["float32"][2]
    layers = [  # input and output channels, output size, batch, engine
        (32, ob, 28, 1, "wino"), (32, ob, 16, 1, "cv"),
        (32, ob, 16, 2, "wino"), (32, ob, 14, 2, "cv"),
        (32, ob, 14, 3, "wino"),
        (64, 2 * ob, 16, 1, "wino"), (64, 2 * ob, 14, 1, "wino"),
        (64, 2 * ob, 12, 1, "cv"), (64, 2 * ob, 12, 2, "wino"),
        (64, 2 * ob, 8, 3, "cv"), (64, 2 * ob, 8, 4, "wino"),
    ]
    with _forced(None, None):
        for c_in, c_out, size, n, expected in layers:
            got = _conv.engine("float32", c_in, c_out, 3, 3, size, n=n)
            assert got.split("-")[0] == expected, (c_in, c_out, size, n)


def test_dispatcher_gives_large_wino_layers_by_blocks_enough_tiles():
    # From 128 x 128 channels the engine goes by channel blocks, blocks of
    # images in an item: 7x7 outputs from four images (16 tiles of 4x4),
    # 14x14 from one -- while their transformed inputs fit
    # WINO_SHARE_BYTES; smaller layers keep the tile plan's rule.
    with _forced(None, None):
        assert _conv.engine("float32", 256, 256, 3, 3, 7, n=8).startswith(
            "wino")
        assert _conv.engine("float32", 128, 128, 3, 3, 16).startswith("wino")
        assert _conv.engine("float32", 128, 128, 3, 3, 12).startswith("cv")
        assert _conv.engine("float32", 256, 256, 3, 3, 7, n=2).startswith("cv")
        for n, expected in ((1, "cv"), (2, "cv"), (4, "wino"), (8, "wino"),
                            (64, "wino")):
            got = _conv.engine("float32", 512, 512, 3, 3, 7, n=n)
            assert got.startswith(expected), (n, got)
        assert _conv.engine("float32", 512, 512, 3, 3, 14).startswith("wino")
        assert _conv.engine("float64", 512, 512, 3, 3, 7, n=8).startswith("cv")
        assert _conv.engine("float32", 512, 512, 3, 3, 7, n=512).startswith(
            "cv")
        with _hook(_conv._set_share_bytes, 0.0):
            got = _conv.engine("float32", 512, 512, 3, 3, 7, n=8)
        assert got.startswith("cv")


def test_dispatcher_gives_1x1_layers_of_few_positions_to_gemv():
    # At most half a gemm tile of positions, the batch included: 16
    # float32 or 8 float64 ones with AVX-512.
    ob = {dtype: tile[2] for dtype, tile in _conv.cv_kernels().items()}
    with _forced(None, None):
        for dtype, half in ((d, ob[d] // 2) for d in ob):
            assert _conv.engine(dtype, 4096, 1000, 1, 1, 1) == "gemv"
            assert _conv.engine(dtype, 512, 1000, 1, 1, 1, n=half) == "gemv"
            # (Past that, one position an image: gemm's tiles, of one
            # image's positions, would be mostly padding.)
            got = _conv.engine(dtype, 512, 1000, 1, 1, 1, n=half + 1)
            assert got.startswith("cv-")
            assert _conv.engine(dtype, 64, 64, 1, 1, 2, n=half // 4) == "gemv"


@pytest.mark.parametrize("isa", _available_isas())
def test_dispatcher_gives_1x1_layers_gemm_where_its_tiles_fill(isa):
    # gemm's tiles hold ob positions of one image; over 1/16 of them
    # padding (cv tiles of 12 positions), or over half (tiles of 6), cv.
    with _forced(None, isa):
        tiles = _conv.cv_kernels()
        for dtype, (_, nr, k) in tiles.items():
            assert _conv.engine(dtype, 256, 256, 1, 1, k, oh=4).startswith(
                "gemm-")
            assert _conv.engine(dtype, 256, 256, 1, 1, 16 * k + 1, oh=1,
                                n=4).startswith("gemm-")
            # One position an image, a tile of k positions: cv.
            assert _conv.engine(dtype, 256, 256, 1, 1, 1,
                                n=k).startswith("cv-")
            wide = nr >= 12
            got = _conv.engine(dtype, 256, 256, 1, 1, 2 * k + 1, oh=1, n=4)
            assert got.startswith("cv-" if wide else "gemm-")
            got = _conv.engine(dtype, 256, 256, 1, 1, k // 2 - 1, oh=1, n=4)
            assert got.startswith("cv-")


def test_dispatcher_avoids_tall_dilated_windows():
    # A kernel row span far beyond the output rows would make the phase
    # planes mostly halo rows: the rows engine's ring handles it.
    with _forced(None, None):
        got = _conv.engine("float32", 64, 64, 3, 3, 56, 1, 1, 1, dh=200)
    assert got == "rows"


def test_hooks_restore_and_reject_unknown_names():
    with _forced("cv", "baseline"):
        assert _conv.engine("float32", 1, 1, 1, 1, 1) == "cv-baseline"
    assert _conv.engine("float32", 1, 1, 3, 3, 10) == "flat"
    with pytest.raises(KeyError):
        _conv._set_engine("fast")
    with pytest.raises(KeyError):
        _conv._set_isa_cap("avx1024")
    with pytest.raises(KeyError):
        _conv._set_defer("sometimes")
    with _hook(_conv._set_defer, True):
        assert _conv._set_defer(False) is True
        assert _conv._set_defer(True) is False
    assert _conv._set_defer(None) is None


def test_cv_kernels_report_the_dispatched_tiles():
    # The tile is 2 vectors of channels: 2 * bytes / itemsize channels.
    width = {"avx512": 64, "avx2": 32, "baseline": 16}
    for cap in _available_isas():
        with _forced(None, cap):
            tiles = _conv.cv_kernels()
        for dtype, (isa, nr, ob) in tiles.items():
            assert isa == cap
            assert ob == 2 * width[isa] // np.dtype(dtype).itemsize
            assert nr in (6, 12)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("k,kw", [
    ((3, 3), dict(padding=1)),                      # the unrolled case
    ((5, 3), dict(padding=(2, 1))),
    ((3, 3), dict(padding=2, dilation=(1, 2))),
    ((3, 3), dict(padding=1, stride=(1, 2))),       # column phases
    ((3, 3), dict(padding=1, stride=(2, 1))),       # row phases: no grid
    ((3, 3), dict(padding=(2, 1), dilation=(2, 1))),
    ((1, 3), dict(padding=(0, 1))),                 # one tap row
    ((7, 7), dict(padding=3, padding_mode="reflect")),
])
def test_depthwise_flat_sums_in_tap_order(rng, dtype, k, kw):
    # The flat engine's one-channel kernels (taps on a grid of rows loaded
    # once for several output rows, or any taps) add each output's
    # products in tap order, as the rows engine does: bit for bit.
    x = rng.standard_normal((2, 6, 23, 37)).astype(dtype)
    w = rng.standard_normal((6, 1, *k)).astype(dtype)
    b = rng.standard_normal(6).astype(dtype)
    geo = conv2d_geometry(x.shape[2:], k, kw.get("stride", 1), kw["padding"],
                          kw.get("dilation", 1))
    ref, bound = conv2d_oracle(x, w, b, geo.stride, geo.padding,
                               geo.dilation, 6, kw.get("padding_mode", "zeros"))
    with _forced("flat", None):
        flat = conv2d(x, w, b, groups=6, **kw, workers=2)
    with _forced("rows", None):
        rows = conv2d(x, w, b, groups=6, **kw, workers=2)
    assert_conv_close(flat, ref, bound, k[0] * k[1], dtype)
    assert_identical(flat, rows)
