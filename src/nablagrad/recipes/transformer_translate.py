"""The full ``nn.Transformer`` encoder–decoder on a generated transduction task (the model and its
equations are in ``models/sequence/transformer_seq2seq.py``; the data, shared with
``seq2seq-attention``, in ``data/datasets/transduction.py``).

Task (``--task``): ``dates`` (a date written in one of eight human formats → ISO "1997-03-03"),
or ``reverse`` / ``sort`` (digit strings). Training: teacher forcing, cross-entropy
−Σ_t log P(y_t | y_{<t}, x) over the non-padding target positions (optionally label-smoothed),
AdamW with a linear warmup then cosine decay per step (A. Vaswani et al. 2017 also warm up),
gradient clipping. Evaluation: the held-out test examples (whole dates never seen in training)
decoded greedily and by beam search (width ``--beam``, GNMT length penalty with ``--alpha``),
scored by exact match (the decoded string equals the target); the weights of the epoch with the
best validation exact match are used.
"""
from __future__ import annotations

import math
import os
import platform
import time
from dataclasses import asdict, dataclass

import numpy as np

from .. import Generator, cat, full, manual_seed, no_grad, optim
from ..data import DataLoader
from ..data.datasets.transduction import transduction_splits
from ..models.sequence.transformer_seq2seq import TransformerSeq2Seq
from ..nn import functional as F
from ..nn.utils import clip_grad_norm_
from ..serialization import load, save
from . import Recipe
from .classify import command_line, count_parameters, run_dir, write_json
from .config import RunConfig

NAME = "transformer-translate"


@dataclass
class Config(RunConfig):
    task: str = "dates"            # dates | reverse | sort
    n_train: int = 10000
    n_val: int = 500
    n_test: int = 2000
    min_len: int = 4               # digit tasks: string lengths
    max_len: int = 12
    d_model: int = 64
    nhead: int = 4
    num_encoder_layers: int = 2
    num_decoder_layers: int = 2
    dim_feedforward: int = 256
    dropout: float = 0.1
    epochs: int = 15
    batch_size: int = 64
    lr: float = 1e-3               # peak, after warmup
    warmup: int = 200              # optimizer steps
    weight_decay: float = 0.01
    label_smoothing: float = 0.0
    clip: float = 1.0
    beam: int = 4                  # beam width for the beam-search evaluation (0: skip)
    alpha: float = 0.6             # length-penalty exponent (GNMT)


QUICK = dict(n_train=512, n_val=32, n_test=64, epochs=2, d_model=32, nhead=2,
             num_encoder_layers=1, num_decoder_layers=1, dim_feedforward=64, warmup=10, lr=3e-3,
             beam=2, progress=False)


def load_splits(cfg):
    return transduction_splits(cfg.task, cfg.n_train, cfg.n_val, cfg.n_test, seed=cfg.seed,
                               **({} if cfg.task == "dates" else
                                  dict(min_len=cfg.min_len, max_len=cfg.max_len)))


def build_model(cfg, vocab):
    return TransformerSeq2Seq(len(vocab), len(vocab), d_model=cfg.d_model, nhead=cfg.nhead,
                              num_encoder_layers=cfg.num_encoder_layers,
                              num_decoder_layers=cfg.num_decoder_layers,
                              dim_feedforward=cfg.dim_feedforward, dropout=cfg.dropout,
                              pad_id=vocab.PAD, sos_id=vocab.SOS, eos_id=vocab.EOS)


def learning_rate(cfg, step, total):
    """Linear warmup to ``lr`` over ``warmup`` steps, then cosine decay to 0 at ``total``."""
    if step < cfg.warmup:
        return cfg.lr * (step + 1) / cfg.warmup
    return 0.5 * cfg.lr * (1 + math.cos(math.pi * min(1.0, (step - cfg.warmup)
                                                      / max(1, total - cfg.warmup))))


def teacher_forced_loss(model, batch, cfg):
    src, _, tgt = (x.to(cfg.device) for x in batch)
    sos = full((tgt.shape[0], 1), model.sos_id, dtype=tgt.dtype, device=tgt.device)
    logits = model(src, cat([sos, tgt[:, :-1]], dim=1))          # <sos> y₁ … y_{T−1}
    return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), tgt.reshape(-1),
                           ignore_index=model.pad_id, label_smoothing=cfg.label_smoothing)


@no_grad()
def exact_match(model, data, cfg, beam=0, batch_size=250):
    """(fraction of exact matches, decoded strings) on ``data``: greedy when ``beam`` is 0, else
    beam search of width ``beam``."""
    model.eval()
    max_out = int(data.tgt_len.max()) + 2
    decoded = []
    for start in range(0, len(data), batch_size):
        src = data.get_batch(np.arange(start, min(start + batch_size, len(data))))[0]
        src = src.to(cfg.device)
        if beam:
            decoded += [data.vocab.decode(t)
                        for t in model.beam_search(src, beam, max_out, alpha=cfg.alpha).tokens]
        else:
            decoded += [data.vocab.decode(t) for t in model.greedy(src, max_out).numpy()]
    hits = sum(d == t for d, (_, t) in zip(decoded, data.pairs))
    return hits / len(data), decoded


