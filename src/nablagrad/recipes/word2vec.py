"""word2vec on tiny Shakespeare: skip-gram or CBOW, negative sampling or the full softmax
(notes 000 "Word Embedding", 003 "Word2Vec", ERRATA X11; Mikolov et al. 2013, see
``models/sequence/word2vec.py`` for the losses).

Data: the lower-cased words of the first 90% of the text (letters with inner apostrophes), the
words seen at least ``min_count`` times as the vocabulary (rarer ones are dropped from the stream,
as in Mikolov's code), frequent words subsampled with keep probability min(1, sqrt(t / f(w))).
Each epoch draws the (centre, context) pairs of a dynamic window (uniform in 1..window), shuffles
them, and takes Adam (or SGD) steps on big batches with the learning rate decayed linearly to zero.

The check (a word-similarity probe made from co-occurrence): for the ``probe_words`` most
frequent words, the ground-truth similarity of two words is the cosine of their PPMI vectors,
PPMI(w, c) = max(0, log(#(w, c) · N / (#(w) · #(c)))), counted over the same windows of the
training text (SGNS implicitly factorises a shifted PMI matrix: O. Levy, Y. Goldberg, "Neural
Word Embedding as Implicit Matrix Factorization", NeurIPS 2014). The score is Spearman's ρ
between that and the cosine of the word vectors over all probe pairs, for the trained vectors
and for random ones (ρ ≈ 0); the trained ones must win. The same probe with PPMI counted on the
held-out last 10% is reported beside it.
"""
from __future__ import annotations

import math
import os
import time
from dataclasses import dataclass

import numpy as np

from .. import from_numpy, manual_seed, optim, save
from ..data.datasets.tiny_shakespeare import split_text, tiny_shakespeare_text
from ..data.tokenizers import WordTokenizer
from ..models.sequence.word2vec import (NoiseSampler, Word2Vec, analogy, cbow_windows,
                                        nearest_neighbours, skipgram_pairs,
                                        subsample_keep_prob, unigram_noise)
from . import Recipe
from .classify import run_dir, write_json
from .config import RunConfig

WORDS = r"[^\W\d_]+(?:'[^\W\d_]+)*"
QUERIES = ["king", "love", "death", "good", "lord", "night", "sweet", "blood"]
ANALOGIES = [("king", "man", "woman"), ("father", "man", "woman"), ("he", "his", "her"),
             ("brother", "he", "she"), ("lord", "man", "woman")]


@dataclass
class Config(RunConfig):
    model: str = "skipgram"      # skipgram | cbow
    loss: str = "negative"       # negative (sampling) | softmax (full)
    dim: int = 100
    window: int = 5              # largest distance of a context word
    negatives: int = 5           # noise words per pair
    min_count: int = 5           # rarer words leave the vocabulary and the stream
    subsample: float = 1e-4      # t of the keep probability min(1, sqrt(t / f(w))); 0: off
    epochs: int = 5
    batch_size: int = 4096
    optimizer: str = "adam"      # adam | sgd
    lr: float = 0.01             # decayed linearly to 0 (SGD: per pair, as in Mikolov's code)
    probe_words: int = 500       # most frequent words in the similarity probe
    max_words: int = 0           # train on the first N words only (0: all)


def load_words(cfg):
    """(tokenizer, training ids, held-out ids): in-vocabulary word ids of the 90/10 split."""
    train_text, val_text = split_text(tiny_shakespeare_text(cfg.data_root))
    tok = WordTokenizer.train(train_text, min_freq=cfg.min_count, pattern=WORDS, pad_token=None,
                              cls_token=None, sep_token=None, mask_token=None)
    ids = [np.asarray(tok.encode(t), dtype=np.int64) for t in (train_text, val_text)]
    train, val = (x[x != tok.unk_id] for x in ids)
    if cfg.max_words:
        train = train[:cfg.max_words]
    return tok, train, val


