/*
 * pcx_conv_tile.h -- the innermost loop of pyconvx's conv2d.
 *
 *   void pcx_conv_rows_f32(float *const *out, ptrdiff_t n_out_rows,
 *                          ptrdiff_t n_cols, const float *const *taps,
 *                          ptrdiff_t n_taps, const float *w, ptrdiff_t ldw,
 *                          const float *bias);
 *   (and _f64)
 *
 * computes one output row of n_out_rows channels from a list of tap rows
 * (input rows already padded, shifted and de-interleaved by stride, see
 * _conv.pyx).  Written with GCC/Clang vector extensions and compiled for
 * AVX-512, AVX2 and baseline x86-64 (target_clones) on Linux.  Unlike the
 * correlate2d kernel it may use fused multiply-adds: conv2d promises
 * float tolerance, not scipy's bits.
 */
#ifndef PCX_CONV_TILE_H
#define PCX_CONV_TILE_H

#include <stddef.h>
#include <string.h>

#define PCX_CAT_(a, b) a##b
#define PCX_CAT(a, b) PCX_CAT_(a, b)

#define PCX_VEC_BYTES 64
/* Output channels per register block. */
#define PCX_MR_MAX 6
/* Elements a tap row must stay readable past its last used column. */
#define PCX_CONV_SLACK(T) (2 * PCX_VEC_BYTES / sizeof(T))

#include "pcx_cpu.h"

typedef float pcx_vf32 __attribute__((vector_size(PCX_VEC_BYTES)));
typedef double pcx_vf64 __attribute__((vector_size(PCX_VEC_BYTES)));

static const ptrdiff_t pcx_conv_slack_f32 = PCX_CONV_SLACK(float);
static const ptrdiff_t pcx_conv_slack_f64 = PCX_CONV_SLACK(double);

#define PCX_T float
#define PCX_V pcx_vf32
#define PCX_NAME pcx_conv_rows_f32
#include "pcx_conv_tile_body.h"
#undef PCX_T
#undef PCX_V
#undef PCX_NAME

#define PCX_T double
#define PCX_V pcx_vf64
#define PCX_NAME pcx_conv_rows_f64
#include "pcx_conv_tile_body.h"
#undef PCX_T
#undef PCX_V
#undef PCX_NAME

#endif /* PCX_CONV_TILE_H */
