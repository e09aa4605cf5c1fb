"""Attention score functions for encoder–decoder attention (notes 004 §12.1, Def 12.1 and
Example 12.1; 001 "Attention (Luong)"), and ``attend``, the softmax-weighted sum over keys.

A query s (a decoder state, shape (B, T_q, d_q)) is compared with every key h_j (an encoder
state, shape (B, T_k, d_k)); each module returns the scores e of shape (B, T_q, T_k):

- ``DotScore``:        e = sᵀh                              (notes eq 318; Luong et al. 2015 "dot")
- ``ScaledDotScore``:  e = sᵀh / √d                         (Vaswani et al. 2017)
- ``GeneralScore``:    e = sᵀ W h,  W ∈ ℝ^{d_q×d_k}         (Luong et al. 2015 "general"; bilinear)
- ``AdditiveScore``:   e = vᵀ tanh(W₁ s + W₂ h),  W₁ ∈ ℝ^{r×d_q}, W₂ ∈ ℝ^{r×d_k}, v ∈ ℝ^r
                                                        (Bahdanau et al. 2015; Luong's "concat")
- ``CosineScore``:     e = scale · sᵀh / (‖s‖ ‖h‖)          (notes eq 319)

then ``attend`` turns scores into weights α = softmax_j(e_j) over the unmasked keys (masked
positions get −∞ before the softmax, ERRATA T3: masks are additive) and returns the context
c = Σ_j α_j v_j (notes eq 323–324).

Every module splits its work into ``prepare_keys(keys)`` (everything that depends on the keys
only, e.g. W₂h) and ``score(query, prepared)``, so a decoder that queries the same encoder states
at every step computes the key side once; ``forward(query, keys)`` does both.

Gradients come from the ops used (matmul, tanh, normalize), so they are exact to any order.
"""
import math

import numpy as np

from .. import ops
from ..backend import bool_
from . import functional as F
from . import init
from .linear import Linear
from .module import Module
from .parameter import Parameter

__all__ = ["DotScore", "ScaledDotScore", "GeneralScore", "AdditiveScore", "CosineScore",
           "attend"]


def _check(name, query, keys, same_dim):
    if query.dim() != 3 or keys.dim() != 3 or query.shape[0] != keys.shape[0]:
        raise ValueError(f"{name}: expected query (B, T_q, d_q) and keys (B, T_k, d_k) with the "
                         f"same B, got query {tuple(query.shape)} and keys {tuple(keys.shape)}")
    if same_dim and query.shape[-1] != keys.shape[-1]:
        raise ValueError(f"{name}: query and keys need the same feature size, got query "
                         f"{tuple(query.shape)} and keys {tuple(keys.shape)}")


class _Score(Module):
    """Base: ``forward(query, keys) = score(query, prepare_keys(keys))``."""
    same_dim = True

    def prepare_keys(self, keys):
        return keys

    def score(self, query, prepared):
        raise NotImplementedError

    def forward(self, query, keys):
        _check(type(self).__name__, query, keys, self.same_dim)
        return self.score(query, self.prepare_keys(keys))


# ----------------------------------------------------------------------------- dot products
class DotScore(_Score):
    """e_ij = s_iᵀ h_j; ∂e_ij/∂s_i = h_j, ∂e_ij/∂h_j = s_i. Needs d_q = d_k."""

    def score(self, query, keys):
        return ops.linalg.matmul(query, keys.transpose(1, 2))


class ScaledDotScore(_Score):
    """e_ij = s_iᵀ h_j / √d with d = d_q = d_k, which keeps the scores' variance near 1 for
    unit-variance inputs."""

    def score(self, query, keys):
        return ops.linalg.matmul(query, keys.transpose(1, 2)) * (1.0 / math.sqrt(query.shape[-1]))


class GeneralScore(_Score):
    """e_ij = s_iᵀ W h_j (Luong's "general", a bilinear form); W has shape (query_dim, key_dim),
    so d_q ≠ d_k is allowed. prepare_keys computes W h_j; ∂e/∂W = Σ s_i h_jᵀ.

    Init: W ~ U(±1/√key_dim), like ``nn.Linear(key_dim, query_dim)``."""
    same_dim = False

    def __init__(self, query_dim, key_dim, device=None, dtype=None):
        super().__init__()
        self.query_dim, self.key_dim = query_dim, key_dim
        self.weight = Parameter(ops.creation.empty(query_dim, key_dim, dtype=dtype, device=device))
        self.reset_parameters()

    def reset_parameters(self):
        bound = 1 / math.sqrt(self.key_dim)
        init.uniform_(self.weight, -bound, bound)

    def prepare_keys(self, keys):
        return F.linear(keys, self.weight)                 # (B, T_k, d_q): rows W h_j

    def score(self, query, prepared):
        return ops.linalg.matmul(query, prepared.transpose(1, 2))

    def extra_repr(self):
        return f"query_dim={self.query_dim}, key_dim={self.key_dim}"


