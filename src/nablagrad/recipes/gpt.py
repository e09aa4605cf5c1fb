"""GPT on tiny Shakespeare characters: a small decoder-only transformer language model
(``models.sequence.gpt``; Radford et al. 2018, 2019) trained by next-character cross-entropy,

    loss = −(1/BT) Σ_b Σ_t log p_θ(x_{b,t+1} | x_{b,≤t})   (nats per character),

then sampled with temperature, top-k and nucleus filtering (``models.sequence.sampling``).

Data: the first 90% of the corpus trains, the last 10% validates (``split_text``); a batch is
``batch_size`` random windows of ``block_size + 1`` characters (inputs, and targets shifted by
one). Optimisation as in nanoGPT: AdamW (β = 0.9, 0.95; weight decay on the 2-D weights only,
not on biases and LayerNorm gains), learning rate warmed up linearly for ``warmup_iters`` and then
decayed by a half cosine to ``min_lr`` at ``max_iters``, gradients clipped to norm 1. Every
``eval_interval`` iterations the validation loss is averaged over the same ``eval_batches``
fixed batches; the best weights (with the vocabulary and model config, so ``nablagrad sample gpt``
needs no dataset) go to ``best.safetensors``, a resumable checkpoint to ``checkpoint.safetensors``.
``max_minutes`` sets a wall-clock budget (counted from the start of this process): the cosine
follows whichever of iterations and time is further along, and training ends when either runs out
(so a slow machine still ends with a decayed learning rate, at the cost of reproducibility);
``stop_after`` counts iterations here (continue with ``--resume``).
"""
from __future__ import annotations

import math
import os
import platform
import time
from dataclasses import asdict, dataclass

import numpy as np

from .. import Generator, from_numpy, manual_seed, nn, no_grad, optim
from ..data.datasets.tiny_shakespeare import CharVocab, split_text, tiny_shakespeare_text
from ..models.sequence.gpt import GPT, GPTConfig
from ..models.sequence.sampling import generate
from ..ops.random import numpy_generator
from ..serialization import load, save
from ..train.checkpoint import load_checkpoint, save_checkpoint
from . import Recipe
from .classify import TrainingDiverged, command_line, run_dir, write_json
from .config import RunConfig


@dataclass
class Config(RunConfig):
    n_layer: int = 4
    n_head: int = 4
    n_embd: int = 192
    block_size: int = 128
    dropout: float = 0.0
    bias: bool = True
    batch_size: int = 32
    max_iters: int = 3000
    lr: float = 2e-3
    min_lr: float = 2e-4
    warmup_iters: int = 100
    weight_decay: float = 0.1
    grad_clip: float = 1.0
    eval_interval: int = 250
    eval_batches: int = 20          # fixed validation batches per estimate
    max_minutes: float = 0.0        # wall-time budget: schedule and training end by it (0: none)
    sample_tokens: int = 500        # characters sampled at the end
    temperature: float = 0.8
    top_k: int = 0                  # 0: off
    top_p: float = 0.95             # 1.0: off


QUICK = dict(n_layer=1, n_head=2, n_embd=32, block_size=32, batch_size=8, max_iters=20,
             warmup_iters=5, eval_interval=10, eval_batches=2, sample_tokens=60, progress=False)


def model_config(cfg, vocab_size) -> GPTConfig:
    return GPTConfig(vocab_size=vocab_size, block_size=cfg.block_size, n_layer=cfg.n_layer,
                     n_head=cfg.n_head, n_embd=cfg.n_embd, dropout=cfg.dropout, bias=cfg.bias)


def batch(data, batch_size, block_size, gen, device):
    """(inputs, targets) int64 (batch_size, block_size) from random windows of ``data``."""
    starts = numpy_generator(gen).integers(0, len(data) - block_size - 1, batch_size)
    rows = starts[:, None] + np.arange(block_size + 1)
    windows = data[rows]
    return (from_numpy(windows[:, :-1].copy()).to(device),
            from_numpy(windows[:, 1:].copy()).to(device))


