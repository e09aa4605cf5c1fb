"""word2vec: CBOW and skip-gram word embeddings (notes 000, "Word Embedding"; 003, "Word2Vec";
ERRATA X11).

T. Mikolov, K. Chen, G. Corrado, J. Dean, "Efficient Estimation of Word Representations in Vector
Space", 2013, and T. Mikolov, I. Sutskever, K. Chen, G. Corrado, J. Dean, "Distributed
Representations of Words and Phrases and their Compositionality", NeurIPS 2013.

Every word w has an input vector v_w (``in_embed``, the embedding one keeps) and an output vector
u_w (``out_embed``). From a window (w_-k … w_-1 c w_1 … w_k) around a centre word c:

- skip-gram predicts each context word from the centre, h = v_c and
  p(w_i | c) = exp(u_{w_i}ᵀ h) / Σ_{w'} exp(u_{w'}ᵀ h);
- CBOW predicts the centre from the mean of the context vectors (the paper's form, ERRATA X11:
  one softmax over h = v̄ = (1/2k) Σ_i v_{w_i}, not a product of one softmax per context word),
  p(c | context) = exp(u_cᵀ h) / Σ_{w'} exp(u_{w'}ᵀ h).

The full softmax costs O(|V|) per prediction; its loss is the cross-entropy −log p(o | h) with
gradient ∂/∂h = Σ_w p(w|h) u_w − u_o. Negative sampling replaces it by a logistic loss that tells
the observed word o from k words drawn from the noise distribution P_n(w) ∝ count(w)^{3/4}:

    L = −log σ(u_oᵀ h) − Σ_{j=1..k} log σ(−u_{n_j}ᵀ h),
    ∂L/∂h = (σ(u_oᵀ h) − 1) u_o + Σ_j σ(u_{n_j}ᵀ h) u_{n_j}.

Frequent words are subsampled: each occurrence of w is kept with probability
min(1, sqrt(t / f(w))), f(w) its relative frequency (the paper's discard probability
1 − sqrt(t / f(w)), t ≈ 1e-5 for corpora of billions of words; a larger t for small ones).

The queries of notes 003: nearest neighbours by cosine similarity cos(x, y) = xᵀy / (‖x‖‖y‖),
and analogies "a is to b as c is to ?" answered by the word closest to v_a − v_b + v_c (so
king − man + woman ≈ queen), excluding a, b and c themselves.
"""
from __future__ import annotations

import numpy as np

from ... import nn, no_grad
from ...ops.creation import from_numpy, tensor
from ...nn import functional as F

__all__ = ["Word2Vec", "negative_sampling_loss", "unigram_noise", "NoiseSampler",
           "subsample_keep_prob", "skipgram_pairs", "cbow_windows", "nearest_neighbours",
           "analogy"]


# ---------------------------------------------------------------- losses and the model

def negative_sampling_loss(h, u_pos, u_neg, reduction="mean"):
    """−log σ(u_posᵀ h) − Σ_j log σ(−u_neg[j]ᵀ h) per row; h, u_pos: (B, d), u_neg: (B, k, d)."""
    if h.ndim != 2 or u_pos.shape != h.shape or u_neg.ndim != 3 or \
            u_neg.shape[0] != h.shape[0] or u_neg.shape[2] != h.shape[1]:
        raise ValueError(f"negative_sampling_loss: expected h (B, d), u_pos (B, d), u_neg "
                         f"(B, k, d); got {tuple(h.shape)}, {tuple(u_pos.shape)}, "
                         f"{tuple(u_neg.shape)}")
    pos = (h * u_pos).sum(-1)                                  # (B,)
    neg = (u_neg * h.unsqueeze(1)).sum(-1)                     # (B, k): faster than bmm here
    loss = -(F.logsigmoid(pos) + F.logsigmoid(-neg).sum(-1))
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    if reduction == "none":
        return loss
    raise ValueError(f"negative_sampling_loss: reduction must be 'mean', 'sum' or 'none', "
                     f"got {reduction!r}")


