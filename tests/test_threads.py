"""workers=: validation, bit-identical results for any thread count,
concurrent callers, OpenMP controls, and fork safety."""

import os
import subprocess
import sys
import textwrap
import threading

import numpy as np
import pytest

import pyconvx
from pyconvx import _platform
from pyconvx._threads import cpu_count, resolve_workers
from _helpers import FUNCTIONS, MODES, assert_identical, random_array

# Tall and wide enough that the work is split into row and column blocks.
SHAPES = [((300, 200), (7, 5)), ((3, 3000), (2, 7)), ((1, 20000), (1, 9))]


@pytest.mark.parametrize("dtype", ["f4", "f8", "c16", "i8", "u1"])
@pytest.mark.parametrize("name", FUNCTIONS)
def test_results_identical_for_every_thread_count(rng, name, dtype):
    func = getattr(pyconvx, name)
    for s1, s2 in SHAPES:
        a = random_array(rng, s1, dtype)
        k = random_array(rng, s2, dtype)
        for mode, boundary in [("full", "fill"), ("same", "symm"),
                               ("valid", "wrap")]:
            serial = func(a, k, mode, boundary, workers=1)
            for workers in (2, 3, 8, None, -1):
                assert_identical(func(a, k, mode, boundary, workers=workers),
                                 serial)


def test_concurrent_python_threads_match_serial(rng):
    a = random_array(rng, (200, 300), np.float64)
    k = random_array(rng, (5, 5), np.float64)
    expected = {(name, mode): getattr(pyconvx, name)(a, k, mode, workers=1)
                for name in FUNCTIONS for mode in MODES}
    errors = []
    barrier = threading.Barrier(8)

    def worker(i):
        barrier.wait()
        for rep in range(5):
            for (name, mode), want in expected.items():
                got = getattr(pyconvx, name)(a, k, mode, workers=1 + (i + rep) % 2)
                if not np.array_equal(got, want):
                    errors.append((i, rep, name, mode))

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []


def test_workers_resolution():
    n = cpu_count()
    assert resolve_workers(1) == 1
    assert resolve_workers(2) == 2
    assert resolve_workers(np.int64(2)) == 2
    assert resolve_workers(-1) == n
    assert resolve_workers(-n) == 1
    assert resolve_workers(None) == _platform.omp_max_threads()
    # Absurd requests are capped instead of exhausting the thread limit.
    assert resolve_workers(10**9) == 4 * n


@pytest.mark.parametrize("workers,exc,pattern", [
    (0, ValueError, r"^workers must not be zero$"),
    (-10**6, ValueError, r"^workers value out of range; got -1000000, must "
                         r"not be less than -\d+$"),
    (1.5, TypeError, r"^workers must be an integer or None, got float$"),
    ("2", TypeError, r"^workers must be an integer or None, got str$"),
    (True, TypeError, r"^workers must be an integer or None, got bool$"),
])
@pytest.mark.parametrize("name", FUNCTIONS)
def test_bad_workers(name, workers, exc, pattern):
    with pytest.raises(exc, match=pattern):
        getattr(pyconvx, name)(np.ones((3, 3)), np.ones((2, 2)), workers=workers)


def test_workers_is_keyword_only():
    with pytest.raises(TypeError, match="positional argument"):
        pyconvx.correlate2d(np.ones((3, 3)), np.ones((2, 2)), "full", "fill",
                            0, 2)


def _run(code, env=None, timeout=60):
    full_env = dict(os.environ, **(env or {}))
    return subprocess.run([sys.executable, "-P", "-c", textwrap.dedent(code)],
                          capture_output=True, text=True, timeout=timeout,
                          env=full_env)


def test_omp_num_threads_is_the_default():
    proc = _run("""
        from pyconvx._threads import resolve_workers
        print(resolve_workers(None))
    """, env={"OMP_NUM_THREADS": "3"})
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "3"


def test_threadpoolctl_limits_are_honoured():
    threadpoolctl = pytest.importorskip("threadpoolctl")
    before = resolve_workers(None)
    with threadpoolctl.threadpool_limits(1, user_api="openmp"):
        assert resolve_workers(None) == 1
    assert resolve_workers(None) == before


def test_forked_child_does_not_hang():
    # libgomp's pool does not survive fork(); the child must still finish.
    proc = _run("""
        import os, numpy as np, pyconvx
        a = np.random.default_rng(0).standard_normal((400, 400))
        k = np.ones((5, 5))
        want = pyconvx.correlate2d(a, k, workers=2)     # parent uses threads
        pid = os.fork()
        if pid == 0:
            got = pyconvx.correlate2d(a, k, workers=2)
            os._exit(0 if np.array_equal(got, want) else 3)
        _, status = os.waitpid(pid, 0)
        print(os.waitstatus_to_exitcode(status))
    """, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "0"


def test_gil_is_released():
    # Another Python thread makes progress while a long kernel runs.
    a = np.random.default_rng(1).standard_normal((1500, 1500))
    k = np.ones((15, 15))
    ticks = []
    done = threading.Event()

    def ticker():
        while not done.is_set():
            ticks.append(1)
            done.wait(0.001)

    t = threading.Thread(target=ticker)
    t.start()
    try:
        ticks.clear()
        pyconvx.correlate2d(a, k, "valid", workers=1)
        during = len(ticks)
    finally:
        done.set()
        t.join()
    assert during > 5
