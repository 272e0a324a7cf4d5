"""Benchmark pyconvx.correlate2d / convolve2d against SciPy.

Times, in one process and on the same data:

* ``scipy.signal.correlate2d`` / ``convolve2d`` -- the functions pyconvx
  replaces (its results must be bit-identical, and this is checked);
* ``scipy.ndimage.correlate`` / ``convolve`` -- SciPy's faster filter;
* ``pyconvx.correlate2d`` / ``convolve2d`` at each requested thread count
  (``workers=``).

Cases: a square random image (default 1024x1024) in float32 and float64
(``--dtype`` also takes complex128, complex64, int64, int32, int16 and
uint8: integers small enough that no sum wraps, so scipy.ndimage computes
the same values), square random kernels (3x3, 7x7, 15x15; same dtype as the
image), modes 'same' and 'valid', boundaries 'fill' (zero padding) and
'symm'.  Every case runs correlate2d; convolve2d runs for the 7x7 kernel by
default.

Method: one warm-up call per contestant (its result doubles as the
correctness check), then interleaved repeats -- in each round every
contestant is timed once with ``time.perf_counter`` -- and the median per
contestant is reported.  A slow contestant gets fewer rounds: each is timed
``min(repeats, max(3, budget / warm-up time))`` times, so scipy.signal with a
15x15 kernel (about 1 s a call) runs 3 times while the fast calls run
``--repeats`` times.

Printed: ``pyconvx.show_config()``, a table of median times and speed-ups
(``other_time / pyconvx_time``), and a summary against the targets:
>= 10x vs scipy.signal at 1 thread, >= 18x at 2 threads (over the float32
and float64 cases), > 1x vs scipy.ndimage in every case at every thread
count.

Run it from outside the source tree (or with ``python -P``) so that the
installed, compiled pyconvx is imported::

    python -P benchmarks/bench_signal.py            # full run (~2 min, 2 cores)
    python -P benchmarks/bench_signal.py --quick    # smoke run
    python -P benchmarks/bench_signal.py --threads 1 2 4 --json out.json
"""

import argparse
import io
import json
import os
import platform
import statistics
import sys
import time

import numpy as np
import scipy
import scipy.ndimage
import scipy.signal

import pyconvx

# Targets the summary checks (speed-up = other time / pyconvx time).
TARGET_VS_SIGNAL = {1: 10.0, 2: 18.0}  # thread count -> minimum speed-up
TARGET_VS_NDIMAGE = 1.0  # strictly greater, in every case
TARGET_DTYPES = ("float64", "float32")  # the cases the signal targets cover

# scipy.ndimage's extension mode equivalent to scipy.signal's boundary.
# ndimage 'reflect' (d c b a | a b c d | d c b a) is signal's 'symm'.
NDIMAGE_MODE = {"fill": "constant", "symm": "reflect"}

SIGNAL_FUNCS = {"corr": scipy.signal.correlate2d, "conv": scipy.signal.convolve2d}
NDIMAGE_FUNCS = {"corr": scipy.ndimage.correlate, "conv": scipy.ndimage.convolve}
PYCONVX_FUNCS = {"corr": pyconvx.correlate2d, "conv": pyconvx.convolve2d}

MIN_REPEATS = 3

# Short names of the dtypes, in the table's case labels.
DTYPE_LABELS = {"float64": "f64", "float32": "f32", "complex128": "c128",
                "complex64": "c64", "int64": "i64", "int32": "i32",
                "int16": "i16", "uint8": "u8"}
# Integer data in [-v, v] (uint8: [0, v]): small enough that no sum of up
# to 15x15 products wraps, so scipy.ndimage (which sums in float64 and then
# casts) computes the same integers.
INT_RANGE = {"int64": 100, "int32": 100, "int16": 3, "uint8": 1}


