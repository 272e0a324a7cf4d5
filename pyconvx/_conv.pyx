"""Typed, GIL-free conv2d engines and their dispatcher.

Six engines, chosen per call by `_choose` (one rule, in one place):

* "cv" (channel-vectorised, src/pcx_conv_cv.h) for layers with enough
  output channels and taps -- the dense layers of a CNN.  A work item
  (image, group, block of output rows) copies the input rows it needs into
  "phase planes": the padded input split into the stride phases the taps
  use, each a dense image of pitch P = ow + (kw-1)*dw//sw, so that every tap
  is one pointer and output position (row j, column x) is the flat index
  j*P + x of every plane.  The micro-kernel then computes tiles of flat
  positions x a block of output channels (one SIMD vector holds channels),
  the P - ow columns past each row being computed and dropped, into a small
  stage that is transposed into the NCHW output.  It is compiled for
  AVX-512, AVX2 and a baseline, picked at run time.  When few flat
  positions are outputs (small outputs, several images per item), the
  kernel runs at a list of the output positions instead (its last tile
  cut to fit).  A 1x1 layer of unit stride and no padding needs no copy:
  its input planes are the phase planes.  Where each channel block serves
  one item (late layers), the item packs its blocks' weights itself;
  where items split the channel blocks of the same rows, their phase
  planes are gathered once, before them (_gather_shared).
* "wino" for float32 3x3 layers of unit stride with enough channels:
  Winograd F(4x4, 3x3) (see _conv_item_wino), whose 36 products per 4x4
  output tile are the cv micro-kernel's, the input channels as its taps.
  Items take rows of tiles and every channel block; layers of 128 x 128
  channels and more go by ranges of channel blocks instead, the tiles of
  a block of images end to end in each item, their inputs transformed
  once for all (_wino_shared) and each channel block's weights by its
  item, a chunk of input channels at a time.
* "gemm" for 1x1 layers with enough channels whose images fill its tiles
  of positions (else cv), matrix products (output
  channels x input channels) x (input channels x positions): the cv
  micro-kernel's register tile transposed, one SIMD vector holding
  consecutive positions, so that tiles are stored straight into the NCHW
  output rows.  A work item packs the inputs of a few tiles at a time
  (each a panel that stays in L1 while every channel block uses it); see
  _conv_item_gemm.
* "gemv" for 1x1 layers with few output positions (a fully connected
  layer as a convolution): the weight rows as they are, eight at a time,
  against a vector of the positions' inputs -- or, for up to four
  positions, four rows at a time, vectors along the input channels (see
  _conv_item_gemv).
* "flat" for the other layers phase planes suit (depthwise, few channels or
  taps): the same planes, and the row micro-kernel of src/pcx_conv_tile.h
  (a few channels x two SIMD vectors of positions in registers) runs along
  all the flat positions of the item at once.
* "rows" when strides or dilations are so large that phase planes would be
  mostly padding: the input rows a window needs are padded, split into
  stride phases and kept in a ring; one output row of all the group's
  channels is one call of the row micro-kernel.

Each output element is computed by one thread -- by the direct engines its
products summed in tap order (C_in/groups, then kernel rows, then kernel
columns; gemv in partial sums whose order depends on C_in/groups only) --
so results do not depend on the thread count.  Workspace per
work item is bounded by the rows of the block and the output width, whatever
the stride and dilation.  The Python entry point runs the items in waves
with a signal check between them (see _waves.pxd).
"""

from cython.parallel cimport prange
from libc.stdlib cimport malloc, free
from libc.string cimport memcpy, memset

from ._waves cimport Waves, waves_start, waves_next
from ._workspace cimport take, give
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
    void pcx_conv_rows_f32_one(float *out, Py_ssize_t n_rows, Py_ssize_t ow,
                               const float **taps, Py_ssize_t n_taps,
                               Py_ssize_t t0, Py_ssize_t pitch, const float *w,
                               float bias)
    void pcx_conv_rows_f64_one(double *out, Py_ssize_t n_rows, Py_ssize_t ow,
                               const double **taps, Py_ssize_t n_taps,
                               Py_ssize_t t0, Py_ssize_t pitch,
                               const double *w, double bias)
    void pcx_conv_rows_f32_grid(float *out, Py_ssize_t n_rows, Py_ssize_t ow,
                                const float *base, Py_ssize_t kh,
                                Py_ssize_t kw, const Py_ssize_t *cols,
                                Py_ssize_t pitch, const float *w, float bias)
    void pcx_conv_rows_f64_grid(double *out, Py_ssize_t n_rows,
                                Py_ssize_t ow, const double *base,
                                Py_ssize_t kh, Py_ssize_t kw,
                                const Py_ssize_t *cols, Py_ssize_t pitch,
                                const double *w, double bias)
    void pcx_conv_rows_f32_gemv(float *y, const float *w, Py_ssize_t lda,
                                Py_ssize_t n_rows, const float *xt,
                                Py_ssize_t n, const float *bias)
    void pcx_conv_rows_f64_gemv(double *y, const double *w, Py_ssize_t lda,
                                Py_ssize_t n_rows, const double *xt,
                                Py_ssize_t n, const double *bias)
    void pcx_conv_rows_f32_gemv_k(float *y, const float *w, Py_ssize_t lda,
                                  Py_ssize_t n_rows, const float *xp,
                                  Py_ssize_t n, Py_ssize_t n_pos,
                                  const float *bias)
    void pcx_conv_rows_f64_gemv_k(double *y, const double *w, Py_ssize_t lda,
                                  Py_ssize_t n_rows, const double *xp,
                                  Py_ssize_t n, Py_ssize_t n_pos,
                                  const double *bias)
    void pcx_conv_rows_f32_pack(float *packed, const float *w, Py_ssize_t n_rows,
                                Py_ssize_t n_taps)
    void pcx_conv_rows_f64_pack(double *packed, const double *w, Py_ssize_t n_rows,
                                Py_ssize_t n_taps)

cdef extern from "pcx_conv_cv.h" nogil:
    ctypedef void (*pcx_cv_f32_fn)(float *, Py_ssize_t, const float **,
                                   Py_ssize_t, Py_ssize_t, const float *,
                                   const float *)
    ctypedef void (*pcx_cv_f64_fn)(double *, Py_ssize_t, const double **,
                                   Py_ssize_t, Py_ssize_t, const double *,
                                   const double *)
    ctypedef void (*pcx_cv_f32_at_fn)(float *, Py_ssize_t, const float **,
                                      Py_ssize_t, const Py_ssize_t *,
                                      const float *, const float *)
    ctypedef void (*pcx_cv_f64_at_fn)(double *, Py_ssize_t, const double **,
                                      Py_ssize_t, const Py_ssize_t *,
                                      const double *, const double *)
    ctypedef void (*pcx_cv_f32_unstage_fn)(float *, Py_ssize_t, Py_ssize_t,
                                           const float *, Py_ssize_t,
                                           Py_ssize_t, Py_ssize_t, Py_ssize_t,
                                           Py_ssize_t, int)
    ctypedef void (*pcx_cv_f64_unstage_fn)(double *, Py_ssize_t, Py_ssize_t,
                                           const double *, Py_ssize_t,
                                           Py_ssize_t, Py_ssize_t, Py_ssize_t,
                                           Py_ssize_t, int)
    ctypedef void (*pcx_cv_f32_wino_in_fn)(float *, Py_ssize_t, const float *,
                                           Py_ssize_t, Py_ssize_t, Py_ssize_t,
                                           Py_ssize_t)
    ctypedef void (*pcx_cv_f64_wino_in_fn)(double *, Py_ssize_t, const double *,
                                           Py_ssize_t, Py_ssize_t, Py_ssize_t,
                                           Py_ssize_t)
    ctypedef int (*pcx_cv_f32_wino_out_fn)(float *, const float *, Py_ssize_t,
                                           Py_ssize_t, Py_ssize_t, const float *)
    ctypedef int (*pcx_cv_f64_wino_out_fn)(double *, const double *, Py_ssize_t,
                                           Py_ssize_t, Py_ssize_t, const double *)
    ctypedef void (*pcx_cv_f32_gemm_fn)(float *, Py_ssize_t, Py_ssize_t,
                                        Py_ssize_t, const float *, Py_ssize_t,
                                        const float *, const float *)
    ctypedef void (*pcx_cv_f64_gemm_fn)(double *, Py_ssize_t, Py_ssize_t,
                                        Py_ssize_t, const double *, Py_ssize_t,
                                        const double *, const double *)
    ctypedef struct pcx_cv_f32:
        pcx_cv_f32_fn run
        pcx_cv_f32_at_fn run_at
        pcx_cv_f32_unstage_fn unstage
        pcx_cv_f32_wino_in_fn wino_in
        pcx_cv_f32_wino_out_fn wino_out
        pcx_cv_f32_gemm_fn gemm
        Py_ssize_t nr, ob
        int isa
        pcx_cv_f32_wino_in_fn wino_in_half
        Py_ssize_t vl_half
    ctypedef struct pcx_cv_f64:
        pcx_cv_f64_fn run
        pcx_cv_f64_at_fn run_at
        pcx_cv_f64_unstage_fn unstage
        pcx_cv_f64_wino_in_fn wino_in
        pcx_cv_f64_wino_out_fn wino_out
        pcx_cv_f64_gemm_fn gemm
        Py_ssize_t nr, ob
        int isa
        pcx_cv_f64_wino_in_fn wino_in_half
        Py_ssize_t vl_half
    pcx_cv_f32 pcx_conv_cv_select_f32(int cap)
    pcx_cv_f64 pcx_conv_cv_select_f64(int cap)
    void pcx_cv_pack_f32(float *pw, const float *w, Py_ssize_t n_c,
                         Py_ssize_t n_taps, Py_ssize_t ob, Py_ssize_t ld)
    void pcx_cv_pack_f64(double *pw, const double *w, Py_ssize_t n_c,
                         Py_ssize_t n_taps, Py_ssize_t ob, Py_ssize_t ld)
    void pcx_wino_pack_f32(float *pu, const float *w, Py_ssize_t n_c,
                           Py_ssize_t n_in, Py_ssize_t ld_in, Py_ssize_t ob)
    void pcx_wino_pack_f64(double *pu, const double *w, Py_ssize_t n_c,
                           Py_ssize_t n_in, Py_ssize_t ld_in, Py_ssize_t ob)
    int pcx_all_finite_f32(const float *w, Py_ssize_t n)
    int pcx_all_finite_f64(const double *w, Py_ssize_t n)
    void pcx_interleave_f32(float *dst, Py_ssize_t n, const float **src,
                            Py_ssize_t k)
    void pcx_deinterleave_f32(float *a, float *b, const float *src,
                              Py_ssize_t n)
    void pcx_deinterleave_f64(double *a, double *b, const double *src,
                              Py_ssize_t n)
    void pcx_gemm_pack_f32(float *panel, Py_ssize_t kc, Py_ssize_t np,
                           const float *src, Py_ssize_t plane, Py_ssize_t nk,
                           Py_ssize_t n)
    void pcx_gemm_pack_f64(double *panel, Py_ssize_t kc, Py_ssize_t np,
                           const double *src, Py_ssize_t plane, Py_ssize_t nk,
                           Py_ssize_t n)
    void pcx_interleave_f64(double *dst, Py_ssize_t n, const double **src,
                            Py_ssize_t k)
    void pcx_prefetch(const void *p, Py_ssize_t n_bytes)
    void pcx_prefetchw(const void *p, Py_ssize_t n_bytes)

# Below this many multiply-adds one thread beats starting a team.
cdef double SERIAL_WORK = 1 << 18
# Multiply-adds per work item, at most (roughly): about a millisecond.
cdef double ITEM_WORK = 1 << 25
# The cv engine splits channel blocks before rows below this many output
# positions per item.
cdef double CV_MIN_POSITIONS = 256
# The cv engine runs at a list of output positions when fewer than this
# share of its flat positions are outputs (7x7 outputs of 512 channels:
# 24% faster).  On Zen 4, dense layers too, whose pitch wastes a column or
# two: the benchmark's cv layers took 0.94-0.985x the time at one thread
# and 0.95-1.01x at two (0.85 had been the same speed on a 48 KiB-L1 CPU).
cdef double EXACT_FILL = 1.0
# Output channels per gemv block (the kernel runs eight at a time).
cdef Py_ssize_t GEMV_ROWS = 64
# Positions up to which gemv runs its vectors along the input channels
# instead of along the positions (a 4096 -> 1000 layer on one position:
# 0.25-0.32x the time with its weights in cache, 0.58-0.73x from memory).
cdef Py_ssize_t GEMV_K_POSITIONS = 4
# Transformed inputs per wino work item, at most (roughly): 512 KiB of
# float32, which stay in L2 while every channel block of the item uses them.
cdef Py_ssize_t WINO_ELEMS = 1 << 17
# Tiles per wino kernel call: a pair of channel blocks runs on the same
# 24 tiles (2 AVX-512 tiles) before the next.  Kernel calls over whole rows
# of tiles per block ran 25% slower in a harness on 64 channels (the tiles'
# inputs left L1 between blocks); in the engine the gain is 1-3%.
cdef Py_ssize_t WINO_POSITIONS = 24
# Transformed weights of a group, at most, for the wino engine: each of its
# items reads them all.  14x14 outputs of 8 images: 256 x 256 channels
# (9 MiB of float32) ran at 0.78-0.84x cv's time, 384 x 384 at 0.92x,
# 512 x 512 at 1.84x.
cdef Py_ssize_t WINO_MAX_WEIGHTS = 36 << 16
# Input channels per chunk of weights an item transforms (deferred
# weights): 36 x 64 x 32 float32, 288 KiB, stay in L2 while every term
# runs on them.
cdef Py_ssize_t WINO_CHUNK = 64
# Outputs per call (N x H_out x W_out), at least, for the wino engine: the
# weights' transform must be repaid (measured, 64 to 256 channels: 196
# outputs 1.8x cv's time, 512-600 outputs 0.65-0.9x).
cdef double WINO_MIN_OUTPUTS = 512
# The wino engine by channel blocks (see _plan_wino): transformed weights
# of a group, at least (128 x 128 channels: from there on it took 0.64-0.95x
# the tile plan's time or cv's, 192-512 channels 0.64-0.82x; 64 x 64 layers
# measured 0.97-1.0x, small ones up to 1.5x); tiles of 4x4 outputs per
# call, at least (2 x 512 x 7x7, 8 tiles, took 1.15x cv's time; 16 tiles
# 0.6-1.0x); tiles per block of images, at most (per term, 128 tiles of
# 512 channels are 256 KiB of float32, read from L2 by every channel
# block); its transformed inputs, at most.
cdef Py_ssize_t WINO_BLOCK_WEIGHTS = 36 << 14
cdef Py_ssize_t WINO_MIN_TILES = 16
cdef Py_ssize_t WINO_BLOCK_TILES = 128
cdef double WINO_SHARE_BYTES = 32 << 20     # twice SHARE_BYTES
# The first wave of a call (see _waves.pxd) is sized for the slowest
# kernels of the library, about 50 M operations a second; conv2d's engines
# run at 2 G multiply-adds a second or more (float64, odd shapes, measured),
# so its waves count work in units of WAVE_SPEED multiply-adds.  Most calls
# then run in one wave instead of three, each ending on a barrier: at 2
# threads the benchmark's layers took 0.91-1.02x the time (medians of
# 0.97-0.99).
cdef double WAVE_SPEED = 16

