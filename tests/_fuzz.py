"""Hostile-argument properties for every public function of pyconvx, and the
subprocess harness that runs each of them in a fresh interpreter.

Not collected by pytest (leading underscore); tests/test_never_crash.py runs
each property in a child interpreter (:func:`start_property`,
:func:`property_stats`), so that a segfault, an abort or a hang fails one
test instead of taking pytest down.

The contract
------------
Each call either returns a result equal to an independent oracle, or raises
ValueError, TypeError, OverflowError or MemoryError.  Anything else -- another
exception (IndexError, ZeroDivisionError, SystemError...), a warning (the
NCHW face must emit none; the scipy face exactly scipy's), a crash or a hang
-- is a failure.  The oracles:

* correlate2d, convolve2d: scipy.signal, bit for bit, including the exception
  type and message and the warnings (`_helpers.assert_same_outcome`).  scipy
  is never called where it would crash (`_helpers.scipy_crashes`; pyconvx
  must raise ValueError there) or loop for ages (an empty kernel with ~2**40
  rows: a stand-in kernel with the same dtype gives scipy's answer).
* conv2d: `_conv_oracle.conv2d_oracle` with the tolerance of test_conv2d.py.
* max_pool2d, avg_pool2d: `_pool_oracle` as test_pool.py compares them.
* conv_output_size, conv2d_output_shape, pool2d_output_shape: the formula.

For the last four faces an argument checker written from the documented
rules (torch's for the NCHW face) predicts, for each case, the exceptions a
rejection may use (a set: with several faults, any of their exceptions).
Where it finds no fault the call must succeed and match the oracle; only
MemoryError (for inputs no machine could copy) and OverflowError (for sizes
beyond pyconvx's limit of 2**48, `_shapes._MAX_SIZE`) may stand in for it.

Memory
------
Arrays that get computed are tiny.  "Huge" arguments are zero-stride views or
sizes that would make pyconvx allocate at least 2**47 bytes (more than any
machine can map, so MemoryError or NumPy's "array is too big"); a case whose
allocations would fall between 64 MiB and that is rejected by `_guard` before
anything is called.
"""

import functools
import json
import math
import operator
import os
import re
import signal as _signal
import subprocess
import sys
import tempfile
import time
import warnings
from collections import Counter
from pathlib import Path

import numpy as np
from hypothesis import HealthCheck, given, reject, settings
from hypothesis import strategies as st
from numpy.lib.stride_tricks import as_strided

import pyconvx
from _pool_oracle import (assert_avg_close, avg_tolerance, pool_len,
                          random_input, ref_avg_pool2d, ref_max_pool2d)

TESTS_DIR = Path(__file__).resolve().parent
ALLOWED = (ValueError, TypeError, OverflowError, MemoryError)
BIG = (MemoryError, ValueError, OverflowError)   # what a huge allocation may raise
MAX_SIZE = 2**48        # pyconvx refuses size arguments beyond this
SMALL_ELEMENTS = 2**20  # anything computed stays below this (8 MiB of float64)
HUGE_ELEMENTS = 2**47   # ... or is at least this large, so allocating it fails

# Examples per property: the module takes ~35 s on two cores (the children
# run side by side), well within its ~60 s budget.
MAX_EXAMPLES = {
    "correlate2d": 500, "convolve2d": 500, "conv2d": 400, "max_pool2d": 400,
    "avg_pool2d": 400, "conv_output_size": 1000, "conv2d_output_shape": 500,
    "pool2d_output_shape": 500,
}

# With an empty in1 and an empty in2, boundary 'wrap' or 'symm' and a
# non-empty output (e.g. shapes (0, 2) and (2, 0), mode 'full'), scipy
# crashes (SIGFPE); pyconvx returns the empty sum, zeros, as documented.


# -- the subprocess harness -------------------------------------------------

class ChildFailure(AssertionError):
    """A child interpreter crashed, failed, or ran past its timeout."""


def _describe_exit(returncode):
    if returncode < 0:
        try:
            name = _signal.Signals(-returncode).name
        except ValueError:
            name = f"signal {-returncode}"
        return f"child was killed by signal {name}"
    return f"child exited with status {returncode}"


