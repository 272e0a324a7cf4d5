/*
 * Template body of the channel-vectorised conv2d micro-kernel; see
 * pcx_conv_cv.h, which includes it once per (type, instruction set) with
 * PCX_T (element type), PCX_TL (32 / sizeof(PCX_T)), PCX_VB (vector bytes),
 * PCX_NR (positions per tile), PCX_MB (vectors of output channels per tile)
 * and PCX_NAME defined.
 * No include guard: it is meant to be included several times.
 */

#define PCX_V PCX_CAT(PCX_NAME, _vec)
#define PCX_VL ((ptrdiff_t)(PCX_VB / sizeof(PCX_T)))

typedef PCX_T PCX_V __attribute__((vector_size(PCX_VB)));

static inline __attribute__((always_inline)) PCX_V
PCX_CAT(PCX_NAME, _load)(const PCX_T *p)
{
    PCX_V v;
    memcpy(&v, p, sizeof v);
    return v;
}

/*
 * One tile: PCX_NR output positions x PCX_MB*PCX_VL channels in registers,
 * one vector of channels per (position, b).  Per tap: PCX_MB weight vectors
 * and PCX_NR broadcast inputs feed PCX_NR*PCX_MB multiply-adds.
 */
static inline __attribute__((always_inline)) void
PCX_CAT(PCX_NAME, _tile)(PCX_T *restrict stage, const PCX_T *const *taps,
                         ptrdiff_t n_taps, ptrdiff_t t0,
                         const PCX_T *restrict w, const PCX_T *restrict bias)
{
    PCX_V acc[PCX_NR][PCX_MB];
    for (int j = 0; j < PCX_NR; j++) {
        for (int b = 0; b < PCX_MB; b++) {
            acc[j][b] = PCX_CAT(PCX_NAME, _load)(
                bias != NULL ? bias + b * PCX_VL : stage + (j * PCX_MB + b) * PCX_VL);
        }
    }
    for (ptrdiff_t i = 0; i < n_taps; i++) {
        const PCX_T *x = taps[i] + t0;
        PCX_V wv[PCX_MB];
#if defined(__GNUC__)
        /* Make x one register, so that x[j] below is an immediate offset:
         * otherwise GCC keeps t0 + j in a register per j and spills. */
        __asm__("" : "+r"(x));
#endif
        for (int b = 0; b < PCX_MB; b++) {
            wv[b] = PCX_CAT(PCX_NAME, _load)(w + (i * PCX_MB + b) * PCX_VL);
        }
        for (int j = 0; j < PCX_NR; j++) {
            const PCX_T xj = x[j];
            for (int b = 0; b < PCX_MB; b++) {
                acc[j][b] += xj * wv[b];
            }
        }
    }
    for (int j = 0; j < PCX_NR; j++) {
        for (int b = 0; b < PCX_MB; b++) {
            memcpy(stage + (j * PCX_MB + b) * PCX_VL, &acc[j][b], sizeof acc[j][b]);
        }
    }
}

/*
 * The same tile at positions off[0..nr), nr <= PCX_NR a constant at each
 * call (so that acc stays in registers): input j of tap i is
 * taps[i][off[j]], for outputs that are not consecutive in the planes.
 */
static inline __attribute__((always_inline)) void
PCX_CAT(PCX_NAME, _tile_at)(PCX_T *restrict stage, const PCX_T *const *taps,
                            ptrdiff_t n_taps, const ptrdiff_t *off,
                            const PCX_T *restrict w, const PCX_T *restrict bias,
                            const int nr)
{
    PCX_V acc[PCX_NR][PCX_MB];
    ptrdiff_t o[PCX_NR];
    for (int j = 0; j < nr; j++) {
        o[j] = off[j];
        for (int b = 0; b < PCX_MB; b++) {
            acc[j][b] = PCX_CAT(PCX_NAME, _load)(
                bias != NULL ? bias + b * PCX_VL : stage + (j * PCX_MB + b) * PCX_VL);
        }
    }
    for (ptrdiff_t i = 0; i < n_taps; i++) {
        const PCX_T *x = taps[i];
        PCX_V wv[PCX_MB];
        for (int b = 0; b < PCX_MB; b++) {
            wv[b] = PCX_CAT(PCX_NAME, _load)(w + (i * PCX_MB + b) * PCX_VL);
        }
        for (int j = 0; j < nr; j++) {
            const PCX_T xj = x[o[j]];
            for (int b = 0; b < PCX_MB; b++) {
                acc[j][b] += xj * wv[b];
            }
        }
    }
    for (int j = 0; j < nr; j++) {
        for (int b = 0; b < PCX_MB; b++) {
            memcpy(stage + (j * PCX_MB + b) * PCX_VL, &acc[j][b], sizeof acc[j][b]);
        }
    }
}