# The wino and cv engines prefetch the input rows of the channel this many
# ahead (each channel's run is too short for the hardware prefetcher).
cdef Py_ssize_t PREFETCH_AHEAD = 2
# Depthwise items prefetch the next planes when these are this many bytes
# or more.
cdef Py_ssize_t PREFETCH_PLANE = 8192
# Outputs of at least this many bytes are written with non-temporal stores.
cdef double STREAM_BYTES = 8 << 20
# Weights below this count are packed by one thread.
cdef double PACK_SERIAL = 1 << 14
# At most this much input gathered once for several items (_gather_shared).
cdef double SHARE_BYTES = 16 << 20

cdef enum:
    ENGINE_AUTO = 0
    ENGINE_ROWS = 1
    ENGINE_CV = 2
    ENGINE_FLAT = 3
    ENGINE_WINO = 4
    # As ENGINE_AUTO, but never wino: conv2d(method="direct").
    ENGINE_DIRECT = 5
    ENGINE_GEMM = 6
    ENGINE_GEMV = 7

# Test hooks (see _set_engine, _set_isa_cap): force an engine, cap the
# instruction set of the cv kernel.  Never changed by the library itself.
cdef int _forced_engine = ENGINE_AUTO
cdef int _wino_ranges = 0    # test hook: wino by blocks in k ranges (-1: the plan's)
cdef int _forced_defer = -1     # test hook: -1 the plan's choice, 0 never, 1 always
cdef int _isa_cap = 99


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
        elif sw == 2:
            # A constant stride, which the compiler vectorises (the
            # variable one below it does not).
            for j in range(lo, hi):
                d[j] = src[c0 + 2 * j]
        else:
            for j in range(lo, hi):
                d[j] = src[c0 + j * sw]
        for j in range(hi, seg_len):
            d[j] = 0 if mode == PAD_ZEROS else src[_extend(c0 + j * sw, w, mode)]


cdef inline conv_t _padded(const conv_t *src, Py_ssize_t c, Py_ssize_t w,
                           int mode) noexcept nogil:
    """Column c of a padded input row whose image part is src[0:w]."""
    if 0 <= c < w:
        return src[c]
    return 0 if mode == PAD_ZEROS else src[_extend(c, w, mode)]


