"""Positional information for attention, which by itself is permutation-equivariant (notes 002
"Attention-based models", 004 §12.2.1, ERRATA T7).

Sinusoidal encoding (Vaswani et al., 2017), added to the token embeddings; pair k shares one
frequency ω_k = base^(-2k/d):

    PE(p, 2k) = sin(p·ω_k),   PE(p, 2k+1) = cos(p·ω_k)

Learned positional embedding: a trained table P (max_len × d) with x_p ← x_p + P_p (BERT, GPT,
ViT).

Rotary embedding, RoPE (Su et al., 2021, "RoFormer"): rotate each pair (x_{2k}, x_{2k+1}) of a
query or key at position p by the angle p·ω_k,

    x'_{2k}   = x_{2k} cos pω_k − x_{2k+1} sin pω_k,
    x'_{2k+1} = x_{2k} sin pω_k + x_{2k+1} cos pω_k,

so that ⟨R_m q, R_n k⟩ = ⟨q, R_{n−m} k⟩ depends on the positions only through the offset n − m.
(``interleaved=False`` pairs x_k with x_{k+d/2} instead, the GPT-NeoX/LLaMA layout.) All three are
linear in x, so their derivatives are the same maps (rotations transpose to rotations by −θ).
"""
from __future__ import annotations

import numpy as np

from .. import backend, ops
from . import functional as F
from . import init
from .module import Module
from .parameter import Parameter

__all__ = ["sinusoidal_positional_encoding", "SinusoidalPositionalEncoding",
           "LearnedPositionalEmbedding", "rotary_cos_sin", "apply_rotary_emb", "RotaryEmbedding"]


def _angles(length, n, dim, base, offset):
    """p·ω_k, ω_k = base^(-2k/dim), for p in [offset, offset + length) and k < n: a float64
    NumPy array (length, n) (tables are built on the host, then moved to the device)."""
    freq = base ** (-2 * np.arange(n, dtype=np.float64) / dim)
    positions = offset + np.arange(length, dtype=np.float64)
    return positions[:, None] * freq[None, :]


def _check_length(length, offset, max_len, name):
    if offset < 0 or offset + length > max_len:
        raise ValueError(f"{name}: positions [{offset}, {offset + length}) do not fit max_len="
                         f"{max_len}")


def _seq_dim(x, batch_first, name):
    if x.ndim not in (2, 3):
        raise ValueError(f"{name}: expected input of shape (L, N, E), (N, L, E) with batch_first "
                         f"or unbatched (L, E), got {list(x.shape)}")
    return 1 if batch_first and x.ndim == 3 else 0


def _add_positions(x, table, seq_dim):
    """x + table (L, E), broadcast over the batch dim of x."""
    return x + (table.unsqueeze(1) if x.ndim == 3 and seq_dim == 0 else table)


