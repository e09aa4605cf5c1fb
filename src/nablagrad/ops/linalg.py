"""Linear algebra: matrix products, einsum, solves, determinants, decompositions and norms.

The forward passes call BLAS/LAPACK through ``xp`` (``numpy.linalg``, SciPy for triangular
solves); every backward is written in Tensor ops, so second derivatives come for free. The
formulas, for real matrices, with Ḡ = dL/d(output):

* C = A B:            Ā = Ḡ Bᵀ,  B̄ = Aᵀ Ḡ (summed over broadcast batch dimensions)
* Y = A⁻¹:            Ā = -Yᵀ Ḡ Yᵀ
* X = A⁻¹ B:          B̄ = A⁻ᵀ Ḡ,  Ā = -B̄ Xᵀ
* d = det A:          Ā = ḡ d A⁻ᵀ           (log|det A|: Ā = ḡ A⁻ᵀ)
* A = L Lᵀ:           Ā = sym(L⁻ᵀ Φ(Lᵀ L̄) L⁻¹),  Φ = lower triangle with the diagonal halved
* A = Q R:            Ā = [Q̄ + Q copyu(R̄ Rᵀ - Qᵀ Q̄)] R⁻ᵀ,  copyu mirrors the upper triangle
* A = V diag(λ) Vᵀ:   Ā = V (diag(λ̄) + F ∘ skew(Vᵀ V̄)) Vᵀ,  Fᵢⱼ = 1/(λⱼ - λᵢ)
* A = U diag(s) Vᵀ:   Ā = U [J S + S K + diag(s̄)] Vᵀ + (I - UUᵀ) Ū S⁻¹ Vᵀ + U S⁻¹ V̄ᵀ (I - VVᵀ),
                      J = F ∘ (UᵀŪ - ŪᵀU),  K = F ∘ (VᵀV̄ - V̄ᵀV),  Fᵢⱼ = 1/(sⱼ² - sᵢ²)

Eigenvector and singular-vector derivatives exist only for distinct eigen/singular values, and
only functions that do not depend on the vectors' signs have a well-defined gradient.
"""
from __future__ import annotations

import functools
import math
import numbers
import string
from collections import namedtuple

import numpy as np

from .. import backend
from .._tensor import Tensor
from ..autograd import grad_mode
from ..autograd.graph import Op
from ._api import public
from .reduce import expand_reduced, normalize_dims
from .shape import cat


class LinAlgError(RuntimeError):
    """A matrix is singular or not positive-definite (``torch.linalg.LinAlgError``)."""


SlogDet = namedtuple("slogdet", ["sign", "logabsdet"])
Eigh = namedtuple("eigh", ["eigenvalues", "eigenvectors"])
SVD = namedtuple("svd", ["U", "S", "Vh"])
SVDv = namedtuple("svd", ["U", "S", "V"])
QR = namedtuple("qr", ["Q", "R"])
Lstsq = namedtuple("lstsq", ["solution", "residuals", "rank", "singular_values"])
CholeskyEx = namedtuple("cholesky_ex", ["L", "info"])
InvEx = namedtuple("inv_ex", ["inverse", "info"])
TriangularSolve = namedtuple("triangular_solve", ["solution", "cloned_coefficient"])


# ----------------------------------------------------------------------------- helpers
def _same_dtype(opname, *tensors):
    dt = tensors[0]._data.dtype
    for t in tensors[1:]:
        if t._data.dtype != dt:
            raise RuntimeError(f"{opname}: expected all tensors to have the same dtype, but got "
                               + " and ".join(str(x.dtype) for x in tensors))
        if t._data.__class__ is not tensors[0]._data.__class__:
            raise RuntimeError(f"{opname}: expected all tensors on the same device, got "
                               f"{tensors[0].device} and {t.device}")


def _ndim(opname, t, n, what="input"):
    if t.ndim != n:
        raise RuntimeError(f"{opname}: {what} must be a {n}D tensor, got shape {list(t.shape)}")


def _square_float(opname, A):
    """Decompositions need (..., n, n) floating-point input."""
    if A._data.dtype.kind != "f":
        raise RuntimeError(f"{opname}: expected a floating point tensor as input, got {A.dtype}")
    if A.ndim < 2 or A.shape[-1] != A.shape[-2]:
        raise RuntimeError(f"{opname}: A must be batches of square matrices, but they are "
                           f"{' by '.join(map(str, A.shape[-2:]))} matrices "
                           f"(shape {list(A.shape)})")


def _matrix_float(opname, A):
    if A._data.dtype.kind != "f":
        raise RuntimeError(f"{opname}: expected a floating point tensor as input, got {A.dtype}")
    if A.ndim < 2:
        raise RuntimeError(f"{opname}: the input tensor A must have at least 2 dimensions, got "
                           f"shape {list(A.shape)}")


def _lapack(opname, fn, *args, **kwargs):
    """Call a LAPACK routine, turning NumPy's LinAlgError into ours, named after the op."""
    try:
        return fn(*args, **kwargs)
    except np.linalg.LinAlgError as e:
        raise LinAlgError(f"{opname}: {e} (the input matrix is singular or not positive-definite)"
                          ) from None


def _const(arr) -> Tensor:
    """A backend array as a constant Tensor (no grad)."""
    return Tensor._make(arr)


def _eye(like: Tensor, n) -> Tensor:
    return _const(backend.xp_of(like._data).eye(n, dtype=like._data.dtype))


def _tri(like: Tensor, n, upper=False, strict=False, diag=None) -> Tensor:
    """Constant n×n mask of the lower (or upper) triangle, without the diagonal if ``strict``,
    or with ``diag`` on it."""
    xp = backend.xp_of(like._data)
    m = xp.tri(n, n, -1 if strict else 0, dtype=like._data.dtype)
    if diag is not None:
        m[xp.arange(n), xp.arange(n)] = diag
    return _const(m.T.copy() if upper else m)


def _offdiag(like: Tensor, n) -> Tensor:
    return _const(1 - backend.xp_of(like._data).eye(n, dtype=like._data.dtype))


def _diag_embed(v: Tensor) -> Tensor:
    """A matrix with ``v`` on the diagonal (last dimension)."""
    return v.unsqueeze(-1) * _eye(v, v.shape[-1])


def _sym(X: Tensor) -> Tensor:
    return (X + X.mT) * 0.5


def _rows_first(t: Tensor) -> Tensor:
    """(..., r, c) -> (r, prod(...) * c): rows of every batch matrix side by side."""
    n = t.ndim
    return t.permute((n - 2,) + tuple(range(n - 2)) + (n - 1,)).reshape(t.shape[-2], -1)


def _recording(*tensors) -> bool:
    return grad_mode.state.enabled and any(t._rg for t in tensors)


# ----------------------------------------------------------------------------- matmul family
class MatMul(Op):
    """NumPy's ``matmul`` semantics (= PyTorch's): 1-D operands are promoted and squeezed.

    C = A B; Ā = Ḡ Bᵀ, B̄ = Aᵀ Ḡ. When one operand is a single matrix shared by a batch, its
    gradient is one GEMM over the stacked batch (no broadcast copy is materialised).
    """

    def forward(self, a, b):
        self.retain_inputs(0, 1)
        if a.ndim > 2 and b.ndim == 2:  # one GEMM over all rows instead of one per batch matrix
            return (a.reshape(-1, a.shape[-1]) @ b).reshape(a.shape[:-1] + b.shape[-1:])
        if a.ndim >= 2 and b.ndim >= 2 and a.shape[:-2] != b.shape[:-2]:
            # NumPy leaves BLAS when it broadcasts batch dimensions itself (several times
            # slower); stride-0 views with equal batch shapes keep every product in BLAS
            xp = backend.xp_of(a)
            batch = np.broadcast_shapes(a.shape[:-2], b.shape[:-2])
            a = xp.broadcast_to(a, batch + a.shape[-2:])
            b = xp.broadcast_to(b, batch + b.shape[-2:])
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
            gb = (a.reshape(-1, a.shape[-1]).mT @ g.reshape(-1)) if need_b else None
            return ga, gb
        ga = gb = None
        if need_a:
            ga = _rows_first(g) @ _rows_first(b).mT if a.ndim == 2 and b.ndim > 2 else g @ b.mT
        if need_b:
            gb = (a.reshape(-1, a.shape[-1]).mT @ g.reshape(-1, g.shape[-1])
                  if b.ndim == 2 and a.ndim > 2 else a.mT @ g)
        return ga, gb


