"""Ready-made parametrizations (see :mod:`.parametrize`): weight norm, spectral norm, orthogonal.

weight_norm (Salimans & Kingma, 2016) writes ``w = g · v / ‖v‖``, the norm taken over every
dimension except ``dim`` (over all of them when ``dim`` is None or -1); g holds the length and v
the direction, so gradient descent can change them separately.

spectral_norm (Miyato et al., 2018) writes ``w = W / σ(W)``, σ the largest singular value of W
reshaped to a matrix (``dim`` first). σ is estimated by power iteration that persists across
calls: in training mode each access first runs ``u ← normalize(W v)`` then
``v ← normalize(Wᵀ u)``; then ``σ = uᵀ W v`` with u and v held fixed (constants) for the
gradient. The Lipschitz constant of the layer is thus kept near 1 (GAN critics).

orthogonal keeps a matrix (or a batch of them) orthogonal, ``QᵀQ = I`` for tall Q (``QQᵀ = I``
for wide), by mapping an unconstrained X onto the orthogonal matrices: ``matrix_exp`` and
``cayley`` use the skew-symmetric ``A = tril(X) − tril(X)ᵀ`` and give ``exp(A)`` or
``(I − A/2)⁻¹(I + A/2)``; ``householder`` gives the product of reflections ``Hᵢ = I − τᵢvᵢvᵢᵀ``
built from the columns of X below the diagonal. With ``use_trivialization=True`` the result is
multiplied on the left by a fixed orthogonal ``base`` (a buffer set by ``right_inverse``), so
training moves around the current point instead of around the identity.
"""
import math

import numpy as np
import scipy.linalg

from ... import backend
from ..._tensor import Tensor
from ...autograd import no_grad
from ...ops.creation import eye as _eye, tensor as _tensor, zeros_like as _zeros_like
from ...ops.random import randn as _randn
from ...ops.shape import cat as _cat
from ...ops.linalg import qr as _qr, solve as _solve, vector_norm as _vector_norm
from .. import functional as F
from ..conv import ConvTranspose1d, ConvTranspose2d
from ..module import Module
from . import parametrize

__all__ = ["weight_norm", "spectral_norm", "orthogonal"]


def _norm_except_dim(v, dim):
    """‖v‖₂ over every dimension except ``dim``, kept as size-1 dims (a 0-d tensor for dim=-1)."""
    if dim == -1:
        return _vector_norm(v)
    dim = v._wrap_dim(dim)
    return _vector_norm(v, 2, tuple(d for d in range(v.ndim) if d != dim), keepdim=True)


def _weight_norm(v, g, dim):
    """w = g · v / ‖v‖ (norm over every dim but ``dim``); differentiable in g and v."""
    return v * (g / _norm_except_dim(v, dim))


class _WeightNorm(Module):
    """forward(g, v) = g · v / ‖v‖; right_inverse(w) = (‖w‖, w)."""

    def __init__(self, dim=0):
        super().__init__()
        self.dim = -1 if dim is None else dim

    def forward(self, weight_g, weight_v):
        return _weight_norm(weight_v, weight_g, self.dim)

    def right_inverse(self, weight):
        return _norm_except_dim(weight, self.dim), weight


def weight_norm(module, name="weight", dim=0):
    """Reparametrize ``module.<name>`` as ``g · v / ‖v‖``: g is
    ``module.parametrizations.<name>.original0`` and v ``…original1``; returns ``module``."""
    parametrize.register_parametrization(module, name, _WeightNorm(dim), unsafe=True)
    return module


class _SpectralNorm(Module):
    """forward(W) = W / σ, σ ≈ the top singular value of W by persistent power iteration (buffers
    ``_u``, ``_v``); 1-d weights are just normalized to unit length."""

    def __init__(self, weight, n_power_iterations=1, dim=0, eps=1e-12):
        super().__init__()
        ndim = weight.ndim
        if dim >= ndim or dim < -ndim:
            raise IndexError(f"spectral_norm: Dimension out of range (expected to be in range of "
                             f"[{-ndim}, {ndim - 1}] but got {dim})")
        if n_power_iterations <= 0:
            raise ValueError("Expected n_power_iterations to be positive, but got "
                             f"n_power_iterations={n_power_iterations}")
        self.dim = dim if dim >= 0 else dim + ndim
        self.eps = eps
        if ndim > 1:
            self.n_power_iterations = n_power_iterations
            w = self._reshape_weight_to_matrix(weight)
            h, wd = w.shape
            self.register_buffer("_u", F.normalize(w.new_empty(h).normal_(0, 1), dim=0, eps=eps))
            self.register_buffer("_v", F.normalize(w.new_empty(wd).normal_(0, 1), dim=0, eps=eps))
            self._power_method(w, 15)

    def _reshape_weight_to_matrix(self, weight):
        if self.dim != 0:
            weight = weight.permute(self.dim, *(d for d in range(weight.ndim) if d != self.dim))
        return weight.flatten(1)

    def _power_method(self, weight_mat, n_power_iterations):
        """u ← normalize(W v), v ← normalize(Wᴴ u), repeated; updates the buffers in place."""
        with no_grad():
            for _ in range(n_power_iterations):
                self._u.copy_(F.normalize(weight_mat.mv(self._v), dim=0, eps=self.eps))
                self._v.copy_(F.normalize(weight_mat.mH.mv(self._u), dim=0, eps=self.eps))

    def forward(self, weight):
        if weight.ndim == 1:
            return F.normalize(weight, dim=0, eps=self.eps)
        weight_mat = self._reshape_weight_to_matrix(weight)
        if self.training:
            self._power_method(weight_mat, self.n_power_iterations)
        u, v = self._u.clone(), self._v.clone()
        sigma = (u * weight_mat.mv(v)).sum()
        return weight / sigma

    def right_inverse(self, value):
        return value