def _rows(table, ids):
    """table[ids] for an (V, d) table and ids of any shape. ``index_select``'s backward adds rows
    up with one sparse product, several times faster than ``F.embedding``'s ``add.at`` today."""
    return table.index_select(0, ids.reshape(-1)).reshape(*ids.shape, table.shape[1])


class Word2Vec(nn.Module):
    """Input vectors ``in_embed`` (v) and output vectors ``out_embed`` (u) for ``num_words``
    words. ``model``: "skipgram" or "cbow". As in Mikolov's code, v starts uniform in
    ±0.5/dim and u at zero.

    ``forward(inputs, targets, negatives=None, mask=None)`` returns the mean loss:
    skip-gram: ``inputs`` (B,) centre ids; CBOW: ``inputs`` (B, C) context ids with an optional
    ``mask`` (B, C) of the valid slots (context near the corpus ends or outside a shrunk window);
    ``targets`` (B,) the words to predict; ``negatives`` (B, k) noise ids for negative
    sampling, or None for the full softmax."""

    def __init__(self, num_words, embedding_dim=100, model="skipgram"):
        super().__init__()
        if model not in ("skipgram", "cbow"):
            raise ValueError(f"Word2Vec: model must be 'skipgram' or 'cbow', got {model!r}")
        self.model = model
        self.in_embed = nn.Embedding(num_words, embedding_dim)
        self.out_embed = nn.Embedding(num_words, embedding_dim)
        with no_grad():
            nn.init.uniform_(self.in_embed.weight, -0.5 / embedding_dim, 0.5 / embedding_dim)
            nn.init.zeros_(self.out_embed.weight)

    def hidden(self, inputs, mask=None):
        """h: v_c (skip-gram), or the mean of the valid context vectors (CBOW)."""
        if self.model == "skipgram":
            if inputs.ndim != 1:
                raise ValueError(f"Word2Vec(skipgram): expected centre ids of shape (B,), got "
                                 f"{tuple(inputs.shape)}")
            return _rows(self.in_embed.weight, inputs)
        if inputs.ndim != 2:
            raise ValueError(f"Word2Vec(cbow): expected context ids of shape (B, C), got "
                             f"{tuple(inputs.shape)}")
        vectors = _rows(self.in_embed.weight, inputs)           # (B, C, d)
        if mask is None:
            return vectors.mean(1)
        if tuple(mask.shape) != tuple(inputs.shape):
            raise ValueError(f"Word2Vec(cbow): mask shape {tuple(mask.shape)} differs from the "
                             f"context shape {tuple(inputs.shape)}")
        m = mask.to(vectors.dtype)
        return (vectors * m.unsqueeze(-1)).sum(1) / m.sum(1, keepdim=True).clamp(min=1.0)

    def forward(self, inputs, targets, negatives=None, mask=None):
        h = self.hidden(inputs, mask)
        if negatives is None:                                   # full softmax over the vocabulary
            return F.cross_entropy(h @ self.out_embed.weight.T, targets)
        u = self.out_embed.weight
        return negative_sampling_loss(h, _rows(u, targets), _rows(u, negatives))

    @property
    def embeddings(self):
        """The word vectors v (``in_embed.weight``), shape (num_words, dim)."""
        return self.in_embed.weight


# ---------------------------------------------------------------- data: noise, subsampling, windows

def unigram_noise(counts, power=0.75):
    """P_n(w) = count(w)^power / Σ count^power, as a float64 array."""
    p = np.asarray(counts, dtype=np.float64) ** power
    if p.ndim != 1 or not p.sum() > 0:
        raise ValueError("unigram_noise: expected a 1-D array of counts with a positive sum")
    return p / p.sum()


class NoiseSampler:
    """Draws noise word ids from a distribution ``probs`` by inverting its cumulative sum."""

    def __init__(self, probs, rng):
        self.cdf = np.cumsum(probs)
        self.cdf /= self.cdf[-1]
        self.rng = rng

    def __call__(self, shape):
        idx = np.searchsorted(self.cdf, self.rng.random(shape), side="right")
        return np.minimum(idx, len(self.cdf) - 1).astype(np.int64)