def epoch_batches(cfg, stream, keep, rng):
    """The shuffled training examples of one epoch, as lists of arrays, in batches."""
    kept = stream[rng.random(len(stream)) < keep[stream]]
    if cfg.model == "skipgram":
        arrays = skipgram_pairs(kept, cfg.window, rng)
    else:
        contexts, mask, centres = cbow_windows(kept, cfg.window, rng)
        arrays = (contexts, centres, mask)
    order = rng.permutation(len(arrays[0]))
    for start in range(0, len(order), cfg.batch_size):
        idx = order[start:start + cfg.batch_size]
        yield [a[idx] for a in arrays]


def train(cfg, model, stream, counts, rng):
    """Trains ``model`` in place; returns the mean loss of each epoch."""
    keep = subsample_keep_prob(counts, cfg.subsample) if cfg.subsample > 0 else np.ones(len(counts))
    noise = NoiseSampler(unigram_noise(counts), rng)
    params = list(model.parameters())
    if cfg.optimizer == "adam":
        opt = optim.Adam(params, lr=cfg.lr)
    elif cfg.optimizer == "sgd":
        opt = optim.SGD(params, lr=cfg.lr)
    else:
        raise ValueError(f"--optimizer: expected adam or sgd, got {cfg.optimizer!r}")
    expected = keep[stream].sum() * (cfg.window + 1 if cfg.model == "skipgram" else 1)
    total_steps = max(1, cfg.epochs * math.ceil(expected / cfg.batch_size))
    per_pair = cfg.optimizer == "sgd"   # SGD steps on the summed loss: lr is Mikolov's per pair
    step, history = 0, []
    for epoch in range(cfg.epochs):
        start, losses = time.perf_counter(), []
        for batch in epoch_batches(cfg, stream, keep, rng):
            inputs, targets = from_numpy(batch[0]), from_numpy(batch[1])
            mask = from_numpy(batch[2]) if cfg.model == "cbow" else None
            negatives = (from_numpy(noise((len(batch[1]), cfg.negatives)))
                         if cfg.loss == "negative" else None)
            for group in opt.param_groups:
                group["lr"] = cfg.lr * max(1.0 - step / total_steps, 1e-3)
            loss = model(inputs, targets, negatives, mask)
            opt.zero_grad()
            (loss * len(batch[1]) if per_pair else loss).backward()
            opt.step()
            losses.append(loss.item())
            step += 1
        history.append(float(np.mean(losses)))
        print(f"epoch {epoch + 1}/{cfg.epochs}: loss {history[-1]:.4f} ({len(losses)} steps, "
              f"{time.perf_counter() - start:.1f}s)")
    return history


def ppmi_rows(stream, rows, vocab_size, window):
    """PPMI vectors (len(rows), vocab_size) of the words ``rows`` from symmetric windows."""
    row_of = np.full(vocab_size, -1)
    row_of[rows] = np.arange(len(rows))
    joint = np.zeros(len(rows) * vocab_size)
    marginal, total = np.zeros(vocab_size), 0
    for d in range(1, window + 1):
        for a, b in ((stream[:-d], stream[d:]), (stream[d:], stream[:-d])):
            marginal += np.bincount(a, minlength=vocab_size)
            total += len(a)
            r = row_of[a]
            sel = r >= 0
            joint += np.bincount(r[sel] * vocab_size + b[sel], minlength=joint.size)
    joint = joint.reshape(len(rows), vocab_size)
    marginal = np.maximum(marginal, 1)
    with np.errstate(divide="ignore"):
        pmi = np.log(joint * total / np.outer(marginal[rows], marginal))
    return np.maximum(pmi, 0.0)


def _pair_cosines(x):
    x = x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)
    return (x @ x.T)[np.triu_indices(len(x), 1)]


def similarity_probe(embeddings, truth_vectors, rows):
    """Spearman's ρ between embedding cosines and ground-truth cosines over all word pairs."""
    from scipy.stats import spearmanr
    return float(spearmanr(_pair_cosines(embeddings[rows]), _pair_cosines(truth_vectors))[0])


def _words(tok, ids):
    return [tok.id_to_token(int(i)) for i in ids]


