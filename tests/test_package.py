"""Packaging: the compiled extension is what runs, version, show_config."""

import importlib.metadata
import io
import re
from pathlib import Path

import numpy as np

import pyconvx
from pyconvx import _corr2d, _platform, _pool, _workspace


def test_compiled_extensions_are_loaded():
    for module in (_corr2d, _platform, _pool):
        assert Path(module.__file__).suffix in (".so", ".pyd"), module.__file__


def test_version_matches_metadata():
    assert pyconvx.__version__ == importlib.metadata.version("pyconvx")


def test_public_api():
    assert set(pyconvx.__all__) == {
        "__version__", "conv_output_size", "convolve2d", "correlate2d",
        "show_config", "conv2d", "conv2d_output_shape", "pool2d_output_shape",
        "max_pool2d", "avg_pool2d",
    }
    for name in pyconvx.__all__:
        assert hasattr(pyconvx, name)
    for name in set(pyconvx.__all__) - {"__version__"}:
        doc = getattr(pyconvx, name).__doc__
        assert "Parameters" in doc and "----------" in doc


def test_show_config():
    buf = io.StringIO()
    pyconvx.show_config(file=buf)
    text = buf.getvalue()
    assert text.startswith(f"pyconvx {pyconvx.__version__}\n")
    assert f"numpy:           {np.__version__}" in text
    assert "openmp:          yes" in text if _platform.openmp_enabled() \
        else "openmp:          no" in text
    assert f"default threads: {_platform.omp_max_threads()}" in text
    assert "simd kernels:" in text
    limit = _workspace.stats()["limit_bytes"] >> 20
    assert re.search(r"work buffers: +[0-9.]+ MiB kept in [0-9]+ "
                     rf"\(at most {limit} MiB\)", text)


def test_typing_files_are_installed():
    root = Path(pyconvx.__file__).parent
    for name in ("py.typed", "__init__.pyi", "_corr2d.pxd", "_indexing.pxd",
                 "_pool.pxd", "_pool.pyi", "_workspace.pxd", "_workspace.pyi"):
        assert (root / name).is_file(), name
