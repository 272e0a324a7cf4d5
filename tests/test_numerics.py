"""The numerics the docstrings promise: accumulation precision and order,
integer wrap-around, NaN/Inf propagation, and `out=` on errors.

Complements tests/test_signal_oracle.py (bit-identity with scipy on random
data), tests/test_conv2d.py and tests/test_pool.py (max-pool NaN/tie/-inf
rules, integer averages), which already pin the rest of the Notes sections.
Each case here is built so that a different precision or summation order
would give a different answer; oracles are scipy.signal, torch (when
installed) and NumPy straight from the definition.
"""

import signal
import threading
import warnings

import numpy as np
import pytest
from numpy.lib.stride_tricks import sliding_window_view
from scipy import signal as scipy_signal

import pyconvx
from _helpers import FUNCTIONS, MODES, assert_identical
from pyconvx import avg_pool2d, conv2d, max_pool2d

F32 = np.float32
BIG = 1e8            # float32 spacing at 1e8 is 8: 1e8 + 4 rounds to 1e8


def _window_touches(mask, k, pad, stride=1):
    """Which outputs have a window of k x k taps (input padded by `pad`
    on every side, never NaN) that covers a True of `mask`."""
    padded = np.pad(mask, pad, constant_values=False)
    return sliding_window_view(padded, (k, k))[::stride, ::stride].any(
        axis=(-2, -1))


# -- correlate2d / convolve2d ----------------------------------------------

@pytest.mark.parametrize("name", FUNCTIONS)
@pytest.mark.parametrize("dtype,expected", [
    ("f4", 0.0), ("f8", 3.0), ("g", 3.0), ("c8", 0.0), ("c16", 3.0)],
    ids=["float32", "float64", "longdouble", "complex64", "complex128"])
def test_signal_accumulates_in_the_result_dtype(name, dtype, expected):
    # The float32 window [1e8, 1, 1, 1, -1e8] cancels to 0.0: no wider
    # accumulator, exactly as scipy.
    a = np.array([[BIG, 1, 1, 1, -BIG]], dtype)
    k = np.ones((1, 5), dtype)
    out = getattr(pyconvx, name)(a, k, "valid")
    assert out.dtype == dtype and out.tolist() == [[expected]]
    assert_identical(out, getattr(scipy_signal, name)(a, k, "valid"))


@pytest.mark.parametrize("name", FUNCTIONS)
@pytest.mark.parametrize("kernel,expected", [
    # A group of four is summed first, then added: 1e8 + (4 + 4).
    ([[BIG, 0, 0, 0, 4, 4, 0, 0]], BIG + 8),
    # The last kW % 4 products are added one at a time: (1e8 + 4) + 4.
    ([[BIG, 0, 0, 0, 4, 4]], BIG),
    # Within a group, left to right: ((1e8 + 4) + 4) + 0.
    ([[BIG, 4, 4, 0]], BIG),
    # Kernel rows one after another, each added to the running sum.
    ([[BIG, 0, 0, 0], [4, 4, 0, 0]], BIG + 8),
    ([[BIG], [4], [4]], BIG),
], ids=["group", "tail", "in-group", "rows-group", "rows-tail"])
def test_signal_summation_order_is_scipys(name, kernel, expected):
    # An image of ones: the products are the kernel's entries, taken in
    # the kernel's order for both functions (convolution flips the image
    # positions, not the order of the sum).
    k = np.array(kernel, F32)
    a = np.ones(k.shape, F32)
    out = getattr(pyconvx, name)(a, k, "valid")
    assert out.dtype == F32 and out.tolist() == [[expected]]
    assert_identical(out, getattr(scipy_signal, name)(a, k, "valid"))
    # 'valid' with the kernel passed first: the inputs are swapped, and the
    # sum follows the order of the (new) kernel, in1.
    a2 = np.ones((k.shape[0] + 1, k.shape[1]), F32)
    out = getattr(pyconvx, name)(k, a2, "valid")
    assert out.tolist() == [[expected], [expected]]
    assert_identical(out, getattr(scipy_signal, name)(k, a2, "valid"))