@public
def matmul(input, other):
    """Matrix product with broadcasting over batch dimensions; 1-D operands act as vectors."""
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
    if input.ndim > 2 and other.ndim > 2 and input.shape[:-2] != other.shape[:-2]:
        _broadcast(input.shape[:-2], other.shape[:-2], "matmul (batch dimensions)")
    _same_dtype("matmul", input, other)
    return MatMul.apply(input, other)


@public
def mm(input, mat2):
    """Matrix product of two 2-D tensors."""
    _ndim("mm", input, 2, "self")
    _ndim("mm", mat2, 2, "mat2")
    return matmul(input, mat2)


@public
def bmm(input, mat2):
    """Batched matrix product: (b, n, m) @ (b, m, p) -> (b, n, p), no broadcasting."""
    _ndim("bmm", input, 3, "batch1")
    _ndim("bmm", mat2, 3, "batch2")
    if input.shape[0] != mat2.shape[0]:
        raise RuntimeError(f"bmm: batch sizes differ: {list(input.shape)} and {list(mat2.shape)}")
    return matmul(input, mat2)


@public
def mv(input, vec):
    """Matrix-vector product (n, m) @ (m) -> (n)."""
    _ndim("mv", input, 2, "self")
    _ndim("mv", vec, 1, "vec")
    return matmul(input, vec)


@public
def dot(input, tensor):
    """Σᵢ xᵢ yᵢ of two 1-D tensors of the same size and dtype."""
    _ndim("dot", input, 1, "1st argument")
    _ndim("dot", tensor, 1, "2nd argument")
    if input.shape != tensor.shape:
        raise RuntimeError(f"dot: inconsistent tensor size, expected tensors of the same size, "
                           f"got {input.shape[0]} and {tensor.shape[0]} elements")
    return matmul(input, tensor)


public(dot, name="vdot")  # real tensors only: no conjugation to do


@public
def outer(input, vec2):
    """xᵢ yⱼ of two 1-D tensors."""
    _ndim("outer", input, 1, "self")
    _ndim("outer", vec2, 1, "vec2")
    return input.unsqueeze(-1) * vec2


public(outer, name="ger")


@public
def inner(input, other):
    """Σ over the last dimension of both: shape input.shape[:-1] + other.shape[:-1]."""
    if input.ndim == 0 or other.ndim == 0:
        return input * other
    if input.shape[-1] != other.shape[-1]:
        raise RuntimeError(f"inner: last dimensions must match, got {list(input.shape)} and "
                           f"{list(other.shape)}")
    return tensordot(input, other, ([-1], [-1]))


class ScaledSum(Op):
    """out = β·c + α·p; ∂out/∂c = β, ∂out/∂p = α. With β = 0, c is ignored: NaN or inf in it
    do not propagate (its gradient is 0)."""

    def forward(self, c, p, beta, alpha):
        self.beta, self.alpha = beta, alpha
        out = p * alpha if alpha != 1 else p.copy()
        if beta:
            out += c * beta if beta != 1 else c
        return out

    def backward(self, g):
        gc = g * self.beta if self.needs_input_grad[0] else None
        gp = (g * self.alpha if self.alpha != 1 else g) if self.needs_input_grad[1] else None
        return gc, gp, None, None


def _add_scaled(input, product, beta, alpha, opname):
    """β·input + α·product (``input`` broadcasts to the product's shape)."""
    if _broadcast(input.shape, product.shape, opname) != tuple(product.shape):
        raise RuntimeError(f"{opname}: input of shape {list(input.shape)} does not broadcast to "
                           f"the product's shape {list(product.shape)}")
    _same_dtype(opname, input, product)
    return ScaledSum.apply(input, product, beta, alpha)


def _broadcast(s1, s2, opname):
    try:
        return np.broadcast_shapes(tuple(s1), tuple(s2))
    except ValueError:
        raise RuntimeError(f"{opname}: shapes {list(s1)} and {list(s2)} do not broadcast") from None


@public(inplace=True)
def addmm(input, mat1, mat2, *, beta=1, alpha=1):
    """β·input + α·(mat1 @ mat2)."""
    return _add_scaled(input, mm(mat1, mat2), beta, alpha, "addmm")


@public(inplace=True)
def addmv(input, mat, vec, *, beta=1, alpha=1):
    """β·input + α·(mat @ vec)."""
    return _add_scaled(input, mv(mat, vec), beta, alpha, "addmv")


@public(inplace=True)
def addr(input, vec1, vec2, *, beta=1, alpha=1):
    """β·input + α·outer(vec1, vec2)."""
    return _add_scaled(input, outer(vec1, vec2), beta, alpha, "addr")


@public(inplace=True)
def baddbmm(input, batch1, batch2, *, beta=1, alpha=1):
    """β·input + α·(batch1 @ batch2), batched."""
    return _add_scaled(input, bmm(batch1, batch2), beta, alpha, "baddbmm")


@public(inplace=True)
def addbmm(input, batch1, batch2, *, beta=1, alpha=1):
    """β·input + α·Σ_b batch1[b] @ batch2[b], computed as one GEMM over the stacked batch."""
    _ndim("addbmm", batch1, 3, "batch1")
    _ndim("addbmm", batch2, 3, "batch2")
    if batch1.shape[0] != batch2.shape[0] or batch1.shape[2] != batch2.shape[1]:
        raise RuntimeError(f"addbmm: shapes {list(batch1.shape)} and {list(batch2.shape)} "
                           "cannot be multiplied batch by batch")
    total = mm(_rows_first(batch1), batch2.reshape(-1, batch2.shape[-1]))
    return _add_scaled(input, total, beta, alpha, "addbmm")


@public
def tensordot(a, b, dims=2):
    """Contract ``dims`` dimensions: an int n (last n of a with first n of b) or two lists.

    Permute the contracted dimensions together, reshape both to matrices, one GEMM.
    """
    if isinstance(dims, int):
        if dims < 0 or dims > min(a.ndim, b.ndim):
            raise RuntimeError(f"tensordot: dims={dims} is out of range for shapes "
                               f"{list(a.shape)} and {list(b.shape)}")
        da, db = list(range(a.ndim - dims, a.ndim)), list(range(dims))
    else:
        da, db = ([d] if isinstance(d, int) else list(d) for d in dims)
    if len(da) != len(db):
        raise RuntimeError(f"tensordot: both dimension lists must have the same length, got "
                           f"{da} and {db}")
    da = [a._wrap_dim(d) for d in da]
    db = [b._wrap_dim(d) for d in db]
    for i, j in zip(da, db):
        if a.shape[i] != b.shape[j]:
            raise RuntimeError(f"tensordot: contracted dimensions need to match, but first has "
                               f"size {a.shape[i]} in dim {i} and second has size {b.shape[j]} "
                               f"in dim {j}")
    _same_dtype("tensordot", a, b)
    fa = [d for d in range(a.ndim) if d not in da]
    fb = [d for d in range(b.ndim) if d not in db]
    k = math.prod(a.shape[d] for d in da)
    am = a.permute(*fa, *da).reshape(-1, k)
    bm = b.permute(*db, *fb).reshape(k, -1)
    return (am @ bm).reshape(tuple(a.shape[d] for d in fa) + tuple(b.shape[d] for d in fb))


