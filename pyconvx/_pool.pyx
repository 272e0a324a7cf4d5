# cython: cdivision=True
"""Typed, GIL-free 2-D max and average pooling kernels (torch semantics).

Max pooling
    out = the element of the window that torch's scan keeps: scanning the
    window row by row, an element replaces the current one when it is larger
    or NaN (``val > max or isnan(val)``), starting from -inf (integers: the
    dtype's minimum) and the index of the first in-bounds element.  Hence the
    last NaN wins, ties keep the first element, padding never wins.

    The scan is split into a pass along each input row (the window's taps in
    that row) and a fold of those row results in row order.  Both apply the
    same rule, and the rule composes: the fold of per-row results is the
    result of the row-major scan, bit for bit (signed zeros and NaN payloads
    included).  The inner loops (src/pcx_pool_rows.h) run over output
    columns, a compare-and-select the compiler vectorises, with constant
    strides and window widths for the common cases; only the windows clipped
    by the row's ends are computed here, one by one.

Average pooling
    out = (sum of the real elements of the window) / divisor, where the
    divisor is torch's: the window clipped to [-p, L + p) with
    count_include_pad, else the count of real elements, or divisor_override.
    The window is summed column-wise first (contiguous rows of the input,
    vectorised) then along the row.  Floating types accumulate in their own
    precision (float32 in float32, as torch does).  Integers of every width
    are summed in uint64: sums wrap modulo 2**64 (exact unless a 64-bit sum
    overflows), the division (by multiplication, see pcx_divisor) truncates
    toward zero, and the quotient is written in the input's type.

Work is split into (plane, block of output rows) items, a contiguous range
of items per thread; each output element is computed by exactly one thread,
so results do not depend on the thread count.  The Python entry points run
the items in waves with a signal check between them (see _waves.pxd).
"""

from cython.parallel cimport prange
from libc.math cimport INFINITY
from libc.stdint cimport (INT8_MIN, INT16_MIN, INT32_MIN, INT64_MIN,
                          int8_t, uint8_t, int16_t, uint16_t, int32_t,
                          uint32_t, int64_t, uint64_t)
from libc.stdlib cimport malloc, free
from libc.string cimport memcpy

cimport numpy as cnp

from ._waves cimport Waves, waves_start, waves_next
from ._openmp cimport omp_get_num_threads

cnp.import_array()

cdef extern from "pcx_pool_rows.h" nogil:
    # C micro-kernels, one instantiation per element type; these names are
    # C11 _Generic macros that pick it from the type of the first argument
    # (hence the void pointers here: the C compiler sees the real types).
    # See the header for what each computes.
    void pcx_max_taps(void *dst, const void *row, Py_ssize_t n,
                      Py_ssize_t s, Py_ssize_t k, Py_ssize_t d)
    void pcx_max_edge(void *dst, const void *row, Py_ssize_t k, Py_ssize_t d)
    void pcx_argmax_taps(void *dst, int64_t *dst_idx, const void *row,
                         int64_t base, Py_ssize_t n, Py_ssize_t s,
                         Py_ssize_t k, Py_ssize_t d)
    void pcx_max_fold(void *acc, const void *v, Py_ssize_t n)
    void pcx_max_fold2(void *acc, const void *a, const void *b, Py_ssize_t n)
    void pcx_argmax_fold(void *acc, int64_t *acc_idx, const void *v,
                         const int64_t *v_idx, Py_ssize_t n)
    void pcx_sum_taps(void *dst, const void *v, Py_ssize_t n,
                      Py_ssize_t s, Py_ssize_t k)
    # By the type of x, which must be typed (not void *).
    void pcx_load_row(void *acc, const void *x, Py_ssize_t n)
    void pcx_add_row(void *acc, const void *x, Py_ssize_t n)
    ctypedef struct pcx_divisor:
        pass
    pcx_divisor pcx_divisor_of(int64_t d)
    uint64_t pcx_divide_u(uint64_t n, const pcx_divisor *v)
    uint64_t pcx_divide_s(uint64_t n, const pcx_divisor *v)
    void pcx_max_window(void *dst, const void *x, Py_ssize_t step,
                        Py_ssize_t rows, Py_ssize_t cols, Py_ssize_t d)
    void pcx_max_block(void *dst, const void *x, Py_ssize_t n)
    void pcx_argmax_window(void *dst, int64_t *dst_idx, const void *x,
                           int64_t base, Py_ssize_t step, Py_ssize_t rows,
                           Py_ssize_t cols, Py_ssize_t d)
    # By the type of x, which must be typed (not void *).
    void pcx_sum_window(void *dst, Py_ssize_t i, const void *x, Py_ssize_t w,
                        Py_ssize_t rows, Py_ssize_t cols)
    int pcx_pool_set_isa_cap(int cap)

# Below this many window taps in total one thread beats starting a team.
cdef double SERIAL_WORK = 1 << 15
# Taps per work item, at most (roughly): about a millisecond.
cdef double ITEM_WORK = 1 << 24
# Rows of at most this many outputs are pooled window by window (see
# _by_window); a test hook sets it.
cdef Py_ssize_t WINDOW_OUTPUTS = 1

# -- shared helpers -----------------------------------------------------------

