/*
 * Template body of the pooling micro-kernels; see pcx_pool_rows.h, which
 * includes this file once per element type with these macros defined:
 *
 *   PCX_T         element type
 *   PCX_SFX       suffix of the function names (f32, i8, ...)
 *   PCX_IS_FLOAT  1 for floating types (NaN handling), else 0
 *   PCX_ACC       the type average pooling sums PCX_T in
 *   PCX_WITH_SUM  defined for the accumulator types (f32, f64, u64)
 *   PCX_SIZE      sizeof(PCX_T) for the 4- and 8-byte types, which have a
 *                 stride-2 max kernel (pcx_pool_s2_body.h); else undefined
 *
 * No include guard: it is meant to be included several times.
 *
 * Unit-stride loops run over a multiple of PCX_B outputs (64 bytes of
 * them, a multiple of every vector width), so their vector code leaves no
 * remainder; when n is not such a multiple, the last PCX_B outputs are
 * computed again by a second run.  (Measured: this pays for unit strides,
 * not for long strided loops, whose vector code needs a scalar tail
 * anyway.)  Rows of 8 to 15 outputs, stride 1 or 2, run as two
 * overlapping blocks of 8 (PCX_SHORT_OR).  Recomputing is harmless because
 * every function here is idempotent on its outputs (a pure function of the
 * inputs, or a max fold, for which fold(fold(a, v), v) == fold(a, v)).
 * This avoids the scalar remainder loops, whose data-dependent branches
 * mispredict on real data.
 */

#define PCX_FN(stem) PCX_POOL_CAT(stem, PCX_SFX)
#if PCX_IS_FLOAT
PCX_POOL_INLINE PCX_T PCX_FN(pcx_sel_)(int t, PCX_T a, PCX_T b)
{
    /* t ? a : b on the bits: compilers turn a floating-point ?: into
     * branches in scalar code, and those mispredict on real data. */
#  define PCX_UINT_OF(T) __typeof__(_Generic((T) 0, float: (uint32_t) 0, double: (uint64_t) 0))
    PCX_UINT_OF(PCX_T) ua, ub, mask = -(PCX_UINT_OF(PCX_T)) t, r;
    memcpy(&ua, &a, sizeof a);
    memcpy(&ub, &b, sizeof b);
    r = (ua & mask) | (ub & ~mask);
    memcpy(&a, &r, sizeof a);
    return a;
#  undef PCX_UINT_OF
}
#  define PCX_SEL(t, a, b) PCX_FN(pcx_sel_)((t), (a), (b))
#else
#  define PCX_SEL(t, a, b) ((t) ? (a) : (b))
#endif
#define PCX_B ((ptrdiff_t) (64 / sizeof(PCX_T)))

/* -- max, stride 2, windows of 3 taps ------------------------------------- */

#ifdef PCX_SIZE
#  if PCX_CPU_DISPATCH
PCX_TARGET_V3
#    define PCX_VB 32
#    define PCX_ISA avx2
#    include "pcx_pool_s2_body.h"
#    undef PCX_ISA
#    undef PCX_VB
PCX_TARGET_END
PCX_TARGET_V4
#    define PCX_VB 64
#    define PCX_ISA avx512
#    include "pcx_pool_s2_body.h"
#    undef PCX_ISA
#    undef PCX_VB
PCX_TARGET_END
#  endif

/* Runs the stride-2 kernel for windows of 3 taps of the CPU's instruction
 * set (pcx_pool_s2_body.h), the widest whose vector the row fills: 1 if
 * it did, 0 if there is none for the row. */
