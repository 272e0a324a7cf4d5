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