class CosineScore(_Score):
    """e_ij = scale · s_iᵀh_j / (max(‖s_i‖, eps) · max(‖h_j‖, eps)): the dot product of the
    unit vectors, in [−scale, scale]. (A scale above 1 sharpens the otherwise flat softmax.)"""

    def __init__(self, scale=1.0, eps=1e-8):
        super().__init__()
        self.scale, self.eps = scale, eps

    def prepare_keys(self, keys):
        return F.normalize(keys, dim=-1, eps=self.eps)

    def score(self, query, prepared):
        e = ops.linalg.matmul(F.normalize(query, dim=-1, eps=self.eps), prepared.transpose(1, 2))
        return e if self.scale == 1.0 else e * self.scale

    def extra_repr(self):
        return f"scale={self.scale}, eps={self.eps}"


# ----------------------------------------------------------------------------- additive
class AdditiveScore(_Score):
    """e_ij = vᵀ tanh(W₁ s_i + W₂ h_j) (Bahdanau's alignment model; the notes' additive attention
    with r = attn_dim). Broadcasting (B, T_q, 1, r) + (B, 1, T_k, r) forms every pair at once.
    With u = tanh(·): ∂e/∂v = u, ∂e/∂(W₁s + W₂h) = v ⊙ (1 − u²).

    Init: W₁, W₂ like ``nn.Linear`` without bias, v ~ U(±1/√attn_dim)."""
    same_dim = False

    def __init__(self, query_dim, key_dim, attn_dim, device=None, dtype=None):
        super().__init__()
        self.query_dim, self.key_dim, self.attn_dim = query_dim, key_dim, attn_dim
        self.query_proj = Linear(query_dim, attn_dim, bias=False, device=device, dtype=dtype)
        self.key_proj = Linear(key_dim, attn_dim, bias=False, device=device, dtype=dtype)
        self.v = Parameter(ops.creation.empty(attn_dim, dtype=dtype, device=device))
        bound = 1 / math.sqrt(attn_dim)
        init.uniform_(self.v, -bound, bound)

    def prepare_keys(self, keys):
        return self.key_proj(keys)                         # (B, T_k, r): W₂ h_j

    def score(self, query, prepared):
        hidden = (self.query_proj(query).unsqueeze(2) + prepared.unsqueeze(1)).tanh()
        return ops.linalg.matmul(hidden, self.v)           # (B, T_q, T_k)

    def extra_repr(self):
        return f"query_dim={self.query_dim}, key_dim={self.key_dim}, attn_dim={self.attn_dim}"


# ----------------------------------------------------------------------------- weights
def attend(scores, values, mask=None):
    """(context, weights) for scores (B, T_q, T_k) and values (B, T_k, d_v).

    weights α_ij = exp(e_ij + m_ij) / Σ_j' exp(e_ij' + m_ij') with m_ij = −∞ where ``mask`` is
    True (a bool tensor broadcastable to (B, T_q, T_k), e.g. (B, 1, T_k) for source padding;
    True marks a key that may NOT be attended, as in ``nn.MultiheadAttention``) and 0 elsewhere;
    context c_i = Σ_j α_ij v_j, shape (B, T_q, d_v). A query whose keys are all masked gets
    zero weights and a zero context (instead of the softmax's NaN)."""
    if scores.dim() != 3 or values.dim() != 3 or scores.shape[0] != values.shape[0] \
            or scores.shape[2] != values.shape[1]:
        raise ValueError(f"attend: expected scores (B, T_q, T_k) and values (B, T_k, d_v), got "
                         f"scores {tuple(scores.shape)} and values {tuple(values.shape)}")
    if mask is None:
        weights = F.softmax(scores, dim=-1)
    else:
        if mask.dtype is not bool_:
            raise TypeError(f"attend: mask must be a bool tensor, got {mask.dtype}")
        empty = mask.all(dim=-1, keepdim=True)             # rows with nothing to attend to
        if bool(np.any(empty.numpy(force=True))):          # unmask them (no NaN), zero after
            weights = F.softmax(scores.masked_fill(mask & ~empty, float("-inf")), dim=-1)
            weights = weights.masked_fill(empty, 0.0)
        else:
            weights = F.softmax(scores.masked_fill(mask, float("-inf")), dim=-1)
    return ops.linalg.matmul(weights, values), weights
