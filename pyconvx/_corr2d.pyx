"""Typed, GIL-free driver of the 2-D correlation kernel.

out[m, n] = sum_{j<kh, k<kw} kernel[j, k] * padded[m + j', n + k']

where ``padded`` is the image extended by ``boundary`` with ``pad_top`` rows
above and ``pad_left`` columns to the left, and (j', k') = (j, k) for a
correlation or (kh-1-j, kw-1-k) for a convolution (``flip``).  The products
are summed in the order of ``kernel``, as scipy.signal does, so float results
match scipy.signal.correlate2d / convolve2d bit for bit.

Work is split into blocks of output rows (and, for short outputs, of
columns); each output element is computed by exactly one thread, so the
result does not depend on the thread count.  Each block keeps a ring of kh
padded input rows, so padding costs one row copy per output row; blocks of
long rows read the image in place where the windows lie inside it, and
copy only the columns at their edges.  The
Python entry point runs the blocks in waves with a signal check between them
(see _waves.pxd).
"""

cimport cython
from cython.parallel cimport prange
from libc.stdlib cimport malloc, free
from libc.string cimport memcpy
from libc.stdint cimport uint8_t, uint16_t, uint32_t, uint64_t

from ._indexing cimport floor_mod, wrap_index, symmetric_index
from ._waves cimport Waves, waves_start, waves_next
from ._openmp cimport omp_get_num_threads

cimport numpy as cnp

cnp.import_array()

cdef extern from "numpy/arrayobject.h":
    # numpy's .pxd declares `except 0`, but 0 is NPY_BOOL, a valid answer.
    int _object_type "PyArray_ObjectType" (object op, int min_type) except? -1

cdef extern from "pcx_corr_rows.h" nogil:
    void pcx_corr_rows_u8(uint8_t *out, Py_ssize_t n_out, const uint8_t **rows, Py_ssize_t n_rows, const uint8_t *coef, Py_ssize_t kw, Py_ssize_t step)
    void pcx_corr_rows_u16(uint16_t *out, Py_ssize_t n_out, const uint16_t **rows, Py_ssize_t n_rows, const uint16_t *coef, Py_ssize_t kw, Py_ssize_t step)
    void pcx_corr_rows_u32(uint32_t *out, Py_ssize_t n_out, const uint32_t **rows, Py_ssize_t n_rows, const uint32_t *coef, Py_ssize_t kw, Py_ssize_t step)
    void pcx_corr_rows_u64(uint64_t *out, Py_ssize_t n_out, const uint64_t **rows, Py_ssize_t n_rows, const uint64_t *coef, Py_ssize_t kw, Py_ssize_t step)
    void pcx_corr_rows_f32(float *out, Py_ssize_t n_out, const float **rows, Py_ssize_t n_rows, const float *coef, Py_ssize_t kw, Py_ssize_t step)
    void pcx_corr_rows_f64(double *out, Py_ssize_t n_out, const double **rows, Py_ssize_t n_rows, const double *coef, Py_ssize_t kw, Py_ssize_t step)
    void pcx_corr_rows_f80(long double *out, Py_ssize_t n_out, const long double **rows, Py_ssize_t n_rows, const long double *coef, Py_ssize_t kw, Py_ssize_t step)
    void pcx_corr_rows_c64(float complex *out, Py_ssize_t n_out, const float complex **rows, Py_ssize_t n_rows, const float complex *coef, Py_ssize_t kw, Py_ssize_t step)
    void pcx_corr_rows_c128(double complex *out, Py_ssize_t n_out, const double complex **rows, Py_ssize_t n_rows, const double complex *coef, Py_ssize_t kw, Py_ssize_t step)
    void pcx_corr_rows_c160(long double complex *out, Py_ssize_t n_out, const long double complex **rows, Py_ssize_t n_rows, const long double complex *coef, Py_ssize_t kw, Py_ssize_t step)
    int pcx_corr_set_isa_cap(int cap)

