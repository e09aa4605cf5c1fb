"""Classification metrics: functions for one batch, and classes that accumulate over batches.

Inputs are nablagrad Tensors (NumPy arrays are accepted too): ``logits`` of shape (N, C) with one
score per class, or predicted class indices of shape (N,), and integer ``target`` class indices
of shape (N,). Metrics never record an autograd graph.

A classifier's prediction is the class with the largest score, p̂ᵢ = argmaxⱼ sᵢⱼ. Among equal
scores the lowest class index ranks first, like ``argmax`` and like a stable descending sort; a
NaN score ranks above every number, as in ``topk``.

The classes follow one protocol: ``update(...)`` adds a batch, ``compute()`` gives the value over
every batch since the last ``reset()``.
"""
import numpy as np

from .. import backend
from .._tensor import Tensor

__all__ = ["accuracy", "top_k_accuracy", "confusion_matrix", "precision", "recall", "f1_score",
           "Accuracy", "ConfusionMatrix", "Mean"]


# ----------------------------------------------------------------------------- input checks
def _array(x, metric, what):
    """The backend array behind ``x`` (a Tensor or array-like), never part of a graph."""
    if isinstance(x, Tensor):
        return x._data
    if backend.xp_of(x) is not np:
        return x  # a CuPy array
    a = np.asarray(x)
    if a.dtype.kind not in "iubf":
        raise TypeError(f"{metric}: {what} must be a Tensor or a numeric array, got "
                        f"{type(x).__name__} of dtype {a.dtype}")
    return a


def _targets(target, n, metric):
    t = _array(target, metric, "target")
    if t.ndim != 1 or t.shape[0] != n or t.dtype.kind not in "iub":
        raise ValueError(f"{metric}: target must be {n} integer class indices of shape ({n},), "
                         f"got shape {tuple(t.shape)} and dtype {t.dtype}")
    return t


def _logits(logits, target, metric):
    """(scores (N, C), target (N,)) checked against each other."""
    s = _array(logits, metric, "logits")
    if s.ndim != 2:
        raise ValueError(f"{metric}: logits must have shape (N, C), got {tuple(s.shape)}")
    t = _targets(target, s.shape[0], metric)
    n_classes = s.shape[1]
    if t.size and (int(t.min()) < 0 or int(t.max()) >= n_classes):
        raise ValueError(f"{metric}: target holds class indices in [{int(t.min())}, "
                         f"{int(t.max())}] but logits of shape {tuple(s.shape)} have "
                         f"{n_classes} classes")
    return s, t


def _check_k(k, n_classes, metric):
    if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= n_classes:
        raise ValueError(f"{metric}: k must be an integer in [1, {n_classes}] for {n_classes} "
                         f"classes, got {k!r}")


# ----------------------------------------------------------------------------- accuracy
def _top_k_hits(scores, target, k):
    """Boolean (N,): the target is among the k highest scores of its row.

    The target's rank is rᵢ = #{j : sᵢⱼ > sᵢₜ} + #{j < t : sᵢⱼ = sᵢₜ} (0 = best), so a hit is
    rᵢ < k: exactly k classes count as chosen, ties broken towards the lower index, with no sort.
    """
    xp = backend.xp_of(scores)
    if scores.dtype.kind == "f" and xp.isnan(scores).any():
        scores = xp.where(xp.isnan(scores), xp.inf, scores)  # NaN ranks first
    rows = xp.arange(scores.shape[0])
    s_t = scores[rows, target.astype(xp.int64)][:, None]
    before = xp.arange(scores.shape[1])[None, :] < target[:, None]
    rank = (scores > s_t).sum(axis=1) + ((scores == s_t) & before).sum(axis=1)
    return rank < k


def _correct(input, target, k, metric):
    """(number of hits, number of samples) for one batch of logits or predicted labels."""
    x = _array(input, metric, "input")
    if x.ndim == 1:
        if k != 1:
            raise ValueError(f"{metric}: top-{k} accuracy needs logits of shape (N, C), got "
                             f"predicted labels of shape {tuple(x.shape)}")
        if x.dtype.kind not in "iub":
            raise ValueError(f"{metric}: a 1-D input must hold integer class predictions, got "
                             f"dtype {x.dtype} and shape {tuple(x.shape)}")
        t = _targets(target, x.shape[0], metric)
        return int((x == t).sum()), x.shape[0]
    s, t = _logits(x, target, metric)
    _check_k(k, s.shape[1], metric)
    return int(_top_k_hits(s, t, k).sum()), s.shape[0]


