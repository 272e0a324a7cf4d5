"""Benchmark pyconvx.conv2d against torch and a NumPy im2col + matmul baseline.

One process, same data for every contestant; a warm-up call each (its
result also checks pyconvx against torch), then interleaved rounds -- each
round times every contestant once -- and medians.  Thread counts are set
per contestant: ``workers=`` for pyconvx, ``torch.set_num_threads`` for
torch, ``threadpoolctl`` (BLAS) for NumPy's matmul.

Printed per case and thread count: median ms, direct-equivalent GFLOP/s
(2 * N * C_out * H_out * W_out * C_in/groups * kH * kW) and the time
ratios pyconvx / torch and pyconvx / numpy (< 1: pyconvx is faster).

    python -P benchmarks/bench_conv.py                 # all cases, 1 and 2 threads
    python -P benchmarks/bench_conv.py --quick         # fewer repeats
    python -P benchmarks/bench_conv.py --cases resnet3x3 pointwise --json out.json
"""

import argparse
import json
import statistics
import time

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

import pyconvx

try:
    import torch
except ImportError:     # the torch column is left out
    torch = None
try:
    from threadpoolctl import threadpool_limits
except ImportError:
    threadpool_limits = None

# name: (input shape, weight shape, stride, padding, dilation, groups, dtype)
CASES = {
    "seed_cnn": ((1, 1, 28, 28), (5, 1, 5, 5), 1, 0, 1, 1, "float32"),
    "mnist_conv1": ((64, 1, 28, 28), (32, 1, 3, 3), 1, 1, 1, 1, "float32"),
    "mnist_conv2": ((64, 32, 28, 28), (64, 32, 3, 3), 1, 1, 1, 1, "float32"),
    "mnist_conv2_f64": ((64, 32, 28, 28), (64, 32, 3, 3), 1, 1, 1, 1, "float64"),
    "resnet3x3": ((8, 64, 56, 56), (64, 64, 3, 3), 1, 1, 1, 1, "float32"),
    "resnet3x3_f64": ((8, 64, 56, 56), (64, 64, 3, 3), 1, 1, 1, 1, "float64"),
    "resnet_stem": ((8, 3, 224, 224), (64, 3, 7, 7), 2, 3, 1, 1, "float32"),
    "pointwise": ((8, 256, 28, 28), (512, 256, 1, 1), 1, 0, 1, 1, "float32"),
    "depthwise": ((8, 128, 56, 56), (128, 1, 3, 3), 1, 1, 1, 128, "float32"),
    "depthwise_f64": ((8, 128, 56, 56), (128, 1, 3, 3), 1, 1, 1, 128, "float64"),
    "grouped": ((8, 128, 28, 28), (128, 32, 3, 3), 1, 1, 1, 4, "float32"),
    "dilated": ((4, 64, 64, 64), (64, 64, 3, 3), 1, 2, 2, 1, "float32"),
    "strided": ((8, 64, 56, 56), (128, 64, 3, 3), 2, 1, 1, 1, "float32"),
}


def im2col_conv2d(x, w, b, stride, padding, dilation, groups):
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


def _contestants(x, w, b, stride, padding, dilation, groups, threads):
    def px():
        return pyconvx.conv2d(x, w, b, stride, padding, dilation, groups,
                              workers=threads)

    def npy():
        if threadpool_limits is None:
            return im2col_conv2d(x, w, b, stride, padding, dilation, groups)
        with threadpool_limits(threads, user_api="blas"):
            return im2col_conv2d(x, w, b, stride, padding, dilation, groups)

    found = {"pyconvx": px, "numpy": npy}
    if torch is not None:
        tx, tw, tb = (torch.from_numpy(a) for a in (x, w, b))

        def th():
            torch.set_num_threads(threads)
            with torch.no_grad():
                return torch.nn.functional.conv2d(tx, tw, tb, stride, padding,
                                                  dilation, groups).numpy()
        found["torch"] = th
    return found


def run_case(name, threads, repeats, rng):
    xs, ws, stride, padding, dilation, groups, dtype = CASES[name]
    x = rng.standard_normal(xs).astype(dtype)
    w = rng.standard_normal(ws).astype(dtype)
    b = rng.standard_normal(ws[0]).astype(dtype)
    funcs = _contestants(x, w, b, stride, padding, dilation, groups, threads)
    results = {k: f() for k, f in funcs.items()}          # warm-up
    ref = results.get("torch", results["numpy"])
    scale = np.abs(ref).max() + 1
    tol = 1e-4 if dtype == "float32" else 1e-10
    close = bool(np.allclose(results["pyconvx"], ref, rtol=tol, atol=tol * scale))
    times = {k: [] for k in funcs}
    for _ in range(repeats):
        for k, f in funcs.items():
            t0 = time.perf_counter()
            f()
            times[k].append(time.perf_counter() - t0)
    med = {k: statistics.median(v) * 1e3 for k, v in times.items()}
    oh, ow = results["pyconvx"].shape[2:]
    flops = 2 * xs[0] * ws[0] * oh * ow * ws[1] * ws[2] * ws[3]
    return {"case": name, "threads": threads, "dtype": dtype, "close": close,
            "ms": med, "gflops": flops / (med["pyconvx"] * 1e-3) / 1e9,
            "vs_torch": med["pyconvx"] / med["torch"] if "torch" in med else None,
            "vs_numpy": med["pyconvx"] / med["numpy"]}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--cases", nargs="+", choices=sorted(CASES),
                        default=list(CASES))
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="3 repeats")
    parser.add_argument("--json", metavar="PATH")
    args = parser.parse_args(argv)
    repeats = 3 if args.quick else args.repeats
    pyconvx.show_config()
    print(f"torch: {torch.__version__ if torch else 'not installed'}; "
          f"median of {repeats}; ratio = pyconvx time / other time\n")
    header = (f"{'case':16s} {'thr':>3s} {'pyconvx ms':>10s} {'GFLOP/s':>8s} "
              f"{'torch ms':>9s} {'numpy ms':>9s} {'px/torch':>8s} "
              f"{'px/numpy':>8s} close")
    print(header)
    print("-" * len(header))
    rng = np.random.default_rng(0)
    rows = []
    for name in args.cases:
        for threads in args.threads:
            r = run_case(name, threads, repeats, rng)
            rows.append(r)
            vt = f"{r['vs_torch']:8.2f}" if r["vs_torch"] is not None else "       -"
            tt = f"{r['ms']['torch']:9.2f}" if "torch" in r["ms"] else "        -"
            print(f"{name:16s} {threads:3d} {r['ms']['pyconvx']:10.2f} "
                  f"{r['gflops']:8.1f} {tt} {r['ms']['numpy']:9.2f} {vt} "
                  f"{r['vs_numpy']:8.2f} {r['close']}")
    worst = max(r["vs_numpy"] for r in rows)
    print(f"\nslowest ratio vs the NumPy baseline: {worst:.2f} "
          f"({'pyconvx faster everywhere' if worst < 1 else 'SLOWER somewhere'})")
    if all(r["vs_torch"] is not None for r in rows):
        for threads in args.threads:
            ratios = [r["vs_torch"] for r in rows if r["threads"] == threads]
            gmean = float(np.exp(np.mean(np.log(ratios))))
            print(f"geometric mean pyconvx/torch at {threads} thread(s): {gmean:.2f}")
    if not all(r["close"] for r in rows):
        print("WARNING: some pyconvx results differ from the reference")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=1)
    return 0 if all(r["close"] for r in rows) else 1


if __name__ == "__main__":
    raise SystemExit(main())
