"""Inputs of more than 2**31 elements, and results too big for memory.

The big inputs are real arrays (2-9 GiB): every offset past 2**31 must be
computed in 64 bits.  Each result is checked on its first and last rows
against an independent reference on the matching slice of the input.
"""

import numpy as np
import pytest
from scipy import signal

import pyconvx
from _conv_oracle import assert_conv_close, conv2d_oracle
from _pool_oracle import ref_max_pool2d

BIG_ROWS, BIG_COLS = 2**16 + 1, 2**15      # 2**31 + 2**15 elements


def _free_bytes():
    try:
        with open("/proc/meminfo") as f:
            info = dict(line.split(":", 1) for line in f)
        return int(info["MemAvailable"].split()[0]) * 1024
    except (OSError, KeyError, ValueError):
        return 0


def _need(gib):
    if _free_bytes() < gib * 2**30:
        pytest.skip(f"needs {gib} GiB of free memory")


def _big(dtype, rng):
    """A (BIG_ROWS, BIG_COLS) array of varied values, filled in slabs."""
    a = np.empty((BIG_ROWS, BIG_COLS), dtype)
    slab = rng.integers(0, 256, (4096, BIG_COLS)).astype(dtype)
    for r in range(0, BIG_ROWS, 4096):
        n = min(4096, BIG_ROWS - r)
        # Roll so no two slabs match: a wrong row offset changes the result.
        a[r:r + n] = np.roll(slab[:n], r // 4096, axis=1)
    return a


@pytest.mark.slow
def test_correlate2d_over_2_31_elements(rng):
    _need(6)
    a = _big(np.uint8, rng)
    k = np.array([[1, 2], [3, 4]], np.uint8)
    out = pyconvx.correlate2d(a, k, "valid")
    assert out.shape == (BIG_ROWS - 1, BIG_COLS - 1)
    for r0 in (0, BIG_ROWS - 200):
        want = signal.correlate2d(a[r0:r0 + 200], k, "valid")
        np.testing.assert_array_equal(out[r0:r0 + 199], want)


@pytest.mark.slow
def test_max_pool2d_over_2_31_elements_with_indices(rng):
    _need(8)
    x = _big(np.uint8, rng)[None, None]
    # ceil_mode: the last window holds the last row alone, past 2**31.
    out, idx = pyconvx.max_pool2d(x, 2, ceil_mode=True, return_indices=True)
    oh = BIG_ROWS // 2 + 1
    assert out.shape == (1, 1, oh, BIG_COLS // 2)
    assert idx[0, 0, -1, 0] == (BIG_ROWS - 1) * BIG_COLS + np.argmax(x[0, 0, -1, :2])
    np.testing.assert_array_equal(x.reshape(-1)[idx[0, 0, -64:]],
                                  out[0, 0, -64:])
    # Corners of the plane (the reference is a slow Python loop).
    for r0 in (0, oh - 64):
        for c0 in (0, BIG_COLS // 2 - 128):
            part = x[:, :, 2 * r0:2 * r0 + 128, 2 * c0:2 * c0 + 256]
            want, want_idx = ref_max_pool2d(part, 2, ceil_mode=True)
            rows, cols = want_idx // 256 + 2 * r0, want_idx % 256 + 2 * c0
            np.testing.assert_array_equal(
                out[:, :, r0:r0 + 64, c0:c0 + 128], want)
            np.testing.assert_array_equal(
                idx[:, :, r0:r0 + 64, c0:c0 + 128], rows * BIG_COLS + cols)


@pytest.mark.slow
def test_conv2d_over_2_31_elements(rng):
    _need(12)
    x = _big(np.float32, rng)[None, None]
    w = rng.standard_normal((2, 1, 3, 3)).astype(np.float32)
    out = pyconvx.conv2d(x, w, stride=8, padding=1)
    oh, ow = (BIG_ROWS + 2 - 3) // 8 + 1, (BIG_COLS + 2 - 3) // 8 + 1
    assert out.shape == (1, 2, oh, ow)
    for r0 in (0, oh - 16):
        # Output rows r0..r0+15 read input rows 8*r0-1 .. 8*(r0+15)+1.
        lo, hi = 8 * r0 - 1, 8 * (r0 + 15) + 2
        part = x[:, :, max(lo, 0):min(hi, BIG_ROWS)]
        pads = (max(-lo, 0), max(hi - BIG_ROWS, 0), 1, 1)
        want, bound = conv2d_oracle(part, w, None, (8, 8), pads, (1, 1), 1,
                                    "zeros")
        assert want.shape[2] == 16
        assert_conv_close(out[:, :, r0:r0 + 16], want, bound, 9, np.float32)


BROADCAST = np.broadcast_to(np.float32(1), (2**20, 2**20))   # 4 TiB if copied


@pytest.mark.parametrize("call", [
    lambda: pyconvx.correlate2d(BROADCAST, [[1.0]]),
    lambda: pyconvx.convolve2d(np.ones((3, 3)), BROADCAST, "full"),
    lambda: pyconvx.conv2d(BROADCAST[None, None], np.ones((1, 1, 1, 1))),
    lambda: pyconvx.conv2d(np.ones((1, 1, 4, 4)), np.ones((1, 1, 1, 1)),
                           padding=2**20),
    lambda: pyconvx.max_pool2d(BROADCAST[None, None], 1),
    lambda: pyconvx.avg_pool2d(BROADCAST[None, None], 2),
], ids=["correlate2d", "convolve2d", "conv2d", "conv2d-padding",
        "max_pool2d", "avg_pool2d"])
def test_results_too_big_for_memory_raise_memory_error(call):
    with pytest.raises(MemoryError):
        call()
