"""Benchmark the NCHW face of pyconvx against torch and a NumPy baseline.

Times ``pyconvx.conv2d``, ``max_pool2d`` and ``avg_pool2d`` against
``torch.nn.functional`` (and ``conv2d`` against a NumPy im2col + matmul
baseline) in one process, at one or more thread counts, measures the extra
memory each pyconvx call needs, and checks the results against the issue 5
targets.

Cases
-----
float32 unless noted; every conv2d call has a bias, as ``nn.Conv2d`` does.
``--cases`` selects by these names (a name covers its float64 twin):

============  ===========================================================
seed_cnn      x (1,1,28,28), w (5,1,5,5); then max_pool2d k=2 on (1,5,24,24)
mnist_conv1   x (64,1,28,28), w (32,1,3,3), padding 1
mnist_conv2   x (64,32,28,28), w (64,32,3,3), padding 1; float32 and float64
resnet3x3     x (8,64,56,56), w (64,64,3,3), padding 1; float32 and float64
resnet_stem   x (8,3,224,224), w (64,3,7,7), stride 2, padding 3
pointwise     x (8,256,28,28), w (512,256,1,1)
depthwise     x (8,128,56,56), w (128,1,3,3), padding 1, groups 128;
              float32 and float64
grouped       x (8,128,28,28), w (128,32,3,3), padding 1, groups 4
dilated       x (4,64,64,64), w (64,64,3,3), padding 2, dilation 2
strided       x (8,64,56,56), w (128,64,3,3), stride 2, padding 1
pooling       max_pool2d and avg_pool2d (count_include_pad=False), k=2 s=2
              and k=3 s=2 p=1, on (32,64,112,112)
============  ===========================================================

Beyond issue 5's list, timed and checked the same way but outside its
targets (printed after them, as ratios to torch):

============  ===========================================================
late_1img     x (1,512,7,7), w (512,512,3,3), padding 1
late_8img     x (8,512,7,7), w (512,512,3,3), padding 1
late_s2       x (4,256,14,14), w (512,256,3,3), stride 2, padding 1
late_1x1_7    x (1,512,7,7), w (2048,512,1,1)
late_1x1_14   x (8,1024,14,14), w (256,1024,1,1)
fc_512        x (64,512,1,1), w (1000,512,1,1) (a fully connected layer)
fc_4096       x (32,4096,1,1), w (4096,4096,1,1)
global_pool   max_pool2d and avg_pool2d, k=7, on (8,512,7,7): 1x1 outputs
pool_f16      max_pool2d and avg_pool2d, k=3 s=2 p=1, on float16
              (8,64,112,112)
============  ===========================================================

Contestants
-----------
``pyconvx`` with ``workers=T``; ``torch`` with ``torch.set_num_threads(T)``
(its columns print '-' when torch is not installed); for conv2d only,
``numpy``: pad, gather the windows (im2col), one matmul per group, with BLAS
limited to T threads through threadpoolctl (when it is installed).

Method
------
For each case: one warm-up call per contestant and thread count (its result
is the correctness check), one calibration call (calls under 2 ms are looped
so that one sample lasts at least 2 ms), then interleaved rounds -- each
round times every contestant at every thread count once with
``time.perf_counter`` -- and the median per contestant.  Rounds: ``--repeat``,
fewer (never under 3) when a round costs more than ``--budget / --repeat``
seconds.  Thread settings are applied outside the timed region.

Correctness: pyconvx at the first thread count against torch (against the
NumPy baseline without torch): max_pool2d bit for bit, everything else
``np.allclose`` with rtol = tol and atol = tol * max|reference|, tol 1e-4
(float32) or 1e-10 (float64); pyconvx at every other thread count against
the first bit for bit.  A mismatch is printed in the row and as a warning;
the run goes on and exits with status 1.

Workspace
---------
For each case and thread count, a fresh child process (multiprocessing
'spawn'; it imports numpy and pyconvx, not torch) creates the case's inputs,
makes one warm-up call on the first image cut to at most 16x16 pixels (the
code paths and the OpenMP threads start up without leaving large freed
blocks in malloc's pools for the real call to reuse), reads its resident set
size (VmRSS), resets the peak (writes 5 to /proc/self/clear_refs), makes the
case's pyconvx call once and reads the peak (VmHWM).  Printed and stored::

    workspace = peak RSS during the call - RSS before it - result.nbytes

that is every page the call touches besides its result: the C-malloc'd
buffers of the kernels (invisible to tracemalloc), temporary copies made by
the Python front and thread start-up, to page granularity (rounding can
make it a few KiB negative for a tiny result; printed as 0, stored as is).  Where the peak
cannot be reset it is an upper bound.  It needs Linux's /proc ('-'
elsewhere).  The target is ``max(64 MiB, result.nbytes / 4)``.

Printed
-------
``pyconvx.show_config()``; one row per case and thread count: median ms of
each contestant, direct-equivalent GFLOP/s of pyconvx
(2*N*C_out*H_out*W_out*C_in/groups*kH*kW / time), its percentage of the FMA
peak (``--peak-gflops``, per core, times the thread count), the ratios
pyconvx/torch and pyconvx/numpy (< 1: pyconvx is faster), the workspace
(MiB, OVER past the target), the conv2d engine the dispatcher picked
(``wino-<isa>``, ``cv-<isa>``, ``gemm-<isa>``, ``gemv``, ``flat``,
``rows``; see pyconvx/_conv.pyx) and the check; then, per thread count, the targets of issue 5 with PASS or MISS: float32 conv geometric mean of
pyconvx/torch <= 1.0 and no case > 1.3, resnet3x3 float32 >= 80 % of peak,
float64 <= 0.5, seed_cnn conv <= 0.5, max_pool2d <= 0.33, avg_pool2d <= 0.8,
the workspace; and the 2-thread / 1-thread speed-up >= 1.8 for the cases
whose 1-thread pyconvx time is over 5 ms, beside torch's speed-up on the
same case.

The speed-ups are measured apart, after the table, case by case: pyconvx
and torch at each thread count in interleaved rounds of samples of at
least 50 ms of repeated calls, each sample after an untimed call at its
thread count.  The table's samples of calls over 2 ms are single calls,
each right after another contestant's (torch's pooling runs 100-230 ms):
the first call after a switch refills caches and TLB and wakes the
threads, and that part does not scale -- on the same build, the table's
speed-ups of the pooling cases were 1.1-1.6, repeated calls' 1.6-2.0.  The
table's figure is printed beside each.

The machine's own scaling, for reading the speed-ups: with threadpoolctl,
a float32 2048x2048 matrix product through NumPy's BLAS (compute-bound, and
threaded by its own library) timed in interleaved rounds at each thread
count; printed as GFLOP/s and the speed-up over 1 thread.  On a VM whose
two vCPUs do not deliver two cores' worth of FMA throughput, no kernel
reaches 2x.  And the memory's: a NumPy copy of every 4th float32 of an
array of the pooling cases' shape (the traffic of a 2x2 stride-2 pooling),
split between T Python threads, printed as GB/s (bytes read and written)
and the speed-up; each pooling case's speed-up is printed beside the
GB/s it moves at 1 and at T threads (its input read once, its result
written once).  A memory-bound case cannot scale past the memory.

Examples
--------
Run it from outside the source tree or with ``python -P``, so that the
installed, compiled pyconvx is imported::

    python -P benchmarks/bench_nchw.py                      # full run
    python -P benchmarks/bench_nchw.py --quick --threads 1  # smoke run
    python -P benchmarks/bench_nchw.py --cases resnet3x3,pooling --json out.json
"""

