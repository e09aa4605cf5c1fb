"""Character-level LSTM language model on tiny Shakespeare (Karpathy's char-rnn; the model and
its equations are in ``models/sequence/char_rnn.py``). Target: validation loss ≤ 1.55 nats/char.

Data: the first 90% of the characters train, the last 10% validate (``split_text``); the
vocabulary is every character of the whole text. Training minimises the mean cross-entropy
−(1/BT) Σ log p(x_{t+1} | x_{≤t}) with truncated backpropagation through time: the training text
(from a random offset < ``seq_len`` each epoch, so chunk boundaries move) is cut into
``batch_size`` contiguous streams read side by side in chunks of ``seq_len`` characters; the
LSTM state is carried from chunk to chunk but detached, so gradients flow through at most
``seq_len`` steps. Adam, a cosine learning-rate decay to ``lr_min`` over ``steps`` optimizer
steps, and gradient-norm clipping (the notes' remedy for exploding gradients).

Validation loss is measured over the WHOLE validation text: every character after the first is
predicted exactly once, with at least ``eval_warmup`` characters of context. The text is read
as ``eval_streams`` parallel streams; stream k ≥ 1 first reads the ``eval_warmup`` characters
before its part without scoring them. The best weights (lowest validation loss, checked every
``eval_every`` steps and at the end) are saved with the vocabulary and architecture in
``best.safetensors``; samples are printed at the end; ``nablagrad sample char-rnn`` samples
from saved weights.
"""
from __future__ import annotations

import math
import os
import platform
import time
from itertools import islice
from dataclasses import asdict, dataclass

import numpy as np

from .. import Generator, from_numpy, manual_seed, nn, no_grad, optim
from ..data.datasets import CharVocab, split_text, tiny_shakespeare_text
from ..models.sequence.char_rnn import CharRNN, generate_chars
from ..serialization import load, save
from ..train import load_checkpoint, save_checkpoint
from ..train.tbptt import detach_state, tbptt_chunks
from . import Recipe
from .classify import command_line, count_parameters, run_dir, write_json
from .config import RunConfig

NAME = "char-rnn"


@dataclass
class Config(RunConfig):
    hidden_size: int = 384
    num_layers: int = 2
    embedding_dim: int = 64
    dropout: float = 0.1
    batch_size: int = 64          # parallel streams
    seq_len: int = 128            # characters per chunk (truncated-BPTT length)
    steps: int = 1000             # optimizer steps (64·128 characters each: ~8.2 epochs)
    lr: float = 2e-3
    lr_min: float = 2e-4          # end of the cosine decay
    clip_grad_norm: float = 5.0   # 0: off
    eval_every: int = 100         # steps between validation passes
    eval_streams: int = 32
    eval_warmup: int = 128        # unscored context read before each validation stream
    eval_chars: int = 0           # score only the first N validation characters (0: all)
    train_chars: int = 0          # train on the first N training characters (0: all)
    sample_chars: int = 600
    temperature: float = 0.8
    prompt: str = "ROMEO:"
    # --stop-after=N ends at the first validation pass at or after step N (not an epoch here);
    # --resume continues from the checkpoint written at every validation pass.


QUICK = dict(hidden_size=64, num_layers=1, embedding_dim=16, dropout=0.0, batch_size=8,
             seq_len=32, steps=30, eval_every=15, eval_chars=4000, train_chars=30000,
             sample_chars=100, progress=False)


def architecture(cfg, vocab_size):
    return dict(vocab_size=vocab_size, hidden_size=cfg.hidden_size, num_layers=cfg.num_layers,
                embedding_dim=cfg.embedding_dim, dropout=cfg.dropout)


# ---- data: streams for truncated BPTT -------------------------------------------------------

def train_streams(ids, batch_size, offset):
    """Inputs and targets (B, n): ``ids[offset:]`` cut into B contiguous streams, the targets
    shifted by one character."""
    data = ids[offset:]
    n = (len(data) - 1) // batch_size
    if n < 1:
        raise ValueError(f"{NAME}: {len(data)} training characters cannot fill {batch_size} "
                         f"streams")
    return (data[:batch_size * n].reshape(batch_size, n),
            data[1:batch_size * n + 1].reshape(batch_size, n))


def validation_streams(ids, streams, warmup):
    """(inputs, targets, scored) arrays of shape (B, warmup + S) that predict every character of
    ``ids`` after the first exactly once: stream 0 reads from the start and scores everything;
    stream k ≥ 1 reads ``warmup`` characters before its part unscored. Positions past the end
    are padding (not scored)."""
    n = len(ids) - 1                                  # characters to predict
    streams = max(1, min(streams, n))
    per = max(1, math.ceil((n - warmup) / streams)) if n > warmup else n
    width = warmup + per
    pos = np.arange(streams)[:, None] * per + np.arange(width)[None, :]
    scored = (pos < n) & ((np.arange(width)[None, :] >= warmup) | (np.arange(streams)[:, None]
                                                                  == 0))
    clipped = np.minimum(pos, n - 1)
    return ids[clipped], ids[clipped + 1], scored


