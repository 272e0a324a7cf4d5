"""Typed, GIL-free conv2d engine (direct convolution).

For each (image, group, block of output rows) -- one OpenMP work item --
the input rows a window needs are padded (by `padding_mode`), split into
the `stride` phases the taps use so that strided taps read contiguous
memory, and kept in a ring; one output row of all the group's output channels is then a small
matrix product over the taps (C_in/groups * kh * kw of them), done by the C
micro-kernel in src/pcx_conv_tile.h with several channels and two SIMD
vectors of columns held in registers.

Each output element is computed by one thread in a fixed order, so results
do not depend on the thread count.  Workspace per work item:
C_in/groups * min((kh-1)*dh + 1, ...) gathered rows of at most
min(phases, kw) * (ow + (kw-1)*dw/sw + slack) elements -- bounded by the
output width and kernel, whatever the stride and dilation -- plus pointer
arrays.  The
Python entry point runs the items in waves with a signal check between them
(see _waves.pxd).
"""

from cython.parallel cimport prange
from libc.stdlib cimport malloc, free
from libc.string cimport memcpy, memset

from ._waves cimport Waves, waves_start, waves_next
from ._openmp cimport omp_get_num_threads
from ._indexing cimport (wrap_index, symmetric_index, reflect_index,
                         clamp_index)

cdef extern from "pcx_conv_tile.h" nogil:
    const Py_ssize_t pcx_conv_slack_f32
    const Py_ssize_t pcx_conv_slack_f64
    void pcx_conv_rows_f32(float **out, Py_ssize_t n_out_rows, Py_ssize_t n_cols,
                           const float **taps, Py_ssize_t n_taps,
                           const float *w, const float *bias)
    void pcx_conv_rows_f64(double **out, Py_ssize_t n_out_rows, Py_ssize_t n_cols,
                           const double **taps, Py_ssize_t n_taps,
                           const double *w, const double *bias)
    void pcx_conv_rows_f32_pack(float *packed, const float *w, Py_ssize_t n_rows,
                                Py_ssize_t n_taps)
    void pcx_conv_rows_f64_pack(double *packed, const double *w, Py_ssize_t n_rows,
                                Py_ssize_t n_taps)

# Below this many multiply-adds one thread beats starting a team.
cdef double SERIAL_WORK = 1 << 18
# Multiply-adds per work item, at most (roughly): about a millisecond.
cdef double ITEM_WORK = 1 << 25


cdef inline Py_ssize_t _extend(Py_ssize_t i, Py_ssize_t n, int mode) noexcept nogil:
    if mode == PAD_REFLECT:
        return reflect_index(i, n)
    if mode == PAD_REPLICATE:
        return clamp_index(i, n)
    if mode == PAD_CIRCULAR:
        return wrap_index(i, n)
    return symmetric_index(i, n)


