/*
 * pcx_conv_cv.h -- the channel-vectorised micro-kernel of conv2d.
 *
 * For layers with many output channels and taps, conv2d computes a tile of
 * positions x output channels with one SIMD vector holding consecutive
 * *channels* of one position: per tap it loads a few weight vectors and
 * broadcasts one input value per position, so no load is ever unaligned and
 * every multiply-add uses registers only.  Results go to a "stage" laid out
 * [position][channel], which _conv.pyx transposes into the NCHW output.
 *
 * The kernel is compiled for three instruction sets, each with the register
 * tile its register file holds (AVX-512: 32 registers, AVX2 and baseline:
 * 16), and chosen at run time by pcx_conv_cv_select_*; the channel block
 * (`ob`) depends on that choice, so weights are packed after it.
 *
 * Unlike the correlate2d kernel it may use fused multiply-adds: conv2d
 * promises float tolerance, not scipy's bits.
 */
#ifndef PCX_CONV_CV_H
#define PCX_CONV_CV_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>
#if defined(__x86_64__)
#  include <immintrin.h>
#endif

#define PCX_CAT_(a, b) a##b
#define PCX_CAT(a, b) PCX_CAT_(a, b)

#include "pcx_cpu.h"

#define PCX_CV_DISPATCH PCX_CPU_DISPATCH

typedef void (*pcx_cv_f32_fn)(float *, ptrdiff_t, const float *const *,
                              ptrdiff_t, ptrdiff_t, const float *, const float *);
typedef void (*pcx_cv_f64_fn)(double *, ptrdiff_t, const double *const *,
                              ptrdiff_t, ptrdiff_t, const double *, const double *);
typedef void (*pcx_cv_f32_at_fn)(float *, ptrdiff_t, const float *const *,
                                 ptrdiff_t, const ptrdiff_t *, const float *,
                                 const float *);
typedef void (*pcx_cv_f64_at_fn)(double *, ptrdiff_t, const double *const *,
                                 ptrdiff_t, const ptrdiff_t *, const double *,
                                 const double *);

typedef void (*pcx_cv_f32_unstage_fn)(float *, ptrdiff_t, ptrdiff_t,
                                      const float *, ptrdiff_t, ptrdiff_t,
                                      ptrdiff_t, ptrdiff_t, ptrdiff_t, int);
typedef void (*pcx_cv_f64_unstage_fn)(double *, ptrdiff_t, ptrdiff_t,
                                      const double *, ptrdiff_t, ptrdiff_t,
                                      ptrdiff_t, ptrdiff_t, ptrdiff_t, int);

typedef void (*pcx_cv_f32_wino_in_fn)(float *, ptrdiff_t, const float *,
                                      ptrdiff_t, ptrdiff_t, ptrdiff_t,
                                      ptrdiff_t);
typedef void (*pcx_cv_f64_wino_in_fn)(double *, ptrdiff_t, const double *,
                                      ptrdiff_t, ptrdiff_t, ptrdiff_t,
                                      ptrdiff_t);
typedef int (*pcx_cv_f32_wino_out_fn)(float *, const float *, ptrdiff_t,
                                      ptrdiff_t, ptrdiff_t, const float *);
typedef int (*pcx_cv_f64_wino_out_fn)(double *, const double *, ptrdiff_t,
                                      ptrdiff_t, ptrdiff_t, const double *);
typedef void (*pcx_cv_f32_gemm_fn)(float *, ptrdiff_t, ptrdiff_t, ptrdiff_t,
                                   const float *, ptrdiff_t, const float *,
                                   const float *);
typedef void (*pcx_cv_f64_gemm_fn)(double *, ptrdiff_t, ptrdiff_t, ptrdiff_t,
                                   const double *, ptrdiff_t, const double *,
                                   const double *);

/* A kernel (over consecutive positions, and at listed ones), its tile (nr
 * positions x ob channels), its stage copy, the Winograd transforms
 * around it, and the same tile transposed (nr channels x ob positions) for
 * 1x1 layers; and the input transform of half the vector length (vectors
 * of vl_half tiles), for rows of few tiles. */