@public
def kron(input, other):
    """Kronecker product: out[i·p + k, j·q + l] = aᵢⱼ bₖₗ (any number of dimensions)."""
    n = max(input.ndim, other.ndim)
    sa = (1,) * (n - input.ndim) + tuple(input.shape)
    sb = (1,) * (n - other.ndim) + tuple(other.shape)
    a = input.reshape(tuple(x for s in sa for x in (s, 1)))
    b = other.reshape(tuple(x for s in sb for x in (1, s)))
    return (a * b).reshape(tuple(p * q for p, q in zip(sa, sb)))


@public
def trace(input):
    """Σᵢ Aᵢᵢ of a 2-D tensor (integers sum to int64, as ``sum``)."""
    _ndim("trace", input, 2)
    k = min(input.shape)
    sq = input if input.shape[0] == input.shape[1] else input[:k, :k]
    if sq._data.dtype.kind in "biu":
        sq = sq.to(backend.int64)
    return einsum("ii->", sq)


def _chain_order(dims):
    """Optimal parenthesisation of a matrix chain (classic O(n³) dynamic programme).

    ``dims[i], dims[i+1]`` are the shape of matrix i; returns split[i][j]."""
    n = len(dims) - 1
    cost = [[0] * n for _ in range(n)]
    split = [[0] * n for _ in range(n)]
    for length in range(1, n):
        for i in range(n - length):
            j = i + length
            cost[i][j] = math.inf
            for k in range(i, j):
                c = cost[i][k] + cost[k + 1][j] + dims[i] * dims[k + 1] * dims[j + 1]
                if c < cost[i][j]:
                    cost[i][j], split[i][j] = c, k
    return split


def multi_dot(tensors):
    """A₁ A₂ ⋯ Aₙ in the cheapest order; the first may be a row vector, the last a column."""
    tensors = list(tensors)
    if len(tensors) < 2:
        raise RuntimeError(f"multi_dot(): expected at least 2 tensors but got {len(tensors)}")
    first_vec, last_vec = tensors[0].ndim == 1, tensors[-1].ndim == 1
    mats = list(tensors)
    if first_vec:
        mats[0] = mats[0].unsqueeze(0)
    if last_vec:
        mats[-1] = mats[-1].unsqueeze(-1)
    for i, m in enumerate(mats):
        if m.ndim != 2:
            raise RuntimeError(f"multi_dot(): tensor {i} must be 2D (only the first and last may "
                               f"be 1D), got shape {list(tensors[i].shape)}")
        if i and mats[i - 1].shape[1] != m.shape[0]:
            raise RuntimeError(f"multi_dot(): tensors {i - 1} and {i} with shapes "
                               f"{list(tensors[i - 1].shape)} and {list(tensors[i].shape)} "
                               "cannot be multiplied")
    split = _chain_order([mats[0].shape[0]] + [m.shape[1] for m in mats])

    def product(i, j):
        if i == j:
            return mats[i]
        k = split[i][j]
        return mm(product(i, k), product(k + 1, j))

    out = product(0, len(mats) - 1)
    if first_vec:
        out = out.squeeze(0)
    if last_vec:
        out = out.squeeze(-1)
    return out


@public(method=False)
def chain_matmul(*matrices):
    """Deprecated alias of ``linalg.multi_dot`` for 2-D matrices."""
    if len(matrices) == 1:
        return matrices[0]
    return multi_dot(matrices)


@public
def matrix_power(input, n):
    """Aⁿ by repeated squaring; A⁰ = I; negative n uses A⁻¹."""
    if n < 0:
        _square_float("matrix_power", input)
    if input.ndim < 2 or input.shape[-1] != input.shape[-2]:
        raise RuntimeError(f"matrix_power: expected a tensor of square matrices, got shape "
                           f"{list(input.shape)}")
    if n == 0:
        return _eye(input, input.shape[-1]).expand(input.shape).clone()
    base = inv(input) if n < 0 else input
    n = abs(n)
    result = None
    while True:
        if n & 1:
            result = base if result is None else result @ base
        n >>= 1
        if not n:
            return result
        base = base @ base


# ----------------------------------------------------------------------------- cross product
class Cross(Op):
    """c = a × b along ``dim`` (size 3); ā = b × ḡ, b̄ = ḡ × a, since
    g·(a×b) = a·(b×g) = b·(g×a)."""

    def forward(self, a, b, dim):
        self.retain_inputs(0, 1)
        self.dim = dim
        xp = backend.xp_of(a)
        a, b = xp.broadcast_arrays(a, b)
        return xp.cross(a, b, axis=dim)

    def backward(self, g):
        a, b = self.saved_tensors
        d = self.dim
        ga = Cross.apply(b, g, d) if self.needs_input_grad[0] else None
        gb = Cross.apply(g, a, d) if self.needs_input_grad[1] else None
        return ga, gb, None


def _cross(input, other, dim, opname):
    _same_dtype(opname, input, other)
    if input.ndim != other.ndim:
        raise RuntimeError(f"{opname}: inputs must have the same number of dimensions, got "
                           f"shapes {list(input.shape)} and {list(other.shape)}")
    shape = _broadcast(input.shape, other.shape, opname)
    if dim is None:  # the first dimension of size 3 (torch.cross's deprecated default)
        dim = next((i for i, s in enumerate(shape) if s == 3), None)
        if dim is None:
            raise RuntimeError(f"{opname}: no dimension of size 3 in input of shape {list(shape)}")
    n = len(shape)
    if not -n <= dim < n:
        raise IndexError(f"{opname}: dimension {dim} out of range for {n}-D inputs")
    if shape[dim] != 3:
        raise RuntimeError(f"{opname}: inputs dimension {dim} must have length 3, got "
                           f"{list(input.shape)} and {list(other.shape)}")
    return Cross.apply(input, other, dim % n - n)


@public
def cross(input, other, dim=None):
    """Cross product of 3-vectors along ``dim`` (default: the first dimension of size 3)."""
    return _cross(input, other, dim, "cross")


def linalg_cross(input, other, *, dim=-1):
    return _cross(input, other, dim, "linalg.cross")


# ----------------------------------------------------------------------------- einsum
_LETTERS = string.ascii_uppercase + string.ascii_lowercase
_EINSUM_BLAS_WORK = 1 << 16  # multiply-adds above which np.einsum plans a BLAS contraction


class Einsum(Op):
    """out = Σ over the labels missing from ``output`` of Πₖ operandₖ[labelsₖ].

    The gradient of operand i is the einsum of the output gradient with all the other operands,
    into operand i's labels: ``einsum(out, others... -> labelsᵢ)`` (see :func:`_einsum_into`
    for repeated labels and labels summed out of operand i alone).
    """

    def forward(self, *arrays, subscripts, output):
        self.retain_inputs(*range(len(arrays)))
        self.subscripts, self.output = subscripts, output
        xp = backend.xp_of(arrays[0])
        sizes = {}
        for labels, a in zip(subscripts, arrays):
            sizes.update(zip(labels, a.shape))
        # contraction paths (BLAS) pay off for real work; small ones are faster in one loop
        out = xp.einsum(",".join(subscripts) + "->" + output, *arrays,
                        optimize=len(arrays) > 1 and math.prod(sizes.values()) > _EINSUM_BLAS_WORK)
        if len(arrays) == 1 and xp.may_share_memory(out, arrays[0]):
            out = out.copy()  # a transpose or diagonal view: the result owns its memory
        return out

    def backward(self, g):
        ops = self.saved_tensors
        grads = []
        for i, x in enumerate(ops):
            if not self.needs_input_grad[i]:
                grads.append(None)
                continue
            terms = [self.output] + [s for j, s in enumerate(self.subscripts) if j != i]
            tensors = [g] + [t for j, t in enumerate(ops) if j != i]
            grads.append(_einsum_into(terms, tensors, self.subscripts[i], x.shape))
        return tuple(grads)