cdef void _gather_row(conv_t *dst, Py_ssize_t seg_len,
                      const Py_ssize_t *seg_start, Py_ssize_t n_segs,
                      const conv_t *plane, Py_ssize_t h, Py_ssize_t w,
                      Py_ssize_t row, Py_ssize_t pl, Py_ssize_t sw,
                      int mode) noexcept nogil:
    """dst[k*seg_len + j] = padded input row `row`, padded column
    seg_start[k] + j*sw.

    `row` is an image row index (outside [0, h) in the padding); positions
    past the padded row are only ever read into discarded outputs.
    """
    cdef Py_ssize_t k, j, lo, hi, c0
    cdef const conv_t *src
    cdef conv_t *d
    if row < 0 or row >= h:
        if mode == PAD_ZEROS:
            memset(dst, 0, n_segs * seg_len * sizeof(conv_t))
            return
        row = _extend(row, h, mode)
    src = plane + row * w
    for k in range(n_segs):
        d = dst + k * seg_len
        c0 = seg_start[k] - pl          # image column of position 0
        # Image column of position j is c0 + j*sw; [lo, hi) is inside.
        lo = min(max((-c0 + sw - 1) // sw, 0), seg_len)
        hi = min(max((w - c0 + sw - 1) // sw, lo), seg_len)
        for j in range(lo):
            d[j] = 0 if mode == PAD_ZEROS else src[_extend(c0 + j * sw, w, mode)]
        if sw == 1:
            if hi > lo:
                memcpy(d + lo, src + (c0 + lo), (hi - lo) * sizeof(conv_t))
        else:
            for j in range(lo, hi):
                d[j] = src[c0 + j * sw]
        for j in range(hi, seg_len):
            d[j] = 0 if mode == PAD_ZEROS else src[_extend(c0 + j * sw, w, mode)]


cdef inline void _conv_rows(conv_t **out, Py_ssize_t n_out_rows,
                            Py_ssize_t n_cols, const conv_t **taps,
                            Py_ssize_t n_taps, const conv_t *w,
                            const conv_t *bias) noexcept nogil:
    if conv_t is float:
        pcx_conv_rows_f32(out, n_out_rows, n_cols, taps, n_taps, w, bias)
    else:
        pcx_conv_rows_f64(out, n_out_rows, n_cols, taps, n_taps, w, bias)


cdef inline void _pack(conv_t *packed, const conv_t *w, Py_ssize_t n_rows,
                       Py_ssize_t n_taps) noexcept nogil:
    if conv_t is float:
        pcx_conv_rows_f32_pack(packed, w, n_rows, n_taps)
    else:
        pcx_conv_rows_f64_pack(packed, w, n_rows, n_taps)


cdef int _conv_item(
    const conv_t *x, Py_ssize_t c_in, Py_ssize_t h, Py_ssize_t w,
    const conv_t *weight, Py_ssize_t c_out, Py_ssize_t kh, Py_ssize_t kw,
    const conv_t *bias, conv_t *out, Py_ssize_t oh, Py_ssize_t ow,
    Py_ssize_t sh, Py_ssize_t sw, Py_ssize_t pt, Py_ssize_t pl,
    Py_ssize_t dh, Py_ssize_t dw, Py_ssize_t groups, int mode,
    Py_ssize_t img, Py_ssize_t g, Py_ssize_t oh0, Py_ssize_t oh1,
) noexcept nogil:
    """Output rows [oh0, oh1) of every channel of group g of image img.

    `weight` is packed per group (see _pack)."""
    cdef Py_ssize_t cg_in = c_in // groups, cg_out = c_out // groups
    cdef Py_ssize_t n_taps = cg_in * kh * kw
    # Rows: a ring of `span` slots caches the padded rows the dilated kernel
    # covers, each filled once per work item -- unless a huge dilation makes
    # the span far longer than the kernel: then one slot per kernel row.
    cdef Py_ssize_t span = (kh - 1) * dh + 1
    cdef bint use_ring = span <= max(4 * kh, 64)
    cdef Py_ssize_t n_slots = span if use_ring else kh
    # Columns: a padded row is stored as segments of columns start + j*sw.
    # Usually one segment per stride phase that taps use (start = phase), so
    # that overlapping taps share it; when strides or dilations are so large
    # that taps hardly overlap, one segment of ow columns per kernel column.
    cdef Py_ssize_t slack = pcx_conv_slack_f32 if conv_t is float else pcx_conv_slack_f64
    cdef Py_ssize_t phase_len = ow + ((kw - 1) * dw) // sw + slack
    cdef Py_ssize_t n_phases = 0
    cdef Py_ssize_t *seg_start = <Py_ssize_t *> malloc(kw * sizeof(Py_ssize_t))
    cdef Py_ssize_t n_segs, seg_len, slot_size, k
    cdef Py_ssize_t r, i, ci, u, v, s, co, oy
    cdef const conv_t *planes = x + (img * c_in + g * cg_in) * h * w
    cdef conv_t *out_planes = out + (img * c_out + g * cg_out) * oh * ow
    cdef conv_t *ring = NULL
    cdef Py_ssize_t *ring_row = <Py_ssize_t *> malloc(n_slots * sizeof(Py_ssize_t))
    cdef const conv_t **taps = <const conv_t **> malloc(max(1, n_taps) * sizeof(conv_t *))
    cdef conv_t **outs = <conv_t **> malloc(max(1, cg_out) * sizeof(conv_t *))
    # Per kernel column: offset of its tap in a gathered row; per kernel
    # row: the ring row it reads (this output row).
    cdef Py_ssize_t *col_off = <Py_ssize_t *> malloc(kw * sizeof(Py_ssize_t))
    cdef conv_t **row_of = <conv_t **> malloc(kh * sizeof(conv_t *))
    cdef conv_t *rowp
    if seg_start != NULL and col_off != NULL:
        for v in range(kw):
            for k in range(n_phases):
                if seg_start[k] == (v * dw) % sw:
                    break
            else:
                seg_start[n_phases] = (v * dw) % sw
                k = n_phases
                n_phases += 1
            col_off[v] = k * phase_len + (v * dw) // sw
        if <double> kw * (ow + slack) < <double> n_phases * phase_len:
            n_segs, seg_len = kw, ow + slack
            for v in range(kw):
                seg_start[v] = v * dw
                col_off[v] = v * seg_len
        else:
            n_segs, seg_len = n_phases, phase_len
        slot_size = n_segs * seg_len
        # (A size past any address space would wrap in Py_ssize_t.)
        if <double> cg_in * n_slots * slot_size * sizeof(conv_t) < 1e18:
            ring = <conv_t *> malloc(max(1, cg_in * n_slots * slot_size)
                                     * sizeof(conv_t))
    if (ring == NULL or ring_row == NULL or taps == NULL or outs == NULL
            or col_off == NULL or row_of == NULL or seg_start == NULL):
        free(ring)
        free(ring_row)
        free(<void *> taps)
        free(outs)
        free(col_off)
        free(row_of)
        free(seg_start)
        return -1

    for s in range(n_slots):
        ring_row[s] = -1      # padded row indices are >= 0
    for oy in range(oh0, oh1):
        for u in range(kh):
            r = oy * sh + u * dh                       # padded row index
            s = r % span if use_ring else u
            if ring_row[s] != r:
                for ci in range(cg_in):
                    _gather_row(ring + (ci * n_slots + s) * slot_size, seg_len,
                                seg_start, n_segs, planes + ci * h * w, h, w,
                                r - pt, pl, sw, mode)
                ring_row[s] = r
            row_of[u] = ring + s * slot_size
        i = 0
        for ci in range(cg_in):
            for u in range(kh):
                rowp = row_of[u] + ci * n_slots * slot_size
                for v in range(kw):
                    taps[i] = rowp + col_off[v]
                    i += 1
        for co in range(cg_out):
            outs[co] = out_planes + (co * oh + oy) * ow
        _conv_rows(outs, cg_out, ow, taps, n_taps,
                   weight + g * cg_out * n_taps, bias + g * cg_out)

    free(ring)
    free(ring_row)
    free(<void *> taps)
    free(outs)
    free(col_off)
    free(row_of)
    free(seg_start)
    return 0


cdef struct _Plan:
    Py_ssize_t row_blocks, rows_per_block   # items: (image, group, row block)
    Py_ssize_t n_items
    int n_threads


cdef inline double _work(Py_ssize_t n, Py_ssize_t c_in, Py_ssize_t c_out,
                         Py_ssize_t oh, Py_ssize_t ow, Py_ssize_t kh,
                         Py_ssize_t kw, Py_ssize_t groups) noexcept nogil:
    """Multiply-adds, in double: the product of the sizes may not fit."""
    return <double> n * c_out * oh * ow * (c_in // groups) * kh * kw


cdef _Plan _plan(Py_ssize_t n, Py_ssize_t c_in, Py_ssize_t c_out,
                 Py_ssize_t oh, Py_ssize_t ow, Py_ssize_t kh, Py_ssize_t kw,
                 Py_ssize_t groups, int n_threads) noexcept nogil:
    """Whole images and groups first, then blocks of rows: enough items for
    about four per thread, none much above ITEM_WORK multiply-adds (so that
    a wave, see _waves.pxd, ends soon after Ctrl-C)."""
    cdef _Plan p
    cdef Py_ssize_t planes = n * groups
    cdef double work = _work(n, c_in, c_out, oh, ow, kh, kw, groups)
    cdef Py_ssize_t split = <Py_ssize_t> min(work / planes / ITEM_WORK + 1.0,
                                             <double> oh)
    if work < SERIAL_WORK:
        n_threads = 1
    p.row_blocks = min(oh, max(split, (4 * n_threads + planes - 1) // planes))
    p.rows_per_block = (oh + p.row_blocks - 1) // p.row_blocks
    p.row_blocks = (oh + p.rows_per_block - 1) // p.rows_per_block
    p.n_items = planes * p.row_blocks
    p.n_threads = <int> min(<Py_ssize_t> n_threads, p.n_items)
    return p


cdef int _conv_items(
    const conv_t *x, Py_ssize_t c_in, Py_ssize_t h, Py_ssize_t w,
    const conv_t *packed, Py_ssize_t c_out, Py_ssize_t kh, Py_ssize_t kw,
    const conv_t *bias, conv_t *out, Py_ssize_t oh, Py_ssize_t ow,
    Py_ssize_t sh, Py_ssize_t sw, Py_ssize_t pt, Py_ssize_t pl,
    Py_ssize_t dh, Py_ssize_t dw, Py_ssize_t groups, int padding_mode,
    const _Plan *plan, Py_ssize_t i0, Py_ssize_t i1,
) noexcept nogil:
    """Items [i0, i1) of `plan`, weights packed by _pack_groups; returns the
    number of threads that ran them, or -1 if memory ran out."""
    cdef Py_ssize_t item, p, oh0
    cdef int failed = 0, team = 1
    cdef int n_threads = <int> min(<Py_ssize_t> plan.n_threads, i1 - i0)
    for item in prange(i0, i1, num_threads=n_threads, schedule='static'):
        team = omp_get_num_threads()
        p = item // plan.row_blocks
        oh0 = (item % plan.row_blocks) * plan.rows_per_block
        failed += _conv_item(x, c_in, h, w, packed, c_out, kh, kw, bias, out,
                             oh, ow, sh, sw, pt, pl, dh, dw, groups,
                             padding_mode, p // groups, p % groups, oh0,
                             min(oh0 + plan.rows_per_block, oh))
    return -1 if failed else team


cdef conv_t *_pack_groups(const conv_t *weight, Py_ssize_t c_out,
                          Py_ssize_t n_taps, Py_ssize_t groups) noexcept nogil:
    """The weights in the micro-kernel's order, group by group (free() it);
    NULL if memory ran out."""
    cdef Py_ssize_t cg_out = c_out // groups, g
    cdef conv_t *packed = <conv_t *> malloc(max(1, c_out * n_taps) * sizeof(conv_t))
    if packed != NULL:
        for g in range(groups):
            _pack(packed + g * cg_out * n_taps, weight + g * cg_out * n_taps,
                  cg_out, n_taps)
    return packed


cdef int conv2d_nchw(
    const conv_t *x, Py_ssize_t n, Py_ssize_t c_in, Py_ssize_t h, Py_ssize_t w,
    const conv_t *weight, Py_ssize_t c_out, Py_ssize_t kh, Py_ssize_t kw,
    const conv_t *bias, conv_t *out, Py_ssize_t oh, Py_ssize_t ow,
    Py_ssize_t sh, Py_ssize_t sw, Py_ssize_t pt, Py_ssize_t pl,
    Py_ssize_t dh, Py_ssize_t dw, Py_ssize_t groups, int padding_mode,
    int n_threads,
) noexcept nogil:
    """out = conv2d(x, weight) + bias; returns 0, or -1 if memory ran out.

    Requires n, c_out, oh, ow >= 1, groups dividing c_in and c_out, and
    h, w >= 1 unless padding_mode is PAD_ZEROS.  Runs to the end without
    looking at signals (no GIL here).
    """
    cdef _Plan plan = _plan(n, c_in, c_out, oh, ow, kh, kw, groups, n_threads)
    cdef conv_t *packed = _pack_groups(weight, c_out, (c_in // groups) * kh * kw,
                                       groups)
    cdef int status
    if packed == NULL:
        return -1
    status = _conv_items(x, c_in, h, w, packed, c_out, kh, kw, bias, out, oh,
                         ow, sh, sw, pt, pl, dh, dw, groups, padding_mode,
                         &plan, 0, plan.n_items)
    free(packed)
    return -1 if status < 0 else 0


def conv2d_forward(const conv_t[:, :, :, ::1] x not None,
                   const conv_t[:, :, :, ::1] weight not None,
                   const conv_t[::1] bias not None,
                   conv_t[:, :, :, ::1] out not None,
                   Py_ssize_t sh, Py_ssize_t sw, Py_ssize_t pt, Py_ssize_t pl,
                   Py_ssize_t dh, Py_ssize_t dw, Py_ssize_t groups,
                   int padding_mode, int n_threads):
    """Write conv2d(x, weight) + bias into out (validated by the front).

    Checks for signals between waves of items: on KeyboardInterrupt `out`
    is partly written.  Returns the largest OpenMP team that ran (for the
    tests of thread controls)."""
    cdef int status = 0, team = 1
    cdef const conv_t *xp
    cdef conv_t *packed
    cdef Py_ssize_t n = x.shape[0], c_in = x.shape[1], h = x.shape[2], w = x.shape[3]
    cdef Py_ssize_t c_out = weight.shape[0], kh = weight.shape[2], kw = weight.shape[3]
    cdef Py_ssize_t oh = out.shape[2], ow = out.shape[3]
    cdef _Plan plan
    cdef Waves waves
    if out.shape[0] == 0 or out.shape[1] == 0 or oh == 0 or ow == 0:
        return 0
    # An empty input (C_in == 0) or kernel has no element to point at.
    xp = &x[0, 0, 0, 0] if x.size else NULL
    packed = _pack_groups(&weight[0, 0, 0, 0] if weight.size else NULL, c_out,
                          (c_in // groups) * kh * kw, groups)
    if packed == NULL:
        raise MemoryError("pyconvx: out of memory for the conv2d weights")
    try:
        plan = _plan(n, c_in, c_out, oh, ow, kh, kw, groups, n_threads)
        waves = waves_start(plan.n_items, plan.n_threads,
                            _work(n, c_in, c_out, oh, ow, kh, kw, groups))
        while waves_next(&waves):
            with nogil:
                status = _conv_items(
                    xp, c_in, h, w, packed, c_out, kh, kw, &bias[0],
                    &out[0, 0, 0, 0], oh, ow, sh, sw, pt, pl, dh, dw, groups,
                    padding_mode, &plan, waves.begin, waves.end)
            if status < 0:
                raise MemoryError("pyconvx: out of memory for the conv2d workspace")
            team = max(team, status)
    finally:
        free(packed)
    return team
