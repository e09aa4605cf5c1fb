"""Core ops against PyTorch: matmul, large elementwise ops and reductions, and the Python
overhead of small ops. Prints a markdown table of ours / torch time ratios.

    python bench/bench_core.py           # full (about 15 s on an idle 2-core machine)
    python bench/bench_core.py --quick   # smoke run for CI (< 20 s)
    python bench/bench_core.py --threads 1 --clock cpu   # steadier on a busy machine
"""
from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import fwd_bwd, pair, run_cli  # noqa: E402

# targets from the performance issue: ours / torch
BIG, SMALL = 1.1, 2.0



def cases(quick):
    n = 1 << 20 if quick else 1 << 22  # 4M floats (1M in quick mode)
    big = "1M" if quick else "4M"
    m = 512 if quick else 1024
    out = []

    a, ta = pair(m, m, seed=1)
    b, tb = pair(m, m, seed=2)
    g, tg = pair(m, m, seed=3, grad=False)
    out.append((f"matmul {m}×{m} fwd", lambda: a @ b, lambda: ta @ tb, BIG))
    out.append((f"matmul {m}×{m} fwd+bwd", fwd_bwd(lambda x, y: x @ y, (a, b), g),
                fwd_bwd(lambda x, y: x @ y, (ta, tb), tg), BIG))

    x, tx = pair(n, seed=4)
    y, ty = pair(n, seed=5)
    gx, tgx = pair(n, seed=6, grad=False)
    for name, ours, theirs, args in [
        ("add", lambda p, q: p + q, lambda p, q: p + q, 2),
        ("mul", lambda p, q: p * q, lambda p, q: p * q, 2),
        ("exp", lambda p: p.exp(), lambda p: p.exp(), 1),
    ]:
        ins, tins = (x, y)[:args], (tx, ty)[:args]
        out.append((f"{name} {big} fwd", lambda f=ours, i=ins: f(*i),
                    lambda f=theirs, i=tins: f(*i), BIG))
        out.append((f"{name} {big} fwd+bwd", fwd_bwd(ours, ins, gx), fwd_bwd(theirs, tins, tgx),
                    BIG))
    out.append((f"sum {big} fwd", lambda: x.sum(), lambda: tx.sum(), BIG))
    out.append((f"sum {big} fwd+bwd", fwd_bwd(lambda p: p.sum(), (x,), None),
                fwd_bwd(lambda p: p.sum(), (tx,), None), BIG))

    s, ts = pair(2, seed=7)
    r, tr = pair(2, seed=8)
    out.append(("a*b, 2 elements, requires_grad", lambda: s * r, lambda: ts * tr, SMALL))

    def chain(p, q):
        h = p * q
        for _ in range(4):
            h = (h + p) * q
        return h.sum()  # 10 ops: 1 + 4·2 + sum
    out.append(("10-op chain fwd+bwd, 2 elements", fwd_bwd(chain, (s, r), None),
                fwd_bwd(chain, (ts, tr), None), SMALL))
    return out


def main(argv=None):
    return run_cli(__doc__, cases, argv)


if __name__ == "__main__":
    main()
