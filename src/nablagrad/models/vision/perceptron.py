"""The perceptron and Rosenblatt's learning algorithm (PLA), with Novikoff's mistake bound.

    h(x) = sign(w·x + b) ∈ {-1, +1}
    PLA: while some (x_i, y_i) has y_i (w·x_i + b) ≤ 0:  w ← w + y_i x_i,  b ← b + y_i

F. Rosenblatt, "The perceptron: a probabilistic model for information storage and organization in
the brain", Psychological Review 1958. A. Novikoff, "On convergence proofs for perceptrons", 1962:
if some unit (w*, b*) separates the data with margin γ and every ‖(x_i, 1)‖ ≤ R, the PLA makes at
most (R/γ)² updates, whatever the order of the points.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ... import nn
from ..._tensor import Tensor
from ...autograd import no_grad
from ...ops import creation


class PLAResult(NamedTuple):
    """What :meth:`Perceptron.fit_pla` did: total updates, epochs run, whether the last epoch
    had no mistake, and the mistakes (= updates) made in each epoch."""
    updates: int
    epochs: int
    converged: bool
    mistakes_per_epoch: list


def _array(v, dtype=np.float64):
    return np.asarray(v.detach().numpy() if isinstance(v, Tensor) else v, dtype=dtype)


class Perceptron(nn.Module):
    """A linear threshold unit: forward(x) = sign(x @ weight + bias), with sign(0) taken as +1.

    ``weight`` (in_features,) and ``bias`` () start at zero. It has no useful gradient: train it
    with :meth:`fit_pla`."""

    def __init__(self, in_features=2):
        super().__init__()
        self.in_features = in_features
        self.weight = nn.Parameter(creation.zeros(in_features))
        self.bias = nn.Parameter(creation.zeros(()))

    def _check(self, x, op):
        if x.ndim != 2 or x.shape[1] != self.in_features:
            raise ValueError(f"Perceptron.{op}: expected x of shape (n, {self.in_features}), "
                             f"got {tuple(x.shape)}")

    def forward(self, x):
        self._check(x, "forward")
        score = x @ self.weight + self.bias
        return (score >= 0).to(score.dtype) * 2 - 1

    def fit_pla(self, x, y, max_epochs=100) -> PLAResult:
        """Rosenblatt's rule, from the current parameters: sweep the points in order; on each
        mistake y_i (w·x_i + b) ≤ 0 (a point on the boundary counts as a mistake) add y_i x_i to
        w and y_i to b. Stops after the first epoch without a mistake (converged) or after
        ``max_epochs`` epochs. Runs without recording a graph."""
        self._check(x, "fit_pla")
        w, b = self.weight.detach().numpy().copy(), self.bias.detach().numpy().copy()
        xs, ys = _array(x, w.dtype), _array(y, w.dtype)
        if ys.shape != (len(xs),) or not np.all(np.abs(ys) == 1):
            raise ValueError(f"Perceptron.fit_pla: expected y of shape ({len(xs)},) with values "
                             f"±1, got shape {tuple(ys.shape)}")
        history = []
        for _ in range(max_epochs):
            mistakes, start = 0, 0
            while start < len(xs):  # jump from one mistake to the next
                wrong = ys[start:] * (xs[start:] @ w + b) <= 0
                k = int(wrong.argmax())
                if not wrong[k]:
                    break
                i = start + k
                w += ys[i] * xs[i]
                b += ys[i]
                mistakes, start = mistakes + 1, i + 1
            history.append(mistakes)
            if mistakes == 0:
                break
        with no_grad():
            self.weight.copy_(Tensor(w))
            self.bias.copy_(Tensor(b))
        return PLAResult(sum(history), len(history), bool(history) and history[-1] == 0, history)


def novikoff_bound(x, y, w, b) -> float:
    """(R/γ)²: Novikoff's bound on the PLA's updates, with R = max_i ‖(x_i, 1)‖ and
    γ = min_i y_i (w·x_i + b) / ‖(w, b)‖ the margin of the separator (w, b), normalised.
    Raises ValueError if (w, b) does not separate the data (γ ≤ 0)."""
    xs, ys = _array(x), _array(y)
    wb = np.append(_array(w).reshape(-1), _array(b).reshape(-1))
    if xs.ndim != 2 or wb.shape != (xs.shape[1] + 1,) or ys.shape != (len(xs),):
        raise ValueError(f"novikoff_bound: expected x (n, d), y (n,), w (d,), b scalar; got x "
                         f"{xs.shape}, y {ys.shape}, (w, b) of {wb.size} numbers")
    gamma = float((ys * (xs @ wb[:-1] + wb[-1])).min() / np.linalg.norm(wb))
    if gamma <= 0:
        raise ValueError(f"novikoff_bound: (w, b) does not separate the data (margin {gamma:.3g})")
    radius = float(np.sqrt((xs * xs).sum(1) + 1).max())
    return (radius / gamma) ** 2
