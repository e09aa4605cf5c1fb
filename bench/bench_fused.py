"""Fused-op benchmark: forward + backward of cross_entropy, layer_norm and softmax, nablagrad
against PyTorch on the CPU (2 threads), interleaved runs, median of several.

    python bench/bench_fused.py [--repeat 7] [--quick]

Prints a markdown table with the ratio ours / torch (lower is better).
"""
from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import torch
import torch.nn.functional as TF

import nablagrad as ng
import nablagrad.nn.functional as F


def _pair(shape, rng, dtype=np.float32):
    x = rng.standard_normal(shape).astype(dtype)
    return ng.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)


def cross_entropy_case(n, c):
    rng = np.random.default_rng(0)
    (xn, xt), t = _pair((n, c), rng), rng.integers(0, c, size=n)
    tn, tt = ng.tensor(t), torch.tensor(t)

    def ours():
        xn.grad = None
        F.cross_entropy(xn, tn).backward()

    def theirs():
        xt.grad = None
        TF.cross_entropy(xt, tt).backward()
    return f"cross_entropy ({n}, {c})", ours, theirs


def layer_norm_case(shape, d):
    rng = np.random.default_rng(0)
    xn, xt = _pair(shape, rng)
    wn, wt = _pair((d,), rng)
    bn, bt = _pair((d,), rng)
    g = rng.standard_normal(shape).astype(np.float32)
    gn, gt = ng.tensor(g), torch.tensor(g)

    def ours():
        xn.grad = wn.grad = bn.grad = None
        F.layer_norm(xn, (d,), wn, bn).backward(gn)

    def theirs():
        xt.grad = wt.grad = bt.grad = None
        TF.layer_norm(xt, (d,), wt, bt).backward(gt)
    return f"layer_norm {shape} over {d}", ours, theirs


def softmax_case(shape):
    rng = np.random.default_rng(0)
    xn, xt = _pair(shape, rng)
    g = rng.standard_normal(shape).astype(np.float32)
    gn, gt = ng.tensor(g), torch.tensor(g)

    def ours():
        xn.grad = None
        F.softmax(xn, -1).backward(gn)

    def theirs():
        xt.grad = None
        TF.softmax(xt, -1).backward(gt)
    return f"softmax {shape} dim -1", ours, theirs


def measure(ours, theirs, repeat):
    """Interleaved timings (one warm-up each); returns the two medians in seconds."""
    ours()
    theirs()
    t_ours, t_theirs = [], []
    for _ in range(repeat):
        for fn, out in ((ours, t_ours), (theirs, t_theirs)):
            start = time.perf_counter()
            fn()
            out.append(time.perf_counter() - start)
    return statistics.median(t_ours), statistics.median(t_theirs)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--quick", action="store_true", help="small shapes (smoke test)")
    args = parser.parse_args()
    torch.set_num_threads(2)
    if args.quick:
        cases = [cross_entropy_case(128, 10), layer_norm_case((4, 16, 32), 32),
                 softmax_case((2, 2, 16, 16))]
    else:
        cases = [cross_entropy_case(128, 10), cross_entropy_case(4096, 1000),
                 layer_norm_case((64, 256, 256), 256), softmax_case((64, 4, 256, 256))]
    print("| op (forward + backward) | nablagrad ms | torch ms | ratio |")
    print("|---|---:|---:|---:|")
    for name, ours, theirs in cases:
        a, b = measure(ours, theirs, max(args.repeat, 5))
        print(f"| {name} | {a * 1e3:.3f} | {b * 1e3:.3f} | {a / b:.2f} |")


if __name__ == "__main__":
    main()