def validation_loss(model, streams, seq_len, device="cpu"):
    """Mean cross-entropy in nats/char over the scored positions of ``validation_streams``."""
    inputs, targets, scored = streams
    total, count, state = 0.0, int(scored.sum()), None
    was_training = model.training
    model.eval()
    try:
        with no_grad():
            for t in range(0, inputs.shape[1], seq_len):
                x = from_numpy(np.ascontiguousarray(inputs[:, t:t + seq_len])).to(device)
                y = from_numpy(np.ascontiguousarray(targets[:, t:t + seq_len])).to(device)
                w = scored[:, t:t + seq_len]
                logits, state = model(x, state)
                losses = nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]),
                                                     y.reshape(-1), reduction="none")
                total += float(losses.cpu().numpy()[w.reshape(-1)].astype(np.float64).sum())
    finally:
        model.train(was_training)
    return total / count


# ---- training -----------------------------------------------------------------------------

def load_text(cfg):
    text = tiny_shakespeare_text(cfg.data_root)
    vocab = CharVocab(text)
    train_text, val_text = split_text(text)
    train_ids, val_ids = vocab.encode(train_text).numpy(), vocab.encode(val_text).numpy()
    if cfg.train_chars:
        train_ids = train_ids[:cfg.train_chars]
    if cfg.eval_chars:
        val_ids = val_ids[:cfg.eval_chars]
    if len(val_ids) < 2:
        raise ValueError(f"{NAME}: need at least 2 validation characters, got {len(val_ids)}")
    return vocab, train_ids, val_ids


def learning_rate(cfg, step):
    """Cosine decay from ``lr`` at step 0 to ``lr_min`` at step ``steps``."""
    return cfg.lr_min + 0.5 * (cfg.lr - cfg.lr_min) * (1 + math.cos(math.pi * step / cfg.steps))


def _weights(model, vocab, cfg):
    return {"model": model.state_dict(), "vocab": "".join(vocab.itos),
            "arch": architecture(cfg, len(vocab))}


def run(cfg):
    if cfg.steps < 1 or cfg.eval_every < 1 or cfg.seq_len < 1:
        raise ValueError(f"{NAME}: --steps, --eval-every and --seq-len must be >= 1, got "
                         f"{cfg.steps}, {cfg.eval_every} and {cfg.seq_len}")
    start = time.perf_counter()
    manual_seed(cfg.seed)
    out = run_dir(NAME, cfg)
    vocab, train_ids, val_ids = load_text(cfg)
    model = CharRNN(**architecture(cfg, len(vocab))).to(cfg.device)
    optimizer = optim.Adam(model.parameters(), lr=cfg.lr)
    n_params = count_parameters(model)
    val_streams = validation_streams(val_ids, cfg.eval_streams, cfg.eval_warmup)
    print(f"{NAME}: {n_params:,} parameters; {len(vocab)} characters; {len(train_ids):,} "
          f"training and {len(val_ids):,} validation characters", flush=True)
    ckpt_path, best_path = (os.path.join(out, f) for f in ("checkpoint.safetensors",
                                                            "best.safetensors"))
    step, epoch, first_chunk, history, best = 0, 0, 0, [], math.inf
    if cfg.resume:
        ckpt = load_checkpoint(ckpt_path, model=model, optimizer=optimizer)
        step, history = ckpt["step"], list(ckpt["history"])
        epoch, first_chunk, best = (ckpt["extra"][k] for k in ("epoch", "chunk", "best"))
        print(f"{NAME}: resumed at step {step}; the LSTM state restarts from zero", flush=True)
    tick, train_sum, train_n = time.perf_counter(), 0.0, 0
    while step < cfg.steps:
        offset = int(np.random.default_rng([cfg.seed, epoch]).integers(cfg.seq_len))
        inputs, targets = (from_numpy(a).to(cfg.device)
                           for a in train_streams(train_ids, cfg.batch_size, offset))
        chunks = islice(tbptt_chunks((inputs, targets), cfg.seq_len, dim=1), first_chunk, None)
        state = None
        for chunk, (x, y) in enumerate(chunks, start=first_chunk):
            if step >= cfg.steps:
                break
            for group in optimizer.param_groups:
                group["lr"] = learning_rate(cfg, step)
            logits, state = model(x, detach_state(state))
            loss = nn.functional.cross_entropy(logits.reshape(-1, len(vocab)), y.reshape(-1))
            optimizer.zero_grad()
            loss.backward()
            if cfg.clip_grad_norm:
                nn.utils.clip_grad_norm_(model.parameters(), cfg.clip_grad_norm)
            optimizer.step()
            step += 1
            value = loss.item()
            if not math.isfinite(value):
                raise FloatingPointError(f"{NAME}: the training loss became {value} at step "
                                         f"{step}; try a smaller --lr or --clip-grad-norm")
            train_sum, train_n = train_sum + value, train_n + 1
            if step % cfg.eval_every == 0 or step == cfg.steps:
                val = validation_loss(model, val_streams, cfg.seq_len, cfg.device)
                record = {"step": step, "epoch": epoch + min((chunk + 1) * cfg.seq_len,
                                                             inputs.shape[1]) / inputs.shape[1],
                          "lr": learning_rate(cfg, step - 1), "train_loss": train_sum / train_n,
                          "val_loss": val, "seconds": time.perf_counter() - tick}
                history.append(record)
                if val < best:
                    best = val
                    save(_weights(model, vocab, cfg), best_path)
                print(f"step {step}/{cfg.steps}  epoch {record['epoch']:.2f}  train_loss "
                      f"{record['train_loss']:.4f}  val_loss {val:.4f}  "
                      f"{record['seconds']:.0f} s", flush=True)
                save_checkpoint(ckpt_path, model=model, optimizer=optimizer, step=step,
                                history=history,
                                extra={"epoch": epoch, "chunk": chunk + 1, "best": best})
                tick, train_sum, train_n = time.perf_counter(), 0.0, 0
                if cfg.stop_after and cfg.stop_after <= step < cfg.steps:
                    print(f"{NAME}: stopped at step {step} (--stop-after); continue with "
                          f"`nablagrad train {NAME} --resume` and the same options")
                    return {"recipe": NAME, "steps_run": step, "history": history}
        epoch, first_chunk = epoch + 1, 0
    model.load_state_dict(load(best_path)["model"])
    gen = Generator().manual_seed(cfg.seed)
    prompt = cfg.prompt or "\n"
    samples = [prompt + vocab.decode(generate_chars(model, vocab.encode(prompt).tolist(),
                                                    cfg.sample_chars, cfg.temperature,
                                                    generator=gen)) for _ in range(2)]
    results = {"recipe": NAME, "val_loss": best, "best_step": min(history,
                                                                  key=lambda r: r["val_loss"])
               ["step"], "steps": step, "parameters": n_params,
               "validation_characters_scored": int(val_streams[2].sum()),
               "samples": samples, "wall_seconds": round(time.perf_counter() - start, 1),
               "command": command_line(),
               "machine": f"{platform.machine()}, {os.cpu_count()} cores, "
                          f"{platform.python_implementation()} {platform.python_version()}",
               "config": asdict(cfg), "history": history}
    write_json(os.path.join(out, "results.json"), results)
    for s in samples:
        print(f"---- sample (temperature {cfg.temperature}) ----\n{s}")
    print(f"{NAME}: best validation loss {best:.4f} nats/char (step {results['best_step']}) "
          f"over {results['validation_characters_scored']:,} validation characters; "
          f"{results['wall_seconds']:.0f} s; outputs in {out}/")
    return results