def _einsum_into(terms, tensors, target, shape):
    """``einsum(terms -> target)`` where ``target`` may repeat a label (a diagonal: the repeat
    becomes a fresh label tied to the first by an identity matrix) and may hold labels that no
    term has (the result is broadcast along them)."""
    used = set("".join(terms)) | set(target)
    fresh = (c for c in _LETTERS if c not in used)
    terms, tensors = list(terms), list(tensors)
    seen, labels = set(), []
    for c, n in zip(target, shape):
        if c in seen:
            d = next(fresh)
            terms.append(c + d)
            tensors.append(_eye(tensors[0], n))
            labels.append(d)
        else:
            seen.add(c)
            labels.append(c)
    have = set("".join(terms))
    kept = "".join(c for c in labels if c in have)
    r = Einsum.apply(*tensors, subscripts=tuple(terms), output=kept)
    if len(kept) < len(labels):
        r = r.reshape(tuple(n if c in have else 1 for c, n in zip(labels, shape))).expand(shape)
    return r


def _sublist_equation(args):
    """torch.einsum(op1, [0, 1], op2, [1, 2], [0, 2]) -> ('ab,bc->ac', [op1, op2])."""
    def letters(sub):
        return "".join("..." if s is Ellipsis else _LETTERS[s] for s in sub)
    n = len(args) // 2
    ops = list(args[0:2 * n:2])
    eq = ",".join(letters(s) for s in args[1:2 * n:2])
    if len(args) % 2:
        eq += "->" + letters(args[-1])
    return eq, ops


def _parse_einsum(equation, shapes):
    """Explicit labels per operand and for the output, with ``...`` spelled out as letters
    (right-aligned, so operands with fewer broadcast dimensions get the last ones)."""
    eq = equation.replace(" ", "")
    lhs, arrow, rhs = eq.partition("->")
    terms = lhs.split(",")
    if len(terms) != len(shapes):
        raise ValueError(f"einsum(): {len(terms)} operands in the equation {equation!r} but "
                         f"{len(shapes)} tensors were given")
    bad = set(eq) - set(_LETTERS) - set(".,->")
    if bad:
        raise ValueError(f"einsum(): invalid subscript {sorted(bad)[0]!r} in {equation!r}: "
                         "subscripts must be letters A-Z or a-z")
    for t in terms + [rhs]:
        if t.count("...") > 1 or "." in t.replace("...", ""):
            raise ValueError(f"einsum(): invalid subscripts {t!r} in {equation!r}")
    n_ell = []
    for k, (t, shape) in enumerate(zip(terms, shapes)):
        n = len(shape) - len(t.replace("...", ""))
        if n < 0 or (n > 0 and "..." not in t):
            raise ValueError(f"einsum(): the subscripts {t!r} of operand {k} do not match its "
                             f"{len(shape)} dimensions (shape {list(shape)})")
        n_ell.append(n)
    free = [c for c in _LETTERS if c not in eq]
    ell = "".join(free[:max(n_ell)])
    inputs = [t.replace("...", ell[len(ell) - n:]) for t, n in zip(terms, n_ell)]
    if not arrow:  # implicit output: broadcast dimensions, then labels seen once, sorted
        joined = lhs.replace("...", "").replace(",", "")
        return inputs, ell + "".join(sorted(c for c in set(joined) if joined.count(c) == 1))
    output = rhs.replace("...", ell)
    for c in output:
        if output.count(c) > 1:
            raise ValueError(f"einsum(): output subscript {c!r} appears more than once")
        if not any(c in t for t in inputs):
            raise ValueError(f"einsum(): output subscript {c!r} does not appear in the "
                             "equation for any input operand")
    return inputs, output


@public(method=False)
def einsum(equation, *operands):
    """Einstein summation with NumPy/PyTorch's equation language (``...``, implicit output,
    repeated labels for diagonals, size-1 dimensions broadcast); also the sublist form."""
    if not isinstance(equation, str):
        equation, operands = _sublist_equation((equation,) + operands)
    if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = tuple(operands[0])
    if not operands:
        raise ValueError("einsum(): must provide at least one operand")
    _same_dtype("einsum", *operands)
    subs, output, shapes = _einsum_plan(equation, tuple(tuple(t.shape) for t in operands))
    ops = [t if s is None else t.reshape(s) for t, s in zip(operands, shapes)]
    return Einsum.apply(*ops, subscripts=subs, output=output)


@functools.lru_cache(maxsize=512)
def _einsum_plan(equation, shapes):
    """Labels per operand and output, and the new shape of each operand whose size-1
    dimensions broadcast (those dimensions are dropped; None: keep the operand as it is)."""
    inputs, output = _parse_einsum(equation, shapes)
    sizes = {}
    for k, (labels, shape) in enumerate(zip(inputs, shapes)):
        for c, n in zip(labels, shape):
            if sizes.get(c, 1) not in (1, n) and n != 1:
                raise RuntimeError(f"einsum(): operands do not broadcast: subscript {c!r} has "
                                   f"size {n} for operand {k} (shape {list(shape)}) but size "
                                   f"{sizes[c]} elsewhere")
            sizes[c] = max(sizes.get(c, 1), n)
    subs, new_shapes = [], []
    for labels, shape in zip(inputs, shapes):
        keep = [sizes[c] == n for c, n in zip(labels, shape)]
        subs.append("".join(c for c, k in zip(labels, keep) if k))
        new_shapes.append(None if all(keep) else tuple(n for n, k in zip(shape, keep) if k))
    return tuple(subs), output, tuple(new_shapes)


# ----------------------------------------------------------------------------- cdist
class EuclideanCdist(Op):
    """dᵢⱼ = ‖x1ᵢ - x2ⱼ‖₂. With W = Ḡ / D (0 where D = 0):
    x̄1 = x1 · rowsum(W) - W x2,  x̄2 = x2 · colsum(W) - Wᵀ x1."""

    def forward(self, x1, x2, use_mm):
        self.retain_inputs(0, 1)
        self.retain_outputs(0)
        xp = backend.xp_of(x1)
        if use_mm:  # ‖a‖² + ‖b‖² - 2 a·b: one GEMM
            sq = ((x1 * x1).sum(-1)[..., :, None] + (x2 * x2).sum(-1)[..., None, :]
                  - 2 * (x1 @ xp.swapaxes(x2, -1, -2)))
            return xp.sqrt(xp.maximum(sq, 0))
        diff = x1[..., :, None, :] - x2[..., None, :, :]
        return xp.sqrt((diff * diff).sum(-1))

    def backward(self, g):
        x1, x2, d = self.saved_tensors
        zero = _const((d._data == 0).astype(d._data.dtype))
        w = g / (d + zero) * (1 - zero)
        g1 = x1 * w.sum(-1, keepdim=True) - w @ x2 if self.needs_input_grad[0] else None
        g2 = x2 * w.sum(-2).unsqueeze(-1) - w.mT @ x1 if self.needs_input_grad[1] else None
        return g1, g2, None


@public(method=False)
def cdist(x1, x2, p=2.0, compute_mode="use_mm_for_euclid_dist_if_necessary"):
    """Pairwise p-norm distances between the rows of x1 (..., P, M) and x2 (..., R, M)."""
    if x1.ndim < 2 or x2.ndim < 2:
        raise RuntimeError(f"cdist only supports at least 2D tensors, got: {x1.ndim}D and "
                           f"{x2.ndim}D")
    if x1.shape[-1] != x2.shape[-1]:
        raise RuntimeError(f"cdist: X1 and X2 must have the same number of columns. X1: "
                           f"{x1.shape[-1]} X2: {x2.shape[-1]}")
    if x1._data.dtype.kind != "f":
        raise RuntimeError(f"cdist only supports floating-point dtypes, X1 got: {x1.dtype}")
    _same_dtype("cdist", x1, x2)
    if p < 0:
        raise RuntimeError(f"cdist only supports non-negative p values, got {p}")
    if p == 2:
        use_mm = compute_mode == "use_mm_for_euclid_dist" or (
            compute_mode == "use_mm_for_euclid_dist_if_necessary"
            and (x1.shape[-2] > 25 or x2.shape[-2] > 25))
        return EuclideanCdist.apply(x1, x2, use_mm)
    return vector_norm(x1.unsqueeze(-2) - x2.unsqueeze(-3), p, dim=-1)