#define PCX_CV_KERNEL(S)                                                     \
typedef struct {                                                             \
    pcx_cv_##S##_fn run; pcx_cv_##S##_at_fn run_at;                          \
    pcx_cv_##S##_unstage_fn unstage;                                         \
    pcx_cv_##S##_wino_in_fn wino_in; pcx_cv_##S##_wino_out_fn wino_out;      \
    pcx_cv_##S##_gemm_fn gemm;                                               \
    ptrdiff_t nr, ob; int isa;                                               \
    pcx_cv_##S##_wino_in_fn wino_in_half; ptrdiff_t vl_half;                 \
} pcx_cv_##S;
PCX_CV_KERNEL(f32)
PCX_CV_KERNEL(f64)
#undef PCX_CV_KERNEL

/* Baseline: 16-byte vectors (SSE2 on x86-64, NEON elsewhere), 6 x 2. */
#define PCX_VB 16
#define PCX_NR 6
#define PCX_MB 2
#define PCX_T float
#define PCX_TL 8
#define PCX_NAME pcx_cv_f32_base
#include "pcx_conv_cv_body.h"
#undef PCX_T
#undef PCX_TL
#undef PCX_NAME
#define PCX_T double
#define PCX_TL 4
#define PCX_NAME pcx_cv_f64_base
#include "pcx_conv_cv_body.h"
#undef PCX_T
#undef PCX_TL
#undef PCX_NAME
#undef PCX_VB
#undef PCX_NR
#undef PCX_MB

#if PCX_CV_DISPATCH
/* AVX2 + FMA: 16 registers of 32 bytes, a 6 x 2 tile. */
PCX_TARGET_V3
#define PCX_VB 32
#define PCX_NR 6
#define PCX_MB 2
#define PCX_T float
#define PCX_TL 8
#define PCX_NAME pcx_cv_f32_avx2
#include "pcx_conv_cv_body.h"
#undef PCX_T
#undef PCX_TL
#undef PCX_NAME
#define PCX_T double
#define PCX_TL 4
#define PCX_NAME pcx_cv_f64_avx2
#include "pcx_conv_cv_body.h"
#undef PCX_T
#undef PCX_TL
#undef PCX_NAME
#undef PCX_VB
#undef PCX_NR
#undef PCX_MB
PCX_TARGET_END

/* AVX-512: 32 registers of 64 bytes, a 12 x 2 tile (24 accumulators). */
PCX_TARGET_V4
#define PCX_VB 64
#define PCX_NR 12
#define PCX_MB 2
#define PCX_T float
#define PCX_TL 8
#define PCX_NAME pcx_cv_f32_avx512
#include "pcx_conv_cv_body.h"
#undef PCX_T
#undef PCX_TL
#undef PCX_NAME
#define PCX_T double
#define PCX_TL 4
#define PCX_NAME pcx_cv_f64_avx512
#include "pcx_conv_cv_body.h"
#undef PCX_T
#undef PCX_TL
#undef PCX_NAME
#undef PCX_VB
#undef PCX_NR
#undef PCX_MB
PCX_TARGET_END
#endif


/* Asks for the n_bytes at p in L2, a line at a time: for the runs of
 * input an engine reads next when they are too short (a few KiB, one per
 * channel plane) for the hardware prefetcher to ramp up on each.  The L2
 * hint (prefetcht2), not L1's: lines asked for early would be evicted from
 * L1 by the work in between anyway, and on Zen 4 an L1 prefetch of that
 * many lines held up the loads of the work itself (a C loop max-pooling
 * planes: 0.87-0.94x the time with prefetcht2, 1.07-1.13x with
 * prefetcht0; the benchmark's layers took 0.95-0.99x the time, depthwise
 * 0.75-0.84x).  pcx_prefetchw asks for lines about to be written. */
#if defined(__GNUC__)
#  define PCX_PREFETCH_LINE(p, rw) __builtin_prefetch((p), (rw), 1)
#else
#  define PCX_PREFETCH_LINE(p, rw) ((void)(p))
#endif

