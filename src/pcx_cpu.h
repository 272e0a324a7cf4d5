/*
 * pcx_cpu.h -- the x86-64 level of the CPU we run on, for the kernels that
 * dispatch at run time (pcx_conv_cv.h) and for show_config().
 *
 * Asked feature by feature, in names GCC and clang both know: clang's
 * __builtin_cpu_supports (14 at least) rejects GCC's "x86-64-v3" and
 * "x86-64-v4" at compile time.  The features are those the kernels'
 * instructions need (AVX2 + FMA + BMI; AVX-512 F/BW/CD/DQ/VL), which
 * every CPU of the level has.
 */
#ifndef PCX_CPU_H
#define PCX_CPU_H

/* Instruction-set levels (the x86-64-vN numbers; 1 is the baseline). */
enum { PCX_ISA_BASE = 1, PCX_ISA_AVX2 = 3, PCX_ISA_AVX512 = 4 };

#if defined(__GNUC__) && defined(__x86_64__)
#  define PCX_CPU_DISPATCH 1
static int
pcx_cpu_level(void)
{
    __builtin_cpu_init();
    if (!(__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")
          && __builtin_cpu_supports("bmi") && __builtin_cpu_supports("bmi2"))) {
        return PCX_ISA_BASE;
    }
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw")
        && __builtin_cpu_supports("avx512cd")
        && __builtin_cpu_supports("avx512dq")
        && __builtin_cpu_supports("avx512vl")) {
        return PCX_ISA_AVX512;
    }
    return PCX_ISA_AVX2;
}
#else
#  define PCX_CPU_DISPATCH 0
static int
pcx_cpu_level(void)
{
    return PCX_ISA_BASE;
}
#endif

#endif /* PCX_CPU_H */
