"""show_config(): how this pyconvx was built and what it will run with."""

import sys

from . import _conv, _platform, _workspace
from ._threads import cpu_count, resolve_workers


def _version_of(module_name):
    try:
        module = __import__(module_name)
    except ImportError:
        return "not installed"
    return getattr(module, "__version__", "unknown")


def show_config(file=None):
    """Print the build and runtime configuration of pyconvx.

    Reports the version, whether OpenMP was compiled in, the thread count a
    call with ``workers=None`` would use, the CPU count, the instruction set
    the micro-kernels dispatched to (and the register tile, positions x
    channels, of conv2d's channel-vectorised kernel), the work buffers kept
    for the next calls, and the NumPy / SciPy versions.

    Parameters
    ----------
    file : file-like, optional
        Where to print; defaults to ``sys.stdout``.
    """
    from . import __version__

    omp = _platform.openmp_enabled()
    pool = _workspace.stats()
    mib = 1 << 20
    lines = [
        f"pyconvx {__version__}",
        f"  python:          {sys.version.split()[0]}",
        f"  numpy:           {_version_of('numpy')}",
        f"  scipy:           {_version_of('scipy')}",
        "  openmp:          " + (
            f"yes (_OPENMP={_platform.openmp_version()})" if omp
            else "no -- built without OpenMP, every call is single-threaded"),
        f"  default threads: {resolve_workers(None)}",
        f"  cpus available:  {cpu_count()}",
        f"  simd kernels:    {_platform.simd_level()}",
        "  conv2d cv tiles: " + ", ".join(
            f"{dtype} {isa} {nr}x{ob}"
            for dtype, (isa, nr, ob) in _conv.cv_kernels().items()),
        f"  work buffers:    {pool['kept_bytes'] / mib:.1f} MiB kept in "
        f"{pool['kept_buffers']} (at most {pool['limit_bytes'] / mib:.0f} MiB)",
    ]
    print("\n".join(lines), file=file if file is not None else sys.stdout)
