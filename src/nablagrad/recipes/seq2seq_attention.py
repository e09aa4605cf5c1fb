"""Encoder–decoder GRU/LSTM with Bahdanau or Luong attention on a generated transduction task
(notes 004 §5 and §12.1; 001 "Attention (Luong)", beam search; Bahdanau et al. 2015, Luong et al.
2015).

Tasks (``--task``): ``dates`` (human-written dates → ISO "1997-03-03"), ``reverse`` and ``sort``
(digit strings). Training minimises the cross-entropy −Σ_t log P(y_t | y_{<t}, x) with teacher
forcing (``--teacher-forcing`` is the probability of feeding the true previous token), Adam and
gradient-norm clipping. The held-out test set (whole examples never seen in training) is decoded
greedily and by beam search (``--beam`` K, length penalty ``--penalty`` with ``--alpha``), and
scored by exact match: the decoded string equals the target. Attention maps of a few test
examples are saved as PNGs; weights of the epoch with the best validation exact match are kept.
"""
from __future__ import annotations

import os
import time
from dataclasses import asdict, dataclass

import numpy as np

from .. import Generator, cat, full, manual_seed, no_grad, optim
from ..data import DataLoader
from ..data.datasets.transduction import transduction_splits
from ..models.sequence.seq2seq import Seq2Seq
from ..nn import functional as F
from ..nn.utils import clip_grad_norm_
from ..serialization import load, save
from . import Recipe
from .classify import count_parameters, run_dir, write_json
from .config import RunConfig

NAME = "seq2seq-attention"


@dataclass
class Config(RunConfig):
    task: str = "dates"            # dates | reverse | sort
    attention: str = "bahdanau"    # bahdanau | luong
    rnn: str = "gru"               # gru | lstm
    score: str = "general"         # Luong's score: general | dot
    beam: int = 5                  # beam width K for the beam-search evaluation
    alpha: float = 0.6             # length-penalty exponent α (0: raw log-probability)
    penalty: str = "gnmt"          # gnmt: ((5+m)/6)^α | plain: m^α
    n_train: int = 10000
    n_val: int = 500
    n_test: int = 2000
    min_len: int = 4               # digit tasks: string lengths
    max_len: int = 12
    embed_dim: int = 32
    hidden: int = 64               # per direction in the encoder; the decoder's state size
    attn_dim: int = 32             # Bahdanau's r
    epochs: int = 4
    batch_size: int = 128
    lr: float = 0.005
    clip: float = 1.0
    teacher_forcing: float = 1.0
    plots: int = 4                 # attention maps saved


def build_model(cfg, vocab_size):
    return Seq2Seq(vocab_size, vocab_size, embed_dim=cfg.embed_dim, hidden_size=cfg.hidden,
                   attention=cfg.attention, rnn=cfg.rnn, score=cfg.score, attn_dim=cfg.attn_dim)


def load_splits(cfg):
    return transduction_splits(cfg.task, cfg.n_train, cfg.n_val, cfg.n_test, seed=cfg.seed,
                               **({} if cfg.task == "dates" else
                                  dict(min_len=cfg.min_len, max_len=cfg.max_len)))


# ----------------------------------------------------------------------------- training
def _loss(model, batch, cfg, generator):
    src, src_len, tgt = (x.to(cfg.device) for x in batch)
    sos = full((tgt.shape[0], 1), model.sos_id, dtype=tgt.dtype, device=tgt.device)
    tgt_in = cat([sos, tgt[:, :-1]], dim=1)              # <sos> y₁ … y_{T−1}
    logits, _ = model(src, src_len, tgt_in, teacher_forcing=cfg.teacher_forcing,
                      generator=generator)
    return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), tgt.reshape(-1),
                           ignore_index=model.pad_id)


def train_epoch(model, loader, optimizer, cfg, generator):
    model.train()
    total, count = 0.0, 0
    for batch in loader:
        loss = _loss(model, batch, cfg, generator)
        optimizer.zero_grad()
        loss.backward()
        clip_grad_norm_(model.parameters(), cfg.clip)
        optimizer.step()
        total += loss.item() * len(batch[0])
        count += len(batch[0])
    return total / count


# ----------------------------------------------------------------------------- evaluation
@no_grad()
def exact_match(model, data, vocab, cfg, beam=0, batch_size=256):
    """(fraction of exact matches, decoded strings, attention per example) on ``data``:
    greedy when ``beam`` is 0, else beam search of width ``beam``."""
    model.eval()
    max_out = int(data.tgt_len.max()) + 2
    decoded, attention = [], []
    for start in range(0, len(data), batch_size):
        src, src_len, _ = data.get_batch(np.arange(start, min(start + batch_size, len(data))))
        src, src_len = src.to(cfg.device), src_len.to(cfg.device)
        if beam:
            res = model.beam_search(src, src_len, beam, max_out, alpha=cfg.alpha,
                                    penalty=cfg.penalty)
            decoded += [vocab.decode(t) for t in res.tokens]
            attention += res.attention
        else:
            tokens, weights = model.greedy(src, src_len, max_out)
            decoded += [vocab.decode(t) for t in tokens.numpy()]
            attention += list(weights.numpy())
    hits = sum(d == t for d, (_, t) in zip(decoded, data.pairs))
    return hits / len(data), decoded, attention