static inline void
pcx_prefetch(const void *p, ptrdiff_t n_bytes)
{
    for (ptrdiff_t o = 0; o < n_bytes; o += 64) {
        PCX_PREFETCH_LINE((const char *)p + o, 0);
    }
}

static inline void
pcx_prefetchw(const void *p, ptrdiff_t n_bytes)
{
    for (ptrdiff_t o = 0; o < n_bytes; o += 64) {
        PCX_PREFETCH_LINE((const char *)p + o, 1);
    }
}

/*
 * pw[i*ob + c] = w[c*ld + i] for c < n_c, i < n_taps: a block of ob
 * output channels' weights, tap-major, as the kernels read them (the
 * caller zeroes the channels past n_c); ld >= n_taps is the distance
 * between channels in w.  Runs of 64 taps: per group of TL
 * channels (8 floats, 4 doubles), TL x TL blocks through the stage copy's
 * register transpose, so the 64 rows of pw a run fills are complete while
 * in L1; each group's rows' next run is prefetched (too many streams for
 * the hardware prefetcher).  (Element by element, 16 taps at a time, a
 * 512 x 512 3x3 layer spent a third of its time packing.)
 */
#define PCX_CV_PACK(NAME, T, BASE, TL)                                       \
PCX_CLONES static void                                                       \
NAME(T *restrict pw, const T *restrict w, ptrdiff_t n_c, ptrdiff_t n_taps,   \
     ptrdiff_t ob, ptrdiff_t ld)                                             \
{                                                                            \
    for (ptrdiff_t i0 = 0; i0 < n_taps; i0 += 64) {                          \
        const ptrdiff_t i1 = n_taps - i0 < 64 ? n_taps : i0 + 64;            \
        ptrdiff_t c = 0;                                                     \
        for (; c + TL <= n_c; c += TL) {                                     \
            ptrdiff_t i = i0;                                                \
            for (int k = 0; k < TL && i1 + 64 <= n_taps; k++) {              \
                pcx_prefetch(w + (c + k) * ld + i1,                      \
                             64 * (ptrdiff_t)sizeof(T));                     \
            }                                                                \
            for (; i + TL <= i1; i += TL) {                                  \
                BASE##_tvec r[TL];                                           \
                for (int k = 0; k < TL; k++) {                               \
                    memcpy(&r[k], w + (c + k) * ld + i, sizeof r[k]);    \
                }                                                            \
                BASE##_transpose(r);                                         \
                for (int k = 0; k < TL; k++) {                               \
                    memcpy(pw + (i + k) * ob + c, &r[k], sizeof r[k]);       \
                }                                                            \
            }                                                                \
            for (; i < i1; i++) {                                            \
                for (int k = 0; k < TL; k++) {                               \
                    pw[i * ob + c + k] = w[(c + k) * ld + i];            \
                }                                                            \
            }                                                                \
        }                                                                    \
        for (; c < n_c; c++) {                                               \
            for (ptrdiff_t i = i0; i < i1; i++) {                            \
                pw[i * ob + c] = w[c * ld + i];                          \
            }                                                                \
        }                                                                    \
    }                                                                        \
}
PCX_CV_PACK(pcx_cv_pack_f32, float, pcx_cv_f32_base, 8)
PCX_CV_PACK(pcx_cv_pack_f64, double, pcx_cv_f64_base, 4)
#undef PCX_CV_PACK

/* t[a] = (G g)[a], a < 6, for a column g of 3: Winograd F(4x4, 3x3)'s
 * G = [1 0 0; 1/3 1/3 1/3; -1/3 1/3 -1/3; -16/15 -8/15 -4/15;
 *      1/15 -2/15 4/15; 0 0 1], row i = (1, p, p^2) / prod_{j != i}
 * (p - p_j) for the interpolation points p = 0, 1, -1, 1/2, -2 (and
 * infinity).  Those points (Barabasz et al., 2020) round less than the
 * usual 0, 1, -1, 2, -2: on random float32 layers the root-mean-square
 * error measured 0.65x, the largest 0.4x. */
