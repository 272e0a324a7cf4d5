"""Packaging: the compiled extension is what runs, version, show_config."""

import ast
import importlib.metadata
import inspect
import io
import re
from pathlib import Path

import numpy as np

import pyconvx
from pyconvx import _convert, _corr2d, _platform, _pool, _workspace


def test_compiled_extensions_are_loaded():
    for module in (_convert, _corr2d, _platform, _pool):
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
                 "_pool.pxd", "_pool.pyi", "_workspace.pxd", "_workspace.pyi",
                 "_convert.pyi"):
        assert (root / name).is_file(), name


def _stub_params(func):
    """(name, kind, has a default) of each parameter of a stub's def."""
    a = func.args
    kinds = inspect.Parameter
    out = []
    positional = a.posonlyargs + a.args
    defaults = [None] * (len(positional) - len(a.defaults)) + a.defaults
    for i, (arg, default) in enumerate(zip(positional, defaults)):
        kind = (kinds.POSITIONAL_ONLY if i < len(a.posonlyargs)
                else kinds.POSITIONAL_OR_KEYWORD)
        out.append((arg.arg, kind, default is not None))
    for arg, default in zip(a.kwonlyargs, a.kw_defaults):
        out.append((arg.arg, kinds.KEYWORD_ONLY, default is not None))
    return out


def _stubs(module):
    """{name: [FunctionDef, ...]} of the stub file beside `module`."""
    path = Path(module.__file__).parent / (
        "__init__.pyi" if module is pyconvx
        else Path(module.__file__).name.split(".")[0] + ".pyi")
    defs = {}
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.FunctionDef):
            defs.setdefault(node.name, []).append(node)
    return defs


def test_stubs_match_the_runtime_signatures():
    # The typed stubs are written by hand: each public function's stub (and
    # every overload of it) must list the parameters the function takes, in
    # order, of the same kinds and with defaults where it has them.
    stubs = _stubs(pyconvx)
    for name in set(pyconvx.__all__) - {"__version__"}:
        runtime = [(p.name, p.kind, p.default is not p.empty)
                   for p in inspect.signature(getattr(pyconvx, name))
                   .parameters.values()]
        assert name in stubs, name
        for stub in stubs[name]:
            got = _stub_params(stub)
            assert [p[0] for p in got] == [p[0] for p in runtime], name
            if len(stubs[name]) == 1:
                assert got == runtime, name
    # The private modules' stubs cover what the fronts call.
    for module in (_convert, _pool, _workspace):
        for name, (stub,) in _stubs(module).items():
            func = getattr(module, name)
            try:
                sig = inspect.signature(func)
            except ValueError:          # a builtin without a signature
                continue
            assert [p.name for p in sig.parameters.values()] == \
                [p[0] for p in _stub_params(stub)], (module.__name__, name)
