# Work buffers kept between calls (see _workspace.pyx).

cdef void *take(size_t n_bytes) noexcept nogil
cdef void give(void *p) noexcept nogil