# Below this many multiply-adds one thread beats starting a team.
cdef double SERIAL_WORK = 1 << 17
# Narrowest column block worth giving a thread of its own.
cdef Py_ssize_t MIN_BLOCK_COLS = 256
# Blocks whose padded rows are longer than this many bytes read the image in
# place between the edges (see _correlate_block); shorter ones copy whole
# rows, cheaper than two more kernel calls per output row.  Measured, 3x3 to
# 7x7: rows of 4 KiB and more took 0.78-0.98x the time split, rows of 2 KiB
# 1.0-1.1x, of 512 bytes 1.15-1.29x.
cdef Py_ssize_t ROW_BYTES = 3072
# Multiply-adds per block, at most (roughly): 2-10 ms at the slow types.
cdef double ITEM_WORK = 1 << 22


cdef inline void _corr_rows(corr2d_scalar_t *out, Py_ssize_t n_out,
                            const corr2d_scalar_t **rows, Py_ssize_t n_rows,
                            const corr2d_scalar_t *coef, Py_ssize_t kw,
                            Py_ssize_t step) noexcept nogil:
    # Compile-time selection of the C instantiation for this type.
    if corr2d_scalar_t is uint8_t:
        pcx_corr_rows_u8(out, n_out, rows, n_rows, coef, kw, step)
    elif corr2d_scalar_t is uint16_t:
        pcx_corr_rows_u16(out, n_out, rows, n_rows, coef, kw, step)
    elif corr2d_scalar_t is uint32_t:
        pcx_corr_rows_u32(out, n_out, rows, n_rows, coef, kw, step)
    elif corr2d_scalar_t is uint64_t:
        pcx_corr_rows_u64(out, n_out, rows, n_rows, coef, kw, step)
    elif corr2d_scalar_t is float:
        pcx_corr_rows_f32(out, n_out, rows, n_rows, coef, kw, step)
    elif corr2d_scalar_t is double:
        pcx_corr_rows_f64(out, n_out, rows, n_rows, coef, kw, step)
    elif corr2d_scalar_t is cython.longdouble:
        pcx_corr_rows_f80(out, n_out, rows, n_rows, coef, kw, step)
    elif corr2d_scalar_t is cython.floatcomplex:
        pcx_corr_rows_c64(out, n_out, rows, n_rows, coef, kw, step)
    elif corr2d_scalar_t is cython.doublecomplex:
        pcx_corr_rows_c128(out, n_out, rows, n_rows, coef, kw, step)
    else:
        pcx_corr_rows_c160(out, n_out, rows, n_rows, coef, kw, step)


cdef inline Py_ssize_t _extend(Py_ssize_t i, Py_ssize_t n, int boundary) noexcept nogil:
    if boundary == BOUNDARY_WRAP:
        return wrap_index(i, n)
    return symmetric_index(i, n)


cdef void _padded_row(corr2d_scalar_t *dst, Py_ssize_t n,
                      const corr2d_scalar_t *image, Py_ssize_t height,
                      Py_ssize_t width, Py_ssize_t q, Py_ssize_t c0,
                      int boundary, corr2d_scalar_t fill) noexcept nogil:
    """dst[p] = image row q, column c0 + p, extended by `boundary` (p < n)."""
    cdef Py_ssize_t p, lo, hi
    cdef const corr2d_scalar_t *src
    if boundary == BOUNDARY_FILL and (q < 0 or q >= height):
        for p in range(n):
            dst[p] = fill
        return
    if q < 0 or q >= height:
        q = _extend(q, height, boundary)
    src = image + q * width
    # [lo, hi) are the positions that fall inside the image row.
    lo = min(max(-c0, 0), n)
    hi = min(max(width - c0, lo), n)
    if boundary == BOUNDARY_FILL:
        for p in range(lo):
            dst[p] = fill
        for p in range(hi, n):
            dst[p] = fill
    else:
        for p in range(lo):
            dst[p] = src[_extend(c0 + p, width, boundary)]
        for p in range(hi, n):
            dst[p] = src[_extend(c0 + p, width, boundary)]
    if hi > lo:
        memcpy(dst + lo, src + c0 + lo, (hi - lo) * sizeof(corr2d_scalar_t))