def lr_at(it, cfg, time_fraction=0.0) -> float:
    """Linear warmup to ``lr``, then half-cosine decay to ``min_lr`` at ``max_iters``, or
    earlier when ``time_fraction`` (of ``max_minutes`` spent) is further along."""
    if it < cfg.warmup_iters:
        return cfg.lr * (it + 1) / (cfg.warmup_iters + 1)
    progress = max((it - cfg.warmup_iters) / max(cfg.max_iters - cfg.warmup_iters, 1),
                   time_fraction)
    progress = min(progress, 1.0)
    return cfg.min_lr + 0.5 * (1 + math.cos(math.pi * progress)) * (cfg.lr - cfg.min_lr)


def make_optimizer(model, cfg):
    """AdamW with weight decay on the 2-D weights (Linear and Embedding) only."""
    params = list(model.parameters())
    decay = [p for p in params if p.ndim >= 2]
    no_decay = [p for p in params if p.ndim < 2]
    return optim.AdamW([{"params": decay, "weight_decay": cfg.weight_decay},
                        {"params": no_decay, "weight_decay": 0.0}],
                       lr=cfg.lr, betas=(0.9, 0.95))


def estimate_loss(model, batches) -> float:
    """Mean loss over fixed batches, in eval mode (no dropout)."""
    was_training = model.training
    model.eval()
    with no_grad():
        losses = [model(x, y)[1].item() for x, y in batches]
    model.train(was_training)
    return float(np.mean(losses))


def load_text(cfg):
    """(vocabulary, train ids, validation ids) as int64 arrays."""
    text = tiny_shakespeare_text(cfg.data_root)
    vocab = CharVocab(text)
    train_text, val_text = split_text(text)
    return vocab, vocab.encode(train_text).numpy(), vocab.encode(val_text).numpy()


def run(cfg):
    start = time.perf_counter()
    manual_seed(cfg.seed)
    out = run_dir("gpt", cfg)
    vocab, train_data, val_data = load_text(cfg)
    gconf = model_config(cfg, len(vocab))
    model = GPT(gconf).to(cfg.device)
    optimizer = make_optimizer(model, cfg)
    val_gen = Generator().manual_seed(cfg.seed + 1)
    val_batches = [batch(val_data, cfg.batch_size, cfg.block_size, val_gen, cfg.device)
                   for _ in range(cfg.eval_batches)]
    train_gen = Generator().manual_seed(cfg.seed)
    print(f"gpt: {model.num_parameters():,} parameters ({cfg.n_layer} layers, {cfg.n_head} heads, "
          f"n_embd {cfg.n_embd}, context {cfg.block_size}); {len(train_data):,} training, "
          f"{len(val_data):,} validation characters; vocabulary {len(vocab)}", flush=True)
    best_path, ckpt_path = (os.path.join(out, f) for f in ("best.safetensors",
                                                           "checkpoint.safetensors"))
    it, history, best = 0, [], {"val_loss": math.inf, "iter": 0}
    if cfg.resume and os.path.exists(ckpt_path):
        state = load_checkpoint(ckpt_path, model=model, optimizer=optimizer,
                                generators={"batches": train_gen})
        it, history, best = state["step"], list(state["history"]), state["extra"]
        print(f"gpt: resumed from {ckpt_path} at iteration {it}")
    train_seconds, trained, train_losses = 0.0, 0, []
    end = min(cfg.max_iters, cfg.stop_after) if cfg.stop_after else cfg.max_iters
    model.train()
    t0 = time.perf_counter()
    budget = 60 * cfg.max_minutes
    while it < end:
        lr = lr_at(it, cfg, (time.perf_counter() - start) / budget if budget else 0.0)
        for group in optimizer.param_groups:
            group["lr"] = lr
        x, y = batch(train_data, cfg.batch_size, cfg.block_size, train_gen, cfg.device)
        _, loss = model(x, y)
        optimizer.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
        optimizer.step()
        train_losses.append(loss.item())
        if not math.isfinite(train_losses[-1]):
            raise TrainingDiverged(f"gpt: loss became {train_losses[-1]} at iteration {it}")
        it, trained = it + 1, trained + x.numel()
        over_time = budget and time.perf_counter() - start > budget
        if it % cfg.eval_interval == 0 or it == end or over_time:
            train_seconds += time.perf_counter() - t0
            record = {"iter": it, "lr": lr, "train_loss": float(np.mean(train_losses)),
                      "val_loss": estimate_loss(model, val_batches),
                      "elapsed": round(time.perf_counter() - start, 1)}
            history.append(record)
            train_losses = []
            if record["val_loss"] < best["val_loss"]:
                best = {"val_loss": record["val_loss"], "iter": it}
                save({"model": model.state_dict(), "gpt_config": asdict(gconf),
                      "vocab": "".join(vocab.itos)}, best_path)
            save_checkpoint(ckpt_path, model=model, optimizer=optimizer, step=it,
                            history=history, generators={"batches": train_gen}, extra=best)
            print(f"iter {it:5d}  lr {lr:.2e}  train {record['train_loss']:.4f}  "
                  f"val {record['val_loss']:.4f}  (best {best['val_loss']:.4f})  "
                  f"{trained / train_seconds:,.0f} tokens/s  {record['elapsed']:.0f} s",
                  flush=True)
            if over_time:
                print(f"gpt: stopping at iteration {it}: --max-minutes={cfg.max_minutes} reached")
                break
            t0 = time.perf_counter()
    tokens_per_second = trained / train_seconds if train_seconds else None
    text = sample(cfg, best_path, tokens=cfg.sample_tokens)
    results = {"recipe": "gpt", "best_val_loss": best["val_loss"], "best_iter": best["iter"],
               "iters_run": it, "parameters": model.num_parameters(),
               "train_tokens_per_second": tokens_per_second,
               "wall_seconds": round(time.perf_counter() - start, 1), "command": command_line(),
               "machine": f"{platform.machine()}, {os.cpu_count()} cores, "
                          f"{platform.python_implementation()} {platform.python_version()}",
               "config": asdict(cfg), "history": history, "sample": text}
    write_json(os.path.join(out, "results.json"), results)
    print(f"--- sample (temperature {cfg.temperature}, top-k {cfg.top_k or 'off'}, top-p "
          f"{cfg.top_p}) ---\n{text}\n---")
    rate = f"{tokens_per_second:,.0f} training tokens/s; " if tokens_per_second else ""
    print(f"gpt: best validation loss {best['val_loss']:.4f} nats/char at iteration "
          f"{best['iter']}; {rate}{results['wall_seconds']:.0f} s; outputs in {out}/")
    return results


