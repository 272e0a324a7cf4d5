import os
import zlib
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, settings

import pyconvx

# Deterministic in CI (same examples every run), exploratory locally.
settings.register_profile(
    "ci", derandomize=True, deadline=None, print_blob=True,
    suppress_health_check=[HealthCheck.too_slow])
settings.register_profile(
    "dev", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get(
    "HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else "dev"))

# The sanitizer and valgrind runs of CI keep no work buffers between calls
# (PYCONVX_TEST_NO_POOL=1): each is then malloc'd at its exact size, so the
# tools see every overrun and every read of memory never written.
if os.environ.get("PYCONVX_TEST_NO_POOL") == "1":
    from pyconvx import _workspace

    _workspace._set_keep_bytes(0)


def pytest_report_header(config):
    from pyconvx import _corr2d, _platform

    return [f"pyconvx {pyconvx.__version__} from {Path(pyconvx.__file__).parent}",
            f"  kernels: {_corr2d.__file__}",
            f"  openmp: {_platform.openmp_enabled()}, "
            f"threads: {_platform.omp_max_threads()}, "
            f"simd: {_platform.simd_level()}"]


@pytest.fixture
def rng(request):
    # A seed per test, stable across runs: failures reproduce.
    return np.random.default_rng(zlib.crc32(request.node.nodeid.encode()))
