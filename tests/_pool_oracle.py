"""Plain NumPy references for max_pool2d / avg_pool2d, straight from the
definition (torch's), sharing no code with pyconvx; and the test data,
hypothesis strategy and comparisons that test_pool.py and test_pool_torch.py
share.

Slow by design: Python loops over window positions and taps, vectorised only
over the (N, C) planes.  Meant for small inputs.
"""

import numpy as np
from hypothesis import strategies as st

from _helpers import assert_identical


def pool_len(size, k, s, p, d, ceil_mode):
    """Number of windows along one axis, by counting window starts.

    Window i starts at i*s - p and spans d*(k-1) + 1 positions of the
    padded axis [-p, size + p).  Floor mode keeps the windows that fit in
    it; ceil mode also keeps one that runs past its end, provided it starts
    before the padded end rounded up to the stride and inside the input or
    the left padding (torch drops a last window starting in the right
    padding).
    """
    span = d * (k - 1) + 1
    count = 0
    i = 0
    while True:
        start = i * s - p
        if ceil_mode:
            ok = (i * s <= size + 2 * p - span + s - 1) and start < size
        else:
            ok = start + span <= size + p
        if not ok:
            return count
        count += 1
        i += 1


def _pairs(*values):
    return [v if isinstance(v, tuple) else (v, v) for v in values]


def _lowest(dtype):
    if dtype.kind == "f":
        return dtype.type(-np.inf)
    return np.iinfo(dtype).min


def _as4d(x):
    x = np.asarray(x)
    return (x[None] if x.ndim == 3 else x), x.ndim == 3


def ref_max_pool2d(x, kernel_size, stride=None, padding=0, dilation=1,
                   ceil_mode=False):
    """(values, int64 indices), torch's scan over each window: start from
    -inf (dtype minimum) and the index of the first in-bounds tap; visit the
    taps row by row; replace when a value is larger or NaN."""
    x4, unbatched = _as4d(x)
    if stride is None:
        stride = kernel_size
    (kh, kw), (sh, sw), (ph, pw), (dh, dw) = _pairs(kernel_size, stride,
                                                    padding, dilation)
    n, c, h, w = x4.shape
    oh = pool_len(h, kh, sh, ph, dh, ceil_mode)
    ow = pool_len(w, kw, sw, pw, dw, ceil_mode)
    out = np.empty((n, c, oh, ow), x4.dtype)
    idx = np.empty((n, c, oh, ow), np.int64)
    is_float = x4.dtype.kind == "f"
    for i in range(oh):
        rows = [i * sh - ph + a * dh for a in range(kh)]
        valid_rows = [r for r in rows if 0 <= r < h]
        for j in range(ow):
            cols = [j * sw - pw + b * dw for b in range(kw)]
            valid_cols = [q for q in cols if 0 <= q < w]
            first_c = _first(cols[0], dw)
            m = np.full((n, c), _lowest(x4.dtype), x4.dtype)
            mi = np.full((n, c), _first(rows[0], dh) * w + first_c, np.int64)
            for r in valid_rows:
                for q in valid_cols:
                    v = x4[:, :, r, q]
                    take = v > m
                    if is_float:
                        take |= np.isnan(v)
                    m = np.where(take, v, m)
                    mi = np.where(take, r * w + q, mi)
            out[:, :, i, j] = m
            idx[:, :, i, j] = mi
    if unbatched:
        return out[0], idx[0]
    return out, idx


def _first(start, d):
    """torch: while (start < 0) start += d."""
    while start < 0:
        start += d
    return start


def ref_avg_pool2d(x, kernel_size, stride=None, padding=0, ceil_mode=False,
                   count_include_pad=True, divisor_override=None):
    """Floats: the mean in float64 (callers compare with a tolerance).
    Integers: exact sum, division truncating toward zero, result wrapped to
    the input dtype."""
    x4, unbatched = _as4d(x)
    if stride is None:
        stride = kernel_size
    (kh, kw), (sh, sw), (ph, pw) = _pairs(kernel_size, stride, padding)
    n, c, h, w = x4.shape
    oh = pool_len(h, kh, sh, ph, 1, ceil_mode)
    ow = pool_len(w, kw, sw, pw, 1, ceil_mode)
    is_int = x4.dtype.kind in "iu"
    out = np.empty((n, c, oh, ow), object if is_int else np.float64)
    for i in range(oh):
        r0 = i * sh - ph
        r1 = min(r0 + kh, h + ph)          # clipped to the padded input
        for j in range(ow):
            c0 = j * sw - pw
            c1 = min(c0 + kw, w + pw)
            rr = slice(max(r0, 0), min(r1, h))
            cc = slice(max(c0, 0), min(c1, w))
            if divisor_override is not None:
                div = divisor_override
            elif count_include_pad:
                div = (r1 - r0) * (c1 - c0)
            else:
                div = (rr.stop - rr.start) * (cc.stop - cc.start)
            win = x4[:, :, rr, cc]
            for a in range(n):
                for b in range(c):
                    if is_int:
                        total = sum(int(v) for v in win[a, b].ravel())
                        q = abs(total) // abs(div)
                        out[a, b, i, j] = q if (total >= 0) == (div > 0) else -q
                    else:
                        with np.errstate(invalid="ignore", over="ignore"):
                            out[a, b, i, j] = (
                                win[a, b].astype(np.float64).sum() / div)
    if is_int:
        # Wrap modulo 2**bits into the input dtype (as astype does).
        bits = 8 * x4.dtype.itemsize
        out = np.array([v % 2**bits for v in out.ravel()],
                       dtype=f"u{x4.dtype.itemsize}").reshape(out.shape)
        out = out.view(x4.dtype.newbyteorder("="))
    if unbatched:
        return out[0]
    return out


