/*
 * Template body of the conv2d micro-kernel; see pcx_conv_tile.h, which
 * includes it once per type with PCX_T (element type), PCX_V (a GCC vector
 * type of PCX_T, PCX_VEC_BYTES wide) and PCX_NAME defined.
 * No include guard: it is meant to be included several times.
 */

#define PCX_VL ((ptrdiff_t)(PCX_VEC_BYTES / sizeof(PCX_T)))

static inline __attribute__((always_inline)) PCX_V
PCX_CAT(PCX_NAME, _load)(const PCX_T *p)
{
    PCX_V v;
    memcpy(&v, p, sizeof v);        /* an unaligned vector load */
    return v;
}

static inline __attribute__((always_inline)) void
PCX_CAT(PCX_NAME, _store)(PCX_T *p, PCX_V v)
{
    memcpy(p, &v, sizeof v);
}

/*
 * MR output channels x 2 vectors of output columns, held in registers while
 * every tap is applied: per tap, two vector loads and MR broadcasts feed
 * 2*MR multiply-adds.
 */
static inline __attribute__((always_inline)) void
PCX_CAT(PCX_NAME, _block)(const int MR, PCX_T *const *out, ptrdiff_t t0,
                          ptrdiff_t len, const PCX_T *const *taps,
                          ptrdiff_t n_taps, const PCX_T *w,
                          const PCX_T *bias)
{
    PCX_V acc[PCX_MR_MAX][2];
    for (int m = 0; m < MR; m++) {
        acc[m][0] = acc[m][1] = (PCX_V){0} + bias[m];
    }
    for (ptrdiff_t i = 0; i < n_taps; i++) {
        const PCX_T *x = taps[i] + t0;
        const PCX_V x0 = PCX_CAT(PCX_NAME, _load)(x);
        const PCX_V x1 = PCX_CAT(PCX_NAME, _load)(x + PCX_VL);
        for (int m = 0; m < MR; m++) {
            const PCX_T wm = w[i * MR + m];
            acc[m][0] += wm * x0;
            acc[m][1] += wm * x1;
        }
    }
    for (int m = 0; m < MR; m++) {
        if (len == 2 * PCX_VL) {
            PCX_CAT(PCX_NAME, _store)(out[m] + t0, acc[m][0]);
            PCX_CAT(PCX_NAME, _store)(out[m] + t0 + PCX_VL, acc[m][1]);
        }
        else {
            /* The last, partial tile of a row: taps were over-read into the
             * caller's slack, keep only the first len columns. */
            PCX_T tmp[2 * PCX_VEC_BYTES / sizeof(PCX_T)];
            PCX_CAT(PCX_NAME, _store)(tmp, acc[m][0]);
            PCX_CAT(PCX_NAME, _store)(tmp + PCX_VL, acc[m][1]);
            memcpy(out[m] + t0, tmp, (size_t)len * sizeof(PCX_T));
        }
    }
}

/*
 * out[m][t] = bias[m] + sum_{i < n_taps} W[m][i] * taps[i][t]
 * for m < n_out_rows, t < n_cols, with W packed by pcx_conv_pack_*: blocks
 * of PCX_MR_MAX channels (the last one smaller), each stored tap-major
 * (W[m0 + m][i] at w[m0*n_taps + i*mr + m]), so that one cache line holds
 * the weights of a tap for the whole block.
 *
 * taps[i] must be readable up to index n_cols + PCX_CONV_SLACK(T) - 1
 * (the last tile reads a whole vector pair).  The products of one output
 * are summed in tap order, whatever the thread count.
 */