def _ratio(hits, total, metric):
    if total == 0:
        raise ValueError(f"{metric}: no samples to compute the accuracy of")
    return hits / total


def accuracy(input, target):
    """Fraction of correct predictions, (1/N) Σᵢ [p̂ᵢ = yᵢ], as a Python float.

    ``input`` is logits (N, C) (the prediction is the first class with the largest score) or
    integer predicted labels (N,); ``target`` is integer labels (N,).
    """
    return _ratio(*_correct(input, target, 1, "accuracy"), "accuracy")


def top_k_accuracy(logits, target, k):
    """Fraction of samples whose target is among the ``k`` highest of their (N, C) ``logits``,
    as a Python float. Exactly k classes are chosen per sample, as ``topk`` chooses them."""
    return _ratio(*_correct(logits, target, k, "top_k_accuracy"), "top_k_accuracy")


class Accuracy:
    """Top-k accuracy accumulated over batches: (Σ hits) / (Σ samples).

    ``update(input, target)`` takes logits (N, C), or predicted labels (N,) when ``top_k=1``.
    """

    def __init__(self, top_k=1):
        if isinstance(top_k, bool) or not isinstance(top_k, int) or top_k < 1:
            raise ValueError(f"Accuracy: top_k must be a positive integer, got {top_k!r}")
        self.top_k = top_k
        self.reset()

    def reset(self):
        self.correct, self.total = 0, 0

    def update(self, input, target):
        hits, n = _correct(input, target, self.top_k, f"Accuracy(top_k={self.top_k})")
        self.correct += hits
        self.total += n

    def compute(self):
        """The accuracy over every sample seen since ``reset()``, as a Python float."""
        if self.total == 0:
            raise RuntimeError(f"Accuracy(top_k={self.top_k}).compute() called before any "
                               f"update()")
        return self.correct / self.total

    def __repr__(self):
        return f"Accuracy(top_k={self.top_k}, correct={self.correct}, total={self.total})"


# ----------------------------------------------------------------------------- confusion matrix
def _labels(preds, target, num_classes, metric):
    """(predicted labels, target labels) as int64 arrays of shape (N,), checked."""
    p = _array(preds, metric, "preds")
    if p.ndim == 2:
        p = p.argmax(axis=1)  # logits: first class with the largest score
    if p.ndim != 1 or p.dtype.kind not in "iub":
        raise ValueError(f"{metric}: preds must be integer labels (N,) or logits (N, C), got "
                         f"shape {tuple(p.shape)} and dtype {p.dtype}")
    t = _targets(target, p.shape[0], metric)
    for name, a in (("preds", p), ("target", t)):
        if a.size and (int(a.min()) < 0 or int(a.max()) >= num_classes):
            raise ValueError(f"{metric}: {name} holds labels in [{int(a.min())}, "
                             f"{int(a.max())}], outside [0, {num_classes - 1}] for "
                             f"num_classes={num_classes}")
    xp = backend.xp_of(p)
    return p.astype(xp.int64), t.astype(xp.int64)


def _check_num_classes(num_classes, metric):
    if isinstance(num_classes, bool) or not isinstance(num_classes, int) or num_classes < 1:
        raise ValueError(f"{metric}: num_classes must be a positive integer, got "
                         f"{num_classes!r}")


def _count(p, t, num_classes):
    """cm[i, j] = #{samples with true class i predicted as j}, one bincount over i·C + j."""
    xp = backend.xp_of(p)
    flat = xp.bincount(t * num_classes + p, minlength=num_classes * num_classes)
    return flat.reshape(num_classes, num_classes).astype(xp.int64)


