"""Generated toy sequence tasks for recurrent classifiers (notes 002, "Recurrent Neural Networks").

The notes motivate RNNs with inputs of different lengths and two tasks:

- **Counting zeros.** The loop ``h = 0; for x_i in x: if x_i == 0: h = h + 1`` is a recurrence
  h_t = f(h_{t−1}, x_t) with f(h, x) = h + [x = 0]; an RNN learns f from data,
  h_t = σ(W h_{t−1} + U x_t + b), and reads the answer from the last state: ŷ = softmax(V h_T).
  Here a sequence of T ∈ [min_len, max_len] digits drawn uniformly from {0, …, num_symbols−1}
  is labelled with its number of zeros, a class in {0, …, max_len}.
- **Sentiment.** Classify a sentence as negative (0) or positive (1). Sentences are made of
  neutral filler words and an odd number k ∈ {1, 3} of sentiment words, each with polarity
  s = +1 (positive word) or −1 (negative word); a negation word ("not", "never") directly before
  a sentiment word flips it: s ← −s. The label is [Σ s > 0]; k is odd, so the sum is never 0.
  A model must therefore read word order (a bag of words cannot tell "not good … bad" from
  "good … not bad").

Both are seeded (``seed`` or a ``nablagrad.Generator``): the same arguments give the same data.
A dataset item is ``(tokens, length, target)`` with ``tokens`` padded with ``pad_id`` to
``max_len``; a batch (``get_batch``, the DataLoader's fast path) is cut to its longest sequence.
"""
from __future__ import annotations

import numpy as np

from ..._tensor import Tensor
from ...ops.random import numpy_generator
from ..dataset import Dataset

__all__ = ["SequenceTask", "count_zeros", "sentiment", "sentiment_label",
           "SENTIMENT_POSITIVE", "SENTIMENT_NEGATIVE", "SENTIMENT_NEGATIONS", "SENTIMENT_NEUTRAL"]

SENTIMENT_POSITIVE = ("good", "great", "excellent", "wonderful", "brilliant", "enjoyable",
                      "superb", "delightful", "fun", "moving")
SENTIMENT_NEGATIVE = ("bad", "awful", "terrible", "boring", "dull", "poor", "horrible", "weak",
                      "tedious", "disappointing")
SENTIMENT_NEGATIONS = ("not", "never")
SENTIMENT_NEUTRAL = ("the", "movie", "film", "plot", "acting", "was", "is", "and", "a", "story",
                     "actors", "ending", "music", "really", "quite", "this", "it", "with",
                     "script", "scenes")


class SequenceTask(Dataset):
    """Variable-length token sequences with one class label each.

    ``tokens``: int64 (n, max_len) padded with ``pad_id``; ``lengths``: int64 (n,);
    ``targets``: int64 (n,); ``vocab``: the token strings (``vocab[pad_id] == "<pad>"``);
    ``num_classes``: the number of labels."""

    def __init__(self, tokens, lengths, targets, vocab, num_classes, name):
        self.tokens, self.lengths, self.targets = tokens, lengths, targets
        self.vocab, self.num_classes, self.name = list(vocab), num_classes, name
        self.pad_id = self.vocab.index("<pad>")

    def __len__(self):
        return len(self.targets)

    def __getitem__(self, index):
        return (Tensor._make(self.tokens[index]), Tensor._make(self.lengths[index]),
                Tensor._make(self.targets[index]))

    def get_batch(self, indices):
        """``(tokens (B, T), lengths (B,), targets (B,))`` with T the longest length in the
        batch."""
        indices = np.asarray(indices)
        lengths = self.lengths[indices]
        width = int(lengths.max()) if len(lengths) else 0
        return (Tensor._make(np.ascontiguousarray(self.tokens[indices, :width])),
                Tensor._make(lengths), Tensor._make(self.targets[indices]))

    @property
    def vocab_size(self):
        return len(self.vocab)

    def decode(self, index) -> str:
        """The sequence ``index`` as text, e.g. ``"3 0 7 0"`` or ``"the film was not good"``."""
        row = self.tokens[index, :self.lengths[index]]
        return " ".join(self.vocab[int(t)] for t in row)