PCX_CLONES static void
PCX_NAME(PCX_T *const *out, ptrdiff_t n_out_rows, ptrdiff_t n_cols,
         const PCX_T *const *taps, ptrdiff_t n_taps,
         const PCX_T *w, const PCX_T *bias)
{
    for (ptrdiff_t t0 = 0; t0 < n_cols; t0 += 2 * PCX_VL) {
        ptrdiff_t len = n_cols - t0 < 2 * PCX_VL ? n_cols - t0 : 2 * PCX_VL;
        ptrdiff_t m = 0;
        for (; m + PCX_MR_MAX <= n_out_rows; m += PCX_MR_MAX) {
            PCX_CAT(PCX_NAME, _block)(PCX_MR_MAX, out + m, t0, len, taps, n_taps,
                                      w + m * n_taps, bias + m);
        }
        /* Remaining channels: a block of exactly that many rows, so that
         * depthwise and small layers waste nothing. */
        switch (n_out_rows - m) {
        case 5: PCX_CAT(PCX_NAME, _block)(5, out + m, t0, len, taps, n_taps, w + m * n_taps, bias + m); break;
        case 4: PCX_CAT(PCX_NAME, _block)(4, out + m, t0, len, taps, n_taps, w + m * n_taps, bias + m); break;
        case 3: PCX_CAT(PCX_NAME, _block)(3, out + m, t0, len, taps, n_taps, w + m * n_taps, bias + m); break;
        case 2: PCX_CAT(PCX_NAME, _block)(2, out + m, t0, len, taps, n_taps, w + m * n_taps, bias + m); break;
        case 1: PCX_CAT(PCX_NAME, _block)(1, out + m, t0, len, taps, n_taps, w + m * n_taps, bias + m); break;
        default: break;
        }
    }
}

/*
 * Writes acc[r] to columns x.. of output row r, r < R; the last vector of a
 * row may be partial (ow - x < PCX_VL) and goes through a temporary.
 */
static inline __attribute__((always_inline)) void
PCX_CAT(PCX_NAME, _store_rows)(const int R, PCX_T *out, ptrdiff_t ow,
                               ptrdiff_t x, const PCX_V *acc)
{
    for (int r = 0; r < R; r++) {
        if (ow - x >= PCX_VL) {
            PCX_CAT(PCX_NAME, _store)(out + r * ow + x, acc[r]);
        }
        else {
            PCX_T tmp[PCX_VEC_BYTES / sizeof(PCX_T)];
            PCX_CAT(PCX_NAME, _store)(tmp, acc[r]);
            memcpy(out + r * ow + x, tmp, (size_t)(ow - x) * sizeof(PCX_T));
        }
    }
}

/*
 * R output rows x 1 vector of columns of one channel: R independent sums
 * (one would wait on each multiply-add's latency).
 */
static inline __attribute__((always_inline)) void
PCX_CAT(PCX_NAME, _one_block)(const int R, PCX_T *out, ptrdiff_t ow,
                              ptrdiff_t x, const PCX_T *const *taps,
                              ptrdiff_t n_taps, ptrdiff_t t0,
                              ptrdiff_t pitch, const PCX_T *w, PCX_T bias)
{
    PCX_V acc[4];
    for (int r = 0; r < R; r++) {
        acc[r] = (PCX_V){0} + bias;
    }
    for (ptrdiff_t i = 0; i < n_taps; i++) {
        const PCX_T *p = taps[i] + t0 + x;
        const PCX_T wi = w[i];
        for (int r = 0; r < R; r++) {
            acc[r] += wi * PCX_CAT(PCX_NAME, _load)(p + r * pitch);
        }
    }
    PCX_CAT(PCX_NAME, _store_rows)(R, out, ow, x, acc);
}

/*
 * out[y*ow + x] = bias + sum_{i < n_taps} w[i] * taps[i][t0 + y*pitch + x]
 * for y < n_rows, x < ow: rows of ONE output channel, written straight into
 * them (depthwise layers; the multi-channel kernel above goes through a
 * stage).  w is the channel's weights in tap order, unpacked.  taps[i] must
 * be readable PCX_CONV_SLACK(T) elements past t0 + (n_rows-1)*pitch + ow.
 * The products of one output are summed in tap order.
 */
