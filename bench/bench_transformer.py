"""Attention and transformer layers against PyTorch: a TransformerEncoderLayer block (seq 256,
d_model 256, 4 heads, feed-forward 1024, batch 16, float32) forward+backward, with and without a
causal mask, and MultiheadAttention alone. Prints a markdown table of ours / torch time ratios.

    python bench/bench_transformer.py           # full sizes
    python bench/bench_transformer.py --quick   # seq 64, batch 2, d 128: smoke run for CI
    python bench/bench_transformer.py --threads 1 --clock cpu   # steadier on a busy machine
"""
from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import run_cli  # noqa: E402

BLOCK = 1.5  # target from issue 4: transformer block forward+backward ≤ 1.5× PyTorch


def _same_weights(ours, theirs):
    import nablagrad as ng
    ours.load_state_dict({k: ng.tensor(v.detach().numpy()) for k, v in theirs.state_dict().items()})


def _train_step(module, x, g, call):
    """forward, backward of ⟨out, g⟩, then clear the gradients."""
    def run():
        call(module, x).backward(g)
        x.grad = None
        for p in module.parameters():
            p.grad = None
    return run


def cases(quick):
    import numpy as np
    import torch
    import nablagrad as ng
    import nablagrad.nn as nn

    seq, batch, d, heads = (64, 2, 128, 4) if quick else (256, 16, 256, 4)
    rng = np.random.default_rng(0)
    x_np = rng.standard_normal((batch, seq, d), dtype=np.float32)
    g_np = rng.standard_normal((batch, seq, d), dtype=np.float32)
    x, tx = ng.tensor(x_np, requires_grad=True), torch.tensor(x_np, requires_grad=True)
    g, tg = ng.tensor(g_np), torch.tensor(g_np)
    mask = nn.Transformer.generate_square_subsequent_mask(seq)
    tmask = torch.nn.Transformer.generate_square_subsequent_mask(seq)

    kw = dict(dim_feedforward=4 * d, dropout=0.0, batch_first=True)
    block, tblock = nn.TransformerEncoderLayer(d, heads, **kw), \
        torch.nn.TransformerEncoderLayer(d, heads, **kw)
    _same_weights(block, tblock)
    mha, tmha = nn.MultiheadAttention(d, heads, batch_first=True), \
        torch.nn.MultiheadAttention(d, heads, batch_first=True)
    _same_weights(mha, tmha)
    shape = f"seq {seq}, d {d}, {heads} heads, batch {batch}"
    out = []
    out.append((f"encoder block fwd+bwd ({shape})",
                _train_step(block, x, g, lambda m, t: m(t)),
                _train_step(tblock, tx, tg, lambda m, t: m(t)), BLOCK))
    out.append(("encoder block, causal mask, fwd+bwd",
                _train_step(block, x, g, lambda m, t: m(t, src_mask=mask, is_causal=True)),
                _train_step(tblock, tx, tg, lambda m, t: m(t, src_mask=tmask, is_causal=True)),
                BLOCK))
    out.append(("MultiheadAttention fwd+bwd, need_weights=False",
                _train_step(mha, x, g, lambda m, t: m(t, t, t, need_weights=False)[0]),
                _train_step(tmha, tx, tg, lambda m, t: m(t, t, t, need_weights=False)[0])))
    out.append(("encoder block fwd (no grad)",
                _no_grad(ng, lambda: block(x)), _no_grad(torch, lambda: tblock(tx))))
    return out


def _no_grad(lib, fn):
    def run():
        with lib.no_grad():
            fn()
    return run


def main(argv=None):
    return run_cli(__doc__, cases, argv)


if __name__ == "__main__":
    main()
