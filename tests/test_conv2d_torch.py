"""pyconvx.conv2d against torch (torch.nn.functional.conv2d, and nn.Conv2d for
the padding modes), on hypothesis-generated cases.  Skipped without torch."""

import warnings

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from _conv_oracle import conv2d_oracle
from pyconvx import conv2d

torch = pytest.importorskip("torch")
F = torch.nn.functional

TORCH_MODES = ["zeros", "reflect", "replicate", "circular"]


def _torch_conv2d(x, w, b, stride, padding, dilation, groups, mode):
    tx, tw = torch.from_numpy(x), torch.from_numpy(w)
    tb = None if b is None else torch.from_numpy(b)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)   # 'same' with even kernels
        if mode == "zeros":
            return F.conv2d(tx, tw, tb, stride, padding, dilation, groups).numpy()
        layer = torch.nn.Conv2d(w.shape[1] * groups, w.shape[0], w.shape[2:],
                                stride, padding, dilation, groups, b is not None,
                                mode, dtype=tw.dtype)
        with torch.no_grad():
            layer.weight.copy_(tw)
            if b is not None:
                layer.bias.copy_(tb)
            return layer(tx).numpy()


@st.composite
def cases(draw):
    groups = draw(st.integers(1, 3))
    cg_in, cg_out = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    n = draw(st.integers(1, 2))
    h, w = draw(st.integers(1, 12)), draw(st.integers(1, 40))
    kh, kw = draw(st.integers(1, 5)), draw(st.integers(1, 5))
    stride = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    dilation = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    padding = draw(st.one_of(st.integers(0, 3),
                             st.tuples(st.integers(0, 3), st.integers(0, 3)),
                             st.sampled_from(["same", "valid"])))
    if padding == "same":
        stride = (1, 1)
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    x = rng.standard_normal((n, groups * cg_in, h, w))
    wt = rng.standard_normal((groups * cg_out, cg_in, kh, kw))
    b = rng.standard_normal(groups * cg_out) if draw(st.booleans()) else None
    return x, wt, b, stride, padding, dilation, groups, draw(st.sampled_from(TORCH_MODES))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@given(case=cases())
def test_matches_torch(dtype, case):
    x, w, b, stride, padding, dilation, groups, mode = case
    x, w = x.astype(dtype), w.astype(dtype)
    b = None if b is None else b.astype(dtype)
    try:
        theirs = _torch_conv2d(x, w, b, stride, padding, dilation, groups, mode)
    except RuntimeError:
        theirs = None
    try:
        ours = conv2d(x, w, b, stride, padding, dilation, groups, padding_mode=mode)
    except ValueError:
        ours = None
    # Both refuse the same cases (torch: RuntimeError, pyconvx: ValueError).
    assert (ours is None) == (theirs is None)
    if ours is None:
        return
    assert ours.shape == theirs.shape and ours.dtype == theirs.dtype
    from pyconvx._shapes import conv2d_geometry
    pads = conv2d_geometry(x.shape[2:], w.shape[2:], stride, padding, dilation).padding
    _, bound = conv2d_oracle(x, w, b, stride, pads, dilation, groups, mode)
    eps = np.finfo(dtype).eps
    tol = 2 * (np.prod(w.shape[1:]) + 2) * eps * bound
    assert np.all(np.abs(ours.astype(np.float64) - theirs) <= tol)


def test_tutorial_cnn_against_torch():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((1, 1, 28, 28)).astype(np.float32)
    w = rng.standard_normal((5, 1, 5, 5)).astype(np.float32)
    b = rng.standard_normal(5).astype(np.float32)
    ours = conv2d(x, w, b)
    theirs = F.conv2d(*map(torch.from_numpy, (x, w, b))).numpy()
    assert ours.shape == theirs.shape == (1, 5, 24, 24)
    np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-5)