PCX_CLONES static void
PCX_CAT(PCX_NAME, _one)(PCX_T *out, ptrdiff_t n_rows, ptrdiff_t ow,
                        const PCX_T *const *taps, ptrdiff_t n_taps,
                        ptrdiff_t t0, ptrdiff_t pitch, const PCX_T *w,
                        PCX_T bias)
{
    ptrdiff_t y = 0;
    for (; y + 4 <= n_rows; y += 4) {
        for (ptrdiff_t x = 0; x < ow; x += PCX_VL) {
            PCX_CAT(PCX_NAME, _one_block)(4, out + y * ow, ow, x, taps, n_taps,
                                          t0 + y * pitch, pitch, w, bias);
        }
    }
    for (; y < n_rows; y++) {
        for (ptrdiff_t x = 0; x < ow; x += PCX_VL) {
            PCX_CAT(PCX_NAME, _one_block)(1, out + y * ow, ow, x, taps, n_taps,
                                          t0 + y * pitch, pitch, w, bias);
        }
    }
}

/*
 * The same sums when the taps form a grid over the rows of one plane:
 * tap u*kw + v at base + u*pitch + cols[v].  Each input vector loaded then
 * feeds every output row that reads it (up to min(R, kh) of them), so a
 * 3x3 layer loads 18 vectors for 4x9 multiply-adds instead of 36.  An
 * output still receives its products in tap order (input rows in order,
 * then columns), so the sums are the same, bit for bit.
 */
static inline __attribute__((always_inline)) void
PCX_CAT(PCX_NAME, _grid_block)(const int R, PCX_T *out, ptrdiff_t ow,
                               ptrdiff_t x, const PCX_T *base, ptrdiff_t kh,
                               ptrdiff_t kw, const ptrdiff_t *cols,
                               ptrdiff_t pitch, const PCX_T *w, PCX_T bias)
{
    PCX_V acc[4];
    for (int r = 0; r < R; r++) {
        acc[r] = (PCX_V){0} + bias;
    }
#pragma GCC unroll 8
    for (ptrdiff_t j = 0; j < R + kh - 1; j++) {
        const PCX_T *row = base + j * pitch + x;
#pragma GCC unroll 4
        for (ptrdiff_t v = 0; v < kw; v++) {
            const PCX_V in = PCX_CAT(PCX_NAME, _load)(row + cols[v]);
            for (int r = 0; r < R; r++) {
                const ptrdiff_t u = j - r;
                if (u >= 0 && u < kh) {
                    acc[r] += w[u * kw + v] * in;
                }
            }
        }
    }
    PCX_CAT(PCX_NAME, _store_rows)(R, out, ow, x, acc);
}

/* _one for taps on a grid (see _grid_block): out[y*ow + x] = bias +
 * sum_{u, v} w[u*kw + v] * base[(y + u)*pitch + cols[v] + x]. */
PCX_CLONES static void
PCX_CAT(PCX_NAME, _grid)(PCX_T *out, ptrdiff_t n_rows, ptrdiff_t ow,
                         const PCX_T *base, ptrdiff_t kh, ptrdiff_t kw,
                         const ptrdiff_t *cols, ptrdiff_t pitch,
                         const PCX_T *w, PCX_T bias)
{
    ptrdiff_t y = 0;
    if (kh == 3 && kw == 3) {
        /* The common case with constant loop bounds: fully unrolled, the
         * weights in registers. */
        for (; y + 4 <= n_rows; y += 4) {
            for (ptrdiff_t x = 0; x < ow; x += PCX_VL) {
                PCX_CAT(PCX_NAME, _grid_block)(4, out + y * ow, ow, x,
                                               base + y * pitch, 3, 3, cols,
                                               pitch, w, bias);
            }
        }
    }
    for (; y + 4 <= n_rows; y += 4) {
        for (ptrdiff_t x = 0; x < ow; x += PCX_VL) {
            PCX_CAT(PCX_NAME, _grid_block)(4, out + y * ow, ow, x,
                                           base + y * pitch, kh, kw, cols,
                                           pitch, w, bias);
        }
    }
    for (; y < n_rows; y++) {
        for (ptrdiff_t x = 0; x < ow; x += PCX_VL) {
            PCX_CAT(PCX_NAME, _grid_block)(1, out + y * ow, ow, x,
                                           base + y * pitch, kh, kw, cols,
                                           pitch, w, bias);
        }
    }
}

