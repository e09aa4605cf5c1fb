"""A small BERT trained by masked language modelling on tiny Shakespeare (the model and its
equations are in ``models/sequence/bert.py``, the masking in ``data/mlm.py``).

Data: the first 90% of the characters train, the last 10% validate (``split_text``); a word-level
(or byte-level BPE) tokenizer is trained on the training text only. Training batches are
windows of ``seq_len`` consecutive tokens at random offsets of the training token stream,
corrupted afresh every step (15% of the tokens selected; 80% → [MASK], 10% → random, 10% kept).
Loss: L = −(1/|S|) Σ_{i∈S} log p(x_i | x̃) over the selected positions S. AdamW, linear warmup
for ``warmup`` steps then cosine decay to 0 (post-norm transformers need the warmup), gradient
clipping.

Evaluation: the validation token stream cut into consecutive windows, masked once with a fixed
seed, so every run scores the same positions. Masked-token accuracy = the fraction of selected
positions where argmax p(· | x̃) is the original token, against two unigram baselines that ignore
the context: always predicting the most frequent training token, and sampling a token from the
training frequencies (expected accuracy Σ_v p_train(v) q_val(v), q_val the frequencies of the
selected validation tokens).
"""
from __future__ import annotations

import math
import os
import platform
import time
from dataclasses import asdict, dataclass

import numpy as np

from .. import Generator, from_numpy, manual_seed, nn, no_grad, optim
from ..data.datasets import split_text, tiny_shakespeare_text
from ..data.mlm import IGNORE_INDEX, mask_tokens
from ..data.tokenizers import BPETokenizer, WordTokenizer
from ..models.sequence.bert import BERT
from ..serialization import save
from . import Recipe
from .classify import command_line, count_parameters, run_dir, write_json
from .config import RunConfig

NAME = "bert-mlm"


@dataclass
class Config(RunConfig):
    tokenizer: str = "word"        # word | bpe
    min_freq: int = 2              # word tokenizer: rarer words become [UNK]
    bpe_vocab_size: int = 2000     # bpe tokenizer: vocabulary size
    seq_len: int = 32              # tokens per window
    d_model: int = 128
    nhead: int = 4
    num_layers: int = 2
    dim_feedforward: int = 256
    dropout: float = 0.1
    norm_first: bool = False       # False: BERT's post-norm
    mlm_probability: float = 0.15
    batch_size: int = 64
    steps: int = 600
    lr: float = 1e-3               # peak, after warmup
    warmup: int = 60
    weight_decay: float = 0.01
    clip_grad_norm: float = 1.0    # 0: off
    eval_every: int = 200
    train_tokens: int = 0          # train on the first N training tokens (0: all)
    val_tokens: int = 0            # evaluate on the first N validation tokens (0: all)


QUICK = dict(d_model=32, nhead=2, num_layers=1, dim_feedforward=64, seq_len=32, batch_size=16,
             steps=40, warmup=10, lr=3e-3, eval_every=20, train_tokens=20000, val_tokens=3000,
             progress=False)


# ---- data -------------------------------------------------------------------------------

def make_tokenizer(cfg, text):
    if cfg.tokenizer == "word":
        return WordTokenizer.train(text, min_freq=cfg.min_freq)
    if cfg.tokenizer == "bpe":
        return BPETokenizer.train(text, cfg.bpe_vocab_size)
    raise ValueError(f"--tokenizer: expected word or bpe, got {cfg.tokenizer!r}")


def special_ids(tok):
    return [tok.token_to_id(t) for t in tok.special_tokens]


def load_data(cfg):
    """(tokenizer, training ids, validation ids) as int64 arrays."""
    train_text, val_text = split_text(tiny_shakespeare_text(cfg.data_root))
    tok = make_tokenizer(cfg, train_text)
    if tok.mask_id is None:
        raise ValueError(f"{NAME}: the tokenizer has no [MASK] token")
    train_ids = np.asarray(tok.encode(train_text), dtype=np.int64)
    val_ids = np.asarray(tok.encode(val_text), dtype=np.int64)
    if cfg.train_tokens:
        train_ids = train_ids[:cfg.train_tokens]
    if cfg.val_tokens:
        val_ids = val_ids[:cfg.val_tokens]
    if len(train_ids) <= cfg.seq_len or len(val_ids) < cfg.seq_len:
        raise ValueError(f"{NAME}: {len(train_ids)} training / {len(val_ids)} validation tokens "
                         f"are too few for windows of --seq-len={cfg.seq_len}")
    return tok, train_ids, val_ids


