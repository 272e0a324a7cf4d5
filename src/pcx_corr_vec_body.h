/*
 * Template body of the row micro-kernel's register-blocked form, for float,
 * double, their complex types and 32- and 64-bit integers; see pcx_corr_rows.h, which includes it
 * once per type and instruction set, under that set's target pragma, with
 * these macros:
 *
 *   PCX_T            the element type
 *   PCX_R            the type of a vector lane: PCX_T, or its real type
 *   PCX_R_SIZE       sizeof(PCX_R): 4 or 8
 *   PCX_CPLX         1 for the complex types
 *   PCX_GENERIC      the generic kernel's <name>_from (complex types only)
 *   PCX_VB           vector bytes: 64 (AVX-512) or 32 (AVX2)
 *   PCX_NAME         name of the function to define
 *
 * The generic kernel (pcx_corr_rows_body.h) sums a tile of 256-1024 bytes
 * of outputs in memory: per kernel row it loads and stores every
 * accumulator again, and zeroing the tile and copying it out became `rep
 * stos` / `rep movs` (a fifth of a 3x3 correlation's time).  Here four
 * vectors of outputs stay in registers over the whole kernel and go
 * straight to `out`.  Each lane is one output and sees exactly the
 * generic kernel's operations in its order -- from +0.0, per kernel row
 * the groups of four products (((p0 + p1) + p2) + p3) added to the sum,
 * then the remaining products one by one -- so the results are the same
 * bits, NaN payloads included (the same operand order); complex values
 * are (re, im) lane pairs.  The build
 * disables contraction (no fused multiply-add), and the coefficients
 * multiply as scalars (GCC and clang broadcast them), never through an
 * addition that would turn -0.0 into +0.0.
 *
 * Vector-extension code, so compiled under target pragmas, not
 * target_clones (GCC lowers such code for the default target before it
 * makes the clones).  No include guard: it is meant to be included
 * several times, and undefines the macros above (but PCX_VB) at its end.
 */

#define PCX_V PCX_CAT(PCX_NAME, _v)
#define PCX_VI PCX_CAT(PCX_NAME, _vi)
typedef PCX_R PCX_V __attribute__((vector_size(PCX_VB)));
#if PCX_R_SIZE == 8
typedef int64_t PCX_VI __attribute__((vector_size(PCX_VB)));
#  define PCX_SIGN_BIT INT64_MIN
#else
typedef int32_t PCX_VI __attribute__((vector_size(PCX_VB)));
#  define PCX_SIGN_BIT INT32_MIN
#endif

static inline PCX_V
PCX_CAT(PCX_NAME, _ld)(const PCX_T *p)
{
    PCX_V v;
    memcpy(&v, p, sizeof v);
    return v;
}

#define PCX_LD(p) PCX_CAT(PCX_NAME, _ld)(p)
#if PCX_CPLX
/* The lanes of each complex value swapped: (im, re, ...). */
#  if PCX_VB / PCX_R_SIZE == 16
#    define PCX_SWAP 1, 0, 3, 2, 5, 4, 7, 6, 9, 8, 11, 10, 13, 12, 15, 14
#  elif PCX_VB / PCX_R_SIZE == 8
#    define PCX_SWAP 1, 0, 3, 2, 5, 4, 7, 6
#  else
#    define PCX_SWAP 1, 0, 3, 2
#  endif
/* A complex coefficient times a vector of complex values (re, im, ...):
 * GCC's expansion of the product, (ar br - ai bi) + (ar bi + ai br) i,
 * the real lanes' subtraction as the addition of the negated product (the
 * same bits).  Where both parts come out NaN, GCC then calls __mulsc3 /
 * __muldc3 (C99 Annex G); the caller recomputes such outputs. */
#  define PCX_COEF(c, value)                                                \
    const PCX_R c##_r = __real__ (value), c##_i = __imag__ (value)