/*
 * R rows of weights, as they are, against a vector of positions: per input
 * channel one vector load and R broadcasts feed R multiply-adds.
 */
static inline __attribute__((always_inline)) void
PCX_CAT(PCX_NAME, _gemv_block)(const int R, PCX_T *restrict y,
                               const PCX_T *restrict w, ptrdiff_t lda,
                               const PCX_T *restrict xt, ptrdiff_t n,
                               const PCX_T *restrict bias)
{
    PCX_V acc[8];
    for (int r = 0; r < R; r++) {
        acc[r] = bias != NULL ? (PCX_V){0} + bias[r]
                              : PCX_CAT(PCX_NAME, _load)(y + r * PCX_VL);
    }
    for (ptrdiff_t k = 0; k < n; k++) {
        const PCX_V xk = PCX_CAT(PCX_NAME, _load)(xt + k * PCX_VL);
        for (int r = 0; r < R; r++) {
            acc[r] += w[r * lda + k] * xk;
        }
    }
    for (int r = 0; r < R; r++) {
        PCX_CAT(PCX_NAME, _store)(y + r * PCX_VL, acc[r]);
    }
}

/*
 * y[r*PCX_VL + p] = s + sum_{k < n} w[r*lda + k] * xt[k*PCX_VL + p]
 * for r < n_rows, p < PCX_VL, s = bias[r] or, bias NULL, y itself (a long
 * list of input channels run in chunks): weight rows as they are, against
 * the inputs of at most PCX_VL positions, transposed (1x1 layers of so few
 * positions that packing the weights would cost more than using them).
 * Eight rows at a time; the products are summed in k order.
 */
PCX_CLONES static void
PCX_CAT(PCX_NAME, _gemv)(PCX_T *restrict y, const PCX_T *restrict w,
                         ptrdiff_t lda, ptrdiff_t n_rows,
                         const PCX_T *restrict xt, ptrdiff_t n,
                         const PCX_T *restrict bias)
{
    ptrdiff_t r = 0;
    for (; r + 8 <= n_rows; r += 8) {
        PCX_CAT(PCX_NAME, _gemv_block)(8, y + r * PCX_VL, w + r * lda, lda, xt,
                                       n, bias != NULL ? bias + r : NULL);
    }
    y += r * PCX_VL;
    w += r * lda;
    bias = bias != NULL ? bias + r : NULL;
    switch (n_rows - r) {
    case 7: PCX_CAT(PCX_NAME, _gemv_block)(7, y, w, lda, xt, n, bias); break;
    case 6: PCX_CAT(PCX_NAME, _gemv_block)(6, y, w, lda, xt, n, bias); break;
    case 5: PCX_CAT(PCX_NAME, _gemv_block)(5, y, w, lda, xt, n, bias); break;
    case 4: PCX_CAT(PCX_NAME, _gemv_block)(4, y, w, lda, xt, n, bias); break;
    case 3: PCX_CAT(PCX_NAME, _gemv_block)(3, y, w, lda, xt, n, bias); break;
    case 2: PCX_CAT(PCX_NAME, _gemv_block)(2, y, w, lda, xt, n, bias); break;
    case 1: PCX_CAT(PCX_NAME, _gemv_block)(1, y, w, lda, xt, n, bias); break;
    default: break;
    }
}

/*
 * R rows of weights against P positions, vectors along the input channels:
 * per vector of PCX_VL channels, P input loads are shared by R weight
 * loads and R*P multiply-adds; each sum is reduced across its vector at
 * the end.  For one position the broadcast form above does a vector
 * multiply-add per weight, 15 of its 16 lanes for nothing.
 */
