"""Sparse node features: bag-of-words inputs such as Cora's (2,708 × 1,433, 1.3% non-zero) are
stored as their non-zero entries (row r_k, column c_k, value v_k), a constant of the model.

    (X Wᵀ)_i = Σ_{k : r_k = i} v_k W[:, c_k]        (gather W's columns, scatter-add to rows)
    dL/dW[:, c] = Σ_{k : c_k = c} v_k (dL/dY)_{r_k}

Dropout on X touches only the stored values (zeros stay zero, so this equals dense dropout of X:
the paper's "sparse dropout"). Both cost O(nnz · out) instead of O(N · F · out).
"""
import numpy as np

from ...nn import functional as F
from ...ops.creation import from_numpy, zeros


class SparseFeatures:
    """A constant (N, F) matrix kept as its non-zero entries; ``shape``, ``dtype``, ``to_dense()``.
    Layers that start with a linear map (GCNConv, GATConv, and models built from them) accept
    it in place of a dense ``x``."""

    def __init__(self, rows, cols, values, shape):
        self.rows, self.cols, self.values, self.shape = rows, cols, values, tuple(shape)

    @classmethod
    def from_dense(cls, x):
        a = x.detach().numpy()
        rows, cols = np.nonzero(a)
        return cls(from_numpy(rows.astype(np.int64)), from_numpy(cols.astype(np.int64)),
                   from_numpy(a[rows, cols]), a.shape)

    @property
    def dtype(self):
        return self.values.dtype

    @property
    def nnz(self):
        return int(self.values.shape[0])

    def to_dense(self):
        out = zeros(*self.shape, dtype=self.dtype)
        out[self.rows, self.cols] = self.values
        return out

    def with_values(self, values):
        return SparseFeatures(self.rows, self.cols, values, self.shape)

    def __repr__(self):
        return f"SparseFeatures(shape={self.shape}, nnz={self.nnz}, dtype={self.dtype})"


def dropout(x, p, training):
    """F.dropout for dense tensors; for SparseFeatures, dropout of the stored values."""
    if isinstance(x, SparseFeatures):
        return x.with_values(F.dropout(x.values, p, training)) if training and p else x
    return F.dropout(x, p, training)


def linear(x, weight, bias=None):
    """x Wᵀ + b for a dense tensor or SparseFeatures x (weight of shape (out, in))."""
    if not isinstance(x, SparseFeatures):
        return F.linear(x, weight, bias)
    if x.shape[1] != weight.shape[1]:
        raise RuntimeError(f"linear: SparseFeatures of shape {list(x.shape)} cannot be "
                           f"multiplied with weight of shape {list(weight.shape)}")
    gathered = weight.t().index_select(0, x.cols) * x.values.to(weight.dtype).unsqueeze(-1)
    out = zeros(x.shape[0], weight.shape[0], dtype=weight.dtype).index_add(0, x.rows, gathered)
    return out if bias is None else out + bias
