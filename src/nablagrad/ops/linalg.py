"""Linear algebra: matrix products (batched, broadcast) and ``nablagrad.linalg``.

For C = A B: dL/dA = dL/dC Bᵀ and dL/dB = Aᵀ dL/dC (summed over broadcast batch dimensions).
"""
from __future__ import annotations

from .._tensor import Tensor
from ..autograd.graph import Op
from ._api import public
from .elementwise import promote


class MatMul(Op):
    """NumPy's ``matmul`` semantics (= PyTorch's): 1-D operands are promoted and squeezed."""

    def forward(self, a, b):
        self.retain_inputs(0, 1)
        return a @ b

    def backward(self, g):
        a, b = self.saved_tensors
        need_a, need_b = self.needs_input_grad
        if a.ndim == 1 and b.ndim == 1:  # dot product
            return (g * b if need_a else None), (g * a if need_b else None)
        if a.ndim == 1:  # (k) @ (..., k, n) -> (..., n)
            ga = (g.unsqueeze(-2) @ b.mT).squeeze(-2) if need_a else None
            gb = a.unsqueeze(-1) * g.unsqueeze(-2) if need_b else None
            return ga, gb
        if b.ndim == 1:  # (..., m, k) @ (k) -> (..., m)
            ga = g.unsqueeze(-1) * b if need_a else None
            gb = (a.mT @ g.unsqueeze(-1)).squeeze(-1) if need_b else None
            return ga, gb
        return (g @ b.mT if need_a else None), (a.mT @ g if need_b else None)


@public
def matmul(input, other):
    if not isinstance(input, Tensor) or not isinstance(other, Tensor):
        raise TypeError("matmul: both arguments must be Tensors")
    if input.ndim == 0 or other.ndim == 0:
        raise RuntimeError("matmul: both arguments to matmul need to be at least 1D, but they "
                           f"are {input.ndim}D and {other.ndim}D")
    k1 = input.shape[-1]
    k2 = other.shape[-2] if other.ndim > 1 else other.shape[0]
    if k1 != k2:
        raise RuntimeError(f"matmul: shapes {list(input.shape)} and {list(other.shape)} cannot "
                           f"be multiplied ({k1} != {k2})")
    a, b = promote(input, other, "matmul")
    return MatMul.apply(a, b)