static inline void
pcx_wino_g(double t[6], double g0, double g1, double g2)
{
    /* Products by the reciprocals, not divisions: a layer of 64 x 64
     * kernels spent 0.3 ms dividing. */
    t[0] = g0;
    t[1] = (g0 + g1 + g2) * (1.0 / 3);
    t[2] = (g0 - g1 + g2) * (-1.0 / 3);
    t[3] = (g0 + 0.5 * g1 + 0.25 * g2) * (-16.0 / 15);
    t[4] = (g0 - 2 * g1 + 4 * g2) * (1.0 / 15);
    t[5] = g2;
}

/* t[a][o] = (G g)[a] for the columns g = (g0[o], g1[o], g2[o]), o < n:
 * pcx_wino_g's arithmetic, one vector of channels at a time. */
#if defined(__GNUC__)
__attribute__((always_inline))  /* into each clone of the pack */
#endif
static inline void
pcx_wino_g_row(double (*restrict t)[64], const double *restrict g0,
               const double *restrict g1, const double *restrict g2,
               ptrdiff_t n)
{
    for (ptrdiff_t o = 0; o < n; o++) {
        double u[6];
        pcx_wino_g(u, g0[o], g1[o], g2[o]);
        for (int a = 0; a < 6; a++) {
            t[a][o] = u[a];
        }
    }
}

/*
 * pu[(a*n_in + c)*ob + o] = (G g G^T)[a], a < 36 (a = 6*row + column),
 * for the 3x3 kernels g = w[(o*ld_in + c)*9 ...] of n_c <= ob output
 * channels (o < n_c) and n_in <= ld_in input channels: a block of weights
 * in the Winograd F(4x4, 3x3) domain (or the part of it for n_in input
 * channels, w pointing at the first), computed in double and rounded
 * once.  Eight input channels at a time, the kernels' taps are transposed
 * to rows of channels (pcx_cv_pack), and each is transformed a vector of
 * channels at a time, every row of ob written whole (one kernel at a
 * time, its 36 terms written one channel apart, a 512 x 512 layer took
 * 3.3 ms; now 2.2 ms, the transposes included).
 */
#define PCX_WINO_PACK(NAME, T, CV_PACK)                                      \
PCX_CLONES static void                                                       \
NAME(T *restrict pu, const T *restrict w, ptrdiff_t n_c, ptrdiff_t n_in,     \
     ptrdiff_t ld_in, ptrdiff_t ob)                                          \
{                                                                            \
    /* ob <= 64 (32 at most today), a multiple of 4; n8: n_c rounded        \
     * up to a multiple of 8, or of 4 where ob is not one of 8 */            \
    T tw[72][64];                                                            \
    double g[9][64], t[18][64], u[6][64];                                    \
    const ptrdiff_t n8 = ob % 8 ? (n_c + 3) / 4 * 4 : (n_c + 7) / 8 * 8;     \
    memset(tw, 0, sizeof tw);                                                \
    for (ptrdiff_t c0 = 0; c0 < n_in; c0 += 8) {                             \
        const ptrdiff_t nc = n_in - c0 < 8 ? n_in - c0 : 8;                  \
        /* Eight input channels' taps as rows of channels. */                \
        CV_PACK(&tw[0][0], w + c0 * 9, n_c, 9 * nc, 64, 9 * ld_in);          \
        for (ptrdiff_t c = c0; c < c0 + nc; c++) {                           \
            for (int k = 0; k < 9; k++) {                                    \
                for (ptrdiff_t o = 0; o < n8; o++) {                         \
                    g[k][o] = tw[9 * (c - c0) + k][o];                       \
                }                                                            \
            }                                                                \
            for (int v = 0; v < 3; v++) {      /* t[6v + a] = (G g_v)[a] */  \
                pcx_wino_g_row(t + 6 * v, g[v], g[3 + v], g[6 + v], n8);     \
            }                                                                \
            /* Whole vectors (zeros past n_c, where the caller zeroed     \
             * pu): each row of ob written at once. */                       \
            for (int a = 0; a < 6; a++) {                                    \
                pcx_wino_g_row(u, t[a], t[6 + a], t[12 + a], n8);            \
                for (int b = 0; b < 6; b++) {                                \
                    T *restrict d = pu + ((6 * a + b) * n_in + c) * ob;      \
                    for (ptrdiff_t o = 0; o < n8; o++) {                     \
                        d[o] = (T)u[b][o];                                   \
                    }                                                        \
                }                                                            \
            }                                                                \
        }                                                                    \
    }                                                                        \
}
PCX_WINO_PACK(pcx_wino_pack_f32, float, pcx_cv_pack_f32)
PCX_WINO_PACK(pcx_wino_pack_f64, double, pcx_cv_pack_f64)
#undef PCX_WINO_PACK