def random_windows(ids, batch_size, seq_len, rng):
    """(batch_size, seq_len) windows of ``ids`` at uniformly random offsets."""
    starts = rng.integers(0, len(ids) - seq_len + 1, size=batch_size)
    return ids[starts[:, None] + np.arange(seq_len)]


def validation_batches(cfg, tok, val_ids):
    """The validation stream in consecutive windows, masked once with a fixed seed:
    (inputs, labels) int64 arrays of shape (windows, seq_len)."""
    n = len(val_ids) // cfg.seq_len
    windows = val_ids[:n * cfg.seq_len].reshape(n, cfg.seq_len)
    inputs, labels = mask_tokens(windows, tok.vocab_size, tok.mask_id, special_ids(tok),
                                 cfg.mlm_probability,
                                 generator=Generator().manual_seed(cfg.seed + 1))
    return inputs.numpy(), labels.numpy()


def unigram_baselines(tok, train_ids, labels):
    """Accuracy at the selected validation positions of predicting the most frequent training
    token, and expected accuracy of sampling tokens by their training frequency."""
    counts = np.bincount(train_ids, minlength=tok.vocab_size).astype(np.float64)
    counts[special_ids(tok)] = 0                      # special tokens are never targets
    p_train = counts / counts.sum()
    targets = labels[labels != IGNORE_INDEX]
    q_val = np.bincount(targets, minlength=tok.vocab_size) / len(targets)
    top = int(np.argmax(p_train))
    return {"unigram_top_token": tok.id_to_token(top),
            "unigram_argmax_accuracy": float(np.mean(targets == top)),
            "unigram_sample_accuracy": float(p_train @ q_val)}


def evaluate_mlm(model, inputs, labels, batch_size, device="cpu"):
    """Masked-token loss and accuracy over the selected positions of (inputs, labels)."""
    total, hits, count = 0.0, 0, 0
    was_training = model.training
    model.eval()
    try:
        with no_grad():
            for i in range(0, len(inputs), batch_size):
                x = from_numpy(np.ascontiguousarray(inputs[i:i + batch_size])).to(device)
                y = from_numpy(np.ascontiguousarray(labels[i:i + batch_size])).to(device)
                logits, targets = model.selected_logits(model.encode(x), y)
                n = targets.shape[0]
                if n == 0:
                    continue
                total += nn.functional.cross_entropy(logits, targets).item() * n
                hits += int((logits.argmax(1) == targets).sum().item())
                count += n
    finally:
        model.train(was_training)
    return {"mlm_loss": total / count, "mlm_accuracy": hits / count, "masked_tokens": count}


# ---- training -----------------------------------------------------------------------------

def architecture(cfg, vocab_size, pad_id):
    return dict(vocab_size=vocab_size, max_len=cfg.seq_len, d_model=cfg.d_model, nhead=cfg.nhead,
                num_layers=cfg.num_layers, dim_feedforward=cfg.dim_feedforward,
                dropout=cfg.dropout, pad_id=pad_id, norm_first=cfg.norm_first)


def learning_rate(cfg, step):
    """Linear warmup to ``lr`` over ``warmup`` steps, then cosine decay to 0 at ``steps``."""
    if step < cfg.warmup:
        return cfg.lr * (step + 1) / cfg.warmup
    progress = (step - cfg.warmup) / max(1, cfg.steps - cfg.warmup)
    return 0.5 * cfg.lr * (1 + math.cos(math.pi * min(progress, 1.0)))


def make_optimizer(cfg, model):
    """AdamW; no weight decay on biases, LayerNorms and position embeddings (1-D or norm)."""
    decay, no_decay = [], []
    for name, p in model.named_parameters():
        (no_decay if p.ndim < 2 or "norm" in name or "pos_embed" in name else decay).append(p)
    return optim.AdamW([{"params": decay, "weight_decay": cfg.weight_decay},
                        {"params": no_decay, "weight_decay": 0.0}], lr=cfg.lr)