def run(cfg):
    if cfg.resume or cfg.stop_after:
        raise ValueError(f"{NAME}: --resume and --stop-after are not supported (runs are short)")
    start = time.perf_counter()
    manual_seed(cfg.seed)
    out = run_dir(NAME, cfg)
    vocab, train, val, test = load_splits(cfg)
    model = build_model(cfg, vocab).to(cfg.device)
    optimizer = optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    loader = DataLoader(train, batch_size=cfg.batch_size, shuffle=True,
                        generator=Generator().manual_seed(cfg.seed))
    total_steps = cfg.epochs * len(loader)
    print(f"{NAME}: {count_parameters(model):,} parameters; task {cfg.task}; {len(train):,} "
          f"training, {len(val):,} validation, {len(test):,} test examples", flush=True)
    best_path = os.path.join(out, "best.safetensors")
    history, best, step = [], -1.0, 0
    for epoch in range(1, cfg.epochs + 1):
        t0, total, count = time.perf_counter(), 0.0, 0
        model.train()
        for batch in loader:
            for group in optimizer.param_groups:
                group["lr"] = learning_rate(cfg, step, total_steps)
            loss = teacher_forced_loss(model, batch, cfg)
            optimizer.zero_grad()
            loss.backward()
            clip_grad_norm_(model.parameters(), cfg.clip)
            optimizer.step()
            step += 1
            total, count = total + loss.item() * len(batch[0]), count + len(batch[0])
        val_exact = exact_match(model, val, cfg)[0]
        history.append({"epoch": epoch, "step": step, "train_loss": total / count,
                        "val_exact": val_exact, "seconds": round(time.perf_counter() - t0, 1)})
        print(f"epoch {epoch}/{cfg.epochs}  train_loss {total / count:.4f}  val exact match "
              f"{val_exact:.2%}  {history[-1]['seconds']} s", flush=True)
        if val_exact > best:
            best = val_exact
            save(model.state_dict(), best_path)
    model.load_state_dict(load(best_path))
    greedy, decoded = exact_match(model, test, cfg)
    beam = exact_match(model, test, cfg, beam=cfg.beam)[0] if cfg.beam else None
    errors = [{"source": s, "target": t, "greedy": d}
              for (s, t), d in zip(test.pairs, decoded) if d != t][:10]
    results = {"recipe": NAME, "task": cfg.task, "test_exact_greedy": greedy,
               "test_exact_beam": beam, "beam": cfg.beam, "test_size": len(test),
               "best_val_exact": best, "parameters": count_parameters(model),
               "examples": [{"source": s, "target": t, "greedy": d}
                            for (s, t), d in list(zip(test.pairs, decoded))[:8]],
               "errors": errors, "wall_seconds": round(time.perf_counter() - start, 1),
               "command": command_line(),
               "machine": f"{platform.machine()}, {os.cpu_count()} cores, "
                          f"{platform.python_implementation()} {platform.python_version()}",
               "config": asdict(cfg), "history": history}
    write_json(os.path.join(out, "results.json"), results)
    beam_text = f", beam {cfg.beam} {beam:.2%}" if cfg.beam else ""
    print(f"{NAME} ({cfg.task}): test exact match greedy {greedy:.2%}{beam_text} on "
          f"{len(test):,} held-out examples; {results['wall_seconds']:.0f} s; outputs in {out}/")
    return results


def evaluate(cfg, weights=None):
    """Test exact match (greedy, and beam if ``--beam``) of saved weights."""
    vocab, _, _, test = load_splits(cfg)
    model = build_model(cfg, vocab).to(cfg.device)
    path = weights or os.path.join(cfg.out_dir, NAME, "best.safetensors")
    if not os.path.exists(path):
        raise FileNotFoundError(f"{NAME}: no weights at {path}; train first with "
                                f"`nablagrad train {NAME}` or pass --weights=PATH")
    model.load_state_dict(load(path))
    greedy = exact_match(model, test, cfg)[0]
    beam = exact_match(model, test, cfg, beam=cfg.beam)[0] if cfg.beam else None
    print(f"{NAME} ({cfg.task}): test exact match greedy {greedy:.2%}"
          + (f", beam {cfg.beam} {beam:.2%}" if cfg.beam else "") + f", weights {path}")
    return {"test_exact_greedy": greedy, "test_exact_beam": beam}


RECIPE = Recipe(NAME, "nn.Transformer encoder-decoder on generated transduction tasks "
                "(dates → ISO); greedy and beam search", "dates: test exact match >= 99%",
                Config, run, quick=QUICK, evaluate=evaluate)
