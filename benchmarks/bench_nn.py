"""Benchmark the NCHW face of pyconvx against torch and a NumPy baseline.

Cases (a list of ``Case`` objects, so that more -- conv2d -- can be added):
max_pool2d and avg_pool2d with k=2 s=2 and with k=3 s=2 p=1, plus avg_pool2d
k=3 s=2 p=1 with count_include_pad=False, all on a float32 (32, 64, 112, 112)
input (the same data for every case).

Contestants:

* ``pyconvx`` -- with ``workers=`` set to each requested thread count;
* ``torch`` -- torch.nn.functional, ``torch.set_num_threads(n)`` for each
  thread count (left out, cleanly, when torch is not installed);
* ``numpy`` -- the obvious NumPy code: pad with -inf (max) or 0 (avg), then
  the max / mean over the k*k shifted strided views.  NumPy is single
  threaded: one timing per round, shown on every thread row.

Method: one warm-up call per contestant (its result is the correctness
check: pyconvx equals torch bit for bit for max, allclose for avg; against
NumPy when torch is absent), then interleaved rounds -- each round times
every contestant once at every thread count -- and the medians.

Printed: ``pyconvx.show_config()``, then per case and thread count the
median times (ms), the ratios pyconvx/torch and pyconvx/numpy (< 1: pyconvx
is faster) and the check, then whether pyconvx is at least 2x faster than
torch (ratio <= 0.5) in every case at 1 and 2 threads.

    python -P benchmarks/bench_nn.py                      # ~1-2 min on 2 cores
    python -P benchmarks/bench_nn.py --quick              # 3 rounds
    python -P benchmarks/bench_nn.py --threads 1 2 4 --json out.json
    python -P benchmarks/bench_nn.py --cases max_k2s2 avg_k3s2p1
"""

import argparse
import dataclasses
import io
import json
import os
import platform
import statistics
import sys
import time
from typing import Callable

import numpy as np

import pyconvx

try:
    import torch
except ImportError:     # the torch column is left out
    torch = None

TARGET_VS_TORCH = 0.5   # pyconvx time / torch time, at most, at 1 and 2 threads


@dataclasses.dataclass
class Case:
    """One benchmark case.

    make_inputs(rng) -> dict of NumPy arrays (cached by ``data_key``, so
    cases sharing a key share the data); pyconvx / torch / numpy(inputs,
    threads) -> the result (torch's as a NumPy array; numpy ignores
    threads; torch may be None); check(ours, reference) -> bool.
    """
    name: str
    data_key: str
    make_inputs: Callable
    pyconvx: Callable
    torch: Callable
    numpy: Callable
    check: Callable
    description: str = ""


# -- pooling ---------------------------------------------------------------------

POOL_SHAPE = (32, 64, 112, 112)


def _pool_input(rng):
    return {"x": rng.standard_normal(POOL_SHAPE, dtype=np.float32)}


def numpy_pool2d(x, op, k, s, p, count_include_pad=True):
    """max / avg pooling with NumPy slicing: pad, then reduce the k*k
    shifted views x[..., a::s, b::s] (floor mode, square parameters)."""
    n, c, h, w = x.shape
    oh, ow = (h + 2 * p - k) // s + 1, (w + 2 * p - k) // s + 1
    fill = -np.inf if op == "max" else 0
    xp = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)), constant_values=fill) \
        if p else x
    acc = None
    for a in range(k):
        for b in range(k):
            view = xp[:, :, a:a + s * (oh - 1) + 1:s, b:b + s * (ow - 1) + 1:s]
            if acc is None:
                acc = view.copy()
            elif op == "max":
                np.maximum(acc, view, out=acc)
            else:
                acc += view
    if op == "max":
        return acc
    if count_include_pad or not p:
        acc /= np.float32(k * k)
        return acc
    # Count the real elements of each window with the same views of a mask.
    mask = np.pad(np.ones((h, w), np.float32), p)
    count = sum(mask[a:a + s * (oh - 1) + 1:s, b:b + s * (ow - 1) + 1:s]
                for a in range(k) for b in range(k))
    acc /= count
    return acc


