"""Recurrent layers against PyTorch: LSTM and GRU forward and forward+backward over a sequence
(issue 4 target: seq 128, batch 64, input 256, hidden 256, fwd+bwd ≤ 1.5×), a packed
variable-length batch, and a step-by-step LSTMCell loop (Python overhead per step).

    python bench/bench_rnn.py           # full (about a minute on an idle 2-core machine)
    python bench/bench_rnn.py --quick   # smoke run for CI (a few seconds)
    python bench/bench_rnn.py --threads 1 --clock cpu   # steadier on a busy machine
"""
from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import pair, run_cli  # noqa: E402

TARGET = 1.5


def _modules(kind, size, layers=1):
    import numpy as np
    import nablagrad as ng
    import torch
    torch.manual_seed(0)
    theirs = getattr(torch.nn, kind)(size, size, num_layers=layers)
    ours = getattr(ng.nn, kind)(size, size, num_layers=layers)
    ours.load_state_dict({k: ng.tensor(np.ascontiguousarray(v.detach().numpy()))
                          for k, v in theirs.state_dict().items()})
    return ours, theirs


def _fwd(m, x):
    def run():
        m(x)
    return run


def _fwd_bwd(m, x):
    def run():
        out, _ = m(x)
        out.sum().backward()
        x.grad = None
        for p in m.parameters():
            p.grad = None
    return run


def _packed(m, seqs, pack):
    def run():
        out, _ = m(pack(seqs, enforce_sorted=False))
        out.data.sum().backward()
        for p in m.parameters():
            p.grad = None
    return run


def _cell_loop(cell, x):
    def run():
        state = None
        for t in range(x.shape[0]):
            state = cell(x[t], state)
        state[0].sum().backward()
        for p in cell.parameters():
            p.grad = None
    return run


def cases(quick):
    import nablagrad as ng
    import torch
    T, B, H = (16, 8, 32) if quick else (128, 64, 256)
    out = []
    x, tx = pair(T, B, H, seed=1)
    for kind in ("LSTM", "GRU"):
        ours, theirs = _modules(kind, H)
        shape = f"T{T} B{B} H{H}"
        out.append((f"{kind} {shape} fwd", _fwd(ours, x), _fwd(theirs, tx)))
        out.append((f"{kind} {shape} fwd+bwd", _fwd_bwd(ours, x), _fwd_bwd(theirs, tx), TARGET))
    ours, theirs = _modules("LSTM", H, layers=2)
    out.append((f"LSTM 2 layers T{T} B{B} H{H} fwd+bwd", _fwd_bwd(ours, x), _fwd_bwd(theirs, tx)))

    lengths = [T - (T * k) // (2 * B) for k in range(B)]
    seqs = [pair(n, H, seed=10 + k) for k, n in enumerate(lengths)]
    ours, theirs = _modules("GRU", H)
    out.append((f"GRU packed B{B} T≤{T} fwd+bwd",
                _packed(ours, [s[0] for s in seqs], ng.nn.utils.rnn.pack_sequence),
                _packed(theirs, [s[1] for s in seqs], torch.nn.utils.rnn.pack_sequence)))

    steps, cb, ch = (8, 4, 16) if quick else (32, 16, 64)
    cx, tcx = pair(steps, cb, ch, seed=2)
    torch.manual_seed(0)
    tcell = torch.nn.LSTMCell(ch, ch)
    cell = ng.nn.LSTMCell(ch, ch)
    cell.load_state_dict({k: ng.tensor(v.detach().numpy()) for k, v in tcell.state_dict().items()})
    out.append((f"LSTMCell loop {steps} steps B{cb} H{ch} fwd+bwd", _cell_loop(cell, cx),
                _cell_loop(tcell, tcx)))
    return out


def main(argv=None):
    return run_cli(__doc__, cases, argv)


if __name__ == "__main__":
    main()