def parse_args(argv=None):
    p = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--threads", type=int, nargs="+", default=[1, 2],
                   help="pyconvx thread counts (workers=) to time")
    p.add_argument("--dtype", nargs="+", default=["float64", "float32"],
                   choices=list(DTYPE_LABELS), help="image/kernel dtypes")
    p.add_argument("--size", type=int, default=1024,
                   help="image side length (the image is size x size)")
    p.add_argument("--kernels", type=int, nargs="+", default=None,
                   help="kernel side lengths for correlate2d "
                        "(default 3 7 15; 3 7 with --quick)")
    p.add_argument("--convolve-kernels", type=int, nargs="*", default=[7],
                   help="kernel side lengths for which convolve2d is timed too")
    p.add_argument("--modes", nargs="+", default=["same", "valid"],
                   choices=["same", "valid"])
    p.add_argument("--boundaries", nargs="+", default=["fill", "symm"],
                   choices=["fill", "symm"])
    p.add_argument("--repeats", type=int, default=None,
                   help="timed calls per contestant and case (default 5; "
                        "3 with --quick)")
    p.add_argument("--budget", type=float, default=2.0,
                   help="seconds per contestant and case that decide how many "
                        f"repeats a slow contestant gets (never below "
                        f"{MIN_REPEATS})")
    p.add_argument("--quick", action="store_true",
                   help="smoke run: 3 repeats, kernels 3x3 and 7x7 only")
    p.add_argument("--json", metavar="PATH",
                   help="also write all settings and results as JSON here")
    p.add_argument("--seed", type=int, default=12345)
    args = p.parse_args(argv)
    if args.kernels is None:
        args.kernels = [3, 7] if args.quick else [3, 7, 15]
    if args.repeats is None:
        args.repeats = 3 if args.quick else 5
    if args.repeats < 1 or min(args.threads) < 1 or args.size < 1:
        p.error("--repeats, --threads and --size must be positive")
    return args


def build_cases(args):
    """The list of cases, in run order."""
    cases = []
    for dtype in args.dtype:
        for k in args.kernels:
            ops = ["corr"] + (["conv"] if k in args.convolve_kernels else [])
            for op in ops:
                for mode in args.modes:
                    for boundary in args.boundaries:
                        cases.append(dict(dtype=dtype, kernel=k, op=op,
                                          mode=mode, boundary=boundary))
    return cases


def case_label(case):
    dt = DTYPE_LABELS[case["dtype"]]
    k = case["kernel"]
    return f"{dt} {case['op']} {k}x{k} {case['mode']} {case['boundary']}"


def make_contestants(case, image, kernel, threads):
    """Name -> zero-argument callable, in the order they are timed."""
    op, mode, boundary = case["op"], case["mode"], case["boundary"]
    sig = SIGNAL_FUNCS[op]
    ndi = NDIMAGE_FUNCS[op]
    pcx = PYCONVX_FUNCS[op]
    nd_mode = NDIMAGE_MODE[boundary]
    contestants = {
        "signal": lambda: sig(image, kernel, mode=mode, boundary=boundary),
        # scipy.ndimage has no 'valid' mode: for 'valid' cases it is timed on
        # the same image with the same kernel and computes the 'same'-sized
        # output (a superset of the 'valid' one, so slightly more work).
        "ndimage": lambda: ndi(image, kernel, mode=nd_mode, cval=0.0),
    }
    for t in threads:
        contestants[f"px{t}"] = (
            lambda t=t: pcx(image, kernel, mode=mode, boundary=boundary,
                            workers=t))
    return contestants


def ndimage_matches(nd_out, ref, case):
    """Whether ndimage computed the same thing as scipy.signal (to rounding)."""
    if case["mode"] == "valid":
        h = case["kernel"] // 2
        nd_out = nd_out[h:nd_out.shape[0] - h, h:nd_out.shape[1] - h]
    if nd_out.shape != ref.shape:
        return False
    if ref.dtype.kind in "iu":
        return bool(np.array_equal(nd_out, ref))
    rtol = 1e-4 if ref.dtype in (np.float32, np.complex64) else 1e-10
    atol = rtol * float(np.abs(ref).max(initial=1.0))
    return bool(np.allclose(nd_out, ref, rtol=rtol, atol=atol))


