"""What the compiled extension was built with and runs on."""

from ._openmp cimport (PCX_OPENMP, PCX_OPENMP_VERSION, omp_get_max_threads,
                       omp_set_num_threads)

cdef extern from *:
    """
    #include "pcx_cpu.h"

    static const char *pcx_simd_level(void)
    {
    #if PCX_HAS_CLONES
        switch (pcx_cpu_level()) {
        case PCX_ISA_AVX512: return "x86-64-v4 (AVX-512)";
        case PCX_ISA_AVX2: return "x86-64-v3 (AVX2)";
        default: return "x86-64 baseline (SSE2)";
        }
    #else
        return "portable C (no runtime dispatch)";
    #endif
    }
    """
    const char *pcx_simd_level()


def openmp_enabled():
    """True when the kernels were compiled with OpenMP."""
    return bool(PCX_OPENMP)


def openmp_version():
    """The ``_OPENMP`` date macro of the compiler (0 without OpenMP)."""
    return PCX_OPENMP_VERSION


def omp_max_threads():
    """``omp_get_max_threads()``: honours OMP_NUM_THREADS and threadpoolctl."""
    return omp_get_max_threads()


def set_omp_num_threads(int n):
    """Set the OpenMP default thread count of this process (fork handler)."""
    omp_set_num_threads(n)


def simd_level():
    """The instruction set the row micro-kernels dispatched to."""
    return pcx_simd_level().decode()
