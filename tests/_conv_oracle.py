"""conv2d oracle from scipy.signal.correlate2d, straight from the definition:
pad with numpy.pad in the requested mode, insert zeros into the kernel for
dilation, correlate each input channel of the group ('valid'), sum, take
every stride-th output, add the bias.  Computed in float64 (or longdouble)."""

import numpy as np
from scipy import signal

NP_PAD_MODES = {"zeros": "constant", "reflect": "reflect", "replicate": "edge",
                "circular": "wrap", "symmetric": "symmetric"}


def dilate(kernel, dh, dw):
    kh, kw = kernel.shape
    out = np.zeros(((kh - 1) * dh + 1, (kw - 1) * dw + 1), dtype=kernel.dtype)
    out[::dh, ::dw] = kernel
    return out


def conv2d_oracle(x, w, bias, stride, pads, dilation, groups, padding_mode,
                  dtype=np.float64):
    """x (N, C, H, W), w (Co, C/g, kh, kw); pads (top, bottom, left, right).

    Returns (out, bound) where bound is the same sum over |x|*|w| (for
    error bounds)."""
    x = np.asarray(x, dtype=dtype)
    w = np.asarray(w, dtype=dtype)
    n, c, h, wd = x.shape
    co, cg, kh, kw = w.shape
    xp = np.pad(x, ((0, 0), (0, 0), (pads[0], pads[1]), (pads[2], pads[3])),
                mode=NP_PAD_MODES[padding_mode])
    oh = (xp.shape[2] - (kh - 1) * dilation[0] - 1) // stride[0] + 1
    ow = (xp.shape[3] - (kw - 1) * dilation[1] - 1) // stride[1] + 1
    out = np.zeros((n, co, oh, ow), dtype=dtype)
    bound = np.zeros_like(out)
    per_group = co // groups
    for i in range(n):
        for o in range(co):
            g = o // per_group
            for j in range(cg):
                img = xp[i, g * cg + j]
                k = dilate(w[o, j], *dilation)
                full = signal.correlate2d(img, k, "valid")
                absf = signal.correlate2d(np.abs(img), np.abs(k), "valid")
                out[i, o] += full[::stride[0], ::stride[1]][:oh, :ow]
                bound[i, o] += absf[::stride[0], ::stride[1]][:oh, :ow]
            if bias is not None:
                out[i, o] += bias[o]
                bound[i, o] += abs(bias[o])
    return out, bound


def assert_conv_close(ours, ref, bound, n_terms, dtype):
    """|ours - ref| <= (n_terms + 2) * eps(dtype) * bound: the worst-case
    error of a sum of n_terms products (plus the bias and a final rounding)."""
    eps = np.finfo(dtype).eps
    tol = (n_terms + 2) * eps * bound + np.finfo(dtype).tiny
    err = np.abs(ours.astype(np.float64) - ref)
    finite = np.isfinite(ref)
    assert np.array_equal(np.isnan(ours), np.isnan(ref))
    assert np.all(err[finite] <= tol[finite]), (err - tol).max()


def winograd_bound(x, w, bias, pads, groups, padding_mode, dilation=(1, 1)):
    """Error scale of Winograd F(2x2, 3x3) (unit stride).

    Per output: 9 * (sum over the group's input channels c of
    sum|w[o, c]| * (sum of |x_c| over the 4x4 padded window of the output's
    2x2 tile) + |bias[o]|).  Winograd mixes every input of a tile's window
    with every tap (the cross terms cancel only in exact arithmetic), and
    each of an output's 9 transformed products is bounded by the window sum
    times the kernel sum, so its rounding errors scale with this and not
    with the direct sum of |x|*|w|.  With it, assert_conv_close's
    n_terms = C_in/groups + 6 covers the channel sums, the input transform's
    two levels of additions, the weights' rounding and the output
    transform's four levels.  Dilated, the tiles are those of each phase
    (outputs dh*i + p, dw*j + q, reading padded inputs dh*r + p, dw*c + q).
    """
    dh, dw = dilation
    ax = np.abs(np.asarray(x, dtype=np.float64))
    xp = np.pad(ax, ((0, 0), (0, 0), (pads[0], pads[1]), (pads[2], pads[3])),
                mode=NP_PAD_MODES[padding_mode])
    n, c, hp, wp = xp.shape
    oh, ow = hp - 2 * dh, wp - 2 * dw
    # An odd phase size reads one phase row or column past the padding (for
    # an output that is dropped): no larger than the channel's largest |x|.
    xe = np.zeros((n, c, hp + 2 * dh, wp + 2 * dw))
    if ax.size:
        xe[:] = ax.max(axis=(2, 3), keepdims=True)
    xe[:, :, :hp, :wp] = xp
    win = np.zeros((n, c, oh, ow))
    for p in range(dh):
        for q in range(dw):
            ohp, owq = len(range(p, oh, dh)), len(range(q, ow, dw))
            if ohp == 0 or owq == 0:
                continue
            nty, ntx = (ohp + 1) // 2, (owq + 1) // 2
            sub = xe[:, :, p::dh, q::dw][:, :, :2 * nty + 2, :2 * ntx + 2]
            s = np.lib.stride_tricks.sliding_window_view(sub, (4, 4), axis=(2, 3))
            s = s[:, :, ::2, ::2].sum(axis=(-2, -1))[:, :, :nty, :ntx]
            win[:, :, p::dh, q::dw] = s.repeat(2, axis=2).repeat(2, axis=3)[
                :, :, :ohp, :owq]
    aw = np.abs(np.asarray(w, dtype=np.float64)).sum(axis=(2, 3))
    co, cg = aw.shape
    per_group = co // groups
    bound = np.zeros((n, co, oh, ow))
    for g in range(groups):
        o = slice(g * per_group, (g + 1) * per_group)
        bound[:, o] = np.einsum("oc,nchw->nohw", aw[o],
                                win[:, g * cg:(g + 1) * cg])
    if bias is not None:
        bound += np.abs(np.asarray(bias, dtype=np.float64))[None, :, None, None]
    return 9 * bound