/*
 * stage[t - t0][c] = bias[c] + sum_{i < n_taps} w[i][c] * taps[i][t]
 * for t0 <= t < t0 + n_tiles*PCX_NR and c < PCX_MB*PCX_VL, with w packed
 * tap-major (w[i][c] at w[i*PCX_MB*PCX_VL + c]).  The products are summed
 * in tap order.  With bias NULL the sums start from the stage instead: a
 * long list of taps can be run in chunks (whose weights stay in cache).
 */
static void
PCX_NAME(PCX_T *stage, ptrdiff_t n_tiles, const PCX_T *const *taps,
         ptrdiff_t n_taps, ptrdiff_t t0, const PCX_T *w, const PCX_T *bias)
{
    for (ptrdiff_t k = 0; k < n_tiles; k++) {
        PCX_CAT(PCX_NAME, _tile)(stage + k * PCX_NR * PCX_MB * PCX_VL, taps,
                                 n_taps, t0 + k * PCX_NR, w, bias);
    }
}

/* The same with stage row t computed at position off[t], for t < n_pos:
 * the "exact" mode, off listing only the positions that are outputs (and
 * valid offsets up to the next multiple of PCX_NR).  The last tile is
 * a third, two thirds or all of one, the fewest that cover the positions
 * left: 7x7 outputs are 4 tiles of 12 and 1 position, which a whole tile
 * computed 12 times over (18% of a late ResNet layer's sums); each sum is
 * the same whichever tile computes it. */
static void
PCX_CAT(PCX_NAME, _at)(PCX_T *stage, ptrdiff_t n_pos,
                       const PCX_T *const *taps, ptrdiff_t n_taps,
                       const ptrdiff_t *off, const PCX_T *w, const PCX_T *bias)
{
    enum { NR3 = PCX_NR / 3 };
    ptrdiff_t k = 0;
    for (; k + PCX_NR <= n_pos; k += PCX_NR) {
        PCX_CAT(PCX_NAME, _tile_at)(stage + k * PCX_MB * PCX_VL, taps,
                                    n_taps, off + k, w, bias, PCX_NR);
    }
    if (n_pos - k > 2 * NR3) {
        PCX_CAT(PCX_NAME, _tile_at)(stage + k * PCX_MB * PCX_VL, taps,
                                    n_taps, off + k, w, bias, PCX_NR);
    } else if (n_pos - k > NR3) {
        PCX_CAT(PCX_NAME, _tile_at)(stage + k * PCX_MB * PCX_VL, taps,
                                    n_taps, off + k, w, bias, 2 * NR3);
    } else if (n_pos > k) {
        PCX_CAT(PCX_NAME, _tile_at)(stage + k * PCX_MB * PCX_VL, taps,
                                    n_taps, off + k, w, bias, NR3);
    }
}

/*
 * The tile transposed, for 1x1 layers (the "gemm" engine): PCX_NR output
 * channels x PCX_MB vectors of consecutive positions in registers.  Per
 * input channel, PCX_MB vectors of packed input and PCX_NR broadcast
 * weights feed PCX_NR*PCX_MB multiply-adds; the tile is stored as rows of
 * the NCHW output itself, with no stage to transpose.
 *
 * dst[m*ld + t] = s + sum_{k < kc} a[k*PCX_NR + m] * b[k*NP + t]
 * for m < n_c <= PCX_NR, t < n_t <= NP = PCX_MB*PCX_VL, s = bias[m] or,
 * bias NULL, dst[m*ld + t] (a long list of input channels run in chunks).
 * The products are summed in k order.
 */