static int
PCX_FN(pcx_max3_s2_)(PCX_T *restrict dst, const PCX_T *restrict row,
                     ptrdiff_t n)
{
#  if PCX_CPU_DISPATCH
    const int isa = pcx_pool_isa();
    if (isa >= PCX_ISA_AVX512 && n >= 64 / PCX_SIZE) {
        PCX_POOL_CAT(PCX_FN(pcx_max3_s2_), _avx512)(dst, row, n);
        return 1;
    }
    if (isa >= PCX_ISA_AVX2 && n >= 32 / PCX_SIZE) {
        PCX_POOL_CAT(PCX_FN(pcx_max3_s2_), _avx2)(dst, row, n);
        return 1;
    }
#  else
    (void) dst;
    (void) row;
    (void) n;
#  endif
    return 0;
}
#  define PCX_S2(...) (__VA_ARGS__)
#else
#  define PCX_S2(...) 0
#endif

/* Runs CALL(0, n) -- or, for a row of PCX_S to 2*PCX_S - 1 outputs (small
 * planes), CALL(0, PCX_S) and CALL(n - PCX_S, PCX_S): strided loops of so
 * few iterations are left scalar, while a constant count of PCX_S is
 * vectorised. */
#define PCX_S ((ptrdiff_t) 8)
#define PCX_SHORT_OR(n, CALL)                                          \
    do {                                                               \
        if ((n) >= PCX_S && (n) < 2 * PCX_S) {                         \
            CALL(0, PCX_S);                                            \
            CALL((n) - PCX_S, PCX_S);                                  \
        } else {                                                       \
            CALL(0, (n));                                              \
        }                                                              \
    } while (0)

/* Runs CALL(i0, count) over [0, n): a multiple of PCX_B first, then, if
 * anything is left, the last PCX_B outputs again (overlapping). */
#define PCX_BLOCKS(n, CALL)                                            \
    do {                                                               \
        if ((n) <= PCX_B) {                                            \
            PCX_SHORT_OR(n, CALL);                                     \
        } else {                                                       \
            CALL(0, (n) - (n) % PCX_B);                                \
            if ((n) % PCX_B) {                                         \
                ptrdiff_t b_ = PCX_B;                                  \
                PCX_POOL_OPAQUE(b_);                                   \
                CALL((n) - b_, b_);                                    \
            }                                                          \
        }                                                              \
    } while (0)

#if PCX_IS_FLOAT
/* torch's rule: a larger value, or any NaN, replaces the current max.
 * Bitwise | (not ||) keeps the loop free of branches. */
#  define PCX_TAKES(v, m) (((v) > (m)) | ((v) != (v)))
#else
#  define PCX_TAKES(v, m) ((v) > (m))
#endif

/* -- max of taps ---------------------------------------------------------- */

PCX_POOL_INLINE void
PCX_FN(pcx_max_range_)(PCX_T *restrict dst, const PCX_T *restrict row,
                       ptrdiff_t i0, const ptrdiff_t cnt, const ptrdiff_t s,
                       ptrdiff_t k, ptrdiff_t d)
{
    dst += i0;
    row += i0 * s;
    if (k == 2 && d == 1) {
        for (ptrdiff_t i = 0; i < cnt; i++) {
            PCX_T m = row[i * s], v = row[i * s + 1];
            dst[i] = PCX_SEL(PCX_TAKES(v, m), v, m);
        }
    } else if (k == 3 && d == 1) {
        for (ptrdiff_t i = 0; i < cnt; i++) {
            PCX_T m = row[i * s], v = row[i * s + 1];
            m = PCX_SEL(PCX_TAKES(v, m), v, m);
            v = row[i * s + 2];
            dst[i] = PCX_SEL(PCX_TAKES(v, m), v, m);
        }
    } else {
        for (ptrdiff_t i = 0; i < cnt; i++) {
            dst[i] = row[i * s];
        }
        for (ptrdiff_t j = 1; j < k; j++) {
            const PCX_T *restrict src = row + j * d;
            for (ptrdiff_t i = 0; i < cnt; i++) {
                PCX_T v = src[i * s], m = dst[i];
                dst[i] = PCX_SEL(PCX_TAKES(v, m), v, m);
            }
        }
    }
}