def spectral_norm(module, name="weight", n_power_iterations=1, eps=1e-12, dim=None):
    """Reparametrize ``module.<name>`` as ``W / σ(W)`` (spectral normalization); returns ``module``.

    ``dim`` (default 0, or 1 for transposed convolutions) is the output-channel dimension that
    becomes the rows of the matrix whose top singular value is estimated."""
    weight = getattr(module, name, None)
    if not isinstance(weight, Tensor):
        raise ValueError(f"Module '{module}' has no parameter or buffer with name '{name}'")
    if dim is None:
        dim = 1 if isinstance(module, (ConvTranspose1d, ConvTranspose2d)) else 0
    parametrize.register_parametrization(
        module, name, _SpectralNorm(weight, n_power_iterations, dim, eps))
    return module


# ---------------------------------------------------------------------------- orthogonal
def _matrix_exp(A):
    """exp(A) = Σⱼ Aʲ/j! by scaling and squaring: exp(A) = exp(A/2ˢ)^(2ˢ) with ‖A/2ˢ‖₁ ≤ 1/2, so 18
    Taylor terms are exact to rounding. Built from matmuls, hence differentiable to any order."""
    norm = float(A.detach().abs().sum(-2).max()) if A.numel() else 0.0
    s = max(0, math.ceil(math.log2(norm)) + 1) if norm > 0 else 0
    X = A / 2.0 ** s
    term = result = _eye(A.shape[-1], dtype=A.dtype, device=A.device).expand(*A.shape)
    for j in range(1, 19):
        term = (term @ X) / j
        result = result + term
    for _ in range(s):
        result = result @ result
    return result


def _householder_product(A, tau):
    """Q = H₀H₁…H_{k−1}·I[:, :k] with Hᵢ = I − τᵢvᵢvᵢᵀ and vᵢ = eᵢ + (column i of A below the
    diagonal): the first k columns of the product of k reflections (Tensor ops, differentiable)."""
    n, k = A.shape[-2], A.shape[-1]
    eye_nk = _eye(n, k, dtype=A.dtype, device=A.device)
    V = A.tril(-1) + eye_nk
    Q = eye_nk.expand(*A.shape)
    for i in reversed(range(k)):
        v = V[..., :, i:i + 1]
        Q = Q - (tau[..., i:i + 1].unsqueeze(-1) * v) @ (v.mT @ Q)
    return Q


def _make_orthogonal(A):
    """The Q of A = QR (A tall) normalized so that diag(R) ≥ 0 (which makes it unique)."""
    Q, R = _qr(A)
    return Q * R.diagonal(dim1=-2, dim2=-1).sign().unsqueeze(-2)


def _is_orthogonal(Q):
    """QᵀQ ≈ I within 10·n·eps (plus 1e-5 relative on the diagonal)."""
    k = Q.shape[-1]
    eps = 10.0 * Q.shape[-2] * float(np.finfo(Q.dtype.np).eps)
    eye = _eye(k, dtype=Q.dtype, device=Q.device)
    return bool(((Q.mT @ Q) - eye).abs().le(eps + 1e-5 * eye).all())


def _geqrf(Q):
    """LAPACK's compact QR of each matrix: R on and above the diagonal, the Householder vectors
    below it, and their scales τ (no gradient)."""
    arr = backend.move(Q.detach()._data, backend.device("cpu"))
    n, k = arr.shape[-2:]
    geqrf, = scipy.linalg.get_lapack_funcs(("geqrf",), (arr,))
    mats, taus = [], []
    for m in arr.reshape(-1, n, k):
        qr, tau, _, _ = geqrf(m)
        mats.append(qr)
        taus.append(tau)
    A = np.stack(mats).reshape(arr.shape)
    tau = np.stack(taus).reshape(arr.shape[:-2] + (min(n, k),))
    return _tensor(A, device=Q.device), _tensor(tau, device=Q.device)


