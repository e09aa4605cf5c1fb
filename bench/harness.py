"""A small benchmark harness: nablagrad against PyTorch (CPU) in one process.

Method (see bench/README.md):
* same thread count: PyTorch gets as many threads as NumPy's BLAS uses, or both get the count
  asked for (:func:`setup_threads`);
* interleaved: each round times ours, then torch, so drifts in clock speed or load hit both;
* median over rounds, of the time per call (a round repeats a call ``number`` times, chosen so
  that one round lasts at least ``min_time`` seconds);
* the result is the ratio ours / torch (lower is better; 1.0 = as fast as PyTorch).
"""
from __future__ import annotations

import argparse
import os
import statistics
import time


def blas_threads() -> int:
    """Threads NumPy's BLAS uses (asked from the library; else the CPUs we may use)."""
    import numpy  # noqa: F401  (loads the BLAS)
    from threadpoolctl import threadpool_info
    blas = [p for p in threadpool_info() if p["user_api"] == "blas"]
    blas.sort(key=lambda p: "numpy" not in p["filepath"])  # NumPy's own first
    if blas:
        return blas[0]["num_threads"]
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()


def setup_threads(n=None) -> int:
    """Give PyTorch NumPy's BLAS thread count, or set both (and nablagrad's pool) to ``n``;
    returns the count."""
    import torch

    import nablagrad as ng
    if n is not None:
        ng.set_num_threads(int(n))
    n = blas_threads()
    torch.set_num_threads(n)
    return n


def _time(fn, number, clock=time.perf_counter):
    start = clock()
    for _ in range(number):
        fn()
    return (clock() - start) / number


def _calibrate(fns, min_time, clock):
    """Calls per round so that the slowest function's round lasts ``min_time``."""
    per_call = max(_time(fn, 1, clock) for fn in fns)
    number = 1
    while number * per_call < min_time and number < 1_000_000:
        number *= 2
    return number


def compare(name, ours_fn, torch_fn, repeat=7, warmup=2, number=None, min_time=0.05,
            target=None, clock=time.perf_counter) -> dict:
    """Time ``ours_fn`` and ``torch_fn`` interleaved; medians in ms per call and their ratio.

    ``clock=time.process_time`` measures CPU time instead of wall time: steadier on a busy
    machine, but only meaningful with one thread (it adds up all threads' time)."""
    for _ in range(warmup):
        ours_fn()
        torch_fn()
    if number is None:
        number = _calibrate((ours_fn, torch_fn), min_time, clock)
    ours, theirs = [], []
    for _ in range(repeat):
        ours.append(_time(ours_fn, number, clock))
        theirs.append(_time(torch_fn, number, clock))
    ours_ms = statistics.median(ours) * 1e3
    torch_ms = statistics.median(theirs) * 1e3
    return {"case": name, "ours_ms": ours_ms, "torch_ms": torch_ms, "ratio": ours_ms / torch_ms,
            "target": target, "number": number, "repeat": repeat}


def _ms(x):
    return f"{x:.4f}" if x < 0.1 else f"{x:.3f}" if x < 10 else f"{x:.1f}"


def table(rows) -> str:
    """Print (and return) the rows as a markdown table; ``ok``/``over`` against the target."""
    lines = ["| case | ours ms | torch ms | ratio | target |",
             "|---|---:|---:|---:|---|"]
    for r in rows:
        t = r.get("target")
        mark = "" if t is None else f"≤ {t:g}× ({'ok' if r['ratio'] <= t else 'over'})"
        lines.append(f"| {r['case']} | {_ms(r['ours_ms'])} | {_ms(r['torch_ms'])} | "
                     f"{r['ratio']:.2f}× | {mark} |")
    text = "\n".join(lines)
    print(text)
    return text


def pair(*shape, seed=0, grad=True):
    """The same float32 data as a nablagrad and a torch tensor."""
    import numpy as np
    import nablagrad as ng
    import torch
    a = np.random.default_rng(seed).standard_normal(shape, dtype=np.float32)
    return ng.tensor(a, requires_grad=grad), torch.tensor(a, requires_grad=grad)


def fwd_bwd(fn, inputs, grad=None):
    """A callable that runs fn(*inputs), back-propagates ``grad`` and clears the gradients."""
    def run():
        fn(*inputs).backward(grad)
        for t in inputs:
            t.grad = None
    return run


def run_cli(description, cases, argv=None, threads=None, rounds=7, quick_rounds=3, min_time=0.05):
    """The command line every bench script shares: ``--quick``, ``--threads``, ``--clock``,
    ``--repeat``. ``cases(quick)`` yields (name, ours_fn, torch_fn[, target]); prints the table."""
    import nablagrad as ng
    import torch
    parser = argparse.ArgumentParser(description=description.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, few rounds (CI smoke)")
    parser.add_argument("--threads", type=int, default=threads,
                        help="threads for both NumPy's BLAS and torch "
                             f"(default: {threads or 'NumPy BLAS count'})")
    parser.add_argument("--clock", choices=("wall", "cpu"), default="wall",
                        help="cpu: process CPU time, steadier on a busy machine (1 thread only)")
    parser.add_argument("--repeat", type=int, default=None,
                        help=f"interleaved rounds (default {rounds}, quick {quick_rounds})")
    args = parser.parse_args(argv)
    n_threads = setup_threads(args.threads)
    if args.clock == "cpu" and n_threads != 1:
        parser.error("--clock cpu adds up the time of all threads: use it with --threads 1")
    clock = time.process_time if args.clock == "cpu" else time.perf_counter
    repeat = quick_rounds if args.quick else max(args.repeat or rounds, 5)
    warmup, min_time = (1, 0.01) if args.quick else (2, min_time)
    rows = []
    for name, ours, theirs, *target in cases(args.quick):
        rows.append(compare(name, ours, theirs, repeat=repeat, warmup=warmup, min_time=min_time,
                            target=target[0] if target else None, clock=clock))
    print(f"nablagrad {ng.__version__} vs torch {torch.__version__}, {n_threads} thread(s) each, "
          f"{args.clock} clock, median of {repeat} interleaved rounds\n")
    table(rows)
    return rows
