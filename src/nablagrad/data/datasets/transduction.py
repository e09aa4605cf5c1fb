"""Generated transduction tasks for sequence-to-sequence models (notes 004 §5 "Seq2Seq" and §12.1;
Bahdanau et al. 2015): a source string x₁…x_S is mapped to a target string y₁…y_T, learned as
P(y | x) = Π_t P(y_t | y₁, …, y_{t−1}, x) (ERRATA R14: each factor conditions on the tokens before
it, not on the one it predicts).

- ``dates``: a calendar date written in one of several human formats ("march 3, 1997",
  "3 mar 1997", "monday, march 3, 1997", "03.03.1997", "3/3/1997" = month/day/year, ...) →
  its ISO 8601 form "1997-03-03". Dates are uniform in [1900-01-01, 2099-12-31].
- ``reverse``: a string of digits → the same digits in reverse order.
- ``sort``: a string of digits → the digits in ascending order.

Strings are characters; ``Seq2SeqVocab`` maps them to ids after the special tokens
<pad> = 0, <sos> = 1, <eos> = 2. Targets end with <eos>; the decoder's input is <sos> followed by
the target (teacher forcing).

``transduction_splits`` draws distinct examples and splits them into train/validation/test so that
no test example is seen in training: for ``dates`` whole calendar dates are held out (a test date
appears in no training format); for the digit tasks whole source strings are. Everything is
seeded (``seed`` or a ``nablagrad.Generator``).
"""
from __future__ import annotations

import datetime

import numpy as np

from ..._tensor import Tensor
from ...ops.random import numpy_generator
from ..dataset import Dataset

__all__ = ["Seq2SeqVocab", "TransductionDataset", "transduction_pairs", "transduction_splits",
           "DATE_FORMATS", "TASKS"]

TASKS = ("dates", "reverse", "sort")
MONTHS = ("january", "february", "march", "april", "may", "june", "july", "august", "september",
          "october", "november", "december")
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


def _long_us(d):
    return f"{MONTHS[d.month - 1]} {d.day}, {d.year}"


def _long_eu(d):
    return f"{d.day} {MONTHS[d.month - 1]} {d.year}"


def _short_eu(d):
    return f"{d.day} {MONTHS[d.month - 1][:3]} {d.year}"


def _short_us(d):
    return f"{MONTHS[d.month - 1][:3]} {d.day}, {d.year}"


def _weekday_us(d):
    return f"{WEEKDAYS[d.weekday()]}, {MONTHS[d.month - 1]} {d.day}, {d.year}"


def _weekday_short(d):
    return f"{WEEKDAYS[d.weekday()][:3]} {d.day:02d} {MONTHS[d.month - 1][:3]} {d.year}"


def _dotted(d):
    return f"{d.day:02d}.{d.month:02d}.{d.year}"


def _slashed_us(d):
    return f"{d.month}/{d.day}/{d.year}"


DATE_FORMATS = {"long_us": _long_us, "long_eu": _long_eu, "short_eu": _short_eu,
                "short_us": _short_us, "weekday_us": _weekday_us,
                "weekday_short": _weekday_short, "dotted": _dotted, "slashed_us": _slashed_us}
_FIRST_DAY, _NUM_DAYS = datetime.date(1900, 1, 1), 73049      # through 2099-12-31
DATE_CHARS = "abcdefghijklmnopqrstuvwxyz0123456789 ,-./"
DIGITS = "0123456789"


# ----------------------------------------------------------------------------- vocabulary
class Seq2SeqVocab:
    """Characters as ids after the specials <pad> = 0, <sos> = 1, <eos> = 2."""
    PAD, SOS, EOS = 0, 1, 2
    SPECIALS = ("<pad>", "<sos>", "<eos>")

    def __init__(self, chars):
        self.itos = list(self.SPECIALS) + sorted(set(chars))
        self.stoi = {c: i for i, c in enumerate(self.itos)}

    def __len__(self):
        return len(self.itos)

    def encode(self, text: str, eos=False) -> list[int]:
        """The ids of ``text`` (followed by <eos> if ``eos``); an unknown character raises a
        KeyError naming it."""
        try:
            ids = [self.stoi[c] for c in text]
        except KeyError as e:
            raise KeyError(f"Seq2SeqVocab.encode: character {e.args[0]!r} is not in the "
                           f"vocabulary {''.join(self.itos[3:])!r}") from None
        return ids + [self.EOS] if eos else ids

    def decode(self, ids) -> str:
        """The text of ``ids`` up to the first <eos>, without <pad>/<sos>."""
        if isinstance(ids, Tensor):
            ids = ids.tolist()
        out = []
        for i in ids:
            i = int(i)
            if i == self.EOS:
                break
            if i > self.EOS:
                out.append(self.itos[i])
        return "".join(out)


# ----------------------------------------------------------------------------- generation
def _date_pairs(n, rng, formats):
    """``n`` distinct dates, each written in one random format: [(source, target, date_key)]."""
    if n > _NUM_DAYS:
        raise ValueError(f"transduction 'dates': at most {_NUM_DAYS} distinct dates, asked for {n}")
    days = rng.choice(_NUM_DAYS, size=n, replace=False)
    names = list(formats)
    which = rng.integers(0, len(names), size=n)
    pairs = []
    for day, f in zip(days.tolist(), which.tolist()):
        d = _FIRST_DAY + datetime.timedelta(days=day)
        pairs.append((DATE_FORMATS[names[f]](d), d.isoformat()))
    return pairs