# ----------------------------------------------------------------------------- inverse, solves
class Inv(Op):
    """Y = A⁻¹; Ā = -Yᵀ Ḡ Yᵀ."""

    def forward(self, a):
        self.retain_outputs(0)
        return _lapack("linalg.inv", backend.xp_of(a).linalg.inv, a)

    def backward(self, g):
        (y,) = self.saved_tensors
        yt = y.mT
        return -(yt @ g @ yt)


def inv(A):
    """The inverse of each square matrix in A (..., n, n)."""
    _square_float("linalg.inv", A)
    return Inv.apply(A)


public(inv, name="inverse")


def inv_ex(A, *, check_errors=False):
    """``(inverse, info)``: info is 0 where A is invertible (errors raise here)."""
    out = inv(A)
    return InvEx(out, _const(backend.xp_of(A._data).zeros(A.shape[:-2], dtype=np.int32)))


class Solve(Op):
    """X = A⁻¹ B for B (..., n, k); B̄ = A⁻ᵀ Ḡ, Ā = -B̄ Xᵀ."""

    def forward(self, a, b):
        self.retain_inputs(0)
        self.retain_outputs(0)
        return _lapack("linalg.solve", backend.xp_of(a).linalg.solve, a, b)

    def backward(self, g):
        a, x = self.saved_tensors
        gb = Solve.apply(a.mT, g)
        ga = -(gb @ x.mT) if self.needs_input_grad[0] else None
        return ga, gb


def solve(A, B, *, left=True):
    """X with A X = B (or X A = B with ``left=False``); B is a vector when B.ndim == 1 or when
    B.shape == A.shape[:-1]."""
    _square_float("linalg.solve", A)
    _same_dtype("linalg.solve", A, B)
    vector = left and (B.ndim == 1 or (B.ndim == A.ndim - 1 and B.shape == A.shape[:-1]))
    if vector:
        B = B.unsqueeze(-1)
    n = A.shape[-1]
    if B.ndim < 2 or (B.shape[-2] if left else B.shape[-1]) != n:
        raise RuntimeError(f"linalg.solve: incompatible shapes of A {list(A.shape)} and B "
                           f"{list(B.shape)}")
    if left:
        X = Solve.apply(A, B)
    else:
        X = Solve.apply(A.mT, B.mT).mT
    return X.squeeze(-1) if vector else X


class SolveTriangular(Op):
    """X = A⁻¹ B with A triangular (only its triangle is read); B̄ = A⁻ᵀ Ḡ,
    Ā = -tri(B̄ Xᵀ) (the same triangle; strictly, with a unit diagonal)."""

    def forward(self, a, b, upper, unit):
        self.retain_inputs(0)
        self.retain_outputs(0)
        self.upper, self.unit = upper, unit
        return _triangular_solve_array(a, b, upper, unit)

    def backward(self, g):
        a, x = self.saved_tensors
        gb = SolveTriangular.apply(a.mT, g, not self.upper, self.unit)
        ga = None
        if self.needs_input_grad[0]:
            ga = -(gb @ x.mT) * _tri(a, a.shape[-1], self.upper, strict=self.unit)
        return ga, gb, None, None


def _triangular_solve_array(a, b, upper, unit):
    xp = backend.xp_of(a)
    n = a.shape[-1]
    if xp is np and a.ndim == 2:  # one LAPACK trtrs call for all right-hand sides
        import scipy.linalg
        rhs = b if b.ndim == 2 else np.moveaxis(b, -2, 0).reshape(n, -1)
        x = _lapack("linalg.solve_triangular", scipy.linalg.solve_triangular, a, rhs,
                    lower=not upper, unit_diagonal=unit, check_finite=False)
        if b.ndim == 2:
            return x.astype(a.dtype, copy=False)
        return np.moveaxis(x.reshape((n,) + b.shape[:-2] + b.shape[-1:]), 0, -2).astype(a.dtype)
    tri = xp.triu(a) if upper else xp.tril(a)
    if unit:
        idx = xp.arange(n)
        tri[..., idx, idx] = 1
    return _lapack("linalg.solve_triangular", xp.linalg.solve, tri, b)


def solve_triangular(A, B, *, upper, left=True, unitriangular=False):
    """X with A X = B (or X A = B) for triangular A: upper or lower, optionally unit diagonal."""
    _square_float("linalg.solve_triangular", A)
    _same_dtype("linalg.solve_triangular", A, B)
    if B.ndim < 2:
        raise RuntimeError(f"linalg.solve_triangular: B must have at least 2 dimensions, got "
                           f"shape {list(B.shape)}")
    n = A.shape[-1]
    if (B.shape[-2] if left else B.shape[-1]) != n:
        raise RuntimeError(f"linalg.solve_triangular: incompatible shapes of A {list(A.shape)} "
                           f"and B {list(B.shape)} (left={left})")
    if left:
        return SolveTriangular.apply(A, B, upper, unitriangular)
    return SolveTriangular.apply(A.mT, B.mT, not upper, unitriangular).mT


@public
def triangular_solve(input, A, upper=True, transpose=False, unitriangular=False):
    """Deprecated: ``(solution, cloned_coefficient)`` with A X = input (Aᵀ X with transpose)."""
    A_eff, up = (A.mT, not upper) if transpose else (A, upper)
    X = solve_triangular(A_eff, input, upper=up, unitriangular=unitriangular)
    return TriangularSolve(X, A.clone())


@public
def cholesky_solve(input, input2, upper=False):
    """X with A X = input where A = L Lᵀ (``input2`` = L), or A = Uᵀ U with ``upper``."""
    L = input2.mT if upper else input2
    Y = solve_triangular(L, input, upper=False)
    return solve_triangular(L.mT, Y, upper=True)


@public
def cholesky_inverse(input, upper=False):
    """A⁻¹ from the Cholesky factor of A."""
    return cholesky_solve(_eye(input, input.shape[-1]).expand(input.shape), input, upper)


# ----------------------------------------------------------------------------- determinants
class Det(Op):
    """d = det A; Ā = ḡ d A⁻ᵀ (A must be invertible for the gradient)."""

    def forward(self, a):
        self.retain_inputs(0)
        self.retain_outputs(0)
        return backend.xp_of(a).linalg.det(a)

    def backward(self, g):
        a, d = self.saved_tensors
        return (g * d).unsqueeze(-1).unsqueeze(-1) * inv(a).mT


class LogAbsDet(Op):
    """(sign, log|det A|); the gradient of log|det A| is A⁻ᵀ (sign is piecewise constant)."""

    def forward(self, a, nan_if_negative):
        self.retain_inputs(0)
        sign, logabs = backend.xp_of(a).linalg.slogdet(a)
        if nan_if_negative:  # logdet: log of a negative determinant is NaN
            return backend.xp_of(a).where(sign < 0, np.nan, logabs).astype(a.dtype)
        return sign, logabs

    def backward(self, *grads):
        (a,) = self.saved_tensors
        g = grads[-1]
        return g.unsqueeze(-1).unsqueeze(-1) * inv(a).mT, None


def det(A):
    """det A for each square matrix in A (..., n, n)."""
    _square_float("linalg.det", A)
    return Det.apply(A)


public(det, name="det")


def slogdet(A):
    """(sign, log|det A|): a stable determinant for large or tiny values."""
    _square_float("linalg.slogdet", A)
    return SlogDet(*LogAbsDet.apply(A, False))


public(slogdet, name="slogdet")