# ----------------------------------------------------------------------------- sinusoidal
def sinusoidal_positional_encoding(length, d_model, base=10000.0, offset=0, dtype=None,
                                   device=None):
    """The (length, d_model) table PE(p, 2k) = sin(p ω_k), PE(p, 2k+1) = cos(p ω_k),
    ω_k = base^(-2k/d_model), for positions p = offset … offset + length − 1."""
    angles = _angles(length, (d_model + 1) // 2, d_model, base, offset)
    table = np.empty((length, d_model))
    table[:, 0::2] = np.sin(angles)
    table[:, 1::2] = np.cos(angles[:, :d_model // 2])
    dtype = dtype or backend.get_default_dtype()
    return ops.creation.tensor(table, dtype=dtype, device=device)


class SinusoidalPositionalEncoding(Module):
    """x ← Dropout(x + PE[offset : offset + L]) with the fixed sinusoidal table (no parameters;
    the table is a non-persistent buffer ``pe`` of shape (max_len, d_model)).

    Input (L, N, E), (N, L, E) with ``batch_first``, or unbatched (L, E)."""

    def __init__(self, d_model, max_len=5000, dropout=0.0, batch_first=False, base=10000.0,
                 device=None, dtype=None):
        super().__init__()
        self.d_model, self.max_len, self.batch_first = d_model, max_len, batch_first
        self.base = base
        self.p = dropout
        self.register_buffer("pe", sinusoidal_positional_encoding(max_len, d_model, base,
                                                                  dtype=dtype, device=device),
                             persistent=False)

    def forward(self, x, offset=0):
        seq = _seq_dim(x, self.batch_first, "SinusoidalPositionalEncoding")
        _check_length(x.shape[seq], offset, self.max_len, "SinusoidalPositionalEncoding")
        out = _add_positions(x, self.pe[offset:offset + x.shape[seq]], seq)
        return F.dropout(out, self.p, self.training) if self.p else out

    def extra_repr(self):
        return (f"d_model={self.d_model}, max_len={self.max_len}, dropout={self.p}, "
                f"batch_first={self.batch_first}")


# ----------------------------------------------------------------------------- learned
class LearnedPositionalEmbedding(Module):
    """x ← Dropout(x + P[offset : offset + L]) with a trained table ``weight`` (max_len, d_model),
    initialised N(0, init_std²).

    Input (L, N, E), (N, L, E) with ``batch_first``, or unbatched (L, E)."""

    def __init__(self, d_model, max_len=512, dropout=0.0, batch_first=False, init_std=0.02,
                 device=None, dtype=None):
        super().__init__()
        self.d_model, self.max_len, self.batch_first = d_model, max_len, batch_first
        self.p, self.init_std = dropout, init_std
        self.weight = Parameter(ops.creation.empty(max_len, d_model, dtype=dtype, device=device))
        self.reset_parameters()

    def reset_parameters(self):
        init.normal_(self.weight, 0.0, self.init_std)

    def forward(self, x, offset=0):
        seq = _seq_dim(x, self.batch_first, "LearnedPositionalEmbedding")
        _check_length(x.shape[seq], offset, self.max_len, "LearnedPositionalEmbedding")
        out = _add_positions(x, self.weight[offset:offset + x.shape[seq]], seq)
        return F.dropout(out, self.p, self.training) if self.p else out

    def extra_repr(self):
        return (f"d_model={self.d_model}, max_len={self.max_len}, dropout={self.p}, "
                f"batch_first={self.batch_first}")


# ----------------------------------------------------------------------------- rotary
def rotary_cos_sin(length, dim, base=10000.0, offset=0, dtype=None, device=None):
    """cos(p ω_k), sin(p ω_k) for positions offset … offset + length − 1 and k < dim/2, each of
    shape (length, dim/2)."""
    if dim % 2:
        raise ValueError(f"rotary_cos_sin: the rotated dim must be even, got {dim}")
    angles = _angles(length, dim // 2, dim, base, offset)
    dtype = dtype or backend.get_default_dtype()
    return (ops.creation.tensor(np.cos(angles), dtype=dtype, device=device),
            ops.creation.tensor(np.sin(angles), dtype=dtype, device=device))


def apply_rotary_emb(x, cos, sin, interleaved=True):
    """Rotate the pairs of the last dim of x (…, L, dim) by the angles whose cos/sin (L, dim/2)
    are given (see the module docstring); ``interleaved``: pairs (2k, 2k+1), else (k, k + dim/2)."""
    half = x.shape[-1] // 2
    if x.shape[-1] % 2 or tuple(cos.shape) != (x.shape[-2], half) or \
            tuple(sin.shape) != tuple(cos.shape):
        raise ValueError(f"apply_rotary_emb: x of shape {list(x.shape)} needs an even last dim "
                         f"and cos/sin of shape {[x.shape[-2], half]}, got {list(cos.shape)} "
                         f"and {list(sin.shape)}")
    if interleaved:
        pairs = x.unflatten(-1, (half, 2))
        x1, x2 = pairs[..., 0], pairs[..., 1]
        return ops.shape.stack([x1 * cos - x2 * sin, x1 * sin + x2 * cos], -1).flatten(-2)
    x1, x2 = x[..., :half], x[..., half:]
    return ops.shape.cat([x1 * cos - x2 * sin, x1 * sin + x2 * cos], -1)


class RotaryEmbedding(Module):
    """Rotary position embedding of the last ``dim`` features of queries/keys (…, L, head_dim):
    ``rope(x, offset)`` (or ``rope.rotate(x, offset)``) rotates position p = offset + i by p·ω_k.
    No parameters; cos/sin tables are computed for ``max_len`` positions and kept as
    non-persistent buffers. With dim < head_dim only the first ``dim`` features rotate.
    (The method is not called ``apply``: that name is Module.apply(fn).)"""

    def __init__(self, dim, max_len=4096, base=10000.0, interleaved=True, device=None,
                 dtype=None):
        super().__init__()
        self.dim, self.max_len, self.base, self.interleaved = dim, max_len, base, interleaved
        cos, sin = rotary_cos_sin(max_len, dim, base, dtype=dtype, device=device)
        self.register_buffer("cos", cos, persistent=False)
        self.register_buffer("sin", sin, persistent=False)

    def rotate(self, x, offset=0):
        length = x.shape[-2]
        _check_length(length, offset, self.max_len, "RotaryEmbedding")
        if x.shape[-1] < self.dim:
            raise ValueError(f"RotaryEmbedding: input of shape {list(x.shape)} has fewer than "
                             f"dim={self.dim} features")
        cos, sin = self.cos[offset:offset + length], self.sin[offset:offset + length]
        if x.dtype != cos.dtype:
            cos, sin = cos.to(x.dtype), sin.to(x.dtype)
        if x.shape[-1] == self.dim:
            return apply_rotary_emb(x, cos, sin, self.interleaved)
        rotated = apply_rotary_emb(x[..., :self.dim], cos, sin, self.interleaved)
        return ops.shape.cat([rotated, x[..., self.dim:]], -1)

    def forward(self, x, offset=0):
        return self.rotate(x, offset)

    def extra_repr(self):
        return f"dim={self.dim}, max_len={self.max_len}, base={self.base}, " \
               f"interleaved={self.interleaved}"