# -- test data and comparisons shared by test_pool.py and test_pool_torch.py

def random_input(rng, shape, dtype, specials=False):
    """Random data; integers over the whole range (max) or a range whose
    window sums fit in int64 (avg does not care: sums are exact)."""
    dtype = np.dtype(dtype)
    if dtype.kind in "iu":
        info = np.iinfo(dtype)
        lo, hi = max(info.min, -2**40), min(info.max, 2**40)
        x = rng.integers(lo, hi, size=shape, endpoint=True, dtype=dtype)
        if specials and x.size:
            x.flat[rng.integers(0, x.size, size=max(1, x.size // 8))] = info.min
            x.flat[rng.integers(0, x.size, size=max(1, x.size // 8))] = info.max
        return x
    # A few distinct values, so that ties happen.
    x = rng.choice(np.array([-2.5, -1.0, -0.0, 0.0, 0.5, 1.0, 3.0]), size=shape)
    x = x + rng.standard_normal(shape) * (rng.random(shape) < 0.5)
    if specials and x.size:
        for v in (np.nan, np.inf, -np.inf, -0.0, 0.0):
            x.flat[rng.integers(0, x.size, size=max(1, x.size // 10))] = v
    return x.astype(dtype)


def avg_tolerance(x, dtype, kernel_size, stride, padding, ceil_mode,
                  count_include_pad, divisor_override):
    """Per-element bound for floating average pooling: a few units in the
    last place of the accumulator times the sum of |x| over the window."""
    k = kernel_size if isinstance(kernel_size, tuple) else (kernel_size,) * 2
    scale = ref_avg_pool2d(np.abs(x.astype(np.float64)), kernel_size, stride,
                           padding, ceil_mode, count_include_pad,
                           divisor_override)
    acc_eps = np.finfo(np.float32 if dtype.itemsize <= 4 else np.float64).eps
    out_eps = np.finfo(dtype).eps
    return (k[0] * k[1] + 2) * acc_eps * np.abs(scale) + out_eps * np.abs(scale)


def assert_avg_close(ours, ref, tol, dtype):
    assert ours.dtype == dtype and ours.shape == ref.shape
    got = ours.astype(np.float64)
    nan = np.isnan(ref)
    np.testing.assert_array_equal(np.isnan(got), nan)
    inf = np.isinf(ref)
    np.testing.assert_array_equal(got[inf], ref[inf])
    fin = ~(nan | inf)
    assert np.all(np.abs(got[fin] - ref[fin]) <= tol[fin] + np.finfo(dtype).tiny)


_AVG_DEFAULTS = dict(stride=None, padding=0, ceil_mode=False,
                     count_include_pad=True, divisor_override=None)


def assert_avg_matches_reference(got, x, **kwargs):
    """avg_pool2d's result `got` for input x against ref_avg_pool2d:
    integers exactly, floats within avg_tolerance (kwargs: avg_pool2d's,
    those left out at their defaults)."""
    ref = ref_avg_pool2d(x, **kwargs)
    if x.dtype.kind in "iu":
        assert_identical(got, ref)
    else:
        tol = avg_tolerance(x, x.dtype, **dict(_AVG_DEFAULTS, **kwargs))
        assert_avg_close(got, ref, tol, x.dtype)


@st.composite
def pool_case(draw, dilation=True):
    k = draw(st.one_of(st.integers(1, 4),
                       st.tuples(st.integers(1, 4), st.integers(1, 4))))
    kh, kw = k if isinstance(k, tuple) else (k, k)
    stride = draw(st.one_of(st.none(), st.integers(1, 4),
                            st.tuples(st.integers(1, 4), st.integers(1, 4))))
    padding = draw(st.one_of(
        st.integers(0, min(kh, kw) // 2),
        st.tuples(st.integers(0, kh // 2), st.integers(0, kw // 2))))
    dil = draw(st.one_of(st.integers(1, 3),
                         st.tuples(st.integers(1, 3), st.integers(1, 3)))) \
        if dilation else 1
    ceil_mode = draw(st.booleans())
    batched = draw(st.booleans())
    n = draw(st.integers(0, 2)) if batched else None
    c = draw(st.integers(1, 3))
    h = draw(st.integers(1, 9))
    w = draw(st.integers(1, 9))
    shape = (c, h, w) if n is None else (n, c, h, w)
    return dict(shape=shape, kernel_size=k, stride=stride, padding=padding,
                dilation=dil, ceil_mode=ceil_mode)


def case_out_hw(case, dilation=True):
    k, s, p = case["kernel_size"], case["stride"], case["padding"]
    d = case["dilation"] if dilation else 1
    s = k if s is None else s
    k, s, p, d = ((v, v) if not isinstance(v, tuple) else v
                  for v in (k, s, p, d))
    h, w = case["shape"][-2:]
    return (pool_len(h, k[0], s[0], p[0], d[0], case["ceil_mode"]),
            pool_len(w, k[1], s[1], p[1], d[1], case["ceil_mode"]))
