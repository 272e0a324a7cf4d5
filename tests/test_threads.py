"""workers=: validation, bit-identical results for any thread count,
concurrent callers, OpenMP controls, and fork safety."""

import hashlib

import os
import subprocess
import sys
import textwrap
import threading

import numpy as np
import pytest

import pyconvx
from pyconvx import _conv, _corr2d, _platform, _pool
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


def _run_in_threads(worker, n=8):
    """worker(0) .. worker(n-1), each in its own thread, released together."""
    barrier = threading.Barrier(n)

    def run(i):
        barrier.wait()
        worker(i)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def test_concurrent_python_threads_match_serial(rng):
    a = random_array(rng, (200, 300), np.float64)
    k = random_array(rng, (5, 5), np.float64)
    expected = {(name, mode): getattr(pyconvx, name)(a, k, mode, workers=1)
                for name in FUNCTIONS for mode in MODES}
    errors = []
    def worker(i):
        for rep in range(5):
            for (name, mode), want in expected.items():
                got = getattr(pyconvx, name)(a, k, mode, workers=1 + (i + rep) % 2)
                if not np.array_equal(got, want):
                    errors.append((i, rep, name, mode))

    _run_in_threads(worker)
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
    for workers in range(1, 4 * n + 3):
        assert resolve_workers(workers) == min(workers, 4 * n)


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


# -- every public function --------------------------------------------------

# Source of a module-level `calls(workers)` that returns {name: result} for
# every kernel-backed public function, on inputs big enough to run threaded.
# Shared by the in-process tests and the child processes below.
CALLS_SRC = """
import numpy as np
import pyconvx

_rng = np.random.default_rng(7)
_img = _rng.standard_normal((300, 257))
_ker = _rng.standard_normal((7, 5))
_x = _rng.standard_normal((2, 8, 40, 37)).astype(np.float32)
_w = _rng.standard_normal((16, 4, 3, 3)).astype(np.float32)
_b = _rng.standard_normal(16).astype(np.float32)
_xi = _rng.integers(-1000, 1000, (3, 16, 64, 61))

def calls(workers):
    return {
        "correlate2d": pyconvx.correlate2d(_img, _ker, "same", "symm", workers=workers),
        "convolve2d": pyconvx.convolve2d(_img, _ker, workers=workers),
        "conv2d": pyconvx.conv2d(_x, _w, _b, stride=(1, 2), padding=1, groups=2,
                                 padding_mode="reflect", workers=workers),
        "max_pool2d": pyconvx.max_pool2d(_x, 3, 2, 1, return_indices=True,
                                         workers=workers),
        "avg_pool2d": pyconvx.avg_pool2d(_xi, 3, 2, 1, count_include_pad=False,
                                         workers=workers),
    }

def digest(results):
    h = __import__("hashlib").sha256()
    for name in sorted(results):
        parts = results[name] if isinstance(results[name], tuple) else (results[name],)
        for a in parts:
            h.update(np.ascontiguousarray(a).tobytes())
    return h.hexdigest()
"""
_calls_ns = {}
exec(CALLS_SRC, _calls_ns)
calls, digest = _calls_ns["calls"], _calls_ns["digest"]


def _assert_same_results(got, want):
    assert got.keys() == want.keys()
    for name in want:
        g = got[name] if isinstance(got[name], tuple) else (got[name],)
        w = want[name] if isinstance(want[name], tuple) else (want[name],)
        for a, b in zip(g, w, strict=True):
            assert_identical(a, b)


def test_every_function_from_eight_python_threads_matches_serial():
    want = calls(1)
    errors = []
    def worker(i):
        for rep in range(3):
            try:
                _assert_same_results(calls(1 + (i + rep) % 2), want)
            except AssertionError as exc:   # pragma: no cover - reported below
                errors.append((i, rep, exc))

    _run_in_threads(worker)
    assert errors == []


# The kernels' entry points return the OpenMP team size that ran: the thread
# controls are checked on that, not on timings.
_ENTRY_POINTS = [(_corr2d, "correlate2d_into"), (_conv, "conv2d_forward"),
                 (_pool, "max_pool2d_into"), (_pool, "avg_pool2d_into")]


@pytest.fixture
def teams(monkeypatch):
    seen = []
    for module, name in _ENTRY_POINTS:
        def spy(*args, _kernel=getattr(module, name)):
            team = _kernel(*args)
            seen.append(team)
            return team
        monkeypatch.setattr(module, name, spy)
    return seen


def test_workers_sets_the_team_size(teams):
    calls(2)
    assert teams == [2] * 5
    teams.clear()
    calls(1)
    assert teams == [1] * 5


def test_threadpoolctl_limits_the_team(teams):
    threadpoolctl = pytest.importorskip("threadpoolctl")
    with threadpoolctl.threadpool_limits(2, user_api="openmp"):
        calls(None)
        assert teams == [2] * 5
        teams.clear()
        with threadpoolctl.threadpool_limits(1, user_api="openmp"):
            calls(None)
        assert teams == [1] * 5


@pytest.mark.parametrize("omp", ["1", "3"])
def test_omp_num_threads_sets_the_team(omp):
    proc = _run(CALLS_SRC + """
from pyconvx import _conv, _corr2d, _pool
seen = []
for module, name in [(_corr2d, "correlate2d_into"), (_conv, "conv2d_forward"),
                     (_pool, "max_pool2d_into"), (_pool, "avg_pool2d_into")]:
    def spy(*args, _kernel=getattr(module, name)):
        seen.append(_kernel(*args))
        return seen[-1]
    setattr(module, name, spy)
calls(None)
print(seen)
""", env={"OMP_NUM_THREADS": omp})
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == str([int(omp)] * 5)


def test_torch_in_the_same_process_changes_no_result():
    pytest.importorskip("torch")
    want = digest(calls(2))
    # torch first (its libgomp serves both), and torch after pyconvx ran.
    for order in ("import torch; torch.nn.functional.conv2d("
                  "torch.ones(1, 8, 64, 64), torch.ones(8, 8, 3, 3))\n"
                  "print(digest(calls(2)))",
                  "print(digest(calls(2)))\nimport torch\n"
                  "torch.nn.functional.max_pool2d(torch.ones(1, 8, 64, 64), 2)\n"
                  "torch.set_num_threads(1)\nprint(digest(calls(None)))\n"
                  "print(digest(calls(2)))"):
        proc = _run(CALLS_SRC + order, timeout=120)
        assert proc.returncode == 0, proc.stderr
        assert set(proc.stdout.split()) == {want}


def test_every_function_in_a_forked_child_and_a_fork_pool():
    # After threaded calls in the parent, a fork()ed child and the workers
    # of a multiprocessing fork pool finish their own calls (in time).
    proc = _run(CALLS_SRC + """
import multiprocessing, os
want = digest(calls(2))
pid = os.fork()
if pid == 0:
    os._exit(0 if digest(calls(2)) == want else 3)
_, status = os.waitpid(pid, 0)
print("fork", os.waitstatus_to_exitcode(status))

def job(i):
    return digest(calls(2 if i % 2 else None))

with multiprocessing.get_context("fork").Pool(2) as pool:
    got = pool.map_async(job, range(4)).get(timeout=60)
print("pool", sum(g == want for g in got))
""", timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["fork", "0", "pool", "4"]