import argparse
import dataclasses
import io
import json
import math
import multiprocessing
import os
import platform
import statistics
import sys
import time
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor

# OpenBLAS's idle threads spin about 0.1 s after each call (2**28 cycles):
# on a 2-core machine the NumPy baseline's threads would then steal a core
# from the next contestant's 2-thread run.  2**4 cycles: they sleep at once.
# (Set before NumPy loads OpenBLAS; an explicit setting wins.)
os.environ.setdefault("OPENBLAS_THREAD_TIMEOUT", "4")

import numpy as np  # noqa: E402
from numpy.lib.stride_tricks import sliding_window_view  # noqa: E402

import pyconvx  # noqa: E402
from pyconvx import _workspace  # noqa: E402

try:
    from threadpoolctl import ThreadpoolController
except ImportError:     # the NumPy baseline then runs with BLAS's default threads
    ThreadpoolController = None

MIB = 1 << 20
# Per-core FMA peak in GFLOP/s (float32, float64), measured on the project's
# Zen 4 VMs; --peak-gflops overrides it.
DEFAULT_PEAK = (117.0, 58.0)
MIN_SAMPLE_S = 2e-3     # loop shorter calls: perf_counter jitter is ~us
# The speed-up runs (measure_scaling): samples of repeated calls, a budget
# per case.
SCALING_SAMPLE_S = 0.05
SCALING_BUDGET_S = 3.0
MIN_ROUNDS = 3
TOL = {"float16": 2e-3, "float32": 1e-4, "float64": 1e-10}

# Issue 5's targets (ratio = pyconvx time / torch time).
TARGET_F32_GEOMEAN = 1.0
TARGET_F32_MAX = 1.3
TARGET_RESNET_PEAK = 80.0       # % of peak, resnet3x3 float32
TARGET_F64 = 0.5
TARGET_SEED_CONV = 0.5
TARGET_MAX_POOL = 0.33
TARGET_AVG_POOL = 0.8
TARGET_SPEEDUP_2T = 1.8
SPEEDUP_MIN_MS = 5.0
WORKSPACE_FLOOR = 64 * MIB


@dataclasses.dataclass
class Case:
    """One benchmarked call: ``getattr(pyconvx, op)(x[, w, bias], **kw)``."""
    name: str           # the case's name; --cases selects by it
    op: str             # a function of both pyconvx and torch.nn.functional
    x: tuple
    w: tuple | None = None      # conv2d only
    dtype: str = "float32"
    kw: dict = dataclasses.field(default_factory=dict)
    target: bool = True     # False: outside issue 5's list, no target

    @property
    def is_conv(self):
        return self.op == "conv2d"

    @property
    def label(self):
        if self.is_conv:
            flags = (("s", "stride"), ("p", "padding"), ("d", "dilation"),
                     ("g", "groups"))
            return " ".join([f"conv {self.w[2]}x{self.w[3]}"] + [
                f"{f}{self.kw[k]}" for f, k in flags if k in self.kw])
        flags = (("s", "stride"), ("p", "padding"))
        return " ".join(
            [f"{self.op[:3]} k{self.kw['kernel_size']}"]
            + [f"{f}{self.kw[k]}" for f, k in flags if k in self.kw]
            + (["nopad"] if self.kw.get("count_include_pad") is False else []))


