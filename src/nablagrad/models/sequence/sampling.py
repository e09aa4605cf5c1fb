"""Decoding a language model: sampling the next token with temperature, top-k and nucleus (top-p)
filtering, and autoregressive generation with a KV cache (notes 003 "GPT"; the temperature is
the notes' 001 softmax temperature, applied to the logits as in ERRATA X19).

For logits z over the vocabulary the next token is drawn from

    p_i ∝ exp(z_i / τ)            over the kept set S, 0 outside it,

τ > 0 the temperature (τ → 0: greedy argmax; τ = 1: the model's distribution; τ > 1: flatter).
S is every token, or
* top-k: the k tokens of largest logit (A. Fan, M. Lewis, Y. Dauphin, "Hierarchical Neural Story
  Generation", ACL 2018);
* top-p (nucleus): the smallest set of most probable tokens whose probability mass is ≥ p
  (A. Holtzman, J. Buys, L. Du, M. Forbes, Y. Choi, "The Curious Case of Neural Text
  Degeneration", 2019; ICLR 2020);
both: top-k first, then top-p on the renormalised survivors. Ties are broken by token id (the
lower id ranks first), so exactly k tokens survive top-k and the nucleus is always a smallest set.
"""
from __future__ import annotations

import math

from ...autograd import no_grad
from ...nn import functional as F
from ...ops.creation import arange, zeros_like
from ...ops.random import multinomial
from ...ops.reduce import sort
from ...ops.shape import cat


def _descending(logits):
    """Values and indices of ``logits`` sorted from largest to smallest along the last dim, equal
    values in order of token id."""
    neg, order = sort(-logits, dim=-1, stable=True)
    return -neg, order


def _keep(logits, order, count):
    """``logits`` with all but the first ``count`` tokens of ``order`` set to −∞; ``count`` is an
    int or an int64 tensor (…, 1)."""
    ranks = arange(order.shape[-1], device=order.device).expand(order.shape)
    rank = zeros_like(order).scatter(-1, order, ranks)       # each token's place in the order
    return logits.masked_fill(rank >= count, -math.inf)


def top_k_filter(logits, k):
    """Keep the ``k`` largest logits of each row (last dim), set the rest to −∞."""
    if not 1 <= k:
        raise ValueError(f"top_k_filter: k must be >= 1, got {k}")
    if k >= logits.shape[-1]:
        return logits
    _, order = _descending(logits)
    return _keep(logits, order, k)


def top_p_filter(logits, p):
    """Keep the smallest set of most probable tokens whose softmax mass is ≥ ``p`` (at least
    one token), set the rest to −∞. Masses are summed in float64."""
    if not 0 < p <= 1:
        raise ValueError(f"top_p_filter: p must be in (0, 1], got {p}")
    values, order = _descending(logits)
    probs = F.softmax(values.double(), dim=-1)
    mass_before = probs.cumsum(-1) - probs           # mass of the better-ranked tokens
    count = (mass_before < p).sum(-1, keepdim=True)  # tokens needed to reach p
    return _keep(logits, order, count)


def filter_logits(logits, temperature=1.0, top_k=None, top_p=None):
    """logits / τ, then top-k, then top-p filtering (each only if given)."""
    if temperature <= 0:
        raise ValueError(f"filter_logits: temperature must be > 0, got {temperature} (use "
                         f"temperature=0 in sample_next for greedy decoding)")
    logits = logits / temperature
    if top_k is not None:
        logits = top_k_filter(logits, top_k)
    if top_p is not None:
        logits = top_p_filter(logits, top_p)
    return logits


def sample_next(logits, temperature=1.0, top_k=None, top_p=None, generator=None):
    """One token id per row of ``logits`` (B, V), as an int64 tensor (B, 1); temperature 0 takes
    the argmax (greedy decoding)."""
    if temperature == 0:
        return logits.argmax(-1, keepdim=True)
    probs = F.softmax(filter_logits(logits, temperature, top_k, top_p), dim=-1)
    return multinomial(probs, 1, replacement=True, generator=generator)


def generate(model, idx, max_new_tokens, temperature=1.0, top_k=None, top_p=None,
             generator=None, use_cache=True):
    """Extend ``idx`` (B, T) by ``max_new_tokens`` sampled tokens; returns (B, T + new).

    The model sees at most its ``config.block_size`` latest tokens. With ``use_cache`` (a
    ``model.new_cache()`` KV cache) each step feeds only the new token; when the window is full,
    the cache is rebuilt from the latest block_size/2 tokens (the context shrinks to half a
    window and grows again), so a step never costs a full re-run. Without the cache every step
    re-runs the model on the latest block_size tokens. The model is put in eval mode for the
    call and restored after."""
    block = model.config.block_size
    was_training = model.training
    model.eval()
    try:
        with no_grad():
            cache, fed = model.new_cache(), idx[:, -block:]
            for _ in range(max_new_tokens):
                if use_cache:
                    if cache.length + fed.shape[1] > block:      # window full: rebuild
                        cache, fed = model.new_cache(), idx[:, -max(block // 2, 1):]
                    logits, _ = model(fed, cache=cache)
                else:
                    logits, _ = model(idx[:, -block:])
                nxt = sample_next(logits[:, -1, :], temperature, top_k, top_p, generator)
                idx = cat([idx, nxt], dim=1)
                fed = nxt
    finally:
        model.train(was_training)
    return idx