@public
def logdet(input):
    """log det A (NaN where det A < 0, -inf where it is 0)."""
    _square_float("logdet", input)
    return LogAbsDet.apply(input, True)


# ----------------------------------------------------------------------------- cholesky
class Cholesky(Op):
    """A = L Lᵀ with L lower triangular. dL = L Φ(L⁻¹ dA L⁻ᵀ), which gives
    Ā = sym(L⁻ᵀ Φ(Lᵀ tril(L̄)) L⁻¹), Φ = lower triangle with the diagonal halved."""

    def forward(self, a):
        self.retain_outputs(0)
        return _lapack("linalg.cholesky", backend.xp_of(a).linalg.cholesky, a)

    def backward(self, g):
        (L,) = self.saved_tensors
        n = L.shape[-1]
        P = (L.mT @ (g * _tri(L, n))) * _tri(L, n, diag=0.5)
        S = solve_triangular(L, solve_triangular(L.mT, P, upper=True), upper=False, left=False)
        return _sym(S)


def cholesky(A, *, upper=False):
    """The Cholesky factor of each symmetric positive-definite matrix: A = L Lᵀ (= Uᵀ U)."""
    _square_float("linalg.cholesky", A)
    L = Cholesky.apply(A)
    return L.mT if upper else L


@public(name="cholesky")
def _torch_cholesky(input, upper=False):
    return cholesky(input, upper=upper)


def cholesky_ex(A, *, upper=False, check_errors=False):
    """``(L, info)``; info is the order of the first leading minor that is not positive-definite
    (0 if none). When some matrix fails, the result has no gradient and the failing matrices'
    factors are NaN (PyTorch leaves LAPACK's partial factor there)."""
    _square_float("linalg.cholesky_ex", A)
    try:
        L = cholesky(A, upper=upper)
        return CholeskyEx(L, _const(backend.xp_of(A._data).zeros(A.shape[:-2], dtype=np.int32)))
    except LinAlgError:
        if check_errors:
            raise
    L, info = _cholesky_each(A._data)
    return CholeskyEx(_const(backend.xp_of(L).swapaxes(L, -1, -2) if upper else L), _const(info))


def _cholesky_each(a):
    """Factor matrix by matrix: NaN and the order of the first bad minor where one fails."""
    xp = backend.xp_of(a)
    n = a.shape[-1]
    flat = a.reshape((-1, n, n))
    L = xp.full(flat.shape, np.nan, dtype=a.dtype)
    info = xp.zeros(flat.shape[0], dtype=np.int32)
    for b in range(flat.shape[0]):
        try:
            L[b] = xp.linalg.cholesky(flat[b])
        except np.linalg.LinAlgError:
            info[b] = next(k for k in range(1, n + 1)
                           if not _is_positive_definite(xp, flat[b, :k, :k]))
    return L.reshape(a.shape), info.reshape(a.shape[:-2])


def _is_positive_definite(xp, m):
    try:
        xp.linalg.cholesky(m)
        return True
    except np.linalg.LinAlgError:
        return False


# ----------------------------------------------------------------------------- QR
class QRDecomposition(Op):
    """A = Q R (Householder, LAPACK's signs). For m ≥ n, with R̄, Q̄:
    Ā = [Q̄ + Q copyu(R̄ Rᵀ - Qᵀ Q̄)] R⁻ᵀ, copyu(M) = triu(M) + triu(M, 1)ᵀ.
    For m < n, A = [X | Y], R = [U | V]: X̄ from the square case with Q̄ + Y V̄ᵀ, Ȳ = Q V̄."""

    def forward(self, a, mode):
        self.retain_inputs(0)
        self.retain_outputs(0, 1)
        self.mode = mode
        xp = backend.xp_of(a)
        if mode == "r":
            r = xp.linalg.qr(a, mode="r")
            return xp.zeros((0,), dtype=a.dtype), r
        return tuple(xp.linalg.qr(a, mode=mode))

    def backward(self, gq, gr):
        a, Q, R = self.saved_tensors
        m, n = a.shape[-2:]
        if self.mode == "r":
            raise RuntimeError("linalg.qr: the derivative of mode='r' is not implemented; use "
                               "mode='reduced' (the gradient needs Q)")
        if self.mode == "complete" and m > n:
            raise RuntimeError("linalg.qr: the derivative of mode='complete' is not defined "
                               "when m > n (the extra columns of Q are not unique)")
        if m >= n:
            return _qr_square_backward(Q, R, gq, gr), None
        Y = a[..., :, m:]
        U, gU, gV = R[..., :, :m], gr[..., :, :m], gr[..., :, m:]
        gX = _qr_square_backward(Q, U, gq + Y @ gV.mT, gU)
        return cat([gX, Q @ gV], -1), None


def _qr_square_backward(Q, R, gQ, gR):
    M = gR @ R.mT - Q.mT @ gQ
    k = M.shape[-1]
    copyu = M * _tri(M, k, upper=True) + (M * _tri(M, k, upper=True, strict=True)).mT
    return solve_triangular(R.mT, gQ + Q @ copyu, upper=False, left=False)


def qr(A, mode="reduced"):
    """A = Q R: ``mode`` 'reduced' (Q m×k), 'complete' (Q m×m) or 'r' (R only, Q empty)."""
    _matrix_float("linalg.qr", A)
    if mode not in ("reduced", "complete", "r"):
        raise RuntimeError(f"linalg.qr: mode must be 'reduced', 'complete' or 'r', got {mode!r}")
    return QR(*QRDecomposition.apply(A, mode))


@public(name="qr")
def _torch_qr(input, some=True):
    return qr(input, "reduced" if some else "complete")


# ----------------------------------------------------------------------------- eigh
class EighDecomposition(Op):
    """A = V diag(λ) Vᵀ for symmetric A (λ ascending); Ā = V (diag(λ̄) + F ∘ skew(Vᵀ V̄)) Vᵀ,
    Fᵢⱼ = 1/(λⱼ - λᵢ), skew(X) = (X - Xᵀ)/2: valid for distinct eigenvalues."""

    def forward(self, a, uplo):
        self.retain_outputs(0, 1)
        return tuple(_lapack("linalg.eigh", backend.xp_of(a).linalg.eigh, a, UPLO=uplo))

    def backward(self, gl, gv):
        lam, V = self.saved_tensors
        n = lam.shape[-1]
        F = _offdiag(lam, n) / (lam.unsqueeze(-2) - lam.unsqueeze(-1) + _eye(lam, n))
        VtgV = V.mT @ gv
        inner = F * (VtgV - VtgV.mT) * 0.5 + _diag_embed(gl)
        return V @ inner @ V.mT, None


def eigh(A, UPLO="L"):
    """Eigenvalues (ascending) and orthonormal eigenvectors of symmetric matrices; only the
    ``UPLO`` ('L' or 'U') triangle is read."""
    _square_float("linalg.eigh", A)
    if UPLO not in ("L", "U"):
        raise RuntimeError(f"linalg.eigh: UPLO must be 'L' or 'U', got {UPLO!r}")
    return Eigh(*EighDecomposition.apply(A, UPLO))


def eigvalsh(A, UPLO="L"):
    """Eigenvalues (ascending) of symmetric matrices."""
    _square_float("linalg.eigvalsh", A)
    if _recording(A):
        return eigh(A, UPLO).eigenvalues
    return _const(backend.xp_of(A._data).linalg.eigvalsh(A._data, UPLO=UPLO))


