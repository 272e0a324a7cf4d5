"""Typed, GIL-free conv2d engine (direct convolution).

For each (image, group, block of output rows) -- one OpenMP work item --
the input rows a window needs are padded (by `padding_mode`), split into
`stride` phases so that strided taps read contiguous memory, and kept in a
ring; one output row of all the group's output channels is then a small
matrix product over the taps (C_in/groups * kh * kw of them), done by the C
micro-kernel in src/pcx_conv_tile.h with several channels and two SIMD
vectors of columns held in registers.

Each output element is computed by one thread in a fixed order, so results
do not depend on the thread count.  Workspace per work item:
C_in/groups * ((kh-1)*dh + 1) padded rows plus two pointer arrays.
"""

from cython.parallel cimport prange
from libc.stdlib cimport malloc, free
from libc.string cimport memcpy, memset

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
cdef Py_ssize_t SERIAL_WORK = 1 << 18


cdef inline Py_ssize_t _extend(Py_ssize_t i, Py_ssize_t n, int mode) noexcept nogil:
    if mode == PAD_REFLECT:
        return reflect_index(i, n)
    if mode == PAD_REPLICATE:
        return clamp_index(i, n)
    if mode == PAD_CIRCULAR:
        return wrap_index(i, n)
    return symmetric_index(i, n)