PCX_CLONES void
PCX_FN(pcx_max_taps_)(PCX_T *restrict dst, const PCX_T *restrict row,
                      ptrdiff_t n, ptrdiff_t s, ptrdiff_t k, ptrdiff_t d)
{
    /* Constant strides let the compiler vectorise the strided loads. */
#define PCX_CALL(i0, cnt) PCX_FN(pcx_max_range_)(dst, row, i0, cnt, S_, k, d)
    if (PCX_S2(s == 2 && k == 3 && d == 1
               && PCX_FN(pcx_max3_s2_)(dst, row, n))) {
        /* done by the stride-2 kernel */
    } else if (s == 1) {
        const ptrdiff_t S_ = 1;
        PCX_BLOCKS(n, PCX_CALL);
    } else if (s == 2) {
        const ptrdiff_t S_ = 2;
        PCX_SHORT_OR(n, PCX_CALL);
    } else {
        const ptrdiff_t S_ = s;
        PCX_CALL(0, n);
    }
#undef PCX_CALL
}

/* One window clipped by the row's ends: *dst = the max of row[j*d], j < k
 * (k >= 1).  Inline and without clones: called at the edges of each row,
 * where a call through the loader's choice cost more than the scan. */
static inline void
PCX_FN(pcx_max_edge_)(PCX_T *restrict dst, const PCX_T *restrict row,
                      ptrdiff_t k, ptrdiff_t d)
{
    PCX_T m = row[0];
    for (ptrdiff_t j = 1; j < k; j++) {
        PCX_T v = row[j * d];
        m = PCX_SEL(PCX_TAKES(v, m), v, m);
    }
    *dst = m;
}

/* -- scalar scans --------------------------------------------------------
 *
 * The scans of whole windows below compare keys in integer registers:
 * for floats, the bits read as a signed integer ordered as the values,
 * with -0.0 equal to +0.0 and every NaN the largest key, which always
 * takes over (torch's rule); for integers, the values.  With PCX_SEL's
 * selects, whose float compares cross between the register files at every
 * tap, a 7x7 global max pooling took 2.9 times as long.  (pcx_max_edge_
 * keeps PCX_SEL: through keys, the row passes of a 3x3 stride-2 padding-1
 * max pooling of 112-wide planes took 1.35 times as long, int32 as well
 * as floats -- not understood.) */
#if PCX_IS_FLOAT
#  define PCX_BITS __typeof__(_Generic((PCX_T) 0, float: (uint32_t) 0,   \
                                       double: (uint64_t) 0))
#  define PCX_KEY __typeof__(_Generic((PCX_T) 0, float: (int32_t) 0,     \
                                      double: (int64_t) 0))
#  define PCX_KEY_NAN ((PCX_KEY) (((PCX_BITS) -1) >> 1))
/* v > m, or v is NaN -- one comparison, which compilers keep free of
 * branches (m - 1 does not wrap: no key is below that of -inf). */
#  define PCX_KEY_TAKES(v, m) ((v) > (m) - ((v) == PCX_KEY_NAN))

PCX_POOL_INLINE PCX_KEY
PCX_FN(pcx_key_)(const PCX_T *p, PCX_BITS *bits)
{
    const PCX_BITS inf = _Generic((PCX_T) 0,
                                  float: (PCX_BITS) 0x7f800000u,
                                  double: (PCX_BITS) 0x7ff0000000000000u);
    PCX_BITS a, mag, neg;
    memcpy(&a, p, sizeof a);
    *bits = a;
    mag = a & (((PCX_BITS) -1) >> 1);
    neg = (PCX_BITS) 0 - (a >> (8 * sizeof a - 1));
    /* Sign and magnitude to two's complement: -0.0 and +0.0 both give 0. */
    return mag > inf ? PCX_KEY_NAN : (PCX_KEY) ((mag ^ neg) - neg);
}
#else
#  define PCX_BITS PCX_T
#  define PCX_KEY PCX_T
#  define PCX_KEY_TAKES(v, m) ((v) > (m))