# ----------------------------------------------------------------------------- SVD
class SVDecomposition(Op):
    """A = U diag(s) Vᵀ (s descending). With S = diag(s), Fᵢⱼ = 1/(sⱼ² - sᵢ²) (i ≠ j):
    Ā = U [J S + S K + diag(s̄)] Vᵀ + (I - UUᵀ) Ū S⁻¹ Vᵀ + U S⁻¹ V̄ᵀ (I - VVᵀ),
    J = F ∘ (UᵀŪ - ŪᵀU), K = F ∘ (VᵀV̄ - V̄ᵀV). Valid for distinct, non-zero singular values
    and losses that do not depend on the signs of the singular vectors."""

    def forward(self, a, full_matrices):
        self.retain_outputs(0, 1, 2)
        self.full = full_matrices
        return tuple(_lapack("linalg.svd", backend.xp_of(a).linalg.svd, a,
                             full_matrices=full_matrices))

    def backward(self, gu, gs, gvh):
        U, s, Vh = self.saved_tensors
        m, n, k = U.shape[-2], Vh.shape[-1], s.shape[-1]
        if self.full and m != n:  # the extra columns are arbitrary: no gradient can flow there
            if (m > k and gu._data[..., k:].any()) or (n > k and gvh._data[..., k:, :].any()):
                raise RuntimeError("linalg.svd: the derivative of full_matrices=True is not "
                                   "defined for the extra singular vectors; use "
                                   "full_matrices=False")
            U, gu, Vh, gvh = U[..., :k], gu[..., :k], Vh[..., :k, :], gvh[..., :k, :]
        return _svd_backward(U, s, Vh, gu, gs, gvh), None


def _svd_backward(U, s, Vh, gU, gs, gVh):
    m, n, k = U.shape[-2], Vh.shape[-1], s.shape[-1]
    V, gV = Vh.mT, gVh.mT
    s2 = s * s
    F = _offdiag(s, k) / (s2.unsqueeze(-2) - s2.unsqueeze(-1) + _eye(s, k))
    UtgU, VtgV = U.mT @ gU, V.mT @ gV
    J, K = F * (UtgU - UtgU.mT), F * (VtgV - VtgV.mT)
    row, col = s.unsqueeze(-1), s.unsqueeze(-2)
    gA = U @ (J * col + row * K + _diag_embed(gs)) @ Vh
    if m > k:
        gA = gA + ((gU - U @ UtgU) / col) @ Vh
    if n > k:
        gA = gA + U @ ((gV - V @ VtgV) / col).mT
    return gA


def svd(A, full_matrices=True, *, driver=None):
    """A = U diag(S) Vh; ``full_matrices=False`` gives the reduced factors (k = min(m, n))."""
    _matrix_float("linalg.svd", A)
    return SVD(*SVDecomposition.apply(A, full_matrices))


def svdvals(A, *, driver=None):
    """Singular values, descending."""
    _matrix_float("linalg.svdvals", A)
    if _recording(A):
        return svd(A, full_matrices=False).S
    return _const(backend.xp_of(A._data).linalg.svd(A._data, compute_uv=False))


@public(name="svd")
def _torch_svd(input, some=True, compute_uv=True):
    """Deprecated form: ``(U, S, V)`` with V (not Vh); ``some=False`` gives full U and V."""
    if not compute_uv:
        S = svdvals(input)
        m, n = input.shape[-2:]
        zeros = backend.xp_of(input._data).zeros
        dt = input._data.dtype
        return SVDv(_const(zeros(input.shape[:-2] + (m, m), dtype=dt)), S,
                    _const(zeros(input.shape[:-2] + (n, n), dtype=dt)))
    U, S, Vh = svd(input, full_matrices=not some)
    return SVDv(U, S, Vh.mT)


# ----------------------------------------------------------------------------- norms
class VectorNorm(Op):
    """y = (Σ|xᵢ|ᵖ)^(1/p) over ``dims``; ∂y/∂xᵢ = sign(xᵢ) |xᵢ|ᵖ⁻¹ / yᵖ⁻¹ (0 where xᵢ = 0 or
    y = 0, as PyTorch); p = ±inf: sign(xᵢ) on the entries reaching max/min |x|, shared equally
    between ties; p = 0 (count of non-zeros): 0."""

    def forward(self, x, p, dims, keepdim):
        xp = backend.xp_of(x)
        self.p, self.dims, self.keepdim, self.shape = p, dims, keepdim, x.shape
        if p == 2:
            if len(dims) == x.ndim and not keepdim:  # one BLAS dot over everything
                r = x.reshape(-1)
                y = xp.sqrt(xp.dot(r, r))
            else:
                y = xp.sqrt((x * x).sum(axis=dims, keepdims=keepdim))
        elif p == 0:
            y = (x != 0).sum(axis=dims, keepdims=keepdim).astype(x.dtype)
        else:
            ax = xp.abs(x)
            if math.isinf(p):
                if any(x.shape[d] == 0 for d in dims):
                    raise RuntimeError(f"linalg.vector_norm: cannot compute the {p} norm over an "
                                       f"empty dimension (input shape {list(x.shape)}, dim {dims})")
                y = (ax.max if p > 0 else ax.min)(axis=dims, keepdims=keepdim)
            elif p == 1:
                y = ax.sum(axis=dims, keepdims=keepdim)
            else:
                y = (ax ** p).sum(axis=dims, keepdims=keepdim) ** (1.0 / p)
        if self.requires_grad:
            self.retain_inputs(0)
            self.retain_outputs(0)
            if p not in (0, 2):
                self.sign = xp.sign(x)
                if math.isinf(p):  # ties share the gradient equally
                    hit = ax == (y if keepdim else xp.expand_dims(y, dims))
                    self.sign = self.sign * hit / hit.sum(axis=dims, keepdims=True)
        return xp.asarray(y, dtype=x.dtype)

    def backward(self, g):
        x, y = self.saved_tensors
        p = self.p

        def expand(t):
            return expand_reduced(t, self.shape, self.dims, self.keepdim)

        if p == 0:
            return expand(g) * 0, None, None, None
        if p == 2:
            zero = _const((y._data == 0).astype(y._data.dtype))
            return x * expand(g / (y + zero) * (1 - zero)), None, None, None
        sign = _const(self.sign)
        if p == 1 or math.isinf(p):
            return expand(g) * sign, None, None, None
        # sign(x)·|x|^(p-1) / y^(p-1), taken as 0 where x = 0 or y = 0 (as PyTorch), even for p < 1
        zero_x = _const((x._data == 0).astype(x._data.dtype))
        zero_y = _const((y._data == 0).astype(y._data.dtype))
        scale = expand(g * (1 - zero_y) / (y + zero_y).pow(p - 1))
        return scale * sign * (x * sign + zero_x).pow(p - 1) * (1 - zero_x), None, None, None


def vector_norm(x, ord=2, dim=None, keepdim=False, *, dtype=None):
    """‖x‖_ord over ``dim`` (all dimensions if None): ord = p > 0, 0 (count), inf, -inf."""
    if x._data.dtype.kind != "f":
        raise RuntimeError(f"linalg.vector_norm: expected a floating point tensor as input, got "
                           f"{x.dtype}")
    if dtype is not None:
        x = _widen(x, dtype, "linalg.vector_norm")
    if not isinstance(ord, numbers.Real) or isinstance(ord, bool):
        raise RuntimeError(f"linalg.vector_norm: ord must be a number, got {ord!r}")
    dims = normalize_dims(dim, x.ndim, "linalg.vector_norm")
    if ord < 0 and not math.isinf(ord) and x.numel() == 0:
        raise RuntimeError("linalg.vector_norm: negative orders need a non-empty input")
    return VectorNorm.apply(x, float(ord), dims, keepdim)


def _widen(x, dtype, opname):
    """``dtype=`` of the norms: the input is cast to it first, never to a narrower type."""
    dt = backend.to_dtype(dtype)
    if dt.itemsize < x.dtype.itemsize or not dt.is_floating_point:
        raise RuntimeError(f"{opname}: the dtype of the input ({x.dtype}) should be convertible "
                           f"without narrowing to the specified dtype ({dt})")
    return x.to(dt)