cdef inline void _tap_rows(
    const corr2d_scalar_t **rows, const corr2d_scalar_t *image,
    Py_ssize_t height, Py_ssize_t width, Py_ssize_t kh, Py_ssize_t m,
    Py_ssize_t pad_top, bint flip, Py_ssize_t offset, Py_ssize_t c0,
    Py_ssize_t n, corr2d_scalar_t *ring, Py_ssize_t *ring_row, int boundary,
    corr2d_scalar_t fill,
) noexcept nogil:
    """rows[j]: where output row m's tap row j starts, for the output
    columns whose padded input row (n positions) starts at image column c0:
    in the image itself where the whole of it lies inside, else in a ring
    of kh padded rows (padded row q in slot q mod kh; ring_row says which
    q)."""
    cdef bint inside = c0 >= 0 and c0 + n <= width
    cdef Py_ssize_t j, q, s
    cdef corr2d_scalar_t *slot
    for j in range(kh):
        q = m - pad_top + (kh - 1 - j if flip else j)
        if inside and 0 <= q < height:
            rows[j] = image + q * width + c0 + offset
        else:
            s = floor_mod(q, kh)
            slot = ring + s * n
            if ring_row[s] != q:
                _padded_row(slot, n, image, height, width, q, c0, boundary,
                            fill)
                ring_row[s] = q
            rows[j] = slot + offset


