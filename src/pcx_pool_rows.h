/*
 * pcx_pool_rows.h -- the innermost loops of pyconvx's 2-D pooling.
 *
 * One set of functions per element type, all generated from
 * pcx_pool_rows_body.h.  For max pooling (every integer type, float,
 * double; suffixes i8 u8 i16 u16 i32 u32 i64 u64 f32 f64):
 *
 *   void pcx_max_taps_<sfx>(T *dst, const T *row, ptrdiff_t n,
 *                           ptrdiff_t s, ptrdiff_t k, ptrdiff_t d);
 *       dst[i] = the max of row[i*s + j*d], j < k, for i < n
 *   void pcx_max_edge_<sfx>(T *dst, const T *row, ptrdiff_t k, ptrdiff_t d);
 *       *dst = the max of row[j*d], j < k (inline, for clipped windows)
 *   void pcx_argmax_taps_<sfx>(T *dst, int64_t *dst_idx, const T *row,
 *                              int64_t base, ptrdiff_t n, ptrdiff_t s,
 *                              ptrdiff_t k, ptrdiff_t d);
 *       the same, and dst_idx[i] = base + i*s + j*d of the winning tap
 *   void pcx_max_fold_<sfx>(T *acc, const T *v, ptrdiff_t n);
 *   void pcx_argmax_fold_<sfx>(T *acc, int64_t *acc_idx, const T *v,
 *                              const int64_t *v_idx, ptrdiff_t n);
 *       acc[i] = the max of acc[i] then v[i] (and its index)
 *   void pcx_max_fold2_<sfx>(T *acc, const T *a, const T *b, ptrdiff_t n);
 *       acc[i] = the max of a[i] then b[i]
 *
 * "max" is torch's scan: a value replaces the current one when it is
 * larger or NaN, so the last NaN wins and ties keep the first value; the
 * taps are visited in order j = 0, 1, ..., k-1.
 *
 * For average pooling (float, double, uint64 -- integers are summed in
 * 64-bit wrapping arithmetic; suffixes f32 f64 u64):
 *
 *   void pcx_sum_taps_<sfx>(T *dst, const T *v, ptrdiff_t n, ptrdiff_t s,
 *                           ptrdiff_t k);
 *       dst[i] = v[i*s] + v[i*s + 1] + ... + v[i*s + k-1], left to right
 *   void pcx_add_row_<sfx>(T *acc, const T *x, ptrdiff_t n);
 *       acc[i] += x[i]
 *
 * The unsuffixed names (pcx_max_taps, ...) pick the instantiation from the
 * type of their first argument.
 *
 * Arrays must not overlap.  The Cython driver (_pool.pyx) does the
 * clipping, the threading and everything else.  Strides 1 and 2 and
 * windows of 2 and 3 contiguous taps get loops with constant bounds, which
 * the compiler vectorises -- but for the 4- and 8-byte types, the max over
 * windows of 3 at stride 2 goes to a kernel of its own
 * (pcx_pool_s2_body.h), compiled for AVX2 and AVX-512 and picked by
 * pcx_pool_isa().  On x86-64
 * with GCC or Clang each other function is compiled for AVX-512, AVX2 and
 * the baseline and the loader picks one; the results are the same on
 * every path (a max selects an element, and the sums keep their order).
 */
#ifndef PCX_POOL_ROWS_H
#define PCX_POOL_ROWS_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define PCX_POOL_CAT_(a, b) a##b
#define PCX_POOL_CAT(a, b) PCX_POOL_CAT_(a, b)

#include "pcx_cpu.h"

/* Hides a value from the optimiser, so that a loop run for a count known
 * at compile time is not unrolled into straight-line code (which GCC then
 * vectorises badly) but keeps its vector loop. */
#if defined(__GNUC__)
#  define PCX_POOL_OPAQUE(x) __asm__("" : "+r"(x))
#else
#  define PCX_POOL_OPAQUE(x) ((void) 0)
#endif

#if defined(__GNUC__)
#  define PCX_POOL_INLINE static inline __attribute__((always_inline))
#else
#  define PCX_POOL_INLINE static inline
#endif



/* Shuffle indices of the stride-2 kernel (pcx_pool_s2_body.h): the even
 * and the odd lanes of two vectors of VL lanes, and lanes 1 .. VL. */
#define PCX_POOL_EVEN4 0, 2, 4, 6
#define PCX_POOL_ODD4 1, 3, 5, 7
#define PCX_POOL_NEXT4 1, 2, 3, 4
#define PCX_POOL_EVEN8 0, 2, 4, 6, 8, 10, 12, 14
#define PCX_POOL_ODD8 1, 3, 5, 7, 9, 11, 13, 15
#define PCX_POOL_NEXT8 1, 2, 3, 4, 5, 6, 7, 8
#define PCX_POOL_EVEN16 0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30
#define PCX_POOL_ODD16 1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31
#define PCX_POOL_NEXT16 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16

#if PCX_CPU_DISPATCH
#  include <stdatomic.h>
/* The stride-2 kernel's instruction set: the CPU's level (asked once),
 * at most pcx_pool_isa_cap (a test hook, set by _pool._set_isa_cap). */
static atomic_int pcx_pool_isa_cap = 99;

static int
pcx_pool_isa(void)
{
    static atomic_int level;        /* 0: not asked yet */
    int l = atomic_load_explicit(&level, memory_order_relaxed);
    int cap = atomic_load_explicit(&pcx_pool_isa_cap, memory_order_relaxed);
    if (l == 0) {
        l = pcx_cpu_level();
        atomic_store_explicit(&level, l, memory_order_relaxed);
    }
    return l < cap ? l : cap;
}