def random_data(rng, shape, dtype):
    """Standard normal values (complex: in both parts), or small integers
    (INT_RANGE)."""
    if dtype.kind in "iu":
        v = INT_RANGE[dtype.name]
        return rng.integers(0 if dtype.kind == "u" else -v, v, size=shape,
                            endpoint=True).astype(dtype)
    data = rng.standard_normal(shape)
    if dtype.kind == "c":
        data = data + 1j * rng.standard_normal(shape)
    return data.astype(dtype)


def run_case(case, args, rng):
    """Check, warm up and time one case; returns its result record."""
    dtype = np.dtype(case["dtype"])
    k = case["kernel"]
    image = random_data(rng, (args.size, args.size), dtype)
    kernel = random_data(rng, (k, k), dtype)
    contestants = make_contestants(case, image, kernel, args.threads)

    # Warm-up: one untimed-for-the-table call each.  Its output is the
    # correctness check and its duration sizes the number of repeats.
    outputs, warmup_s = {}, {}
    for name, fn in contestants.items():
        t0 = time.perf_counter()
        outputs[name] = fn()
        warmup_s[name] = time.perf_counter() - t0
    ref = outputs["signal"]
    exact = {t: bool(np.array_equal(outputs[f"px{t}"], ref)
                     and outputs[f"px{t}"].dtype == ref.dtype)
             for t in args.threads}
    nd_ok = ndimage_matches(outputs["ndimage"], ref, case)
    del outputs

    n_repeats = {
        name: min(args.repeats,
                  max(MIN_REPEATS, int(args.budget / max(w, 1e-9))))
        for name, w in warmup_s.items()}

    # Interleaved repeats: each round times every contestant once, so slow
    # drifts (turbo, thermal, other load) hit all contestants alike.
    samples = {name: [] for name in contestants}
    for r in range(max(n_repeats.values())):
        for name, fn in contestants.items():
            if r < n_repeats[name]:
                t0 = time.perf_counter()
                fn()
                samples[name].append(time.perf_counter() - t0)

    median = {name: statistics.median(s) for name, s in samples.items()}
    speedup_signal = {t: median["signal"] / median[f"px{t}"]
                      for t in args.threads}
    speedup_ndimage = {t: median["ndimage"] / median[f"px{t}"]
                       for t in args.threads}
    return dict(case, label=case_label(case), exact=exact,
                ndimage_matches=nd_ok, warmup_s=warmup_s, samples_s=samples,
                median_s=median, speedup_vs_signal=speedup_signal,
                speedup_vs_ndimage=speedup_ndimage)


def fmt_ratio(x):
    """A speed-up, with two decimals below 10x (so 0.98x does not read 1.0x)."""
    return f"{x:.2f}x" if x < 10 else f"{x:.1f}x"


class Table:
    """Prints rows as they come, in fixed-width columns."""

    def __init__(self, threads):
        self.threads = threads
        self.columns = (
            [("case", 26), ("exact", 5), ("signal ms", 10), ("ndimage ms", 10)]
            + [(f"px{t} ms", 8) for t in threads]
            + [(f"sig/px{t}", 8) for t in threads]
            + [(f"nd/px{t}", 7) for t in threads])

    def _line(self, cells):
        out = []
        for (_, width), cell in zip(self.columns, cells):
            out.append(cell.ljust(width) if not out else cell.rjust(width))
        return "  ".join(out)

    def header(self):
        line = self._line([name for name, _ in self.columns])
        print(line)
        print("-" * len(line))

    def row(self, res):
        ms = res["median_s"]
        cells = [res["label"], str(all(res["exact"].values())),
                 f"{ms['signal'] * 1e3:.2f}", f"{ms['ndimage'] * 1e3:.2f}"]
        cells += [f"{ms[f'px{t}'] * 1e3:.2f}" for t in self.threads]
        cells += [fmt_ratio(res["speedup_vs_signal"][t]) for t in self.threads]
        cells += [fmt_ratio(res["speedup_vs_ndimage"][t]) for t in self.threads]
        print(self._line(cells), flush=True)


