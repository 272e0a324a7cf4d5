/*
 * Template body of the row micro-kernel; see pcx_corr_rows.h, which
 * includes this file once per element type with these macros defined:
 *
 *   PCX_T     element type of the image, kernel and output
 *   PCX_ACC   accumulator type (PCX_T for floating types; a wrapping
 *             unsigned type at least as wide as `unsigned int` for integers)
 *   PCX_NAME  name of the function to define
 *
 * No include guard: it is meant to be included several times.
 */

/* Accumulates one tile of `len` outputs into acc[]. */
static inline void
PCX_CAT(PCX_NAME, _tile)(PCX_ACC *restrict acc, ptrdiff_t len,
                         const PCX_T *const *rows, ptrdiff_t n_rows,
                         const PCX_T *restrict coef, ptrdiff_t kw,
                         ptrdiff_t step, ptrdiff_t n0)
{
    for (ptrdiff_t t = 0; t < len; t++) {
        acc[t] = 0;
    }
    for (ptrdiff_t r = 0; r < n_rows; r++) {
        const PCX_T *x = rows[r] + n0;
        const PCX_T *c = coef + r * kw;
        ptrdiff_t k = 0;
        /*
         * scipy's loop adds the products of a kernel row in groups of four,
         * ((p0 + p1) + p2) + p3, each group then added to the running sum,
         * and the remaining products one by one.  Floating-point addition
         * is not associative, so we keep exactly that order (per output
         * element; the vector lanes are different outputs).
         */
        for (; k + 4 <= kw; k += 4) {
            const PCX_ACC c0 = c[k], c1 = c[k + 1], c2 = c[k + 2], c3 = c[k + 3];
            const PCX_T *x0 = x + k * step;
            const PCX_T *x1 = x0 + step;
            const PCX_T *x2 = x1 + step;
            const PCX_T *x3 = x2 + step;
            for (ptrdiff_t t = 0; t < len; t++) {
                acc[t] += c0 * x0[t] + c1 * x1[t] + c2 * x2[t] + c3 * x3[t];
            }
        }
        const PCX_T *x0 = x + k * step;
        const PCX_T *x1 = x0 + step;
        const PCX_T *x2 = x1 + step;
        switch (kw - k) {
        case 3: {
            const PCX_ACC c0 = c[k], c1 = c[k + 1], c2 = c[k + 2];
            for (ptrdiff_t t = 0; t < len; t++) {
                acc[t] = acc[t] + c0 * x0[t] + c1 * x1[t] + c2 * x2[t];
            }
            break;
        }
        case 2: {
            const PCX_ACC c0 = c[k], c1 = c[k + 1];
            for (ptrdiff_t t = 0; t < len; t++) {
                acc[t] = acc[t] + c0 * x0[t] + c1 * x1[t];
            }
            break;
        }
        case 1: {
            const PCX_ACC c0 = c[k];
            for (ptrdiff_t t = 0; t < len; t++) {
                acc[t] = acc[t] + c0 * x0[t];
            }
            break;
        }
        default:
            break;
        }
    }
}

/*
 * out[t] = sum over r < n_rows, k < kw of coef[r*kw + k] * rows[r][k*step + t]
 * for n_start <= t < n_out, summed in the order described above.
 *
 * rows[r] must be readable at every index k*step + t used.  With step = -1
 * the kernel row is applied back to front (convolution); the products are
 * still summed in the order of `coef`.
 */
PCX_CLONES static void
PCX_CAT(PCX_NAME, _from)(PCX_T *restrict out, ptrdiff_t n_start,
                         ptrdiff_t n_out, const PCX_T *const *rows,
                         ptrdiff_t n_rows, const PCX_T *restrict coef,
                         ptrdiff_t kw, ptrdiff_t step)
{
    enum { TILE = PCX_TILE_BYTES / sizeof(PCX_ACC) };
    PCX_ACC acc[TILE];

    for (ptrdiff_t n0 = n_start; n0 < n_out; n0 += TILE) {
        ptrdiff_t len = n_out - n0;
        if (len >= TILE) {
            /* A constant trip count lets the compiler unroll the tile. */
            len = TILE;
            PCX_CAT(PCX_NAME, _tile)(acc, TILE, rows, n_rows, coef, kw, step, n0);
        }
        else {
            PCX_CAT(PCX_NAME, _tile)(acc, len, rows, n_rows, coef, kw, step, n0);
        }
        for (ptrdiff_t t = 0; t < len; t++) {
            out[n0 + t] = (PCX_T)acc[t];
        }
    }
}

/* The whole row (for the types without a register-blocked kernel). */
#ifndef PCX_HAS_VEC
static void
PCX_NAME(PCX_T *restrict out, ptrdiff_t n_out,
         const PCX_T *const *rows, ptrdiff_t n_rows,
         const PCX_T *restrict coef, ptrdiff_t kw, ptrdiff_t step)
{
    PCX_CAT(PCX_NAME, _from)(out, 0, n_out, rows, n_rows, coef, kw, step);
}
#endif