def matrix_norm(A, ord="fro", dim=(-2, -1), keepdim=False, *, dtype=None):
    """Matrix norms over the two dimensions ``dim``: 'fro', 'nuc' (Σ singular values),
    2 / -2 (largest / smallest singular value), 1 / -1 (max / min column Σ|a|),
    inf / -inf (max / min row Σ|a|)."""
    _matrix_float("linalg.matrix_norm", A)
    if dtype is not None:
        A = _widen(A, dtype, "linalg.matrix_norm")
    d0, d1 = (A._wrap_dim(d) for d in dim)
    if d0 == d1:
        raise RuntimeError(f"linalg.matrix_norm: dims must be different, got {tuple(dim)}")
    if ord == "fro":
        return vector_norm(A, 2, (d0, d1), keepdim)
    if ord in ("nuc", 2, -2):
        rest = [d for d in range(A.ndim) if d not in (d0, d1)]
        s = svdvals(A.permute(*rest, d0, d1))
        out = s.sum(-1) if ord == "nuc" else vector_norm(s, math.inf if ord == 2 else -math.inf,
                                                         -1)
        if keepdim:
            for d in sorted((d0, d1)):
                out = out.unsqueeze(d)
        return out
    if ord in (1, -1, math.inf, -math.inf):
        summed, other = (d0, d1) if abs(ord) == 1 else (d1, d0)
        sums = vector_norm(A, 1, summed, keepdim=True)
        out = vector_norm(sums, math.inf if ord > 0 else -math.inf, other, keepdim=True)
        return out if keepdim else out.squeeze((d0, d1))
    raise RuntimeError(f"linalg.matrix_norm: order {ord!r} is not supported (use 'fro', 'nuc', "
                       "2, -2, 1, -1, inf or -inf)")


def linalg_norm(A, ord=None, dim=None, keepdim=False, *, dtype=None):
    """A vector norm (``dim`` an int, or 1-D input) or a matrix norm (``dim`` a pair, or 2-D
    input); with ord and dim both None, the 2-norm of all the entries."""
    if isinstance(dim, int):
        dim = (dim,)
    if dim is not None and len(dim) == 2:
        return matrix_norm(A, "fro" if ord is None else ord, dim, keepdim, dtype=dtype)
    if dim is None and ord is not None:
        if A.ndim == 2:
            return matrix_norm(A, ord, (-2, -1), keepdim, dtype=dtype)
        if A.ndim != 1:
            raise RuntimeError(f"linalg.norm: with ord={ord!r}, input must be 1-D or 2-D or "
                               f"dim given, got shape {list(A.shape)}")
    return vector_norm(A, 2 if ord is None else ord, dim, keepdim, dtype=dtype)


@public
def norm(input, p="fro", dim=None, keepdim=False, dtype=None):
    """``torch.norm``: 'fro' (2-norm of the entries), 'nuc' (matrix), or a vector p-norm of the
    entries over ``dim`` (all of them if None)."""
    if p == "nuc":
        return matrix_norm(input, "nuc", (-2, -1) if dim is None else dim, keepdim, dtype=dtype)
    if p == "fro" or p is None:
        p = 2
    return vector_norm(input, p, dim, keepdim, dtype=dtype)


@public
def dist(input, other, p=2):
    """‖input - other‖_p over all entries (broadcasting)."""
    return vector_norm(input - other, p)


def cond(A, p=None):
    """Condition number: σ_max/σ_min for p in (None, 2), σ_min/σ_max for -2, otherwise
    ‖A‖_p ‖A⁻¹‖_p."""
    _matrix_float("linalg.cond", A)
    if p in (None, 2, -2):
        s = svdvals(A)
        hi, lo = s[..., 0], s[..., -1]
        return hi / lo if p != -2 else lo / hi
    return matrix_norm(A, p) * matrix_norm(inv(A), p)


# ----------------------------------------------------------------------------- pseudo-inverse
class PInv(Op):
    """X = A⁺ from the SVD (singular values below max(atol, rtol·σ_max) dropped). For constant
    rank: Ā = -Xᵀ Ḡ Xᵀ + (I - A X) Ḡᵀ X Xᵀ + Xᵀ X Ḡᵀ (I - X A)."""

    def forward(self, a, atol, rtol):
        self.retain_inputs(0)
        self.retain_outputs(0)
        xp = backend.xp_of(a)
        u, s, vh = _lapack("linalg.pinv", xp.linalg.svd, a, full_matrices=False)
        cutoff = xp.maximum(atol, rtol * s[..., :1]) if s.shape[-1] else 0
        inv_s = xp.where(s > cutoff, 1 / xp.where(s > cutoff, s, 1), 0).astype(a.dtype)
        return xp.swapaxes(vh, -1, -2) @ (inv_s[..., :, None] * xp.swapaxes(u, -1, -2))

    def backward(self, g):
        a, x = self.saved_tensors
        xt, gt = x.mT, g.mT
        T = gt @ x @ xt
        W = xt @ x @ gt
        return -(xt @ g @ xt) + (T - a @ (x @ T)) + (W - (W @ x) @ a), None, None


def _tolerances(A, atol, rtol):
    """PyTorch's default: rtol = eps·max(m, n) when neither is given, 0 when only atol is."""
    if rtol is None:
        rtol = 0.0 if (atol is not None and atol > 0) else \
            float(np.finfo(A._data.dtype).eps) * max(A.shape[-2:])
    return (0.0 if atol is None else float(atol)), float(rtol)


def pinv(A, *, atol=None, rtol=None, hermitian=False):
    """Moore-Penrose pseudo-inverse (through the SVD; ``hermitian`` is accepted for API parity)."""
    _matrix_float("linalg.pinv", A)
    atol, rtol = _tolerances(A, atol, rtol)
    return PInv.apply(A, atol, rtol)


@public
def pinverse(input, rcond=1e-15):
    return pinv(input, rtol=rcond)


def matrix_rank(A, *, atol=None, rtol=None, hermitian=False):
    """Number of singular values above max(atol, rtol·σ_max) (int64, not differentiable)."""
    _matrix_float("linalg.matrix_rank", A)
    atol, rtol = _tolerances(A, atol, rtol)
    xp = backend.xp_of(A._data)
    s = xp.linalg.svd(A._data, compute_uv=False)
    cutoff = xp.maximum(atol, rtol * s[..., :1]) if s.shape[-1] else 0
    return _const((s > cutoff).sum(-1).astype(np.int64))


def lstsq(A, B, rcond=None, *, driver=None):
    """Least-squares solution of A X ≈ B, X = A⁺ B (differentiable for full-rank A), with the
    residuals, rank and singular values that ``driver`` (default 'gelsy') reports."""
    _matrix_float("linalg.lstsq", A)
    _same_dtype("linalg.lstsq", A, B)
    driver = driver or "gelsy"
    if driver not in ("gels", "gelsy", "gelsd", "gelss"):
        raise RuntimeError(f"linalg.lstsq: driver must be one of gels, gelsy, gelsd, gelss; got "
                           f"{driver!r}")
    vector = B.ndim == A.ndim - 1
    Bm = B.unsqueeze(-1) if vector else B
    if Bm.shape[-2] != A.shape[-2]:
        raise RuntimeError(f"linalg.lstsq: A {list(A.shape)} and B {list(B.shape)} need the "
                           "same number of rows")
    X = pinv(A, rtol=rcond) @ Bm
    xp = backend.xp_of(A._data)
    empty = _const(xp.zeros((0,), dtype=A._data.dtype))
    m, n = A.shape[-2:]
    rank = matrix_rank(A, rtol=rcond) if driver != "gels" else _const(xp.zeros(0, np.int64))
    sv = svdvals(A.detach()) if driver in ("gelsd", "gelss") else empty
    residuals = empty
    if driver != "gelsy" and m > n and bool((rank._data == n).all() if rank.numel() else True):
        r = A @ X - Bm
        residuals = (r * r).sum(-2)
        if vector:
            residuals = residuals.squeeze(-1)
    return Lstsq(X.squeeze(-1) if vector else X, residuals, rank, sv)