def subsample_keep_prob(counts, t=1e-5):
    """P(keep an occurrence of w) = min(1, sqrt(t / f(w))), f(w) = count(w) / Σ counts."""
    counts = np.asarray(counts, dtype=np.float64)
    f = counts / counts.sum()
    with np.errstate(divide="ignore"):
        return np.minimum(1.0, np.sqrt(t / f))


def _reduced_windows(n, window, rng, dynamic):
    """Per position, the window actually used: uniform in 1..window (Mikolov's dynamic window,
    which weights a context word at distance d by (window − d + 1) / window), or ``window``."""
    if dynamic:
        return rng.integers(1, window + 1, size=n)
    return np.full(n, window)


def skipgram_pairs(ids, window, rng, dynamic=True):
    """All (centre, context) pairs of the sequence ``ids`` within the (reduced) window, as two
    int64 arrays, built offset by offset without a Python loop over positions."""
    ids = np.asarray(ids, dtype=np.int64)
    reach = _reduced_windows(len(ids), window, rng, dynamic)
    centres, contexts = [], []
    for d in range(1, window + 1):
        left = np.nonzero(reach[d:] >= d)[0] + d               # centre i, context i − d
        right = np.nonzero(reach[:-d] >= d)[0]                  # centre i, context i + d
        centres += [ids[left], ids[right]]
        contexts += [ids[left - d], ids[right + d]]
    return np.concatenate(centres), np.concatenate(contexts)


def cbow_windows(ids, window, rng, dynamic=True):
    """(contexts (N, 2·window), mask (N, 2·window), centres (N,)) for every position of
    ``ids`` with at least one context word; masked slots hold id 0."""
    ids = np.asarray(ids, dtype=np.int64)
    n = len(ids)
    reach = _reduced_windows(n, window, rng, dynamic)
    offsets = np.concatenate([np.arange(-window, 0), np.arange(1, window + 1)])
    pos = np.arange(n)[:, None] + offsets                       # (n, 2w)
    mask = (pos >= 0) & (pos < n) & (np.abs(offsets) <= reach[:, None])
    contexts = np.where(mask, ids[np.clip(pos, 0, n - 1)], 0)
    keep = mask.any(1)
    return contexts[keep], mask[keep], ids[keep]


# ---------------------------------------------------------------- queries

def _unit_rows(embeddings):
    return F.normalize(embeddings.detach(), dim=-1)


def nearest_neighbours(embeddings, query, k=5, exclude=None):
    """The ``k`` rows of ``embeddings`` (V, d) most cosine-similar to each query vector
    (``query`` (Q, d) or (d,)); ``exclude`` lists, per query, ids to leave out (or one list for
    all). Returns (similarities, ids), each (Q, k) (or (k,) for one query)."""
    with no_grad():
        single = query.ndim == 1
        q = _unit_rows(query.reshape(1, -1) if single else query)
        scores = q @ _unit_rows(embeddings).T                   # (Q, V) cosines
        if exclude is not None:
            rows = [exclude] * len(q) if single or np.ndim(exclude[0]) == 0 else exclude
            mask = np.zeros(tuple(scores.shape), dtype=bool)
            for r, ids in enumerate(rows):
                mask[r, list(ids)] = True
            scores = scores.masked_fill(from_numpy(mask), float("-inf"))
        values, indices = scores.topk(k, dim=-1)
    return (values[0], indices[0]) if single else (values, indices)


def analogy(embeddings, a, b, c, k=1):
    """The ``k`` words nearest to v̂_a − v̂_b + v̂_c (unit vectors; a, b and c excluded), for ids
    or id lists a, b, c: a=king, b=man, c=woman asks "man is to king as woman is to ?".
    Returns (similarities, ids), each (Q, k)."""
    a, b, c = (np.atleast_1d(np.asarray(x, dtype=np.int64)) for x in (a, b, c))
    with no_grad():
        unit = _unit_rows(embeddings)
        target = unit[tensor(a)] - unit[tensor(b)] + unit[tensor(c)]
    return nearest_neighbours(embeddings, target, k,
                              exclude=[[x, y, z] for x, y, z in zip(a, b, c)])