/* Whether w[0..n) are all finite: their exponent bits not all ones, an
 * or over the bits that vectorises (isfinite() one weight at a time took
 * 0.7 ms of a 512 x 512 3x3 layer). */
#define PCX_ALL_FINITE(NAME, T, U, EXP)                                      \
PCX_CLONES static int                                                        \
NAME(const T *restrict w, ptrdiff_t n)                                       \
{                                                                            \
    U bad = 0;                                                               \
    for (ptrdiff_t i = 0; i < n; i++) {                                      \
        U bits;                                                              \
        memcpy(&bits, w + i, sizeof bits);                                   \
        bad |= (U)((bits & EXP) == EXP);                                     \
    }                                                                        \
    return !bad;                                                             \
}
PCX_ALL_FINITE(pcx_all_finite_f32, float, uint32_t, UINT32_C(0x7f800000))
PCX_ALL_FINITE(pcx_all_finite_f64, double, uint64_t,
               UINT64_C(0x7ff0000000000000))
#undef PCX_ALL_FINITE

/* dst[x] = src[x % k][x / k] for x < n: an output row of a dilated layer
 * from the rows of its k column phases (k = 2 with vector shuffles). */
#define PCX_INTERLEAVE(NAME, T)                                              \
PCX_CLONES static void                                                       \
NAME(T *restrict dst, ptrdiff_t n, const T *const *src, ptrdiff_t k)         \
{                                                                            \
    if (k == 2) {                                                            \
        const T *restrict a = src[0];                                        \
        const T *restrict b = src[1];                                        \
        ptrdiff_t i = 0;                                                     \
        for (; 2 * i + 1 < n; i++) {                                         \
            dst[2 * i] = a[i];                                               \
            dst[2 * i + 1] = b[i];                                           \
        }                                                                    \
        if (2 * i < n) {                                                     \
            dst[2 * i] = a[i];                                               \
        }                                                                    \
        return;                                                              \
    }                                                                        \
    for (ptrdiff_t x = 0; x < n; x++) {                                      \
        dst[x] = src[x % k][x / k];                                          \
    }                                                                        \
}
PCX_INTERLEAVE(pcx_interleave_f32, float)
PCX_INTERLEAVE(pcx_interleave_f64, double)
#undef PCX_INTERLEAVE

/* a[i] = src[2*i], b[i] = src[2*i + 1] for i < n: the two column phases of
 * a stride-2 layer from one pass over an input row. */
#define PCX_DEINTERLEAVE(NAME, T)                                            \
PCX_CLONES static void                                                       \
NAME(T *restrict a, T *restrict b, const T *restrict src, ptrdiff_t n)       \
{                                                                            \
    for (ptrdiff_t i = 0; i < n; i++) {                                      \
        a[i] = src[2 * i];                                                   \
        b[i] = src[2 * i + 1];                                               \
    }                                                                        \
}
PCX_DEINTERLEAVE(pcx_deinterleave_f32, float)
PCX_DEINTERLEAVE(pcx_deinterleave_f64, double)
#undef PCX_DEINTERLEAVE

/* The gemm engine's packing of contiguous positions: for k < nk and each
 * tile i, panel[(i*kc + k)*np + j] = src[k*plane + i*np + j] for
 * i*np + j < n, zero past n (so the last tile stays finite).  Each input
 * channel's run is read in one pass, and the run PCX_PACK_AHEAD channels
 * ahead is prefetched. */
