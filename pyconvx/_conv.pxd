# C-level API of the conv2d engine, for other Cython code.
# All arrays are C-contiguous; the caller validates every size.

ctypedef fused conv_t:
    float
    double

cdef enum:
    PAD_ZEROS = 0
    PAD_REFLECT = 1
    PAD_REPLICATE = 2
    PAD_CIRCULAR = 3
    PAD_SYMMETRIC = 4

cdef int conv2d_nchw(
    const conv_t *x, Py_ssize_t n, Py_ssize_t c_in, Py_ssize_t h, Py_ssize_t w,
    const conv_t *weight, Py_ssize_t c_out, Py_ssize_t kh, Py_ssize_t kw,
    const conv_t *bias, conv_t *out, Py_ssize_t oh, Py_ssize_t ow,
    Py_ssize_t sh, Py_ssize_t sw, Py_ssize_t pt, Py_ssize_t pl,
    Py_ssize_t dh, Py_ssize_t dw, Py_ssize_t groups, int padding_mode,
    int n_threads,
) noexcept nogil