PCX_POOL_INLINE PCX_KEY
PCX_FN(pcx_key_)(const PCX_T *p, PCX_BITS *bits)
{
    *bits = *p;
    return *p;
}
#endif

/* The max of row[j*d], j < k (k >= 1): its key and bits. */
PCX_POOL_INLINE void
PCX_FN(pcx_scan_)(const PCX_T *restrict row, ptrdiff_t k, ptrdiff_t d,
                  PCX_KEY *key, PCX_BITS *bits)
{
    PCX_BITS b, vb;
    PCX_KEY m = PCX_FN(pcx_key_)(row, &b), v;
    for (ptrdiff_t j = 1; j < k; j++) {
        v = PCX_FN(pcx_key_)(row + j * d, &vb);
        const int t = PCX_KEY_TAKES(v, m);
        m = t ? v : m;
        b = t ? vb : b;
    }
    *key = m;
    *bits = b;
}

/* -- whole windows, for rows of few outputs ------------------------------- */

/* *dst = the max (torch's scan, row-major) of the window of rows x cols
 * taps from x, its rows `step` elements apart and its taps d apart
 * (rows, cols >= 1): each row's max, then the rows' folded in order (the
 * scan composes), so that the rows' chains of selects can overlap. */
PCX_POOL_INLINE void
PCX_FN(pcx_max_window_)(PCX_T *restrict dst, const PCX_T *restrict x,
                        ptrdiff_t step, ptrdiff_t rows, ptrdiff_t cols,
                        ptrdiff_t d)
{
    PCX_KEY m, v;
    PCX_BITS b, vb;
    PCX_FN(pcx_scan_)(x, cols, d, &m, &b);
    for (ptrdiff_t r = 1; r < rows; r++) {
        PCX_FN(pcx_scan_)(x + r * step, cols, d, &v, &vb);
        const int t = PCX_KEY_TAKES(v, m);
        m = t ? v : m;
        b = t ? vb : b;
    }
    memcpy(dst, &b, sizeof b);
}

/* The same, and *dst_idx = base + the winning tap's offset from x.  Not
 * inlined: inside _max_windows, beside the other kernels, its loop ran out
 * of registers and took 1.3 times as long. */
PCX_POOL_NOINLINE void
PCX_FN(pcx_argmax_window_)(PCX_T *restrict dst, int64_t *restrict dst_idx,
                           const PCX_T *restrict x, int64_t base,
                           ptrdiff_t step, ptrdiff_t rows, ptrdiff_t cols,
                           ptrdiff_t d)
{
    PCX_BITS b, vb;
    PCX_KEY m = PCX_FN(pcx_key_)(x, &b), v;
    int64_t at = 0;
    for (ptrdiff_t r = 0; r < rows; r++) {
        for (ptrdiff_t c = r == 0; c < cols; c++) {
            const int64_t o = (int64_t) (r * step + c * d);
            v = PCX_FN(pcx_key_)(x + o, &vb);
            const int t = PCX_KEY_TAKES(v, m);
            m = t ? v : m;
            b = t ? vb : b;
            at = t ? o : at;
        }
    }
    memcpy(dst, &b, sizeof b);
    *dst_idx = base + at;
}

/* *dst = the max (torch's scan) of the n >= 1 contiguous elements x[0..n),
 * for windows of whole rows (a global pooling): the largest key, in a loop
 * the compiler vectorises, then its bits.  For floats the key gives the
 * bits back except where several patterns share it: NaN (the scan keeps
 * the last NaN) and zero (the first zero, either sign). */
