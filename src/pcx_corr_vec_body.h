/*
 * Template body of the row micro-kernel's register-blocked form, for float
 * and double; see pcx_corr_rows.h, which includes it once per type and
 * instruction set, under that set's target pragma, with these macros:
 *
 *   PCX_T     float or double
 *   PCX_VB    vector bytes: 64 (AVX-512) or 32 (AVX2)
 *   PCX_NAME  name of the function to define
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
 * bits, NaN payloads included (the same operand order).  The build
 * disables contraction (no fused multiply-add), and the coefficients
 * multiply as scalars (GCC and clang broadcast them), never through an
 * addition that would turn -0.0 into +0.0.
 *
 * Vector-extension code, so compiled under target pragmas, not
 * target_clones (GCC lowers such code for the default target before it
 * makes the clones).  No include guard: it is meant to be included
 * several times.
 */

#define PCX_V PCX_CAT(PCX_NAME, _v)
typedef PCX_T PCX_V __attribute__((vector_size(PCX_VB)));

static inline PCX_V
PCX_CAT(PCX_NAME, _ld)(const PCX_T *p)
{
    PCX_V v;
    memcpy(&v, p, sizeof v);
    return v;
}

/* Outputs [n0, n0 + NV vectors) from the kernel rows: a macro, so that the
 * accumulators are named registers for every NV. */
#define PCX_LD(p) PCX_CAT(PCX_NAME, _ld)(p)
#define PCX_GROUP(a, i)                                                    \
    (a) = (a) + (((c0 * PCX_LD(x0 + (i)) + c1 * PCX_LD(x1 + (i)))          \
                  + c2 * PCX_LD(x2 + (i))) + c3 * PCX_LD(x3 + (i)))
#define PCX_ONE(a, i) (a) = (a) + ck * PCX_LD(xk + (i))
#define PCX_ROWS(EACH)                                                     \
    for (ptrdiff_t r = 0; r < n_rows; r++) {                               \
        const PCX_T *x = rows[r] + n0;                                     \
        const PCX_T *c = coef + r * kw;                                    \
        ptrdiff_t k = 0;                                                   \
        for (; k + 4 <= kw; k += 4) {                                      \
            const PCX_T c0 = c[k], c1 = c[k + 1];                          \
            const PCX_T c2 = c[k + 2], c3 = c[k + 3];                      \
            const PCX_T *x0 = x + k * step;                                \
            const PCX_T *x1 = x0 + step;                                   \
            const PCX_T *x2 = x1 + step;                                   \
            const PCX_T *x3 = x2 + step;                                   \
            EACH(PCX_GROUP);                                               \
        }                                                                  \
        for (; k < kw; k++) {                                              \
            const PCX_T ck = c[k];                                         \
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
    }
    for (; n0 + VL <= n_out; n0 += VL) {
        PCX_V a0 = {0};
#define PCX_EACH1(OP) OP(a0, 0)
        PCX_ROWS(PCX_EACH1)
#undef PCX_EACH1
        memcpy(out + n0, &a0, sizeof a0);
    }
    return n0;
}

#undef PCX_LD
#undef PCX_GROUP
#undef PCX_ONE
#undef PCX_ROWS
#undef PCX_V