_ORTHOGONAL_MAPS = ("matrix_exp", "cayley", "householder")


class _Orthogonal(Module):
    """forward(X): an orthogonal matrix of X's shape from the unconstrained X (see module docs)."""

    def __init__(self, weight, orthogonal_map, *, use_trivialization=True):
        super().__init__()
        self.shape = tuple(weight.shape)
        self.orthogonal_map = orthogonal_map
        if use_trivialization:
            self.register_buffer("base", None)

    def forward(self, X):
        n, k = X.shape[-2], X.shape[-1]
        transposed = n < k
        if transposed:
            X = X.mT
            n, k = k, n
        if self.orthogonal_map in ("matrix_exp", "cayley"):
            X = X.tril()
            if n != k:  # embed the tall n×k matrix into a square one
                X = _cat([X, X.new_zeros(n, n - k).expand(*X.shape[:-2], n, n - k)], dim=-1)
            A = X - X.mT  # skew-symmetric
            if self.orthogonal_map == "matrix_exp":
                Q = _matrix_exp(A)
            else:
                eye = _eye(n, dtype=A.dtype, device=A.device)
                Q = _solve(eye - 0.5 * A, eye + 0.5 * A)
            if n != k:
                Q = Q[..., :k]
        else:
            A = X.tril(-1)
            tau = 2.0 / (1.0 + (A * A).sum(dim=-2))
            # X's diagonal holds ±1 (the sign of each reflection); it is not trained
            signs = X.diagonal(dim1=-2, dim2=-1).detach().trunc()
            Q = _householder_product(A, tau) * signs.unsqueeze(-2)
        if "base" in self._buffers:
            Q = self.base @ Q
        return Q.mT if transposed else Q

    def right_inverse(self, Q):
        """An X with forward(X) = Q: with a base, base = Q (completed to a square orthogonal
        matrix, orthogonalized if needed) and X = −I; without, the Householder form of Q."""
        with no_grad():
            if tuple(Q.shape) != self.shape:
                raise ValueError(f"Expected a matrix or batch of matrices of shape {self.shape}. "
                                 f"Got a tensor of shape {tuple(Q.shape)}.")
            q_init = Q
            n, k = Q.shape[-2], Q.shape[-1]
            transposed = n < k
            if transposed:
                Q = Q.mT
                n, k = k, n
            if "base" not in self._buffers:
                if self.orthogonal_map != "householder":
                    raise NotImplementedError("It is not possible to assign to the matrix "
                                              "exponential or the Cayley parametrizations when "
                                              "use_trivialization=False.")
                A, tau = _geqrf(Q)
                diag = A.diagonal(dim1=-2, dim2=-1)
                diag.copy_(diag.sign() * (1 - 2 * (tau == 0.0).to(A.dtype)))
                return A.mT if transposed else A
            if n != k:  # complete Q to a full n×n orthogonal matrix
                N = _randn(*Q.shape[:-2], n, n - k, dtype=Q.dtype, device=Q.device)
                Q = _make_orthogonal(_cat([Q, N], dim=-1))
            elif not _is_orthogonal(Q):
                Q = _make_orthogonal(Q)
            else:
                Q = Q.clone()
            self.base = Q
            neg_eye = _zeros_like(q_init)
            neg_eye.diagonal(dim1=-2, dim2=-1).fill_(-1.0)
            return neg_eye


def orthogonal(module, name="weight", orthogonal_map=None, *, use_trivialization=True):
    """Constrain ``module.<name>`` (a matrix or batch of matrices) to be orthogonal; returns
    ``module``. ``orthogonal_map`` is "matrix_exp" (default for square), "cayley" or
    "householder" (default otherwise); the current value is kept when it is already orthogonal
    (else it is replaced by the Q of its QR decomposition)."""
    weight = getattr(module, name, None)
    if not isinstance(weight, Tensor):
        raise ValueError(f"Module '{module}' has no parameter or buffer with name '{name}'")
    if weight.ndim < 2:
        raise ValueError(f"Expected a matrix or batch of matrices. Got a tensor of {weight.ndim} dimensions.")
    if orthogonal_map is None:
        orthogonal_map = "matrix_exp" if weight.shape[-2] == weight.shape[-1] else "householder"
    if orthogonal_map not in _ORTHOGONAL_MAPS:
        raise ValueError('orthogonal_map has to be one of "matrix_exp", "cayley", "householder". '
                         f"Got: {orthogonal_map}")
    orth = _Orthogonal(weight, orthogonal_map, use_trivialization=use_trivialization)
    parametrize.register_parametrization(module, name, orth, unsafe=True)
    return module