def _check(name, n, min_len, max_len):
    if n < 1:
        raise ValueError(f"{name}: n must be >= 1, got {n}")
    if not 1 <= min_len <= max_len:
        raise ValueError(f"{name}: need 1 <= min_len <= max_len, got min_len={min_len}, "
                         f"max_len={max_len}")


def _pad(rows, max_len, pad_id):
    tokens = np.full((len(rows), max_len), pad_id, dtype=np.int64)
    for i, row in enumerate(rows):
        tokens[i, :len(row)] = row
    return tokens


def count_zeros(n=1000, min_len=1, max_len=20, num_symbols=10, seed=0, generator=None):
    """``n`` digit sequences (uniform over ``num_symbols`` symbols, lengths uniform in
    [min_len, max_len]) labelled with their number of zeros, a class in {0, …, max_len}.
    Token ids are the digits; ``pad_id == num_symbols``."""
    _check("count_zeros", n, min_len, max_len)
    if num_symbols < 2:
        raise ValueError(f"count_zeros: num_symbols must be >= 2, got {num_symbols}")
    rng = numpy_generator(generator) if generator is not None else np.random.default_rng(seed)
    lengths = rng.integers(min_len, max_len + 1, size=n)
    digits = rng.integers(0, num_symbols, size=(n, max_len))
    valid = np.arange(max_len) < lengths[:, None]
    tokens = np.where(valid, digits, num_symbols).astype(np.int64)
    targets = ((digits == 0) & valid).sum(1).astype(np.int64)
    vocab = [str(d) for d in range(num_symbols)] + ["<pad>"]
    return SequenceTask(tokens, lengths.astype(np.int64), targets, vocab, max_len + 1,
                        "count-zeros")


def sentiment_label(words) -> int:
    """1 if the sentence is positive under the task's rule (sum of polarities, each flipped by
    a negation directly before it, is > 0), else 0."""
    score, previous = 0, None
    for word in words:
        polarity = (word in SENTIMENT_POSITIVE) - (word in SENTIMENT_NEGATIVE)
        if polarity and previous in SENTIMENT_NEGATIONS:
            polarity = -polarity
        score += polarity
        previous = word
    return int(score > 0)


def _sentence(rng, length, negation_p):
    """One sentence of ``length`` words (length >= 6 leaves room for 3 negated words)."""
    k = 3 if length >= 6 and rng.random() < 0.5 else 1
    units = []
    for _ in range(k):
        bank = SENTIMENT_POSITIVE if rng.random() < 0.5 else SENTIMENT_NEGATIVE
        unit = [bank[rng.integers(len(bank))]]
        if rng.random() < negation_p:
            unit.insert(0, SENTIMENT_NEGATIONS[rng.integers(len(SENTIMENT_NEGATIONS))])
        units.append(unit)
    fill = length - sum(map(len, units))
    pieces = units + [[SENTIMENT_NEUTRAL[i]] for i in rng.integers(len(SENTIMENT_NEUTRAL),
                                                                   size=fill)]
    order = rng.permutation(len(pieces))
    return [w for i in order for w in pieces[i]]


def sentiment(n=1000, min_len=4, max_len=16, negation_p=0.4, seed=0, generator=None):
    """``n`` generated sentences of ``min_len``..``max_len`` words (a negated word counts as two)
    with binary sentiment labels (see the module docstring). Token id 0 is ``"<pad>"``."""
    _check("sentiment", n, min_len, max_len)
    if min_len < 2:
        raise ValueError(f"sentiment: min_len must be >= 2 (room for a negated word), "
                         f"got {min_len}")
    rng = numpy_generator(generator) if generator is not None else np.random.default_rng(seed)
    vocab = ["<pad>", *SENTIMENT_NEGATIONS, *SENTIMENT_POSITIVE, *SENTIMENT_NEGATIVE,
             *SENTIMENT_NEUTRAL]
    stoi = {w: i for i, w in enumerate(vocab)}
    lengths = rng.integers(min_len, max_len + 1, size=n)
    sentences = [_sentence(rng, int(length), negation_p) for length in lengths]
    targets = np.array([sentiment_label(s) for s in sentences], dtype=np.int64)
    tokens = _pad([[stoi[w] for w in s] for s in sentences], max_len, 0)
    return SequenceTask(tokens, lengths.astype(np.int64), targets, vocab, 2, "sentiment")
