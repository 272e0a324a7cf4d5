"""The C-level API, as another Cython library uses it.

A small extension module is compiled against the *installed* package's
.pxd files (``from pyconvx._conv cimport conv2d_nchw`` and the others),
the way a downstream project builds, and its calls are compared with the
Python functions and the independent oracles.  This pins what the .pxd
files promise: that they are installed, that they cimport, that every
fused specialisation links through the modules' C-API capsules, and that
the argument order the comments document is the one the kernels use.
"""

import importlib.util
import os
import shutil
import sysconfig

import numpy as np
import pytest
from scipy import signal

import pyconvx
from _conv_oracle import (WINO_EXTRA_TERMS, assert_conv_close,
                          conv2d_oracle, winograd_bound)
from _pool_oracle import ref_avg_pool2d, ref_max_pool2d

Cython_Build = pytest.importorskip("Cython.Build")
setuptools = pytest.importorskip("setuptools")

DOWNSTREAM = r'''
# cython: language_level=3, boundscheck=False, wraparound=False
from libc.stdint cimport int64_t
from pyconvx._conv cimport conv_t, conv2d_nchw, PAD_ZEROS, PAD_REFLECT
from pyconvx._corr2d cimport correlate_plane, BOUNDARY_FILL, BOUNDARY_SYMM
from pyconvx._pool cimport (pool_t, avg_t, PoolGeometry, max_pool_planes,
                            avg_pool_planes)

PADDING = {"zeros": PAD_ZEROS, "reflect": PAD_REFLECT}
BOUNDARY = {"fill": BOUNDARY_FILL, "symm": BOUNDARY_SYMM}


def conv(const conv_t[:, :, :, ::1] x, const conv_t[:, :, :, ::1] w,
         const conv_t[::1] b, conv_t[:, :, :, ::1] out, Py_ssize_t sh,
         Py_ssize_t sw, Py_ssize_t pt, Py_ssize_t pl, Py_ssize_t dh,
         Py_ssize_t dw, Py_ssize_t groups, str padding, int threads):
    cdef int mode = PADDING[padding], status
    with nogil:
        status = conv2d_nchw(&x[0, 0, 0, 0], x.shape[0], x.shape[1],
                             x.shape[2], x.shape[3], &w[0, 0, 0, 0],
                             w.shape[0], w.shape[2], w.shape[3], &b[0],
                             &out[0, 0, 0, 0], out.shape[2], out.shape[3],
                             sh, sw, pt, pl, dh, dw, groups, mode, threads)
    return status


def corr(const double[:, ::1] image, const double[:, ::1] kernel,
         double[:, ::1] out, Py_ssize_t pad_top, Py_ssize_t pad_left,
         bint flip, str boundary, double fill, int threads):
    cdef int bnd = BOUNDARY[boundary], status
    with nogil:
        status = correlate_plane(&image[0, 0], image.shape[0], image.shape[1],
                                 &kernel[0, 0], kernel.shape[0],
                                 kernel.shape[1], &out[0, 0], out.shape[0],
                                 out.shape[1], pad_top, pad_left, flip, bnd,
                                 fill, threads)
    return status


cdef PoolGeometry _geometry(Py_ssize_t[:] g):
    cdef PoolGeometry geo
    geo.in_h, geo.in_w, geo.out_h, geo.out_w = g[0], g[1], g[2], g[3]
    geo.kh, geo.kw, geo.sh, geo.sw = g[4], g[5], g[6], g[7]
    geo.ph, geo.pw, geo.dh, geo.dw = g[8], g[9], g[10], g[11]
    return geo


def max_pool(const pool_t[:, :, ::1] x, Py_ssize_t[:] g,
             pool_t[:, :, ::1] out, int64_t[:, :, ::1] indices, int threads):
    cdef PoolGeometry geo = _geometry(g)
    cdef int status
    with nogil:
        status = max_pool_planes(&x[0, 0, 0], x.shape[0], &geo,
                                 &out[0, 0, 0], &indices[0, 0, 0], threads)
    return status


def avg_pool(const avg_t[:, :, ::1] x, Py_ssize_t[:] g, bint include_pad,
             avg_t[:, :, ::1] out, int threads, int64_t divisor=0,
             bint signed_ints=False):
    cdef PoolGeometry geo = _geometry(g)
    cdef int status
    with nogil:
        status = avg_pool_planes(&x[0, 0, 0], x.shape[0], &geo, include_pad,
                                 divisor, signed_ints, &out[0, 0, 0], threads)
    return status
'''


