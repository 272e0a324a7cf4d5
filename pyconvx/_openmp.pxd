# OpenMP shim: the same names whether or not the build found OpenMP, so no
# other file needs an #ifdef.  PCX_OPENMP is 1 when OpenMP is compiled in.

cdef extern from *:
    """
    #ifdef _OPENMP
    #include <omp.h>
    #define PCX_OPENMP 1
    #define PCX_OPENMP_VERSION _OPENMP
    #else
    #define PCX_OPENMP 0
    #define PCX_OPENMP_VERSION 0
    static inline int omp_get_max_threads(void) { return 1; }
    static inline int omp_get_num_threads(void) { return 1; }
    static inline void omp_set_num_threads(int n) { (void)n; }
    #endif
    """
    int PCX_OPENMP
    int PCX_OPENMP_VERSION
    int omp_get_max_threads() noexcept nogil
    int omp_get_num_threads() noexcept nogil
    void omp_set_num_threads(int n) noexcept nogil
