"""Masked language modelling inputs, as in BERT (notes 003 "BERT - Mask LLM", 002 L149).

J. Devlin, M.-W. Chang, K. Lee, K. Toutanova, "BERT: Pre-training of Deep Bidirectional
Transformers for Language Understanding", NAACL 2019, §3.1: each non-special token is selected
for prediction with probability p = 15%; a selected token is then replaced

    by [MASK]            with probability 80%,
    by a random token    with probability 10%,
    kept unchanged       with probability 10%,

and the loss is the cross-entropy of the original token at the selected positions only:

    L = −(1/|S|) Σ_{i∈S} log p(x_i | x̃),   S the selected positions, x̃ the corrupted sequence.

Labels hold the original id at selected positions and ``ignore_index`` = −100 elsewhere, so
``F.cross_entropy(logits.flatten(0, 1), labels.flatten())`` is exactly L. The encoder does not
know which tokens it will be asked for (a kept or randomised token looks like any other), so it
must build a contextual representation of every token. Random replacements are drawn uniformly
from the non-special tokens of the vocabulary (the original draws from the whole vocabulary;
drawing a [PAD] or [CLS] there only adds noise).
"""
from __future__ import annotations

import numpy as np

from .._tensor import Tensor
from ..ops.random import numpy_generator

__all__ = ["mask_tokens", "IGNORE_INDEX"]

IGNORE_INDEX = -100


def mask_tokens(input_ids, vocab_size, mask_id, special_ids=(), mlm_probability=0.15,
                mask_fraction=0.8, random_fraction=0.1, generator=None):
    """``(inputs, labels)`` int64 Tensors of ``input_ids``' shape: the corrupted ids and the
    prediction targets (original id where selected, −100 elsewhere). ``special_ids`` (e.g.
    [PAD], [CLS], [SEP], [MASK], [UNK]) are never selected nor drawn as random tokens."""
    if not 0 <= mlm_probability <= 1:
        raise ValueError(f"mask_tokens: mlm_probability must be in [0, 1], got {mlm_probability}")
    if mask_fraction < 0 or random_fraction < 0 or mask_fraction + random_fraction > 1:
        raise ValueError(f"mask_tokens: need mask_fraction, random_fraction >= 0 with sum <= 1, "
                         f"got {mask_fraction} and {random_fraction}")
    ids = input_ids.numpy() if isinstance(input_ids, Tensor) else np.asarray(input_ids)
    if ids.dtype.kind not in "iu":
        raise TypeError(f"mask_tokens: input_ids must be integer token ids, got {ids.dtype}")
    special = np.unique(np.asarray(list(special_ids) + [mask_id], dtype=np.int64))
    ordinary = np.setdiff1d(np.arange(vocab_size), special)
    if ordinary.size == 0:
        raise ValueError(f"mask_tokens: all {vocab_size} ids are special tokens")
    rng = numpy_generator(generator)
    selected = (rng.random(ids.shape) < mlm_probability) & ~np.isin(ids, special)
    u = rng.random(ids.shape)                      # one draw decides mask / random / keep
    to_mask = selected & (u < mask_fraction)
    to_random = selected & (u >= mask_fraction) & (u < mask_fraction + random_fraction)
    inputs = ids.astype(np.int64, copy=True)
    inputs[to_mask] = mask_id
    inputs[to_random] = ordinary[rng.integers(0, ordinary.size, int(to_random.sum()))]
    labels = np.where(selected, ids, IGNORE_INDEX).astype(np.int64)
    return Tensor._make(inputs), Tensor._make(labels)
