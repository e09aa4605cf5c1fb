"""Convolution and pooling against PyTorch (CPU): conv2d at LeNet/ResNet-like shapes and 2×2 max
pooling, forward and forward+backward. Prints a markdown table of ours / torch time ratios.

    python bench/bench_conv.py                           # full sizes, 2 threads each
    python bench/bench_conv.py --quick                   # batch / 8, 5 rounds (CI smoke)
    python bench/bench_conv.py --threads 1 --clock cpu   # steadier on a busy machine

Method (bench/harness.py): same thread count for NumPy's BLAS and torch, interleaved rounds,
median of at least 5. The first convolution is a first layer: its input needs no gradient.
"""
from __future__ import annotations

import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import fwd_bwd, run_cli  # noqa: E402

import nablagrad as ng  # noqa: E402
import nablagrad.nn.functional as F  # noqa: E402

TF = torch.nn.functional

#: (batch, in channels, out channels, height = width), 3×3 kernels, padding 1
CONVS = ((64, 1, 32, 28), (64, 32, 64, 14), (32, 64, 64, 32))


def pair(rng, *shape, grad=True):
    """The same float32 data as a nablagrad and a torch tensor."""
    a = rng.standard_normal(shape, dtype=np.float32)
    return ng.tensor(a, requires_grad=grad), torch.tensor(a, requires_grad=grad)



def no_grad(lib, fn, inputs):
    """A callable that runs fn(*inputs) without recording a graph."""
    def run():
        with lib.no_grad():
            fn(*inputs)
    return run


def cases(quick):
    rng = np.random.default_rng(0)
    scale = 8 if quick else 1
    out = []
    for n, cin, cout, size in CONVS:
        n //= scale
        x, tx = pair(rng, n, cin, size, size, grad=cin > 1)
        w, tw = pair(rng, cout, cin, 3, 3)
        b, tb = pair(rng, cout)
        g, tg = pair(rng, n, cout, size, size, grad=False)
        name = f"conv2d N={n} {cin}→{cout} {size}×{size} 3×3 pad 1"

        def ours(p, q, r):
            return F.conv2d(p, q, r, padding=1)

        def theirs(p, q, r):
            return TF.conv2d(p, q, r, padding=1)
        out.append((f"{name} fwd", no_grad(ng, ours, (x, w, b)),
                    no_grad(torch, theirs, (tx, tw, tb))))
        out.append((f"{name} fwd+bwd", fwd_bwd(ours, (x, w, b), g),
                    fwd_bwd(theirs, (tx, tw, tb), tg)))
    n = 64 // scale
    x, tx = pair(rng, n, 32, 28, 28)
    g, tg = pair(rng, n, 32, 14, 14, grad=False)
    name = f"max_pool2d N={n} 32 ch 28×28 2×2"
    out.append((f"{name} fwd", no_grad(ng, lambda p: F.max_pool2d(p, 2), (x,)),
                no_grad(torch, lambda p: TF.max_pool2d(p, 2), (tx,))))
    out.append((f"{name} fwd+bwd", fwd_bwd(lambda p: F.max_pool2d(p, 2), (x,), g),
                fwd_bwd(lambda p: TF.max_pool2d(p, 2), (tx,), tg)))
    return out


def main(argv=None):
    return run_cli(__doc__, cases, argv, threads=2, quick_rounds=5, min_time=0.1)


if __name__ == "__main__":
    main()
