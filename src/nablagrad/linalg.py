"""``nablagrad.linalg``: PyTorch's ``torch.linalg`` namespace.

The ops themselves (forward through LAPACK, backward in Tensor ops) live in
:mod:`nablagrad.ops.linalg`; this module gives them their ``torch.linalg`` names.
"""
from collections import namedtuple

from .ops.linalg import (LinAlgError, cholesky, cholesky_ex, cond, det, eigh, eigvalsh, inv,
                         inv_ex, lstsq, matmul, matrix_norm, matrix_power, matrix_rank,
                         multi_dot, pinv, qr, slogdet, solve, solve_triangular, svd, svdvals,
                         vector_norm)
from .ops.linalg import linalg_cross as cross, linalg_norm as norm

__all__ = ["LinAlgError", "cholesky", "cholesky_ex", "cond", "cross", "det", "diagonal", "eigh",
           "eigvalsh", "inv", "inv_ex", "lstsq", "matmul", "matrix_norm", "matrix_power",
           "matrix_rank", "multi_dot", "norm", "pinv", "qr", "slogdet", "solve", "solve_ex",
           "solve_triangular", "svd", "svdvals", "vecdot", "vector_norm"]


def diagonal(A, *, offset=0, dim1=-2, dim2=-1):
    """The diagonal of each matrix (a view), with the diagonal in the last dimension."""
    return A.diagonal(offset=offset, dim1=dim1, dim2=dim2)


def vecdot(x, y, *, dim=-1):
    """Σ xᵢ yᵢ along ``dim`` (broadcasting)."""
    return (x * y).sum(dim)


SolveEx = namedtuple("solve_ex", ["result", "info"])


def solve_ex(A, B, *, left=True, check_errors=False):
    """``(result, info)``: info is 0 where A is invertible (errors raise here)."""
    return SolveEx(solve(A, B, left=left), A.new_zeros(A.shape[:-2], dtype="int32"))
