"""Fused ops against PyTorch: forward + backward of cross_entropy, layer_norm and softmax.
Prints a markdown table of ours / torch time ratios (method: bench/README.md).

    python bench/bench_fused.py            # full sizes, 2 threads each
    python bench/bench_fused.py --quick    # small sizes, few rounds (smoke run)
    python bench/bench_fused.py --threads 1 --clock cpu   # steadier on a busy machine
"""
from __future__ import annotations

import os
import sys

import numpy as np
import torch
import torch.nn.functional as TF

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import fwd_bwd, pair, run_cli  # noqa: E402

import nablagrad as ng  # noqa: E402
import nablagrad.nn.functional as F  # noqa: E402

# targets: ours / torch, forward + backward
TARGET = {"cross_entropy": 1.3, "layer_norm": 1.3}



def cross_entropy_case(n, c):
    x, tx = pair(n, c, seed=1)
    t = np.random.default_rng(2).integers(0, c, size=n)
    target, ttarget = ng.tensor(t), torch.tensor(t)
    return (f"cross_entropy ({n}, {c}) fwd+bwd",
            fwd_bwd(lambda a: F.cross_entropy(a, target), (x,)),
            fwd_bwd(lambda a: TF.cross_entropy(a, ttarget), (tx,)), TARGET["cross_entropy"])


def layer_norm_case(shape):
    d = shape[-1]
    (x, tx), (w, tw), (b, tb) = pair(*shape, seed=3), pair(d, seed=4), pair(d, seed=5)
    g, tg = pair(*shape, seed=6, grad=False)
    return (f"layer_norm {shape} over {d} fwd+bwd",
            fwd_bwd(lambda *a: F.layer_norm(a[0], (d,), a[1], a[2]), (x, w, b), g),
            fwd_bwd(lambda *a: TF.layer_norm(a[0], (d,), a[1], a[2]), (tx, tw, tb), tg),
            TARGET["layer_norm"])


def softmax_case(shape):
    (x, tx), (g, tg) = pair(*shape, seed=7), pair(*shape, seed=8, grad=False)
    return (f"softmax {shape} dim -1 fwd+bwd", fwd_bwd(lambda a: F.softmax(a, -1), (x,), g),
            fwd_bwd(lambda a: TF.softmax(a, -1), (tx,), tg), None)


def cases(quick):
    if quick:
        return [cross_entropy_case(128, 10), cross_entropy_case(256, 100),
                layer_norm_case((4, 64, 128)), softmax_case((2, 4, 64, 64))]
    return [cross_entropy_case(128, 10), cross_entropy_case(4096, 1000),
            layer_norm_case((64, 256, 256)), softmax_case((64, 4, 256, 256))]


def main(argv=None):
    return run_cli(__doc__, cases, argv, threads=2)


if __name__ == "__main__":
    main()