cdef int _correlate_block(
    const corr2d_scalar_t *image, Py_ssize_t height, Py_ssize_t width,
    const corr2d_scalar_t *kernel, Py_ssize_t kh, Py_ssize_t kw,
    corr2d_scalar_t *out, Py_ssize_t out_w,
    Py_ssize_t m0, Py_ssize_t m1, Py_ssize_t n0, Py_ssize_t n1,
    Py_ssize_t pad_top, Py_ssize_t pad_left, bint flip, int boundary,
    corr2d_scalar_t fill,
) noexcept nogil:
    """Output rows [m0, m1) x columns [n0, n1); returns -1 when out of memory.

    Long rows are cut into up to three segments of columns: those whose
    taps all fall inside the image's columns, read in place, and whole
    vectors left and right of them, read from padded copies of their few
    columns.  (A copy of the whole padded row per input row took a quarter
    of a 1024 x 1024 'same' correlation's time in float64.)  The cuts only
    decide speed: _tap_rows reads a segment in place only where it lies
    inside the image."""
    cdef Py_ssize_t step = -1 if flip else 1
    cdef Py_ssize_t offset = kw - 1 if flip else 0
    # Segment i: output columns [cut[i], cut[i + 1]).
    cdef Py_ssize_t cut[4]
    cdef Py_ssize_t m, i, s, n, v, edge, at, size = 0
    cdef corr2d_scalar_t *ring
    cdef Py_ssize_t *ring_row
    cdef const corr2d_scalar_t **rows
    cut[0] = n0
    cut[1] = n0
    cut[2] = n1
    cut[3] = n1
    if (n1 - n0 + kw - 1) * sizeof(corr2d_scalar_t) > ROW_BYTES:
        # Edges of whole 64-byte vectors, for the vector kernel.
        v = max(64 // sizeof(corr2d_scalar_t), 1)
        if pad_left > n0:
            cut[1] = min(n0 + (pad_left - n0 + v - 1) // v * v, n1)
        edge = width - kw + 1 + pad_left    # the first window past the right
        if edge < n1:
            cut[2] = max(n1 - (n1 - edge + v - 1) // v * v, cut[1])
    for i in range(3):
        if cut[i + 1] > cut[i]:
            size += cut[i + 1] - cut[i] + kw - 1
    ring = <corr2d_scalar_t *> malloc(kh * size * sizeof(corr2d_scalar_t))
    ring_row = <Py_ssize_t *> malloc(3 * kh * sizeof(Py_ssize_t))
    rows = <const corr2d_scalar_t **> malloc(kh * sizeof(corr2d_scalar_t *))
    if ring == NULL or ring_row == NULL or rows == NULL:
        free(ring)
        free(ring_row)
        free(<void *> rows)
        return -1

    for s in range(3 * kh):
        ring_row[s] = -1 - kh - pad_top - m1   # a row index no block uses

    for m in range(m0, m1):
        at = 0      # where the segment's ring starts (in padded rows)
        for i in range(3):
            n = cut[i + 1] - cut[i] + kw - 1
            if n < kw:
                continue
            _tap_rows(rows, image, height, width, kh, m, pad_top, flip,
                      offset, cut[i] - pad_left, n, ring + kh * at,
                      ring_row + kh * i, boundary, fill)
            _corr_rows(out + m * out_w + cut[i], n - kw + 1, rows, kh,
                       kernel, kw, step)
            at += n

    free(ring)
    free(ring_row)
    free(<void *> rows)
    return 0


cdef struct _Plan:
    Py_ssize_t row_block, col_block      # output rows / columns per block
    Py_ssize_t n_col_blocks, n_blocks    # blocks run as items b = r * n_col_blocks + c
    int n_threads


cdef inline double _work(Py_ssize_t out_h, Py_ssize_t out_w, Py_ssize_t kh,
                         Py_ssize_t kw) noexcept nogil:
    # In double: the product of four sizes may not fit an integer.
    return <double> out_h * out_w * kh * kw


cdef _Plan _plan(Py_ssize_t out_h, Py_ssize_t out_w, Py_ssize_t kh,
                 Py_ssize_t kw, int n_threads) noexcept nogil:
    """Blocks of output rows (and, for short outputs, of columns): about
    four per thread when there are several, and none much above ITEM_WORK
    multiply-adds, so that a wave (see _waves.pxd) can end soon after
    Ctrl-C."""
    cdef _Plan p
    cdef double work = _work(out_h, out_w, kh, kw)
    cdef Py_ssize_t want, n_row_blocks
    if work < SERIAL_WORK:
        n_threads = 1
    want = <Py_ssize_t> min(work / ITEM_WORK + 1.0, <double> out_h * out_w)
    if n_threads > 1:
        want = max(want, 4 * <Py_ssize_t> n_threads)
    n_row_blocks = min(out_h, want)
    p.n_col_blocks = max(1, min((want + n_row_blocks - 1) // n_row_blocks,
                                out_w // MIN_BLOCK_COLS))
    p.row_block = (out_h + n_row_blocks - 1) // n_row_blocks
    p.col_block = (out_w + p.n_col_blocks - 1) // p.n_col_blocks
    p.n_col_blocks = (out_w + p.col_block - 1) // p.col_block
    p.n_blocks = ((out_h + p.row_block - 1) // p.row_block) * p.n_col_blocks
    p.n_threads = <int> min(<Py_ssize_t> n_threads, p.n_blocks)
    return p


cdef inline int _plan_block(
    const corr2d_scalar_t *image, Py_ssize_t height, Py_ssize_t width,
    const corr2d_scalar_t *kernel, Py_ssize_t kh, Py_ssize_t kw,
    corr2d_scalar_t *out, Py_ssize_t out_h, Py_ssize_t out_w,
    Py_ssize_t pad_top, Py_ssize_t pad_left, bint flip, int boundary,
    corr2d_scalar_t fill, const _Plan *plan, Py_ssize_t b,
) noexcept nogil:
    """Block b of `plan` (_correlate_block's result)."""
    cdef Py_ssize_t m0 = (b // plan.n_col_blocks) * plan.row_block
    cdef Py_ssize_t n0 = (b % plan.n_col_blocks) * plan.col_block
    return _correlate_block(
        image, height, width, kernel, kh, kw, out, out_w,
        m0, min(m0 + plan.row_block, out_h),
        n0, min(n0 + plan.col_block, out_w),
        pad_top, pad_left, flip, boundary, fill)


cdef int _correlate_blocks(
    const corr2d_scalar_t *image, Py_ssize_t height, Py_ssize_t width,
    const corr2d_scalar_t *kernel, Py_ssize_t kh, Py_ssize_t kw,
    corr2d_scalar_t *out, Py_ssize_t out_h, Py_ssize_t out_w,
    Py_ssize_t pad_top, Py_ssize_t pad_left, bint flip, int boundary,
    corr2d_scalar_t fill, const _Plan *plan, Py_ssize_t b0, Py_ssize_t b1,
) noexcept nogil:
    """Blocks [b0, b1) of `plan`; returns the number of threads that ran
    them, or -1 if memory ran out."""
    cdef Py_ssize_t b
    cdef int failed = 0, team = 1
    cdef int n_threads = <int> min(<Py_ssize_t> plan.n_threads, b1 - b0)
    if n_threads <= 1:
        # No team to start (a parallel region of one thread still costs
        # the runtime's call).
        for b in range(b0, b1):
            if _plan_block(image, height, width, kernel, kh, kw, out, out_h,
                           out_w, pad_top, pad_left, flip, boundary, fill,
                           plan, b) < 0:
                return -1
        return 1
    for b in prange(b0, b1, num_threads=n_threads, schedule='static'):
        team = omp_get_num_threads()
        failed += _plan_block(image, height, width, kernel, kh, kw, out,
                              out_h, out_w, pad_top, pad_left, flip, boundary,
                              fill, plan, b)
    return -1 if failed else team


cdef int correlate_plane(
    const corr2d_scalar_t *image, Py_ssize_t height, Py_ssize_t width,
    const corr2d_scalar_t *kernel, Py_ssize_t kh, Py_ssize_t kw,
    corr2d_scalar_t *out, Py_ssize_t out_h, Py_ssize_t out_w,
    Py_ssize_t pad_top, Py_ssize_t pad_left, bint flip, int boundary,
    corr2d_scalar_t fill, int n_threads,
) noexcept nogil:
    """Fill out[out_h, out_w]; returns 0, or -1 if memory ran out.

    Requires kh, kw >= 1, and height, width >= 1 unless boundary is FILL.
    Runs to the end without looking at signals (no GIL here).
    """
    cdef _Plan plan
    if out_h <= 0 or out_w <= 0:
        return 0
    plan = _plan(out_h, out_w, kh, kw, n_threads)
    if _correlate_blocks(image, height, width, kernel, kh, kw, out, out_h,
                         out_w, pad_top, pad_left, flip, boundary, fill,
                         &plan, 0, plan.n_blocks) < 0:
        return -1
    return 0


cdef int _run(const corr2d_scalar_t *image, Py_ssize_t height,
              Py_ssize_t width, const corr2d_scalar_t *kernel, Py_ssize_t kh,
              Py_ssize_t kw, corr2d_scalar_t *out, Py_ssize_t out_h,
              Py_ssize_t out_w, Py_ssize_t pad_top, Py_ssize_t pad_left,
              bint flip, int boundary, corr2d_scalar_t fill,
              int n_threads) except -1:
    """correlate_plane, in waves with a signal check between them; returns
    the largest OpenMP team that ran."""
    cdef int status = 0, team = 1
    cdef _Plan plan = _plan(out_h, out_w, kh, kw, n_threads)
    cdef Waves waves = waves_start(plan.n_blocks, plan.n_threads,
                                   _work(out_h, out_w, kh, kw))
    while waves_next(&waves):
        with nogil:
            status = _correlate_blocks(
                image, height, width, kernel, kh, kw, out, out_h, out_w,
                pad_top, pad_left, flip, boundary, fill, &plan, waves.begin,
                waves.end)
        if status < 0:
            raise MemoryError("pyconvx: out of memory for the padded-row workspace")
        team = max(team, status)
    return team


cdef inline bint _ready(cnp.ndarray a, int nd) noexcept:
    """a has nd dimensions and is C-contiguous, aligned and native."""
    return (cnp.PyArray_NDIM(a) == nd and cnp.PyArray_IS_C_CONTIGUOUS(a)
            and cnp.PyArray_ISALIGNED(a) and cnp.PyArray_ISNOTSWAPPED(a))


def correlate2d_into(cnp.ndarray image not None, cnp.ndarray kernel not None,
                     cnp.ndarray out not None, Py_ssize_t pad_top,
                     Py_ssize_t pad_left, bint flip, int boundary,
                     cnp.ndarray fill not None, int n_threads):
    """Write the correlation of `image` and `kernel` into `out`.

    The three arrays are 2-D, C-contiguous, aligned, native and of one
    type (an integer, real or complex type; equivalent type numbers, such
    as long and long long, count as one); `fill` holds one element of it;
    `kernel` is not empty.  The Python front validates the rest.  (Plain
    arrays, not fused typed memoryviews: their dispatch cost 2 us of the 8
    us a 5 x 5 correlation took.)

    Checks for signals between waves of blocks: on KeyboardInterrupt `out`
    is partly written.  Returns the largest OpenMP team that ran (for the
    tests of thread controls)."""
    cdef Py_ssize_t out_h, out_w, kh, kw, h, w
    cdef const void *x
    cdef const void *k
    cdef void *o
    cdef const void *f
    cdef int typenum = cnp.PyArray_TYPE(image)
    cdef Py_ssize_t size = cnp.PyArray_ITEMSIZE(image)
    if not (_ready(image, 2) and _ready(kernel, 2) and _ready(out, 2)
            and _ready(fill, cnp.PyArray_NDIM(fill))
            and cnp.PyArray_EquivTypenums(cnp.PyArray_TYPE(kernel), typenum)
            and cnp.PyArray_EquivTypenums(cnp.PyArray_TYPE(out), typenum)
            and cnp.PyArray_EquivTypenums(cnp.PyArray_TYPE(fill), typenum)
            and cnp.PyArray_SIZE(fill) == 1 and cnp.PyArray_SIZE(kernel) > 0
            and cnp.PyArray_ISWRITEABLE(out)):
        raise ValueError("correlate2d_into: image, kernel and out must be "
                         "C-contiguous, aligned, native 2-D arrays of one "
                         "type, out writeable, kernel non-empty, fill of one "
                         "element")
    out_h = cnp.PyArray_DIM(out, 0)
    out_w = cnp.PyArray_DIM(out, 1)
    if out_h == 0 or out_w == 0:
        return 0
    h = cnp.PyArray_DIM(image, 0)
    w = cnp.PyArray_DIM(image, 1)
    kh = cnp.PyArray_DIM(kernel, 0)
    kw = cnp.PyArray_DIM(kernel, 1)
    x = cnp.PyArray_DATA(image)
    k = cnp.PyArray_DATA(kernel)
    o = cnp.PyArray_DATA(out)
    f = cnp.PyArray_DATA(fill)
    # Signed integers as the unsigned type of their width (see _corr2d.pxd).
    if cnp.PyArray_ISINTEGER(image):
        if size == 1:
            return _run(<const uint8_t *> x, h, w, <const uint8_t *> k, kh, kw,
                        <uint8_t *> o, out_h, out_w, pad_top, pad_left, flip,
                        boundary, (<const uint8_t *> f)[0], n_threads)
        if size == 2:
            return _run(<const uint16_t *> x, h, w, <const uint16_t *> k, kh,
                        kw, <uint16_t *> o, out_h, out_w, pad_top, pad_left,
                        flip, boundary, (<const uint16_t *> f)[0], n_threads)
        if size == 4:
            return _run(<const uint32_t *> x, h, w, <const uint32_t *> k, kh,
                        kw, <uint32_t *> o, out_h, out_w, pad_top, pad_left,
                        flip, boundary, (<const uint32_t *> f)[0], n_threads)
        if size == 8:
            return _run(<const uint64_t *> x, h, w, <const uint64_t *> k, kh,
                        kw, <uint64_t *> o, out_h, out_w, pad_top, pad_left,
                        flip, boundary, (<const uint64_t *> f)[0], n_threads)
    elif typenum == cnp.NPY_FLOAT:
        return _run(<const float *> x, h, w, <const float *> k, kh, kw,
                    <float *> o, out_h, out_w, pad_top, pad_left, flip,
                    boundary, (<const float *> f)[0], n_threads)
    elif typenum == cnp.NPY_DOUBLE:
        return _run(<const double *> x, h, w, <const double *> k, kh, kw,
                    <double *> o, out_h, out_w, pad_top, pad_left, flip,
                    boundary, (<const double *> f)[0], n_threads)
    elif typenum == cnp.NPY_LONGDOUBLE:
        return _run(<const long double *> x, h, w, <const long double *> k,
                    kh, kw, <long double *> o, out_h, out_w, pad_top,
                    pad_left, flip, boundary, (<const long double *> f)[0],
                    n_threads)
    elif typenum == cnp.NPY_CFLOAT:
        return _run(<const float complex *> x, h, w,
                    <const float complex *> k, kh, kw, <float complex *> o,
                    out_h, out_w, pad_top, pad_left, flip, boundary,
                    (<const float complex *> f)[0], n_threads)
    elif typenum == cnp.NPY_CDOUBLE:
        return _run(<const double complex *> x, h, w,
                    <const double complex *> k, kh, kw, <double complex *> o,
                    out_h, out_w, pad_top, pad_left, flip, boundary,
                    (<const double complex *> f)[0], n_threads)
    elif typenum == cnp.NPY_CLONGDOUBLE:
        return _run(<const long double complex *> x, h, w,
                    <const long double complex *> k, kh, kw,
                    <long double complex *> o, out_h, out_w, pad_top,
                    pad_left, flip, boundary,
                    (<const long double complex *> f)[0], n_threads)
    raise TypeError(f"no correlation kernel for {image.dtype}")


# scipy.signal's C front converts its inputs with these NumPy C-API calls;
# calling the same functions gives the same promotions and the same errors.

def scipy_result_typenum(in1, in2):
    """Type number scipy.signal picks for (in1, in2): PyArray_ObjectType."""
    return _object_type(in2, _object_type(in1, 0))


def from_object(obj, int typenum, int min_depth, int max_depth):
    """PyArray_FromObject(obj, typenum, min_depth, max_depth)."""
    return cnp.PyArray_FromObject(obj, typenum, min_depth, max_depth)


def dtype_from_typenum(int typenum):
    """The dtype of a NumPy type number."""
    return cnp.PyArray_DescrFromType(typenum)


def empty_from_typenum(shape, int typenum):
    """PyArray_SimpleNew: an uninitialised C-ordered 2-D array of `typenum`."""
    cdef cnp.npy_intp dims[2]
    dims[0] = shape[0]
    dims[1] = shape[1]
    return cnp.PyArray_SimpleNew(2, dims, typenum)


def _set_isa_cap(name):
    """Test hook: run no register-blocked kernel (src/pcx_corr_vec_body.h)
    above "baseline" (none), "avx2" or "avx512" (None: the best the CPU
    runs); returns the previous cap."""
    caps = {None: 99, "baseline": 1, "avx2": 3, "avx512": 4}
    old = pcx_corr_set_isa_cap(caps[name])
    return {v: k for k, v in caps.items()}[old]