def _conv(name, x, w, dtypes=("float32",), target=True, **kw):
    return [Case(name, "conv2d", x, w, dtype, kw, target) for dtype in dtypes]


def _pools(shape, specs, **avg_kw):
    return [Case("pooling", op, shape,
                 kw=dict(spec, **avg_kw) if op == "avg_pool2d" else spec)
            for op in ("max_pool2d", "avg_pool2d") for spec in specs]


BOTH = ("float32", "float64")
POOL_SHAPE = (32, 64, 112, 112)     # also the memory probe's array
CASES = [
    *_conv("seed_cnn", (1, 1, 28, 28), (5, 1, 5, 5)),
    Case("seed_cnn", "max_pool2d", (1, 5, 24, 24), kw=dict(kernel_size=2)),
    *_conv("mnist_conv1", (64, 1, 28, 28), (32, 1, 3, 3), padding=1),
    *_conv("mnist_conv2", (64, 32, 28, 28), (64, 32, 3, 3), BOTH, padding=1),
    *_conv("resnet3x3", (8, 64, 56, 56), (64, 64, 3, 3), BOTH, padding=1),
    *_conv("resnet_stem", (8, 3, 224, 224), (64, 3, 7, 7), stride=2, padding=3),
    *_conv("pointwise", (8, 256, 28, 28), (512, 256, 1, 1)),
    *_conv("depthwise", (8, 128, 56, 56), (128, 1, 3, 3), BOTH, padding=1,
           groups=128),
    *_conv("grouped", (8, 128, 28, 28), (128, 32, 3, 3), padding=1, groups=4),
    *_conv("dilated", (4, 64, 64, 64), (64, 64, 3, 3), padding=2, dilation=2),
    *_conv("strided", (8, 64, 56, 56), (128, 64, 3, 3), stride=2, padding=1),
    *_pools(POOL_SHAPE,
            [dict(kernel_size=2, stride=2),
             dict(kernel_size=3, stride=2, padding=1)],
            count_include_pad=False),
    # Beyond issue 5's list, timed without a target: ResNet's late layers
    # (few output positions, many channels) and fully connected layers as
    # 1x1 convolutions on a batch.
    *_conv("late_1img", (1, 512, 7, 7), (512, 512, 3, 3), padding=1,
           target=False),
    *_conv("late_8img", (8, 512, 7, 7), (512, 512, 3, 3), padding=1,
           target=False),
    *_conv("late_s2", (4, 256, 14, 14), (512, 256, 3, 3), stride=2,
           padding=1, target=False),
    *_conv("late_1x1_7", (1, 512, 7, 7), (2048, 512, 1, 1), target=False),
    *_conv("late_1x1_14", (8, 1024, 14, 14), (256, 1024, 1, 1),
           target=False),
    *_conv("fc_512", (64, 512, 1, 1), (1000, 512, 1, 1), target=False),
    *_conv("fc_4096", (32, 4096, 1, 1), (4096, 4096, 1, 1), target=False),
    # And pooling: global (ResNet's last layer: one output a row, pooled
    # window by window) and float16 (computed in float32).
    *[Case("global_pool", op, (8, 512, 7, 7), kw=dict(kernel_size=7),
           target=False) for op in ("max_pool2d", "avg_pool2d")],
    *[Case("pool_f16", op, (8, 64, 112, 112), dtype="float16",
           kw=dict(kernel_size=3, stride=2, padding=1), target=False)
      for op in ("max_pool2d", "avg_pool2d")],
]
CASE_NAMES = list(dict.fromkeys(c.name for c in CASES))


def make_inputs(index, seed):
    """The arrays of CASES[index]: x, and for conv2d w and a bias."""
    case = CASES[index]
    rng = np.random.default_rng([seed, index])
    dtype = np.dtype(case.dtype)
    # Drawn in the final dtype: no float64 temporary raises the RSS peak
    # before the workspace measurement.
    shapes = (case.x, case.w, case.w[:1]) if case.is_conv else (case.x,)
    if dtype == np.float16:     # (standard_normal draws float32 or 64)
        return tuple(rng.standard_normal(s, dtype=np.float32).astype(dtype)
                     for s in shapes)
    return tuple(rng.standard_normal(s, dtype=dtype) for s in shapes)


def run_pyconvx(case, inputs, threads):
    return getattr(pyconvx, case.op)(*inputs, **case.kw, workers=threads)


