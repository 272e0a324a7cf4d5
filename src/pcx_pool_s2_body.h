/*
 * Template body of max pooling's stride-2 kernel for windows of 3
 * contiguous taps (3x3 stride 2, as after ResNet's stem); see
 * pcx_pool_rows.h, which includes it once per element type of 4 or 8
 * bytes and instruction set, under that set's target pragma, with these
 * macros defined:
 *
 *   PCX_T, PCX_SFX, PCX_IS_FLOAT   as for pcx_pool_rows_body.h
 *   PCX_SIZE      sizeof(PCX_T): 4 or 8
 *   PCX_VB        vector bytes: 64 (AVX-512) or 32 (AVX2)
 *   PCX_ISA       suffix of the function names: avx512 or avx2
 *
 * Outputs i0 .. i0 + VL - 1 (VL = PCX_VB / PCX_SIZE) read row[2 i0] to
 * row[2 i0 + 2 VL].  The compiler's vector loop for them reads a whole
 * vector further, so it stops a vector early and leaves a scalar tail (7
 * outputs of a 55-output row, two compare-and-selects each: 41% of a 3x3
 * stride-2 max pooling's time).  This kernel loads the 2 VL elements,
 * splits them into even and odd taps with shuffles and takes the third
 * tap's last element alone: it reads exactly the scalar loop's elements,
 * and a row's last block overlaps the one before (as PCX_BLOCKS does).  It
 * makes the scalar loop's selections in the same order, so gives the same
 * bits.  (A window of 2 reads exactly 2 VL elements, which the compiler's
 * loop handles well.)
 *
 * Vector-extension code, so compiled under target pragmas, not
 * target_clones (GCC lowers such code for the default target before it
 * makes the clones).  No include guard: it is meant to be included
 * several times.
 */

#define PCX_S2_FN(stem) \
    PCX_POOL_CAT(PCX_POOL_CAT(stem, PCX_SFX), PCX_POOL_CAT(_, PCX_ISA))
#define PCX_VL (PCX_VB / PCX_SIZE)
#if PCX_VL == 16
#  define PCX_EVEN PCX_POOL_EVEN16
#  define PCX_ODD PCX_POOL_ODD16
#  define PCX_NEXT PCX_POOL_NEXT16
#elif PCX_VL == 8
#  define PCX_EVEN PCX_POOL_EVEN8
#  define PCX_ODD PCX_POOL_ODD8
#  define PCX_NEXT PCX_POOL_NEXT8
#else
#  define PCX_EVEN PCX_POOL_EVEN4
#  define PCX_ODD PCX_POOL_ODD4
#  define PCX_NEXT PCX_POOL_NEXT4
#endif
#if PCX_SIZE == 4
typedef int32_t PCX_S2_FN(pcx_s2m_) __attribute__((vector_size(PCX_VB)));
#else
typedef int64_t PCX_S2_FN(pcx_s2m_) __attribute__((vector_size(PCX_VB)));
#endif
typedef PCX_T PCX_S2_FN(pcx_s2v_) __attribute__((vector_size(PCX_VB)));
#define PCX_V PCX_S2_FN(pcx_s2v_)
#define PCX_VM PCX_S2_FN(pcx_s2m_)

/* m = v where PCX_TAKES(v, m) (pcx_pool_rows_body.h), lane by lane. */
#if PCX_IS_FLOAT
#  define PCX_S2_TAKE(m, v)                                             \
    do {                                                                \
        const PCX_VM t_ = (PCX_VM) ((v) > (m)) | (PCX_VM) ((v) != (v)); \
        (m) = (PCX_V) (((PCX_VM) (v) & t_) | ((PCX_VM) (m) & ~t_));     \
    } while (0)
#else
#  define PCX_S2_TAKE(m, v)                                             \
    do {                                                                \
        const PCX_VM t_ = (PCX_VM) ((v) > (m));                         \
        (m) = (PCX_V) (((PCX_VM) (v) & t_) | ((PCX_VM) (m) & ~t_));     \
    } while (0)
#endif

/* Outputs i0 .. i0 + VL - 1 into d from r = row + 2 i0: a macro, so that
 * the vector code stays in the function compiled for the target. */
#define PCX_S2_BLOCK(d, r)                                              \
    do {                                                                \
        PCX_V a_, b_, e_, o_;                                           \
        memcpy(&a_, (r), sizeof a_);                                    \
        memcpy(&b_, (r) + PCX_VL, sizeof b_);                           \
        e_ = __builtin_shufflevector(a_, b_, PCX_EVEN);                 \
        o_ = __builtin_shufflevector(a_, b_, PCX_ODD);                  \
        const PCX_V last_ = {(r)[2 * PCX_VL]};                          \
        const PCX_V e1_ = __builtin_shufflevector(e_, last_, PCX_NEXT); \
        PCX_S2_TAKE(e_, o_);                                            \
        PCX_S2_TAKE(e_, e1_);                                           \
        memcpy((d), &e_, sizeof e_);                                    \
    } while (0)

/* dst[i] = the max of row[2i], row[2i + 1], row[2i + 2], for i < n,
 * n >= VL. */
static void
PCX_S2_FN(pcx_max3_s2_)(PCX_T *restrict dst, const PCX_T *restrict row,
                        ptrdiff_t n)
{
    ptrdiff_t i;
    for (i = 0; i + PCX_VL <= n; i += PCX_VL) {
        PCX_S2_BLOCK(dst + i, row + 2 * i);
    }
    if (i < n) {
        /* The last VL outputs: each a function of the row alone. */
        PCX_S2_BLOCK(dst + n - PCX_VL, row + 2 * (n - PCX_VL));
    }
}

#undef PCX_S2_BLOCK
#undef PCX_S2_TAKE
#undef PCX_VM
#undef PCX_V
#undef PCX_NEXT
#undef PCX_ODD
#undef PCX_EVEN
#undef PCX_VL
#undef PCX_S2_FN
