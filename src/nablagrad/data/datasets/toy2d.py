"""Toy data for linear classifiers: linearly separable points with a guaranteed margin."""
from __future__ import annotations

import numpy as np

from ..._tensor import Tensor
from ...ops.random import numpy_generator


def linearly_separable(n=200, dim=2, margin=0.1, generator=None):
    """``n`` points uniform in the cube [-1, 1]^dim, labelled by a random hyperplane through the
    origin, with no point closer to it than ``margin``.

    A unit normal ``w_true`` is drawn uniformly on the sphere; a point x gets the label
    y = sign(w_true·x) ∈ {-1, +1}. Points with |w_true·x| < margin (the signed distance to the
    hyperplane w_true·x = 0, since ‖w_true‖ = 1) are rejected and drawn again, so the separator
    (w_true, b = 0) has geometric margin at least ``margin`` on the data:
    min_i y_i·w_true·x_i ≥ margin. ``margin=0`` gives plain uniform points.

    Returns ``(x, y, w_true)``: x float32 (n, dim), y float32 (n,) of ±1, w_true float32 (dim,)."""
    if n < 1 or dim < 1:
        raise ValueError(f"linearly_separable: need n >= 1 and dim >= 1, got n={n}, dim={dim}")
    if not 0 <= margin < 1:  # |w·x| ≤ ‖w‖₁ and ‖w‖₁ ≥ 1, so a margin below 1 is always possible
        raise ValueError(f"linearly_separable: margin must be in [0, 1), got {margin}")
    rng = numpy_generator(generator)
    w = rng.standard_normal(dim)
    w /= np.linalg.norm(w)
    kept, count = [], 0
    while count < n:
        x = rng.uniform(-1.0, 1.0, size=(2 * (n - count) + 16, dim))
        x = x[np.abs(x @ w) >= margin]
        kept.append(x)
        count += len(x)
    x = np.concatenate(kept)[:n]
    y = np.where(x @ w >= 0, 1.0, -1.0)
    return (Tensor(x.astype(np.float32)), Tensor(y.astype(np.float32)),
            Tensor(w.astype(np.float32)))