static void
PCX_CAT(PCX_NAME, _gemm)(PCX_T *restrict dst, ptrdiff_t ld, ptrdiff_t n_c,
                         ptrdiff_t n_t, const PCX_T *restrict b, ptrdiff_t kc,
                         const PCX_T *restrict a, const PCX_T *restrict bias)
{
    enum { NP = PCX_MB * PCX_VL };
    const int whole = n_c == PCX_NR && n_t == NP;
    PCX_V acc[PCX_NR][PCX_MB];
    PCX_T part[NP];
    if (bias != NULL) {
        /* The output is written, not read: fetch its lines now, so that
         * the stores after the loop below hit in cache instead of waiting
         * on DRAM (the loop takes far longer than a miss). */
        for (ptrdiff_t m = 0; m < n_c; m++) {
            const char *row = (const char *)(dst + m * ld);
            for (ptrdiff_t o = 0; o < n_t * (ptrdiff_t)sizeof(PCX_T); o += 64) {
                __builtin_prefetch(row + o, 1, 3);
            }
            __builtin_prefetch(row + n_t * sizeof(PCX_T) - 1, 1, 3);
        }
    }
    for (int m = 0; m < PCX_NR; m++) {
        if (bias != NULL || whole) {
            for (int v = 0; v < PCX_MB; v++) {
                acc[m][v] = bias != NULL
                    ? (PCX_V){0} + bias[m]
                    : PCX_CAT(PCX_NAME, _load)(dst + m * ld + v * PCX_VL);
            }
            continue;
        }
        /* A partial tile's rows and positions past the output: zeros. */
        memset(part, 0, sizeof part);
        if (m < n_c) {
            memcpy(part, dst + m * ld, (size_t)n_t * sizeof(PCX_T));
        }
        for (int v = 0; v < PCX_MB; v++) {
            acc[m][v] = PCX_CAT(PCX_NAME, _load)(part + v * PCX_VL);
        }
    }
    for (ptrdiff_t k = 0; k < kc; k++) {
        PCX_V bv[PCX_MB];
        for (int v = 0; v < PCX_MB; v++) {
            bv[v] = PCX_CAT(PCX_NAME, _load)(b + (k * PCX_MB + v) * PCX_VL);
        }
        for (int m = 0; m < PCX_NR; m++) {
            const PCX_T am = a[k * PCX_NR + m];
            for (int v = 0; v < PCX_MB; v++) {
                acc[m][v] += am * bv[v];
            }
        }
    }
    for (int m = 0; m < PCX_NR; m++) {
        if (whole) {
            for (int v = 0; v < PCX_MB; v++) {
                memcpy(dst + m * ld + v * PCX_VL, &acc[m][v],
                       sizeof acc[m][v]);
            }
        }
        else if (m < n_c) {
            for (int v = 0; v < PCX_MB; v++) {
                memcpy(part + v * PCX_VL, &acc[m][v], sizeof acc[m][v]);
            }
            memcpy(dst + m * ld, part, (size_t)n_t * sizeof(PCX_T));
        }
    }
}

/*
 * out[c*ld_c + j*ow + x] = stage[(t - t0)*ob + c] for c < n_c and the flat
 * positions t = j*pitch + x in [t0, t1) with x < ow: a chunk of the stage
 * back into NCHW rows.  Blocks of PCX_TL positions x PCX_TL channels are
 * transposed in registers (32-byte vectors; three shuffle stages for 8
 * floats, two for 4 doubles): one vector load per stage row, one vector
 * store per output row segment.  With `stream`, the whole lines of the
 * rows go out with non-temporal stores (see below).
 */
#define PCX_TV PCX_CAT(PCX_NAME, _tvec)
typedef PCX_T PCX_TV __attribute__((vector_size(32)));

