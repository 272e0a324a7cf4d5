# C-level API of the 2-D pooling kernels, for other Cython code:
#
#     from pyconvx._pool cimport (pool_t, avg_t, PoolGeometry,
#                                 max_pool_planes, avg_pool_planes)
#
# Planes are C-contiguous (n_planes, in_h, in_w) inputs and (n_planes, out_h,
# out_w) outputs.  The caller validates the geometry (torch's rules, see
# pyconvx/_shapes.py::pool2d_geometry) and owns all memory.

from libc.stdint cimport (int8_t, uint8_t, int16_t, uint16_t, int32_t,
                          uint32_t, int64_t, uint64_t)

ctypedef fused pool_t:
    int8_t
    uint8_t
    int16_t
    uint16_t
    int32_t
    uint32_t
    int64_t
    uint64_t
    float
    double

cdef struct PoolGeometry:
    Py_ssize_t in_h, in_w        # input plane, both >= 1
    Py_ssize_t out_h, out_w      # output plane, both >= 1
    Py_ssize_t kh, kw            # window taps, >= 1
    Py_ssize_t sh, sw            # strides, >= 1
    Py_ssize_t ph, pw            # padding on both sides, 0 <= p <= k // 2
    Py_ssize_t dh, dw            # dilation, >= 1 (avg pooling: 1)

cdef int max_pool_planes(
    const pool_t *x, Py_ssize_t n_planes, const PoolGeometry *g,
    pool_t *out, int64_t *indices, int n_threads,
) noexcept nogil
# torch.nn.functional.max_pool2d on each plane.  `indices` (flat offsets into
# each input plane) may be NULL.  Returns 0, or -1 if memory ran out.

# Average pooling takes every pool_t type.  Floats are summed in their own
# precision; integers in 64-bit wrapping arithmetic (the sum modulo 2**64,
# well defined) and divided with truncation toward zero, the quotient
# written in the input's type.  `signed_ints` asks for uint64_t data to be
# read as int64 (the API before integers of every width were taken); other
# types are signed or not as declared.
ctypedef pool_t avg_t      # the name the API had when it took three types

cdef int avg_pool_planes(
    const avg_t *x, Py_ssize_t n_planes, const PoolGeometry *g,
    bint count_include_pad, int64_t divisor_override, bint signed_ints,
    avg_t *out, int n_threads,
) noexcept nogil
# torch.nn.functional.avg_pool2d on each plane (dilation ignored).
# divisor_override == 0 means none.  Returns 0, or -1 if memory ran out.
