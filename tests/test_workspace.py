"""The work buffers kept between calls (pyconvx._workspace): what is kept,
what is reused, the limits, and conv2d's engines on reused buffers."""

import subprocess
import sys
import textwrap
import threading

import numpy as np
import pytest

from _helpers import hook
import pyconvx
from pyconvx import _conv, _workspace

KIB, MIB = 1 << 10, 1 << 20


@pytest.fixture
def pool():
    # An empty pool of 4 MiB (buffers of 64 KiB and more) for the test.
    old = _workspace._set_keep_bytes(4 * MIB)
    yield _workspace
    _workspace._set_keep_bytes(*old)


def test_buffers_are_aligned(pool):
    # Sizes below, within and above what is kept.
    sizes = [0, 1, 63, 64 * KIB, 100 * KIB + 3, 3 * MIB, 5 * MIB]
    assert all(a % 64 == 0 for a in pool._take_give(sizes))


def test_a_buffer_given_back_is_reused(pool):
    (a,) = pool._take_give([200 * KIB])
    before = pool.stats()
    assert before["kept_buffers"] == 1
    assert 200 * KIB <= before["kept_bytes"] <= 225 * KIB
    # A little smaller: the same buffer.
    assert pool._take_give([190 * KIB]) == [a]
    after = pool.stats()
    assert after["reused"] == before["reused"] + 1
    assert after["allocated"] == before["allocated"]
    # Larger, or less than half of it: another.
    (b,) = pool._take_give([300 * KIB])
    (c,) = pool._take_give([64 * KIB])
    assert a not in (b, c)
    assert pool.stats()["kept_buffers"] == 3
    assert pool.stats()["allocated"] == after["allocated"] + 2


def test_small_and_oversized_buffers_are_not_kept(pool):
    pool._take_give([1000, 64 * KIB - 1, 4 * MIB + 1, 6 * MIB])
    assert pool.stats()["kept_buffers"] == 0
    assert pool.stats()["kept_bytes"] == 0


def test_the_least_recently_given_is_freed_first(pool):
    # Three of 1.5 MiB, given back in order, in a pool of 4 MiB.
    a, b, c = pool._take_give([3 * MIB // 2] * 3)
    assert pool.stats()["kept_bytes"] == 3 * MIB
    assert sorted(pool._take_give([3 * MIB // 2] * 2)) == sorted([b, c])


def test_at_most_32_buffers(pool):
    pool._take_give([64 * KIB] * 40)
    assert pool.stats()["kept_buffers"] == 32
    assert pool.stats()["kept_bytes"] == 32 * 64 * KIB


def test_a_thread_reuses_its_own_buffer_first(pool):
    # The other thread's buffer is the better fit; this thread's comes
    # first, then the other.
    theirs = []
    t = threading.Thread(
        target=lambda: theirs.extend(pool._take_give([200 * KIB])))
    t.start()
    t.join()
    (mine,) = pool._take_give([256 * KIB])
    assert pool._take_give([200 * KIB, 200 * KIB]) == [mine, theirs[0]]


def test_release_frees_everything(pool):
    pool._take_give([100 * KIB, 200 * KIB])
    kept = pool.stats()["kept_bytes"]
    assert kept >= 300 * KIB
    assert pool.release() == kept
    assert pool.stats()["kept_buffers"] == 0
    assert pool.release() == 0


def test_no_pool_keeps_nothing(pool):
    pool._set_keep_bytes(0)
    before = pool.stats()
    pool._take_give([100 * KIB, 200 * KIB])
    assert pool.stats() == before


def test_concurrent_takes_and_gives(pool):
    # Threads taking and giving back without the GIL, all at once.
    results = []
    threads = [threading.Thread(
        target=lambda n=n: results.append(pool._churn(n, 20000)))
        for n in (64 * KIB, 100 * KIB, 300 * KIB, 1 * MIB)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [True] * 4
    stats = pool.stats()
    assert stats["kept_bytes"] <= stats["limit_bytes"]


# Layers for each engine (see _conv._set_engine): x shape, w shape, kwargs.
ENGINE_LAYERS = {
    "rows": ((2, 3, 20, 21), (4, 3, 3, 3), dict(stride=(1, 9))),
    "flat": ((2, 8, 20, 21), (8, 1, 3, 3), dict(padding=1, groups=8)),
    "cv": ((2, 16, 20, 21), (24, 16, 3, 3), dict(padding=1)),
    "wino": ((2, 16, 20, 21), (24, 16, 3, 3), dict(padding=1)),
    "gemm": ((2, 40, 9, 10), (48, 40, 1, 1), dict(padding=1)),
    "gemv": ((1, 40, 1, 1), (48, 40, 1, 1), {}),
}


@pytest.mark.parametrize("engine", sorted(ENGINE_LAYERS))
def test_conv2d_on_reused_buffers(pool, engine, rng):
    # Every buffer through the pool: a call after another of the same
    # layer allocates nothing, and buffers holding another layer's data
    # change no bit of the result.
    pool._set_keep_bytes(4 * MIB, 1)
    xs, ws, kw = ENGINE_LAYERS[engine]
    x = rng.standard_normal(xs, dtype=np.float32)
    w = rng.standard_normal(ws, dtype=np.float32)
    with hook(_conv._set_engine, engine):
        first = pyconvx.conv2d(x, w, workers=1, **kw)
        stats = pool.stats()
        again = pyconvx.conv2d(x, w, workers=1, **kw)
        assert pool.stats()["allocated"] == stats["allocated"]
        assert pool.stats()["reused"] > stats["reused"]
        # Buffers full of other data, then a fresh pool.
        pyconvx.conv2d(x * 3 - 1, w[::-1].copy(), workers=2, **kw)
        stale = pyconvx.conv2d(x, w, workers=2, **kw)
        pool._set_keep_bytes(0)
        fresh = pyconvx.conv2d(x, w, workers=2, **kw)
    np.testing.assert_array_equal(again, first)
    np.testing.assert_array_equal(stale, fresh)


def test_fork_while_other_threads_take_and_give():
    # The lock is held across fork(), so a child never finds it taken by
    # a thread that it does not have.
    code = textwrap.dedent("""
        import os, threading, numpy as np, pyconvx
        from pyconvx import _workspace
        x = np.ones((1, 16, 12, 12), np.float32)
        w = np.ones((16, 16, 3, 3), np.float32)
        want = pyconvx.conv2d(x, w, padding=1, workers=2)
        stop = threading.Event()

        def churn(n_bytes):
            while not stop.is_set():
                _workspace._churn(n_bytes, 2000)

        busy = [threading.Thread(target=churn, args=(n,))
                for n in (100000, 70000)]
        for t in busy:
            t.start()
        codes = []
        for _ in range(20):
            pid = os.fork()
            if pid == 0:
                _workspace._take_give([100000, 200000])
                got = pyconvx.conv2d(x, w, padding=1, workers=2)
                os._exit(0 if np.array_equal(got, want) else 3)
            codes.append(os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]))
        stop.set()
        for t in busy:
            t.join()
        print(codes.count(0))
    """)
    proc = subprocess.run([sys.executable, "-P", "-c", code],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "20"