PCX_CLONES void
PCX_FN(pcx_max_block_)(PCX_T *restrict dst, const PCX_T *restrict x,
                       ptrdiff_t n)
{
    PCX_BITS b;
    PCX_KEY m = PCX_FN(pcx_key_)(x, &b), v;
    for (ptrdiff_t i = 1; i < n; i++) {
        v = PCX_FN(pcx_key_)(x + i, &b);
        m = v > m ? v : m;
    }
#if PCX_IS_FLOAT
    if (m == PCX_KEY_NAN || m == 0) {
        const int last = m != 0;
        for (ptrdiff_t i = 0; i < n; i++) {
            const ptrdiff_t j = last ? n - 1 - i : i;
            if (PCX_FN(pcx_key_)(x + j, &b) == m) {
                break;
            }
        }
    } else {
        /* Two's complement back to sign and magnitude. */
        const PCX_BITS sign = ((PCX_BITS) -1 >> 1) + 1;
        b = m > 0 ? (PCX_BITS) m : ((PCX_BITS) 0 - (PCX_BITS) m) | sign;
    }
#else
    b = m;
#endif
    memcpy(dst, &b, sizeof b);
}

#undef PCX_BITS
#undef PCX_KEY
#undef PCX_KEY_NAN
#undef PCX_KEY_TAKES

/* ((PCX_ACC *) dst)[i] = the sum of the window of rows x cols elements
 * from x, its rows w apart (rows, cols >= 1), in avg_pool2d's order: each
 * column from the top, starting from 0, then the column sums from the
 * left -- the row passes' order, so the two agree bit for bit. */
PCX_POOL_INLINE void
PCX_FN(pcx_sum_window_)(void *dst, ptrdiff_t i, const PCX_T *restrict x,
                        ptrdiff_t w, ptrdiff_t rows, ptrdiff_t cols)
{
    PCX_ACC total = 0;
    ptrdiff_t c = 0;
    /* Floats: four columns at a time, four chains of additions in flight
     * (one column's chain, latency-bound, ran 1.4 times as long; integer
     * additions are quick enough as they are). */
    for (; PCX_IS_FLOAT && c + 4 <= cols; c += 4) {
        PCX_ACC s0 = (PCX_ACC) 0 + (PCX_ACC) x[c];
        PCX_ACC s1 = (PCX_ACC) 0 + (PCX_ACC) x[c + 1];
        PCX_ACC s2 = (PCX_ACC) 0 + (PCX_ACC) x[c + 2];
        PCX_ACC s3 = (PCX_ACC) 0 + (PCX_ACC) x[c + 3];
        for (ptrdiff_t r = 1; r < rows; r++) {
            const PCX_T *restrict row = x + r * w + c;
            s0 = s0 + (PCX_ACC) row[0];
            s1 = s1 + (PCX_ACC) row[1];
            s2 = s2 + (PCX_ACC) row[2];
            s3 = s3 + (PCX_ACC) row[3];
        }
        total = c == 0 ? s0 : total + s0;
        total = total + s1;
        total = total + s2;
        total = total + s3;
    }
    for (; c < cols; c++) {
        PCX_ACC s = (PCX_ACC) 0 + (PCX_ACC) x[c];
        for (ptrdiff_t r = 1; r < rows; r++) {
            s = s + (PCX_ACC) x[r * w + c];
        }
        total = c == 0 ? s : total + s;
    }
    ((PCX_ACC *) dst)[i] = total;
}

/* -- max of taps, with the winner's index ----------------------------------- */

