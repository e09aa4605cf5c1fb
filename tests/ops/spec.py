"""The op registry that drives the generated op tests (``test_ops.py``).

Each differentiable op is declared once as an :class:`OpSpec`: how to call it in nablagrad and in
PyTorch, and a generator of sample arguments. Sample arguments are NumPy arrays (float arrays
become tensors that require grad; integer and bool arrays become plain tensors), wrapped values
(:class:`Const` for a float array that must not require grad) or plain Python values.

From one declaration the tests check: forward against PyTorch (float64 and float32, values and
dtype), backward against PyTorch, float64 gradcheck, gradgradcheck and double backward against
PyTorch (when ``gradgrad``), and the same results on non-contiguous inputs.

Adding an op = appending an OpSpec to ``SPECS`` in one of the ``specs_*.py`` files.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

SPECS: list = []


@dataclass
class Const:
    """A float array passed as a tensor that does not require grad."""
    value: np.ndarray


@dataclass
class OpSpec:
    name: str
    ng: Callable                      # called with nablagrad tensors / values
    torch: Callable                   # called with torch tensors / values
    samples: Callable[[np.random.Generator], list]  # list of tuples of arguments
    grad: bool = True                 # differentiable: backward + gradcheck
    gradgrad: bool = True             # twice differentiable: gradgradcheck + double backward
    noncontig: bool = True            # also test with non-contiguous float inputs
    atol: float = 1e-6
    rtol: float = 1e-5
    float32: bool = True              # also compare a float32 forward
    notes: str = ""
    extra: dict = field(default_factory=dict)

    def __post_init__(self):
        SPECS.append(self)


def randn(rng, *shape, low=None, high=None):
    """Random float64 array; with low/high, uniform in [low, high] (for ops with a domain)."""
    if low is not None:
        return rng.uniform(low, high, size=shape)
    return rng.standard_normal(shape)


def positive(rng, *shape):
    return rng.uniform(0.5, 2.0, size=shape)


def away_from_zero(rng, *shape):
    """Values with |x| in [0.3, 2]: safe for abs, sign-sensitive and non-smooth-at-0 ops."""
    return rng.uniform(0.3, 2.0, size=shape) * rng.choice([-1, 1], size=shape)


Any_ = Any
