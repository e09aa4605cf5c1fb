"""Reductions over dimensions (``dim``, ``keepdim``), and cumulative, sorting and selection ops.

Backward of a reduction broadcasts dL/dy back over the reduced dimensions: for y = Σᵢ aᵢ,
∂y/∂aᵢ = 1, so dL/da = expand(dL/dy).
"""
from __future__ import annotations

from .. import backend
from .._tensor import Tensor
from ..autograd.graph import Op
from ._api import public


def normalize_dims(dim, ndim, opname="reduction"):
    """``dim`` (None, int or sequence) as a sorted tuple of non-negative axes (None: all)."""
    if dim is None:
        return tuple(range(ndim))
    if isinstance(dim, int):
        dim = (dim,)
    n = max(ndim, 1)
    out = []
    for d in dim:
        if not -n <= d < n:
            raise IndexError(f"{opname}: dimension {d} out of range for a tensor with {ndim} "
                             f"dimensions (expected in [{-n}, {n - 1}])")
        out.append(d % n)
    if len(set(out)) != len(out):
        raise RuntimeError(f"{opname}: dim {tuple(dim)} appears multiple times in the list of dims")
    return tuple(sorted(out)) if ndim else ()


def expand_reduced(g: Tensor, in_shape, dims, keepdim):
    """Broadcast a reduction's gradient back to the input shape (differentiable)."""
    if not keepdim and dims:
        shape = list(in_shape)
        for d in dims:
            shape[d] = 1
        g = g.reshape(tuple(shape))
    return g.expand(tuple(in_shape))


class Sum(Op):
    """y = Σ over dims of a; dL/da = dL/dy broadcast back."""

    def forward(self, a, dims, keepdim, np_dtype):
        self.in_shape, self.dims, self.keepdim = a.shape, dims, keepdim
        return a.sum(axis=dims, keepdims=keepdim, dtype=np_dtype)

    def backward(self, g):
        return expand_reduced(g, self.in_shape, self.dims, self.keepdim), None, None, None


@public
def sum(input, dim=None, keepdim=False, *, dtype=None):
    """Sum over ``dim`` (all dims if None). Integer and bool inputs sum to int64, as PyTorch."""
    dims = normalize_dims(dim, input.ndim, "sum")
    if dtype is not None:
        np_dtype = backend.to_dtype(dtype).np
    elif input._data.dtype.kind in "biu":
        np_dtype = backend.int64.np
    else:
        np_dtype = None
    return Sum.apply(input, dims, keepdim, np_dtype)
