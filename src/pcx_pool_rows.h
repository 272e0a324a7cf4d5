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
 *   void pcx_max_window_<sfx>(T *dst, const T *x, ptrdiff_t step,
 *                             ptrdiff_t rows, ptrdiff_t cols, ptrdiff_t d);
 *   void pcx_argmax_window_<sfx>(T *dst, int64_t *dst_idx, const T *x,
 *                                int64_t base, ptrdiff_t step, ptrdiff_t rows,
 *                                ptrdiff_t cols, ptrdiff_t d);
 *       *dst = the max of x[r*step + c*d], r < rows, c < cols, scanned
 *       row by row (and *dst_idx = base + r*step + c*d of the winner);
 *       inline, for rows of few outputs
 *   void pcx_max_block_<sfx>(T *dst, const T *x, ptrdiff_t n);
 *       *dst = the max of x[0..n) scanned in order, vectorised (windows
 *       of whole rows)
 *
 * "max" is torch's scan: a value replaces the current one when it is
 * larger or NaN, so the last NaN wins and ties keep the first value; the
 * taps are visited in order j = 0, 1, ..., k-1.
 *
 * For average pooling, which sums in an accumulator type A: float and
 * double their own, the integers uint64_t (64-bit wrapping arithmetic, the
 * narrower types sign- or zero-extended):
 *
 *   void pcx_load_row_<sfx>(A *acc, const T *x, ptrdiff_t n);
 *       acc[i] = 0 + x[i]   (every type)
 *   void pcx_add_row_<sfx>(A *acc, const T *x, ptrdiff_t n);
 *       acc[i] += x[i]      (every type)
 *   void pcx_sum_window_<sfx>(void *dst, ptrdiff_t i, const T *x,
 *                             ptrdiff_t w, ptrdiff_t rows, ptrdiff_t cols);
 *       ((A *) dst)[i] = the sum of x[r*w + c], r < rows, c < cols: each
 *       column from the top, then the columns from the left (inline)
 *   void pcx_sum_taps_<sfx>(A *dst, const A *v, ptrdiff_t n, ptrdiff_t s,
 *                           ptrdiff_t k);     (A's suffixes: f32 f64 u64)
 *       dst[i] = v[i*s] + v[i*s + 1] + ... + v[i*s + k-1], left to right
 *
 * and divides the integer sums with pcx_divisor (below).
 *
 * The unsuffixed names (pcx_max_taps, ...) pick the instantiation from the
 * type of their first argument, pcx_load_row and pcx_add_row from that of
 * their second.
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
#  define PCX_POOL_NOINLINE static __attribute__((noinline))
#else
#  define PCX_POOL_INLINE static inline
#  define PCX_POOL_NOINLINE static
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

/* The stride-2 kernel's instruction set: pcx_pool_isa(), the CPU's level
 * at most the cap set by pcx_pool_set_isa_cap (a test hook, set by
 * _pool._set_isa_cap). */
PCX_ISA_CAPPED(pcx_pool)

/* -- division by a divisor known before the loop ---------------------------
 *
 * Integer averages divide 64-bit sums, truncating toward zero, by divisors
 * that change only at a plane's clipped edges; a hardware division per
 * output took longer than summing its window.  pcx_divisor_of(d) prepares
 * d != 0 for a multiplication and two shifts (Granlund and Montgomery,
 * "Division by invariant integers using multiplication", PLDI 1994,
 * figure 4.1): with a = |d|, l = ceil(log2 a) and
 * m = floor(2**64 (2**l - a) / a) + 1 (< 2**64),
 *
 *     floor(n / a) = (t + ((n - t) >> min(l, 1))) >> max(l - 1, 0),
 *     t = floor(m n / 2**64),
 *
 * for every n < 2**64: no branch, no special case.  Compilers without a
 * 128-bit integer type keep a and divide. */
typedef struct {
    uint64_t m;         /* the multiplier, or a */
    uint64_t neg;       /* all ones if d < 0, else 0 */
    int s1, s2;
} pcx_divisor;

static inline pcx_divisor
pcx_divisor_of(int64_t d)
{
    pcx_divisor v;
    const uint64_t a = d < 0 ? (uint64_t) 0 - (uint64_t) d : (uint64_t) d;
    v.neg = d < 0 ? ~(uint64_t) 0 : 0;
#if defined(__SIZEOF_INT128__)
    const int l = a == 1 ? 0 : 64 - __builtin_clzll(a - 1);
    v.m = (uint64_t) (((((unsigned __int128) 1 << l) - a) << 64) / a) + 1;
    v.s1 = l < 1 ? l : 1;
    v.s2 = l < 1 ? 0 : l - 1;
#else
    v.m = a;
    v.s1 = v.s2 = 0;
#endif
    return v;
}

/* floor(n / |d|) */
PCX_POOL_INLINE uint64_t
pcx_divide_(uint64_t n, const pcx_divisor *v)
{
#if defined(__SIZEOF_INT128__)
    const uint64_t t = (uint64_t) (((unsigned __int128) v->m * n) >> 64);
    return (t + ((n - t) >> v->s1)) >> v->s2;
#else
    return n / v->m;
#endif
}

/* n / d for an unsigned n, truncated toward zero, modulo 2**64. */
PCX_POOL_INLINE uint64_t
pcx_divide_u(uint64_t n, const pcx_divisor *v)
{
    return (pcx_divide_(n, v) ^ v->neg) - v->neg;
}

/* n / d for an int64 n (held as uint64), truncated toward zero, modulo
 * 2**64 (so INT64_MIN / -1 gives INT64_MIN instead of trapping). */
PCX_POOL_INLINE uint64_t
pcx_divide_s(uint64_t n, const pcx_divisor *v)
{
    uint64_t sign = (uint64_t) 0 - (n >> 63);
    const uint64_t q = pcx_divide_((n ^ sign) - sign, v);
    sign ^= v->neg;
    return (q ^ sign) - sign;
}

#define PCX_T int8_t
#define PCX_SFX i8
#define PCX_ACC uint64_t
#define PCX_IS_FLOAT 0
#include "pcx_pool_rows_body.h"
#undef PCX_T
#undef PCX_SFX
#undef PCX_ACC
#undef PCX_IS_FLOAT
#undef PCX_SIZE

#define PCX_T uint8_t
#define PCX_SFX u8
#define PCX_ACC uint64_t
#define PCX_IS_FLOAT 0
#include "pcx_pool_rows_body.h"
#undef PCX_T
#undef PCX_SFX
#undef PCX_ACC
#undef PCX_IS_FLOAT
#undef PCX_SIZE

#define PCX_T int16_t
#define PCX_SFX i16
#define PCX_ACC uint64_t
#define PCX_IS_FLOAT 0
#include "pcx_pool_rows_body.h"
#undef PCX_T
#undef PCX_SFX
#undef PCX_ACC
#undef PCX_IS_FLOAT
#undef PCX_SIZE

#define PCX_T uint16_t
#define PCX_SFX u16
#define PCX_ACC uint64_t
#define PCX_IS_FLOAT 0
#include "pcx_pool_rows_body.h"
#undef PCX_T
#undef PCX_SFX
#undef PCX_ACC
#undef PCX_IS_FLOAT
#undef PCX_SIZE

#define PCX_T int32_t
#define PCX_SIZE 4
#define PCX_SFX i32
#define PCX_ACC uint64_t
#define PCX_IS_FLOAT 0
#include "pcx_pool_rows_body.h"
#undef PCX_T
#undef PCX_SFX
#undef PCX_ACC
#undef PCX_IS_FLOAT
#undef PCX_SIZE

#define PCX_T uint32_t
#define PCX_SIZE 4
#define PCX_SFX u32
#define PCX_ACC uint64_t
#define PCX_IS_FLOAT 0
#include "pcx_pool_rows_body.h"
#undef PCX_T
#undef PCX_SFX
#undef PCX_ACC
#undef PCX_IS_FLOAT
#undef PCX_SIZE

#define PCX_T int64_t
#define PCX_SIZE 8
#define PCX_SFX i64
#define PCX_ACC uint64_t
#define PCX_IS_FLOAT 0
#include "pcx_pool_rows_body.h"
#undef PCX_T
#undef PCX_SFX
#undef PCX_ACC
#undef PCX_IS_FLOAT
#undef PCX_SIZE

#define PCX_T uint64_t
#define PCX_SIZE 8
#define PCX_SFX u64
#define PCX_ACC uint64_t
#define PCX_IS_FLOAT 0
#define PCX_WITH_SUM 1
#include "pcx_pool_rows_body.h"
#undef PCX_T
#undef PCX_SFX
#undef PCX_ACC
#undef PCX_IS_FLOAT
#undef PCX_SIZE
#undef PCX_WITH_SUM

#define PCX_T float
#define PCX_SIZE 4
#define PCX_SFX f32
#define PCX_ACC float
#define PCX_IS_FLOAT 1
#define PCX_WITH_SUM 1
#include "pcx_pool_rows_body.h"
#undef PCX_T
#undef PCX_SFX
#undef PCX_ACC
#undef PCX_IS_FLOAT
#undef PCX_SIZE
#undef PCX_WITH_SUM

#define PCX_T double
#define PCX_SIZE 8
#define PCX_SFX f64
#define PCX_ACC double
#define PCX_IS_FLOAT 1
#define PCX_WITH_SUM 1
#include "pcx_pool_rows_body.h"
#undef PCX_T
#undef PCX_SFX
#undef PCX_ACC
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
#define PCX_POOL_GENERIC_ELEM(stem, e) _Generic((e),                    \
    int8_t: stem##i8, uint8_t: stem##u8,                                  \
    int16_t: stem##i16, uint16_t: stem##u16,                              \
    int32_t: stem##i32, uint32_t: stem##u32,                              \
    int64_t: stem##i64, uint64_t: stem##u64,                              \
    float: stem##f32, double: stem##f64)
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
#define pcx_max_window(dst, ...) \
    PCX_POOL_GENERIC(pcx_max_window_, dst)(dst, __VA_ARGS__)
#define pcx_max_block(dst, ...) \
    PCX_POOL_GENERIC(pcx_max_block_, dst)(dst, __VA_ARGS__)
#define pcx_argmax_window(dst, ...) \
    PCX_POOL_GENERIC(pcx_argmax_window_, dst)(dst, __VA_ARGS__)
#define pcx_sum_window(dst, i, x, ...) \
    PCX_POOL_GENERIC_ELEM(pcx_sum_window_, *(x))(dst, i, x, __VA_ARGS__)
/* By the type of the source's elements (a qualified lvalue's type loses
 * its qualifiers in _Generic, so const sources match too). */
#define pcx_load_row(acc, x, n) \
    PCX_POOL_GENERIC_ELEM(pcx_load_row_, *(x))(acc, x, n)
#define pcx_add_row(acc, x, n) \
    PCX_POOL_GENERIC_ELEM(pcx_add_row_, *(x))(acc, x, n)

#endif /* PCX_POOL_ROWS_H */