PCX_POOL_INLINE void
PCX_FN(pcx_argmax_range_)(PCX_T *restrict dst, int64_t *restrict dst_idx,
                          const PCX_T *restrict row, int64_t base,
                          ptrdiff_t i0, const ptrdiff_t cnt,
                          const ptrdiff_t s, ptrdiff_t k, ptrdiff_t d)
{
    dst += i0;
    dst_idx += i0;
    row += i0 * s;
    base += i0 * s;
    if (k == 2 && d == 1) {
        for (ptrdiff_t i = 0; i < cnt; i++) {
            const int64_t c = base + i * s;
            PCX_T m = row[i * s], v = row[i * s + 1];
            const int t = PCX_TAKES(v, m);
            dst[i] = PCX_SEL(t, v, m);
            dst_idx[i] = t ? c + 1 : c;
        }
    } else if (k == 3 && d == 1) {
        for (ptrdiff_t i = 0; i < cnt; i++) {
            const int64_t c = base + i * s;
            PCX_T m = row[i * s], v = row[i * s + 1];
            int64_t mi = c;
            int t = PCX_TAKES(v, m);
            m = PCX_SEL(t, v, m);
            mi = t ? c + 1 : mi;
            v = row[i * s + 2];
            t = PCX_TAKES(v, m);
            dst[i] = PCX_SEL(t, v, m);
            dst_idx[i] = t ? c + 2 : mi;
        }
    } else {
        for (ptrdiff_t i = 0; i < cnt; i++) {
            dst[i] = row[i * s];
            dst_idx[i] = base + i * s;
        }
        for (ptrdiff_t j = 1; j < k; j++) {
            const PCX_T *restrict src = row + j * d;
            const int64_t off = base + j * d;
            for (ptrdiff_t i = 0; i < cnt; i++) {
                PCX_T v = src[i * s], m = dst[i];
                const int t = PCX_TAKES(v, m);
                dst[i] = PCX_SEL(t, v, m);
                dst_idx[i] = t ? off + i * s : dst_idx[i];
            }
        }
    }
}

PCX_CLONES void
PCX_FN(pcx_argmax_taps_)(PCX_T *restrict dst, int64_t *restrict dst_idx,
                         const PCX_T *restrict row, int64_t base, ptrdiff_t n,
                         ptrdiff_t s, ptrdiff_t k, ptrdiff_t d)
{
#define PCX_CALL(i0, cnt) \
    PCX_FN(pcx_argmax_range_)(dst, dst_idx, row, base, i0, cnt, S_, k, d)
    if (s == 1) {
        const ptrdiff_t S_ = 1;
        PCX_BLOCKS(n, PCX_CALL);
    } else if (s == 2) {
        const ptrdiff_t S_ = 2;
        PCX_SHORT_OR(n, PCX_CALL);
    } else {
        const ptrdiff_t S_ = s;
        PCX_CALL(0, n);
    }
#undef PCX_CALL
}

/* -- folds ------------------------------------------------------------------ */

/* acc[i] = the max of a[i] then b[i]; a may be acc (a fold into it), so
 * neither is restrict: the compiler checks b against them at run time. */
PCX_POOL_INLINE void
PCX_FN(pcx_max_fold_range_)(PCX_T *acc, const PCX_T *a,
                            const PCX_T *restrict b, ptrdiff_t i0,
                            const ptrdiff_t cnt)
{
    acc += i0;
    a += i0;
    b += i0;
    for (ptrdiff_t i = 0; i < cnt; i++) {
        PCX_T x = b[i], m = a[i];
        acc[i] = PCX_SEL(PCX_TAKES(x, m), x, m);
    }
}

PCX_CLONES void
PCX_FN(pcx_max_fold_)(PCX_T *restrict acc, const PCX_T *restrict v,
                      ptrdiff_t n)
{
#define PCX_CALL(i0, cnt) PCX_FN(pcx_max_fold_range_)(acc, acc, v, i0, cnt)
    PCX_BLOCKS(n, PCX_CALL);
#undef PCX_CALL
}

PCX_CLONES void
PCX_FN(pcx_max_fold2_)(PCX_T *restrict acc, const PCX_T *restrict a,
                       const PCX_T *restrict b, ptrdiff_t n)
{
#define PCX_CALL(i0, cnt) PCX_FN(pcx_max_fold_range_)(acc, a, b, i0, cnt)
    PCX_BLOCKS(n, PCX_CALL);
#undef PCX_CALL
}