#  define PCX_MUL(c, v)                                                     \
    (c##_r * (v)                                                            \
     + (PCX_V) ((PCX_VI) (c##_i * __builtin_shufflevector((v), (v), PCX_SWAP)) \
                ^ neg_re))
#else
#  define PCX_COEF(c, value) const PCX_R c = (value)
#  define PCX_MUL(c, v) (c * (v))
#endif

#if PCX_CPLX
/* Outputs [n0, n0 + nv vectors) again by the generic kernel (PCX_GENERIC)
 * if any lane of `bad` is set: a NaN sum may hide a product C99's rules
 * turn into an infinity; otherwise every product was already C99's. */
#  define PCX_RECOMPUTE_NAN(nv, bad)                                        \
    do {                                                                    \
        const PCX_VI b_ = (bad);                                            \
        int any_ = 0;                                                       \
        for (int i_ = 0; i_ < 2 * VL; i_++) {                               \
            any_ |= b_[i_] != 0;                                            \
        }                                                                   \
        if (any_) {                                                         \
            PCX_GENERIC(out, n0, n0 + (nv) * VL, rows, n_rows, coef, kw,    \
                        step);                                              \
        }                                                                   \
    } while (0)
#endif

/* Outputs [n0, n0 + NV vectors) from the kernel rows: a macro, so that the
 * accumulators are named registers for every NV. */
#define PCX_GROUP(a, i)                                                    \
    (a) = (a) + (((PCX_MUL(c0, PCX_LD(x0 + (i)))                            \
                   + PCX_MUL(c1, PCX_LD(x1 + (i))))                         \
                  + PCX_MUL(c2, PCX_LD(x2 + (i))))                          \
                 + PCX_MUL(c3, PCX_LD(x3 + (i))))
#define PCX_ONE(a, i) (a) = (a) + PCX_MUL(ck, PCX_LD(xk + (i)))
#define PCX_ROWS(EACH)                                                     \
    for (ptrdiff_t r = 0; r < n_rows; r++) {                               \
        const PCX_T *x = rows[r] + n0;                                     \
        const PCX_T *c = coef + r * kw;                                    \
        ptrdiff_t k = 0;                                                   \
        for (; k + 4 <= kw; k += 4) {                                      \
            PCX_COEF(c0, c[k]);                                            \
            PCX_COEF(c1, c[k + 1]);                                        \
            PCX_COEF(c2, c[k + 2]);                                        \
            PCX_COEF(c3, c[k + 3]);                                        \
            const PCX_T *x0 = x + k * step;                                \
            const PCX_T *x1 = x0 + step;                                   \
            const PCX_T *x2 = x1 + step;                                   \
            const PCX_T *x3 = x2 + step;                                   \
            EACH(PCX_GROUP);                                               \
        }                                                                  \
        for (; k < kw; k++) {                                              \
            PCX_COEF(ck, c[k]);                                            \
            const PCX_T *xk = x + k * step;                                \
            EACH(PCX_ONE);                                                 \
        }                                                                  \
    }

/*
 * out[t] for 0 <= t < the returned count (n_out rounded down to whole
 * vectors), as pcx_corr_rows_body.h's kernel computes them; the caller
 * finishes the rest with that kernel.
 */
static ptrdiff_t
PCX_NAME(PCX_T *restrict out, ptrdiff_t n_out,
         const PCX_T *const *rows, ptrdiff_t n_rows,
         const PCX_T *restrict coef, ptrdiff_t kw, ptrdiff_t step)
{
    enum { VL = PCX_VB / sizeof(PCX_T) };
    ptrdiff_t n0 = 0;
#if PCX_CPLX
    /* The sign bits of the real lanes. */
    PCX_VI neg_re = {0};
    for (int i = 0; i < 2 * VL; i += 2) {
        neg_re[i] = PCX_SIGN_BIT;
    }
#endif
    for (; n0 + 4 * VL <= n_out; n0 += 4 * VL) {
        PCX_V a0 = {0}, a1 = {0}, a2 = {0}, a3 = {0};
#define PCX_EACH4(OP) \
    do { OP(a0, 0); OP(a1, VL); OP(a2, 2 * VL); OP(a3, 3 * VL); } while (0)
        PCX_ROWS(PCX_EACH4)
#undef PCX_EACH4
        memcpy(out + n0, &a0, sizeof a0);
        memcpy(out + n0 + VL, &a1, sizeof a1);
        memcpy(out + n0 + 2 * VL, &a2, sizeof a2);
        memcpy(out + n0 + 3 * VL, &a3, sizeof a3);
#if PCX_CPLX
        PCX_RECOMPUTE_NAN(4, (a0 != a0) | (a1 != a1) | (a2 != a2) | (a3 != a3));
#endif
    }
    for (; n0 + VL <= n_out; n0 += VL) {
        PCX_V a0 = {0};
#define PCX_EACH1(OP) OP(a0, 0)
        PCX_ROWS(PCX_EACH1)
#undef PCX_EACH1
        memcpy(out + n0, &a0, sizeof a0);
#if PCX_CPLX
        PCX_RECOMPUTE_NAN(1, a0 != a0);
#endif
    }
    return n0;
}

#undef PCX_LD
#undef PCX_SWAP
#undef PCX_COEF
#undef PCX_MUL
#undef PCX_RECOMPUTE_NAN
#undef PCX_SIGN_BIT
#undef PCX_VI
#undef PCX_GROUP
#undef PCX_ONE
#undef PCX_ROWS
#undef PCX_V
#undef PCX_T
#undef PCX_R
#undef PCX_R_SIZE
#undef PCX_CPLX
#undef PCX_GENERIC
#undef PCX_NAME