cdef inline pool_t _lowest(const pool_t *tag) noexcept nogil:
    """torch's starting max: -inf, or the dtype's minimum for integers."""
    if pool_t is float or pool_t is double:
        return -INFINITY
    elif pool_t is int8_t:
        return INT8_MIN
    elif pool_t is int16_t:
        return INT16_MIN
    elif pool_t is int32_t:
        return INT32_MIN
    elif pool_t is int64_t:
        return INT64_MIN
    else:
        return 0


cdef inline bint _takes(pool_t v, pool_t m) noexcept nogil:
    """torch's update rule: a larger value, or any NaN, replaces the max."""
    if pool_t is float or pool_t is double:
        return (v > m) | (v != v)
    else:
        return v > m


cdef inline Py_ssize_t _first_tap(Py_ssize_t start, Py_ssize_t d) noexcept nogil:
    """The first tap start + i*d that is >= 0 (torch: while (i0 < 0) i0 += d)."""
    if start < 0:
        if d == 1:
            return 0        # no division for the common case
        start += ((-start + d - 1) // d) * d
    return start


cdef inline void _interior(Py_ssize_t size, Py_ssize_t n_out, Py_ssize_t k,
                           Py_ssize_t s, Py_ssize_t p, Py_ssize_t d,
                           Py_ssize_t *lo, Py_ssize_t *hi) noexcept nogil:
    """[lo, hi): the output positions whose every tap lies in [0, size)."""
    cdef Py_ssize_t a = (p + s - 1) // s
    cdef Py_ssize_t last = size - 1 + p - (k - 1) * d   # max start * s
    cdef Py_ssize_t b = last // s + 1 if last >= 0 else 0
    a = min(a, n_out)
    b = min(b, n_out)
    lo[0] = a
    hi[0] = b if b > a else a


cdef inline bint _by_window(const PoolGeometry *g) noexcept nogil:
    """Whether output rows are computed window by window, with scalar
    scans, rather than by passes along the input rows: when a row has one
    output, as in a global pooling, where the passes' calls and folds cost
    more than the taps.  (8 x 512 x 7x7 to 1x1, windows / row passes:
    avg 0.52, max with indices 0.52, int64 max 0.30, float max 0.96;
    8 x 128 x 14x14: avg 0.80, int64 max 0.23, float max 1.06.  With two
    to four outputs a row the passes were faster, up to 3.4 times, for
    float max and for avg, whose row passes are vectorised.)"""
    return g.out_w <= WINDOW_OUTPUTS


cdef inline Py_ssize_t _taps(Py_ssize_t start, Py_ssize_t k, Py_ssize_t d,
                             Py_ssize_t size, Py_ssize_t *first) noexcept nogil:
    """The number of taps start + i*d (i < k) inside [0, size), the first
    of them (or where it would be, if none) in first[0]."""
    cdef Py_ssize_t end = min(start + (k - 1) * d + 1, size)
    first[0] = _first_tap(start, d)
    if first[0] >= end:
        return 0
    return (end - first[0] + d - 1) // d


cdef inline double _work(Py_ssize_t n_planes, const PoolGeometry *g) noexcept nogil:
    """Taps visited, roughly (in double: a huge window must not overflow)."""
    return (<double> n_planes * g.out_h * g.out_w
            * min(g.kh, g.in_h) * min(g.kw, g.in_w))


cdef struct _Plan:
    Py_ssize_t n_blocks, block_rows   # items: (plane, block of output rows)
    Py_ssize_t n_items
    int n_threads


cdef _Plan _plan(Py_ssize_t n_planes, const PoolGeometry *g,
                 int n_threads) noexcept nogil:
    """Rows are split when there are too few planes to give every thread
    about four items, and when a plane is more than ITEM_WORK taps (so that
    a wave, see _waves.pxd, ends soon after Ctrl-C); small calls stay on one
    thread."""
    cdef _Plan p
    cdef Py_ssize_t want = 4 * <Py_ssize_t> n_threads
    cdef double work = _work(n_planes, g)
    if work < SERIAL_WORK:
        n_threads = 1
    p.n_blocks = <Py_ssize_t> min(work / n_planes / ITEM_WORK + 1.0,
                                  <double> g.out_h)
    if n_threads > 1 and n_planes < want:
        p.n_blocks = max(p.n_blocks,
                         min(g.out_h, (want + n_planes - 1) // n_planes))
    p.block_rows = (g.out_h + p.n_blocks - 1) // p.n_blocks
    p.n_blocks = (g.out_h + p.block_rows - 1) // p.block_rows
    p.n_items = n_planes * p.n_blocks
    p.n_threads = <int> min(<Py_ssize_t> n_threads, p.n_items)
    return p


# -- max pooling ----------------------------------------------------------------

cdef inline void _max_edge(const pool_t *row, int64_t base,
                           const PoolGeometry *g, Py_ssize_t ow,
                           pool_t *dst, int64_t *dst_idx) noexcept nogil:
    """One output column whose window is clipped by the row's ends: a
    scan of the taps inside from the first of them, which gives the value
    and index of torch's from the lowest value (a first tap equal to it is
    kept either way).  Its selects have no branches: a branchy scan here,
    with one edge per row, took a third of a 3x3 stride-2 padding-1
    pooling's time; and it is inline, the row kernel's call cost more."""
    cdef Py_ssize_t c0 = ow * g.sw - g.pw
    cdef Py_ssize_t c = _first_tap(c0, g.dw)
    cdef Py_ssize_t c_end = min(c0 + (g.kw - 1) * g.dw + 1, g.in_w)
    cdef Py_ssize_t k
    if c >= c_end:
        # No tap inside (possible with dilation): torch's starting value
        # and index.
        dst[ow] = _lowest(row)
        if dst_idx != NULL:
            dst_idx[ow] = base + c
        return
    k = c_end - c if g.dw == 1 else (c_end - c + g.dw - 1) // g.dw
    if dst_idx == NULL:
        pcx_max_edge(dst + ow, row + c, k, g.dw)
    else:
        pcx_argmax_taps(dst + ow, dst_idx + ow, row + c, base + c, 1, 1, k,
                        g.dw)


cdef void _max_row(const pool_t *row, int64_t base, const PoolGeometry *g,
                   Py_ssize_t ow_lo, Py_ssize_t ow_hi, pool_t *dst,
                   int64_t *dst_idx) noexcept nogil:
    """Every output column's max over the window's taps in one input row."""
    cdef Py_ssize_t ow, n = ow_hi - ow_lo
    cdef Py_ssize_t c0 = ow_lo * g.sw - g.pw
    for ow in range(ow_lo):
        _max_edge(row, base, g, ow, dst, dst_idx)
    if n > 0:
        if dst_idx == NULL:
            pcx_max_taps(dst + ow_lo, row + c0, n, g.sw, g.kw, g.dw)
        else:
            pcx_argmax_taps(dst + ow_lo, dst_idx + ow_lo, row + c0, base + c0,
                            n, g.sw, g.kw, g.dw)
    for ow in range(ow_hi, g.out_w):
        _max_edge(row, base, g, ow, dst, dst_idx)


cdef inline bint _ring(const PoolGeometry *g) noexcept nogil:
    """Whether consecutive output rows share input rows (windows taller
    than the stride, undilated): then _max_rows keeps the maxima of the
    last kh input rows in a ring and computes each row's once."""
    return g.dh == 1 and g.sh < g.kh


cdef void _max_rows(const pool_t *x, const PoolGeometry *g, Py_ssize_t oh0,
                    Py_ssize_t oh1, pool_t *out, int64_t *idx, pool_t *tmp,
                    int64_t *tmp_idx, Py_ssize_t *ring_row, Py_ssize_t ow_lo,
                    Py_ssize_t ow_hi) noexcept nogil:
    """Output rows [oh0, oh1) of one plane.  Each input row's maxima
    (over the window's columns) go to tmp (tmp_idx), then fold into the
    output row; with _ring(g), tmp holds kh rows, input row r in slot
    r % kh (ring_row[slot]: the row it holds, -1 for none), so that rows
    shared by several output rows are computed once (32x64x112x112,
    one and two threads: k=3 s=2 took 0.78-0.81x the time, 0.58-0.88x
    with indices, k=3 s=1 0.77-0.79x, k=5 s=2 0.47x).  Without indices,
    an output row's first two rows of maxima fold into it in one pass
    rather than a copy and a fold (k=3 s=2: 0.95x the time on
    32x64x112x112, 0.86x on 8x256x28x28 at one thread)."""
    cdef Py_ssize_t oh, ow, r, r_end, slot
    cdef pool_t *orow
    cdef pool_t *dst
    cdef pool_t *pending        # the first row of maxima, not yet in orow
    cdef int64_t *irow
    cdef int64_t *dst_idx
    cdef bint first, fresh, ring = _ring(g)
    if ring:
        for slot in range(g.kh):
            ring_row[slot] = -1
    for oh in range(oh0, oh1):
        orow = out + oh * g.out_w
        irow = idx + oh * g.out_w if idx != NULL else NULL
        r = oh * g.sh - g.ph
        r_end = min(r + (g.kh - 1) * g.dh + 1, g.in_h)
        r = _first_tap(r, g.dh)
        if r >= r_end:
            # No tap row inside the input (possible with dilation): torch
            # returns its starting value and index, which may lie past the
            # plane.
            for ow in range(g.out_w):
                orow[ow] = _lowest(x)
                if irow != NULL:
                    irow[ow] = r * g.in_w + _first_tap(ow * g.sw - g.pw, g.dw)
            continue
        first = True
        pending = NULL
        while r < r_end:
            if ring:
                slot = r % g.kh
                dst = tmp + slot * g.out_w
                dst_idx = tmp_idx + slot * g.out_w if irow != NULL else NULL
                fresh = ring_row[slot] != r
                ring_row[slot] = r
            else:
                # The first row straight into the output.
                dst = orow if first else tmp
                dst_idx = irow if first else tmp_idx
                fresh = True
            if fresh:
                _max_row(x + r * g.in_w, r * g.in_w, g, ow_lo, ow_hi, dst,
                         dst_idx)
            if dst != orow:
                if irow == NULL:
                    if first:
                        pending = dst
                    elif pending != NULL:
                        pcx_max_fold2(orow, pending, dst, g.out_w)
                        pending = NULL
                    else:
                        pcx_max_fold(orow, dst, g.out_w)
                elif first:
                    memcpy(orow, dst, g.out_w * sizeof(pool_t))
                    memcpy(irow, dst_idx, g.out_w * sizeof(int64_t))
                else:
                    pcx_argmax_fold(orow, irow, dst, dst_idx, g.out_w)
            first = False
            r += g.dh
        if pending != NULL:
            memcpy(orow, pending, g.out_w * sizeof(pool_t))


cdef void _max_windows(const pool_t *x, const PoolGeometry *g,
                       Py_ssize_t oh0, Py_ssize_t oh1, pool_t *out,
                       int64_t *idx) noexcept nogil:
    """Output rows [oh0, oh1) of one plane, window by window (see
    _by_window).  A window without a tap inside (possible with dilation)
    gives torch's starting value and the index of its first tap at or past
    the plane's start, as the row passes do."""
    cdef Py_ssize_t oh, ow, o, r, c, rows, cols
    for oh in range(oh0, oh1):
        rows = _taps(oh * g.sh - g.ph, g.kh, g.dh, g.in_h, &r)
        for ow in range(g.out_w):
            cols = _taps(ow * g.sw - g.pw, g.kw, g.dw, g.in_w, &c)
            o = oh * g.out_w + ow
            if rows == 0 or cols == 0:
                out[o] = _lowest(x)
                if idx != NULL:
                    idx[o] = r * g.in_w + c
            elif idx == NULL and cols == g.in_w and (rows == 1 or g.dh == 1):
                # Whole rows, contiguous (a global pooling): one block.
                pcx_max_block(out + o, x + r * g.in_w, rows * cols)
            elif idx == NULL:
                pcx_max_window(out + o, x + r * g.in_w + c, g.dh * g.in_w,
                               rows, cols, g.dw)
            else:
                pcx_argmax_window(out + o, idx + o, x + r * g.in_w + c,
                                  r * g.in_w + c, g.dh * g.in_w, rows, cols,
                                  g.dw)


cdef int _max_chunk(const pool_t *x, const PoolGeometry *g, pool_t *out,
                    int64_t *indices, Py_ssize_t item0, Py_ssize_t item1,
                    Py_ssize_t n_blocks, Py_ssize_t block_rows) noexcept nogil:
    """Items [item0, item1) of (plane, row block); -1 when out of memory."""
    cdef Py_ssize_t it, p, oh0, ow_lo, ow_hi
    cdef Py_ssize_t in_plane = g.in_h * g.in_w
    cdef Py_ssize_t out_plane = g.out_h * g.out_w
    cdef bint by_window = _by_window(g)
    # Rows of maxima: one, or a ring of kh (see _max_rows).
    cdef Py_ssize_t n_tmp = g.kh if _ring(g) else 1
    cdef pool_t *tmp = <pool_t *> malloc(n_tmp * g.out_w * sizeof(pool_t))
    cdef int64_t *tmp_idx = NULL
    cdef Py_ssize_t *ring_row = <Py_ssize_t *> malloc(n_tmp * sizeof(Py_ssize_t))
    if indices != NULL:
        tmp_idx = <int64_t *> malloc(n_tmp * g.out_w * sizeof(int64_t))
    if (tmp == NULL or ring_row == NULL
            or (indices != NULL and tmp_idx == NULL)):
        free(tmp)
        free(tmp_idx)
        free(ring_row)
        return -1
    _interior(g.in_w, g.out_w, g.kw, g.sw, g.pw, g.dw, &ow_lo, &ow_hi)
    for it in range(item0, item1):
        p = it // n_blocks
        oh0 = (it % n_blocks) * block_rows
        if by_window:
            _max_windows(x + p * in_plane, g, oh0,
                         min(oh0 + block_rows, g.out_h), out + p * out_plane,
                         indices + p * out_plane if indices != NULL else NULL)
            continue
        _max_rows(x + p * in_plane, g, oh0, min(oh0 + block_rows, g.out_h),
                  out + p * out_plane,
                  indices + p * out_plane if indices != NULL else NULL,
                  tmp, tmp_idx, ring_row, ow_lo, ow_hi)
    free(tmp)
    free(tmp_idx)
    free(ring_row)
    return 0


cdef int _max_items(const pool_t *x, const PoolGeometry *g, pool_t *out,
                    int64_t *indices, const _Plan *plan, Py_ssize_t i0,
                    Py_ssize_t i1) noexcept nogil:
    """Items [i0, i1) of `plan`, a contiguous share per thread; returns the
    number of threads that ran them, or -1 if memory ran out."""
    cdef Py_ssize_t t, n = i1 - i0
    cdef Py_ssize_t n_chunks = min(<Py_ssize_t> plan.n_threads, n)
    cdef int failed = 0, team = 1
    if n_chunks <= 1:
        if _max_chunk(x, g, out, indices, i0, i1, plan.n_blocks,
                      plan.block_rows) < 0:
            return -1
        return 1
    for t in prange(n_chunks, num_threads=<int> n_chunks, schedule='static'):
        team = omp_get_num_threads()
        failed += _max_chunk(x, g, out, indices, i0 + t * n // n_chunks,
                             i0 + (t + 1) * n // n_chunks, plan.n_blocks,
                             plan.block_rows)
    return -1 if failed else team


cdef int max_pool_planes(
    const pool_t *x, Py_ssize_t n_planes, const PoolGeometry *g,
    pool_t *out, int64_t *indices, int n_threads,
) noexcept nogil:
    cdef _Plan plan
    if n_planes <= 0 or g.out_h <= 0 or g.out_w <= 0:
        return 0
    plan = _plan(n_planes, g, n_threads)
    return -1 if _max_items(x, g, out, indices, &plan, 0, plan.n_items) < 0 else 0


# -- average pooling ------------------------------------------------------------

ctypedef fused acc_t:
    float
    double
    uint64_t


cdef inline void _window_sums(acc_t *hsum, const acc_t *vsum,
                              const PoolGeometry *g, Py_ssize_t ow_lo,
                              Py_ssize_t ow_hi) noexcept nogil:
    """hsum[ow] = the sum of the column sums vsum over output column ow's
    window, left to right: the windows clipped by the row's ends one by one,
    the interior ones with the vectorised loop."""
    cdef Py_ssize_t ow, c, c0, c1
    cdef acc_t a
    for ow in range(ow_lo):
        c0 = max(ow * g.sw - g.pw, 0)
        c1 = min(ow * g.sw - g.pw + g.kw, g.in_w)
        a = vsum[c0]
        for c in range(c0 + 1, c1):
            a = a + vsum[c]
        hsum[ow] = a
    if ow_hi > ow_lo:
        pcx_sum_taps(hsum + ow_lo, vsum + ow_lo * g.sw - g.pw, ow_hi - ow_lo,
                     g.sw, g.kw)
    for ow in range(ow_hi, g.out_w):
        c0 = max(ow * g.sw - g.pw, 0)
        c1 = min(ow * g.sw - g.pw + g.kw, g.in_w)
        a = vsum[c0]
        for c in range(c0 + 1, c1):
            a = a + vsum[c]
        hsum[ow] = a


cdef void _avg_rows(const avg_t *x, const PoolGeometry *g, Py_ssize_t oh0,
                    Py_ssize_t oh1, bint include_pad, int64_t divisor,
                    bint signed_ints, avg_t *out, void *vsum, void *hsum,
                    void *den, const Py_ssize_t *col_count,
                    Py_ssize_t ow_lo, Py_ssize_t ow_hi,
                    Py_ssize_t *den_rows) noexcept nogil:
    """Output rows [oh0, oh1) of one plane.  vsum and hsum hold sums in
    avg_t's accumulator type (floats their own, integers uint64_t); den
    caches the divisors of windows den_rows[0] rows high (the same for most
    rows): floats as avg_t, integers as pcx_divisor."""
    cdef Py_ssize_t W = g.in_w, OW = g.out_w
    cdef Py_ssize_t oh, ow, r, r0, r1, c0, c1, n_rows
    cdef int64_t d, d_prev
    cdef avg_t *orow
    cdef const uint64_t *q
    cdef pcx_divisor *dv
    for oh in range(oh0, oh1):
        r0 = oh * g.sh - g.ph
        r1 = min(r0 + g.kh, g.in_h + g.ph)
        n_rows = r1 - r0                    # the padded window's height
        r0 = max(r0, 0)
        r1 = min(r1, g.in_h)
        if not include_pad:
            n_rows = r1 - r0
        if divisor != 0:
            n_rows = -1                     # one divisor for every window
        if _by_window(g):
            for ow in range(OW):
                c0 = max(ow * g.sw - g.pw, 0)
                c1 = min(ow * g.sw - g.pw + g.kw, W)
                pcx_sum_window(hsum, ow, x + r0 * W + c0, W, r1 - r0, c1 - c0)
        else:
            # Column sums of the window's real rows, then their window sums.
            pcx_load_row(vsum, x + r0 * W, W)
            for r in range(r0 + 1, r1):
                pcx_add_row(vsum, x + r * W, W)
            if avg_t is float or avg_t is double:
                _window_sums(<avg_t *> hsum, <const avg_t *> vsum, g, ow_lo,
                             ow_hi)
            else:
                _window_sums(<uint64_t *> hsum, <const uint64_t *> vsum, g,
                             ow_lo, ow_hi)
        orow = out + oh * OW
        if avg_t is float or avg_t is double:
            # torch divides by the divisor converted to the float type.
            if den_rows[0] != n_rows:
                for ow in range(OW):
                    (<avg_t *> den)[ow] = <avg_t> (
                        divisor if n_rows < 0 else n_rows * col_count[ow])
                den_rows[0] = n_rows
            for ow in range(OW):
                orow[ow] = (<avg_t *> hsum)[ow] / (<avg_t *> den)[ow]
        else:
            dv = <pcx_divisor *> den
            if den_rows[0] != n_rows:
                # Windows of one width share a divisor: prepared once.
                d_prev = 0
                for ow in range(OW):
                    d = divisor if n_rows < 0 else n_rows * col_count[ow]
                    if d != d_prev:
                        dv[ow] = pcx_divisor_of(d)
                        d_prev = d
                    else:
                        dv[ow] = dv[ow - 1]
                den_rows[0] = n_rows
            # Quotients wrap to avg_t's width: they fit it, except for
            # unsigned data with a negative divisor_override.
            q = <const uint64_t *> hsum
            if (avg_t is int8_t or avg_t is int16_t or avg_t is int32_t
                    or avg_t is int64_t):
                for ow in range(OW):
                    orow[ow] = <avg_t> pcx_divide_s(q[ow], &dv[ow])
            elif avg_t is uint64_t:
                if signed_ints:
                    for ow in range(OW):
                        orow[ow] = pcx_divide_s(q[ow], &dv[ow])
                else:
                    for ow in range(OW):
                        orow[ow] = pcx_divide_u(q[ow], &dv[ow])
            else:
                for ow in range(OW):
                    orow[ow] = <avg_t> pcx_divide_u(q[ow], &dv[ow])


cdef int _avg_chunk(const avg_t *x, const PoolGeometry *g,
                    bint include_pad, int64_t divisor, bint signed_ints,
                    avg_t *out, Py_ssize_t item0, Py_ssize_t item1,
                    Py_ssize_t n_blocks, Py_ssize_t block_rows) noexcept nogil:
    """Items [item0, item1) of (plane, row block); -1 when out of memory."""
    cdef Py_ssize_t it, p, oh0, ow, c0, c1, ow_lo, ow_hi
    cdef Py_ssize_t den_rows = -2
    cdef Py_ssize_t in_plane = g.in_h * g.in_w
    cdef Py_ssize_t out_plane = g.out_h * g.out_w
    # Accumulators of 8 bytes (a float's of 4) and divisors of at least 8.
    cdef void *vsum = malloc(g.in_w * sizeof(uint64_t))
    cdef void *hsum = malloc(g.out_w * sizeof(uint64_t))
    cdef void *den = malloc(g.out_w * sizeof(pcx_divisor))
    cdef Py_ssize_t *col_count = <Py_ssize_t *> malloc(
        g.out_w * sizeof(Py_ssize_t))
    if vsum == NULL or hsum == NULL or den == NULL or col_count == NULL:
        free(vsum)
        free(hsum)
        free(den)
        free(col_count)
        return -1
    # Width of each output column's window: clipped to [-p, W + p) (the
    # ceil-mode overhang past the padding never counts), or to the input.
    for ow in range(g.out_w):
        c0 = ow * g.sw - g.pw
        c1 = min(c0 + g.kw, g.in_w + g.pw)
        if include_pad:
            col_count[ow] = c1 - c0
        else:
            col_count[ow] = min(c1, g.in_w) - max(c0, 0)
    _interior(g.in_w, g.out_w, g.kw, g.sw, g.pw, 1, &ow_lo, &ow_hi)
    for it in range(item0, item1):
        p = it // n_blocks
        oh0 = (it % n_blocks) * block_rows
        _avg_rows(x + p * in_plane, g, oh0, min(oh0 + block_rows, g.out_h),
                  include_pad, divisor, signed_ints, out + p * out_plane,
                  vsum, hsum, den, col_count, ow_lo, ow_hi, &den_rows)
    free(vsum)
    free(hsum)
    free(den)
    free(col_count)
    return 0


cdef int _avg_items(const avg_t *x, const PoolGeometry *g,
                    bint count_include_pad, int64_t divisor_override,
                    bint signed_ints, avg_t *out, const _Plan *plan,
                    Py_ssize_t i0, Py_ssize_t i1) noexcept nogil:
    """Items [i0, i1) of `plan`, a contiguous share per thread; returns the
    number of threads that ran them, or -1 if memory ran out."""
    cdef Py_ssize_t t, n = i1 - i0
    cdef Py_ssize_t n_chunks = min(<Py_ssize_t> plan.n_threads, n)
    cdef int failed = 0, team = 1
    if n_chunks <= 1:
        if _avg_chunk(x, g, count_include_pad, divisor_override, signed_ints,
                      out, i0, i1, plan.n_blocks, plan.block_rows) < 0:
            return -1
        return 1
    for t in prange(n_chunks, num_threads=<int> n_chunks, schedule='static'):
        team = omp_get_num_threads()
        failed += _avg_chunk(x, g, count_include_pad, divisor_override,
                             signed_ints, out, i0 + t * n // n_chunks,
                             i0 + (t + 1) * n // n_chunks, plan.n_blocks,
                             plan.block_rows)
    return -1 if failed else team


cdef int avg_pool_planes(
    const avg_t *x, Py_ssize_t n_planes, const PoolGeometry *g,
    bint count_include_pad, int64_t divisor_override, bint signed_ints,
    avg_t *out, int n_threads,
) noexcept nogil:
    cdef _Plan plan
    if n_planes <= 0 or g.out_h <= 0 or g.out_w <= 0:
        return 0
    plan = _plan(n_planes, g, n_threads)
    if _avg_items(x, g, count_include_pad, divisor_override, signed_ints,
                  out, &plan, 0, plan.n_items) < 0:
        return -1
    return 0


# -- Python entry points ----------------------------------------------------------
#
# They take the arrays themselves, not typed memoryviews: a fused def
# function's dispatch and the views cost about 2 us of a call that pools a
# small input in 5 (the seed's 5x24x24 max pooling).  The checks below
# replace the views' (every caller is the Python front, which passes arrays
# that pass them).

cdef Py_ssize_t _planes_of(cnp.ndarray a, const char *name) except -1:
    """The number of planes of a kernel-ready (..., H, W) array: C-contiguous,
    aligned, native byte order."""
    cdef int nd = cnp.PyArray_NDIM(a), i
    cdef Py_ssize_t n = 1
    if (nd < 2 or not cnp.PyArray_IS_C_CONTIGUOUS(a)
            or not cnp.PyArray_ISALIGNED(a) or not cnp.PyArray_ISNOTSWAPPED(a)):
        raise ValueError(f"{name.decode()} must be a C-contiguous, aligned, "
                         "native-order array of at least 2 dimensions")
    for i in range(nd - 2):
        n *= cnp.PyArray_DIMS(a)[i]
    return n


cdef inline char _kind(cnp.ndarray a) noexcept:
    """dtype.kind of a, for the types with kernels: b"f", b"i" or b"u"
    (b"?" for others, float16 and long double included by their sizes)."""
    if cnp.PyArray_ISFLOAT(a):
        return b"f"
    if cnp.PyArray_ISSIGNED(a):
        return b"i"
    if cnp.PyArray_ISUNSIGNED(a):
        return b"u"
    return b"?"


cdef PoolGeometry _geometry(cnp.ndarray x, cnp.ndarray out, tuple kernel,
                            tuple stride, tuple padding, tuple dilation,
                            Py_ssize_t *n_planes) except *:
    """The geometry of pooling x into out, after checking both (and that
    out is writeable, of x's type and of as many planes)."""
    cdef PoolGeometry g
    cdef int nx = cnp.PyArray_NDIM(x), no = cnp.PyArray_NDIM(out)
    n_planes[0] = _planes_of(x, b"x")
    if _planes_of(out, b"out") != n_planes[0] or not cnp.PyArray_ISWRITEABLE(out):
        raise ValueError("out must be writeable and have x's planes")
    if (_kind(x) != _kind(out)
            or cnp.PyArray_ITEMSIZE(x) != cnp.PyArray_ITEMSIZE(out)):
        raise TypeError("x and out must have the same type")
    g.in_h, g.in_w = cnp.PyArray_DIMS(x)[nx - 2], cnp.PyArray_DIMS(x)[nx - 1]
    g.out_h, g.out_w = cnp.PyArray_DIMS(out)[no - 2], cnp.PyArray_DIMS(out)[no - 1]
    g.kh, g.kw = kernel
    g.sh, g.sw = stride
    g.ph, g.pw = padding
    g.dh, g.dw = dilation
    return g


cdef int _max_run(const pool_t *x, Py_ssize_t n_planes, const PoolGeometry *g,
                  pool_t *out, int64_t *indices, int n_threads) except -1:
    """max_pool_planes in waves (see _waves.pxd); returns the largest team."""
    cdef int status = 0, team = 1
    cdef _Plan plan = _plan(n_planes, g, n_threads)
    cdef Waves waves = waves_start(plan.n_items, plan.n_threads,
                                   _work(n_planes, g))
    while waves_next(&waves):
        with nogil:
            status = _max_items(x, g, out, indices, &plan, waves.begin,
                                waves.end)
        if status < 0:
            raise MemoryError("pyconvx: out of memory for the pooling workspace")
        team = max(team, status)
    return team


cdef int _avg_run(const avg_t *x, Py_ssize_t n_planes, const PoolGeometry *g,
                  bint count_include_pad, int64_t divisor_override,
                  avg_t *out, int n_threads) except -1:
    """avg_pool_planes in waves (see _waves.pxd); returns the largest team."""
    cdef int status = 0, team = 1
    cdef _Plan plan = _plan(n_planes, g, n_threads)
    cdef Waves waves = waves_start(plan.n_items, plan.n_threads,
                                   _work(n_planes, g))
    while waves_next(&waves):
        with nogil:
            # (signed_ints: only for uint64_t data of the C API's callers;
            # the Python front passes int64 data as int64_t.)
            status = _avg_items(x, g, count_include_pad, divisor_override,
                                False, out, &plan, waves.begin, waves.end)
        if status < 0:
            raise MemoryError("pyconvx: out of memory for the pooling workspace")
        team = max(team, status)
    return team


def max_pool2d_into(cnp.ndarray x not None, cnp.ndarray out not None,
                    cnp.ndarray indices, tuple kernel, tuple stride,
                    tuple padding, tuple dilation, int n_threads):
    """Write max_pool2d of each plane of x (..., H, W) into out (...,
    H_out, W_out) (and the flat argmax into int64 `indices`, of out's shape,
    unless it is None).  The arrays must be C-contiguous, aligned and
    native, out of x's type (an integer or float32/64 type); the Python
    front validates the geometry.  Returns the largest OpenMP team that ran
    (for the tests of thread controls)."""
    cdef Py_ssize_t n
    cdef PoolGeometry g = _geometry(x, out, kernel, stride, padding,
                                    dilation, &n)
    cdef int64_t *idx = NULL
    cdef void *xp = cnp.PyArray_DATA(x)
    cdef void *op = cnp.PyArray_DATA(out)
    cdef char kind = _kind(x)
    cdef Py_ssize_t size = cnp.PyArray_ITEMSIZE(x)
    if indices is not None:
        if (_planes_of(indices, b"indices") != n
                or cnp.PyArray_SIZE(indices) != cnp.PyArray_SIZE(out)
                or _kind(indices) != b"i"
                or cnp.PyArray_ITEMSIZE(indices) != 8
                or not cnp.PyArray_ISWRITEABLE(indices)):
            raise ValueError("indices must be a writeable int64 array of "
                             "out's shape")
        idx = <int64_t *> cnp.PyArray_DATA(indices)
    if n == 0 or g.out_h == 0 or g.out_w == 0:
        return 0
    if kind == b"f" and size == 4:
        return _max_run(<const float *> xp, n, &g, <float *> op, idx, n_threads)
    if kind == b"f" and size == 8:
        return _max_run(<const double *> xp, n, &g, <double *> op, idx, n_threads)
    if kind == b"i" and size == 1:
        return _max_run(<const int8_t *> xp, n, &g, <int8_t *> op, idx, n_threads)
    if kind == b"u" and size == 1:
        return _max_run(<const uint8_t *> xp, n, &g, <uint8_t *> op, idx, n_threads)
    if kind == b"i" and size == 2:
        return _max_run(<const int16_t *> xp, n, &g, <int16_t *> op, idx, n_threads)
    if kind == b"u" and size == 2:
        return _max_run(<const uint16_t *> xp, n, &g, <uint16_t *> op, idx, n_threads)
    if kind == b"i" and size == 4:
        return _max_run(<const int32_t *> xp, n, &g, <int32_t *> op, idx, n_threads)
    if kind == b"u" and size == 4:
        return _max_run(<const uint32_t *> xp, n, &g, <uint32_t *> op, idx, n_threads)
    if kind == b"i" and size == 8:
        return _max_run(<const int64_t *> xp, n, &g, <int64_t *> op, idx, n_threads)
    if kind == b"u" and size == 8:
        return _max_run(<const uint64_t *> xp, n, &g, <uint64_t *> op, idx, n_threads)
    raise TypeError(f"no max pooling kernel for {x.dtype}")


def avg_pool2d_into(cnp.ndarray x not None, cnp.ndarray out not None,
                    tuple kernel, tuple stride, tuple padding,
                    bint count_include_pad, int64_t divisor_override,
                    int n_threads):
    """Write avg_pool2d of each plane of x (..., H, W) into out (...,
    H_out, W_out); divisor_override 0 means none.  x is an integer or a
    float32/64 type; floats are averaged in their type, integers summed in
    64 bits.  The arrays must be C-contiguous, aligned and native, out of
    x's type; the Python front validates the geometry.  Returns the largest
    OpenMP team that ran (for the tests of thread controls)."""
    cdef Py_ssize_t n
    cdef PoolGeometry g = _geometry(x, out, kernel, stride, padding, (1, 1),
                                    &n)
    cdef void *xp = cnp.PyArray_DATA(x)
    cdef void *op = cnp.PyArray_DATA(out)
    cdef char kind = _kind(x)
    cdef Py_ssize_t size = cnp.PyArray_ITEMSIZE(x)
    cdef bint pad = count_include_pad
    cdef int64_t div = divisor_override
    if n == 0 or g.out_h == 0 or g.out_w == 0:
        return 0
    if kind == b"f" and size == 4:
        return _avg_run(<const float *> xp, n, &g, pad, div, <float *> op, n_threads)
    if kind == b"f" and size == 8:
        return _avg_run(<const double *> xp, n, &g, pad, div, <double *> op, n_threads)
    if kind == b"i" and size == 1:
        return _avg_run(<const int8_t *> xp, n, &g, pad, div, <int8_t *> op, n_threads)
    if kind == b"u" and size == 1:
        return _avg_run(<const uint8_t *> xp, n, &g, pad, div, <uint8_t *> op, n_threads)
    if kind == b"i" and size == 2:
        return _avg_run(<const int16_t *> xp, n, &g, pad, div, <int16_t *> op, n_threads)
    if kind == b"u" and size == 2:
        return _avg_run(<const uint16_t *> xp, n, &g, pad, div, <uint16_t *> op, n_threads)
    if kind == b"i" and size == 4:
        return _avg_run(<const int32_t *> xp, n, &g, pad, div, <int32_t *> op, n_threads)
    if kind == b"u" and size == 4:
        return _avg_run(<const uint32_t *> xp, n, &g, pad, div, <uint32_t *> op, n_threads)
    if kind == b"i" and size == 8:
        return _avg_run(<const int64_t *> xp, n, &g, pad, div, <int64_t *> op, n_threads)
    if kind == b"u" and size == 8:
        return _avg_run(<const uint64_t *> xp, n, &g, pad, div, <uint64_t *> op, n_threads)
    raise TypeError(f"no average pooling kernel for {x.dtype}")


def _set_window_outputs(Py_ssize_t n):
    """Test hook: pool rows of at most n outputs window by window (0: none,
    a huge n: all); returns the previous n."""
    global WINDOW_OUTPUTS
    old = WINDOW_OUTPUTS
    WINDOW_OUTPUTS = n
    return old


def _set_isa_cap(name):
    """Test hook: run no stride-2 kernel (src/pcx_pool_s2_body.h) above
    "baseline" (none), "avx2" or "avx512" (None: the best the CPU runs);
    returns the previous cap."""
    caps = {None: 99, "baseline": 1, "avx2": 3, "avx512": 4}
    old = pcx_pool_set_isa_cap(caps[name])
    return {v: k for k, v in caps.items()}[old]