def load_weights(cfg, weights=None):
    """(model in eval mode, vocabulary) from ``weights`` (default OUT_DIR/gpt/best.safetensors):
    a best-weights file (model config and vocabulary included) or a training checkpoint (built
    from ``cfg``, vocabulary from the dataset)."""
    path = weights or os.path.join(cfg.out_dir, "gpt", "best.safetensors")
    if not os.path.exists(path):
        raise FileNotFoundError(f"gpt: no weights at {path}; train first with `nablagrad train "
                                f"gpt` or pass --weights=PATH")
    state = load(path)
    if "gpt_config" in state:
        vocab = CharVocab(state["vocab"])
        model = GPT(GPTConfig(**state["gpt_config"]))
    else:
        vocab = load_text(cfg)[0]
        model = GPT(model_config(cfg, len(vocab)))
    model.load_state_dict(state["model"] if "model" in state else state)
    return model.to(cfg.device).eval(), vocab


def sample(cfg, weights=None, prompt="\n", tokens=500, temperature=None, top_k=None,
           top_p=None, seed=None):
    """Text generated by the saved model after ``prompt``: ``tokens`` characters drawn with the
    KV cache, temperature / top-k / top-p defaulting to the config's (top_k 0 and top_p 1 turn
    the filters off), seeded by ``seed`` (default ``cfg.seed``)."""
    model, vocab = load_weights(cfg, weights)
    temperature = cfg.temperature if temperature is None else temperature
    top_k = cfg.top_k if top_k is None else top_k
    top_p = cfg.top_p if top_p is None else top_p
    gen = Generator().manual_seed(cfg.seed if seed is None else seed)
    idx = vocab.encode(prompt or "\n").view(1, -1).to(cfg.device)
    out = generate(model, idx, tokens, temperature=temperature, top_k=top_k or None,
                   top_p=top_p if top_p < 1 else None, generator=gen)
    return vocab.decode(out[0])


RECIPE = Recipe("gpt", "decoder-only transformer (nanoGPT-like) on tiny Shakespeare characters",
                "validation loss <= 1.50 nats/char within about an hour of CPU", Config, run,
                quick=QUICK, sample=sample)