def _exact(ours, ref):
    return ours.dtype == ref.dtype and ours.shape == ref.shape and bool(
        np.array_equal(ours.view(np.uint32), ref.view(np.uint32)))


def _close(ours, ref):
    return ours.dtype == ref.dtype and ours.shape == ref.shape and bool(
        np.allclose(ours, ref, rtol=1e-5, atol=1e-6))


def pool_case(op, k, s, p, count_include_pad=True):
    name = f"{op}_k{k}s{s}" + (f"p{p}" if p else "") + (
        "_nopad" if not count_include_pad else "")
    kw = dict(kernel_size=k, stride=s, padding=p)
    if op == "avg":
        kw["count_include_pad"] = count_include_pad
    px_func = pyconvx.max_pool2d if op == "max" else pyconvx.avg_pool2d

    def run_pyconvx(inputs, threads):
        return px_func(inputs["x"], **kw, workers=threads)

    def run_torch(inputs, threads):
        torch.set_num_threads(threads)
        func = (torch.nn.functional.max_pool2d if op == "max"
                else torch.nn.functional.avg_pool2d)
        with torch.no_grad():
            return func(torch.from_numpy(inputs["x"]), **kw).numpy()

    def run_numpy(inputs, threads):
        return numpy_pool2d(inputs["x"], op, k, s, p, count_include_pad)

    return Case(name=name, data_key="pool", make_inputs=_pool_input,
                pyconvx=run_pyconvx, torch=run_torch, numpy=run_numpy,
                check=_exact if op == "max" else _close,
                description=f"{op}_pool2d({', '.join(f'{a}={v}' for a, v in kw.items())})"
                            f" on float32 {POOL_SHAPE}")


CASES = [
    pool_case("max", 2, 2, 0),
    pool_case("max", 3, 2, 1),
    pool_case("avg", 2, 2, 0),
    pool_case("avg", 3, 2, 1),
    pool_case("avg", 3, 2, 1, count_include_pad=False),
]


# -- driver ----------------------------------------------------------------------

def parse_args(argv=None):
    names = [c.name for c in CASES]
    p = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--threads", type=int, nargs="+", default=[1, 2],
                   help="thread counts for pyconvx (workers=) and torch")
    p.add_argument("--cases", nargs="+", choices=names, default=names)
    p.add_argument("--repeats", type=int, default=None,
                   help="timed rounds per case (default 7; 3 with --quick)")
    p.add_argument("--quick", action="store_true", help="3 rounds")
    p.add_argument("--no-torch", action="store_true",
                   help="leave torch out even if it is installed")
    p.add_argument("--json", metavar="PATH",
                   help="also write settings and results as JSON here")
    p.add_argument("--seed", type=int, default=12345)
    args = p.parse_args(argv)
    if args.repeats is None:
        args.repeats = 3 if args.quick else 7
    if args.repeats < 1 or min(args.threads) < 1:
        p.error("--repeats and --threads must be positive")
    return args


def _timed(fn):
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def run_case(case, inputs, args, use_torch):
    """Warm up and check, then interleaved rounds; one record per thread
    count."""
    contestants = {}
    for t in args.threads:
        contestants[("pyconvx", t)] = lambda t=t: case.pyconvx(inputs, t)
        if use_torch:
            contestants[("torch", t)] = lambda t=t: case.torch(inputs, t)
    contestants[("numpy", None)] = lambda: case.numpy(inputs, None)

    outputs = {key: fn() for key, fn in contestants.items()}       # warm-up
    checks = {}
    for t in args.threads:
        ref = outputs[("torch", t)] if use_torch else outputs[("numpy", None)]
        checks[t] = case.check(outputs[("pyconvx", t)], ref)
    numpy_ok = _close(outputs[("numpy", None)],
                      outputs[("torch", args.threads[0])] if use_torch
                      else outputs[("pyconvx", args.threads[0])])
    del outputs

    samples = {key: [] for key in contestants}
    for _ in range(args.repeats):
        for key, fn in contestants.items():
            samples[key].append(_timed(fn))
    median = {key: statistics.median(v) * 1e3 for key, v in samples.items()}

    records = []
    for t in args.threads:
        px = median[("pyconvx", t)]
        th = median.get(("torch", t))
        nq = median[("numpy", None)]
        records.append(dict(
            case=case.name, description=case.description, threads=t,
            pyconvx_ms=px, torch_ms=th, numpy_ms=nq,
            px_over_torch=px / th if th else None, px_over_numpy=px / nq,
            check=checks[t], numpy_matches=numpy_ok,
            samples_ms={f"{k[0]}{'' if k[1] is None else k[1]}":
                        [s * 1e3 for s in v] for k, v in samples.items()
                        if k[1] in (None, t)}))
    return records


