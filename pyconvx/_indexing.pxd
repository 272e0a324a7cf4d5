# Index maps that extend an array of length n past its edges.  Shared by
# every kernel that pads, so each boundary rule is written once.
# They accept any integer i (far outside the array too) and need n > 0;
# callers validate n before entering nogil code.

cimport cython


@cython.cdivision(True)
cdef inline Py_ssize_t floor_mod(Py_ssize_t i, Py_ssize_t n) noexcept nogil:
    """``i mod n`` in [0, n) for n > 0, whatever the sign of i."""
    cdef Py_ssize_t r = i % n
    if r < 0:
        r += n
    return r


cdef inline Py_ssize_t wrap_index(Py_ssize_t i, Py_ssize_t n) noexcept nogil:
    """Periodic extension: ... n-1 | 0 1 ... n-1 | 0 1 ..."""
    return floor_mod(i, n)


cdef inline Py_ssize_t symmetric_index(Py_ssize_t i, Py_ssize_t n) noexcept nogil:
    """Mirror with the edge sample repeated: ... 1 0 | 0 1 ... n-1 | n-1 n-2 ...

    numpy.pad(mode='symmetric'), scipy.signal 'symm', scipy.ndimage 'reflect'.
    """
    cdef Py_ssize_t r = floor_mod(i, 2 * n)
    return r if r < n else 2 * n - 1 - r