static inline __attribute__((always_inline)) void
PCX_CAT(PCX_NAME, _transpose)(PCX_TV r[PCX_TL])
{
#if PCX_TL == 8
    PCX_TV t[8], u[8];
    for (int i = 0; i < 8; i += 2) {
        t[i] = __builtin_shufflevector(r[i], r[i + 1], 0, 8, 1, 9, 4, 12, 5, 13);
        t[i + 1] = __builtin_shufflevector(r[i], r[i + 1], 2, 10, 3, 11, 6, 14, 7, 15);
    }
    for (int i = 0; i < 8; i += 4) {
        for (int k = 0; k < 2; k++) {
            u[i + k] = __builtin_shufflevector(t[i + k], t[i + k + 2],
                                               0, 1, 8, 9, 4, 5, 12, 13);
            u[i + k + 2] = __builtin_shufflevector(t[i + k], t[i + k + 2],
                                                   2, 3, 10, 11, 6, 7, 14, 15);
        }
    }
    /* u[k] holds columns (0, 4), (2, 6), (1, 5), (3, 7) for k = 0..3 of
     * rows 0-3, u[k + 4] the same of rows 4-7. */
    for (int k = 0; k < 4; k++) {
        const int m = k == 1 ? 2 : k == 2 ? 1 : k;
        r[k] = __builtin_shufflevector(u[m], u[m + 4], 0, 1, 2, 3, 8, 9, 10, 11);
        r[k + 4] = __builtin_shufflevector(u[m], u[m + 4], 4, 5, 6, 7, 12, 13, 14, 15);
    }
#elif PCX_TL == 4
    const PCX_TV t0 = __builtin_shufflevector(r[0], r[1], 0, 4, 2, 6);
    const PCX_TV t1 = __builtin_shufflevector(r[0], r[1], 1, 5, 3, 7);
    const PCX_TV t2 = __builtin_shufflevector(r[2], r[3], 0, 4, 2, 6);
    const PCX_TV t3 = __builtin_shufflevector(r[2], r[3], 1, 5, 3, 7);
    r[0] = __builtin_shufflevector(t0, t2, 0, 1, 4, 5);
    r[1] = __builtin_shufflevector(t1, t3, 0, 1, 4, 5);
    r[2] = __builtin_shufflevector(t0, t2, 2, 3, 6, 7);
    r[3] = __builtin_shufflevector(t1, t3, 2, 3, 6, 7);
#else
#  error "PCX_TL must be 8 (float) or 4 (double)"
#endif
}

/* n positions of one output row: dst[c*ld_c + x] = src[x*ob + c] for
 * c < n_c, x < n, in blocks of PCX_TL positions x PCX_TL channels through
 * the transpose, then one position at a time. */
static inline __attribute__((always_inline)) void
PCX_CAT(PCX_NAME, _unstage_span)(PCX_T *restrict dst, ptrdiff_t ld_c,
                                 const PCX_T *restrict src, ptrdiff_t ob,
                                 ptrdiff_t n_c, ptrdiff_t n)
{
    ptrdiff_t x = 0;
    for (; x + PCX_TL <= n; x += PCX_TL) {
        ptrdiff_t c = 0;
        for (; c + PCX_TL <= n_c; c += PCX_TL) {
            PCX_TV r[PCX_TL];
            for (int i = 0; i < PCX_TL; i++) {
                memcpy(&r[i], src + (x + i) * ob + c, sizeof r[i]);
            }
            PCX_CAT(PCX_NAME, _transpose)(r);
            for (int i = 0; i < PCX_TL; i++) {
                memcpy(dst + (c + i) * ld_c + x, &r[i], sizeof r[i]);
            }
        }
        for (; c < n_c; c++) {
            for (int i = 0; i < PCX_TL; i++) {
                dst[c * ld_c + x + i] = src[(x + i) * ob + c];
            }
        }
    }
    for (; x < n; x++) {
        for (ptrdiff_t c = 0; c < n_c; c++) {
            dst[c * ld_c + x] = src[x * ob + c];
        }
    }
}

/* Whole cache lines (PCX_TS positions) of every channel's row are written
 * with non-temporal stores where the caller asks: a large output is
 * written without reading each line first (and without evicting the
 * kernels' data).  x86 with 32-byte vectors only.  The stem layer of the
 * benchmark (a 25.7 MB output) took 0.94-0.96x the time, at 1 thread and
 * at 2; the lines at the ends of a span keep cached stores. */
#if defined(__x86_64__) && PCX_VB >= 32
#  define PCX_STREAM 1
#  define PCX_TS (2 * PCX_TL)
static inline __attribute__((always_inline)) void
PCX_CAT(PCX_NAME, _stream32)(PCX_T *p, PCX_TV v)
{
#  if PCX_TL == 8
    _mm256_stream_ps(p, (__m256)v);
#  else
    _mm256_stream_pd(p, (__m256d)v);
#  endif
}
#else
#  define PCX_STREAM 0
#endif