static inline __attribute__((always_inline)) void
PCX_CAT(PCX_NAME, _gemv_k_block)(const int R, const int P,
                                 PCX_T *restrict y, const PCX_T *restrict w,
                                 ptrdiff_t lda, const PCX_T *restrict xp,
                                 ptrdiff_t n, const PCX_T *restrict bias)
{
    PCX_V acc[4][4];
    ptrdiff_t k = 0;
    for (int r = 0; r < R; r++) {
        for (int p = 0; p < P; p++) {
            acc[r][p] = (PCX_V){0};
        }
    }
    for (; k + PCX_VL <= n; k += PCX_VL) {
        PCX_V xv[4];
        for (int p = 0; p < P; p++) {
            xv[p] = PCX_CAT(PCX_NAME, _load)(xp + p * n + k);
        }
        for (int r = 0; r < R; r++) {
            const PCX_V wv = PCX_CAT(PCX_NAME, _load)(w + r * lda + k);
            for (int p = 0; p < P; p++) {
                acc[r][p] += wv * xv[p];
            }
        }
    }
    for (int r = 0; r < R; r++) {
        for (int p = 0; p < P; p++) {
            PCX_T s = bias != NULL ? bias[r] : y[r * PCX_VL + p];
            for (int i = 0; i < PCX_VL; i++) {
                s += acc[r][p][i];
            }
            for (ptrdiff_t j = k; j < n; j++) {
                s += w[r * lda + j] * xp[p * n + j];
            }
            y[r * PCX_VL + p] = s;
        }
    }
}

/*
 * The same sums as _gemv for n_pos <= 4 positions, their inputs position
 * by position (xp[p*n + k]) instead of transposed: vectors along the
 * input channels.  Four rows at a time.  Each output is s plus PCX_VL
 * partial sums (lane i: the products of inputs k = i mod PCX_VL, in k
 * order) in lane order, then the last n % PCX_VL products in order.
 */
PCX_CLONES static void
PCX_CAT(PCX_NAME, _gemv_k)(PCX_T *restrict y, const PCX_T *restrict w,
                           ptrdiff_t lda, ptrdiff_t n_rows,
                           const PCX_T *restrict xp, ptrdiff_t n,
                           ptrdiff_t n_pos, const PCX_T *restrict bias)
{
#define PCX_GEMV_K(P)                                                        \
    for (ptrdiff_t r = 0; r < n_rows; r += 4) {                              \
        const PCX_T *b = bias != NULL ? bias + r : NULL;                     \
        if (r + 4 <= n_rows) {                                               \
            PCX_CAT(PCX_NAME, _gemv_k_block)(4, P, y + r * PCX_VL,           \
                                             w + r * lda, lda, xp, n, b);    \
            continue;                                                        \
        }                                                                    \
        for (ptrdiff_t q = r; q < n_rows; q++) {                             \
            PCX_CAT(PCX_NAME, _gemv_k_block)(                                \
                1, P, y + q * PCX_VL, w + q * lda, lda, xp, n,               \
                bias != NULL ? bias + q : NULL);                             \
        }                                                                    \
    }
    switch (n_pos) {
    case 1: PCX_GEMV_K(1) break;
    case 2: PCX_GEMV_K(2) break;
    case 3: PCX_GEMV_K(3) break;
    case 4: PCX_GEMV_K(4) break;
    default: break;
    }
#undef PCX_GEMV_K
}

/* Packs weights[n_rows][n_taps] (row-major) into the kernel's layout. */
static void
PCX_CAT(PCX_NAME, _pack)(PCX_T *restrict packed, const PCX_T *restrict w,
                         ptrdiff_t n_rows, ptrdiff_t n_taps)
{
    for (ptrdiff_t m0 = 0; m0 < n_rows; m0 += PCX_MR_MAX) {
        ptrdiff_t mr = n_rows - m0 < PCX_MR_MAX ? n_rows - m0 : PCX_MR_MAX;
        PCX_T *dst = packed + m0 * n_taps;
        for (ptrdiff_t i = 0; i < n_taps; i++) {
            for (ptrdiff_t m = 0; m < mr; m++) {
                dst[i * mr + m] = w[(m0 + m) * n_taps + i];
            }
        }
    }
}

#undef PCX_VL