cdef void _gather_pair(conv_t *d0, conv_t *d1, Py_ssize_t seg_len,
                       Py_ssize_t start, const conv_t *plane, Py_ssize_t h,
                       Py_ssize_t w, Py_ssize_t row, Py_ssize_t pl,
                       int mode) noexcept nogil:
    """_gather_row of the column phases start and start + 1 of a stride-2
    layer into d0 and d1, in one pass over the input row (two passes, each
    taking every other element, were 12% of the strided benchmark layer's
    samples; one pass took 0.94-0.975 of its time)."""
    cdef Py_ssize_t j, lo, hi, c0 = start - pl
    cdef const conv_t *src
    if row < 0 or row >= h:
        if mode == PAD_ZEROS:
            memset(d0, 0, seg_len * sizeof(conv_t))
            memset(d1, 0, seg_len * sizeof(conv_t))
            return
        row = _extend(row, h, mode)
    src = plane + row * w
    # [lo, hi): both columns c0 + 2j and c0 + 2j + 1 inside [0, w).
    lo = min(max((-c0 + 1) // 2, 0), seg_len)
    hi = min(max((w - c0) // 2, lo), seg_len)
    for j in range(lo):
        d0[j] = _padded(src, c0 + 2 * j, w, mode)
        d1[j] = _padded(src, c0 + 2 * j + 1, w, mode)
    if conv_t is float:
        pcx_deinterleave_f32(d0 + lo, d1 + lo, src + c0 + 2 * lo, hi - lo)
    else:
        pcx_deinterleave_f64(d0 + lo, d1 + lo, src + c0 + 2 * lo, hi - lo)
    for j in range(hi, seg_len):
        d0[j] = _padded(src, c0 + 2 * j, w, mode)
        d1[j] = _padded(src, c0 + 2 * j + 1, w, mode)


cdef inline void _conv_rows(conv_t **out, Py_ssize_t n_out_rows,
                            Py_ssize_t n_cols, const conv_t **taps,
                            Py_ssize_t n_taps, const conv_t *w,
                            const conv_t *bias) noexcept nogil:
    if conv_t is float:
        pcx_conv_rows_f32(out, n_out_rows, n_cols, taps, n_taps, w, bias)
    else:
        pcx_conv_rows_f64(out, n_out_rows, n_cols, taps, n_taps, w, bias)


cdef void _conv_one(conv_t *out, Py_ssize_t n_rows, Py_ssize_t ow,
                    const conv_t **taps, Py_ssize_t n_taps, Py_ssize_t kh,
                    Py_ssize_t kw, Py_ssize_t pitch, const conv_t *w,
                    conv_t bias) noexcept nogil:
    """Rows of one output channel.  Taps on a grid of plane rows (one input
    channel, row stride 1: depthwise layers) go to the kernel that loads
    each input vector once for all the output rows it feeds (interleaved:
    0.93-0.96 of the time on the benchmark's depthwise layer, 0.9 on one
    image of it, float32 and float64)."""
    cdef Py_ssize_t u, v
    cdef Py_ssize_t *cols = NULL
    cdef bint grid = n_taps == kh * kw and kh > 1
    for u in range(kh if grid else 0):
        for v in range(kw):
            grid = grid and taps[u * kw + v] == taps[v] + u * pitch
    if grid:
        cols = <Py_ssize_t *> malloc(kw * sizeof(Py_ssize_t))
    if cols != NULL:
        for v in range(kw):
            cols[v] = taps[v] - taps[0]
        if conv_t is float:
            pcx_conv_rows_f32_grid(out, n_rows, ow, taps[0], kh, kw, cols,
                                   pitch, w, bias)
        else:
            pcx_conv_rows_f64_grid(out, n_rows, ow, taps[0], kh, kw, cols,
                                   pitch, w, bias)
        free(cols)
    elif conv_t is float:
        pcx_conv_rows_f32_one(out, n_rows, ow, taps, n_taps, 0, pitch, w, bias)
    else:
        pcx_conv_rows_f64_one(out, n_rows, ow, taps, n_taps, 0, pitch, w, bias)


cdef inline void _pack(conv_t *packed, const conv_t *w, Py_ssize_t n_rows,
                       Py_ssize_t n_taps) noexcept nogil:
    if conv_t is float:
        pcx_conv_rows_f32_pack(packed, w, n_rows, n_taps)
    else:
        pcx_conv_rows_f64_pack(packed, w, n_rows, n_taps)


cdef int _conv_item_rows(
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
            ring = <conv_t *> take(max(1, cg_in * n_slots * slot_size)
                                   * sizeof(conv_t))
    if (ring == NULL or ring_row == NULL or taps == NULL or outs == NULL
            or col_off == NULL or row_of == NULL or seg_start == NULL):
        give(ring)
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

    give(ring)
    free(ring_row)
    free(<void *> taps)
    free(outs)
    free(col_off)
    free(row_of)
    free(seg_start)
    return 0


cdef inline pcx_cv_f32 _cv_kernel_f32() noexcept nogil:
    return pcx_conv_cv_select_f32(_isa_cap)


cdef inline pcx_cv_f64 _cv_kernel_f64() noexcept nogil:
    return pcx_conv_cv_select_f64(_isa_cap)


cdef struct _Weights:
    # The weights in the chosen engine's layout, for every group.
    int engine
    void *run                   # cv, wino: the micro-kernel
    void *run_at                # cv: the same at listed positions
    void *unstage               # cv, wino: its stage copy
    void *wino_in               # wino: the input transform
    void *wino_in_half          # wino: the same on vectors of vl_half tiles
    Py_ssize_t vl_half
    void *wino_out              # wino: the output transform
    void *gemm                  # gemm: the transposed micro-kernel
    Py_ssize_t nr, ob           # cv, wino: tile positions x channel block
                                # (gemm: block channels x tile positions)
    Py_ssize_t n_blk            # cv, wino, gemm, gemv: channel blocks a group
    Py_ssize_t itemsize         # bytes per element
    void *raw                   # the buffer from take() (give it back)
    void *w                     # packed weights (64-byte aligned)
    const void *src             # the weights as given (deferred: packed by
                                # the items, a block at a time)
    bint deferred               # cv: each item packs its blocks itself
    void *b                     # cv, wino: packed bias, then ob zeros
    int stream                  # cv, wino: stream the output past the caches


cdef inline Py_ssize_t _cv_pitch(Py_ssize_t ow, Py_ssize_t kw, Py_ssize_t sw,
                                 Py_ssize_t dw) noexcept nogil:
    """Row pitch of the cv engine's phase planes."""
    return ow + ((kw - 1) * dw) // sw


cdef inline bint _wino_fits(Py_ssize_t kh, Py_ssize_t kw, Py_ssize_t sh,
                            Py_ssize_t sw) noexcept nogil:
    """Whether the Winograd engine computes this window: 3x3 of unit
    stride (any dilation)."""
    return kh == 3 and kw == 3 and sh == 1 and sw == 1


cdef inline Py_ssize_t _wino_tiles(Py_ssize_t oh, Py_ssize_t ow) noexcept nogil:
    """Tiles of 4x4 outputs per image (and dilation phase)."""
    return ((oh + 3) // 4) * ((ow + 3) // 4)


cdef inline Py_ssize_t _wino_block_images(Py_ssize_t n, Py_ssize_t oh,
                                          Py_ssize_t ow) noexcept nogil:
    """Images per block for the wino engine by channel blocks."""
    return max(1, min(n, WINO_BLOCK_TILES // _wino_tiles(oh, ow)))


cdef inline bint _wino_by_blocks(Py_ssize_t n, Py_ssize_t cg_in,
                                 Py_ssize_t cg_out, Py_ssize_t groups,
                                 Py_ssize_t oh, Py_ssize_t ow, Py_ssize_t dh,
                                 Py_ssize_t dw, Py_ssize_t nr, Py_ssize_t ob,
                                 Py_ssize_t itemsize) noexcept nogil:
    """Whether the wino engine runs a layer by ranges of channel blocks
    (see _plan_wino): undilated, the transformed inputs of all its images
    within WINO_SHARE_BYTES, and transformed weights over WINO_MAX_WEIGHTS
    (too large for the tile plan) -- or of WINO_BLOCK_WEIGHTS and more, on
    images of up to WINO_BLOCK_TILES tiles (larger ones, whose tiles an
    item takes all at once, ran at 1.2-1.6x the tile plan's time on 28x28
    tiles and more, 0.85-1.13x on 14x14) -- or any weights of two channel
    blocks or more on up to WINO_BLOCK_TILES tiles in all, one block of
    images: the tile plan's items of a tile row or two fill its kernel
    tiles of 12 badly (64 channels on one 28x28 image, 49 tiles, took
    0.74-0.84x the time by blocks; 8 images, 392 tiles, 1.06-1.13x at two
    threads; one block of 32 channels, one item, 1.16-1.5x)."""
    cdef Py_ssize_t per = _wino_block_images(n, oh, ow)
    cdef double t_blk = (per * _wino_tiles(oh, ow) + nr - 1) // nr * nr
    cdef Py_ssize_t weights = 36 * cg_in * cg_out
    return (dh == 1 and dw == 1
            and (weights > WINO_MAX_WEIGHTS
                 or (weights >= WINO_BLOCK_WEIGHTS
                     and _wino_tiles(oh, ow) <= WINO_BLOCK_TILES)
                 or (<double> n * _wino_tiles(oh, ow) <= WINO_BLOCK_TILES
                     and cg_out > ob))
            and 36.0 * cg_in * groups * ((n + per - 1) // per)
            * (t_blk + ob) * itemsize <= WINO_SHARE_BYTES)


cdef int _choose(Py_ssize_t n, Py_ssize_t c_in, Py_ssize_t c_out, Py_ssize_t kh,
                 Py_ssize_t kw, Py_ssize_t oh, Py_ssize_t ow, Py_ssize_t sh,
                 Py_ssize_t sw, Py_ssize_t dh, Py_ssize_t dw,
                 Py_ssize_t groups, Py_ssize_t nr, Py_ssize_t ob,
                 bint f64) noexcept nogil:
    """The engine for a layer.  1x1 layers are matrix products: gemv for
    as many output positions in all (batch included) as half a gemm tile
    (ob // 2: 16 float32, 8 float64 with AVX-512), which reads the weights
    as they are where gemm packs them (a 4096 -> 1000 layer on one position
    took gemm 5.3x gemv's time, 8 or 16 positions 1.6-3x); gemm from 32
    input and 32 output channels a group (fewer: flat, up to 2x faster
    there), whatever the stride and padding -- unless its tiles of ob
    positions of an image would hold over 1/16 padding: cv then (AVX-512:
    7x7 outputs, 49 positions in 64, took 0.57-0.89x gemm's time, 10x10
    0.82-0.86x, 14x14 0.72-0.98x, 17x17 0.96-0.98x; 20x20, 4% padding,
    1.00, 16x16, none, 1.03-1.06x) -- with the 6-position tiles of AVX2
    and the baseline, over half (7x7 outputs of 4-8 images took cv
    1.06-1.20x gemm's time, batches of single positions 0.25-0.76x).
    Phase planes (cv and flat)
    where their rows
    are mostly output columns and the window has few halo rows; then cv
    where its tile is well used (a channel block at least half full, enough
    taps to repay the transposition), flat otherwise (depthwise, few
    channels or taps).  rows for the rest: strides or dilations so large
    that phase planes would be mostly padding.  Among cv's layers, float32
    3x3 ones of unit stride with enough input channels, outputs of at least
    12x12 per dilation phase (8x8 ones ran at 1.5x cv's time, wasting most
    of a vector of tiles; 14x14 at 0.83x),
    enough outputs to repay transforming the weights, and transformed
    weights that stay in L2 go to wino: 4 times fewer multiplications,
    for a rounding error bounded by larger sums (float64 keeps the direct
    sums); so do those that go by channel blocks (_wino_by_blocks) from
    WINO_MIN_TILES tiles.  A forced engine that cannot run the layer falls
    back to cv (wino, gemm), or gemm (gemv, on more positions than a vector
    holds)."""
    cdef Py_ssize_t cg_in = c_in // groups, cg_out = c_out // groups
    cdef Py_ssize_t n_taps = cg_in * kh * kw
    cdef Py_ssize_t n_blk = (cg_out + ob - 1) // ob
    if _forced_engine == ENGINE_WINO:
        return ENGINE_WINO if _wino_fits(kh, kw, sh, sw) else ENGINE_CV
    if _forced_engine == ENGINE_GEMV and kh == 1 and kw == 1:
        # At most one vector of positions (64 bytes).
        if <double> n * oh * ow <= (8 if f64 else 16):
            return ENGINE_GEMV
        return ENGINE_GEMM
    if _forced_engine == ENGINE_GEMM or _forced_engine == ENGINE_GEMV:
        return _forced_engine if kh == 1 and kw == 1 else ENGINE_CV
    if _forced_engine != ENGINE_AUTO:
        return _forced_engine
    if _cv_pitch(ow, kw, sw, dw) > 2 * ow or ((kh - 1) * dh) // sh > 64:
        return ENGINE_ROWS
    if kh == 1 and kw == 1:
        if <double> n * oh * ow * 2 <= ob:
            return ENGINE_GEMV
        if cg_in < 32 or cg_out < 32:
            return ENGINE_FLAT
        # gemm's tiles hold ob positions of one image: past 1/16 of them
        # padding, cv's 12-position tiles of any positions win; its
        # 6-position tiles (16 registers) only past half.
        if ((16 if nr >= 12 else 2) * ((oh * ow + ob - 1) // ob) * ob
                > (17 if nr >= 12 else 4) * oh * ow):
            return ENGINE_CV
        return ENGINE_GEMM
    if 2 * cg_out >= n_blk * ob and n_taps >= 16:
        if not f64 and _wino_fits(kh, kw, sh, sw) and cg_in >= 16:
            # (Elements of 4 bytes: float64 layers keep the direct sums.)
            if _wino_by_blocks(n, cg_in, cg_out, groups, oh, ow, dh, dw, nr,
                               ob, 4):
                if n * _wino_tiles(oh, ow) >= WINO_MIN_TILES:
                    return ENGINE_WINO
            elif (36 * cg_in * cg_out <= WINO_MAX_WEIGHTS
                    and oh >= 12 * dh and ow >= 12 * dw
                    and <double> n * oh * ow >= WINO_MIN_OUTPUTS):
                return ENGINE_WINO
        return ENGINE_CV
    return ENGINE_FLAT


cdef void *_aligned(void *p) noexcept nogil:
    return <void *> ((<size_t> p + 63) & ~(<size_t> 63))


cdef inline size_t _lines(size_t n_bytes) noexcept nogil:
    """n_bytes rounded up to whole 64-byte lines."""
    return (n_bytes + 63) & ~(<size_t> 63)


cdef void *_take_parts(Py_ssize_t n, const size_t *sizes,
                       void **parts) noexcept nogil:
    """One buffer from take() for n parts of sizes[i] bytes, each on a
    64-byte boundary: parts[i] is where part i starts.  Returns the
    buffer (give() it back), or NULL when memory ran out."""
    cdef size_t total = 64          # for aligning the first part
    cdef Py_ssize_t i
    cdef char *p
    cdef void *raw
    for i in range(n):
        total += _lines(sizes[i])
    raw = take(total)
    if raw == NULL:
        return NULL
    p = <char *> _aligned(raw)
    for i in range(n):
        parts[i] = p
        p += _lines(sizes[i])
    return raw


cdef inline bint _blocked(const _Weights *wts) noexcept nogil:
    """Whether the engine's weights go in blocks of channels."""
    return (wts.engine == ENGINE_CV or wts.engine == ENGINE_WINO
            or wts.engine == ENGINE_GEMM)


cdef inline Py_ssize_t _block_channels(const _Weights *wts) noexcept nogil:
    """Channels per block: the tile's vectors of them (gemm: its rows)."""
    return wts.nr if wts.engine == ENGINE_GEMM else wts.ob


cdef inline Py_ssize_t _block_size(const _Weights *wts,
                                   Py_ssize_t cg_in,
                                   Py_ssize_t n_taps) noexcept nogil:
    """Packed weights per block: its channels x the taps (wino: x 36
    Winograd terms per input channel)."""
    return _block_channels(wts) * (36 * cg_in if wts.engine == ENGINE_WINO
                                   else n_taps)


cdef void _weights_layout(_Weights *wts, const conv_t *weight,
                          Py_ssize_t n, Py_ssize_t c_in, Py_ssize_t c_out,
                          Py_ssize_t kh, Py_ssize_t kw, Py_ssize_t oh,
                          Py_ssize_t ow, Py_ssize_t sh, Py_ssize_t sw,
                          Py_ssize_t dh, Py_ssize_t dw, Py_ssize_t groups,
                          int engine) noexcept nogil:
    """Choose the engine (or take `engine`, unless ENGINE_AUTO or
    ENGINE_DIRECT), its kernels and its channel blocks; _weights_pack then
    packs the weights for it."""
    cdef Py_ssize_t cg_in = c_in // groups, cg_out = c_out // groups
    cdef Py_ssize_t n_taps = cg_in * kh * kw
    cdef Py_ssize_t k
    cdef pcx_cv_f32 k32
    cdef pcx_cv_f64 k64
    if conv_t is float:
        k32 = _cv_kernel_f32()
        wts.run, wts.unstage = <void *> k32.run, <void *> k32.unstage
        wts.run_at = <void *> k32.run_at
        wts.wino_in, wts.wino_out = <void *> k32.wino_in, <void *> k32.wino_out
        wts.wino_in_half, wts.vl_half = <void *> k32.wino_in_half, k32.vl_half
        wts.gemm = <void *> k32.gemm
        wts.nr, wts.ob = k32.nr, k32.ob
    else:
        k64 = _cv_kernel_f64()
        wts.run, wts.unstage = <void *> k64.run, <void *> k64.unstage
        wts.run_at = <void *> k64.run_at
        wts.wino_in, wts.wino_out = <void *> k64.wino_in, <void *> k64.wino_out
        wts.wino_in_half, wts.vl_half = <void *> k64.wino_in_half, k64.vl_half
        wts.gemm = <void *> k64.gemm
        wts.nr, wts.ob = k64.nr, k64.ob
    wts.itemsize = sizeof(conv_t)
    wts.stream = <double> n * c_out * oh * ow * sizeof(conv_t) >= STREAM_BYTES
    wts.engine = engine if engine != ENGINE_AUTO and engine != ENGINE_DIRECT \
        else _choose(n, c_in, c_out, kh, kw, oh, ow, sh, sw, dh, dw, groups,
                     wts.nr, wts.ob, conv_t is double)
    if wts.engine == ENGINE_WINO and engine == ENGINE_DIRECT:
        wts.engine = ENGINE_CV
    if wts.engine == ENGINE_WINO:
        # Infinite or NaN weights would spread through the transform to
        # every output: direct sums keep them where they belong.
        if not (pcx_all_finite_f32(weight, c_out * n_taps) if conv_t is float
                else pcx_all_finite_f64(weight, c_out * n_taps)):
            wts.engine = ENGINE_CV
    wts.raw, wts.w, wts.b = NULL, NULL, NULL
    wts.src = <const void *> weight
    wts.deferred = False
    if wts.engine == ENGINE_GEMV:
        # The weights as they are, in blocks of GEMV_ROWS channels.
        wts.n_blk = (cg_out + GEMV_ROWS - 1) // GEMV_ROWS
    elif _blocked(wts):
        wts.n_blk = (cg_out + _block_channels(wts) - 1) // _block_channels(wts)
    else:
        wts.n_blk = 0


cdef inline void _wino_pack(conv_t *dst, const conv_t *weight, Py_ssize_t n_c,
                            Py_ssize_t n_in, Py_ssize_t ld_in,
                            Py_ssize_t ob) noexcept nogil:
    """Weights of n_c output channels and n_in input channels (ld_in
    apart in `weight`) in the Winograd domain, dst[term][input][channel],
    zero past channel n_c."""
    if n_c < ob:
        memset(dst, 0, 36 * n_in * ob * sizeof(conv_t))
    if conv_t is float:
        pcx_wino_pack_f32(dst, weight, n_c, n_in, ld_in, ob)
    else:
        pcx_wino_pack_f64(dst, weight, n_c, n_in, ld_in, ob)


cdef void _pack_block(const _Weights *wts, conv_t *dst, const conv_t *weight,
                      Py_ssize_t n_c, Py_ssize_t cg_in,
                      Py_ssize_t n_taps) noexcept nogil:
    """The weights of n_c channels (from `weight`, n_taps each) as one
    block, zero past channel n_c.  Only blocks of fewer channels need
    zeroing first (all of them: a 512 x 512 3x3 layer spent 5% of its time
    there)."""
    cdef Py_ssize_t bc = _block_channels(wts)
    if wts.engine == ENGINE_WINO:
        _wino_pack(dst, weight, n_c, cg_in, cg_in, wts.ob)
        return
    if n_c < bc:
        memset(dst, 0, _block_size(wts, cg_in, n_taps) * sizeof(conv_t))
    if conv_t is float:
        pcx_cv_pack_f32(dst, weight, n_c, n_taps, bc, n_taps)
    else:
        pcx_cv_pack_f64(dst, weight, n_c, n_taps, bc, n_taps)


cdef int _weights_pack(_Weights *wts, const conv_t *weight, const conv_t *bias,
                       Py_ssize_t c_in, Py_ssize_t c_out, Py_ssize_t kh,
                       Py_ssize_t kw, Py_ssize_t groups, int n_threads,
                       bint defer) noexcept nogil:
    """Pack the weights for the engine _weights_layout chose, on up to
    n_threads threads; -1 if memory ran out (then nothing is left to free).
    `defer` (cv engine): only the bias -- each item packs its own channel
    blocks (see _plan_defers)."""
    cdef Py_ssize_t cg_in = c_in // groups, cg_out = c_out // groups
    cdef Py_ssize_t n_taps = cg_in * kh * kw
    cdef Py_ssize_t g, k, blk, c, co, n_w, n_b, per_blk, bc
    cdef bint blocked = _blocked(wts)
    if wts.engine == ENGINE_GEMV:
        wts.w, wts.b = <void *> weight, <void *> bias
        return 0
    wts.deferred = defer and (wts.engine == ENGINE_CV
                              or wts.engine == ENGINE_WINO)
    bc = _block_channels(wts)
    if blocked:
        per_blk = _block_size(wts, cg_in, n_taps)
        n_b = groups * wts.n_blk * bc + bc
        n_w = 0 if wts.deferred else groups * wts.n_blk * per_blk
    else:
        n_b = 0
        n_w = c_out * n_taps
    wts.raw = take((max(1, n_w) + n_b) * sizeof(conv_t))
    if wts.raw == NULL:
        return -1
    wts.w = wts.raw
    wts.b = <void *> (<conv_t *> wts.w + max(1, n_w))
    if not blocked:
        for g in range(groups):
            _pack(<conv_t *> wts.w + g * cg_out * n_taps,
                  weight + g * cg_out * n_taps, cg_out, n_taps)
        return 0
    # cv, gemm: per group and block of bc channels, w[tap][channel] and the
    # bias, zero past the group's last channel (wino:
    # w[term][input][channel]).
    memset(wts.b, 0, n_b * sizeof(conv_t))
    for k in range(groups * wts.n_blk):
        co = (k // wts.n_blk) * cg_out + (k % wts.n_blk) * bc
        for c in range(min(bc, cg_out - (k % wts.n_blk) * bc)):
            (<conv_t *> wts.b)[k * bc + c] = bias[co + c]
    if wts.deferred:
        return 0
    # One block per iteration, on the call's threads: a late layer's 2.4M
    # weights took 14% of its time packed serially, one loop order.  Fewer
    # than PACK_SERIAL weights pack in microseconds: on one thread.
    if <double> c_out * n_taps < PACK_SERIAL:
        n_threads = 1
    for k in prange(groups * wts.n_blk, num_threads=n_threads,
                    schedule='static'):
        g = k // wts.n_blk
        blk = k % wts.n_blk
        _pack_block(wts, <conv_t *> wts.w + k * per_blk,
                    weight + (g * cg_out + blk * bc) * n_taps,
                    min(bc, cg_out - blk * bc), cg_in, n_taps)
    return 0


cdef inline void _cv_run(const _Weights *wts, conv_t *stage,
                         Py_ssize_t n_tiles, const conv_t **taps,
                         Py_ssize_t n_taps, Py_ssize_t t0, const conv_t *w,
                         const conv_t *b) noexcept nogil:
    if conv_t is float:
        (<pcx_cv_f32_fn> wts.run)(stage, n_tiles, taps, n_taps, t0, w, b)
    else:
        (<pcx_cv_f64_fn> wts.run)(stage, n_tiles, taps, n_taps, t0, w, b)


cdef inline void _cv_run_at(const _Weights *wts, conv_t *stage,
                            Py_ssize_t n_pos, const conv_t **taps,
                            Py_ssize_t n_taps, const Py_ssize_t *off,
                            const conv_t *w, const conv_t *b) noexcept nogil:
    if conv_t is float:
        (<pcx_cv_f32_at_fn> wts.run_at)(stage, n_pos, taps, n_taps, off, w, b)
    else:
        (<pcx_cv_f64_at_fn> wts.run_at)(stage, n_pos, taps, n_taps, off, w, b)


cdef void _cv_sum(const _Weights *wts, conv_t *stage, Py_ssize_t n_pos,
                  const conv_t **taps, Py_ssize_t n_taps, Py_ssize_t t0,
                  const Py_ssize_t *off, const conv_t *w, const conv_t *bias,
                  Py_ssize_t k_chunk) noexcept nogil:
    """The cv kernel over n_pos positions, whole tiles at flat positions
    t0.. (or, off not NULL, at off[0..n_pos), the last tile cut to fit):
    stage = bias + the sums over n_taps taps, in chunks
    of k_chunk taps whose weights (k_chunk x ob) stay in L1 while every tile
    uses them.  A last chunk of up to a quarter of k_chunk joins the one
    before it: a pass over the tiles for a few taps costs as much in
    accumulator loads and stores (the stem's 147 taps ran as 128 + 19)."""
    cdef Py_ssize_t k0 = 0, nk
    while True:
        nk = n_taps - k0
        if nk > k_chunk + k_chunk // 4:
            nk = k_chunk
        if off == NULL:
            _cv_run(wts, stage, (n_pos + wts.nr - 1) // wts.nr, taps + k0,
                    nk, t0, w + k0 * wts.ob, bias if k0 == 0 else NULL)
        else:
            _cv_run_at(wts, stage, n_pos, taps + k0, nk, off,
                       w + k0 * wts.ob, bias if k0 == 0 else NULL)
        k0 += nk
        if k0 >= n_taps:
            break


cdef inline void _unstage(const _Weights *wts, conv_t *out, Py_ssize_t ld_c,
                          Py_ssize_t ow, const conv_t *stage, Py_ssize_t ob,
                          Py_ssize_t n_c, Py_ssize_t t0, Py_ssize_t t1,
                          Py_ssize_t pitch, bint stream) noexcept nogil:
    if conv_t is float:
        (<pcx_cv_f32_unstage_fn> wts.unstage)(out, ld_c, ow, stage, ob, n_c,
                                               t0, t1, pitch, stream)
    else:
        (<pcx_cv_f64_unstage_fn> wts.unstage)(out, ld_c, ow, stage, ob, n_c,
                                               t0, t1, pitch, stream)


cdef Py_ssize_t _phases(Py_ssize_t k, Py_ssize_t d, Py_ssize_t s,
                        Py_ssize_t *start, Py_ssize_t *sel,
                        Py_ssize_t *pos) noexcept nogil:
    """Kernel offset i*d (i < k) = pos[i]*s + start[sel[i]]: the distinct
    stride phases the taps use; returns how many."""
    cdef Py_ssize_t i, p, n = 0
    for i in range(k):
        for p in range(n):
            if start[p] == (i * d) % s:
                break
        else:
            start[n] = (i * d) % s
            p = n
            n += 1
        sel[i] = p
        pos[i] = (i * d) // s
    return n


cdef inline bint _in_place(Py_ssize_t kh, Py_ssize_t kw, Py_ssize_t sh,
                           Py_ssize_t sw, Py_ssize_t pt, Py_ssize_t pl,
                           Py_ssize_t oh, Py_ssize_t ow, Py_ssize_t h,
                           Py_ssize_t w) noexcept nogil:
    """1x1 windows of unit stride and no padding: the phase plane is the
    input plane itself, which the cv engine reads where it is (exact mode,
    the offsets spanning images) -- items split by channels gathered a
    copy each."""
    return (kh == 1 and kw == 1 and sh == 1 and sw == 1 and pt == 0
            and pl == 0 and oh == h and ow == w)


cdef struct _Phases:
    # The phase planes of a block of output rows (cv and flat engines):
    # kernel offset i*d = pos[i]*s + start[sel[i]] along rows (r*) and
    # columns (c*), from _phases; planes of rows_pl rows of `pitch`.
    Py_ssize_t *rstart
    Py_ssize_t *rsel
    Py_ssize_t *rpos
    Py_ssize_t *cstart
    Py_ssize_t *csel
    Py_ssize_t *cpos
    Py_ssize_t n_rph, n_cph, pitch, rows_pl, plane
    bint pair           # two column phases one apart: split rows in pairs


cdef Py_ssize_t *_phases_init(_Phases *ph, Py_ssize_t kh, Py_ssize_t kw,
                              Py_ssize_t sh, Py_ssize_t sw, Py_ssize_t dh,
                              Py_ssize_t dw, Py_ssize_t ow) noexcept nogil:
    """Fill ph but for its rows (_phases_rows); returns the allocation its
    arrays live in (free it), NULL if memory ran out."""
    cdef Py_ssize_t *geo = <Py_ssize_t *> malloc(3 * (kh + kw)
                                                 * sizeof(Py_ssize_t))
    if geo == NULL:
        return NULL
    ph.rstart, ph.rsel, ph.rpos = geo, geo + kh, geo + 2 * kh
    ph.cstart = geo + 3 * kh
    ph.csel, ph.cpos = ph.cstart + kw, ph.cstart + 2 * kw
    ph.n_rph = _phases(kh, dh, sh, ph.rstart, ph.rsel, ph.rpos)
    ph.n_cph = _phases(kw, dw, sw, ph.cstart, ph.csel, ph.cpos)
    ph.pitch = ow + ph.cpos[kw - 1]
    ph.pair = sw == 2 and ph.n_cph == 2 and ph.cstart[1] == ph.cstart[0] + 1
    return geo


cdef inline void _phases_rows(_Phases *ph, Py_ssize_t kh,
                              Py_ssize_t n_rows) noexcept nogil:
    """The planes' size for n_rows output rows."""
    ph.rows_pl = n_rows + ph.rpos[kh - 1]
    ph.plane = ph.rows_pl * ph.pitch


cdef void _gather(conv_t *buf, const _Phases *ph, const conv_t *planes,
                  Py_ssize_t c_in, Py_ssize_t h, Py_ssize_t w,
                  Py_ssize_t ci0, Py_ssize_t ci1, Py_ssize_t cg_in,
                  Py_ssize_t n_img, Py_ssize_t oh0, Py_ssize_t oh1,
                  Py_ssize_t kh, Py_ssize_t sh, Py_ssize_t sw, Py_ssize_t dh,
                  Py_ssize_t pt, Py_ssize_t pl, int mode, Py_ssize_t ahead,
                  conv_t *out_planes, Py_ssize_t oh,
                  Py_ssize_t ow) noexcept nogil:
    """The phase planes of input channels [ci0, ci1) of n_img images
    (`planes`: the first image's first channel of the group), for output
    rows [oh0, oh1): buf[ci][row phase][column phase][image][plane], at
    buf's start for channel 0.  `ahead`: see _conv_item_flat."""
    cdef Py_ssize_t ci, rp, cp, b, i, r
    cdef Py_ssize_t plane = ph.plane, pitch = ph.pitch
    cdef conv_t *dst
    # The input rows the block reads, clipped to the plane.
    cdef Py_ssize_t r0 = min(max(0, oh0 * sh - pt), h)
    cdef Py_ssize_t r1 = max(r0, min(h, (oh1 - 1) * sh - pt
                                     + (kh - 1) * dh + 1))
    for ci in range(ci0, ci1):
        if ci + PREFETCH_AHEAD < ci1:
            for b in range(n_img):
                pcx_prefetch(planes + (b * c_in + ci + PREFETCH_AHEAD) * h * w
                             + r0 * w, (r1 - r0) * w * sizeof(conv_t))
        for rp in range(ph.n_rph):
            for cp in range(1 if ph.pair else ph.n_cph):
                dst = buf + ((ci * ph.n_rph + rp) * ph.n_cph + cp) * n_img * plane
                for b in range(n_img):
                    for i in range(ph.rows_pl):
                        r = (oh0 + i) * sh + ph.rstart[rp] - pt
                        if ahead and cp == 0:
                            if 0 <= r < h:
                                pcx_prefetch(planes + ahead * cg_in * h * w
                                             + ci * h * w + r * w,
                                             w * sizeof(conv_t))
                            if ci == 0 and rp == 0 and i < oh1 - oh0:
                                pcx_prefetchw(out_planes + ahead * oh * ow
                                              + (oh0 + i) * ow,
                                              ow * sizeof(conv_t))
                        if ph.pair:
                            _gather_pair(dst + b * plane + i * pitch,
                                         dst + (n_img + b) * plane + i * pitch,
                                         pitch, ph.cstart[0],
                                         planes + (b * c_in + ci) * h * w, h,
                                         w, r, pl, mode)
                        else:
                            _gather_row(dst + b * plane + i * pitch, pitch,
                                        &ph.cstart[cp], 1,
                                        planes + (b * c_in + ci) * h * w, h,
                                        w, r, pl, sw, mode)


cdef int _conv_item_flat(
    const conv_t *x, Py_ssize_t c_in, Py_ssize_t h, Py_ssize_t w,
    const _Weights *wts, Py_ssize_t c_out, Py_ssize_t kh, Py_ssize_t kw,
    const conv_t *bias, conv_t *out, Py_ssize_t oh, Py_ssize_t ow,
    Py_ssize_t sh, Py_ssize_t sw, Py_ssize_t pt, Py_ssize_t pl,
    Py_ssize_t dh, Py_ssize_t dw, Py_ssize_t groups, int mode,
    Py_ssize_t img0, Py_ssize_t img1, Py_ssize_t g, Py_ssize_t oh0,
    Py_ssize_t oh1, Py_ssize_t blk0, Py_ssize_t blk1, Py_ssize_t ahead,
    conv_t *shared,
) noexcept nogil:
    """Output rows [oh0, oh1) of group g of images [img0, img1), by the cv
    engine (the channels of blocks [blk0, blk1); the images' phase planes
    end to end, one flat range of positions) or the flat engine (every
    channel, one image); see the module docstring.

    `ahead` > 0 (flat engine, one output channel a group, whole planes):
    while it gathers its rows, the item prefetches the same rows of the
    group `ahead` groups on, input and output -- the item this thread
    likely runs next.  (Each plane of such a layer is an item of a few
    microseconds, too short for the hardware prefetcher to ramp up on:
    the benchmark's depthwise layers took 0.69-0.81x the time.)

    Where less than EXACT_FILL of the cv engine's flat positions are
    outputs (small outputs: the pitch's extra columns and the halo rows
    between images), it runs at a list of the output positions instead.

    `shared` (cv): the item's phase planes, gathered already (see
    _gather_shared); NULL: the item gathers them."""
    cdef Py_ssize_t cg_in = c_in // groups, cg_out = c_out // groups
    cdef Py_ssize_t n_taps = cg_in * kh * kw
    cdef Py_ssize_t nr = wts.nr, ob = wts.ob
    cdef Py_ssize_t n_rows = oh1 - oh0
    cdef _Phases ph
    cdef Py_ssize_t *geo = _phases_init(&ph, kh, kw, sh, sw, dh, dw, ow)
    cdef Py_ssize_t n_rph, n_cph, pitch, plane, n_buf
    cdef Py_ssize_t n_blk = wts.n_blk
    cdef bint cv = wts.engine == ENGINE_CV
    cdef Py_ssize_t slack = max(nr, pcx_conv_slack_f32 if conv_t is float
                                else pcx_conv_slack_f64)
    cdef Py_ssize_t strip, n_pos, n_stage, n_flat, j0, j1, t0, t1
    # 16 KiB of weights per chunk of taps: with the lines of input the
    # chunk's taps read they stay in L1 (32 KiB did not: 5-7% slower on
    # the benchmark's strided and float64 layers).
    cdef Py_ssize_t k_chunk = max(16, 16384 // (ob * <Py_ssize_t> sizeof(conv_t)))
    cdef Py_ssize_t ci, i, u, v, blk, c, j
    cdef Py_ssize_t n_img = img1 - img0, b, lo, hi, span_img, step_img, row_len
    # Exact mode: the n_out output positions (padded to tiles) in the
    # flat range, and the outputs per image.
    cdef Py_ssize_t *off = NULL
    cdef Py_ssize_t n_out = 0, per_img = n_rows * ow
    cdef const conv_t *planes = x + (img0 * c_in + g * cg_in) * h * w
    cdef conv_t *out_planes = out + (img0 * c_out + g * cg_out) * oh * ow
    cdef conv_t *buf = NULL
    cdef conv_t *stage = NULL
    cdef conv_t *own = NULL         # deferred: the block being summed, packed
    cdef const conv_t *w_blk
    cdef Py_ssize_t n_own = n_taps * ob if cv and wts.deferred else 0
    cdef Py_ssize_t bo, be
    cdef bint in_place = cv and _in_place(kh, kw, sh, sw, pt, pl, oh, ow, h,
                                          w)
    cdef void *raw = NULL
    cdef size_t sizes[4]
    cdef void *parts[4]
    # Tap pointers into the planes; (flat) the same shifted to a strip, and
    # the stage rows of the output channels.
    cdef const conv_t **taps = <const conv_t **> malloc(
        max(1, 2 * n_taps + cg_out) * sizeof(conv_t *))
    cdef const conv_t **shifted = taps + n_taps
    cdef conv_t **outs = <conv_t **> (taps + 2 * n_taps)
    if geo != NULL and taps != NULL:
        _phases_rows(&ph, kh, n_rows)
        n_rph, n_cph, pitch, plane = ph.n_rph, ph.n_cph, ph.pitch, ph.plane
        if cv:
            # A stage of about 16K elements: chunks of ~500 float32
            # positions measured best (from 24 to 3840) on the benchmark's
            # dense layers.
            n_pos = max(1, 16384 // (ob * nr)) * nr
            n_stage = n_pos * ob
        elif cg_out == 1:
            # One channel: its rows go straight to the output.
            n_stage = 0
        else:
            # Strips of output rows, at most 256K stage elements.
            strip = max(1, min(n_rows, 262144 // (pitch * cg_out)))
            n_pos = strip * pitch
            n_stage = cg_out * n_pos
        # The kernels read up to `slack` positions past the last plane:
        # zeroed.
        n_buf = 0 if shared != NULL else slack + (
            0 if in_place else cg_in * n_rph * n_cph * n_img * plane)
        span_img = (n_rows - 1) * pitch + ow
        n_flat = (n_img - 1) * plane + span_img
        if cv and (in_place or n_img * per_img < EXACT_FILL * n_flat):
            n_out = n_img * per_img
        sizes[0] = n_buf * sizeof(conv_t)
        sizes[1] = n_stage * sizeof(conv_t)
        sizes[2] = n_own * sizeof(conv_t)
        sizes[3] = (n_out + nr if n_out else 0) * sizeof(Py_ssize_t)
        raw = _take_parts(4, sizes, parts)
    if raw == NULL:
        free(geo)
        free(<void *> taps)
        return -1
    buf = <conv_t *> parts[0]
    stage = <conv_t *> parts[1]
    own = <conv_t *> parts[2]
    if n_out:
        off = <Py_ssize_t *> parts[3]
    if shared != NULL:
        buf = shared
    else:
        memset(buf + n_buf - slack, 0, slack * sizeof(conv_t))
        # (In place: nothing to gather.)
        if not in_place:
            _gather(buf, &ph, planes, c_in, h, w, 0, cg_in, cg_in, n_img, oh0,
                    oh1, kh, sh, sw, dh, pt, pl, mode, ahead, out_planes, oh,
                    ow)

    i = 0
    for ci in range(cg_in):
        for u in range(kh):
            for v in range(kw):
                if in_place:
                    taps[i] = planes + ci * h * w + oh0 * w
                else:
                    taps[i] = (buf + ((ci * n_rph + ph.rsel[u]) * n_cph
                                      + ph.csel[v]) * n_img * plane
                               + ph.rpos[u] * pitch + ph.cpos[v])
                i += 1

    if cv:
        if n_out:
            # Output p = (b*n_rows + j)*ow + x at flat position b*plane +
            # j*pitch + x (in place: b*c_in*h*w + j*w + x); the last tile's
            # extra rows at position 0.
            i = 0
            for b in range(n_img):
                for j in range(n_rows):
                    for c in range(ow):
                        off[i] = (b * (c_in * h * w if in_place else plane)
                                  + j * pitch + c)
                        i += 1
            for i in range(n_out, n_out + nr):
                off[i] = 0
            # Image b's outputs: positions b*per_img + [0, per_img), rows
            # of ow.
            n_flat, step_img, span_img, row_len = n_out, per_img, per_img, ow
        else:
            # Image b's outputs: flat positions b*plane + [0, span_img), rows
            # of pitch.
            step_img, row_len = plane, pitch
        # Chunks of n_pos positions; per channel block the kernel fills a
        # stage of n_pos x ob, at once copied into the output.  Every
        # block per chunk -- or, weights deferred, one block [bo, be) at a
        # time, packed here for all the chunks: it then stays in L2
        # instead of a whole layer's pack going through memory and back.
        bo = blk0
        while bo < blk1:
            be = bo + 1 if wts.deferred else blk1
            if wts.deferred:
                _pack_block(wts, own, <const conv_t *> wts.src
                            + (g * cg_out + bo * ob) * n_taps,
                            min(ob, cg_out - bo * ob), cg_in, n_taps)
            t0 = 0
            while t0 < n_flat:
                t1 = min(t0 + n_pos, n_flat)
                for blk in range(bo, be):
                    w_blk = own if wts.deferred else (
                        <const conv_t *> wts.w + (g * n_blk + blk) * n_taps * ob)
                    _cv_sum(wts, stage, t1 - t0, taps, n_taps,
                            t0, off + t0 if n_out else NULL, w_blk,
                            <const conv_t *> wts.b + (g * n_blk + blk) * ob,
                            k_chunk)
                    for b in range(n_img):
                        lo = max(t0, b * step_img)
                        hi = min(t1, b * step_img + span_img)
                        if lo < hi:
                            _unstage(wts, out_planes + (b * c_out * oh
                                                        + blk * ob * oh + oh0) * ow,
                                     oh * ow, ow, stage + (lo - t0) * ob, ob,
                                     min(ob, cg_out - blk * ob), lo - b * step_img,
                                     hi - b * step_img, row_len, wts.stream)
                t0 = t1
            bo = be
    elif cg_out == 1:
        # Depthwise (or one channel a group): a kernel whose sums are
        # independent rows, stored where they belong (the benchmark's
        # depthwise layer took 0.74x the time it took through the stage).
        _conv_one(out_planes + oh0 * ow, n_rows, ow, taps, n_taps, kh, kw,
                  pitch, <const conv_t *> wts.w + g * n_taps, bias[g])
    else:
        # Strips of output rows: stage[c][t - t0], then the first ow columns
        # of each of its rows.
        j0 = 0
        while j0 < n_rows:
            j1 = min(j0 + strip, n_rows)
            t0 = j0 * pitch
            t1 = (j1 - 1) * pitch + ow
            for i in range(n_taps):
                shifted[i] = taps[i] + t0
            for c in range(cg_out):
                outs[c] = stage + c * n_pos
            _conv_rows(outs, cg_out, t1 - t0, shifted, n_taps,
                       <const conv_t *> wts.w + g * cg_out * n_taps,
                       bias + g * cg_out)
            for c in range(cg_out):
                for j in range(j0, j1):
                    memcpy(out_planes + (c * oh + oh0 + j) * ow,
                           stage + c * n_pos + (j - j0) * pitch,
                           ow * sizeof(conv_t))
            j0 = j1
    give(raw)
    free(geo)
    free(<void *> taps)
    return 0


cdef inline void _gemm(const _Weights *wts, conv_t *dst, Py_ssize_t ld,
                       Py_ssize_t n_c, Py_ssize_t n_t, const conv_t *b,
                       Py_ssize_t kc, const conv_t *a,
                       const conv_t *bias) noexcept nogil:
    if conv_t is float:
        (<pcx_cv_f32_gemm_fn> wts.gemm)(dst, ld, n_c, n_t, b, kc, a, bias)
    else:
        (<pcx_cv_f64_gemm_fn> wts.gemm)(dst, ld, n_c, n_t, b, kc, a, bias)


cdef inline void _gemm_pack(conv_t *panel, Py_ssize_t kc, Py_ssize_t np,
                            const conv_t *src, Py_ssize_t plane,
                            Py_ssize_t nk, Py_ssize_t n) noexcept nogil:
    if conv_t is float:
        pcx_gemm_pack_f32(panel, kc, np, src, plane, nk, n)
    else:
        pcx_gemm_pack_f64(panel, kc, np, src, plane, nk, n)


cdef inline Py_ssize_t _offset_1x1(Py_ssize_t q, Py_ssize_t ow, Py_ssize_t h,
                                   Py_ssize_t w, Py_ssize_t sh, Py_ssize_t sw,
                                   Py_ssize_t pt, Py_ssize_t pl,
                                   int mode) noexcept nogil:
    """Where output position q (flat, row-major) of a 1x1 layer reads its
    input plane, or -1 in zero padding."""
    cdef Py_ssize_t iy = (q // ow) * sh - pt, ix = (q % ow) * sw - pl
    if 0 <= iy < h and 0 <= ix < w:
        return iy * w + ix
    if mode == PAD_ZEROS:
        return -1
    iy = iy if 0 <= iy < h else _extend(iy, h, mode)
    ix = ix if 0 <= ix < w else _extend(ix, w, mode)
    return iy * w + ix


cdef inline void _gemv(conv_t *y, const conv_t *w, Py_ssize_t lda,
                       Py_ssize_t n_rows, const conv_t *xt, Py_ssize_t n,
                       Py_ssize_t n_pos, const conv_t *bias) noexcept nogil:
    # Up to GEMV_K_POSITIONS: inputs position by position (xt[p*n + k]).
    if conv_t is float:
        if n_pos <= GEMV_K_POSITIONS:
            pcx_conv_rows_f32_gemv_k(y, w, lda, n_rows, xt, n, n_pos, bias)
        else:
            pcx_conv_rows_f32_gemv(y, w, lda, n_rows, xt, n, bias)
    else:
        if n_pos <= GEMV_K_POSITIONS:
            pcx_conv_rows_f64_gemv_k(y, w, lda, n_rows, xt, n, n_pos, bias)
        else:
            pcx_conv_rows_f64_gemv(y, w, lda, n_rows, xt, n, bias)


cdef int _conv_item_gemv(
    const conv_t *x, Py_ssize_t n, Py_ssize_t c_in, Py_ssize_t h,
    Py_ssize_t w, const _Weights *wts, Py_ssize_t c_out, conv_t *out,
    Py_ssize_t oh, Py_ssize_t ow, Py_ssize_t sh, Py_ssize_t sw, Py_ssize_t pt,
    Py_ssize_t pl, Py_ssize_t groups, int mode, Py_ssize_t g,
    Py_ssize_t blk0, Py_ssize_t blk1,
) noexcept nogil:
    """Channel blocks [blk0, blk1) of group g of a 1x1 layer with at most
    vl output positions in all (every image), by the gemv engine: the
    positions' inputs are packed transposed (C_in/groups x vl, one vector
    of positions per channel; up to GEMV_K_POSITIONS positions, position
    by position instead, and the kernel's vectors run along the input
    channels), then every weight row, read as it is from end to end (in
    chunks the hardware prefetcher lost the rows' streams: twice the time),
    is run against them into sums y (channels x vl), scattered into the
    output."""
    cdef Py_ssize_t cg_in = c_in // groups, cg_out = c_out // groups
    cdef Py_ssize_t vl = 64 // <Py_ssize_t> sizeof(conv_t)
    cdef Py_ssize_t hw = h * w, ohw = oh * ow, n_pos = n * oh * ow
    # xt[k*k_step + p*p_step]: transposed, or position by position up to
    # GEMV_K_POSITIONS positions.
    cdef Py_ssize_t k_step = 1 if n_pos <= GEMV_K_POSITIONS else vl
    cdef Py_ssize_t p_step = cg_in if n_pos <= GEMV_K_POSITIONS else 1
    cdef Py_ssize_t co0 = blk0 * GEMV_ROWS
    cdef Py_ssize_t n_co = min(blk1 * GEMV_ROWS, cg_out) - co0
    cdef Py_ssize_t p, b, o, k, r
    cdef const conv_t *src
    cdef size_t sizes[2]
    cdef void *parts[2]
    cdef void *raw
    cdef conv_t *xt
    cdef conv_t *y
    sizes[0] = cg_in * vl * sizeof(conv_t)
    sizes[1] = n_co * vl * sizeof(conv_t)
    raw = _take_parts(2, sizes, parts)
    if raw == NULL:
        return -1
    xt = <conv_t *> parts[0]
    y = <conv_t *> parts[1]
    # Positions past n_pos: zeros, never stored.
    memset(xt, 0, cg_in * vl * sizeof(conv_t))
    for p in range(n_pos):
        b = p // ohw
        o = _offset_1x1(p - b * ohw, ow, h, w, sh, sw, pt, pl, mode)
        src = x + (b * c_in + g * cg_in) * hw
        for k in range(cg_in if o >= 0 else 0):
            xt[k * k_step + p * p_step] = src[k * hw + o]
    _gemv(y, <const conv_t *> wts.w + (g * cg_out + co0) * cg_in, cg_in, n_co,
          xt, cg_in, n_pos, <const conv_t *> wts.b + g * cg_out + co0)
    for r in range(n_co):
        for p in range(n_pos):
            b = p // ohw
            out[(b * c_out + g * cg_out + co0 + r) * ohw + p - b * ohw] = \
                y[r * vl + p]
    give(raw)
    return 0


cdef int _conv_item_gemm(
    const conv_t *x, Py_ssize_t c_in, Py_ssize_t h, Py_ssize_t w,
    const _Weights *wts, Py_ssize_t c_out, conv_t *out, Py_ssize_t oh,
    Py_ssize_t ow, Py_ssize_t sh, Py_ssize_t sw, Py_ssize_t pt, Py_ssize_t pl,
    Py_ssize_t groups, int mode, Py_ssize_t img0, Py_ssize_t img1,
    Py_ssize_t g, Py_ssize_t q0, Py_ssize_t q1, Py_ssize_t blk0,
    Py_ssize_t blk1,
) noexcept nogil:
    """Output positions [q0, q1) (flat, row-major) of group g of images
    [img0, img1), channel blocks [blk0, blk1), of a 1x1 layer by the gemm
    engine: a matrix product (channels x input channels) x (input channels
    x positions).

    The item's positions, image after image, go in tiles of np, up to mt
    tiles at a time: per chunk of kc input channels the inputs of those
    tiles are packed (kc x np per tile, zero at padding; each input row
    read in one run, which the hardware prefetcher follows, where tiles
    packed one by one read 256 two-line pieces of rows, each a cache miss),
    then per channel block every tile is computed from its panel straight
    into the NCHW output rows.  A tile across two images (several
    images per item) goes to a buffer, copied out once its sums are
    complete."""
    cdef Py_ssize_t cg_in = c_in // groups, cg_out = c_out // groups
    # The tile: mr channels x np positions.
    cdef Py_ssize_t mr = wts.nr, np = wts.ob
    cdef Py_ssize_t hw = h * w, ohw = oh * ow, per_img = q1 - q0
    cdef Py_ssize_t n_pos = (img1 - img0) * per_img, n_b = blk1 - blk0
    # A tile's panel of at most 32 KiB; the mt tiles' of at most 512 KiB.
    cdef Py_ssize_t kc = max(16, 32768 // (np * <Py_ssize_t> sizeof(conv_t)))
    cdef Py_ssize_t mt = max(1, 524288 // (kc * np
                                           * <Py_ssize_t> sizeof(conv_t)))
    cdef Py_ssize_t n_buf = mt * n_b * mr * np if img1 - img0 > 1 else 0
    cdef Py_ssize_t t0, t, j, i, b, q, n_mac, n_til, n_t, k0, nk, k
    cdef Py_ssize_t blk, n_c, seg, c
    cdef bint contig, cross
    cdef const conv_t *planes = x + (img0 * c_in + g * cg_in) * hw
    cdef const conv_t *src
    cdef const conv_t *a
    cdef const conv_t *bias
    cdef conv_t *dst
    cdef size_t sizes[3]
    cdef void *parts[3]
    cdef void *raw
    cdef conv_t *panel
    cdef conv_t *buf
    cdef Py_ssize_t *off
    mt = min(mt, (n_pos + np - 1) // np)
    sizes[0] = mt * kc * np * sizeof(conv_t)
    sizes[1] = n_buf * sizeof(conv_t)
    sizes[2] = mt * np * sizeof(Py_ssize_t)
    raw = _take_parts(3, sizes, parts)
    if raw == NULL:
        return -1
    panel = <conv_t *> parts[0]
    buf = <conv_t *> parts[1]
    off = <Py_ssize_t *> parts[2]

    t0 = 0
    while t0 < n_pos:
        n_mac = min(mt * np, n_pos - t0)
        n_til = (n_mac + np - 1) // np
        # off[j]: where position t0 + j reads its image's first channel
        # (-1: zero padding).
        contig = True
        for j in range(n_mac):
            b = (t0 + j) // per_img
            off[j] = _offset_1x1(q0 + t0 + j - b * per_img, ow, h, w, sh, sw,
                                 pt, pl, mode)
            if off[j] >= 0:
                off[j] += b * c_in * hw
            contig = contig and off[j] >= 0 and off[j] == off[0] + j
        k0 = 0
        while True:
            nk = min(kc, cg_in - k0)
            if contig:
                _gemm_pack(panel, kc, np, planes + k0 * hw + off[0], hw, nk,
                           n_mac)
            for k in range(nk if not contig else 0):
                src = planes + (k0 + k) * hw
                for i in range(n_til):
                    dst = panel + (i * kc + k) * np
                    n_t = min(np, n_mac - i * np)
                    for j in range(n_t):
                        dst[j] = (src[off[i * np + j]]
                                  if off[i * np + j] >= 0 else 0)
                    # Never stored, but kept finite (and not subnormal).
                    for j in range(n_t, np):
                        dst[j] = 0
            # Channel blocks outside: each block's weights stay in L1 while
            # the tiles' panels stream from L2, and each output row is
            # written in one sequential run (tiles outside: 0.85-0.97 of
            # the time on large layers, the same on small ones).
            for blk in range(blk0, blk1):
                a = (<const conv_t *> wts.w
                     + ((g * wts.n_blk + blk) * cg_in + k0) * mr)
                bias = (<const conv_t *> wts.b + (g * wts.n_blk + blk) * mr
                        if k0 == 0 else NULL)
                for i in range(n_til):
                    t = t0 + i * np
                    n_t = min(np, n_mac - i * np)
                    b = t // per_img
                    cross = t - b * per_img + n_t > per_img
                    if cross:
                        _gemm(wts, buf + (i * n_b + blk - blk0) * mr * np, np,
                              mr, np, panel + i * kc * np, nk, a, bias)
                    else:
                        _gemm(wts, out + ((img0 + b) * c_out + g * cg_out
                                          + blk * mr) * ohw
                              + q0 + t - b * per_img, ohw,
                              min(mr, cg_out - blk * mr), n_t,
                              panel + i * kc * np, nk, a, bias)
            k0 += kc
            if k0 >= cg_in:
                break
        # The tiles across two images, image by image.
        for i in range(n_til if n_buf else 0):
            t = t0 + i * np
            n_t = min(np, n_mac - i * np)
            if t - (t // per_img) * per_img + n_t <= per_img:
                continue
            for blk in range(blk0, blk1):
                n_c = min(mr, cg_out - blk * mr)
                j = 0
                while j < n_t:
                    b = (t + j) // per_img
                    q = t + j - b * per_img
                    seg = min(n_t - j, per_img - q)
                    for c in range(n_c):
                        memcpy(out + ((img0 + b) * c_out + g * cg_out
                                      + blk * mr + c) * ohw + q0 + q,
                               buf + ((i * n_b + blk - blk0) * mr + c) * np
                               + j, seg * sizeof(conv_t))
                    j += seg
        t0 += n_mac
    give(raw)
    return 0


cdef inline void _wino_in(const _Weights *wts, bint half, conv_t *v,
                          Py_ssize_t ld_a, const conv_t *rows, Py_ssize_t ld_r,
                          Py_ssize_t nty, Py_ssize_t ntx,
                          Py_ssize_t t_pad) noexcept nogil:
    cdef void *fn = wts.wino_in_half if half else wts.wino_in
    if conv_t is float:
        (<pcx_cv_f32_wino_in_fn> fn)(v, ld_a, rows, ld_r, nty, ntx, t_pad)
    else:
        (<pcx_cv_f64_wino_in_fn> fn)(v, ld_a, rows, ld_r, nty, ntx, t_pad)


cdef inline int _wino_out(const _Weights *wts, conv_t *stage, const conv_t *m,
                          Py_ssize_t ld_m, Py_ssize_t nty, Py_ssize_t ntx,
                          const conv_t *bias) noexcept nogil:
    if conv_t is float:
        return (<pcx_cv_f32_wino_out_fn> wts.wino_out)(stage, m, ld_m, nty,
                                                       ntx, bias)
    else:
        return (<pcx_cv_f64_wino_out_fn> wts.wino_out)(stage, m, ld_m, nty,
                                                       ntx, bias)


cdef inline void _interleave(conv_t *dst, Py_ssize_t n, const conv_t **src,
                             Py_ssize_t k) noexcept nogil:
    if conv_t is float:
        pcx_interleave_f32(dst, n, src, k)
    else:
        pcx_interleave_f64(dst, n, src, k)


cdef inline Py_ssize_t _wino_t_str(Py_ssize_t n_tt, Py_ssize_t ntx,
                                    Py_ssize_t vl,
                                    Py_ssize_t t_pad) noexcept nogil:
    """The distance between input channels of the transformed inputs:
    the kernels' tiles (t_pad), or more where the input transform's last
    vector of a row of ntx tiles runs past them."""
    return max(t_pad, n_tt - ntx + vl * ((ntx + vl - 1) // vl))


cdef void _wino_inputs(const _Weights *wts, bint half, conv_t *v,
                       Py_ssize_t t_str, conv_t *slab, Py_ssize_t ld_r,
                       const conv_t *planes, Py_ssize_t c_in, Py_ssize_t h,
                       Py_ssize_t w, Py_ssize_t ci0, Py_ssize_t ci1,
                       Py_ssize_t cg_in, Py_ssize_t n_img, Py_ssize_t ty0,
                       Py_ssize_t nty, Py_ssize_t ntx, Py_ssize_t t_pad,
                       Py_ssize_t p, Py_ssize_t q, Py_ssize_t dh,
                       Py_ssize_t dw, Py_ssize_t pt, Py_ssize_t pl,
                       int mode) noexcept nogil:
    """Input channels [ci0, ci1) of images [0, n_img) (planes: the
    group's first channel of the first image) in the Winograd domain:
    v[(a*cg_in + ci)*t_str + b*n_t + tile] for the n_t = nty x ntx tiles
    of phase (p, q) from tile row ty0, and zeros up to t_pad past the last
    image's.  slab: a buffer of 4*nty + 2 rows of ld_r, the padded rows."""
    cdef Py_ssize_t ci, b, i, n_t = nty * ntx
    # The input rows the slab takes, clipped to the plane, once for
    # every phase: the first (0, 0) reads ahead for the others.
    cdef Py_ssize_t r0 = min(max(0, 4 * ty0 * dh - pt), h)
    cdef Py_ssize_t r1 = max(r0, min(h, (4 * ty0 + 4 * nty + 1) * dh + dh - 1
                                     - pt + 1))
    for ci in range(ci0, ci1):
        for b in range(n_img):
            if ci + PREFETCH_AHEAD < ci1 and p == 0 and q == 0:
                pcx_prefetch(planes + (b * c_in + ci + PREFETCH_AHEAD)
                             * h * w + r0 * w,
                             (r1 - r0) * w * sizeof(conv_t))
            for i in range(4 * nty + 2):
                _gather_row(slab + i * ld_r, ld_r, &q, 1,
                            planes + (b * c_in + ci) * h * w, h, w,
                            (4 * ty0 + i) * dh + p - pt, pl, dw, mode)
            # Image b's tiles from b*n_t (a vector's overrun is
            # overwritten by the next image's); the padding after
            # the last image's.
            _wino_in(wts, half, v + ci * t_str + b * n_t, cg_in * t_str,
                     slab, ld_r, nty, ntx,
                     t_pad - b * n_t if b == n_img - 1 else n_t)


cdef inline void _wino_sum(const _Weights *wts, conv_t *stage,
                           Py_ssize_t n_pos, const conv_t **taps,
                           Py_ssize_t n_taps, Py_ssize_t t0,
                           const Py_ssize_t *ident, const conv_t *w,
                           const conv_t *bias,
                           Py_ssize_t k_chunk) noexcept nogil:
    """_cv_sum over tiles [t0, t0 + n_pos): whole kernel tiles at flat
    positions, the rest at the listed ones ident[t] = t, the last kernel
    tile cut to fit.  (Cut: 16 tiles, 12 + 4 where 24 were computed,
    took 0.85-0.89x the time at 512 and 128 channels.  Listed throughout:
    blocks of 128 tiles took 1.06-1.11x.)"""
    cdef Py_ssize_t whole = n_pos // wts.nr * wts.nr
    if whole > 0:
        _cv_sum(wts, stage, whole, taps, n_taps, t0, NULL, w, bias, k_chunk)
    if n_pos > whole:
        _cv_sum(wts, stage + whole * wts.ob, n_pos - whole, taps, n_taps,
                t0 + whole, ident + t0 + whole, w, bias, k_chunk)


cdef int _conv_item_wino(
    const conv_t *x, Py_ssize_t c_in, Py_ssize_t h, Py_ssize_t w,
    const _Weights *wts, Py_ssize_t c_out, conv_t *out, Py_ssize_t oh,
    Py_ssize_t ow, Py_ssize_t pt, Py_ssize_t pl, Py_ssize_t dh, Py_ssize_t dw,
    Py_ssize_t groups, int mode, Py_ssize_t img0, Py_ssize_t img1,
    Py_ssize_t g, Py_ssize_t ty0, Py_ssize_t ty1, Py_ssize_t blk0,
    Py_ssize_t blk1, const conv_t *v_shared,
) noexcept nogil:
    """Output rows [4*ty0*dh, min(4*ty1*dh, oh)) of channel blocks
    [blk0, blk1) of group g of images [img0, img1) by Winograd F(4x4, 3x3)
    (several images only undilated).  v_shared: the transformed inputs
    (see _wino_shared), or NULL for the item to transform them.

    A dilated window is dh*dw undilated ones: the outputs (dh*i + p,
    dw*j + q) of phase (p, q) read padded input (dh*r + p, dw*c + q) only.
    Per phase, tiles of 4x4 outputs (i, j) in [4ty, 4ty+4) x [4tx, 4tx+4),
    each reading a 6x6 window of the phase's input: per input channel the
    padded rows go to a slab and are transformed into 36 terms per tile;
    per channel block each term is a product (tiles x C_in/groups) x
    (C_in/groups x ob) by the cv micro-kernel, the input channels playing
    its taps; the output transform fills a stage of 4x4 blocks that _unstage
    copies into NCHW (through a buffer when dilated).  Outputs past the
    phase's rows or columns are computed from padding and dropped.

    Returns 0, -1 if memory ran out, or 1 if an output is not finite: the
    transforms mix a tile's inputs, so an infinity or NaN would not stay in
    the outputs whose windows hold it, and the caller sums the whole call
    again directly (see conv2d_forward).

    Several images: their tiles run end to end through the products, so
    that fewer are padding in the kernel's last tile (a 28x28 output is 49
    tiles, 60 in tiles of 12).

    Weights deferred (wts.deferred: the item's blocks serve it alone), the
    item transforms them itself, block by block and WINO_CHUNK input
    channels at a time, and sums each term over the chunks in turn: the
    packed weights of a 512 x 512 layer are 37.7 MB, which the pack wrote
    to fresh memory (page faults included) for the items to read back
    (8 x 512 x 7x7: 0.35x the time, with _wino_shared)."""
    cdef Py_ssize_t cg_in = c_in // groups, cg_out = c_out // groups
    cdef Py_ssize_t nr = wts.nr, ob = wts.ob, n_blk = blk1 - blk0
    # Buffers are sized for phase (0, 0), the largest.
    cdef Py_ssize_t n_img = img1 - img0, b
    cdef Py_ssize_t ntx = ((ow + dw - 1) // dw + 3) // 4, nty = ty1 - ty0
    cdef Py_ssize_t n_t = nty * ntx, n_tt = n_img * n_t
    cdef Py_ssize_t t_pad = (n_tt + nr - 1) // nr * nr
    # The input transform runs on vectors of vl tiles (the kernels' tiles
    # are two vectors of channels wide; half that for rows of few tiles):
    # rows of ld_r columns, and terms written up to t_str (see
    # pcx_conv_cv_body.h).
    cdef bint half = ntx <= wts.vl_half
    cdef Py_ssize_t vl = wts.vl_half if half else ob // 2
    cdef Py_ssize_t ld_r = 4 * vl * ((ntx + vl - 1) // vl) + 4
    cdef Py_ssize_t t_str = _wino_t_str(n_tt, ntx, vl, t_pad)
    cdef Py_ssize_t n_slab_rows = 4 * nty + 2
    # 32 KiB of weights per chunk of input channels.
    cdef Py_ssize_t k_chunk = max(16, 32768 // (ob * <Py_ssize_t> sizeof(conv_t)))
    cdef Py_ssize_t n_slab = n_slab_rows * ld_r
    cdef Py_ssize_t n_v = 36 * cg_in * t_str if v_shared == NULL else 0
    cdef Py_ssize_t n_m = 36 * n_blk * t_pad * ob
    cdef Py_ssize_t n_own = 36 * WINO_CHUNK * ob if wts.deferred else 0
    cdef Py_ssize_t n_o = 16 * n_t * ob
    # Dilated: the output rows of every column phase, per channel (cs
    # apart) and phase (dq apart), to be interleaved into the output rows.
    cdef Py_ssize_t cs = 16 * n_t, dq = n_blk * ob * cs
    cdef Py_ssize_t n_d = 0 if dh == 1 and dw == 1 else dw * dq
    cdef Py_ssize_t i, j, c, a, blk, b0, p, q, oh_p, ow_q, n_rows, n_c, k0, nk
    cdef Py_ssize_t t0, n_pos = max(1, WINO_POSITIONS // nr) * nr
    cdef bint finite = True
    cdef const conv_t *planes = x + (img0 * c_in + g * cg_in) * h * w
    cdef conv_t *out_planes = out + (img0 * c_out + g * cg_out) * oh * ow
    cdef const conv_t *zero = <const conv_t *> wts.b + groups * wts.n_blk * ob
    cdef const conv_t **taps = <const conv_t **> malloc(
        (36 * cg_in + dw) * sizeof(conv_t *))
    cdef const conv_t **phase_rows = taps + 36 * cg_in
    # The tiles' own indices, for the last kernel tile (see _wino_sum).
    cdef Py_ssize_t *ident = <Py_ssize_t *> malloc(t_pad * sizeof(Py_ssize_t))
    cdef size_t sizes[6]
    cdef void *parts[6]
    cdef void *raw
    cdef conv_t *slab
    cdef conv_t *v
    cdef conv_t *m
    cdef conv_t *ostage
    cdef conv_t *dil
    cdef conv_t *own
    sizes[0] = n_slab * sizeof(conv_t)
    sizes[1] = n_v * sizeof(conv_t)
    sizes[2] = n_m * sizeof(conv_t)
    sizes[3] = n_o * sizeof(conv_t)
    sizes[4] = n_d * sizeof(conv_t)
    sizes[5] = n_own * sizeof(conv_t)
    raw = _take_parts(6, sizes, parts)
    if raw == NULL or taps == NULL or ident == NULL:
        give(raw)
        free(<void *> taps)
        free(ident)
        return -1
    for i in range(t_pad):
        ident[i] = i
    slab = <conv_t *> parts[0]
    v = <conv_t *> parts[1]
    m = <conv_t *> parts[2]
    ostage = <conv_t *> parts[3]
    dil = <conv_t *> parts[4]
    own = <conv_t *> parts[5]

    for p in range(dh):
        for q in range(dw):
            oh_p = (oh - p + dh - 1) // dh
            ow_q = (ow - q + dw - 1) // dw
            n_rows = min(4 * ty1, oh_p) - 4 * ty0
            if n_rows <= 0 or ow_q <= 0:
                continue
            nty = (n_rows + 3) // 4
            ntx = (ow_q + 3) // 4
            n_t = nty * ntx
            n_tt = n_img * n_t
            t_pad = (n_tt + nr - 1) // nr * nr
            t_str = _wino_t_str(n_tt, ntx, vl, t_pad)
            if v_shared != NULL:
                v = <conv_t *> v_shared
            else:
                _wino_inputs(wts, half, v, t_str, slab, ld_r, planes, c_in,
                             h, w, 0, cg_in, cg_in, n_img, ty0, nty, ntx,
                             t_pad, p, q, dh, dw, pt, pl, mode)
            for i in range(36 * cg_in):
                taps[i] = v + i * t_str

            # m[term][block][tile][channel].
            if wts.deferred:
                # Block by block, chunk by chunk of WINO_CHUNK input
                # channels: their weights transformed into `own` (in L2),
                # then every term's product over the chunk, accumulated.
                for blk in range(n_blk):
                    n_c = min(ob, cg_out - (blk0 + blk) * ob)
                    k0 = 0
                    while k0 < cg_in:
                        nk = min(WINO_CHUNK, cg_in - k0)
                        _wino_pack(own, <const conv_t *> wts.src
                                   + ((g * cg_out + (blk0 + blk) * ob) * cg_in
                                      + k0) * 9, n_c, nk, cg_in, ob)
                        for a in range(36):
                            t0 = 0
                            while t0 < n_tt:
                                _wino_sum(wts, m + ((a * n_blk + blk) * t_pad
                                                    + t0) * ob,
                                          min(n_pos, n_tt - t0),
                                          taps + a * cg_in + k0, nk, t0, ident,
                                          own + a * nk * ob,
                                          zero if k0 == 0 else NULL, k_chunk)
                                t0 += n_pos
                        k0 += nk
            else:
                # Term by term; per pair of channel blocks, WINO_POSITIONS
                # tiles at a time run through both, so that their
                # transformed inputs are read once from L2.
                for a in range(36):
                    for b0 in range(0, n_blk, 2):
                        t0 = 0
                        while t0 < n_tt:
                            for blk in range(b0, min(b0 + 2, n_blk)):
                                # The input channels are the taps.
                                _wino_sum(wts, m + ((a * n_blk + blk) * t_pad
                                                    + t0) * ob,
                                          min(n_pos, n_tt - t0),
                                          taps + a * cg_in, cg_in, t0, ident,
                                          <const conv_t *> wts.w
                                          + ((g * wts.n_blk + blk0 + blk) * 36
                                             + a) * cg_in * ob,
                                          zero, k_chunk)
                            t0 += n_pos
            for blk in range(n_blk):
                n_c = min(ob, cg_out - (blk0 + blk) * ob)
                if n_d == 0:
                    for b in range(n_img):
                        finite &= _wino_out(wts, ostage,
                                            m + (blk * t_pad + b * n_t) * ob,
                                            n_blk * t_pad * ob, nty, ntx,
                                            <const conv_t *> wts.b
                                            + (g * wts.n_blk + blk0 + blk) * ob)
                        _unstage(wts, out_planes + (b * c_out * oh
                                                    + (blk0 + blk) * ob * oh
                                                    + 4 * ty0) * ow,
                                 oh * ow, ow, ostage, ob, n_c, 0,
                                 n_rows * 4 * ntx, 4 * ntx, wts.stream)
                    continue
                finite &= _wino_out(wts, ostage, m + blk * t_pad * ob,
                                    n_blk * t_pad * ob, nty, ntx,
                                    <const conv_t *> wts.b
                                    + (g * wts.n_blk + blk0 + blk) * ob)
                # Dilated: the phase's rows, interleaved below.
                # (A buffer read again at once: cached stores.)
                _unstage(wts, dil + q * dq + blk * ob * cs, cs, ow_q, ostage,
                         ob, n_c, 0, n_rows * 4 * ntx, 4 * ntx, False)
        # Every dh-th output row, its columns from the dw phases in turn
        # (each output line written once: a strided scatter phase by phase
        # took 10% of the benchmark's dilated layer).
        n_rows = min(4 * ty1, (oh - p + dh - 1) // dh) - 4 * ty0
        for c in range(min(n_blk * ob, cg_out - blk0 * ob) if n_d else 0):
            for j in range(n_rows):
                for q in range(dw):
                    phase_rows[q] = (dil + q * dq + c * cs
                                     + j * ((ow - q + dw - 1) // dw))
                _interleave(out_planes + (blk0 * ob + c) * oh * ow
                            + ((4 * ty0 + j) * dh + p) * ow, ow, phase_rows,
                            dw)
    give(raw)
    free(<void *> taps)
    free(ident)
    return 0 if finite else 1


cdef struct _Plan:
    # Items: (range of images, group, row block, range of channel blocks).
    Py_ssize_t img_blocks, imgs_per_block   # cv engine, small outputs; else n, 1
    Py_ssize_t n_images
    Py_ssize_t n_rows                       # output rows; wino: pairs of them
    Py_ssize_t row_blocks, rows_per_block
    Py_ssize_t chan_splits, blocks_per_split   # cv engine; else 1 and 0
    Py_ssize_t n_items
    int n_threads
    # cv, channel splits: every (image block, group, row block)'s phase
    # planes, gathered once for its items, unit_size elements apart (or
    # NULL: each item gathers its own); wino: the same of its transformed
    # inputs.  From take(): give it back.
    void *gathered
    Py_ssize_t unit_size


cdef inline double _work(Py_ssize_t n, Py_ssize_t c_in, Py_ssize_t c_out,
                         Py_ssize_t oh, Py_ssize_t ow, Py_ssize_t kh,
                         Py_ssize_t kw, Py_ssize_t groups) noexcept nogil:
    """Multiply-adds, in double: the product of the sizes may not fit."""
    return <double> n * c_out * oh * ow * (c_in // groups) * kh * kw


cdef inline Py_ssize_t _split(Py_ssize_t total, Py_ssize_t parts,
                              Py_ssize_t *count) noexcept nogil:
    """`total` in at most `parts` (>= 1) near-equal parts: returns the part
    size and sets *count to the number of parts (1 part of 0 for 0)."""
    cdef Py_ssize_t per = (total + parts - 1) // parts
    count[0] = (total + per - 1) // per if per else 1
    return per


cdef _Plan _plan_wino(const _Weights *wts, Py_ssize_t n, Py_ssize_t c_in,
                      Py_ssize_t c_out, Py_ssize_t oh, Py_ssize_t ow,
                      Py_ssize_t groups, int n_threads, double work,
                      bint dilated) noexcept nogil:
    """Whole images and groups, then blocks of tile rows (four output
    rows of each dilation phase: oh and ow here are a phase's) of about
    WINO_ELEMS transformed inputs each, at least four items per thread;
    every item runs all the channel blocks (they share its transformed
    input).  Undilated images that fit an item several times go several
    to an item instead, while there are four items per thread (28x28
    outputs, 64 or 32 channels: two images an item took 0.9x the time).

    Undilated layers of larger weights (_wino_by_blocks), whose items
    would each read them all, go by channel blocks instead: blocks of
    images of up to WINO_BLOCK_TILES tiles, all rows, ranges of channel
    blocks (four items per thread, up to 8 * ITEM_WORK on one thread),
    each block of images' inputs transformed once for all of its items
    (_wino_shared) and each channel block's weights by its item."""
    cdef _Plan p
    cdef Py_ssize_t cg_in = c_in // groups, cg_out = c_out // groups
    cdef Py_ssize_t n_blk = wts.n_blk
    cdef Py_ssize_t nty = (oh + 3) // 4, ntx = (ow + 3) // 4, per_img
    cdef Py_ssize_t per = max(1, WINO_ELEMS // (36 * max(1, cg_in) * ntx))
    cdef Py_ssize_t planes, pieces
    if work < SERIAL_WORK:
        n_threads = 1
    p.img_blocks, p.imgs_per_block, p.n_images = n, 1, n
    p.n_rows = nty
    if not dilated and (_wino_ranges != 0 or _wino_by_blocks(
            n, cg_in, cg_out, groups, oh, ow, 1, 1, wts.nr, wts.ob,
            wts.itemsize)):
        p.imgs_per_block = _split(n, (n + _wino_block_images(n, oh, ow) - 1)
                                  // _wino_block_images(n, oh, ow),
                                  &p.img_blocks)
        planes = p.img_blocks * groups
        p.rows_per_block, p.row_blocks = nty, 1
        pieces = (4 * n_threads + planes - 1) // planes
        if n_threads == 1:
            pieces = <Py_ssize_t> (work / planes / (8 * ITEM_WORK) + 1.0)
        if _wino_ranges > 0:
            pieces = _wino_ranges
        p.blocks_per_split = _split(n_blk, min(n_blk, pieces), &p.chan_splits)
        p.n_items = planes * p.chan_splits
        p.n_threads = <int> min(<Py_ssize_t> n_threads, p.n_items)
        return p
    if not dilated and per >= 2 * nty:
        per_img = min(per // nty, max(1, n * groups // (4 * n_threads)))
        p.imgs_per_block = _split(n, (n + per_img - 1) // per_img,
                                  &p.img_blocks)
    planes = p.img_blocks * groups
    pieces = max((nty + per - 1) // per, (4 * n_threads + planes - 1) // planes)
    p.chan_splits, p.blocks_per_split = 1, n_blk
    p.rows_per_block = _split(nty, min(nty, pieces), &p.row_blocks)
    p.n_items = planes * p.row_blocks
    p.n_threads = <int> min(<Py_ssize_t> n_threads, p.n_items)
    return p


cdef _Plan _plan(const _Weights *wts, Py_ssize_t n, Py_ssize_t c_in,
                 Py_ssize_t c_out, Py_ssize_t oh, Py_ssize_t ow, Py_ssize_t kh,
                 Py_ssize_t kw, Py_ssize_t dh, Py_ssize_t dw, Py_ssize_t groups,
                 int n_threads) noexcept nogil:
    """Whole images and groups first, then blocks of rows (gemm: of
    tiles of positions) -- or, for the cv
    engine's n_blk channel blocks when row blocks would hold fewer than
    CV_MIN_POSITIONS output positions, ranges of channel blocks first (an
    item then keeps more rows, so the weights it loads serve more tiles: a
    late layer with 7x7 outputs would otherwise reload them every tile or
    two).  Enough items for about four per thread (two for several images
    an item: each such item gathers its images' whole input again), none
    much above ITEM_WORK multiply-adds (so that a wave, see _waves.pxd,
    ends soon after Ctrl-C)."""
    cdef _Plan p
    cdef Py_ssize_t planes = n * groups, n_blk = wts.n_blk
    cdef double work = _work(n, c_in, c_out, oh, ow, kh, kw, groups)
    cdef Py_ssize_t pieces, chan_parts, row_parts, per_img
    cdef double item_work = ITEM_WORK
    cdef bint multi
    if wts.engine == ENGINE_GEMV:
        # Every image in every item: ranges of channel blocks per group.
        if work < SERIAL_WORK:
            n_threads = 1
        p.img_blocks, p.imgs_per_block, p.n_images = 1, n, n
        p.n_rows, p.row_blocks, p.rows_per_block = 1, 1, 1
        pieces = max(<Py_ssize_t> (work / groups / ITEM_WORK + 1.0),
                     (4 * n_threads + groups - 1) // groups)
        p.blocks_per_split = _split(n_blk, min(n_blk, pieces), &p.chan_splits)
        p.n_items = groups * p.chan_splits
        p.n_threads = <int> min(<Py_ssize_t> n_threads, p.n_items)
        return p
    if wts.engine == ENGINE_GEMM:
        # Rows of the plan are tiles of positions (an item's positions
        # then fill whole tiles but for each image's last).  Items up to
        # 4 * ITEM_WORK: the longer the runs of input an item packs, the
        # better the hardware prefetcher streams them (a pointwise layer
        # of 28x28 outputs took 10% less time than with ITEM_WORK).
        oh, ow = (oh * ow + wts.ob - 1) // wts.ob, wts.ob
        item_work = 4 * ITEM_WORK
    multi = n_blk > 1 and <double> oh * ow < CV_MIN_POSITIONS and n > 1
    if wts.engine == ENGINE_WINO:
        return _plan_wino(wts, n, c_in, c_out, (oh + dh - 1) // dh,
                          (ow + dw - 1) // dw, groups, n_threads, work,
                          dh > 1 or dw > 1)
    if work < SERIAL_WORK:
        n_threads = 1
    p.n_images = n
    p.n_rows = oh
    if multi:
        # Outputs too small for a weight load to serve many tiles: several
        # images per item (their phase planes end to end), all rows, and
        # items up to 4 * ITEM_WORK (each channel range gathers its images
        # again).
        per_img = min(n, <Py_ssize_t> (CV_MIN_POSITIONS / (oh * ow)) + 1)
        p.imgs_per_block = _split(n, (n + per_img - 1) // per_img, &p.img_blocks)
        planes = p.img_blocks * groups
        pieces = <Py_ssize_t> min(work / planes / (4 * ITEM_WORK) + 1.0,
                                  <double> n_blk)
    else:
        p.img_blocks, p.imgs_per_block = n, 1
        pieces = <Py_ssize_t> min(work / planes / item_work + 1.0,
                                  <double> oh * max(1, n_blk))
    # (Two per thread for several images an item: 256 -> 512 channels on
    # 7x7 outputs of four images took 0.89-0.94x the time, 64 channels on
    # 8x8 of 32 images 0.89-1.0x.)
    pieces = max(pieces, ((2 if multi else 4) * n_threads + planes - 1)
                 // planes)
    if multi or (wts.engine != ENGINE_GEMM and n_blk > 1
                 and <double> oh * ow < CV_MIN_POSITIONS * pieces):
        # Few positions per row block: split the channel blocks first
        # (gemm reloads the weights for every tile anyway).
        chan_parts = min(n_blk, pieces)
        if n_threads == 1:
            # Each channel range gathers the same input again, and one
            # thread has no items to share out: ranges of up to 8 *
            # ITEM_WORK, all the rows each (late layers took 0.94-0.98x
            # the time; one range per plane measured the same).
            chan_parts = min(chan_parts, <Py_ssize_t> (
                work / planes / (8 * ITEM_WORK) + 1.0))
            pieces = chan_parts
    else:
        # Rows first (channel ranges would each gather the same input).
        chan_parts = min(max(1, n_blk), (pieces + oh - 1) // oh)
    p.blocks_per_split = _split(n_blk, chan_parts, &p.chan_splits)
    row_parts = 1 if multi else min(oh, (pieces + p.chan_splits - 1) // p.chan_splits)
    p.rows_per_block = _split(oh, row_parts, &p.row_blocks)
    p.n_items = planes * p.row_blocks * p.chan_splits
    p.n_threads = <int> min(<Py_ssize_t> n_threads, p.n_items)
    return p


cdef inline bint _plan_defers(const _Plan *plan) noexcept nogil:
    """Whether each channel block serves one item only (all the images
    and rows of a group in each item): then the items pack their own
    blocks (_weights_pack's `defer`).  The late ResNet layers (3x3, 256-512
    channels on 7x7 or 14x14 outputs) had spent a quarter of their time
    packing, the packed weights written to memory and read back; packed
    a block at a time by the item, they took 0.79-0.92x the time at one
    thread, 0.82-0.92x at two.  (Deferring everywhere measured 0.97-1.04x
    on larger layers, whose blocks several items share: kept off there.)"""
    if _forced_defer >= 0:
        return _forced_defer
    return plan.img_blocks == 1 and plan.row_blocks == 1


cdef int _gather_shared(_Plan *plan, const _Weights *wts, const conv_t *x,
                        Py_ssize_t c_in, Py_ssize_t h, Py_ssize_t w,
                        Py_ssize_t kh, Py_ssize_t kw, Py_ssize_t oh,
                        Py_ssize_t ow, Py_ssize_t sh, Py_ssize_t sw,
                        Py_ssize_t pt, Py_ssize_t pl, Py_ssize_t dh,
                        Py_ssize_t dw, Py_ssize_t groups,
                        int mode) noexcept nogil:
    """Where the cv engine's items split the channel blocks of an image
    block, group and row block (a "unit"), each would gather the unit's
    phase planes again: gather them once, on the plan's threads, into
    plan.gathered -- unless they would take over SHARE_BYTES.  -1 if
    memory ran out (nothing to free)."""
    cdef _Phases ph, ph_u
    cdef Py_ssize_t *geo
    cdef Py_ssize_t cg_in = c_in // groups
    cdef Py_ssize_t slack = max(wts.nr, pcx_conv_slack_f32 if conv_t is float
                                else pcx_conv_slack_f64)
    cdef Py_ssize_t n_units = plan.img_blocks * groups * plan.row_blocks
    cdef Py_ssize_t n_chunks, k, u, c, p, rb, img0, n_img, oh0, oh1, size
    cdef conv_t *buf
    plan.gathered = NULL
    plan.unit_size = 0
    if (wts.engine != ENGINE_CV or plan.chan_splits < 2
            or _in_place(kh, kw, sh, sw, pt, pl, oh, ow, h, w)):
        return 0
    geo = _phases_init(&ph, kh, kw, sh, sw, dh, dw, ow)
    if geo == NULL:
        return -1
    _phases_rows(&ph, kh, plan.rows_per_block)
    # Whole cache lines per unit.
    size = cg_in * ph.n_rph * ph.n_cph * plan.imgs_per_block * ph.plane + slack
    size = (size + 63) // 64 * 64
    if <double> n_units * size * sizeof(conv_t) > SHARE_BYTES:
        free(geo)
        return 0
    plan.gathered = take(n_units * size * sizeof(conv_t))
    if plan.gathered == NULL:
        free(geo)
        return -1
    plan.unit_size = size
    buf = <conv_t *> plan.gathered
    # Ranges of input channels, about two per thread.
    n_chunks = max(1, min(cg_in, (2 * plan.n_threads + n_units - 1) // n_units))
    for k in prange(n_units * n_chunks, num_threads=plan.n_threads,
                    schedule='static'):
        u = k // n_chunks
        c = k % n_chunks
        p = u // plan.row_blocks
        rb = u % plan.row_blocks
        img0 = (p // groups) * plan.imgs_per_block
        n_img = min(plan.imgs_per_block, plan.n_images - img0)
        oh0 = rb * plan.rows_per_block
        oh1 = min(oh0 + plan.rows_per_block, plan.n_rows)
        ph_u = ph
        _phases_rows(&ph_u, kh, oh1 - oh0)
        _gather(buf + u * size, &ph_u,
                x + (img0 * c_in + (p % groups) * cg_in) * h * w, c_in, h, w,
                c * cg_in // n_chunks, (c + 1) * cg_in // n_chunks, cg_in,
                n_img, oh0, oh1, kh, sh, sw, dh, pt, pl, mode, 0, NULL, oh, ow)
        if c == 0:
            # The kernels read up to `slack` positions past the last plane.
            memset(buf + u * size + cg_in * ph_u.n_rph * ph_u.n_cph * n_img
                   * ph_u.plane, 0, slack * sizeof(conv_t))
    free(geo)
    return 0


cdef int _wino_shared(_Plan *plan, const _Weights *wts, const conv_t *x,
                      Py_ssize_t c_in, Py_ssize_t h, Py_ssize_t w,
                      Py_ssize_t oh, Py_ssize_t ow, Py_ssize_t pt,
                      Py_ssize_t pl, Py_ssize_t groups,
                      int mode) noexcept nogil:
    """Where the wino engine's items split the channel blocks of an image
    block and group (a "unit": all its rows, see _plan_wino), each would
    transform the unit's inputs again: transform them once, on the plan's
    threads, into plan.gathered -- unless they would take over
    WINO_SHARE_BYTES.  -1 if memory ran out (nothing to free)."""
    cdef Py_ssize_t cg_in = c_in // groups, ob = wts.ob, nr = wts.nr
    cdef Py_ssize_t ntx = (ow + 3) // 4, nty = (oh + 3) // 4
    cdef Py_ssize_t n_units = plan.img_blocks * groups
    cdef bint half = ntx <= wts.vl_half
    cdef Py_ssize_t vl = wts.vl_half if half else ob // 2
    cdef Py_ssize_t ld_r = 4 * vl * ((ntx + vl - 1) // vl) + 4
    cdef Py_ssize_t n_tt = plan.imgs_per_block * nty * ntx
    cdef Py_ssize_t t_pad = (n_tt + nr - 1) // nr * nr
    # Units are sized for the largest block of images.
    cdef Py_ssize_t size = (36 * cg_in * _wino_t_str(n_tt, ntx, vl, t_pad)
                            + 63) // 64 * 64
    cdef Py_ssize_t n_chunks, k, u, c, img0, n_img
    cdef int failed = 0
    cdef conv_t *slab
    plan.gathered = NULL
    plan.unit_size = 0
    if (plan.chan_splits < 2 or plan.row_blocks != 1
            or <double> n_units * size * sizeof(conv_t) > WINO_SHARE_BYTES):
        return 0
    plan.gathered = take(n_units * size * sizeof(conv_t))
    if plan.gathered == NULL:
        return -1
    plan.unit_size = size
    # Ranges of input channels, about two per thread.
    n_chunks = max(1, min(cg_in, (2 * plan.n_threads + n_units - 1) // n_units))
    for k in prange(n_units * n_chunks, num_threads=plan.n_threads,
                    schedule='static'):
        u = k // n_chunks
        c = k % n_chunks
        img0 = (u // groups) * plan.imgs_per_block
        n_img = min(plan.imgs_per_block, plan.n_images - img0)
        n_tt = n_img * nty * ntx
        t_pad = (n_tt + nr - 1) // nr * nr
        slab = <conv_t *> malloc((4 * nty + 2) * ld_r * sizeof(conv_t))
        if slab == NULL:
            failed += 1
        else:
            _wino_inputs(wts, half, <conv_t *> plan.gathered + u * size,
                         _wino_t_str(n_tt, ntx, vl, t_pad), slab, ld_r,
                         x + (img0 * c_in + (u % groups) * cg_in) * h * w,
                         c_in, h, w, c * cg_in // n_chunks,
                         (c + 1) * cg_in // n_chunks, cg_in, n_img, 0, nty,
                         ntx, t_pad, 0, 0, 1, 1, pt, pl, mode)
            free(slab)
    if failed:
        give(plan.gathered)
        plan.gathered = NULL
        return -1
    return 0


cdef int _prepare(_Weights *wts, _Plan *plan, const conv_t *x,
                  const conv_t *weight, const conv_t *bias, Py_ssize_t n,
                  Py_ssize_t c_in, Py_ssize_t h, Py_ssize_t w,
                  Py_ssize_t c_out, Py_ssize_t kh, Py_ssize_t kw,
                  Py_ssize_t oh, Py_ssize_t ow, Py_ssize_t sh, Py_ssize_t sw,
                  Py_ssize_t pt, Py_ssize_t pl, Py_ssize_t dh, Py_ssize_t dw,
                  Py_ssize_t groups, int mode, int n_threads,
                  int engine) noexcept nogil:
    """Choose the engine, plan the items, pack the weights and gather the
    phase planes items share (give wts.raw and plan.gathered back after the
    items ran); -1 if memory ran out (nothing to free)."""
    _weights_layout(wts, weight, n, c_in, c_out, kh, kw, oh, ow, sh, sw, dh,
                    dw, groups, engine)
    plan[0] = _plan(wts, n, c_in, c_out, oh, ow, kh, kw, dh, dw, groups,
                    n_threads)
    if _weights_pack(wts, weight, bias, c_in, c_out, kh, kw, groups,
                     n_threads, _plan_defers(plan)) < 0:
        return -1
    if (_wino_shared(plan, wts, x, c_in, h, w, oh, ow, pt, pl, groups, mode)
            if wts.engine == ENGINE_WINO
            else _gather_shared(plan, wts, x, c_in, h, w, kh, kw, oh, ow, sh,
                                sw, pt, pl, dh, dw, groups, mode)) < 0:
        give(wts.raw)
        return -1
    return 0


cdef int _conv_items(
    const conv_t *x, Py_ssize_t c_in, Py_ssize_t h, Py_ssize_t w,
    const _Weights *wts, Py_ssize_t c_out, Py_ssize_t kh, Py_ssize_t kw,
    const conv_t *bias, conv_t *out, Py_ssize_t oh, Py_ssize_t ow,
    Py_ssize_t sh, Py_ssize_t sw, Py_ssize_t pt, Py_ssize_t pl,
    Py_ssize_t dh, Py_ssize_t dw, Py_ssize_t groups, int padding_mode,
    const _Plan *plan, Py_ssize_t i0, Py_ssize_t i1, bint *nonfinite,
) noexcept nogil:
    """Items [i0, i1) of `plan`, weights packed by _weights_pack; returns
    the number of threads that ran them, or -1 if memory ran out.  Sets
    *nonfinite if a wino item had a non-finite output."""
    cdef Py_ssize_t item, p, r, oh0, oh1, blk0, img0
    cdef conv_t *gathered = <conv_t *> plan.gathered
    cdef Py_ssize_t per_plane = plan.row_blocks * plan.chan_splits
    cdef int failed = 0, team = 0, status, redo = 0
    cdef int n_threads = <int> min(<Py_ssize_t> plan.n_threads, i1 - i0)
    # Items of whole planes with one output channel each (depthwise):
    # prefetch the item n_threads on (see _conv_item_flat) -- unless the
    # planes are small (30x30 float32: 1.04-1.05x the time).
    cdef Py_ssize_t ahead = n_threads if (
        wts.engine == ENGINE_FLAT and c_out == groups and plan.row_blocks == 1
        and plan.imgs_per_block == 1 and plan.chan_splits == 1
        and h * w * <Py_ssize_t> sizeof(conv_t) >= PREFETCH_PLANE) else 0
    # Dynamic: a thread whose core is shared (a busy neighbour, a VM's
    # steal) takes fewer items instead of holding up the wave.  Each item
    # is summed the same way whichever thread runs it.
    for item in prange(i0, i1, num_threads=n_threads, schedule='dynamic'):
        if item == i0:
            # The team's size, as a sum from one thread: LLVM's libomp 14
            # (clang builds) did not copy a dynamic loop's lastprivate back
            # from its last iteration (a C test of that alone).
            team += omp_get_num_threads()
        p = item // per_plane
        r = item % per_plane
        oh0 = (r // plan.chan_splits) * plan.rows_per_block
        oh1 = min(oh0 + plan.rows_per_block, plan.n_rows)
        blk0 = (r % plan.chan_splits) * plan.blocks_per_split
        img0 = (p // groups) * plan.imgs_per_block
        if wts.engine == ENGINE_WINO:
            status = _conv_item_wino(x, c_in, h, w, wts, c_out, out, oh, ow,
                                     pt, pl, dh, dw, groups, padding_mode,
                                     img0, min(img0 + plan.imgs_per_block,
                                               plan.n_images),
                                     p % groups, oh0, oh1, blk0,
                                     min(blk0 + plan.blocks_per_split,
                                         wts.n_blk),
                                     gathered + (p * plan.row_blocks
                                                 + r // plan.chan_splits)
                                     * plan.unit_size
                                     if gathered != NULL else NULL)
            failed += status < 0
            redo += status > 0
        elif wts.engine == ENGINE_GEMV:
            failed += _conv_item_gemv(
                x, plan.n_images, c_in, h, w, wts, c_out, out, oh, ow, sh, sw,
                pt, pl, groups, padding_mode, p % groups, blk0,
                min(blk0 + plan.blocks_per_split, wts.n_blk))
        elif wts.engine == ENGINE_GEMM:
            failed += _conv_item_gemm(
                x, c_in, h, w, wts, c_out, out, oh, ow, sh, sw, pt, pl,
                groups, padding_mode, img0,
                min(img0 + plan.imgs_per_block, plan.n_images), p % groups,
                oh0 * wts.ob, min(oh1 * wts.ob, oh * ow), blk0,
                min(blk0 + plan.blocks_per_split, wts.n_blk))
        elif wts.engine != ENGINE_ROWS:
            failed += _conv_item_flat(x, c_in, h, w, wts, c_out, kh, kw, bias, out,
                                    oh, ow, sh, sw, pt, pl, dh, dw, groups,
                                    padding_mode, img0,
                                    min(img0 + plan.imgs_per_block, plan.n_images),
                                    p % groups, oh0, oh1, blk0,
                                    min(blk0 + plan.blocks_per_split, wts.n_blk),
                                    ahead if item + ahead < i1 else 0,
                                    gathered + (p * plan.row_blocks
                                                + r // plan.chan_splits)
                                    * plan.unit_size
                                    if gathered != NULL else NULL)
        else:
            failed += _conv_item_rows(x, c_in, h, w, <const conv_t *> wts.w,
                                      c_out, kh, kw, bias, out, oh, ow, sh,
                                      sw, pt, pl, dh, dw, groups, padding_mode,
                                      p // groups, p % groups, oh0, oh1)
    if redo:
        nonfinite[0] = True
    return -1 if failed else max(1, team)


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
    cdef _Plan plan
    cdef _Weights wts
    cdef int status, engine = ENGINE_AUTO
    cdef bint nonfinite = False
    while True:
        if _prepare(&wts, &plan, x, weight, bias, n, c_in, h, w, c_out, kh,
                    kw, oh, ow, sh, sw, pt, pl, dh, dw, groups, padding_mode,
                    n_threads, engine) < 0:
            return -1
        status = _conv_items(x, c_in, h, w, &wts, c_out, kh, kw, bias, out,
                             oh, ow, sh, sw, pt, pl, dh, dw, groups,
                             padding_mode, &plan, 0, plan.n_items, &nonfinite)
        give(wts.raw)
        give(plan.gathered)
        # Winograd with a non-finite output: the direct sums, all of them.
        if status < 0 or not nonfinite or engine != ENGINE_AUTO:
            return -1 if status < 0 else 0
        engine = ENGINE_CV


def conv2d_forward(const conv_t[:, :, :, ::1] x not None,
                   const conv_t[:, :, :, ::1] weight not None,
                   const conv_t[::1] bias not None,
                   conv_t[:, :, :, ::1] out not None,
                   Py_ssize_t sh, Py_ssize_t sw, Py_ssize_t pt, Py_ssize_t pl,
                   Py_ssize_t dh, Py_ssize_t dw, Py_ssize_t groups,
                   int padding_mode, int n_threads, bint direct=False):
    """Write conv2d(x, weight) + bias into out (validated by the front);
    `direct` keeps every layer off the wino engine.

    Checks for signals between waves of items: on KeyboardInterrupt `out`
    is partly written.  If the wino engine meets a non-finite output, every
    output is summed again by the cv engine (see _conv_item_wino).  Returns
    the largest OpenMP team that ran (for the tests of thread controls)."""
    cdef int status = 0, team = 1
    cdef int engine = ENGINE_DIRECT if direct else ENGINE_AUTO
    cdef bint nonfinite = False
    cdef const conv_t *xp
    cdef const conv_t *wp
    cdef Py_ssize_t n = x.shape[0], c_in = x.shape[1], h = x.shape[2], w = x.shape[3]
    cdef Py_ssize_t c_out = weight.shape[0], kh = weight.shape[2], kw = weight.shape[3]
    cdef Py_ssize_t oh = out.shape[2], ow = out.shape[3]
    cdef _Plan plan
    cdef _Weights wts
    cdef Waves waves
    if out.shape[0] == 0 or out.shape[1] == 0 or oh == 0 or ow == 0:
        return 0
    # An empty input (C_in == 0) or kernel has no element to point at.
    xp = &x[0, 0, 0, 0] if x.size else NULL
    wp = &weight[0, 0, 0, 0] if weight.size else NULL
    while True:
        with nogil:
            status = _prepare(&wts, &plan, xp, wp, &bias[0], n, c_in, h, w,
                              c_out, kh, kw, oh, ow, sh, sw, pt, pl, dh, dw,
                              groups, padding_mode, n_threads, engine)
        if status < 0:
            raise MemoryError("pyconvx: out of memory for the conv2d weights")
        try:
            waves = waves_start(plan.n_items, plan.n_threads,
                                _work(n, c_in, c_out, oh, ow, kh, kw, groups)
                                / WAVE_SPEED)
            while waves_next(&waves):
                with nogil:
                    status = _conv_items(
                        xp, c_in, h, w, &wts, c_out, kh, kw, &bias[0],
                        &out[0, 0, 0, 0], oh, ow, sh, sw, pt, pl, dh, dw,
                        groups, padding_mode, &plan, waves.begin, waves.end,
                        &nonfinite)
                if status < 0:
                    raise MemoryError(
                        "pyconvx: out of memory for the conv2d workspace")
                team = max(team, status)
        finally:
            give(wts.raw)
            give(plan.gathered)
        # Winograd with a non-finite output: the direct sums, all of them.
        if not nonfinite or engine != ENGINE_AUTO:
            return team
        engine = ENGINE_CV


_ENGINE_NAMES = {ENGINE_ROWS: "rows", ENGINE_CV: "cv", ENGINE_FLAT: "flat",
                 ENGINE_WINO: "wino", ENGINE_GEMM: "gemm",
                 ENGINE_GEMV: "gemv"}
_ISA_NAMES = {1: "baseline", 3: "avx2", 4: "avx512"}


def engine(dtype, Py_ssize_t c_in, Py_ssize_t c_out, Py_ssize_t kh,
           Py_ssize_t kw, Py_ssize_t ow, Py_ssize_t sw=1, Py_ssize_t dw=1,
           Py_ssize_t groups=1, Py_ssize_t sh=1, Py_ssize_t dh=1,
           oh=None, Py_ssize_t n=1):
    """The engine conv2d uses for a layer, e.g. "cv-avx512" or "rows"
    (for benchmarks and tests); `oh` defaults to `ow`, `n` is the batch."""
    cdef pcx_cv_f32 k32 = _cv_kernel_f32()
    cdef pcx_cv_f64 k64 = _cv_kernel_f64()
    is64 = dtype == "float64"
    e = _choose(n, c_in, c_out, kh, kw, ow if oh is None else oh, ow, sh, sw,
                dh, dw, groups, k64.nr if is64 else k32.nr,
                k64.ob if is64 else k32.ob, is64)
    if e == ENGINE_CV or e == ENGINE_WINO or e == ENGINE_GEMM:
        return (_ENGINE_NAMES[e] + "-"
                + _ISA_NAMES[k64.isa if is64 else k32.isa])
    return _ENGINE_NAMES[e]


def cv_kernels():
    """The cv engine's micro-kernels this CPU runs: {dtype: (isa, positions,
    channels)} per tile (for show_config and benchmarks)."""
    cdef pcx_cv_f32 k32 = _cv_kernel_f32()
    cdef pcx_cv_f64 k64 = _cv_kernel_f64()
    return {"float32": (_ISA_NAMES[k32.isa], k32.nr, k32.ob),
            "float64": (_ISA_NAMES[k64.isa], k64.nr, k64.ob)}


def _set_engine(name):
    """Test hook: force "rows", "flat", "cv", "wino", "gemm" or "gemv"
    (these three on the layers they compute; cv on the others) for every
    call, or None for the dispatcher's choice; returns the previous
    setting."""
    global _forced_engine
    names = {None: ENGINE_AUTO, "rows": ENGINE_ROWS, "cv": ENGINE_CV,
             "flat": ENGINE_FLAT, "wino": ENGINE_WINO, "gemm": ENGINE_GEMM,
             "gemv": ENGINE_GEMV}
    old = {v: k for k, v in names.items()}[_forced_engine]
    _forced_engine = names[name]
    return old


def _set_exact_fill(double fill):
    """Test hook: the share of flat positions that are outputs below which
    the cv engine runs at a list of output positions (0: never, 2: always);
    returns the previous value."""
    global EXACT_FILL
    old = EXACT_FILL
    EXACT_FILL = fill
    return old


def _set_wino_ranges(int k):
    """Test hook: run every undilated wino layer by channel blocks (see
    _plan_wino), in k ranges of them (k = -1: the plan's ranges), or by
    the plan's rule for k = 0; returns the previous setting."""
    global _wino_ranges
    old = _wino_ranges
    _wino_ranges = max(-1, k)
    return old


def _set_defer(mode):
    """Test hook: whether the cv engine's items pack their own weight
    blocks -- None: where each block serves one item, True: always (a
    block then packed by every item that uses it), False: never; returns
    the previous setting."""
    global _forced_defer
    modes = {None: -1, False: 0, True: 1}
    old = {v: k for k, v in modes.items()}[_forced_defer]
    _forced_defer = modes[mode]
    return old


def _set_share_bytes(double n_bytes):
    """Test hook: the most phase-plane bytes gathered once for several cv
    items, and twice that of inputs transformed once for several wino
    items (0: never shared); returns the previous value."""
    global SHARE_BYTES, WINO_SHARE_BYTES
    old = SHARE_BYTES
    SHARE_BYTES = n_bytes
    WINO_SHARE_BYTES = 2 * n_bytes
    return old


def _set_stream_bytes(double n_bytes):
    """Test hook: the output size from which the cv and wino engines write
    with non-temporal stores (0: always); returns the previous value."""
    global STREAM_BYTES
    old = STREAM_BYTES
    STREAM_BYTES = n_bytes
    return old


def _set_isa_cap(name):
    """Test hook: use no cv kernel above "baseline", "avx2" or "avx512"
    (None: the best the CPU runs); returns the previous cap."""
    global _isa_cap
    caps = {None: 99, "baseline": 1, "avx2": 3, "avx512": 4}
    old = {v: k for k, v in caps.items()}[_isa_cap]
    _isa_cap = caps[name]
    return old
