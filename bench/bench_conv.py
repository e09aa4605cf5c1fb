"""Convolution and pooling against PyTorch (CPU): conv2d at LeNet/ResNet-like shapes and 2×2 max
pooling, forward and forward+backward. Prints a markdown table of ours / torch time ratios.

    python bench/bench_conv.py            # full (about a minute on 2 cores)
    python bench/bench_conv.py --quick    # smoke run for CI (batch 8, few rounds)

Both libraries get the same number of threads (``--threads``, default 2). Method: interleaved
rounds, median of at least 5 (bench/harness.py).
"""
from __future__ import annotations

import argparse
import os
import sys


def _threads_from_argv(argv):
    """Read --threads before NumPy loads: OpenBLAS takes its thread count at load time."""
    argv = sys.argv[1:] if argv is None else argv
    for i, a in enumerate(argv):
        if a.startswith("--threads="):
            return a.split("=", 1)[1]
        if a == "--threads" and i + 1 < len(argv):
            return argv[i + 1]
    return "2"


def pair(rng, *shape, grad=True):
    """The same float32 data as a nablagrad and a torch tensor."""
    import nablagrad as ng
    import torch
    a = rng.standard_normal(shape, dtype="float32")
    return ng.tensor(a, requires_grad=grad), torch.tensor(a, requires_grad=grad)


def fwd_bwd(fn, inputs, grad):
    """A callable that runs fn(*inputs), back-propagates ``grad`` and clears the gradients."""
    def run():
        fn(*inputs).backward(grad)
        for t in inputs:
            t.grad = None
    return run


def no_grad(lib, fn, inputs):
    """A callable that runs fn(*inputs) without recording a graph."""
    def run():
        with lib.no_grad():
            fn(*inputs)
    return run


def cases(quick):
    import numpy as np
    import torch

    import nablagrad as ng
    import nablagrad.nn.functional as F
    TF = torch.nn.functional
    rng = np.random.default_rng(0)
    scale = 8 if quick else 1        # quick: batch / 8
    out = []
    for n, cin, cout, size in ((64, 1, 32, 28), (64, 32, 64, 14), (32, 64, 64, 32)):
        n //= scale
        x, tx = pair(rng, n, cin, size, size, grad=cin > 1)   # the first layer needs no dL/dx
        w, tw = pair(rng, cout, cin, 3, 3)
        b, tb = pair(rng, cout)
        g, tg = pair(rng, n, cout, size, size, grad=False)
        name = f"conv2d N={n} {cin}→{cout} {size}×{size} 3×3 pad 1"
        ours = lambda p, q, r: F.conv2d(p, q, r, padding=1)   # noqa: E731
        theirs = lambda p, q, r: TF.conv2d(p, q, r, padding=1)   # noqa: E731
        out.append((f"{name} fwd", no_grad(ng, ours, (x, w, b)), no_grad(torch, theirs,
                                                                         (tx, tw, tb))))
        out.append((f"{name} fwd+bwd", fwd_bwd(ours, (x, w, b), g),
                    fwd_bwd(theirs, (tx, tw, tb), tg)))
    n = 64 // scale
    x, tx = pair(rng, n, 32, 28, 28)
    g, tg = pair(rng, n, 32, 14, 14, grad=False)
    name = f"max_pool2d N={n} 32 ch 28×28 2×2"
    ours = lambda p: F.max_pool2d(p, 2)   # noqa: E731
    theirs = lambda p: TF.max_pool2d(p, 2)   # noqa: E731
    out.append((f"{name} fwd", no_grad(ng, ours, (x,)), no_grad(torch, theirs, (tx,))))
    out.append((f"{name} fwd+bwd", fwd_bwd(ours, (x,), g), fwd_bwd(theirs, (tx,), tg)))
    return out


def main(argv=None):
    threads = _threads_from_argv(argv)
    os.environ.setdefault("OPENBLAS_NUM_THREADS", threads)
    os.environ.setdefault("OMP_NUM_THREADS", threads)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="batch / 8, 5 rounds (CI smoke)")
    parser.add_argument("--threads", type=int, default=2, help="threads for both libraries")
    parser.add_argument("--repeat", type=int, default=9, help="interleaved rounds (median)")
    args = parser.parse_args(argv)

    import torch
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from harness import blas_threads, compare, table
    torch.set_num_threads(args.threads)
    repeat = max(5, args.repeat if not args.quick else 5)
    warmup, min_time = (1, 0.01) if args.quick else (2, 0.2)
    rows = [compare(name, ours, theirs, repeat=repeat, warmup=warmup, min_time=min_time)
            for name, ours, theirs in cases(args.quick)]
    print(f"nablagrad vs torch {torch.__version__}: torch {torch.get_num_threads()} threads, "
          f"NumPy BLAS {blas_threads()} threads; median of {repeat} interleaved rounds\n")
    table(rows)
    return rows


if __name__ == "__main__":
    main()