def im2col_conv2d(x, w, b, stride=1, padding=0, dilation=1, groups=1):
    """The NumPy baseline: pad, gather every window (im2col), one matmul per
    group, add the bias."""
    n = x.shape[0]
    c_out, cg, kh, kw = w.shape
    xp = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    win = sliding_window_view(
        xp, ((kh - 1) * dilation + 1, (kw - 1) * dilation + 1), axis=(2, 3))
    win = win[:, :, ::stride, ::stride, ::dilation, ::dilation]
    oh, ow = win.shape[2:4]
    per_group = c_out // groups
    out = np.empty((n, oh, ow, c_out), dtype=x.dtype)
    for g in range(groups):
        cols = win[:, g * cg:(g + 1) * cg].transpose(0, 2, 3, 1, 4, 5)
        cols = cols.reshape(n * oh * ow, cg * kh * kw)
        wg = w[g * per_group:(g + 1) * per_group].reshape(per_group, -1)
        out[..., g * per_group:(g + 1) * per_group] = (cols @ wg.T).reshape(
            n, oh, ow, per_group)
    return out.transpose(0, 3, 1, 2) + b[None, :, None, None]


# -- workspace (runs in a spawned child) ----------------------------------------

def _proc_status_bytes(field):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    raise OSError(f"no {field} in /proc/self/status")


def _workspace_child(index, threads, seed):
    case = CASES[index]
    inputs = make_inputs(index, seed)
    tiny = (np.ascontiguousarray(inputs[0][:1, :, :16, :16]), *inputs[1:])
    run_pyconvx(case, tiny, threads)
    before = _proc_status_bytes("VmRSS")
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")        # resets VmHWM to the current RSS
        method = "VmHWM after clear_refs"
    except OSError:
        method = "VmHWM, not reset (upper bound)"
    result = run_pyconvx(case, inputs, threads)
    growth = _proc_status_bytes("VmHWM") - before
    return dict(workspace_bytes=growth - result.nbytes, rss_growth_bytes=growth,
                output_bytes=result.nbytes, method=method)


def measure_workspace(index, threads, seed):
    """Workspace of one pyconvx call of CASES[index], in a fresh process;
    None where it cannot be measured."""
    if not os.path.exists("/proc/self/status"):
        return None
    ctx = multiprocessing.get_context("spawn")
    try:
        with ProcessPoolExecutor(1, mp_context=ctx) as pool:
            return pool.submit(_workspace_child, index, threads, seed).result()
    except Exception as exc:    # a benchmark, not a test: report and go on
        print(f"  (workspace of {CASES[index].name} not measured: {exc!r})")
        return None


# -- timing and checks -----------------------------------------------------------

def time_interleaved(contestants, repeat, budget, min_sample=MIN_SAMPLE_S):
    """Warm up, calibrate, then time interleaved rounds.

    contestants: key -> (prepare, call); prepare() (untimed) sets the
    thread count before each sample; a sample loops the call for at least
    min_sample seconds.  Returns (the warm-up results, the
    median seconds per call by key, the number of rounds).
    """
    first, number, round_cost = {}, {}, 0.0
    for key, (prepare, call) in contestants.items():
        prepare()
        first[key] = call()
        t0 = time.perf_counter()
        call()
        t = max(time.perf_counter() - t0, 1e-9)
        number[key] = max(1, math.ceil(min_sample / t))
        round_cost += t * number[key]
    rounds = min(repeat, max(min(MIN_ROUNDS, repeat), int(budget / round_cost)))
    samples = {key: [] for key in contestants}
    for _ in range(rounds):
        for key, (prepare, call) in contestants.items():
            prepare()
            t0 = time.perf_counter()
            for _ in range(number[key]):
                call()
            samples[key].append((time.perf_counter() - t0) / number[key])
    return first, {k: statistics.median(v) for k, v in samples.items()}, rounds


def measure_scaling(index, threads, seed, torch, repeat):
    """Median seconds per call of pyconvx (and torch) on CASES[index] at
    each thread count, in repeated calls: interleaved rounds of samples of
    at least SCALING_SAMPLE_S, each after an untimed call at its thread
    count, these contestants only -- so that no timed call is the first
    after another library's or another thread count's (the table's
    samples of calls over 2 ms are single calls, each right after
    another contestant: what they add, caches and TLB refilled and the
    threads woken, does not scale)."""
    case = CASES[index]
    inputs = make_inputs(index, seed)
    contestants = {}
    for t in threads:
        call = (lambda t=t: run_pyconvx(case, inputs, t))
        contestants["pyconvx", t] = (call, call)
        if torch is not None:
            func = getattr(torch.nn.functional, case.op)
            tensors = [torch.from_numpy(a) for a in inputs]

            def warm(t=t, f=func, ts=tensors):
                torch.set_num_threads(t)
                f(*ts, **case.kw)

            contestants["torch", t] = (
                warm, lambda f=func, ts=tensors: f(*ts, **case.kw))
    _, median, _ = time_interleaved(contestants, repeat, SCALING_BUDGET_S,
                                    SCALING_SAMPLE_S)
    return median


def compare(case, ours, ref):
    """(matches, max abs error) of pyconvx's result against a reference."""
    if ours.shape != ref.shape or ours.dtype != ref.dtype:
        return False, None
    err = float(np.max(np.abs(ours.astype(np.float64) - ref), initial=0.0))
    if case.op == "max_pool2d":
        return bool(np.array_equal(ours, ref, equal_nan=True)), err
    tol = TOL[case.dtype]
    scale = float(np.max(np.abs(ref), initial=0.0))
    return bool(np.allclose(ours, ref, rtol=tol, atol=tol * scale)), err


