# C-level API of the 2-D correlation kernel, for other Cython code:
#
#     from pyconvx._corr2d cimport corr2d_scalar_t, correlate_plane, BOUNDARY_FILL
#
# All arrays are C-contiguous; the caller validates sizes and owns memory.

from libc.stdint cimport uint8_t, uint16_t, uint32_t, uint64_t

ctypedef fused corr2d_scalar_t:
    # Signed integers travel as the unsigned type of the same width: the
    # kernel wraps modulo 2**bits, which is what scipy.signal does.
    uint8_t
    uint16_t
    uint32_t
    uint64_t
    float
    double
    long double
    float complex
    double complex
    long double complex

cdef enum:
    BOUNDARY_FILL = 0   # pad with a constant
    BOUNDARY_WRAP = 1   # periodic
    BOUNDARY_SYMM = 2   # mirror, edge sample repeated

cdef int correlate_plane(
    const corr2d_scalar_t *image, Py_ssize_t height, Py_ssize_t width,
    const corr2d_scalar_t *kernel, Py_ssize_t kh, Py_ssize_t kw,
    corr2d_scalar_t *out, Py_ssize_t out_h, Py_ssize_t out_w,
    Py_ssize_t pad_top, Py_ssize_t pad_left, bint flip, int boundary,
    corr2d_scalar_t fill, int n_threads,
) noexcept nogil