PCX_POOL_INLINE void
PCX_FN(pcx_argmax_fold_range_)(PCX_T *restrict acc, int64_t *restrict acc_idx,
                               const PCX_T *restrict v,
                               const int64_t *restrict v_idx, ptrdiff_t i0,
                               const ptrdiff_t cnt)
{
    acc += i0;
    acc_idx += i0;
    v += i0;
    v_idx += i0;
        for (ptrdiff_t i = 0; i < cnt; i++) {
        PCX_T x = v[i], m = acc[i];
        const int t = PCX_TAKES(x, m);
        acc[i] = PCX_SEL(t, x, m);
        acc_idx[i] = t ? v_idx[i] : acc_idx[i];
    }
}

PCX_CLONES void
PCX_FN(pcx_argmax_fold_)(PCX_T *restrict acc, int64_t *restrict acc_idx,
                         const PCX_T *restrict v,
                         const int64_t *restrict v_idx, ptrdiff_t n)
{
#define PCX_CALL(i0, cnt) \
    PCX_FN(pcx_argmax_fold_range_)(acc, acc_idx, v, v_idx, i0, cnt)
    PCX_BLOCKS(n, PCX_CALL);
#undef PCX_CALL
}

#ifdef PCX_WITH_SUM

/* -- sums ------------------------------------------------------------------- */

PCX_POOL_INLINE void
PCX_FN(pcx_sum_range_)(PCX_T *restrict dst, const PCX_T *restrict v,
                       ptrdiff_t i0, const ptrdiff_t cnt, const ptrdiff_t s,
                       ptrdiff_t k)
{
    dst += i0;
    v += i0 * s;
    if (k == 2) {
        for (ptrdiff_t i = 0; i < cnt; i++) {
            dst[i] = v[i * s] + v[i * s + 1];
        }
    } else if (k == 3) {
        for (ptrdiff_t i = 0; i < cnt; i++) {
            dst[i] = (v[i * s] + v[i * s + 1]) + v[i * s + 2];
        }
    } else {
        for (ptrdiff_t i = 0; i < cnt; i++) {
            dst[i] = v[i * s];
        }
        for (ptrdiff_t j = 1; j < k; j++) {
            const PCX_T *restrict src = v + j;
            for (ptrdiff_t i = 0; i < cnt; i++) {
                dst[i] = dst[i] + src[i * s];
            }
        }
    }
}

PCX_CLONES void
PCX_FN(pcx_sum_taps_)(PCX_T *restrict dst, const PCX_T *restrict v,
                      ptrdiff_t n, ptrdiff_t s, ptrdiff_t k)
{
#define PCX_CALL(i0, cnt) PCX_FN(pcx_sum_range_)(dst, v, i0, cnt, S_, k)
    if (s == 1) {
        const ptrdiff_t S_ = 1;
        PCX_BLOCKS(n, PCX_CALL);
    } else if (s == 2) {
        const ptrdiff_t S_ = 2;
        PCX_SHORT_OR(n, PCX_CALL);
    } else {
        const ptrdiff_t S_ = s;
        PCX_CALL(0, n);
    }
#undef PCX_CALL
}

#endif /* PCX_WITH_SUM */

/* Floats start from +0.0, as torch's sum does: a row of -0.0 sums to +0.0.
 * Integers are sign- or zero-extended to 64 bits. */
PCX_CLONES void
PCX_FN(pcx_load_row_)(PCX_ACC *restrict acc, const PCX_T *restrict x,
                      ptrdiff_t n)
{
    for (ptrdiff_t i = 0; i < n; i++) {
        acc[i] = (PCX_ACC) 0 + (PCX_ACC) x[i];
    }
}

/* Not idempotent, so a plain loop (its remainder has no branches). */
PCX_CLONES void
PCX_FN(pcx_add_row_)(PCX_ACC *restrict acc, const PCX_T *restrict x,
                     ptrdiff_t n)
{
    for (ptrdiff_t i = 0; i < n; i++) {
        acc[i] = acc[i] + (PCX_ACC) x[i];
    }
}

#undef PCX_S2
#undef PCX_TAKES
#undef PCX_SEL
#undef PCX_BLOCKS
#undef PCX_SHORT_OR
#undef PCX_S
#undef PCX_B
#undef PCX_FN