static void
PCX_CAT(PCX_NAME, _unstage)(PCX_T *restrict out, ptrdiff_t ld_c, ptrdiff_t ow,
                            const PCX_T *restrict stage, ptrdiff_t ob,
                            ptrdiff_t n_c, ptrdiff_t t0, ptrdiff_t t1,
                            ptrdiff_t pitch, int stream)
{
#if PCX_STREAM
    /* Every row and channel plane starts at the same offset in a line, so
     * the same columns xa + k*PCX_TS start whole lines. */
    stream = stream && ow % PCX_TS == 0 && ld_c % PCX_TS == 0
             && n_c % PCX_TL == 0 && (size_t)out % sizeof(PCX_T) == 0;
    const ptrdiff_t xa = (ptrdiff_t)(((size_t)0 - (size_t)out)
                                     % (PCX_TS * sizeof(PCX_T)))
                         / (ptrdiff_t)sizeof(PCX_T);
#else
    (void)stream;
#endif
    for (ptrdiff_t j = t0 / pitch; j * pitch < t1; j++) {
        ptrdiff_t x = t0 > j * pitch ? t0 - j * pitch : 0;
        const ptrdiff_t x1 = t1 - j * pitch < ow ? t1 - j * pitch : ow;
        PCX_T *row = out + j * ow;
        /* Stage row of position (j, x). */
#define PCX_SRC(x) (stage + (j * pitch + (x) - t0) * ob)
#if PCX_STREAM
        /* The first whole line at or after x. */
        const ptrdiff_t xs = x <= xa ? xa
            : xa + (x - xa + PCX_TS - 1) / PCX_TS * PCX_TS;
        if (stream && xs + PCX_TS <= x1) {
            PCX_CAT(PCX_NAME, _unstage_span)(row + x, ld_c, PCX_SRC(x), ob,
                                             n_c, xs - x);
            for (x = xs; x + PCX_TS <= x1; x += PCX_TS) {
                const PCX_T *s = PCX_SRC(x);
                for (ptrdiff_t c = 0; c < n_c; c += PCX_TL) {
                    PCX_TV r[PCX_TL], q[PCX_TL];
                    for (int i = 0; i < PCX_TL; i++) {
                        memcpy(&r[i], s + i * ob + c, sizeof r[i]);
                        memcpy(&q[i], s + (PCX_TL + i) * ob + c, sizeof q[i]);
                    }
                    PCX_CAT(PCX_NAME, _transpose)(r);
                    PCX_CAT(PCX_NAME, _transpose)(q);
                    for (int i = 0; i < PCX_TL; i++) {
                        PCX_T *d = row + (c + i) * ld_c + x;
                        PCX_CAT(PCX_NAME, _stream32)(d, r[i]);
                        PCX_CAT(PCX_NAME, _stream32)(d + PCX_TL, q[i]);
                    }
                }
            }
        }
#endif
        PCX_CAT(PCX_NAME, _unstage_span)(row + x, ld_c, PCX_SRC(x), ob, n_c,
                                         x1 - x);
#undef PCX_SRC
    }
#if PCX_STREAM
    if (stream) {
        _mm_sfence();
    }
#endif
}
#if PCX_STREAM
#  undef PCX_TS
#endif
#undef PCX_STREAM


/*
 * Winograd F(4x4, 3x3) input transform of one channel: for the tiles
 * t = ty*ntx + tx (ty < nty, tx < ntx), v[a*ld_a + t] = (B^T d B)[a]
 * (a = 6*row + column) with d the 6x6 window at rows 4ty.., columns 4tx..
 * of `rows` (padded input rows of pitch ld_r), and
 * B^T = [1 -3/2 -2 3/2 1 0; 0 -1 1/2 5/2 1 0; 0 1 -5/2 1/2 1 0;
 *        0 -2 -1 2 1 0; 0 1/2 -1 -1/2 1 0; 0 1 -3/2 -2 3/2 1]
 * (row i: the coefficients of prod_{j != i} (x - p_j); the last, of
 * prod_j (x - p_j); see pcx_wino_g).
 * Vectors of PCX_VL tiles at a time: the columns of a row are split four
 * ways by two rounds of even/odd shuffles, so each operand is a vector of
 * consecutive tiles.  With X = PCX_VL*ceil(ntx/PCX_VL), rows are read up
 * to column 4X + 3 and v is written up to t = (nty-1)*ntx + X - 1 (the
 * tiles past ntx of a tile row are overwritten by the next row's, or left
 * in v's slack); then terms t in [nty*ntx, t_pad) are set to 0, for the
 * kernel's last tile.
 */