def plot_attention(weights, source, output, path, title=None):
    """Heat map of attention weights (T_out, T_src): row t shows where output token t looked;
    axes labelled by ``source`` and ``output`` (strings or lists of token strings). Returns the
    path of the PNG."""
    from ..train.plots import _figure, _save
    rows, cols = len(output), len(source)
    fig, axes = _figure(size=(max(3.0, 0.28 * cols + 1.5), max(2.5, 0.28 * rows + 1.2)))
    ax = axes[0, 0]
    image = ax.imshow(np.asarray(weights)[:rows, :cols], cmap="viridis", vmin=0.0, vmax=1.0,
                      aspect="auto")
    ax.set_xticks(range(cols), [c if c != " " else "␣" for c in source], fontsize=8)
    ax.set_yticks(range(rows), list(output), fontsize=8)
    ax.set_xlabel("source")
    ax.set_ylabel("output")
    if title:
        ax.set_title(title, fontsize=9)
    fig.colorbar(image, ax=ax, fraction=0.05)
    return _save(fig, path)


def _save_plots(out, data, decoded, attention, count):
    paths = []
    for i in range(min(count, len(data))):
        source = data.pairs[i][0]
        shown = list(decoded[i]) + ["<eos>"]      # the decoded characters, then <eos>
        w = attention[i][:len(shown), :len(source)]
        paths.append(plot_attention(w, source, shown[:len(w)],
                                    os.path.join(out, f"attention_{i}.png"),
                                    f"{source!r} → {decoded[i]!r}"))
    return paths


# ----------------------------------------------------------------------------- the run
def run(cfg):
    start = time.perf_counter()
    manual_seed(cfg.seed)
    out = run_dir(NAME, cfg)
    vocab, train, val, test = load_splits(cfg)
    model = build_model(cfg, len(vocab)).to(cfg.device)
    optimizer = optim.Adam(model.parameters(), lr=cfg.lr)
    schedule = optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=cfg.epochs)
    loader = DataLoader(train, batch_size=cfg.batch_size, shuffle=True,
                        generator=Generator().manual_seed(cfg.seed))
    tf_generator = Generator().manual_seed(cfg.seed + 1)
    best_path = os.path.join(out, "best.safetensors")
    history, best = [], -1.0
    for epoch in range(1, cfg.epochs + 1):
        t0 = time.perf_counter()
        loss = train_epoch(model, loader, optimizer, cfg, tf_generator)
        schedule.step()
        val_acc = exact_match(model, val, vocab, cfg)[0]
        history.append({"epoch": epoch, "train_loss": round(loss, 5), "val_exact": val_acc,
                        "seconds": round(time.perf_counter() - t0, 1)})
        if cfg.progress:
            print(f"{NAME} epoch {epoch}/{cfg.epochs}: train loss {loss:.4f}, "
                  f"val exact match {val_acc:.2%} ({history[-1]['seconds']} s)", flush=True)
        if val_acc > best:
            best = val_acc
            save(model.state_dict(), best_path)
    model.load_state_dict(load(best_path))
    results = evaluate_model(model, cfg, vocab, test, out)
    results.update({"recipe": NAME, "config": asdict(cfg), "parameters": count_parameters(model),
                    "best_val_exact": best, "history": history,
                    "wall_seconds": round(time.perf_counter() - start, 1)})
    write_json(os.path.join(out, "results.json"), results)
    print(f"{NAME} ({cfg.task}, {cfg.attention}, {cfg.rnn}): test exact match greedy "
          f"{results['test_exact_greedy']:.2%}, beam {cfg.beam} "
          f"{results['test_exact_beam']:.2%} on {len(test)} held-out examples "
          f"({results['wall_seconds']} s)")
    return results


def evaluate_model(model, cfg, vocab, test, out):
    greedy, decoded, attention = exact_match(model, test, vocab, cfg)
    t0 = time.perf_counter()
    beam, beam_decoded, _ = exact_match(model, test, vocab, cfg, beam=cfg.beam, batch_size=128)
    beam_seconds = time.perf_counter() - t0
    wrong = [{"source": s, "target": t, "greedy": d}
             for (s, t), d in zip(test.pairs, decoded) if d != t][:10]
    results = {"task": cfg.task, "test_exact_greedy": greedy, "test_exact_beam": beam,
               "beam": cfg.beam, "beam_seconds": round(beam_seconds, 1), "test_size": len(test),
               "examples": [{"source": s, "target": t, "greedy": d, "beam": b}
                            for (s, t), d, b in list(zip(test.pairs, decoded, beam_decoded))[:8]],
               "errors": wrong}
    try:
        results["plots"] = _save_plots(out, test, decoded, attention, cfg.plots)
    except ImportError:
        pass
    return results


def evaluate(cfg, weights=None):
    """Test exact match (greedy and beam) of saved weights (default: the run's best)."""
    vocab, _, _, test = load_splits(cfg)
    model = build_model(cfg, len(vocab)).to(cfg.device)
    model.load_state_dict(load(weights or os.path.join(run_dir(NAME, cfg), "best.safetensors")))
    return evaluate_model(model, cfg, vocab, test, run_dir(NAME, cfg))


RECIPE = Recipe(NAME, "Encoder–decoder GRU/LSTM with Bahdanau/Luong attention on generated "
                "transduction tasks (dates → ISO, reverse, sort); greedy and beam search",
                "dates: test exact match >= 99%", Config, run,
                quick=dict(n_train=256, n_val=32, n_test=32, epochs=2, embed_dim=8, hidden=16,
                           attn_dim=16, beam=3, plots=1, progress=False),
                evaluate=evaluate)