cdef void _phased_row(conv_t *dst, Py_ssize_t phase_len, const conv_t *plane,
                      Py_ssize_t h, Py_ssize_t w, Py_ssize_t row,
                      Py_ssize_t pl, Py_ssize_t sw, int mode) noexcept nogil:
    """dst[p*phase_len + j] = padded input row `row`, padded column j*sw + p.

    `row` is an image row index (outside [0, h) in the padding); positions
    past the padded row are only ever read into discarded outputs.
    """
    cdef Py_ssize_t p, j, lo, hi
    cdef const conv_t *src
    cdef conv_t *d
    if row < 0 or row >= h:
        if mode == PAD_ZEROS:
            memset(dst, 0, sw * phase_len * sizeof(conv_t))
            return
        row = _extend(row, h, mode)
    src = plane + row * w
    for p in range(sw):
        d = dst + p * phase_len
        # Image column of position j is j*sw + p - pl; [lo, hi) is inside.
        lo = min(max((pl - p + sw - 1) // sw, 0), phase_len)
        hi = min(max((w + pl - p + sw - 1) // sw, lo), phase_len)
        for j in range(lo):
            d[j] = 0 if mode == PAD_ZEROS else src[_extend(j * sw + p - pl, w, mode)]
        if sw == 1:
            if hi > lo:
                memcpy(d + lo, src + (lo - pl), (hi - lo) * sizeof(conv_t))
        else:
            for j in range(lo, hi):
                d[j] = src[j * sw + p - pl]
        for j in range(hi, phase_len):
            d[j] = 0 if mode == PAD_ZEROS else src[_extend(j * sw + p - pl, w, mode)]


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
    cdef Py_ssize_t span = (kh - 1) * dh + 1          # ring slots
    cdef Py_ssize_t slack = pcx_conv_slack_f32 if conv_t is float else pcx_conv_slack_f64
    cdef Py_ssize_t phase_len = ow + ((kw - 1) * dw) // sw + slack
    cdef Py_ssize_t slot_size = sw * phase_len
    cdef Py_ssize_t r, i, ci, u, v, s, co, oy
    cdef const conv_t *planes = x + (img * c_in + g * cg_in) * h * w
    cdef conv_t *out_planes = out + (img * c_out + g * cg_out) * oh * ow
    cdef conv_t *ring = <conv_t *> malloc(max(1, cg_in * span * slot_size) * sizeof(conv_t))
    cdef Py_ssize_t *ring_row = <Py_ssize_t *> malloc(span * sizeof(Py_ssize_t))
    cdef const conv_t **taps = <const conv_t **> malloc(max(1, n_taps) * sizeof(conv_t *))
    cdef conv_t **outs = <conv_t **> malloc(max(1, cg_out) * sizeof(conv_t *))
    # Per kernel column: offset of its tap in a phased row; per kernel row:
    # the ring row it reads (this output row).
    cdef Py_ssize_t *col_off = <Py_ssize_t *> malloc(kw * sizeof(Py_ssize_t))
    cdef conv_t **row_of = <conv_t **> malloc(kh * sizeof(conv_t *))
    cdef conv_t *rowp
    if (ring == NULL or ring_row == NULL or taps == NULL or outs == NULL
            or col_off == NULL or row_of == NULL):
        free(ring)
        free(ring_row)
        free(<void *> taps)
        free(outs)
        free(col_off)
        free(row_of)
        return -1
    for v in range(kw):
        col_off[v] = ((v * dw) % sw) * phase_len + (v * dw) // sw

    for s in range(span):
        ring_row[s] = -1      # padded row indices are >= 0
    for oy in range(oh0, oh1):
        for u in range(kh):
            r = oy * sh + u * dh                       # padded row index
            s = r % span
            if ring_row[s] != r:
                for ci in range(cg_in):
                    _phased_row(ring + (ci * span + s) * slot_size, phase_len,
                                planes + ci * h * w, h, w, r - pt, pl, sw, mode)
                ring_row[s] = r
        for u in range(kh):
            row_of[u] = ring + ((oy * sh + u * dh) % span) * slot_size
        i = 0
        for ci in range(cg_in):
            for u in range(kh):
                rowp = row_of[u] + ci * span * slot_size
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
    return 0


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
    h, w >= 1 unless padding_mode is PAD_ZEROS.
    """
    cdef Py_ssize_t planes = n * groups
    cdef Py_ssize_t row_blocks, rows_per_block, n_items, item, p, oh0
    cdef int failed = 0
    cdef Py_ssize_t n_taps = (c_in // groups) * kh * kw
    cdef Py_ssize_t cg_out = c_out // groups
    cdef conv_t *packed = <conv_t *> malloc(max(1, c_out * n_taps) * sizeof(conv_t))
    if packed == NULL:
        return -1
    for p in range(groups):
        _pack(packed + p * cg_out * n_taps, weight + p * cg_out * n_taps,
              cg_out, n_taps)
    if n * c_out * oh * ow * (c_in // groups) * kh * kw < SERIAL_WORK:
        n_threads = 1
    # Enough items for about four per thread; whole images and groups first.
    row_blocks = min(oh, max(1, (4 * n_threads + planes - 1) // planes))
    rows_per_block = (oh + row_blocks - 1) // row_blocks
    row_blocks = (oh + rows_per_block - 1) // rows_per_block
    n_items = planes * row_blocks
    n_threads = <int> min(<Py_ssize_t> n_threads, n_items)

    for item in prange(n_items, num_threads=n_threads, schedule='static'):
        p = item // row_blocks
        oh0 = (item % row_blocks) * rows_per_block
        failed += _conv_item(x, c_in, h, w, packed, c_out, kh, kw, bias, out,
                             oh, ow, sh, sw, pt, pl, dh, dw, groups,
                             padding_mode, p // groups, p % groups, oh0,
                             min(oh0 + rows_per_block, oh))
    free(packed)
    return -1 if failed else 0


def conv2d_forward(const conv_t[:, :, :, ::1] x not None,
                   const conv_t[:, :, :, ::1] weight not None,
                   const conv_t[::1] bias not None,
                   conv_t[:, :, :, ::1] out not None,
                   Py_ssize_t sh, Py_ssize_t sw, Py_ssize_t pt, Py_ssize_t pl,
                   Py_ssize_t dh, Py_ssize_t dw, Py_ssize_t groups,
                   int padding_mode, int n_threads):
    """Write conv2d(x, weight) + bias into out (validated by the front)."""
    cdef int status
    cdef const conv_t *xp
    cdef const conv_t *wp
    if out.shape[0] == 0 or out.shape[1] == 0 or out.shape[2] == 0 or out.shape[3] == 0:
        return
    # An empty input (C_in == 0) or kernel has no element to point at.
    xp = &x[0, 0, 0, 0] if x.size else NULL
    wp = &weight[0, 0, 0, 0] if weight.size else NULL
    with nogil:
        status = conv2d_nchw(
            xp, x.shape[0], x.shape[1], x.shape[2], x.shape[3],
            wp, weight.shape[0], weight.shape[2], weight.shape[3],
            &bias[0], &out[0, 0, 0, 0], out.shape[2], out.shape[3],
            sh, sw, pt, pl, dh, dw, groups, padding_mode, n_threads)
    if status != 0:
        raise MemoryError("pyconvx: out of memory for the conv2d workspace")
