/*
 * pcx_cpu.h -- which SIMD kernels run: the x86-64 level of the CPU, for the
 * kernels dispatched by hand (pcx_conv_cv.h, pcx_pool_s2_body.h) and for
 * show_config(), with the target pragmas they are compiled under; and
 * PCX_CLONES, the target_clones the other kernels are compiled with.
 *
 * The level is asked feature by feature, in names GCC and clang both know:
 * clang's __builtin_cpu_supports (14 at least) rejects GCC's "x86-64-v3"
 * and "x86-64-v4" at compile time.  The features are those the kernels'
 * instructions need (AVX2 + FMA + BMI; AVX-512 F/BW/CD/DQ/VL), which every
 * CPU of the level has.
 */
#ifndef PCX_CPU_H
#define PCX_CPU_H

/* Instruction-set levels (the x86-64-vN numbers; 1 is the baseline). */
enum { PCX_ISA_BASE = 1, PCX_ISA_AVX2 = 3, PCX_ISA_AVX512 = 4 };

#if defined(__GNUC__) && defined(__x86_64__)
#  define PCX_CPU_DISPATCH 1
static inline int
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
static inline int
pcx_cpu_level(void)
{
    return PCX_ISA_BASE;
}
#endif

/*
 * PCX_ISA_CAPPED(prefix) defines, for kernels dispatched by hand:
 *   int prefix_isa(void)              the CPU's level (asked once), at most
 *                                     the cap;
 *   int prefix_set_isa_cap(int cap)   sets the cap (a test hook, so that
 *                                     every path runs); returns the old one.
 * Without dispatch the level is the baseline's and the cap does nothing.
 */
#if PCX_CPU_DISPATCH
#  include <stdatomic.h>
#  define PCX_ISA_CAPPED(prefix)                                            \
static atomic_int prefix##_isa_cap = 99;                                    \
                                                                            \
static inline int                                                           \
prefix##_isa(void)                                                          \
{                                                                           \
    static atomic_int level;        /* 0: not asked yet */                  \
    int l = atomic_load_explicit(&level, memory_order_relaxed);             \
    const int cap = atomic_load_explicit(&prefix##_isa_cap,                 \
                                         memory_order_relaxed);             \
    if (l == 0) {                                                           \
        l = pcx_cpu_level();                                                \
        atomic_store_explicit(&level, l, memory_order_relaxed);             \
    }                                                                       \
    return l < cap ? l : cap;                                               \
}                                                                           \
                                                                            \
static int                                                                  \
prefix##_set_isa_cap(int cap)                                               \
{                                                                           \
    return atomic_exchange_explicit(&prefix##_isa_cap, cap,                 \
                                    memory_order_relaxed);                  \
}
#else
#  define PCX_ISA_CAPPED(prefix)                                            \
static inline int                                                           \
prefix##_isa(void)                                                          \
{                                                                           \
    return PCX_ISA_BASE;                                                    \
}                                                                           \
                                                                            \
static int                                                                  \
prefix##_set_isa_cap(int cap)                                               \
{                                                                           \
    (void) cap;                                                             \
    return 99;                                                              \
}
#endif

/* GCC and clang compile the AVX2 and AVX-512 kernels dispatched by hand
 * with a target pragma each (their syntaxes differ), whatever -march says.
 * (Not target_clones for those: GCC lowers vector-extension code for the
 * default target before it makes the clones.) */
#if PCX_CPU_DISPATCH
#  if defined(__clang__)
#    define PCX_TARGET_V3 _Pragma("clang attribute push(__attribute__((target(\"arch=x86-64-v3\"))), apply_to = function)")
#    define PCX_TARGET_V4 _Pragma("clang attribute push(__attribute__((target(\"arch=x86-64-v4\"))), apply_to = function)")
#    define PCX_TARGET_END _Pragma("clang attribute pop")
#  else
#    define PCX_TARGET_V3 _Pragma("GCC push_options") _Pragma("GCC target(\"arch=x86-64-v3\")")
#    define PCX_TARGET_V4 _Pragma("GCC push_options") _Pragma("GCC target(\"arch=x86-64-v4\")")
#    define PCX_TARGET_END _Pragma("GCC pop_options")
#  endif
#endif

/*
 * Three copies of a kernel, the loader picking one for the CPU (an ifunc:
 * glibc only; and not under AddressSanitizer, as ifunc resolvers can run
 * before its runtime is set up).  clang's clone resolver knows CPU
 * features but not GCC's x86-64-vN levels (given those, it always took
 * the default copy), so clang gets feature clones: AVX-512F brings AVX2
 * and FMA with it.
 */
#if defined(__GNUC__) && defined(__x86_64__) && defined(__linux__) \
    && !defined(PCX_NO_CLONES) && !defined(__SANITIZE_ADDRESS__)
#  define PCX_HAS_CLONES 1
#  if defined(__clang__)
#    define PCX_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#  else
#    define PCX_CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#  endif
#else
#  define PCX_HAS_CLONES 0
#  define PCX_CLONES
#endif

#endif /* PCX_CPU_H */
