/*
 * Template body of the channel-vectorised conv2d micro-kernel; see
 * pcx_conv_cv.h, which includes it once per (type, instruction set) with
 * PCX_T (element type), PCX_VB (vector bytes), PCX_NR (positions per tile),
 * PCX_MB (vectors of output channels per tile) and PCX_NAME defined.
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
            acc[j][b] = PCX_CAT(PCX_NAME, _load)(bias + b * PCX_VL);
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
 * tap-major by pcx_conv_cv_pack.  The products are summed in tap order.
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

#undef PCX_V
#undef PCX_VL