def main(argv=None):
    args = parse_args(argv)
    start = time.perf_counter()
    use_torch = torch is not None and not args.no_torch

    config = io.StringIO()
    pyconvx.show_config(file=config)
    print(config.getvalue(), end="")
    print(f"  torch:           "
          f"{torch.__version__ if torch is not None else 'not installed'}"
          f"{' (not used)' if torch is not None and not use_torch else ''}")
    print(f"  machine:         {platform.machine()} {platform.processor() or ''}"
          .rstrip())
    print(f"  OMP_NUM_THREADS: {os.environ.get('OMP_NUM_THREADS', '(unset)')}")
    print(f"\nmedian of {args.repeats} interleaved rounds, ms; "
          f"ratio = pyconvx time / other time (< 1: pyconvx faster); "
          f"numpy is single-threaded\n")

    header = (f"{'case':18s} {'thr':>3s} {'pyconvx':>9s} {'torch':>9s} "
              f"{'numpy':>9s} {'px/torch':>8s} {'px/numpy':>8s}  check")
    print(header)
    print("-" * len(header))

    rng = np.random.default_rng(args.seed)
    data = {}
    results = []
    for case in (c for c in CASES if c.name in args.cases):
        if case.data_key not in data:
            data[case.data_key] = case.make_inputs(rng)
        for r in run_case(case, data[case.data_key], args, use_torch):
            results.append(r)
            th = f"{r['torch_ms']:9.2f}" if r["torch_ms"] else f"{'-':>9s}"
            vt = (f"{r['px_over_torch']:8.3f}" if r["px_over_torch"]
                  else f"{'-':>8s}")
            what = "= torch" if use_torch else "= numpy"
            print(f"{r['case']:18s} {r['threads']:3d} {r['pyconvx_ms']:9.2f} "
                  f"{th} {r['numpy_ms']:9.2f} {vt} {r['px_over_numpy']:8.3f}  "
                  f"{what if r['check'] else 'MISMATCH'}", flush=True)

    all_ok = all(r["check"] for r in results)
    print()
    targets = {}
    if use_torch:
        for t in (1, 2):
            ratios = [r["px_over_torch"] for r in results if r["threads"] == t]
            if ratios:
                targets[t] = max(ratios) <= TARGET_VS_TORCH
                print(f"worst pyconvx/torch at {t} thread{'s' * (t != 1)}: "
                      f"{max(ratios):.3f} (target <= {TARGET_VS_TORCH}: "
                      f"{'PASS' if targets[t] else 'FAIL'})")
    worst_np = max(r["px_over_numpy"] for r in results)
    print(f"worst pyconvx/numpy: {worst_np:.3f}")
    print(f"pyconvx matches {'torch' if use_torch else 'numpy'} "
          f"(max exact, avg allclose): {all_ok}")
    if not all(r["numpy_matches"] for r in results):
        print("WARNING: the NumPy baseline disagrees somewhere -- not like for "
              "like")
    elapsed = time.perf_counter() - start
    print(f"total runtime: {elapsed:.1f} s")

    if args.json:
        doc = dict(settings=vars(args), config=config.getvalue(),
                   versions=dict(pyconvx=pyconvx.__version__,
                                 numpy=np.__version__,
                                 torch=torch.__version__ if torch else None,
                                 python=sys.version.split()[0]),
                   platform=platform.platform(), results=results,
                   targets=targets, all_ok=all_ok, total_runtime_s=elapsed)
        with open(args.json, "w") as f:
            json.dump(doc, f, indent=1)
        print(f"results written to {args.json}")
    return 0 if all_ok else 1


if __name__ == "__main__":
    sys.exit(main())