def summarize(results, threads):
    """Minimum speed-ups per thread count and whether the targets hold."""
    min_sig = {t: min(r["speedup_vs_signal"][t] for r in results)
               for t in threads}
    min_nd = {t: min(r["speedup_vs_ndimage"][t] for r in results)
              for t in threads}
    # The speed-up targets are the float cases' (the default run).
    floats = [r for r in results if r["dtype"] in TARGET_DTYPES]
    min_float = {t: min(r["speedup_vs_signal"][t] for r in floats)
                 for t in threads} if floats else {}
    targets = {}
    for t, target in TARGET_VS_SIGNAL.items():
        targets[f"vs_signal_{t}_thread_ge_{target:g}x"] = (
            min_float[t] >= target if t in min_float else None)
    targets["vs_ndimage_gt_1x_every_case"] = all(
        v > TARGET_VS_NDIMAGE for v in min_nd.values())
    return dict(
        min_speedup_vs_signal=min_sig,
        min_speedup_vs_ndimage=min_nd,
        all_exact=all(all(r["exact"].values()) for r in results),
        ndimage_matches_signal=all(r["ndimage_matches"] for r in results),
        targets=targets)


def print_summary(summary, threads):
    min_sig = summary["min_speedup_vs_signal"]
    min_nd = summary["min_speedup_vs_ndimage"]
    print()
    print("min speed-up vs scipy.signal: "
          + ", ".join(f"{t} thread{'s' * (t != 1)} {fmt_ratio(min_sig[t])}"
                      for t in threads))
    print("min speed-up vs scipy.ndimage: "
          + ", ".join(f"{t} thread{'s' * (t != 1)} {fmt_ratio(min_nd[t])}"
                      for t in threads))
    parts = []
    for t, target in TARGET_VS_SIGNAL.items():
        ok = summary["targets"][f"vs_signal_{t}_thread_ge_{target:g}x"]
        verdict = ("n/a (no float case at this thread count)" if ok is None
                   else "PASS" if ok else "FAIL")
        parts.append(f">={target:g}x vs signal @{t}T (float cases): {verdict}")
    nd_ok = summary["targets"]["vs_ndimage_gt_1x_every_case"]
    parts.append(f">1x vs ndimage every case: {'PASS' if nd_ok else 'FAIL'}")
    print("targets: " + "; ".join(parts))
    print(f"all pyconvx results bit-identical to scipy.signal: "
          f"{summary['all_exact']}")
    if not summary["ndimage_matches_signal"]:
        print("WARNING: scipy.ndimage's output differs from scipy.signal's "
              "in some case -- the ndimage comparison is not like for like")


def main(argv=None):
    args = parse_args(argv)
    start = time.perf_counter()

    config = io.StringIO()
    pyconvx.show_config(file=config)
    print(config.getvalue(), end="")
    print(f"  machine:         {platform.machine()} {platform.processor() or ''}"
          .rstrip())
    print(f"  OMP_NUM_THREADS: {os.environ.get('OMP_NUM_THREADS', '(unset)')}")
    print(f"\nimage {args.size}x{args.size}; repeats {args.repeats} "
          f"(at least {MIN_REPEATS}, fewer for calls slower than "
          f"{args.budget / args.repeats:.2f} s); pyconvx threads "
          f"{' '.join(map(str, args.threads))}; times are medians in ms; "
          f"speed-up = other / pyconvx\n")

    rng = np.random.default_rng(args.seed)
    table = Table(args.threads)
    table.header()
    results = []
    for case in build_cases(args):
        res = run_case(case, args, rng)
        table.row(res)
        results.append(res)

    summary = summarize(results, args.threads)
    print_summary(summary, args.threads)
    elapsed = time.perf_counter() - start
    print(f"total runtime: {elapsed:.1f} s")

    if args.json:
        doc = dict(
            settings=vars(args),
            config=config.getvalue(),
            versions=dict(pyconvx=pyconvx.__version__, numpy=np.__version__,
                          scipy=scipy.__version__,
                          python=sys.version.split()[0]),
            platform=platform.platform(),
            results=results, summary=summary, total_runtime_s=elapsed)
        with open(args.json, "w") as f:
            # Thread-count keys become strings in JSON.
            json.dump(doc, f, indent=2)
        print(f"results written to {args.json}")

    return 0 if summary["all_exact"] else 1


if __name__ == "__main__":
    sys.exit(main())