def confusion_matrix(preds, target, num_classes):
    """The (C, C) int64 confusion matrix: **rows are true classes, columns predicted classes**,
    cm[i, j] = #{n : yₙ = i, p̂ₙ = j}. ``preds`` is labels (N,) or logits (N, C)."""
    _check_num_classes(num_classes, "confusion_matrix")
    p, t = _labels(preds, target, num_classes, "confusion_matrix")
    return Tensor._make(_count(p, t, num_classes))


class ConfusionMatrix:
    """Confusion matrix accumulated over batches (rows = true class, columns = predicted)."""

    def __init__(self, num_classes):
        _check_num_classes(num_classes, "ConfusionMatrix")
        self.num_classes = num_classes
        self.reset()

    def reset(self):
        self._counts = None

    def update(self, preds, target):
        p, t = _labels(preds, target, self.num_classes,
                       f"ConfusionMatrix(num_classes={self.num_classes})")
        counts = _count(p, t, self.num_classes)
        self._counts = counts if self._counts is None else self._counts + counts

    def compute(self):
        """The (C, C) int64 Tensor of counts since ``reset()`` (zeros before any update)."""
        if self._counts is None:
            return Tensor._make(np.zeros((self.num_classes,) * 2, dtype=np.int64))
        return Tensor._make(self._counts.copy())

    def __repr__(self):
        return f"ConfusionMatrix(num_classes={self.num_classes})"


# ----------------------------------------------------------------------------- per-class scores
def _cm_array(cm, metric):
    c = _array(cm, metric, "cm")
    if c.ndim != 2 or c.shape[0] != c.shape[1]:
        raise ValueError(f"{metric}: cm must be a square (C, C) confusion matrix, got shape "
                         f"{tuple(c.shape)}")
    return c


def _safe_div(num, den):
    """num / den elementwise, 0 where den = 0 (a class never predicted / never present)."""
    xp = backend.xp_of(num)
    out = xp.zeros(num.shape, dtype=backend.get_default_dtype().np)
    nz = den != 0
    out[nz] = num[nz] / den[nz]
    return out


def precision(cm):
    """Per-class precision from a confusion matrix (rows true, columns predicted):
    Pⱼ = cm[j, j] / Σᵢ cm[i, j], and 0 for a class never predicted. Tensor of shape (C,)."""
    c = _cm_array(cm, "precision")
    return Tensor._make(_safe_div(c.diagonal(), c.sum(axis=0)))


def recall(cm):
    """Per-class recall from a confusion matrix (rows true, columns predicted):
    Rᵢ = cm[i, i] / Σⱼ cm[i, j], and 0 for a class absent from the targets. Tensor (C,)."""
    c = _cm_array(cm, "recall")
    return Tensor._make(_safe_div(c.diagonal(), c.sum(axis=1)))


def f1_score(cm):
    """Per-class F1 from a confusion matrix: F₁ = 2PR / (P + R) = 2 cm[c, c] / (row c sum +
    column c sum), and 0 where both are 0. Tensor of shape (C,)."""
    c = _cm_array(cm, "f1_score")
    return Tensor._make(_safe_div(2 * c.diagonal(), c.sum(axis=0) + c.sum(axis=1)))


# ----------------------------------------------------------------------------- running mean
class Mean:
    """Weighted running mean of a scalar: (Σ wₖ vₖ) / (Σ wₖ).

    ``update(value, weight=1)``: ``value`` is a number or a one-element Tensor, typically a batch's
    mean loss with ``weight`` = the batch size, so that ``compute()`` is the mean over samples.
    """

    def __init__(self):
        self.reset()

    def reset(self):
        self.sum, self.weight = 0.0, 0.0

    def update(self, value, weight=1):
        if isinstance(value, Tensor):
            if value.numel() != 1:
                raise ValueError(f"Mean: value must be a scalar, got a Tensor of shape "
                                 f"{tuple(value.shape)}")
            value = value.item()
        if weight < 0:
            raise ValueError(f"Mean: weight must be non-negative, got {weight}")
        self.sum += float(value) * weight
        self.weight += weight

    def compute(self):
        """The weighted mean since ``reset()``, as a Python float."""
        if self.weight == 0:
            raise RuntimeError("Mean.compute() called before any update() with positive weight")
        return self.sum / self.weight

    def __repr__(self):
        return f"Mean(sum={self.sum}, weight={self.weight})"
