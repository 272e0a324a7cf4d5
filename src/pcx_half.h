/*
 * pcx_half.h -- float16 <-> float32 conversion of arrays, for the kernels
 * that compute float16 data in float32.
 *
 *   void pcx_half_to_float(float *dst, const uint16_t *src, ptrdiff_t n);
 *       exact; NaN payloads kept (a signalling NaN stays signalling)
 *   void pcx_float_to_half(uint16_t *dst, const float *src, ptrdiff_t n);
 *       rounded to nearest, ties to even; past 65504 to +-inf; NaN to
 *       0x7c00 + the payload's top 10 bits (0x7c01 if those are 0)
 *
 * The results are NumPy's astype, bit for bit (its software conversion,
 * NaNs included), at several times its speed: the loops have no branches,
 * so the compiler vectorises them.  Compile without -ffast-math or flushing
 * of subnormals: the subnormal halves are rounded by a float addition.
 */
#ifndef PCX_HALF_H
#define PCX_HALF_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "pcx_cpu.h"

static inline float
pcx_half_float_of_bits_(uint32_t u)
{
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

static inline uint32_t
pcx_half_bits_of_float_(float f)
{
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return u;
}

PCX_CLONES static void
pcx_half_to_float(float *restrict dst, const uint16_t *restrict src,
                  ptrdiff_t n)
{
    for (ptrdiff_t i = 0; i < n; i++) {
        const uint32_t h = src[i];
        const uint32_t sign = (h & 0x8000u) << 16;
        const uint32_t em = h & 0x7fffu;        /* exponent and mantissa */
        const uint32_t e = em & 0x7c00u;
        /* Normal: rebias the exponent by 127 - 15.  Inf and NaN: all
         * ones, the mantissa shifted (payload kept).  Zero and subnormal:
         * em * 2**-24, exact in float. */
        const uint32_t normal = (em << 13) + ((uint32_t) (127 - 15) << 23);
        const uint32_t special = (em << 13) | 0x7f800000u;
        const uint32_t small =
            pcx_half_bits_of_float_((float) em * 0x1p-24f);
        /* Selected by masks: a ?: here kept the float multiply in a
         * branch (it might trap), which stopped the vectoriser. */
        const uint32_t is_special = (uint32_t) 0 - (e == 0x7c00u);
        const uint32_t is_small = (uint32_t) 0 - (e == 0);
        const uint32_t r = (special & is_special) | (small & is_small)
                           | (normal & ~(is_special | is_small));
        dst[i] = pcx_half_float_of_bits_(r | sign);
    }
}

PCX_CLONES static void
pcx_float_to_half(uint16_t *restrict dst, const float *restrict src,
                  ptrdiff_t n)
{
    for (ptrdiff_t i = 0; i < n; i++) {
        const uint32_t f = pcx_half_bits_of_float_(src[i]);
        const uint32_t sign = (f >> 16) & 0x8000u;
        const uint32_t a = f & 0x7fffffffu;
        /* NaN: the payload's top bits, never 0 (that would be inf). */
        uint32_t nan = 0x7c00u + ((a & 0x7fffffu) >> 13);
        nan += nan == 0x7c00u;
        /* Below 2**-14, a subnormal half: adding 0.5, whose unit in the
         * last place is 2**-24, rounds to a multiple of 2**-24 (ties to
         * even); the bits past 0.5's count them. */
        const uint32_t small =
            pcx_half_bits_of_float_(pcx_half_float_of_bits_(a) + 0.5f)
            - 0x3f000000u;
        /* Normal: rebias, and round the 13 dropped bits to nearest even;
         * a carry may reach the exponent, up to inf. */
        const uint32_t normal =
            (a + ((uint32_t) (15 - 127) << 23) + 0xfffu + ((a >> 13) & 1u))
            >> 13;
        const uint32_t r = a > 0x7f800000u ? nan
                           : a >= 0x47800000u ? 0x7c00u      /* >= 65536 */
                           : a < 0x38800000u ? small         /* < 2**-14 */
                           : normal;
        dst[i] = (uint16_t) (r | sign);
    }
}

#endif /* PCX_HALF_H */