def run(cfg):
    if cfg.resume or cfg.stop_after:
        raise ValueError(f"{NAME}: --resume and --stop-after are not supported (runs are short)")
    start = time.perf_counter()
    manual_seed(cfg.seed)
    out = run_dir(NAME, cfg)
    tok, train_ids, val_ids = load_data(cfg)
    specials = special_ids(tok)
    val_inputs, val_labels = validation_batches(cfg, tok, val_ids)
    baselines = unigram_baselines(tok, train_ids, val_labels)
    model = BERT(**architecture(cfg, tok.vocab_size, tok.pad_id)).to(cfg.device)
    optimizer = make_optimizer(cfg, model)
    n_params = count_parameters(model)
    print(f"{NAME}: {n_params:,} parameters; {cfg.tokenizer} tokenizer, {tok.vocab_size:,} "
          f"tokens; {len(train_ids):,} training and {len(val_ids):,} validation tokens",
          flush=True)
    rng = np.random.default_rng(cfg.seed)
    mask_gen = Generator().manual_seed(cfg.seed)
    history, tick, train_sum, train_n = [], time.perf_counter(), 0.0, 0
    best, best_path = -1.0, os.path.join(out, "best.safetensors")
    for step in range(cfg.steps):
        windows = random_windows(train_ids, cfg.batch_size, cfg.seq_len, rng)
        x, y = mask_tokens(windows, tok.vocab_size, tok.mask_id, specials, cfg.mlm_probability,
                           generator=mask_gen)
        for group in optimizer.param_groups:
            group["lr"] = learning_rate(cfg, step)
        loss = model.mlm_loss(x.to(cfg.device), y.to(cfg.device))
        optimizer.zero_grad()
        loss.backward()
        if cfg.clip_grad_norm:
            nn.utils.clip_grad_norm_(model.parameters(), cfg.clip_grad_norm)
        optimizer.step()
        value = loss.item()
        if not math.isfinite(value):
            raise FloatingPointError(f"{NAME}: the training loss became {value} at step "
                                     f"{step + 1}; try a smaller --lr")
        train_sum, train_n = train_sum + value, train_n + 1
        if (step + 1) % cfg.eval_every == 0 or step + 1 == cfg.steps:
            val = evaluate_mlm(model, val_inputs, val_labels, 2 * cfg.batch_size, cfg.device)
            record = {"step": step + 1, "lr": learning_rate(cfg, step),
                      "train_loss": train_sum / train_n, "val_loss": val["mlm_loss"],
                      "val_accuracy": val["mlm_accuracy"],
                      "seconds": time.perf_counter() - tick}
            history.append(record)
            if val["mlm_accuracy"] > best:
                best = val["mlm_accuracy"]
                save({"model": model.state_dict(),
                      "arch": architecture(cfg, tok.vocab_size, tok.pad_id)}, best_path)
            print(f"step {step + 1}/{cfg.steps}  train_loss {record['train_loss']:.4f}  "
                  f"val_loss {record['val_loss']:.4f}  val masked accuracy "
                  f"{record['val_accuracy']:.2%}  {record['seconds']:.0f} s", flush=True)
            tick, train_sum, train_n = time.perf_counter(), 0.0, 0
    tok.save(os.path.join(out, "tokenizer.json"))
    last = history[-1]
    results = {"recipe": NAME, "val_masked_accuracy": last["val_accuracy"],
               "val_mlm_loss": last["val_loss"], "best_val_masked_accuracy": best,
               "masked_tokens": int((val_labels != IGNORE_INDEX).sum()), **baselines,
               "vocab_size": tok.vocab_size, "parameters": n_params, "steps": cfg.steps,
               "wall_seconds": round(time.perf_counter() - start, 1), "command": command_line(),
               "machine": f"{platform.machine()}, {os.cpu_count()} cores, "
                          f"{platform.python_implementation()} {platform.python_version()}",
               "config": asdict(cfg), "history": history}
    write_json(os.path.join(out, "results.json"), results)
    print(f"{NAME}: masked-token accuracy {results['val_masked_accuracy']:.2%} on "
          f"{results['masked_tokens']:,} masked validation tokens (unigram baselines: most "
          f"frequent token {baselines['unigram_top_token']!r} "
          f"{baselines['unigram_argmax_accuracy']:.2%}, sampling by frequency "
          f"{baselines['unigram_sample_accuracy']:.2%}); "
          f"{results['wall_seconds']:.0f} s; outputs in {out}/")
    return results


RECIPE = Recipe(NAME, "small BERT encoder, masked language modelling on tiny Shakespeare words",
                "masked-token accuracy well above the unigram baseline", Config, run,
                quick=QUICK)