@pytest.fixture(scope="module")
def downstream(tmp_path_factory):
    """The downstream module, built against the installed pyconvx."""
    cc = (sysconfig.get_config_var("CC") or "cc").split()[0]
    if shutil.which(cc) is None:
        pytest.skip(f"no C compiler ({cc}) to build a downstream module")
    from setuptools import Distribution, Extension

    root = tmp_path_factory.mktemp("downstream")
    src = root / "pcx_downstream.pyx"
    src.write_text(DOWNSTREAM)
    # The directory holding the imported (compiled) package: its .pxd files
    # must be installed beside the extension modules.
    site = os.path.dirname(os.path.dirname(pyconvx.__file__))
    assert os.path.exists(os.path.join(site, "pyconvx", "_conv.pxd"))
    ext = Extension("pcx_downstream", [str(src)], extra_compile_args=["-O1"])
    dist = Distribution({
        "ext_modules": Cython_Build.cythonize(
            [ext], include_path=[site], quiet=True, force=True),
        "script_name": "setup.py",
    })
    cmd = dist.get_command_obj("build_ext")
    cmd.build_lib = str(root / "lib")
    cmd.build_temp = str(root / "tmp")
    dist.run_command("build_ext")
    path = cmd.get_ext_fullpath("pcx_downstream")
    spec = importlib.util.spec_from_file_location("pcx_downstream", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("case", [
    # x shape, w shape, stride, padding (top, left), dilation, groups, mode
    ((2, 3, 11, 13), (4, 3, 3, 3), (1, 1), (1, 1), (1, 1), 1, "zeros"),
    ((2, 64, 20, 20), (64, 64, 3, 3), (1, 1), (1, 1), (1, 1), 1, "zeros"),
    ((1, 8, 15, 12), (6, 4, 5, 3), (2, 1), (2, 1), (1, 2), 2, "reflect"),
    ((3, 32, 9, 9), (48, 32, 1, 1), (1, 1), (0, 0), (1, 1), 1, "zeros"),
])
def test_conv2d_nchw_matches_conv2d_and_oracle(downstream, dtype, threads,
                                               case):
    xs, ws, stride, pad, dilation, groups, mode = case
    rng = np.random.default_rng(7)
    x = rng.standard_normal(xs).astype(dtype)
    w = rng.standard_normal(ws).astype(dtype)
    b = rng.standard_normal(ws[0]).astype(dtype)
    ref = pyconvx.conv2d(x, w, b, stride=stride, padding=pad,
                         dilation=dilation, groups=groups, padding_mode=mode,
                         workers=threads)
    out = np.full(ref.shape, np.nan, dtype=dtype)
    assert downstream.conv(x, w, b, out, *stride, *pad, *dilation, groups,
                           mode, threads) == 0
    # The same engine as the Python front, so the same bits.
    np.testing.assert_array_equal(out, ref)
    pads = (pad[0], pad[0], pad[1], pad[1])
    exact, bound = conv2d_oracle(x, w, b, stride, pads, dilation, groups, mode)
    n_terms = ws[1] * ws[2] * ws[3]
    if pyconvx._conv.engine(dtype, xs[1], ws[0], ws[2], ws[3], ow=ref.shape[3],
                            sw=stride[1], dw=dilation[1], groups=groups,
                            sh=stride[0], dh=dilation[0], oh=ref.shape[2],
                            n=xs[0]).startswith("wino"):
        bound = winograd_bound(x, w, b, pads, groups, mode, dilation)
        n_terms = ws[1] + WINO_EXTRA_TERMS
    assert_conv_close(out, exact, bound, n_terms, dtype)


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("mode", ["full", "same", "valid"])
@pytest.mark.parametrize("boundary", ["fill", "symm"])
@pytest.mark.parametrize("flip", [False, True])
def test_correlate_plane_matches_scipy(downstream, threads, mode, boundary,
                                       flip):
    rng = np.random.default_rng(3)
    image = rng.standard_normal((23, 17))
    kernel = rng.standard_normal((4, 5))
    fn = signal.convolve2d if flip else signal.correlate2d
    ref = fn(image, kernel, mode, boundary, fillvalue=0.5)
    kh, kw = kernel.shape
    # The C API takes the padding before the first output row and column.
    # For an even kernel 'same' centres differently: scipy's convolve2d
    # pads k // 2 before, correlate2d (k - 1) // 2 (its C loop).
    pad = {"full": (kh - 1, kw - 1), "valid": (0, 0),
           "same": (kh // 2, kw // 2) if flip
           else ((kh - 1) // 2, (kw - 1) // 2)}[mode]
    out = np.full(ref.shape, np.nan)
    assert downstream.corr(image, kernel, out, *pad, flip, boundary, 0.5,
                           threads) == 0
    np.testing.assert_array_equal(out, ref)


def _geometry(x, out, k, s, p, d):
    return np.array([x.shape[-2], x.shape[-1], out.shape[-2], out.shape[-1],
                     k, k, s, s, p, p, d, d], dtype=np.intp)


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int16,
                                   np.uint8])
@pytest.mark.parametrize("threads", [1, 2])
def test_max_pool_planes_matches_max_pool2d(downstream, dtype, threads):
    rng = np.random.default_rng(5)
    x = (rng.standard_normal((6, 19, 14)) * 50).astype(dtype)
    ref, ref_idx = pyconvx.max_pool2d(x, 3, stride=2, padding=1, dilation=2,
                                      return_indices=True)
    oracle, oracle_idx = ref_max_pool2d(x, 3, stride=2, padding=1,
                                        dilation=2)
    out = np.zeros_like(ref)
    idx = np.full(ref.shape, -1, dtype=np.int64)
    assert downstream.max_pool(x, _geometry(x, out, 3, 2, 1, 2), out, idx,
                               threads) == 0
    np.testing.assert_array_equal(out, ref)
    np.testing.assert_array_equal(idx, ref_idx)
    np.testing.assert_array_equal(out, oracle)
    np.testing.assert_array_equal(idx, oracle_idx)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("include_pad", [False, True])
def test_avg_pool_planes_matches_avg_pool2d(downstream, dtype, include_pad):
    rng = np.random.default_rng(9)
    x = rng.standard_normal((5, 17, 12)).astype(dtype)
    ref = pyconvx.avg_pool2d(x, 3, stride=2, padding=1,
                             count_include_pad=include_pad)
    oracle = ref_avg_pool2d(x, 3, stride=2, padding=1,
                            count_include_pad=include_pad)
    out = np.zeros_like(ref)
    assert downstream.avg_pool(x, _geometry(x, out, 3, 2, 1, 1), include_pad,
                               out, 2) == 0
    np.testing.assert_array_equal(out, ref)
    np.testing.assert_allclose(out, oracle, rtol=4 * np.finfo(dtype).eps,
                               atol=4 * np.finfo(dtype).eps)


@pytest.mark.parametrize("dtype", ["i1", "u1", "i2", "u2", "i4", "u4", "i8",
                                   "u8"])
@pytest.mark.parametrize("divisor", [0, 3, -2])
def test_avg_pool_planes_takes_every_integer_type(downstream, dtype, divisor):
    info = np.iinfo(dtype)
    x = np.random.default_rng(9).integers(info.min, info.max, (5, 17, 12),
                                          dtype=dtype, endpoint=True)
    if x.itemsize == 8:
        x //= 16            # no 64-bit sum overflows: the oracle's are exact
    kw = dict(stride=2, padding=1, divisor_override=divisor or None)
    ref = pyconvx.avg_pool2d(x, 3, **kw)
    out = np.zeros_like(ref)
    assert downstream.avg_pool(x, _geometry(x, out, 3, 2, 1, 1), True, out, 2,
                               divisor) == 0
    np.testing.assert_array_equal(out, ref, strict=True)
    np.testing.assert_array_equal(out, ref_avg_pool2d(x, 3, **kw), strict=True)


def test_avg_pool_planes_reads_uint64_as_int64_with_signed_ints(downstream):
    # The API of pyconvx 0.1's avg_t (float, double, uint64_t): int64 data
    # passed as uint64_t, with signed_ints.
    x = np.random.default_rng(4).integers(-10**6, 10**6, (3, 9, 10))
    ref = pyconvx.avg_pool2d(x, 2, divisor_override=-3)
    assert ref.min() < 0
    out = np.zeros(ref.shape, np.uint64)
    assert downstream.avg_pool(x.view(np.uint64), _geometry(x, out, 2, 2, 0, 1),
                               True, out, 1, -3, True) == 0
    np.testing.assert_array_equal(out.view(np.int64), ref)
    downstream.avg_pool(x.view(np.uint64), _geometry(x, out, 2, 2, 0, 1),
                        True, out, 1, -3, False)
    assert not np.array_equal(out.view(np.int64), ref)