def _digit_pairs(task, n, rng, min_len, max_len):
    """``n`` distinct digit strings of length in [min_len, max_len] and their transforms."""
    if not 1 <= min_len <= max_len:
        raise ValueError(f"transduction {task!r}: need 1 <= min_len <= max_len, got "
                         f"min_len={min_len}, max_len={max_len}")
    capacity = sum(10 ** k for k in range(min_len, max_len + 1))
    if n > capacity // 2:
        raise ValueError(f"transduction {task!r}: {n} distinct strings asked for, but lengths "
                         f"{min_len}..{max_len} allow only {capacity}; use longer strings")
    seen, pairs = set(), []
    while len(pairs) < n:
        m = n - len(pairs)
        lengths = rng.integers(min_len, max_len + 1, size=2 * m)
        digits = rng.integers(0, 10, size=(2 * m, max_len))
        for row, length in zip(digits, lengths):
            src = "".join(DIGITS[d] for d in row[:length])
            if src in seen:
                continue
            seen.add(src)
            tgt = src[::-1] if task == "reverse" else "".join(sorted(src))
            pairs.append((src, tgt))
            if len(pairs) == n:
                break
    return pairs


def transduction_pairs(task, n, seed=None, generator=None, min_len=4, max_len=12, formats=None):
    """``n`` distinct (source, target) string pairs of ``task`` ("dates", "reverse", "sort").

    For dates, ``formats`` picks input formats from ``DATE_FORMATS`` (default: all); for the digit
    tasks, lengths are uniform in [min_len, max_len]. Distinct means distinct dates (dates) or
    distinct source strings (digit tasks), so a split of the list holds out whole examples."""
    if task not in TASKS:
        raise ValueError(f"transduction_pairs: unknown task {task!r}; choose from {TASKS}")
    rng = numpy_generator(generator) if seed is None else np.random.default_rng(seed)
    if task == "dates":
        formats = tuple(DATE_FORMATS) if formats is None else tuple(formats)
        unknown = [f for f in formats if f not in DATE_FORMATS]
        if unknown or not formats:
            raise ValueError(f"transduction_pairs: unknown date formats {unknown}; choose from "
                             f"{tuple(DATE_FORMATS)}")
        return _date_pairs(n, rng, formats)
    return _digit_pairs(task, n, rng, min_len, max_len)


# ----------------------------------------------------------------------------- dataset
class TransductionDataset(Dataset):
    """Encoded (source, target) pairs.

    ``src``: int64 (n, S) source ids padded with <pad>; ``src_len``: int64 (n,);
    ``tgt``: int64 (n, T) target ids followed by <eos>, padded with <pad>; ``tgt_len`` counts the
    <eos>. An item is ``(src, src_len, tgt)``; ``get_batch`` (the DataLoader's fast path) cuts a
    batch to its longest source and target."""

    def __init__(self, pairs, vocab: Seq2SeqVocab, name=""):
        self.pairs, self.vocab, self.name = list(pairs), vocab, name
        src = [vocab.encode(s) for s, _ in self.pairs]
        tgt = [vocab.encode(t, eos=True) for _, t in self.pairs]
        self.src_len = np.array([len(s) for s in src], dtype=np.int64)
        self.tgt_len = np.array([len(t) for t in tgt], dtype=np.int64)
        self.src = _pad(src, int(self.src_len.max(initial=1)))
        self.tgt = _pad(tgt, int(self.tgt_len.max(initial=1)))

    def __len__(self):
        return len(self.pairs)

    def __getitem__(self, index):
        return (Tensor._make(self.src[index]), Tensor._make(self.src_len[index]),
                Tensor._make(self.tgt[index]))

    def get_batch(self, indices):
        """``(src (B, S), src_len (B,), tgt (B, T))`` with S, T the longest in the batch."""
        indices = np.asarray(indices)
        s, t = int(self.src_len[indices].max()), int(self.tgt_len[indices].max())
        return (Tensor._make(np.ascontiguousarray(self.src[indices, :s])),
                Tensor._make(self.src_len[indices]),
                Tensor._make(np.ascontiguousarray(self.tgt[indices, :t])))


def _pad(rows, width):
    out = np.zeros((len(rows), width), dtype=np.int64)       # <pad> = 0
    for i, row in enumerate(rows):
        out[i, :len(row)] = row
    return out


def transduction_splits(task, n_train, n_val, n_test, seed=None, generator=None, **options):
    """``(vocab, train, val, test)`` TransductionDatasets of distinct examples of ``task``; no
    example (date, or source string) is in two splits. ``options`` go to transduction_pairs."""
    pairs = transduction_pairs(task, n_train + n_val + n_test, seed=seed, generator=generator,
                               **options)
    vocab = Seq2SeqVocab(DATE_CHARS if task == "dates" else DIGITS)
    cut1, cut2 = n_train, n_train + n_val
    return (vocab, TransductionDataset(pairs[:cut1], vocab, f"{task}-train"),
            TransductionDataset(pairs[cut1:cut2], vocab, f"{task}-val"),
            TransductionDataset(pairs[cut2:], vocab, f"{task}-test"))
