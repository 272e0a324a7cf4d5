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


# Winograd F(4x4, 3x3): Y = A^T [(G g G^T) * (B^T d B)] A per 4x4 tile of
# outputs, d its 6x6 input window, g the 3x3 kernel (Lavin and Gray, 2016),
# with the interpolation points 0, 1, -1, 1/2, -2 and infinity (Barabasz et
# al., 2020): column i of A^T holds the powers of point p_i, row i of G is
# (1, p_i, p_i^2) / prod_{j != i} (p_i - p_j), row i of B^T the
# coefficients of prod_{j != i} (x - p_j).
WINO_BT = np.array([[1, -1.5, -2, 1.5, 1, 0], [0, -1, 0.5, 2.5, 1, 0],
                    [0, 1, -2.5, 0.5, 1, 0], [0, -2, -1, 2, 1, 0],
                    [0, 0.5, -1, -0.5, 1, 0], [0, 1, -1.5, -2, 1.5, 1]])
WINO_G = np.array([[1, 0, 0], [1 / 3, 1 / 3, 1 / 3], [-1 / 3, 1 / 3, -1 / 3],
                   [-16 / 15, -8 / 15, -4 / 15], [1 / 15, -2 / 15, 4 / 15],
                   [0, 0, 1]])
WINO_AT = np.array([[1, 1, 1, 1, 1, 0], [0, 1, -1, 0.5, -2, 0],
                    [0, 1, 1, 0.25, 4, 0], [0, 1, -1, 0.125, -8, 1]])
# assert_conv_close's n_terms beyond the C_in/groups products of each
# transformed term: the input transform's two rounds of up to four
# additions, the weights' rounding, the output transform's two rounds of
# up to five, and the bias.
WINO_EXTRA_TERMS = 18


def winograd_bound(x, w, bias, pads, groups, padding_mode, dilation=(1, 1)):
    """Error scale of Winograd F(4x4, 3x3) (unit stride): the algorithm run
    on |x| and |w| with |A|, |B| and |G|.

    Per output: sum over the group's input channels c of
    |A^T| [(|G| |w[o, c]| |G^T|) * (|B^T| |d_c| |B|)] |A| at the output's
    place in its tile, d_c the tile's 6x6 padded window of channel c, plus
    |bias[o]|.  Winograd mixes every input of a tile's window with every tap
    (the cross terms cancel only in exact arithmetic), so its rounding
    errors scale with this and not with the direct sum of |x|*|w|; with
    n_terms = C_in/groups + WINO_EXTRA_TERMS, assert_conv_close bounds them.
    Dilated, the tiles are those of each phase (outputs dh*i + p, dw*j + q,
    reading padded inputs dh*r + p, dw*c + q).
    """
    dh, dw = dilation
    ax = np.abs(np.asarray(x, dtype=np.float64))
    xp = np.pad(ax, ((0, 0), (0, 0), (pads[0], pads[1]), (pads[2], pads[3])),
                mode=NP_PAD_MODES[padding_mode])
    n, c, hp, wp = xp.shape
    oh, ow = hp - 2 * dh, wp - 2 * dw
    # A phase size that is not a multiple of 4 reads up to three phase rows
    # or columns past the padding (for outputs that are dropped): no larger
    # than the channel's largest |x|.
    xe = np.zeros((n, c, hp + 4 * dh, wp + 4 * dw))
    if ax.size:
        xe[:] = ax.max(axis=(2, 3), keepdims=True)
    xe[:, :, :hp, :wp] = xp
    bt, g_abs, at = np.abs(WINO_BT), np.abs(WINO_G), np.abs(WINO_AT)
    u = np.einsum("ik,ockl,jl->ocij", g_abs,
                  np.abs(np.asarray(w, dtype=np.float64)), g_abs)
    co, cg = u.shape[:2]
    per_group = co // groups
    bound = np.zeros((n, co, oh, ow))
    for p in range(dh):
        for q in range(dw):
            ohp, owq = len(range(p, oh, dh)), len(range(q, ow, dw))
            if ohp == 0 or owq == 0:
                continue
            nty, ntx = (ohp + 3) // 4, (owq + 3) // 4
            sub = xe[:, :, p::dh, q::dw][:, :, :4 * nty + 2, :4 * ntx + 2]
            win = np.lib.stride_tricks.sliding_window_view(
                sub, (6, 6), axis=(2, 3))[:, :, ::4, ::4]
            v = np.einsum("ik,nctukl,jl->nctuij", bt, win, bt)
            m = np.concatenate([
                np.einsum("ocij,nctuij->notuij",
                          u[g * per_group:(g + 1) * per_group],
                          v[:, g * cg:(g + 1) * cg])
                for g in range(groups)], axis=1)
            y = np.einsum("ri,notuij,sj->notrus", at, m, at)
            bound[:, :, p::dh, q::dw] = y.reshape(
                n, co, 4 * nty, 4 * ntx)[:, :, :ohp, :owq]
    if bias is not None:
        bound += np.abs(np.asarray(bias, dtype=np.float64))[None, :, None, None]
    return bound