# ---- evaluation and sampling from saved weights --------------------------------------------

def _load_model(cfg, weights_path):
    path = weights_path or os.path.join(cfg.out_dir, NAME, "best.safetensors")
    if not os.path.exists(path):
        raise FileNotFoundError(f"{NAME}: no weights at {path}; train first with "
                                f"`nablagrad train {NAME}` or pass --weights=PATH")
    state = load(path)
    info = state.get("extra") or state          # a training checkpoint keeps them in "extra"
    if "vocab" not in info:
        raise ValueError(f"{NAME}: {path} holds no vocabulary; pass the best.safetensors that "
                         f"`nablagrad train {NAME}` wrote")
    model = CharRNN(**info["arch"]).to(cfg.device)
    model.load_state_dict(state["model"])
    return model, CharVocab(info["vocab"]), path


def evaluate(cfg, weights_path=None):
    """Validation loss (nats/char, the whole validation text) of saved weights."""
    model, _, path = _load_model(cfg, weights_path)
    _, _, val_ids = load_text(cfg)
    streams = validation_streams(val_ids, cfg.eval_streams, cfg.eval_warmup)
    val = validation_loss(model, streams, cfg.seq_len, cfg.device)
    print(f"{NAME}: validation loss {val:.4f} nats/char over {int(streams[2].sum()):,} "
          f"characters, weights {path}")
    return {"val_loss": val}


def sample(cfg, weights_path=None, prompt=None, tokens=None, temperature=None, top_k=None,
           top_p=None, seed=None):
    """Text sampled from saved weights: ``prompt`` followed by ``tokens`` new characters."""
    model, vocab, _ = _load_model(cfg, weights_path)
    prompt = cfg.prompt if prompt is None else prompt
    prompt = prompt or "\n"
    gen = Generator().manual_seed(cfg.seed if seed is None else seed)
    ids = generate_chars(model, vocab.encode(prompt).tolist(),
                         cfg.sample_chars if tokens is None else tokens,
                         cfg.temperature if temperature is None else temperature,
                         top_k, top_p, gen)
    return prompt + vocab.decode(ids)


RECIPE = Recipe(NAME, "character-level 2-layer LSTM language model on tiny Shakespeare "
                      "(Karpathy's char-rnn), truncated BPTT",
                "validation loss <= 1.55 nats/char", Config, run, quick=QUICK,
                evaluate=evaluate, sample=sample)