def _no_setup():
    pass


def _import_torch():
    # Imported here, not at module level, so the spawned workspace children
    # do not pay for it.
    try:
        import torch
    except ImportError:
        return None
    return torch


def run_case(index, args, torch, blas):
    """Time CASES[index] at every thread count; one row per thread count."""
    case = CASES[index]
    inputs = make_inputs(index, args.seed)
    contestants = {}
    for t in args.threads:
        contestants["pyconvx", t] = (
            _no_setup, lambda t=t: run_pyconvx(case, inputs, t))
        if torch is not None:
            func = getattr(torch.nn.functional, case.op)
            tensors = [torch.from_numpy(a) for a in inputs]
            contestants["torch", t] = (
                lambda t=t: torch.set_num_threads(t),
                lambda f=func, ts=tensors: f(*ts, **case.kw).numpy())
        if case.is_conv:
            contestants["numpy", t] = (
                (lambda t=t: blas.limit(limits=t, user_api="blas"))
                if blas is not None else _no_setup,
                lambda: im2col_conv2d(*inputs, **case.kw))
    first, median, rounds = time_interleaved(contestants, args.repeat, args.budget)

    t0 = args.threads[0]
    ours = first["pyconvx", t0]
    ref_name = "torch" if torch is not None else "numpy" if case.is_conv else None
    ok, err = compare(case, ours, first[ref_name, t0]) if ref_name else (None, None)
    taps = case.w[1] * case.w[2] * case.w[3] if case.is_conv else 0
    flops = 2 * ours.size * taps
    peak = args.peak_gflops[case.dtype == "float64"]
    rows = []
    for t in args.threads:
        same = t == t0 or np.array_equal(first["pyconvx", t], ours, equal_nan=True)
        ms = {lib: median[lib, t] * 1e3 if (lib, t) in median else None
              for lib in ("pyconvx", "torch", "numpy")}
        gflops = flops / (ms["pyconvx"] * 1e-3) / 1e9 if flops else None
        # Pooling: the least memory traffic, the input read once and the
        # result written once.
        gbps = (None if case.is_conv else
                (sum(a.nbytes for a in inputs) + ours.nbytes)
                / (ms["pyconvx"] * 1e-3) / 1e9)
        ws = None if args.no_workspace else measure_workspace(index, t, args.seed)
        limit = max(WORKSPACE_FLOOR, ours.nbytes // 4)
        rows.append(dict(
            case=case.name, op=case.op, label=case.label, dtype=case.dtype,
            target=case.target, threads=t, x_shape=case.x, w_shape=case.w, kwargs=case.kw, ms=ms,
            rounds=rounds, gflops=gflops, gb_per_s=gbps,
            moved_bytes=None if case.is_conv else
            sum(a.nbytes for a in inputs) + ours.nbytes,
            pct_peak=gflops / (peak * t) * 100 if gflops else None,
            px_over_torch=ms["pyconvx"] / ms["torch"] if ms["torch"] else None,
            px_over_numpy=ms["pyconvx"] / ms["numpy"] if ms["numpy"] else None,
            reference=ref_name, matches_reference=ok, max_abs_err=err,
            same_as_first_threads=same,
            check=(f"MISMATCH vs {ref_name}" if ok is False else
                   f"DIFFERS from {t0}T" if not same else
                   "-" if ok is None else "ok"),
            workspace_bytes=None if ws is None else ws["workspace_bytes"],
            workspace_limit_bytes=limit,
            workspace_ok=None if ws is None else ws["workspace_bytes"] <= limit,
            workspace=ws, output_bytes=ours.nbytes, engine=conv_engine(case, ours)))
    return rows


def conv_engine(case, out):
    """The conv2d engine pyconvx's dispatcher picks for a case ("wino-avx512",
    "cv-avx512", "flat", "rows"), "-" for pooling."""
    if not case.is_conv:
        return "-"
    from pyconvx import _conv

    def pair(name, default):
        v = case.kw.get(name, default)
        return (v, v) if isinstance(v, int) else tuple(v)

    (sh, sw), (dh, dw) = pair("stride", 1), pair("dilation", 1)
    return _conv.engine(case.dtype, case.x[1], case.w[0], case.w[2], case.w[3],
                        out.shape[-1], sw, dw, case.kw.get("groups", 1), sh, dh,
                        oh=out.shape[-2], n=case.x[0])


# -- output ----------------------------------------------------------------------

def _fmt(value, spec):
    return "-" if value is None else format(value, spec)


# title, width, the cell's text from a row
COLUMNS = [
    ("case", -11, lambda r: r["case"]),
    ("op", -18, lambda r: r["label"]),
    ("dtype", -7, lambda r: r["dtype"]),
    ("thr", 3, lambda r: str(r["threads"])),
    ("pyconvx", 9, lambda r: _fmt(r["ms"]["pyconvx"], ".3f")),
    ("torch", 9, lambda r: _fmt(r["ms"]["torch"], ".3f")),
    ("numpy", 9, lambda r: _fmt(r["ms"]["numpy"], ".3f")),
    ("GFLOP/s", 7, lambda r: _fmt(r["gflops"], ".1f")),
    ("%peak", 5, lambda r: _fmt(r["pct_peak"], ".0f")),
    ("px/torch", 8, lambda r: _fmt(r["px_over_torch"], ".3f")),
    ("px/numpy", 8, lambda r: _fmt(r["px_over_numpy"], ".3f")),
    # A result smaller than a page can make the workspace slightly negative.
    ("ws MiB", 11, lambda r: "-" if r["workspace_bytes"] is None else
     f"{max(0, r['workspace_bytes']) / MIB:.2f}"
     + ("" if r["workspace_ok"] else " OVER")),
    ("engine", -9, lambda r: r["engine"]),
    ("check", -17, lambda r: r["check"]),
]


def table_line(cells):
    """One line of the results table (negative width: left-aligned)."""
    return " ".join(f"{c:<{-w}}" if w < 0 else f"{c:>{w}}"
                    for c, (_, w, _) in zip(cells, COLUMNS)).rstrip()


def machine_scaling(blas, threads, repeat):
    """GFLOP/s of a float32 2048x2048 BLAS matrix product per thread count
    (interleaved rounds, medians), or None without threadpoolctl."""
    if blas is None:
        return None
    n = 2048
    a = np.random.default_rng(0).standard_normal((n, n), dtype=np.float32)
    contestants = {t: (lambda t=t: blas.limit(limits=t, user_api="blas"),
                       lambda: a @ a) for t in threads}
    _, median, _ = time_interleaved(contestants, max(repeat, MIN_ROUNDS), 0.0)
    return {t: 2 * n**3 / median[t] / 1e9 for t in threads}


def memory_scaling(threads, repeat):
    """GB/s of a streaming copy through NumPy per thread count: every 4th
    float32 of an array of POOL_SHAPE, the traffic of a 2x2 stride-2
    pooling of it (read 103 MB, write 26 MB), in contiguous shares, one
    Python thread each (NumPy copies without the GIL); interleaved rounds,
    medians."""
    src = np.ones(math.prod(POOL_SHAPE), np.float32).reshape(-1, 4)
    dst = np.empty(len(src), np.float32)

    def copy(lo, hi):
        np.copyto(dst[lo:hi], src[lo:hi, 0])

    with ThreadPoolExecutor(max(threads)) as workers:
        def run(t):
            cuts = [len(src) * i // t for i in range(t + 1)]
            for f in [workers.submit(copy, lo, hi)
                      for lo, hi in zip(cuts[:-1], cuts[1:])]:
                f.result()

        contestants = {t: (_no_setup, lambda t=t: run(t)) for t in threads}
        _, median, _ = time_interleaved(contestants, max(repeat, MIN_ROUNDS),
                                        0.0)
    return {t: (src.nbytes + dst.nbytes) / median[t] / 1e9 for t in threads}


def summarize(rows, threads, have_torch, machine=None, scaling=None):
    """Print issue 5's targets with PASS / MISS; return them as dicts.
    machine: {"blas": machine_scaling(), "memory": memory_scaling()}'s
    figures, printed with the speed-ups.  scaling: {(case, label, dtype):
    measure_scaling()'s times}, the speed-ups' measure where present (the
    table's beside it).
    Rows of cases outside issue 5's list are printed after, no target."""
    verdicts = []
    extra = [r for r in rows if not r.get("target", True)]
    rows = [r for r in rows if r.get("target", True)]

    def verdict(what, value, op, target, fmt=".3f", note=""):
        if value is None:
            mark = "-" if have_torch else "- (torch not installed)"
            ok = None
        else:
            ok = value <= target if op == "<=" else value >= target
            mark = "PASS" if ok else "MISS"
        print(f"  {what:42s} {_fmt(value, fmt):>7s}  "
              f"{f'(target {op} {target:g})':16s}  {mark}{note}")
        verdicts.append(dict(what=what, value=value, target=f"{op} {target:g}",
                             ok=ok))

    for t in threads:
        at_t = [r for r in rows if r["threads"] == t]
        print(f"\n{t} thread{'s' * (t != 1)} (ratio = pyconvx time / torch time):")
        f32 = [r for r in at_t if r["op"] == "conv2d" and r["dtype"] == "float32"
               and r["px_over_torch"]]
        if f32:
            logs = [math.log(r["px_over_torch"]) for r in f32]
            worst = max(f32, key=lambda r: r["px_over_torch"])
            verdict(f"float32 conv geomean ({len(f32)} cases)",
                    math.exp(statistics.fmean(logs)), "<=", TARGET_F32_GEOMEAN)
            verdict(f"float32 conv max ({worst['case']})",
                    worst["px_over_torch"], "<=", TARGET_F32_MAX)
        for r in at_t:
            tag = f"{r['case']} {r['label']} {r['dtype']}"
            if r["case"] == "resnet3x3" and r["dtype"] == "float32":
                verdict(f"{r['case']} float32 % of peak", r["pct_peak"], ">=",
                        TARGET_RESNET_PEAK, ".1f")
            if r["op"] == "conv2d" and r["dtype"] == "float64":
                verdict(tag, r["px_over_torch"], "<=", TARGET_F64)
            if r["case"] == "seed_cnn" and r["op"] == "conv2d":
                verdict(tag, r["px_over_torch"], "<=", TARGET_SEED_CONV)
            if r["case"] == "seed_cnn" and r["op"] != "conv2d":
                print(f"  {tag:42s} {_fmt(r['px_over_torch'], '.3f'):>7s}  "
                      "(no target)")
            if r["case"] == "pooling":
                verdict(tag, r["px_over_torch"], "<=",
                        TARGET_MAX_POOL if r["op"] == "max_pool2d"
                        else TARGET_AVG_POOL)
        measured = [r for r in at_t if r["workspace_bytes"] is not None]
        if measured:
            over = [r for r in measured if not r["workspace_ok"]]
            print(f"  workspace <= max(64 MiB, output/4): {len(over)} of "
                  f"{len(measured)} over  {'MISS' if over else 'PASS'}"
                  + "".join(f"\n    {r['case']} {r['label']} {r['dtype']}: "
                            f"{r['workspace_bytes'] / MIB:.1f} MiB" for r in over))
            verdicts.append(dict(what=f"workspace at {t}T", value=len(over),
                                 target="0 over", ok=not over))

    if 1 in threads:
        for t in (t for t in threads if t != 1):
            print(f"\n{t}-thread / 1-thread speed-up of pyconvx, cases over "
                  f"{SPEEDUP_MIN_MS:g} ms at 1 thread, in repeated calls "
                  "(torch's the same way; the table's single calls):")
            machine = machine or {}
            blas, memory = machine.get("blas"), machine.get("memory")
            if blas and t in blas:
                print(f"  machine: float32 BLAS matrix product "
                      f"{blas[1]:.0f} -> {blas[t]:.0f} GFLOP/s, "
                      f"speed-up {blas[t] / blas[1]:.2f}")
            if memory and t in memory:
                print(f"  machine: NumPy streaming copy (pooling's traffic) "
                      f"{memory[1]:.1f} -> {memory[t]:.1f} GB/s, "
                      f"speed-up {memory[t] / memory[1]:.2f}")
            one = {(r["case"], r["label"], r["dtype"]): r
                   for r in rows if r["threads"] == 1}
            for r in rows:
                key = (r["case"], r["label"], r["dtype"])
                first = one[key]["ms"]
                if r["threads"] != t or first["pyconvx"] <= SPEEDUP_MIN_MS:
                    continue
                what = f"{' '.join(key)} ({first['pyconvx']:.0f} ms)"
                table = first["pyconvx"] / r["ms"]["pyconvx"]
                runs = (scaling or {}).get(key)
                # Seconds per call by library at 1 and t threads.
                sec = ({lib: (runs[lib, 1], runs[lib, t])
                        for lib in ("pyconvx", "torch") if (lib, 1) in runs}
                       if runs else
                       {lib: (first[lib] / 1e3, r["ms"][lib] / 1e3)
                        for lib in ("pyconvx", "torch") if first[lib]})
                ours = sec["pyconvx"][0] / sec["pyconvx"][1]
                notes = ([f"torch {sec['torch'][0] / sec['torch'][1]:.2f}"]
                         if "torch" in sec else [])
                if runs:
                    notes.append(f"table {table:.2f}")
                if r["moved_bytes"]:
                    notes.append(
                        f"{r['moved_bytes'] / sec['pyconvx'][0] / 1e9:.1f} -> "
                        f"{r['moved_bytes'] / sec['pyconvx'][1] / 1e9:.1f} "
                        "GB/s")
                note = f"  ({'; '.join(notes)})" if notes else ""
                if t == 2:
                    verdict(what, ours, ">=", TARGET_SPEEDUP_2T, ".2f", note)
                else:
                    print(f"  {what:42s} {ours:7.2f}  (no target){note}")
    if extra:
        print("\ncases outside issue 5's list, no target: pyconvx time / "
              "torch time per thread count")
        for key in dict.fromkeys((r["case"], r["label"], r["dtype"])
                                 for r in extra):
            ratios = [f"{r['threads']}T {_fmt(r['px_over_torch'], '.3f')}"
                      for r in extra
                      if (r["case"], r["label"], r["dtype"]) == key]
            print(f"  {' '.join(key):42s} " + ", ".join(ratios))
    return verdicts


def parse_args(argv=None):
    def peaks(text):
        f32, f64 = (float(v) for v in text.split(","))
        return f32, f64

    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--threads", type=int, nargs="+", default=[1, 2],
                   metavar="T", help="thread counts: workers= for pyconvx, "
                   "torch.set_num_threads, BLAS threads for numpy "
                   "(default: 1 2)")
    p.add_argument("--cases", nargs="+", default=[",".join(CASE_NAMES)],
                   metavar="NAME", help="case names, comma- or "
                   f"space-separated (default: all): {', '.join(CASE_NAMES)}")
    p.add_argument("--repeat", type=int, default=None, metavar="N",
                   help="timed rounds per case (default: 11; 3 with --quick)")
    p.add_argument("--budget", type=float, default=None, metavar="SECONDS",
                   help="a case whose round takes over SECONDS / N gets "
                   "fewer rounds, never under 3 (default: 4; 0 with --quick)")
    p.add_argument("--quick", action="store_true",
                   help="smoke run: 3 rounds per case")
    p.add_argument("--peak-gflops", type=peaks, default=DEFAULT_PEAK,
                   metavar="F32,F64", help="per-core FMA peak in GFLOP/s "
                   "for %% of peak, times the thread count (default: 117,58, "
                   "measured on the project's Zen 4 VMs)")
    p.add_argument("--no-workspace", action="store_true",
                   help="skip the workspace measurement (a child process "
                   "per case and thread count)")
    p.add_argument("--json", metavar="PATH", help="write all rows here")
    p.add_argument("--seed", type=int, default=12345,
                   help="random inputs' seed (default: 12345)")
    args = p.parse_args(argv)
    args.cases = [n for arg in args.cases for n in arg.split(",") if n]
    unknown = sorted(set(args.cases) - set(CASE_NAMES))
    if unknown:
        p.error(f"unknown case(s) {', '.join(unknown)}; "
                f"choose from {', '.join(CASE_NAMES)}")
    if args.repeat is None:
        args.repeat = 3 if args.quick else 11
    if args.budget is None:
        args.budget = 0.0 if args.quick else 4.0
    if args.repeat < 1 or min(args.threads) < 1:
        p.error("--repeat and --threads must be positive")
    return args


def main(argv=None):
    args = parse_args(argv)
    start = time.perf_counter()
    torch = _import_torch()
    blas = ThreadpoolController() if ThreadpoolController else None

    config = io.StringIO()
    pyconvx.show_config(file=config)
    print(config.getvalue(), end="")
    print(f"  torch:           "
          f"{torch.__version__ if torch else 'not installed'}")
    print("  threadpoolctl:   " + (
        "yes" if blas else "not installed (numpy's BLAS threads not set)"))
    print(f"  machine:         {platform.machine()} {platform.processor()}".rstrip())
    print(f"  peak GFLOP/s:    {args.peak_gflops[0]:g} (float32), "
          f"{args.peak_gflops[1]:g} (float64) per core, times the threads")
    print(f"\nmedians of up to {args.repeat} interleaved rounds, ms; "
          "px/x = pyconvx time / x time (< 1: pyconvx faster); "
          "ws = workspace of one pyconvx call\n")
    print(table_line([title for title, _, _ in COLUMNS]))
    print("-" * (sum(abs(w) + 1 for _, w, _ in COLUMNS) - 1))

    rows = []
    for index, case in enumerate(CASES):
        if case.name not in args.cases:
            continue
        for r in run_case(index, args, torch, blas):
            rows.append(r)
            print(table_line([cell(r) for _, _, cell in COLUMNS]), flush=True)
            if r["check"] not in ("ok", "-"):
                print(f"*** {r['check']}: {r['case']} {r['label']} {r['dtype']} "
                      f"at {r['threads']} thread(s), max abs error "
                      f"{_fmt(r['max_abs_err'], '.3g')} ***", flush=True)

    machine = scaling = None
    if 1 in args.threads and len(args.threads) > 1:
        machine = dict(blas=machine_scaling(blas, args.threads, args.repeat),
                       memory=memory_scaling(args.threads, args.repeat))
        scaling = {}
        for index, case in enumerate(CASES):
            key = (case.name, case.label, case.dtype)
            one = [r for r in rows if r["threads"] == 1
                   and (r["case"], r["label"], r["dtype"]) == key]
            if (case.target and one
                    and one[0]["ms"]["pyconvx"] > SPEEDUP_MIN_MS):
                scaling[key] = measure_scaling(index, args.threads, args.seed,
                                               torch, args.repeat)
    verdicts = summarize(rows, args.threads, torch is not None, machine,
                         scaling)
    bad = [r for r in rows if r["check"] not in ("ok", "-")]
    print(f"\ncorrectness: {'all pyconvx results match' if not bad else ''}"
          + "".join(f"\n  *** {r['check']}: {r['case']} {r['label']} "
                    f"{r['dtype']} {r['threads']}T" for r in bad))
    # Beside each call's workspace: what pyconvx keeps for the next calls
    # (pyconvx._workspace), after every case of the run.
    kept = _workspace.stats()
    print(f"work buffers kept between calls after the run: "
          f"{kept['kept_bytes'] / MIB:.1f} MiB in {kept['kept_buffers']} "
          f"(at most {kept['limit_bytes'] / MIB:.0f} MiB)")
    elapsed = time.perf_counter() - start
    print(f"total runtime: {elapsed:.1f} s")

    if args.json:
        doc = dict(settings={k: v for k, v in vars(args).items()},
                   config=config.getvalue(),
                   versions=dict(pyconvx=pyconvx.__version__,
                                 numpy=np.__version__,
                                 torch=torch.__version__ if torch else None,
                                 python=sys.version.split()[0]),
                   platform=platform.platform(), rows=rows, summary=verdicts,
                   machine_blas_gflops=(machine or {}).get("blas"),
                   machine_memory_gb_per_s=(machine or {}).get("memory"),
                   speedup_runs_ms=[
                       dict(case=k[0], label=k[1], dtype=k[2],
                            ms={f"{lib} {t}": v * 1e3
                                for (lib, t), v in times.items()})
                       for k, times in (scaling or {}).items()],
                   kept_between_calls=kept,
                   all_match=not bad, total_runtime_s=elapsed)
        with open(args.json, "w") as f:
            json.dump(doc, f, indent=1)
        print(f"results written to {args.json}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