/* Sets the cap; returns the previous one. */
static int
pcx_pool_set_isa_cap(int cap)
{
    return atomic_exchange_explicit(&pcx_pool_isa_cap, cap,
                                    memory_order_relaxed);
}

#else
static int
pcx_pool_set_isa_cap(int cap)
{
    (void) cap;
    return 99;
}
#endif

#define PCX_T int8_t
#define PCX_SFX i8
#define PCX_IS_FLOAT 0
#include "pcx_pool_rows_body.h"
#undef PCX_T
#undef PCX_SFX
#undef PCX_IS_FLOAT
#undef PCX_SIZE

#define PCX_T uint8_t
#define PCX_SFX u8
#define PCX_IS_FLOAT 0
#include "pcx_pool_rows_body.h"
#undef PCX_T
#undef PCX_SFX
#undef PCX_IS_FLOAT
#undef PCX_SIZE

#define PCX_T int16_t
#define PCX_SFX i16
#define PCX_IS_FLOAT 0
#include "pcx_pool_rows_body.h"
#undef PCX_T
#undef PCX_SFX
#undef PCX_IS_FLOAT
#undef PCX_SIZE

#define PCX_T uint16_t
#define PCX_SFX u16
#define PCX_IS_FLOAT 0
#include "pcx_pool_rows_body.h"
#undef PCX_T
#undef PCX_SFX
#undef PCX_IS_FLOAT
#undef PCX_SIZE

#define PCX_T int32_t
#define PCX_SIZE 4
#define PCX_SFX i32
#define PCX_IS_FLOAT 0
#include "pcx_pool_rows_body.h"
#undef PCX_T
#undef PCX_SFX
#undef PCX_IS_FLOAT
#undef PCX_SIZE

#define PCX_T uint32_t
#define PCX_SIZE 4
#define PCX_SFX u32
#define PCX_IS_FLOAT 0
#include "pcx_pool_rows_body.h"
#undef PCX_T
#undef PCX_SFX
#undef PCX_IS_FLOAT
#undef PCX_SIZE

#define PCX_T int64_t
#define PCX_SIZE 8
#define PCX_SFX i64
#define PCX_IS_FLOAT 0
#include "pcx_pool_rows_body.h"
#undef PCX_T
#undef PCX_SFX
#undef PCX_IS_FLOAT
#undef PCX_SIZE

#define PCX_T uint64_t
#define PCX_SIZE 8
#define PCX_SFX u64
#define PCX_IS_FLOAT 0
#define PCX_WITH_SUM 1
#include "pcx_pool_rows_body.h"
#undef PCX_T
#undef PCX_SFX
#undef PCX_IS_FLOAT
#undef PCX_SIZE
#undef PCX_WITH_SUM

#define PCX_T float
#define PCX_SIZE 4
#define PCX_SFX f32
#define PCX_IS_FLOAT 1
#define PCX_WITH_SUM 1
#include "pcx_pool_rows_body.h"
#undef PCX_T
#undef PCX_SFX
#undef PCX_IS_FLOAT
#undef PCX_SIZE
#undef PCX_WITH_SUM

#define PCX_T double
#define PCX_SIZE 8
#define PCX_SFX f64
#define PCX_IS_FLOAT 1
#define PCX_WITH_SUM 1
#include "pcx_pool_rows_body.h"
#undef PCX_T
#undef PCX_SFX
#undef PCX_IS_FLOAT
#undef PCX_SIZE
#undef PCX_WITH_SUM

/* Type-generic names (C11 _Generic), so that one Cython declaration over a
 * fused type reaches every instantiation. */
#define PCX_POOL_GENERIC(stem, p) _Generic((p),                          \
    int8_t *: stem##i8, uint8_t *: stem##u8,                              \
    int16_t *: stem##i16, uint16_t *: stem##u16,                          \
    int32_t *: stem##i32, uint32_t *: stem##u32,                          \
    int64_t *: stem##i64, uint64_t *: stem##u64,                          \
    float *: stem##f32, double *: stem##f64)
#define PCX_POOL_GENERIC_SUM(stem, p) _Generic((p),                      \
    uint64_t *: stem##u64, float *: stem##f32, double *: stem##f64)

#define pcx_max_taps(dst, ...) \
    PCX_POOL_GENERIC(pcx_max_taps_, dst)(dst, __VA_ARGS__)
#define pcx_max_edge(dst, ...) \
    PCX_POOL_GENERIC(pcx_max_edge_, dst)(dst, __VA_ARGS__)
#define pcx_argmax_taps(dst, ...) \
    PCX_POOL_GENERIC(pcx_argmax_taps_, dst)(dst, __VA_ARGS__)
#define pcx_max_fold(acc, ...) \
    PCX_POOL_GENERIC(pcx_max_fold_, acc)(acc, __VA_ARGS__)
#define pcx_max_fold2(acc, ...) \
    PCX_POOL_GENERIC(pcx_max_fold2_, acc)(acc, __VA_ARGS__)
#define pcx_argmax_fold(acc, ...) \
    PCX_POOL_GENERIC(pcx_argmax_fold_, acc)(acc, __VA_ARGS__)
#define pcx_sum_taps(dst, ...) \
    PCX_POOL_GENERIC_SUM(pcx_sum_taps_, dst)(dst, __VA_ARGS__)
#define pcx_add_row(acc, ...) \
    PCX_POOL_GENERIC_SUM(pcx_add_row_, acc)(acc, __VA_ARGS__)

#endif /* PCX_POOL_ROWS_H */