class Child:
    """A child interpreter running ``code`` (``python -P -c``) with this
    process's environment, so that AddressSanitizer's LD_PRELOAD and
    options reach it, and with tests/ on sys.path.  Its output goes to a
    file: a long failure report cannot block it on a full pipe."""

    def __init__(self, code, timeout=300):
        prologue = f"import sys; sys.path.insert(0, {str(TESTS_DIR)!r})\n"
        cmd = [sys.executable, "-P", "-X", "faulthandler", "-c", prologue + code]
        self.timeout = timeout
        self.deadline = time.monotonic() + timeout
        self._log = tempfile.TemporaryFile()
        self._proc = subprocess.Popen(cmd, env=dict(os.environ),
                                      stdout=self._log, stderr=subprocess.STDOUT)

    def _output(self):
        self._log.seek(0)
        out = self._log.read().decode(errors="replace")
        self._log.close()
        return out

    def finish(self, tail=8000):
        """The child's output once it exits with status 0; ChildFailure,
        with the tail of its output, if it fails, crashes or runs past its
        timeout (it is then killed)."""
        try:
            self._proc.wait(timeout=max(0.0, self.deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            self._stop()
            raise ChildFailure(f"child timed out after {self.timeout} s\n"
                               f"--- output tail ---\n{self._output()[-tail:]}"
                               ) from None
        out = self._output()
        if self._proc.returncode != 0:
            raise ChildFailure(f"{_describe_exit(self._proc.returncode)}\n"
                               f"--- output tail ---\n{out[-tail:]}")
        return out

    def _stop(self):
        if self._proc.poll() is None:
            self._proc.kill()
            self._proc.wait()

    def kill(self):
        """Stop the child if it still runs (a test that never waited)."""
        self._stop()
        if not self._log.closed:
            self._log.close()


def check_child(code, timeout=300):
    """Run ``code`` in a child (see Child); return its output or raise
    ChildFailure."""
    return Child(code, timeout).finish()


def _profile_settings():
    """The parent's loaded hypothesis profile (tests/conftest.py's), as the
    keyword arguments that rebuild it in the child."""
    s = settings.default
    return {"derandomize": s.derandomize, "print_blob": s.print_blob,
            "deadline": None if s.deadline is None
            else s.deadline.total_seconds() * 1000,
            "suppress_health_check": [h.name for h in s.suppress_health_check]}


def start_property(name, timeout=300):
    """Start a child running property ``name``; see property_stats."""
    args = json.dumps({"name": name, "pyconvx": pyconvx.__file__,
                       "settings": _profile_settings()})
    return Child(f"import _fuzz; _fuzz.child_main({args!r})", timeout)


def property_stats(child):
    """The statistics (a dict) a property's child printed, once it passed."""
    out = child.finish()
    for line in out.splitlines():
        if line.startswith("FUZZ-STATS "):
            return json.loads(line[len("FUZZ-STATS "):])
    raise ChildFailure(f"child printed no statistics\n{out[-4000:]}")


def child_main(args):
    """Entry point of the child: load the parent's profile, run a property."""
    args = json.loads(args)
    if os.path.realpath(pyconvx.__file__) != os.path.realpath(args["pyconvx"]):
        raise RuntimeError(f"child imported {pyconvx.__file__}, the parent "
                           f"{args['pyconvx']}")
    kw = dict(args["settings"])
    kw["suppress_health_check"] = [HealthCheck[h]
                                   for h in kw["suppress_health_check"]]
    settings.register_profile("never-crash-child", **kw)
    settings.load_profile("never-crash-child")
    name = args["name"]
    test = settings(max_examples=MAX_EXAMPLES[name])(PROPERTIES[name])
    start, cpu = time.perf_counter(), time.process_time()
    test()
    STATS["seconds"] = round(time.perf_counter() - start, 2)
    STATS["cpu_seconds"] = round(time.process_time() - cpu, 2)
    STATS["property"] = name
    STATS["max_examples"] = MAX_EXAMPLES[name]
    STATS["derandomize"] = settings.default.derandomize
    print("FUZZ-STATS " + json.dumps(STATS), flush=True)


# -- judging one call ---------------------------------------------------------

STATS = {"examples": 0, "returned": 0, "must_succeed": 0, "shape_only": 0,
         "raised": Counter()}


def _call(fn, *args, **kwargs):
    """(result or exception, warning categories) of one call."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            result = fn(*args, **kwargs)
        except Exception as exc:  # noqa: BLE001 - judged by the caller
            result = exc
    return result, [w.category for w in caught]


def _record(result):
    STATS["examples"] += 1
    if isinstance(result, Exception):
        STATS["raised"][type(result).__name__] += 1
    else:
        STATS["returned"] += 1


def _check_allowed(result, what):
    if isinstance(result, Exception) and not (
            isinstance(result, ALLOWED) and not isinstance(result, LookupError)):
        raise AssertionError(f"{what} raised {type(result).__name__}, which is "
                             f"not allowed: {result!r}") from result


class Spec:
    """What the argument checker predicts for one call: the exceptions a
    rejection may use (``faults``: empty means the call is valid), the ones
    that may replace a valid result (``may_fail``, for huge allocations),
    and a ``check`` of a returned result."""

    def __init__(self):
        self.faults = set()
        self.may_fail = set()
        self.check = None
        self.note = []

    def fault(self, *excs, why=""):
        self.faults.update(excs)
        self.note.append(why)

    def judge(self, result, what):
        _record(result)
        _check_allowed(result, what)
        if isinstance(result, Exception):
            ok = tuple(self.faults | self.may_fail)
            if not self.faults and not self.may_fail:
                raise AssertionError(f"{what} must succeed, raised {result!r}")
            if not isinstance(result, ok):
                raise AssertionError(
                    f"{what} raised {result!r}, expected one of "
                    f"{sorted(e.__name__ for e in ok)} ({self.note})") from result
            return
        if self.faults:
            raise AssertionError(f"{what} returned instead of raising one of "
                                 f"{sorted(e.__name__ for e in self.faults)} "
                                 f"({self.note}); got {result!r}")
        if not self.may_fail:
            STATS["must_succeed"] += 1
        if self.check is not None:
            self.check(result)


def _no_warnings(categories, what):
    assert not categories, f"{what} warned: {categories}"


# -- hostile scalars ----------------------------------------------------------

HUGE_INTS = [2**31 - 1, 2**31, 2**32 + 1, 2**47, 2**48, 2**48 + 1, 2**62,
             2**63 - 1, 2**63, 2**64, 2**100, -2**31, -2**63, -2**63 - 1,
             -2**100]
NUMPY_INTS = [np.int8(3), np.uint8(255), np.int16(-2), np.int32(2), np.int64(1),
              np.uint64(2**64 - 1), np.intp(4), np.int64(-2**63)]
JUNK = [None, 1.5, 2.0, float("nan"), float("inf"), -0.0, True, False, np.True_,
        "2", "", "same", b"1", 1 + 0j, [], (), [[1]], {}, object(), np.float64(2.0),
        np.array(2), np.array([2]), np.array(2.0), np.array([[1, 2]]), range(2),
        [1, None], ["1", "2"], (1.5, 2)]
WORKERS = [None, 1, 2, 3, -1, -2, 0, -3, -1000, 10**6, 2**63, -2**63, 1.5, True,
           "2", np.int64(2), np.uint8(1), [2]]


@functools.lru_cache(maxsize=None)
def _one_in(n):
    """True about once in n draws (hypothesis favours 0: not that one)."""
    return st.integers(0, n - 1).map(lambda v: v == n - 1)


@st.composite
def _mostly(draw, good, bad, odds):
    return draw(bad) if draw(_one_in(odds)) else draw(good)


@functools.lru_cache(maxsize=None)
def mostly(good, bad, odds=5):
    """A draw from `good`, except about once in `odds`: from `bad`.
    (Strategies are cached: building them anew per draw is slow.)"""
    return _mostly(good, bad, odds)


WORKERS_ARG = mostly(st.sampled_from([None, 1, 2, -1]),
                     st.sampled_from(WORKERS), odds=6)

int_arg = st.one_of(st.integers(-2, 6), st.sampled_from(HUGE_INTS),
                    st.sampled_from(NUMPY_INTS), st.sampled_from(JUNK))


@functools.lru_cache(maxsize=None)
def size_arg(lo, hi, odds=5):
    """A size argument: mostly an int in [lo, hi], a pair, a 1-list or a
    NumPy integer; otherwise out of range, huge, junk or a sequence of the
    wrong length."""
    good = st.integers(lo, hi)
    forms = st.one_of(good, good, st.tuples(good, good),
                      st.lists(good, min_size=1, max_size=2),
                      good.map(np.int64))
    seq = st.lists(st.one_of(good, int_arg), min_size=0, max_size=3)
    return mostly(forms, st.one_of(int_arg, int_arg, seq, seq.map(tuple)),
                  odds)


def _as_int(v):
    """torch's integer argument: anything with __index__ except bools."""
    if isinstance(v, (bool, np.bool_)):
        raise TypeError
    return operator.index(v)


def _pair(v):
    """torch's _pair, or TypeError / ValueError like the documented rules."""
    if isinstance(v, (tuple, list)):
        if len(v) == 1:
            v = (v[0], v[0])
        if len(v) != 2:
            raise ValueError
        return tuple(_as_int(e) for e in v)
    n = _as_int(v)
    return (n, n)


def _check_pair(spec, v, name, minimum):
    """Normalise a size pair into spec; None when it is faulty."""
    try:
        pair = _pair(v)
    except (TypeError, ValueError) as exc:
        spec.fault(type(exc), why=f"{name}={v!r}")
        return None
    beyond = any(abs(p) > MAX_SIZE for p in pair)
    if beyond:
        # pyconvx refuses sizes beyond 2**48 (OverflowError); a valid one
        # may also give a result.
        spec.may_fail.add(OverflowError)
    if min(pair) < minimum:
        spec.fault(ValueError, *([OverflowError] if beyond else []),
                   why=f"{name}={pair}")
        return None
    return pair


def _check_workers(spec, workers):
    if workers is None:
        return
    try:
        n = _as_int(workers)
    except TypeError:
        spec.fault(TypeError, why=f"workers={workers!r}")
        return
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:
        cpus = os.cpu_count() or 1
    if n == 0 or n < -cpus:
        # Negative counts below minus the CPU count are refused (as scipy.fft).
        spec.fault(ValueError, why=f"workers={n}")


def _truth(spec, value, name):
    try:
        return bool(value)
    except Exception as exc:  # noqa: BLE001 - numpy's ambiguous truth value
        spec.fault(type(exc), why=f"bool({name})")
        return False


def _guard(*element_counts):
    """Reject a case where some allocation would be neither small nor
    certain to fail: the tests must never really allocate much."""
    for n in element_counts:
        if SMALL_ELEMENTS < n < HUGE_ELEMENTS:
            reject()


# -- hostile arrays -----------------------------------------------------------

NUMERIC = "biufc"


def _values(seed, shape, dtype, specials, pool=False):
    """Random data of any dtype; floats optionally salted with NaN, +-inf
    and -0.0."""
    from _helpers import random_array
    rng = np.random.default_rng(seed)
    dtype = np.dtype(dtype)
    native = dtype.newbyteorder("=") if dtype.byteorder in "<>" else dtype
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if pool and native.kind in "iuf":
            a = random_input(rng, shape, native, specials=specials)
        elif native.kind in "iufc":
            base = np.longdouble if native.kind == "f" and native.itemsize > 8 \
                else native
            if native.kind == "f" and native.itemsize == 2:
                a = (rng.standard_normal(shape) * 4).astype(native)
            else:
                a = random_array(rng, shape, base).astype(native)
            if specials and a.size and native.kind in "fc":
                for v in (np.nan, np.inf, -np.inf, -0.0):
                    a.flat[rng.integers(0, a.size, size=max(1, a.size // 8))] = v
        elif native.kind == "b":
            a = rng.integers(0, 2, size=shape).astype(bool)
        elif native.kind == "O":
            a = rng.integers(-3, 4, size=shape).astype(object)
        elif native.kind in "US":
            a = rng.integers(0, 10, size=shape).astype(native)
        elif native.kind in "mM":
            a = rng.integers(0, 100, size=shape).astype(native)
        else:
            a = np.zeros(shape, native)
        return a.astype(dtype)


@st.composite
def layout(draw, a):
    """``a`` (or equal data, or an array-like of it) in a hostile layout."""
    kinds = ["C", "C", "F", "strided", "reversed", "readonly", "broadcast",
             "list", "masked"]
    numeric = a.dtype.kind in NUMERIC
    if a.dtype.byteorder in "<>=" and a.dtype.itemsize > 1 and a.dtype.kind != "O":
        kinds.append("byteswap")
    if numeric:
        kinds += ["misaligned", "size1-strides", "negative-as-strided"]
        if a.ndim == 2:
            kinds.append("overlapping")
    kind = draw(st.sampled_from(kinds))
    if kind == "F":
        return np.asfortranarray(a)
    if kind == "strided" and a.ndim:
        return np.repeat(a, 2, axis=-1)[..., ::2]
    if kind == "reversed":
        flip = (slice(None, None, -1),) * a.ndim
        return np.ascontiguousarray(a[flip])[flip]
    if kind == "readonly":
        b = a.copy()
        b.flags.writeable = False
        return b
    if kind == "broadcast" and a.size:
        return np.broadcast_to(a.flat[0], a.shape)
    if kind == "list":
        return a.tolist()
    if kind == "masked":
        return np.ma.masked_array(a, mask=np.ones(a.shape, bool))
    if kind == "byteswap":
        return a.astype(a.dtype.newbyteorder("S"))
    if kind == "misaligned":
        buf = np.zeros(a.nbytes + 1, np.uint8)[1:]
        b = buf.view(a.dtype).reshape(a.shape) if a.size else a
        if a.size:
            b[...] = a
        return b
    if kind == "size1-strides" and 1 in a.shape:
        # numpy#32219: absurd strides on length-1 axes must never be used.
        big = draw(st.sampled_from([2**62, -2**62, 2**40, 0]))
        strides = [big if n == 1 else s for n, s in zip(a.shape, a.strides)]
        return as_strided(a, a.shape, strides, writeable=False)
    if kind == "negative-as-strided" and a.size:
        # The buffer read backwards: element 0 of the view is the last one.
        flat = np.ascontiguousarray(a).ravel()
        strides = [-s for s in np.ascontiguousarray(a).strides]
        return as_strided(flat[-1:], a.shape, strides, writeable=False)
    if kind == "overlapping" and a.size:
        # Rows that overlap in memory: row i starts at element i.
        h, w = a.shape
        base = _values(0, (h + w,), a.dtype, False)
        return as_strided(base, (h, w), (base.itemsize,) * 2, writeable=False)
    return a


HUGE_DIMS = [2**24, 2**31, 2**40, 2**48, 2**62]


@st.composite
def huge_view(draw, ndim, dtypes, dims=tuple(HUGE_DIMS)):
    """A zero-stride view over one element with an absurd shape: either
    empty with huge other axes, or at least HUGE_ELEMENTS elements."""
    dtype = np.dtype(draw(st.sampled_from(dtypes)))
    shape = [draw(st.sampled_from([1, 2, 3, *dims])) for _ in range(ndim)]
    if draw(st.booleans()):
        shape[draw(st.integers(0, ndim - 1))] = 0
    elif math.prod(shape) < HUGE_ELEMENTS:
        shape[draw(st.integers(0, ndim - 1))] = 2**48
    try:
        return as_strided(np.zeros(1, dtype), tuple(shape), (0,) * ndim,
                          writeable=False)
    except ValueError:      # beyond what numpy can describe
        reject()


def _asarray(spec, obj, name):
    """np.asarray as pyconvx does it, faults recorded; None if it fails."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return np.asarray(obj)
    except Exception as exc:  # noqa: BLE001 - ragged lists and the like
        spec.fault(type(exc), why=f"np.asarray({name})")
        return None


def _native(dtype):
    return dtype.newbyteorder("=") if dtype.byteorder in "<>" else dtype


def _is_huge(a):
    return a is not None and a.size >= HUGE_ELEMENTS


def _check_output_size(spec, shape, itemsize):
    """An output no machine holds must be refused (MemoryError), and so
    must an empty one beyond what NumPy can describe ("array is too big")."""
    if math.prod(shape) >= HUGE_ELEMENTS:
        spec.fault(*BIG, why="output too large")
    elif math.prod(n for n in shape if n) * itemsize >= 2**63:
        spec.fault(ValueError, why="empty output numpy cannot describe")
    elif math.prod(n for n in shape if n) * itemsize >= 2**59:
        spec.may_fail.add(ValueError)      # depends on the exact itemsize


# -- correlate2d / convolve2d -------------------------------------------------

SIGNAL_DTYPES = ([c for c in "bBhHiIlLqQ"] + ["f4", "f8", "g", "c8", "c16", "G"])
SIGNAL_HOSTILE_DTYPES = ["?", "e", "O", "U3", "S2", "M8[s]", "m8[s]", ">f8",
                         ">i4", ">c16", "<f4", "V8"]


@st.composite
def signal_operand(draw):
    kind = draw(mostly(st.just("numeric"), st.sampled_from(
        ["hostile-dtype", "junk", "wrong-ndim", "huge"]), odds=4))
    if kind == "junk":
        return draw(st.sampled_from(JUNK + [[[1, 2], [3]], [[1], [2, 3]]]))
    if kind == "huge":
        # No axis beyond 2**48: an empty (2**62, 0) array converted to a
        # wider type is "too big" for numpy, before scipy's loop, which the
        # stand-ins in _check_signal would not reproduce.
        return draw(huge_view(2, SIGNAL_DTYPES + ["?", "O"],
                              dims=(2**24, 2**31, 2**40, 2**48)))
    if kind == "wrong-ndim":
        ndim = draw(st.sampled_from([0, 1, 3, 5]))
        shape = tuple(draw(st.integers(0, 3)) for _ in range(ndim))
        return _values(0, shape, "f8", False)
    dtypes = SIGNAL_DTYPES if kind == "numeric" else SIGNAL_HOSTILE_DTYPES
    dtype = draw(st.sampled_from(dtypes))
    shape = (draw(st.integers(0, 6)), draw(st.integers(0, 6)))
    a = _values(draw(st.integers(0, 2**32 - 1)), shape, dtype,
                specials=draw(st.booleans()))
    return draw(layout(a))


FILLVALUES = [0, 1, -1, 2**64, 2**63, -2**63 - 1, 1.5, -0.0, float("nan"),
              float("inf"), 1j, 2 + 1j, np.float32(2.5), np.complex128(2 + 1j),
              np.int8(-1), np.uint64(7), np.float16(0.5), np.longdouble(3), [],
              [1, 2], [[3]], np.array([4.0]), np.zeros((1, 1, 1)), "x", "1.5",
              None, b"1", object(), True, np.datetime64(1, "s")]
MODES = ["full", "same", "valid"]
BAD_MODES = ["FULL", "", "bogus", None, 1, ["full"], np.str_("same"), b"full"]
BOUNDARIES = ["fill", "pad", "wrap", "circular", "symm", "symmetric"]
BAD_BOUNDARIES = ["reflect", "nearest", None, 0, ["fill"], "FILL", b"wrap"]
SIGNAL_MODE = mostly(st.sampled_from(MODES), st.sampled_from(BAD_MODES), odds=8)
SIGNAL_BOUNDARY = mostly(st.sampled_from(BOUNDARIES),
                         st.sampled_from(BAD_BOUNDARIES), odds=8)
FILLVALUE = mostly(st.one_of(st.just(0), st.integers(-3, 3),
                             st.floats(-10, 10, width=32)),
                   st.sampled_from(FILLVALUES), odds=3)
# Errors that scipy raises before pyconvx looks at `workers`.
FRONT_ERRORS = (r"inputs must both be 2-D arrays$", r"^For 'valid' mode",
                r"^Acceptable mode flags", r"^Acceptable boundary flags",
                r"^unhashable type", r"setting an array element")


@st.composite
def signal_case(draw):
    in1 = draw(signal_operand())
    if draw(st.booleans()) and isinstance(in1, np.ndarray) and in1.ndim == 2:
        # Mostly the same dtype: the interesting paths are the computing ones.
        shape = (draw(st.integers(0, 4)), draw(st.integers(0, 4)))
        in2 = draw(layout(_values(draw(st.integers(0, 2**32 - 1)), shape,
                                  in1.dtype, draw(st.booleans()))))
    else:
        in2 = draw(signal_operand())
    return dict(in1=in1, in2=in2, mode=draw(SIGNAL_MODE),
                boundary=draw(SIGNAL_BOUNDARY), fillvalue=draw(FILLVALUE),
                workers=draw(WORKERS_ARG))


def _scipy_shape(a1, a2, mode):
    """scipy's output shape (after its 'valid' swap); None if it refuses."""
    if mode == "valid":
        if not all(x >= y for x, y in zip(a1.shape, a2.shape)):
            if not all(y >= x for x, y in zip(a1.shape, a2.shape)):
                return None
            a1, a2 = a2, a1
    (h, w), (kh, kw) = a1.shape, a2.shape
    return {"full": (h + kh - 1, w + kw - 1), "same": (h, w),
            "valid": (h - kh + 1, w - kw + 1)}[mode]


def _scipy_cost(a1, a2, mode):
    """Iterations of scipy's loops: output rows, columns, kernel rows and
    columns, nested; it walks the rows of an empty output or kernel too."""
    out = _scipy_shape(a1, a2, mode)
    if out is None or min(out) < 0:
        return 0
    if mode == "valid" and not all(x >= y for x, y in zip(a1.shape, a2.shape)):
        a1, a2 = a2, a1
    kh, kw = a2.shape
    return out[0] * (1 + out[1] * (1 + kh * (1 + kw)))


def _stand_in(a):
    """The same dtype, every huge axis cut to one element."""
    return np.zeros(tuple(1 if n > 2**16 else n for n in a.shape), a.dtype)


def _check_signal(name, case):
    from _helpers import (assert_identical, assert_same_outcome, scipy_call,
                          scipy_crashes)

    fn = getattr(pyconvx, name)
    args = (case["in1"], case["in2"], case["mode"], case["boundary"],
            case["fillvalue"])
    a1 = _asarray(Spec(), case["in1"], "in1")
    a2 = _asarray(Spec(), case["in2"], "in2")
    workers = Spec()          # scipy has no `workers`: checked on its own
    _check_workers(workers, case["workers"])
    what = f"pyconvx.{name}"
    plain = (a1 is not None and a2 is not None and a1.ndim == a2.ndim == 2
             and isinstance(case["mode"], str) and case["mode"] in MODES)
    out_shape = _scipy_shape(a1, a2, case["mode"]) if plain else None
    out_size = math.prod(out_shape) if out_shape and min(out_shape) >= 0 else 0
    if plain:
        # What pyconvx and scipy allocate: converted inputs and the output.
        _guard(a1.size, a2.size, out_size)
    ours, our_warnings = _call(fn, *args, workers=case["workers"])
    _record(ours)
    _check_allowed(ours, what)

    known = (isinstance(case["boundary"], str)
             and case["boundary"] in BOUNDARIES)
    if plain and known and scipy_crashes(a1, a2, case["mode"], case["boundary"]):
        # scipy would die of SIGFPE; pyconvx raises ValueError instead.
        if a2.size == 0 and not isinstance(ours, Exception):
            assert ours.shape == out_shape and not ours.any(), ours
            return
        # (Converting a huge kernel or allocating a huge output fails first.)
        huge = _is_huge(a2) or out_size >= HUGE_ELEMENTS
        assert isinstance(ours, (ValueError, TypeError) + huge * (MemoryError,)
                          ), f"{what} did not raise where scipy crashes: {ours!r}"
        if (a1.dtype.kind in "iufc" and a2.dtype.kind in "iufc"
                and not workers.faults and not huge):
            assert re.search(r"^boundary .* cannot extend an empty array; use "
                             r"boundary=.fill.$", str(ours)), ours
        return
    empty_huge = plain and min(a1.size, a2.size) == 0 and not (
        _is_huge(a1) or _is_huge(a2))
    if empty_huge and out_size >= HUGE_ELEMENTS and not workers.faults:
        # No output of that size can exist (scipy agrees, slowly at times),
        # unless an error about the fill value or the types comes first:
        # the stand-ins say which.
        first = _call(scipy_call, name, _stand_in(a1), _stand_in(a2),
                      *args[2:])[0]
        if not (isinstance(ours, MemoryError) or re.search(
                r"^array is too big|^negative dimensions", str(ours))):
            assert_same_outcome(ours, first)
        return
    stand_in = empty_huge and _scipy_cost(a1, a2, case["mode"]) > 10**7
    theirs_args = args
    if stand_in:
        # An empty operand with ~2**40 rows: scipy walks them for ages.
        # With the huge axes cut to one element it gives the same dtype
        # and errors; the result is empty or all empty sums.
        theirs_args = (_stand_in(a1), _stand_in(a2), *args[2:])
    theirs, their_warnings = _call(scipy_call, name, *theirs_args)
    if (empty_huge and isinstance(theirs, MemoryError)
            and not isinstance(ours, Exception)):
        # scipy allocates per kernel column: MemoryError for an empty kernel
        # with ~2**40 columns, whose result pyconvx computes.
        stand_in = True
        theirs, their_warnings = _call(scipy_call, name, _stand_in(a1),
                                       _stand_in(a2), *args[2:])

    if workers.faults and not (isinstance(theirs, Exception) and any(
            re.search(p, str(theirs)) for p in FRONT_ERRORS)):
        # A bad `workers` is reported after scipy's argument checks, before
        # any conversion.
        assert isinstance(ours, tuple(workers.faults)), (ours, workers.note)
        assert re.search(r"^workers ", str(ours)), ours
        return
    if not isinstance(theirs, Exception):
        STATS["must_succeed"] += 1          # scipy computed a result
    if stand_in and not isinstance(theirs, Exception):
        # scipy's dtype; the output scipy would allocate (or fail to: numpy
        # refuses some empty shapes) before its loop, all empty sums.
        expected = _call(np.zeros, out_shape, theirs.dtype)[0]
        assert_same_outcome(ours, expected)
    else:
        assert_same_outcome(ours, theirs)
    assert our_warnings == their_warnings, (our_warnings, their_warnings)


@given(case=signal_case())
def prop_correlate2d(case):
    _check_signal("correlate2d", case)


@given(case=signal_case())
def prop_convolve2d(case):
    _check_signal("convolve2d", case)


# -- conv2d -------------------------------------------------------------------

CONV_DTYPES = ["f4", "f8", "f4", "f8", "e"]
CONV_HOSTILE_DTYPES = ["?", "i1", "i4", "u1", ">f8", ">f4", "c8", "c16", "g",
                       "O", "U1", "M8[s]"]
PADDING_MODES = ["zeros", "reflect", "replicate", "circular", "symmetric"]
OUT_KINDS = ["good", "shape", "dtype", "fortran", "readonly", "strided", "list",
             "input"]


def _dilation_is_one(d):
    try:
        return _pair(d) == (1, 1)
    except (TypeError, ValueError):
        return True


CONV_STRIDE = mostly(size_arg(1, 3, odds=100), st.one_of(
    size_arg(0, 3), st.sampled_from(
        [2**31, (1, 2**31), 2**47, 2**48, 2**62])), odds=6)
CONV_DILATION = mostly(size_arg(1, 2, odds=100), st.one_of(
    size_arg(0, 3), st.sampled_from([2**31, 2**48])), odds=6)
_PAD = st.integers(0, 2)
CONV_PADDING = mostly(
    st.one_of(size_arg(0, 2, odds=100), st.sampled_from(["same", "valid"]),
              st.tuples(st.tuples(_PAD, _PAD), st.lists(_PAD, min_size=1,
                                                        max_size=2))),
    st.one_of(size_arg(0, 3), st.tuples(size_arg(0, 3), size_arg(0, 3)),
              st.sampled_from(["bogus", "SAME", ((1, 2), 3), 2**31, 2**47,
                               (2**47, 0), ((0, 2**47), (1, 1))])), odds=6)
PADDING_MODE = mostly(st.sampled_from(PADDING_MODES), st.sampled_from(
    ["bogus", None, 0, ["zeros"], "ZEROS"]), odds=8)
CONV_DTYPE = mostly(st.sampled_from(CONV_DTYPES),
                    st.sampled_from(CONV_HOSTILE_DTYPES), odds=6)
OUT_ARG = mostly(st.none(), st.sampled_from(OUT_KINDS), odds=3)
HOSTILE_INPUT = st.one_of(
    st.sampled_from(JUNK), huge_view(4, ["f4", "f8"]), huge_view(3, ["f8"]),
    st.sampled_from([np.ones((2, 2)), np.ones((1, 1, 1, 1, 1)), np.array(1.0),
                     [[[[1.0]]], [[[1.0, 2.0]]]]]))
HOSTILE_WEIGHT = st.one_of(
    st.sampled_from(JUNK), huge_view(4, ["f4", "f8"]),
    st.sampled_from([np.ones((1, 1, 1)), np.ones((0, 1, 1, 1)),
                     np.ones((1, 0, 1, 1)), np.ones((1, 1, 0, 2)),
                     np.ones((3, 1, 1, 1)), np.ones((1, 1, 1, 1, 1))]))
HOSTILE_BIAS = st.one_of(
    st.sampled_from(JUNK), huge_view(1, ["f8"]),
    st.sampled_from([np.ones((1, 1)), np.ones(0), np.ones(7), np.float64(1.0)]))


@st.composite
def conv2d_case(draw):
    """A consistent call (as test_conv2d.conv_cases draws them, with empty
    sizes, dtypes and layouts added), then hostile replacements."""
    groups = draw(st.integers(1, 3))
    cg_in, cg_out = draw(mostly(st.integers(1, 2), st.just(0))), draw(
        st.integers(1, 2))
    n = draw(st.integers(0, 2))
    # (hypothesis favours the low end of a range: favour large images)
    size = mostly(st.integers(0, 5).map(lambda v: 9 - v), st.integers(0, 2),
                  odds=4)
    h, w = draw(size), draw(size)
    kh, kw = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    dilation = draw(CONV_DILATION)
    dtypes = [draw(CONV_DTYPE)]
    dtypes += [draw(mostly(st.just(dtypes[0]), CONV_DTYPE)) for _ in range(2)]
    seed = draw(st.integers(0, 2**32 - 1))
    specials = draw(st.booleans())
    x_shape = (n, groups * cg_in, h, w)
    if draw(st.booleans()):
        x_shape = x_shape[1:]                      # unbatched (C, H, W)
    x = _values(seed, x_shape, dtypes[0], specials)
    if specials and not _dilation_is_one(dilation) and x.dtype.kind == "f":
        # The oracle dilates the kernel with zeros, and 0 * inf is NaN: the
        # input stays finite when the taps are spaced.
        x = np.nan_to_num(x, nan=0.5, posinf=2.0, neginf=-2.0)
    wt = _values(seed + 1, (groups * cg_out, cg_in, kh, kw), dtypes[1],
                 specials)
    bias = (_values(seed + 2, (groups * cg_out,), dtypes[2], specials)
            if draw(st.booleans()) else None)
    x, wt = draw(layout(x)), draw(layout(wt))
    if bias is not None:
        bias = draw(layout(bias))
    if draw(_one_in(10)):
        x = draw(HOSTILE_INPUT)
    if draw(_one_in(10)):
        wt = draw(HOSTILE_WEIGHT)
    if draw(_one_in(10)):
        bias = draw(HOSTILE_BIAS)
    if draw(_one_in(10)):
        groups = draw(int_arg)
    stride = draw(CONV_STRIDE)
    return dict(input=x, weight=wt, bias=bias, stride=stride,
                padding=draw(CONV_PADDING), dilation=dilation, groups=groups,
                padding_mode=draw(PADDING_MODE), workers=draw(WORKERS_ARG),
                out=draw(OUT_ARG))


def _conv_padding(spec, padding, k, dilation, stride):
    """(top, bottom, left, right), torch's rules plus pyconvx's per-side
    form; None when faulty."""
    if isinstance(padding, str):
        if padding == "valid":
            return (0, 0, 0, 0)
        if padding == "same":
            if stride != (1, 1):
                spec.fault(ValueError, why="'same' with stride")
                return None
            tot = [d * (n - 1) for d, n in zip(dilation, k)]
            return (tot[0] // 2, tot[0] - tot[0] // 2,
                    tot[1] // 2, tot[1] - tot[1] // 2)
        spec.fault(ValueError, why=f"padding={padding!r}")
        return None
    if (isinstance(padding, (tuple, list)) and len(padding) == 2
            and all(isinstance(p, (tuple, list)) for p in padding)):
        a = _check_pair(spec, padding[0], "padding", 0)
        b = _check_pair(spec, padding[1], "padding", 0)
        return None if a is None or b is None else (*a, *b)
    p = _check_pair(spec, padding, "padding", 0)
    return None if p is None else (p[0], p[0], p[1], p[1])


def _conv_len(size, k, s, before, after, d):
    return (size + before + after - d * (k - 1) - 1) // s + 1


def _conv2d_spec(case):
    """Predict conv2d's outcome from torch's documented rules."""
    spec = Spec()
    x = _asarray(spec, case["input"], "input")
    w = _asarray(spec, case["weight"], "weight")
    b = None if case["bias"] is None else _asarray(spec, case["bias"], "bias")
    stride = _check_pair(spec, case["stride"], "stride", 1)
    dilation = _check_pair(spec, case["dilation"], "dilation", 1)
    try:
        groups = _as_int(case["groups"])
        if groups < 1:
            spec.fault(ValueError, why="groups < 1")
    except TypeError:
        spec.fault(TypeError, why="groups")
        groups = None
    pm = case["padding_mode"]
    if not (isinstance(pm, str) and pm in PADDING_MODES):
        spec.fault(ValueError, why=f"padding_mode={pm!r}")
    _check_workers(spec, case["workers"])
    if x is None or w is None or (case["bias"] is not None and b is None):
        return spec, None
    if x.ndim not in (3, 4):
        spec.fault(ValueError, why="input ndim")
    if w.ndim != 4:
        spec.fault(ValueError, why="weight ndim")
    if spec.faults and (x.ndim not in (3, 4) or w.ndim != 4):
        return spec, None
    x4 = x if x.ndim == 4 else x[np.newaxis]
    co, cg, kh, kw = w.shape
    if co == 0 or kh == 0 or kw == 0:
        spec.fault(ValueError, why="empty weight")
    if groups and groups > 0 and (co % groups or x4.shape[1] != cg * groups):
        spec.fault(ValueError, why="channels / groups")
    if b is not None and b.shape != (co,):
        spec.fault(ValueError, why="bias shape")
    try:
        dtype = np.result_type(*[a for a in (x, w, b) if a is not None])
    except TypeError:
        spec.fault(TypeError, why="dtype promotion")
        dtype = None
    if dtype is not None:
        dtype = _native(dtype)
        if dtype not in (np.dtype("e"), np.dtype("f4"), np.dtype("f8")):
            spec.fault(TypeError, why=f"dtype {dtype}")
    # Every fault counts, whatever pyconvx checks first: a rejection may
    # name any of them.
    if stride is None or dilation is None:
        return spec, None
    pads = _conv_padding(spec, case["padding"], (kh, kw), dilation, stride)
    if pads is None:
        return spec, None
    n, _, h, wd = x4.shape
    oh = _conv_len(h, kh, stride[0], pads[0], pads[1], dilation[0])
    ow = _conv_len(wd, kw, stride[1], pads[2], pads[3], dilation[1])
    if oh < 1 or ow < 1:
        spec.fault(ValueError, why="kernel larger than padded input")
        return spec, None
    if pm == "reflect" and (max(pads[:2]) >= h or max(pads[2:]) >= wd):
        spec.fault(ValueError, why="reflect padding >= size")
    if pm == "circular" and (max(pads[:2]) > h or max(pads[2:]) > wd):
        spec.fault(ValueError, why="circular padding > size")
    if pm in ("replicate", "symmetric") and min(h, wd) == 0 and max(pads):
        spec.fault(ValueError, why="extending an empty input")
    shape = (n, co, oh, ow) if x.ndim == 4 else (co, oh, ow)
    _check_output_size(spec, shape, 8)
    _guard(math.prod(shape), x.size, w.size)
    if spec.faults:
        return spec, None
    if _is_huge(x) or _is_huge(w):
        spec.may_fail.add(MemoryError)        # converting them must fail
    return spec, dict(x=x4, w=w, b=b, stride=stride, pads=pads,
                      dilation=dilation, groups=groups, mode=pm, shape=shape,
                      dtype=dtype, unbatched=x.ndim == 3)


def _make_out(kind, geom, case):
    """The out= argument of a given kind, for the predicted result."""
    if kind is None or geom is None:
        return None if kind is None else np.empty((1, 1, 1, 1))
    shape, dtype = geom["shape"], geom["dtype"]
    if kind == "good":
        return np.full(shape, np.nan, dtype)
    if kind == "shape":
        return np.empty(shape[:-1] + (shape[-1] + 1,), dtype)
    if kind == "dtype":
        return np.empty(shape, np.float64 if dtype != np.float64 else np.float32)
    if kind == "fortran":
        return np.asfortranarray(np.empty(shape, dtype))
    if kind == "readonly":
        out = np.empty(shape, dtype)
        out.flags.writeable = False
        return out
    if kind == "strided":
        return np.empty(shape[:-1] + (2 * shape[-1],), dtype)[..., ::2]
    if kind == "list":
        return np.empty(shape, dtype).tolist()
    return case["input"]            # overlaps the input, or has its shape


def _check_out(spec, out, geom):
    if out is None or geom is None:
        return
    if not isinstance(out, np.ndarray):
        spec.fault(ValueError, why="out not an ndarray")
    elif (out.shape != geom["shape"] or out.dtype != geom["dtype"]
          or not out.flags.c_contiguous or not out.flags.writeable):
        spec.fault(ValueError, why="out shape/dtype/layout")
    elif any(np.may_share_memory(out, a) for a in (geom["x"], geom["w"], geom["b"])
             if a is not None):
        spec.fault(ValueError, why="out overlaps an input")


@given(case=conv2d_case())
def prop_conv2d(case):
    from _conv_oracle import assert_conv_close, conv2d_oracle

    spec, geom = _conv2d_spec(case)
    out = _make_out(case["out"], geom, case)
    _check_out(spec, out, geom)
    kwargs = {k: case[k] for k in ("bias", "stride", "padding", "dilation",
                                   "groups", "padding_mode", "workers")}

    def check(result):
        assert type(result) is np.ndarray, type(result)
        assert result.shape == geom["shape"] and result.dtype == geom["dtype"], \
            (result.shape, result.dtype, geom["shape"], geom["dtype"])
        assert result.flags.c_contiguous
        if out is not None:
            assert result is out
        if _is_huge(geom["x"]) or _is_huge(geom["w"]) or max(geom["pads"]) > 64:
            # The oracle would copy a huge input, or pad to a huge image
            # ('same' with a huge dilation): shape and dtype only.
            STATS["shape_only"] += 1
            return
        x, w, b = geom["x"], geom["w"], geom["b"]
        got = result[np.newaxis] if geom["unbatched"] else result
        with np.errstate(all="ignore"):
            ref, bound = conv2d_oracle(
                x.astype(np.float64), w.astype(np.float64),
                None if b is None else b.astype(np.float64), geom["stride"],
                geom["pads"], geom["dilation"], geom["groups"], geom["mode"])
            # As test_conv2d.py: the worst-case bound of a sum of n products
            # in the accumulator's precision (float16 rounds once more).
            assert_conv_close(got, ref, bound, np.prod(w.shape[1:]),
                              geom["dtype"])
        inf = np.isinf(ref)
        np.testing.assert_array_equal(got[inf], ref[inf])

    spec.check = check if geom is not None else None
    result, categories = _call(pyconvx.conv2d, case["input"], case["weight"],
                               out=out, **kwargs)
    spec.judge(result, "pyconvx.conv2d")
    _no_warnings(categories, "pyconvx.conv2d")


# -- max_pool2d / avg_pool2d --------------------------------------------------

POOL_DTYPES = ["f8", "f4", "e", "i1", "u1", "i2", "u2", "i4", "u4", "i8", "u8"]
POOL_HOSTILE_DTYPES = ["?", "c16", "g", "O", "U1", "M8[s]", ">f8", ">i2", "V8"]
KERNEL_HUGE = [2**31, 2**40, 2**47, 2**48]


@functools.lru_cache(maxsize=None)
def _pool_padding(kh, kw):
    ph, pw = st.integers(0, kh // 2), st.integers(0, kw // 2)
    good = st.one_of(st.tuples(ph, pw), st.lists(ph, min_size=1, max_size=1),
                     ph if kh == kw else st.tuples(ph, pw))
    return mostly(good, size_arg(0, 3), odds=6)


POOL_KERNEL = mostly(size_arg(1, 4), st.sampled_from(KERNEL_HUGE), odds=8)
POOL_STRIDE = mostly(
    st.one_of(st.none(), size_arg(1, 4, odds=100), st.just([])),
    st.one_of(size_arg(0, 4), st.sampled_from([2**31, 2**48, 2**62])))
POOL_DILATION = mostly(
    size_arg(1, 3, odds=100),
    st.one_of(size_arg(0, 3), st.sampled_from([2**31, 2**48])), odds=6)
CEIL_MODE = mostly(st.booleans(), st.sampled_from(
    [0, 1, None, "", np.array([1, 0]), np.bool_(True)]))


@st.composite
def pool_args(draw, dilation):
    """kernel_size, stride, padding (and dilation, ceil_mode): small valid
    ones mostly, huge or hostile ones otherwise."""
    kernel = draw(POOL_KERNEL)
    try:
        kh, kw = _pair(kernel)
    except (TypeError, ValueError):
        kh = kw = 4
    if max(kh, kw) in KERNEL_HUGE:
        # Padding up to half a huge kernel fits any input: small outputs,
        # absurd windows.
        padding = draw(st.sampled_from([kh // 2, (kh // 2, 0), 0, 1]))
    else:
        padding = draw(_pool_padding(min(max(kh, 1), 9), min(max(kw, 1), 9)))
    args = dict(kernel_size=kernel, stride=draw(POOL_STRIDE), padding=padding)
    if dilation:
        args["dilation"] = draw(POOL_DILATION)
    args["ceil_mode"] = draw(CEIL_MODE)
    return args


# Mostly non-empty, mostly large enough for the windows (hypothesis
# favours the low end of a range); the empty cases are quickly covered.
POOL_COUNT = mostly(st.integers(1, 3), st.just(0), odds=10)
POOL_SIZE = mostly(st.integers(0, 6).map(lambda v: 9 - v),
                   mostly(st.integers(1, 3), st.just(0)), odds=4)


@st.composite
def pool_input(draw, avg):
    kind = draw(mostly(st.just("numeric"), st.sampled_from(
        ["hostile-dtype", "junk", "wrong-ndim", "huge"]), odds=4))
    if kind == "junk":
        return draw(st.sampled_from(JUNK + [[[[1.0], [2.0, 3.0]]]]))
    if kind == "huge":
        return draw(st.one_of(huge_view(4, ["f4", "i8"]), huge_view(3, ["f8"])))
    if kind == "wrong-ndim":
        ndim = draw(st.sampled_from([0, 1, 2, 5]))
        return np.ones(tuple(draw(st.integers(0, 3)) for _ in range(ndim)))
    dtype = np.dtype(draw(st.sampled_from(
        POOL_DTYPES if kind == "numeric" else POOL_HOSTILE_DTYPES)))
    shape = (draw(POOL_COUNT), draw(POOL_COUNT), draw(POOL_SIZE),
             draw(POOL_SIZE))
    if draw(st.booleans()):
        shape = shape[1:]
    # Average pooling sums 64-bit integers exactly only without overflow
    # (as documented); extreme values are for max pooling and floats.
    specials = draw(st.booleans()) and not (
        avg and dtype.kind in "iu" and dtype.itemsize == 8)
    x = _values(draw(st.integers(0, 2**32 - 1)), shape, dtype, specials,
                pool=True)
    return draw(layout(x))


def _pool_params(spec, args, avg):
    """kernel, stride, padding, dilation, ceil_mode by torch's rules; None
    when one of them is faulty (the faults are in spec)."""
    kernel = _check_pair(spec, args["kernel_size"], "kernel_size", 1)
    stride = args["stride"]
    if stride is None or (isinstance(stride, (tuple, list)) and not len(stride)):
        stride = kernel
    else:
        stride = _check_pair(spec, stride, "stride", 1)
    padding = _check_pair(spec, args["padding"], "padding", 0)
    dilation = _check_pair(spec, args.get("dilation", 1), "dilation", 1)
    ceil_mode = _truth(spec, args["ceil_mode"], "ceil_mode")
    if None in (kernel, stride, padding, dilation):
        return None
    for p, k, d in zip(padding, kernel, dilation):
        if p > k // 2 or p > (d * (k - 1) + 1) // 2:
            spec.fault(ValueError, why="padding > half the kernel")
            return None
    if avg and kernel[0] * kernel[1] >= 2**63:
        spec.fault(OverflowError, why="window count beyond int64")
    return dict(kernel=kernel, stride=stride, padding=padding,
                dilation=dilation, ceil_mode=ceil_mode)


def _pool_out_hw(params, hw):
    """torch's output size, closed form (pool_len counts window by window,
    too slowly for huge sizes)."""
    out = []
    for n, k, s, p, d in zip(hw, params["kernel"], params["stride"],
                             params["padding"], params["dilation"]):
        num = n + 2 * p - d * (k - 1) - 1
        o = (-(-num // s) if params["ceil_mode"] else num // s) + 1
        if params["ceil_mode"] and (o - 1) * s >= n + p:
            o -= 1      # the last window may not start in the right padding
        out.append(o)
    return tuple(out)


def _pool_spec(x_obj, args, avg, divisor_override=None, count_include_pad=True,
               return_indices=False, workers=None):
    """Predict a pooling call from torch's documented rules."""
    spec = Spec()
    x = _asarray(spec, x_obj, "input")
    params = _pool_params(spec, args, avg)
    if not avg:
        _truth(spec, return_indices, "return_indices")
    else:
        _truth(spec, count_include_pad, "count_include_pad")
        if divisor_override is not None:
            try:
                d = _as_int(divisor_override)
                if d == 0:
                    spec.fault(ValueError, why="divisor 0")
                elif not -2**63 <= d < 2**63:
                    spec.fault(OverflowError, why="divisor beyond int64")
            except TypeError:
                spec.fault(TypeError, why="divisor_override")
    _check_workers(spec, workers)
    if x is None:
        return spec, None
    if x.ndim not in (3, 4):
        spec.fault(ValueError, why="input ndim")
        return spec, None
    if 0 in x.shape[-3:]:
        spec.fault(ValueError, why="empty C, H or W")
    kind, size = x.dtype.kind, x.dtype.itemsize
    if not (kind in "iu" or (kind == "f" and size <= 8)):
        spec.fault(TypeError, why=f"dtype {x.dtype}")
    if params is None:
        return spec, None
    out_hw = _pool_out_hw(params, x.shape[-2:])
    if min(out_hw) < 1:
        spec.fault(ValueError, why="output too small")
        return spec, None
    shape = (*x.shape[:-2], *out_hw)
    _check_output_size(spec, shape, 8)
    _guard(math.prod(shape), x.size)
    if _is_huge(x):
        spec.may_fail.add(MemoryError)        # converting it must fail
    if spec.faults:
        return spec, None
    return spec, dict(x=x, shape=shape, **params)


def _taps(start, k, d, size):
    """The taps start, start + d, ... (k of them) inside [0, size), and the
    first non-negative one (torch's index of a window without taps)."""
    skip = 0 if start >= 0 else (-start + d - 1) // d
    last = min(k - 1, (size - 1 - start) // d)
    return range(start + skip * d, start + last * d + 1, d), start + skip * d


def _max_by_windows(x4, kernel, stride, padding, dilation, ceil_mode):
    """ref_max_pool2d for windows of ~2**31 taps, whose tap lists it cannot
    build: per window, ref_max_pool2d over the taps inside the input (in
    the same scan order); a window without any has torch's -inf and index."""
    n, c, h, w = x4.shape
    oh = pool_len(h, kernel[0], stride[0], padding[0], dilation[0], ceil_mode)
    ow = pool_len(w, kernel[1], stride[1], padding[1], dilation[1], ceil_mode)
    out = np.empty((n, c, oh, ow), x4.dtype)
    idx = np.empty((n, c, oh, ow), np.int64)
    lowest = (-np.inf if x4.dtype.kind == "f" else np.iinfo(x4.dtype).min)
    for i in range(oh):
        rows, r0 = _taps(i * stride[0] - padding[0], kernel[0], dilation[0], h)
        for j in range(ow):
            cols, c0 = _taps(j * stride[1] - padding[1], kernel[1],
                             dilation[1], w)
            if not (rows and cols):
                out[:, :, i, j] = lowest
                idx[:, :, i, j] = r0 * w + c0
                continue
            sub = x4[:, :, rows.start:rows.stop:rows.step,
                     cols.start:cols.stop:cols.step]
            v, k = ref_max_pool2d(sub, sub.shape[2:])
            out[:, :, i, j] = v[:, :, 0, 0]
            k = k[:, :, 0, 0]
            idx[:, :, i, j] = (np.asarray(rows)[k // len(cols)] * w
                               + np.asarray(cols)[k % len(cols)])
    return out, idx


def _pool_check(geom, fn_name, extra):
    """Check of a returned pooling result against the reference."""
    from _helpers import assert_identical

    def check(result):
        indices = None
        if fn_name == "max_pool2d" and extra.get("return_indices"):
            assert isinstance(result, tuple) and len(result) == 2, type(result)
            result, indices = result
        x = geom["x"]
        dtype = _native(x.dtype)
        assert type(result) is np.ndarray and result.dtype == dtype, result
        assert result.shape == geom["shape"] and result.flags.c_contiguous
        if indices is not None:
            assert indices.dtype == np.int64 and indices.shape == geom["shape"]
        if _is_huge(x):
            STATS["shape_only"] += 1
            return
        if x.size == 0:
            return
        x = x.astype(dtype)
        x4 = x if x.ndim == 4 else x[np.newaxis]
        k, s, p, d = (geom[a] for a in ("kernel", "stride", "padding",
                                         "dilation"))
        with np.errstate(all="ignore"):
            if fn_name == "max_pool2d":
                if max(k) > 64:
                    ref, ref_idx = _max_by_windows(x4, k, s, p, d,
                                                   geom["ceil_mode"])
                else:
                    ref, ref_idx = ref_max_pool2d(x4, k, s, p, d,
                                                  geom["ceil_mode"])
                if x.ndim == 3:
                    ref, ref_idx = ref[0], ref_idx[0]
                assert_identical(result, ref)
                if indices is not None:
                    np.testing.assert_array_equal(indices, ref_idx, strict=True)
                return
            kw = dict(ceil_mode=geom["ceil_mode"],
                      count_include_pad=bool(extra["count_include_pad"]),
                      divisor_override=None if extra["divisor_override"] is None
                      else _as_int(extra["divisor_override"]))
            ref = ref_avg_pool2d(x, k, s, p, **kw)
            if dtype.kind in "iu":
                assert_identical(result, ref)
            else:
                # As test_pool.py: a few ulps of the accumulator times the
                # window's sum of |x| (specials left out of the bound).
                tol = avg_tolerance(np.nan_to_num(x, posinf=0, neginf=0),
                                    dtype, k, s, p, **kw)
                assert_avg_close(result, ref, tol, dtype)
    return check


@given(x=pool_input(avg=False), args=pool_args(dilation=True),
       return_indices=st.one_of(st.booleans(), st.sampled_from([None, 1, "",
                                                                np.array([1, 1])])),
       workers=WORKERS_ARG)
def prop_max_pool2d(x, args, return_indices, workers):
    spec, geom = _pool_spec(x, args, False, return_indices=return_indices,
                            workers=workers)
    if geom is not None:
        spec.check = _pool_check(geom, "max_pool2d",
                                 dict(return_indices=return_indices))
    result, categories = _call(pyconvx.max_pool2d, x, **args,
                               return_indices=return_indices, workers=workers)
    spec.judge(result, "pyconvx.max_pool2d")
    _no_warnings(categories, "pyconvx.max_pool2d")


@given(x=pool_input(avg=True), args=pool_args(dilation=False),
       count_include_pad=st.one_of(st.booleans(), st.sampled_from([0, None])),
       divisor_override=st.one_of(st.none(), st.integers(-5, 7),
                                  st.sampled_from([2**63 - 1, 2**63, -2**63,
                                                   -2**63 - 1, 2**31]),
                                  st.sampled_from(JUNK)),
       workers=WORKERS_ARG)
def prop_avg_pool2d(x, args, count_include_pad, divisor_override, workers):
    spec, geom = _pool_spec(x, args, True, divisor_override=divisor_override,
                            count_include_pad=count_include_pad,
                            workers=workers)
    if geom is not None:
        spec.check = _pool_check(geom, "avg_pool2d",
                                 dict(count_include_pad=count_include_pad,
                                      divisor_override=divisor_override))
    result, categories = _call(pyconvx.avg_pool2d, x, **args,
                               count_include_pad=count_include_pad,
                               divisor_override=divisor_override,
                               workers=workers)
    spec.judge(result, "pyconvx.avg_pool2d")
    _no_warnings(categories, "pyconvx.avg_pool2d")


# -- the shape helpers --------------------------------------------------------

@given(input_size=mostly(st.integers(0, 50), int_arg),
       kernel_size=mostly(st.integers(1, 9), int_arg),
       stride=mostly(st.integers(1, 5), int_arg),
       padding=size_arg(0, 5),
       dilation=mostly(st.integers(1, 4), int_arg))
def prop_conv_output_size(input_size, kernel_size, stride, padding, dilation):
    spec = Spec()
    vals = {}
    for name, v, lo in (("input_size", input_size, 0),
                        ("kernel_size", kernel_size, 1), ("stride", stride, 1),
                        ("dilation", dilation, 1)):
        try:
            vals[name] = _as_int(v)
            if vals[name] < lo:
                spec.fault(ValueError, why=name)
        except TypeError:
            spec.fault(TypeError, why=name)
    # A number of windows, exact for any Python int: no size limit here.
    if isinstance(padding, (tuple, list)):
        if len(padding) != 2:
            spec.fault(ValueError, why="padding length")
        pads = padding
    else:
        pads = (padding, padding)
    if not isinstance(padding, (tuple, list)) or len(padding) == 2:
        try:
            pads = [_as_int(p) for p in pads]
            if min(pads) < 0:
                spec.fault(ValueError, why="padding")
        except TypeError:
            spec.fault(TypeError, why="padding")

    def check(result):
        n, k, s, d = (vals[a] for a in ("input_size", "kernel_size", "stride",
                                        "dilation"))
        length = n + pads[0] + pads[1]
        want = max(0, (length - d * (k - 1) - 1) // s + 1)
        assert type(result) is int and result == want, (result, want)

    spec.check = check
    result, categories = _call(pyconvx.conv_output_size, input_size,
                               kernel_size, stride, padding, dilation)
    spec.judge(result, "pyconvx.conv_output_size")
    _no_warnings(categories, "pyconvx.conv_output_size")


def shape_arg(good_entries):
    """A shape: mostly good entries, otherwise hostile entries, lengths or
    objects."""
    entry = mostly(st.integers(0, 9), int_arg, odds=8)
    bad = st.one_of(
        st.lists(entry, min_size=0, max_size=6).map(tuple),
        st.sampled_from([None, 3, "abcd", np.array([1, 2, 3, 4]),
                         np.zeros((2, 2)), {1: 2, 3: 4, 5: 6}]))
    return mostly(st.one_of(good_entries, good_entries.map(list),
                            good_entries.map(np.array)), bad)


# Now and then an entry no array has (0 where it must not be, negative).
_N, _C, _HW, _K = (mostly(st.integers(lo, hi), st.integers(-2, 0), odds=15)
                   for lo, hi in ((0, 3), (1, 4), (1, 12), (1, 4)))
NCHW = st.tuples(_N, _C, _HW, _HW)
CHW = st.tuples(_C, _HW, _HW)
WEIGHT = st.tuples(_K, _C, _K, _K)


def _shape_entries(spec, shape, name, lengths):
    """The entries of a shape argument as ints; None if faulty."""
    try:
        entries = tuple(shape)
    except TypeError:
        spec.fault(TypeError, why=f"{name} not iterable")
        return None
    try:
        entries = tuple(_as_int(n) for n in entries)
    except TypeError:
        spec.fault(TypeError, why=f"{name} entry")
        return None
    if len(entries) not in lengths:
        spec.fault(ValueError, why=f"{name} length")
        return None
    return entries


def _entry_fault(spec, ok, why):
    """A shape entry no array has: the function's own error."""
    if not ok:
        spec.fault(ValueError, why=why)


@given(input_shape=shape_arg(st.one_of(NCHW, CHW)),
       weight_shape=shape_arg(WEIGHT),
       stride=size_arg(1, 3), dilation=size_arg(1, 3),
       padding=st.one_of(size_arg(0, 3), size_arg(0, 3),
                         st.sampled_from(["same", "valid", "x"]),
                         st.tuples(size_arg(0, 3), size_arg(0, 3))))
def prop_conv2d_output_shape(input_shape, weight_shape, stride, padding,
                             dilation):
    spec = Spec()
    ins = _shape_entries(spec, input_shape, "input_shape", (3, 4))
    ws = _shape_entries(spec, weight_shape, "weight_shape", (4,))
    s = _check_pair(spec, stride, "stride", 1)
    d = _check_pair(spec, dilation, "dilation", 1)
    if ws is not None and s is not None and d is not None:
        pads = _conv_padding(spec, padding, ws[2:], d, s)
    else:
        pads = None
    # Checked in any order with the other arguments: any of the faults may
    # be the one reported (a negative input entry too when weight_shape is
    # not even a sequence).
    if ins is not None:
        _entry_fault(spec, min(ins) >= 0, why="input entries")
    if ins is not None and ws is not None:
        _entry_fault(spec, min(ins) >= 0 and ws[0] >= 1 and min(ws[2:]) >= 1
                     and min(ws[1:2]) >= 0, why="entries")
    if None not in (ins, ws, pads):
        oh = _conv_len(ins[-2], ws[2], s[0], pads[0], pads[1], d[0])
        ow = _conv_len(ins[-1], ws[3], s[1], pads[2], pads[3], d[1])
        if min(oh, ow) < 1:
            spec.fault(ValueError, why="kernel larger than padded input")
        want = (*ins[:-3], ws[0], oh, ow)

        def check(result):
            assert type(result) is tuple and result == want, (result, want)
            assert all(type(n) is int for n in result)
        spec.check = check
    result, categories = _call(pyconvx.conv2d_output_shape, input_shape,
                               weight_shape, stride, padding, dilation)
    spec.judge(result, "pyconvx.conv2d_output_shape")
    _no_warnings(categories, "pyconvx.conv2d_output_shape")


@given(input_shape=shape_arg(st.one_of(NCHW, CHW)),
       args=pool_args(dilation=True))
def prop_pool2d_output_shape(input_shape, args):
    spec = Spec()
    ins = _shape_entries(spec, input_shape, "input_shape", (3, 4))
    params = _pool_params(spec, args, False)
    if ins is not None:
        _entry_fault(spec, min(ins) >= 0 and min(ins[-3:]) >= 1, why="entries")
    if ins is not None and params is not None:
        out_hw = _pool_out_hw(params, ins[-2:])
        if min(out_hw) < 1:
            spec.fault(ValueError, why="output too small")
        want = (*ins[:-2], *out_hw)

        def check(result):
            assert type(result) is tuple and result == want, (result, want)
            assert all(type(n) is int for n in result)
        spec.check = check
    result, categories = _call(pyconvx.pool2d_output_shape, input_shape,
                               args["kernel_size"], args["stride"],
                               args["padding"], args["dilation"],
                               args["ceil_mode"])
    spec.judge(result, "pyconvx.pool2d_output_shape")
    _no_warnings(categories, "pyconvx.pool2d_output_shape")


PROPERTIES = {
    "correlate2d": prop_correlate2d, "convolve2d": prop_convolve2d,
    "conv2d": prop_conv2d, "max_pool2d": prop_max_pool2d,
    "avg_pool2d": prop_avg_pool2d, "conv_output_size": prop_conv_output_size,
    "conv2d_output_shape": prop_conv2d_output_shape,
    "pool2d_output_shape": prop_pool2d_output_shape,
}