@pytest.mark.parametrize("name", FUNCTIONS)
@pytest.mark.parametrize("dtype,a,k,mode,expected", [
    ("i1", [[100]], [[100]], "full", [[16]]),                 # 10000 % 256
    ("u1", [[200]], [[2]], "full", [[144]]),                  # 400 % 256
    ("i1", [[100, 100]], [[1, 1]], "valid", [[-56]]),         # the sum wraps
    ("i2", [[300]], [[300]], "full", [[24464]]),              # 90000 % 65536
    ("u2", [[65535]], [[2]], "full", [[65534]]),             # 131070 % 65536
    ("i4", [[2**31 - 1]], [[2]], "full", [[-2]]),
    ("i8", [[2**63 - 1]], [[2]], "full", [[-2]]),
    ("u8", [[2**63]], [[2]], "full", [[0]]),
], ids=["int8-product", "uint8-product", "int8-sum", "int16-product",
        "uint16-product", "int32-product", "int64-product", "uint64-product"])
def test_signal_integers_wrap_around_silently(name, dtype, a, k, mode,
                                              expected):
    a, k = np.array(a, dtype), np.array(k, dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("error")          # silently: no warning
        out = getattr(pyconvx, name)(a, k, mode)
    assert out.dtype == np.dtype(dtype) and out.tolist() == expected
    assert_identical(out, getattr(scipy_signal, name)(a, k, mode))


@pytest.mark.parametrize("name", FUNCTIONS)
@pytest.mark.parametrize("dtype", ["f4", "f8", "g", "c8", "c16"])
@pytest.mark.parametrize("mode", MODES)
def test_signal_nan_reaches_every_window_touching_it(name, dtype, mode):
    a = np.ones((6, 6), dtype)
    a[2, 3] = np.nan
    k = np.ones((3, 3), dtype)
    out = getattr(pyconvx, name)(a, k, mode)
    pad = {"valid": 0, "same": 1, "full": 2}[mode]
    want = _window_touches(np.isnan(a), 3, pad)
    np.testing.assert_array_equal(np.isnan(out), want)
    assert np.isnan(out).sum() == 9
    assert not np.isnan(out[~want]).any() and (out[~want] != 0).all()
    assert_identical(out, getattr(scipy_signal, name)(a, k, mode))


@pytest.mark.parametrize("name", FUNCTIONS)
@pytest.mark.parametrize("dtype", ["f4", "f8", "g"])
def test_signal_inf_times_zero_and_opposite_infinities(name, dtype):
    func = getattr(pyconvx, name)
    ref = getattr(scipy_signal, name)
    # An infinite input under a zero kernel entry: 0 * inf = NaN.
    a = np.array([[1, np.inf, 1]], dtype)
    k = np.array([[1, 0]], dtype)
    out = func(a, k, "valid")
    # correlate2d pairs a[j + n] with k[n]; convolve2d a[j + 1 - n] with k[n].
    want = [[np.nan, np.inf]] if name == "correlate2d" else [[np.inf, np.nan]]
    np.testing.assert_array_equal(out, np.array(want, dtype))
    assert_identical(out, ref(a, k, "valid"))
    # An infinite kernel entry over the zero fill: NaN where the fill meets
    # it, inf where only real elements do.
    a = np.ones((1, 2), dtype)
    k = np.array([[np.inf, 1]], dtype)
    out = func(a, k, "full")
    want = ([[np.nan, np.inf, np.inf]] if name == "correlate2d"
            else [[np.inf, np.inf, np.nan]])
    np.testing.assert_array_equal(out, np.array(want, dtype))
    assert_identical(out, ref(a, k, "full"))
    # +inf and -inf in one window: NaN.
    a = np.array([[np.inf, -np.inf, 1]], dtype)
    out = func(a, np.ones((1, 2), dtype), "valid")
    np.testing.assert_array_equal(out, np.array([[np.nan, -np.inf]], dtype))
    assert_identical(out, ref(a, np.ones((1, 2), dtype), "valid"))


# -- conv2d --------------------------------------------------------------------

CONV_DTYPES = ["f2", "f4", "f8"]


@pytest.mark.parametrize("dtype", CONV_DTYPES)
def test_conv2d_nan_reaches_27_outputs(dtype):
    x = np.ones((1, 1, 6, 6), dtype)
    x[0, 0, 2, 3] = np.nan
    out = conv2d(x, np.ones((3, 1, 3, 3), dtype))
    assert out.dtype == dtype and np.isnan(out).sum() == 27
    want = _window_touches(np.isnan(x[0, 0]), 3, 0)
    for co in range(3):
        np.testing.assert_array_equal(np.isnan(out[0, co]), want)
        np.testing.assert_array_equal(out[0, co][~want], 9)


@pytest.mark.parametrize("dtype", CONV_DTYPES)
def test_conv2d_inf_times_zero_and_opposite_infinities(dtype):
    # An infinite input under a zero weight.
    x = np.ones((1, 1, 3, 3), dtype)
    x[0, 0, 1, 1] = np.inf
    w = np.ones((2, 1, 3, 3), dtype)
    w[0, 0, 1, 1] = 0
    out = conv2d(x, w)
    assert np.isnan(out[0, 0, 0, 0]) and out[0, 1, 0, 0] == np.inf
    # An infinite weight over zero padding.
    x = np.ones((1, 1, 2, 2), dtype)
    w = np.array([[[[np.inf, 1], [1, 1]]]], dtype)
    out = conv2d(x, w, padding=1)[0, 0]
    want = np.array([[np.nan] * 3, [np.nan, np.inf, np.inf],
                     [np.nan, np.inf, np.inf]], dtype)
    np.testing.assert_array_equal(out, want)
    # +inf and -inf in one window.
    x = np.array([[[[np.inf, -np.inf, 1]]]], dtype)
    out = conv2d(x, np.ones((1, 1, 1, 2), dtype))
    np.testing.assert_array_equal(out, np.array([[[[np.nan, -np.inf]]]], dtype))


# The window [a, 1, 1, 1, -a] along each axis the sum runs over.
LAYOUTS = {
    "columns": ((1, 1, 1, 5), (1, 1, 1, 5)),
    "rows": ((1, 1, 5, 1), (1, 1, 5, 1)),
    "channels": ((1, 5, 1, 1), (1, 5, 1, 1)),        # the pointwise path
    "channels-3x3": ((1, 5, 3, 3), (1, 5, 3, 3)),
}


def _along(values, layout, dtype):
    """Input and weight whose single output sums values[i] * 1, the values
    lying along `layout` in the weight's order (input channel, kernel row,
    kernel column); for "channels-3x3" every other tap is 0 * 0."""
    x_shape, w_shape = LAYOUTS[layout]
    x = np.zeros(x_shape, dtype)
    w = np.zeros(w_shape, dtype)
    if layout == "channels-3x3":
        x[0, :, 1, 1] = values
        w[0, :, 1, 1] = 1
    else:
        x.reshape(-1)[:] = values
        w[...] = 1
    return x, w


@pytest.mark.parametrize("layout", list(LAYOUTS))
@pytest.mark.parametrize("dtype,a,expected", [
    ("f2", 2048, 3.0),      # float16 summed in float32 (in float16: 0)
    ("f4", BIG, 0.0),       # float32 in float32 (in float64: 3)
    ("f8", BIG, 3.0),
])
def test_conv2d_accumulation_precision(layout, dtype, a, expected):
    x, w = _along([a, 1, 1, 1, -a], layout, dtype)
    out = conv2d(x, w)
    assert out.dtype == dtype and out.reshape(-1).tolist() == [expected]


@pytest.mark.parametrize("layout", list(LAYOUTS))
def test_conv2d_summation_order(layout):
    # Sequential, in the weight's order: (1e8 + 4) + 4 = 1e8, where any
    # other order -- (4 + 4) + 1e8 -- gives 1e8 + 8.  The products are
    # exact, so a fused multiply-add changes nothing here.
    x, w = _along([BIG, 4, 4, 0, 0], layout, F32)
    assert conv2d(x, w).reshape(-1).tolist() == [BIG]
    x, w = _along([0, 0, 0, 4, 4], layout, F32)
    assert conv2d(x, w).reshape(-1).tolist() == [8.0]
    # The bias comes first: 1e8 + 4 + 4 = 1e8, not 1e8 + (4 + 4).
    out = conv2d(x, w, bias=np.array([BIG], F32))
    assert out.reshape(-1).tolist() == [BIG]


def _fully_connected_order(x, w, lanes):
    """The documented sum of a 1x1 layer on a few positions, straight from
    its definition, in x's dtype: L = `lanes` interleaved partial sums in
    order, then the last C_in % L products in order (no bias)."""
    c = x.size
    full = c - c % lanes
    s = x.dtype.type(0)
    for i in range(lanes):
        part = x.dtype.type(0)
        for k in range(i, full, lanes):
            part += w[k] * x[k]
        s += part
    for k in range(full, c):
        s += w[k] * x[k]
    return s


@pytest.mark.parametrize("dtype,lanes,big,half", [
    (np.float32, 16, BIG, 4.0), (np.float64, 8, 2.0**56, 8.0)])
@pytest.mark.parametrize("n", [1, 4])
def test_conv2d_fully_connected_summation_order(dtype, lanes, big, half, n):
    # 1x1 on at most four positions: interleaved partial sums, then the
    # tail.  big + half rounds to big, so the sequential order loses the
    # halves of channels 1 and 1 + L, where their partial sum keeps them.
    # The products are exact (weights 1 and 2), fused multiply-adds or not.
    c = 2 * lanes + 3
    x = np.zeros((n, c, 1, 1), dtype)
    x[:, [0, 1, 1 + lanes, 2 * lanes + 1], 0, 0] = [big, half, half, half]
    w = np.ones((3, c, 1, 1), dtype)
    w[1, 2 * lanes + 1] = 2
    for workers in (1, 2):
        out = conv2d(x, w, workers=workers)
        for o in range(3):
            want = _fully_connected_order(x[0, :, 0, 0], w[o, :, 0, 0], lanes)
            assert out[:, o].reshape(-1).tolist() == [want] * n
    sequential = dtype(0)
    for k in range(c):
        sequential += x[0, k, 0, 0]
    assert sequential == big and out[0, 0, 0, 0] > big


def test_conv2d_out_untouched_by_invalid_arguments():
    x = np.ones((1, 2, 5, 5), F32)
    w = np.ones((3, 2, 3, 3), F32)
    out = np.full((1, 3, 3, 3), -7.0, F32)
    bad = [dict(bias=np.ones(2, F32)), dict(padding_mode="bogus"),
           dict(stride=0), dict(groups=2), dict(workers=0),
           dict(padding="same", stride=2), dict(workers=1.5)]
    for kwargs in bad:
        with pytest.raises((ValueError, TypeError)):
            conv2d(x, w, out=out, **kwargs)
        assert (out == -7.0).all(), kwargs
    assert conv2d(x, w, out=out) is out and (out == 18).all()


@pytest.mark.skipif(not hasattr(signal, "setitimer"), reason="POSIX timers")
def test_conv2d_out_partially_written_on_keyboard_interrupt():
    if threading.current_thread() is not threading.main_thread():
        pytest.skip("signal handlers need the main thread")
    # About half a second of work on one thread here.  The kernel runs its
    # work items in waves and lets Python signal handlers run between them;
    # the handler below plays Ctrl-C as soon as a first wave has written
    # something, so the call stops midway with `out` partly written.
    x = np.ones((8, 32, 132, 132), F32)
    w = np.ones((32, 32, 9, 9), F32)
    out = np.full((8, 32, 124, 124), -1.0, F32)

    fired = []

    def interrupt(signum, frame):
        # Once only (the timer repeats until cancelled below), and only
        # after the first work item has run.
        if not fired and out[0, 0, 0, 0] != -1.0:
            fired.append(True)
            raise KeyboardInterrupt

    previous = signal.signal(signal.SIGALRM, interrupt)
    try:
        signal.setitimer(signal.ITIMER_REAL, 0.005, 0.005)
        with pytest.raises(KeyboardInterrupt):
            conv2d(x, w, out=out, workers=1)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    written = out == 32 * 81
    assert ((out == -1.0) | written).all()
    assert written.any() and not written.all()


# -- avg_pool2d / max_pool2d ------------------------------------------------

@pytest.mark.parametrize("window,expected", [
    # Columns first, from the top: (1e8 + 4) and (4 + 4), then 1e8 + 8.
    ([[BIG, 4], [4, 4]], (BIG + 8) / 4),
    # Column sums left to right: (1e8 + 4) + 4 = 1e8.
    ([[BIG, 4, 4]], BIG / 3),
    # Down a column: (1e8 + 4) + 4 = 1e8.
    ([[BIG], [4], [4]], BIG / 3),
], ids=["2x2", "1x3", "3x1"])
def test_avg_pool2d_summation_order(window, expected):
    x = np.array([window], F32)
    out = avg_pool2d(x, x.shape[1:])
    assert out.dtype == F32 and out.item() == F32(expected)


@pytest.mark.parametrize("func", ["max", "avg"])
@pytest.mark.parametrize("dtype", ["f2", "f4", "f8"])
@pytest.mark.parametrize("padding", [0, 1])
def test_pool_nan_reaches_every_window_touching_it(func, dtype, padding):
    x = np.ones((2, 6, 6), dtype)
    x[1, 2, 3] = np.nan
    kwargs = dict(kernel_size=3, stride=1, padding=padding)
    outs = ([max_pool2d(x, **kwargs)] if func == "max" else
            [avg_pool2d(x, **kwargs, count_include_pad=c) for c in (True, False)])
    want = _window_touches(np.isnan(x[1]), 3, padding)
    for out in outs:
        assert out.dtype == dtype and np.isnan(out).sum() == 9
        assert not np.isnan(out[0]).any()
        np.testing.assert_array_equal(np.isnan(out[1]), want)


# -- against torch ------------------------------------------------------------

@pytest.mark.parametrize("dtype,expected", [("f4", 0.0), ("f8", 3.0)])
def test_cancellation_like_torch(dtype, expected):
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    row = np.array([BIG, 1, 1, 1, -BIG], dtype)
    x = row.reshape(1, 1, 1, 5)
    w = np.ones((1, 1, 1, 5), dtype)
    ours = conv2d(x, w)
    theirs = F.conv2d(torch.from_numpy(x), torch.from_numpy(w)).numpy()
    assert ours.item() == theirs.item() == expected
    ours = avg_pool2d(x, (1, 5))
    theirs = F.avg_pool2d(torch.from_numpy(x), (1, 5)).numpy()
    assert ours.item() == theirs.item() == np.dtype(dtype).type(expected / 5)


def test_nan_counts_like_torch():
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    x = np.ones((1, 1, 6, 6))
    x[0, 0, 2, 3] = np.nan
    w = np.ones((3, 1, 3, 3))
    theirs = F.conv2d(torch.from_numpy(x), torch.from_numpy(w)).numpy()
    np.testing.assert_array_equal(np.isnan(conv2d(x, w)), np.isnan(theirs))
    assert np.isnan(theirs).sum() == 27
    for p in (0, 1):
        t = torch.from_numpy(x)
        np.testing.assert_array_equal(
            np.isnan(max_pool2d(x, 3, 1, p)),
            np.isnan(F.max_pool2d(t, 3, 1, p).numpy()))
        np.testing.assert_array_equal(
            np.isnan(avg_pool2d(x, 3, 1, p)),
            np.isnan(F.avg_pool2d(t, 3, 1, p).numpy()))


def test_avg_pool2d_order_differs_from_torch_by_rounding_only():
    torch = pytest.importorskip("torch")
    x = np.array([[[BIG, 4], [4, 4]]], F32)
    ours = avg_pool2d(x, 2).item()
    theirs = torch.nn.functional.avg_pool2d(torch.from_numpy(x), 2).item()
    # torch sums row by row: ((1e8 + 4) + 4) + 4 = 1e8.
    assert (ours, theirs) == (F32((BIG + 8) / 4), F32(BIG / 4))
    assert abs(ours - theirs) <= 4 * np.finfo(F32).eps * abs(theirs)