#define PCX_PACK_AHEAD 4
#define PCX_GEMM_PACK(NAME, T)                                               \
PCX_CLONES static void                                                       \
NAME(T *restrict panel, ptrdiff_t kc, ptrdiff_t np, const T *restrict src,   \
     ptrdiff_t plane, ptrdiff_t nk, ptrdiff_t n)                             \
{                                                                            \
    for (ptrdiff_t k = 0; k < nk; k++) {                                     \
        const T *restrict row = src + k * plane;                             \
        if (k + PCX_PACK_AHEAD < nk) {                                       \
            pcx_prefetch(row + PCX_PACK_AHEAD * plane, n * (ptrdiff_t)sizeof(T));\
        }                                                                    \
        for (ptrdiff_t i = 0; i * np < n; i++) {                             \
            T *restrict dst = panel + (i * kc + k) * np;                     \
            const ptrdiff_t n_t = n - i * np < np ? n - i * np : np;         \
            for (ptrdiff_t j = 0; j < n_t; j++) {                            \
                dst[j] = row[i * np + j];                                    \
            }                                                                \
            for (ptrdiff_t j = n_t; j < np; j++) {                           \
                dst[j] = 0;                                                  \
            }                                                                \
        }                                                                    \
    }                                                                        \
}
PCX_GEMM_PACK(pcx_gemm_pack_f32, float)
PCX_GEMM_PACK(pcx_gemm_pack_f64, double)
#undef PCX_GEMM_PACK

/* The kernel level to use: the CPU's (pcx_cpu.h), at most `cap`. */
static int
pcx_conv_cv_isa(int cap)
{
    const int level = pcx_cpu_level();
    if (level <= cap) {
        return level;
    }
    return cap >= PCX_ISA_AVX2 ? PCX_ISA_AVX2 : PCX_ISA_BASE;
}

/* The best kernel this CPU runs, at most instruction set `cap`:
 * pcx_conv_cv_select_f32 / _f64. */
#define PCX_CV_FNS(S, ISA)                                                   \
    pcx_cv_##S##_##ISA, pcx_cv_##S##_##ISA##_at,                             \
    pcx_cv_##S##_##ISA##_unstage,                                            \
    pcx_cv_##S##_##ISA##_wino_in, pcx_cv_##S##_##ISA##_wino_out,             \
    pcx_cv_##S##_##ISA##_gemm
#if PCX_CV_DISPATCH
#  define PCX_CV_PICK(T, S)                                                   \
    switch (pcx_conv_cv_isa(cap)) {                                          \
    case PCX_ISA_AVX512:                                                     \
        k = (pcx_cv_##S){PCX_CV_FNS(S, avx512), 12, 2 * 64 / sizeof(T),      \
                         PCX_ISA_AVX512, pcx_cv_##S##_avx2_wino_in,          \
                         32 / sizeof(T)};                                    \
        break;                                                               \
    case PCX_ISA_AVX2:                                                       \
        k = (pcx_cv_##S){PCX_CV_FNS(S, avx2), 6, 2 * 32 / sizeof(T),         \
                         PCX_ISA_AVX2, pcx_cv_##S##_base_wino_in,            \
                         16 / sizeof(T)};                                    \
        break;                                                               \
    default:                                                                 \
        break;                                                               \
    }
#else
#  define PCX_CV_PICK(T, S)
#endif
#define PCX_CV_SELECT(T, S)                                                  \
static pcx_cv_##S                                                            \
pcx_conv_cv_select_##S(int cap)                                              \
{                                                                            \
    pcx_cv_##S k = {PCX_CV_FNS(S, base), 6, 2 * 16 / sizeof(T),              \
                    PCX_ISA_BASE, pcx_cv_##S##_base_wino_in,                 \
                    16 / sizeof(T)};                                         \
    PCX_CV_PICK(T, S)                                                        \
    (void)cap;                                                               \
    return k;                                                                \
}
PCX_CV_SELECT(float, f32)
PCX_CV_SELECT(double, f64)
#undef PCX_CV_SELECT
#undef PCX_CV_PICK
#undef PCX_CV_FNS

#endif /* PCX_CONV_CV_H */