def run(cfg):
    start = time.perf_counter()
    if cfg.model not in ("skipgram", "cbow") or cfg.loss not in ("negative", "softmax"):
        raise ValueError(f"word2vec: --model must be skipgram or cbow and --loss negative or "
                         f"softmax, got {cfg.model!r} and {cfg.loss!r}")
    manual_seed(cfg.seed)
    rng = np.random.default_rng(cfg.seed)
    out = run_dir("word2vec", cfg)
    tok, stream, held_out = load_words(cfg)
    counts = np.bincount(stream, minlength=tok.vocab_size).astype(np.float64)
    print(f"word2vec: {cfg.model} with {cfg.loss} loss, {len(stream):,} training words, "
          f"vocabulary {tok.vocab_size:,} (min count {cfg.min_count})")
    model = Word2Vec(tok.vocab_size, cfg.dim, cfg.model)
    history = train(cfg, model, stream, counts, rng)

    trained = model.embeddings.detach().numpy()
    random = np.random.default_rng(cfg.seed + 1).standard_normal(trained.shape)
    rows = np.argsort(-counts, kind="stable")[:cfg.probe_words]
    rows = rows[counts[rows] > 0]
    truth = ppmi_rows(stream, rows, tok.vocab_size, cfg.window)
    truth_held_out = ppmi_rows(held_out, rows, tok.vocab_size, cfg.window)
    probe = {"trained": similarity_probe(trained, truth, rows),
             "random": similarity_probe(random, truth, rows),
             "trained_held_out_ppmi": similarity_probe(trained, truth_held_out, rows),
             "random_held_out_ppmi": similarity_probe(random, truth_held_out, rows)}

    neighbours, analogies = {}, {}
    weight = model.embeddings
    for w in [q for q in QUERIES if q in tok._stoi]:
        i = tok.token_to_id(w)
        _, ids = nearest_neighbours(weight, weight[i], 8, exclude=[i])
        neighbours[w] = _words(tok, ids.tolist())
        print(f"  {w:>6}: {' '.join(neighbours[w])}")
    for a, b, c in [q for q in ANALOGIES if all(w in tok._stoi for w in q)]:
        _, ids = analogy(weight, tok.token_to_id(a), tok.token_to_id(b), tok.token_to_id(c), 3)
        analogies[f"{a} - {b} + {c}"] = _words(tok, ids[0].tolist())
        print(f"  {a} - {b} + {c} = {', '.join(analogies[f'{a} - {b} + {c}'])}")
    print(f"similarity probe over the {len(rows)} most frequent words (Spearman ρ against PPMI "
          f"cosine): trained {probe['trained']:.3f}, random {probe['random']:.3f}; "
          f"PPMI of the held-out text: trained {probe['trained_held_out_ppmi']:.3f}, "
          f"random {probe['random_held_out_ppmi']:.3f}")

    save(model.state_dict(), os.path.join(out, "word2vec.safetensors"))
    tok.save(os.path.join(out, "tokenizer.json"))
    results = {"recipe": "word2vec", "model": cfg.model, "loss": cfg.loss, "dim": cfg.dim,
               "window": cfg.window, "epochs": cfg.epochs, "vocab_size": tok.vocab_size,
               "training_words": int(len(stream)), "loss_per_epoch": history,
               "probe_words": int(len(rows)), "spearman": probe,
               "trained_beats_random": probe["trained"] > probe["random"],
               "neighbours": neighbours, "analogies": analogies,
               "wall_seconds": round(time.perf_counter() - start, 2)}
    write_json(os.path.join(out, "results.json"), results)
    return results


RECIPE = Recipe("word2vec", "skip-gram / CBOW word embeddings with negative sampling or the full "
                "softmax on tiny Shakespeare words",
                "word-similarity probe (Spearman ρ vs PPMI co-occurrence): trained > random",
                Config, run,
                quick=dict(epochs=1, dim=32, max_words=40000, batch_size=1024, probe_words=150,
                           progress=False))
