/*
 * pcx_corr_rows.h -- the innermost loop of pyconvx's 2-D correlation.
 *
 * One function per element type, all generated from pcx_corr_rows_body.h:
 *
 *   void pcx_corr_rows_<sfx>(T *out, ptrdiff_t n_out,
 *                            const T *const *rows, ptrdiff_t n_rows,
 *                            const T *coef, ptrdiff_t kw, ptrdiff_t step);
 *
 * computes one output row from n_rows (already padded) input rows and an
 * n_rows x kw coefficient block.  The Cython driver (_corr2d.pyx) does the
 * padding, the threading and everything else.
 *
 * Integers are computed in unsigned arithmetic, which wraps by definition;
 * two's complement makes the low bits identical to a signed computation,
 * so callers view signed arrays as unsigned ones of the same width.
 *
 * On x86-64 with GCC or Clang each function is compiled for AVX-512, AVX2
 * and the baseline, and the loader picks one (target_clones); float,
 * double, complex and 32- and 64-bit integer rows go first to a
 * register-blocked kernel of explicit vectors (pcx_corr_vec_body.h), picked
 * at run time.  Floating point results are identical on every path: the
 * build disables FMA contraction and the order of operations per output
 * never changes.
 */
#ifndef PCX_CORR_ROWS_H
#define PCX_CORR_ROWS_H

#include <stddef.h>
#include <stdint.h>
#include <complex.h>

#define PCX_CAT_(a, b) a##b
#define PCX_CAT(a, b) PCX_CAT_(a, b)

/* Bytes of accumulators per tile: small enough to stay in L1. */
#define PCX_TILE_BYTES 1024

#include "pcx_cpu.h"

#pragma STDC FP_CONTRACT OFF

#define PCX_T uint8_t
#define PCX_ACC unsigned int
#define PCX_NAME pcx_corr_rows_u8
#include "pcx_corr_rows_body.h"
#undef PCX_T
#undef PCX_ACC
#undef PCX_NAME

#define PCX_T uint16_t
#define PCX_ACC unsigned int
#define PCX_NAME pcx_corr_rows_u16
#include "pcx_corr_rows_body.h"
#undef PCX_T
#undef PCX_ACC
#undef PCX_NAME

#define PCX_HAS_VEC
#define PCX_T uint32_t
#define PCX_ACC uint32_t
#define PCX_NAME pcx_corr_rows_u32
#include "pcx_corr_rows_body.h"
#undef PCX_T
#undef PCX_ACC
#undef PCX_NAME
#undef PCX_HAS_VEC

#define PCX_HAS_VEC
#define PCX_T uint64_t
#define PCX_ACC uint64_t
#define PCX_NAME pcx_corr_rows_u64
#include "pcx_corr_rows_body.h"
#undef PCX_T
#undef PCX_ACC
#undef PCX_NAME
#undef PCX_HAS_VEC

/* float, double, their complex types (and uint32/uint64 above): the
 * generic kernel finishes the rows the register-blocked one
 * (pcx_corr_vec_body.h) leaves, whole vectors short. */
#define PCX_HAS_VEC
#define PCX_T float
#define PCX_ACC float
#define PCX_NAME pcx_corr_rows_f32
#include "pcx_corr_rows_body.h"
#undef PCX_T
#undef PCX_ACC
#undef PCX_NAME

#define PCX_T double
#define PCX_ACC double
#define PCX_NAME pcx_corr_rows_f64
#include "pcx_corr_rows_body.h"
#undef PCX_T
#undef PCX_ACC
#undef PCX_NAME

#define PCX_T float _Complex
#define PCX_ACC float _Complex
#define PCX_NAME pcx_corr_rows_c64
#include "pcx_corr_rows_body.h"
#undef PCX_T
#undef PCX_ACC
#undef PCX_NAME

#define PCX_T double _Complex
#define PCX_ACC double _Complex
#define PCX_NAME pcx_corr_rows_c128
#include "pcx_corr_rows_body.h"
#undef PCX_T
#undef PCX_ACC
#undef PCX_NAME
#undef PCX_HAS_VEC

/* The register-blocked kernels' instruction set: pcx_corr_isa(), the
 * CPU's level at most the cap set by pcx_corr_set_isa_cap (a test hook,
 * set by _corr2d._set_isa_cap). */
PCX_ISA_CAPPED(pcx_corr)

#if PCX_CPU_DISPATCH
#include <string.h>
PCX_TARGET_V4
#define PCX_VB 64
#define PCX_ISA avx512
#include "pcx_corr_vec_types.h"
#undef PCX_VB
#undef PCX_ISA
PCX_TARGET_END

PCX_TARGET_V3
#define PCX_VB 32
#define PCX_ISA avx2
#include "pcx_corr_vec_types.h"
#undef PCX_VB
#undef PCX_ISA
PCX_TARGET_END
#endif

/* One output row: whole vectors by the register-blocked kernel of the
 * widest instruction set there is, the rest by the generic one. */
#if PCX_CPU_DISPATCH
#  define PCX_CORR_VEC(S)                                                   \
    if (isa >= PCX_ISA_AVX512) {                                            \
        done = pcx_corr_vec_##S##_avx512(out, n_out, rows, n_rows, coef,    \
                                         kw, step);                         \
    }                                                                       \
    else if (isa >= PCX_ISA_AVX2) {                                         \
        done = pcx_corr_vec_##S##_avx2(out, n_out, rows, n_rows, coef,      \
                                       kw, step);                           \
    }
#else
#  define PCX_CORR_VEC(S)
#endif
#define PCX_CORR_DISPATCH(S, T)                                             \
static void                                                                 \
pcx_corr_rows_##S(T *restrict out, ptrdiff_t n_out, const T *const *rows,   \
                  ptrdiff_t n_rows, const T *restrict coef, ptrdiff_t kw,   \
                  ptrdiff_t step)                                           \
{                                                                           \
    const int isa = pcx_corr_isa();                                         \
    ptrdiff_t done = 0;                                                     \
    (void) isa;                                                             \
    PCX_CORR_VEC(S)                                                         \
    if (done < n_out) {                                                     \
        pcx_corr_rows_##S##_from(out, done, n_out, rows, n_rows, coef, kw,  \
                                 step);                                     \
    }                                                                       \
}
PCX_CORR_DISPATCH(f32, float)
PCX_CORR_DISPATCH(f64, double)
PCX_CORR_DISPATCH(c64, float _Complex)
PCX_CORR_DISPATCH(c128, double _Complex)
PCX_CORR_DISPATCH(u32, uint32_t)
PCX_CORR_DISPATCH(u64, uint64_t)
#undef PCX_CORR_VEC
#undef PCX_CORR_DISPATCH

#define PCX_T long double
#define PCX_ACC long double
#define PCX_NAME pcx_corr_rows_f80
#include "pcx_corr_rows_body.h"
#undef PCX_T
#undef PCX_ACC
#undef PCX_NAME

#define PCX_T long double _Complex
#define PCX_ACC long double _Complex
#define PCX_NAME pcx_corr_rows_c160
#include "pcx_corr_rows_body.h"
#undef PCX_T
#undef PCX_ACC
#undef PCX_NAME

#endif /* PCX_CORR_ROWS_H */