#define PCX_VLP (PCX_VB * PCX_TL / 32)   /* PCX_VL, for the preprocessor */
#if PCX_VLP == 16
#  define PCX_EVEN 0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30
#  define PCX_ODD 1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31
#elif PCX_VLP == 8
#  define PCX_EVEN 0, 2, 4, 6, 8, 10, 12, 14
#  define PCX_ODD 1, 3, 5, 7, 9, 11, 13, 15
#elif PCX_VLP == 4
#  define PCX_EVEN 0, 2, 4, 6
#  define PCX_ODD 1, 3, 5, 7
#elif PCX_VLP == 2
#  define PCX_EVEN 0, 2
#  define PCX_ODD 1, 3
#else
#  error "unexpected vector length"
#endif

/* t = B^T d, for six vectors. */
static inline __attribute__((always_inline)) void
PCX_CAT(PCX_NAME, _wino_bt)(PCX_V t[6], const PCX_V d[6])
{
    const PCX_V half = (PCX_V){0} + 0.5, one5 = (PCX_V){0} + 1.5;
    const PCX_V two = (PCX_V){0} + 2, two5 = (PCX_V){0} + 2.5;
    const PCX_V d31 = d[3] - d[1], d42 = d[4] - d[2];
    t[0] = ((d[0] + d[4]) - d[2] * two) + d31 * one5;
    t[1] = ((d[4] - d[1]) + d[2] * half) + d[3] * two5;
    t[2] = ((d[4] + d[1]) - d[2] * two5) + d[3] * half;
    t[3] = d42 + d31 * two;
    t[4] = d42 - d31 * half;
    t[5] = ((d[1] + d[5]) - d[3] * two) + d42 * one5;
}

/* Columns 4t + k (k < n <= 4) of a row, for the PCX_VL tiles t whose
 * columns start at p. */
static inline __attribute__((always_inline)) void
PCX_CAT(PCX_NAME, _wino_cols)(PCX_V d[4], const PCX_T *p, int n)
{
    const PCX_V a0 = PCX_CAT(PCX_NAME, _load)(p);
    const PCX_V a1 = PCX_CAT(PCX_NAME, _load)(p + PCX_VL);
    const PCX_V a2 = PCX_CAT(PCX_NAME, _load)(p + 2 * PCX_VL);
    const PCX_V a3 = PCX_CAT(PCX_NAME, _load)(p + 3 * PCX_VL);
    /* Columns 4t + {0, 2} and 4t + {1, 3}, then each split again. */
    const PCX_V e0 = __builtin_shufflevector(a0, a1, PCX_EVEN);
    const PCX_V e1 = __builtin_shufflevector(a2, a3, PCX_EVEN);
    const PCX_V o0 = __builtin_shufflevector(a0, a1, PCX_ODD);
    const PCX_V o1 = __builtin_shufflevector(a2, a3, PCX_ODD);
    d[0] = __builtin_shufflevector(e0, e1, PCX_EVEN);
    d[1] = __builtin_shufflevector(o0, o1, PCX_EVEN);
    if (n > 2) {
        d[2] = __builtin_shufflevector(e0, e1, PCX_ODD);
        d[3] = __builtin_shufflevector(o0, o1, PCX_ODD);
    }
}

static void
PCX_CAT(PCX_NAME, _wino_in)(PCX_T *restrict v, ptrdiff_t ld_a,
                            const PCX_T *restrict rows, ptrdiff_t ld_r,
                            ptrdiff_t nty, ptrdiff_t ntx, ptrdiff_t t_pad)
{
    for (ptrdiff_t ty = 0; ty < nty; ty++) {
        const PCX_T *r = rows + 4 * ty * ld_r;
        PCX_T *vt = v + ty * ntx;
        for (ptrdiff_t tx = 0; tx < ntx; tx += PCX_VL) {
            PCX_V s[6][6];
            for (int i = 0; i < 6; i++) {
                const PCX_T *p = r + i * ld_r + 4 * tx;
                PCX_V d[6];
                PCX_CAT(PCX_NAME, _wino_cols)(d, p, 4);
                /* Columns 4t + 4 and 4t + 5: the next tile's first two. */
                PCX_CAT(PCX_NAME, _wino_cols)(d + 4, p + 4, 2);
                PCX_CAT(PCX_NAME, _wino_bt)(s[i], d);
            }
            for (int b = 0; b < 6; b++) {
                const PCX_V c[6] = {s[0][b], s[1][b], s[2][b], s[3][b],
                                    s[4][b], s[5][b]};
                PCX_V t[6];
                PCX_CAT(PCX_NAME, _wino_bt)(t, c);
                for (int a = 0; a < 6; a++) {
                    memcpy(vt + (6 * a + b) * ld_a + tx, &t[a], sizeof t[a]);
                }
            }
        }
    }
    for (int a = 0; a < 36; a++) {
        for (ptrdiff_t t = nty * ntx; t < t_pad; t++) {
            v[a * ld_a + t] = 0;
        }
    }
}
#undef PCX_VLP
#undef PCX_EVEN
#undef PCX_ODD

