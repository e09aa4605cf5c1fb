"""Tokens per second of the gpt recipe's model, nablagrad against a PyTorch twin (CPU), in one run.

    python bench/bench_gpt.py            # the recipe's default model and batch, 2 threads each
    python bench/bench_gpt.py --quick    # a tiny model, 3 rounds (smoke)

Training: one step = forward + cross-entropy + backward + gradient clipping (norm 1) + AdamW
(β = 0.9, 0.95, weight decay 0.1) on a batch of ``batch_size × block_size`` tokens, the same
float32 weights and batch for both sides. Generation: ``gen_tokens`` new tokens for one sequence
after a 16-token prompt, with a KV cache on both sides (ours: ``sampling.generate``; torch: the
twin's cache and ``torch.multinomial``), temperature 1 and no filtering, the whole generation
inside the window. The torch twin (tests/models/test_gpt.py, checked there for parity) uses
torch's fused ``scaled_dot_product_attention``. Timing: ``harness.compare`` (interleaved rounds,
median); the table gives ms per call, then tokens per second.
"""
from __future__ import annotations

import os
import sys

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "tests", "models"))
from harness import run_cli  # noqa: E402
from test_gpt import TGPT  # noqa: E402

import nablagrad as ng  # noqa: E402
from nablagrad.models.sequence.gpt import GPT  # noqa: E402
from nablagrad.models.sequence.sampling import generate  # noqa: E402
from nablagrad.recipes.gpt import QUICK, Config, make_optimizer, model_config  # noqa: E402

PROMPT = 16
TOKENS = {}   # case -> tokens per call, for the tokens/s lines


def twins(cfg):
    ng.manual_seed(0)
    ours = GPT(model_config(cfg, 65))
    theirs = TGPT(ours.config, fused=True)
    theirs.load_state_dict({k: torch.from_numpy(v.numpy().copy())
                            for k, v in ours.state_dict().items()})
    return ours, theirs


def train_steps(cfg, ours, theirs):
    rng = np.random.default_rng(0)
    x, y = (rng.integers(0, 65, (cfg.batch_size, cfg.block_size)) for _ in range(2))
    opt = make_optimizer(ours, cfg)
    decay = [p for p in theirs.parameters() if p.ndim >= 2]
    rest = [p for p in theirs.parameters() if p.ndim < 2]
    t_opt = torch.optim.AdamW([{"params": decay, "weight_decay": cfg.weight_decay},
                               {"params": rest, "weight_decay": 0.0}], lr=cfg.lr,
                              betas=(0.9, 0.95))
    xs, ys, txs, tys = ng.tensor(x), ng.tensor(y), torch.from_numpy(x), torch.from_numpy(y)

    def ours_step():
        opt.zero_grad()
        ours(xs, ys)[1].backward()
        ng.nn.utils.clip_grad_norm_(ours.parameters(), 1.0)
        opt.step()

    def torch_step():
        t_opt.zero_grad()
        theirs(txs, tys)[1].backward()
        torch.nn.utils.clip_grad_norm_(theirs.parameters(), 1.0)
        t_opt.step()
    return ours_step, torch_step


def generation(n, ours, theirs):
    prompt = np.arange(PROMPT).reshape(1, PROMPT) % 65
    gen, t_gen = ng.Generator().manual_seed(0), torch.Generator().manual_seed(0)

    def ours_generate():
        generate(ours, ng.tensor(prompt), n, generator=gen)

    @torch.no_grad()
    def torch_generate():
        idx, cache = torch.from_numpy(prompt), [None] * len(theirs.h)
        fed = idx
        for _ in range(n):
            logits, _ = theirs(fed, cache=cache)
            fed = torch.multinomial(logits[:, -1].softmax(-1), 1, generator=t_gen)
            idx = torch.cat([idx, fed], 1)
    theirs.eval()
    return ours_generate, torch_generate


def cases(quick):
    cfg = Config(**QUICK) if quick else Config()
    ours, theirs = twins(cfg)
    tokens = cfg.batch_size * cfg.block_size
    name = (f"gpt train step ({cfg.n_layer}L {cfg.n_embd}d {cfg.n_head}h, "
            f"{cfg.batch_size}×{cfg.block_size} tokens)")
    TOKENS[name] = tokens
    yield (name, *train_steps(cfg, ours, theirs))
    n = cfg.block_size - PROMPT
    name = f"gpt generate {n} tokens (KV cache, batch 1)"
    TOKENS[name] = n
    yield (name, *generation(n, ours, theirs))


def main(argv=None):
    rows = run_cli(__doc__, cases, argv=argv, threads=2, rounds=5, quick_rounds=3)
    print("\n| case | ours tokens/s | torch tokens/s |\n|---|---:|---:|")
    for r in rows:
        n = TOKENS[r["case"]]
        print(f"| {r['case']} | {n / r['ours_ms'] * 1e3:,.0f} | {n / r['torch_ms'] * 1e3:,.0f} |")
    return rows


if __name__ == "__main__":
    main()
