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


cdef inline Py_ssize_t reflect_index(Py_ssize_t i, Py_ssize_t n) noexcept nogil:
    """Mirror without repeating the edge: ... 2 1 | 0 1 ... n-1 | n-2 ...

    numpy.pad(mode='reflect'), torch 'reflect', scipy.ndimage 'mirror'.
    """
    cdef Py_ssize_t period = 2 * n - 2
    cdef Py_ssize_t r
    if n == 1:
        return 0
    r = floor_mod(i, period)
    return r if r < n else period - r


cdef inline Py_ssize_t clamp_index(Py_ssize_t i, Py_ssize_t n) noexcept nogil:
    """Repeat the edge sample: numpy 'edge', torch 'replicate'."""
    return 0 if i < 0 else (n - 1 if i >= n else i)
