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

/*
 * out[c*ld_c + j*ow + x] = stage[(t - t0)*ob + c] for c < n_c and the flat
 * positions t = j*pitch + x in [t0, t1) with x < ow: a chunk of the stage
 * back into NCHW rows.  Blocks of PCX_TL positions x PCX_TL channels are
 * transposed in registers (32-byte vectors; three shuffle stages for 8
 * floats, two for 4 doubles): one vector load per stage row, one vector
 * store per output row segment.
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

static void
PCX_CAT(PCX_NAME, _unstage)(PCX_T *restrict out, ptrdiff_t ld_c, ptrdiff_t ow,
                            const PCX_T *restrict stage, ptrdiff_t ob,
                            ptrdiff_t n_c, ptrdiff_t t0, ptrdiff_t t1,
                            ptrdiff_t pitch)
{
    for (ptrdiff_t j = t0 / pitch; j * pitch < t1; j++) {
        ptrdiff_t x = t0 > j * pitch ? t0 - j * pitch : 0;
        const ptrdiff_t x1 = t1 - j * pitch < ow ? t1 - j * pitch : ow;
        for (; x + PCX_TL <= x1; x += PCX_TL) {
            const PCX_T *src = stage + (j * pitch + x - t0) * ob;
            PCX_T *dst = out + j * ow + x;
            ptrdiff_t c = 0;
            for (; c + PCX_TL <= n_c; c += PCX_TL) {
                PCX_TV r[PCX_TL];
                for (int i = 0; i < PCX_TL; i++) {
                    memcpy(&r[i], src + i * ob + c, sizeof r[i]);
                }
                PCX_CAT(PCX_NAME, _transpose)(r);
                for (int i = 0; i < PCX_TL; i++) {
                    memcpy(dst + (c + i) * ld_c, &r[i], sizeof r[i]);
                }
            }
            for (; c < n_c; c++) {
                for (int i = 0; i < PCX_TL; i++) {
                    dst[c * ld_c + i] = src[i * ob + c];
                }
            }
        }
        for (; x < x1; x++) {
            for (ptrdiff_t c = 0; c < n_c; c++) {
                out[c * ld_c + j * ow + x] = stage[(j * pitch + x - t0) * ob + c];
            }
        }
    }
}

#undef PCX_TV
#undef PCX_V
#undef PCX_VL