/* y = A^T m, for six vectors, with A^T = [1 1 1 1 1 0;
 * 0 1 -1 1/2 -2 0; 0 1 1 1/4 4 0; 0 1 -1 1/8 -8 1] (column i: the powers
 * of point p_i; see pcx_wino_g). */
static inline __attribute__((always_inline)) void
PCX_CAT(PCX_NAME, _wino_at)(PCX_V y[4], const PCX_V m[6])
{
    const PCX_V a = m[1] + m[2], b = m[1] - m[2];
    y[0] = (m[0] + a) + (m[3] + m[4]);
    y[1] = (b + m[3] * ((PCX_V){0} + 0.5)) - m[4] * ((PCX_V){0} + 2);
    y[2] = (a + m[3] * ((PCX_V){0} + 0.25)) + m[4] * ((PCX_V){0} + 4);
    y[3] = ((b + m[5]) + m[3] * ((PCX_V){0} + 0.125))
           - m[4] * ((PCX_V){0} + 8);
}

/*
 * Winograd F(4x4, 3x3) output transform of a channel block: the 36
 * products m[a*ld_m + t*OB + c] (t = ty*ntx + tx, OB = PCX_MB*PCX_VL
 * channels) of each tile become its 4x4 outputs A^T m A + bias, written to
 * stage[((4ty + i)*4*ntx + 4tx + j)*OB + c]: a stage of 4*nty rows of pitch
 * 4*ntx for _unstage.  Returns 1 if every output is finite, else 0 (the
 * transforms mix a tile's inputs, so an infinity or NaN does not stay in
 * the outputs whose windows hold it: the caller recomputes those directly).
 */
static int
PCX_CAT(PCX_NAME, _wino_out)(PCX_T *restrict stage, const PCX_T *restrict m,
                             ptrdiff_t ld_m, ptrdiff_t nty, ptrdiff_t ntx,
                             const PCX_T *restrict bias)
{
    enum { OB = PCX_MB * PCX_VL };
    const ptrdiff_t pitch = 4 * ntx;
    PCX_V sum = {0};
    for (ptrdiff_t ty = 0; ty < nty; ty++) {
        for (ptrdiff_t tx = 0; tx < ntx; tx++) {
            const PCX_T *mt = m + (ty * ntx + tx) * OB;
            PCX_T *y = stage + (4 * ty * pitch + 4 * tx) * OB;
            for (int b = 0; b < PCX_MB; b++) {
                /* Rows first (p[k][i]: column k of row i), then columns. */
                PCX_V p[4][6];
                for (int i = 0; i < 6; i++) {
                    PCX_V q[6], r[4];
                    for (int k = 0; k < 6; k++) {
                        q[k] = PCX_CAT(PCX_NAME, _load)(
                            mt + (6 * i + k) * ld_m + b * PCX_VL);
                    }
                    PCX_CAT(PCX_NAME, _wino_at)(r, q);
                    for (int k = 0; k < 4; k++) {
                        p[k][i] = r[k];
                    }
                }
                const PCX_V bv = PCX_CAT(PCX_NAME, _load)(bias + b * PCX_VL);
                for (int k = 0; k < 4; k++) {
                    PCX_V o[4];
                    PCX_CAT(PCX_NAME, _wino_at)(o, p[k]);
                    for (int i = 0; i < 4; i++) {
                        o[i] += bv;
                        memcpy(y + (i * pitch + k) * OB + b * PCX_VL, &o[i],
                               sizeof o[i]);
                        sum += o[i];
                    }
                }
            }
        }
    }
    /* Infinite or NaN if any output was (or, rarely, if the sum overflowed:
     * then the caller's direct recomputation is merely unneeded). */
    sum *= 0;
    for (ptrdiff_t i = 0; i < PCX_VL; i++) {
        if (sum[i] != 0) {
            return 0;
        }
    }
    return 1;
}

#undef PCX_TV
#undef PCX_V
#undef PCX_VL
