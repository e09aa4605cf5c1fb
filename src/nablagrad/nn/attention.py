"""Multi-head attention (Vaswani et al., 2017, "Attention Is All You Need"; notes 002
"Attention-based models", 004 §12, ERRATA T1–T6, T9).

For a query sequence X_q (L×E) and key/value sequences X_k (S×kdim), X_v (S×vdim), head h of
H heads (head_dim d = E/H) computes

    Q_h = X_q W_qʰᵀ + b_qʰ,   K_h = X_k W_kʰᵀ + b_kʰ,   V_h = X_v W_vʰᵀ + b_vʰ
    A_h = softmax(Q_h K_hᵀ / √d + M)          (row-wise; M the additive mask, -inf = blocked)
    O_h = A_h V_h

and the layer returns MultiHead = [O_1 … O_H] W_oᵀ + b_o (L×E) and, on request, the weights
A_h (averaged over heads by default). Derivatives follow from the ops used (linear maps,
softmax: dA = A ⊙ (dA' - Σ_j A dA'), matmuls), so they are twice differentiable.

PyTorch's conventions (ERRATA T3): a float mask is added to the scores; in a boolean
``attn_mask`` or ``key_padding_mask`` True means "may NOT attend" (the opposite of
``F.scaled_dot_product_attention``, where True means "may attend").
"""
from __future__ import annotations

import math

from .. import backend, ops
from . import functional as F
from . import init
from .linear import Linear
from .module import Module
from .parameter import Parameter

__all__ = ["MultiheadAttention", "multi_head_attention_forward"]


# ----------------------------------------------------------------------------- masks
def _canonical_mask(mask, name, dtype):
    """A float additive mask (-inf where a bool mask is True), or the float mask as given."""
    if mask is None:
        return None
    if mask.dtype == backend.bool_:
        return ops.creation.zeros(tuple(mask.shape), dtype=dtype,
                                  device=mask.device).masked_fill(mask, -math.inf)
    if not mask.is_floating_point():
        raise TypeError(f"multi_head_attention_forward: only bool and floating types of {name} "
                        f"are supported, got {mask.dtype}")
    return mask


def _check_shapes(query, key, value, key_padding_mask, attn_mask, num_heads):
    """True for batched (3-D) input; clear errors for the shapes PyTorch rejects."""
    name = "multi_head_attention_forward"
    if query.ndim not in (2, 3):
        raise ValueError(f"{name}: query should be unbatched 2D or batched 3D, got "
                         f"{query.ndim}-D shape {list(query.shape)}")
    batched = query.ndim == 3
    if key.ndim != query.ndim or value.ndim != query.ndim:
        raise ValueError(f"{name}: for {query.ndim}-D query, key and value should be "
                         f"{query.ndim}-D, got {list(key.shape)} and {list(value.shape)}")
    if key_padding_mask is not None and key_padding_mask.ndim != query.ndim - 1:
        raise ValueError(f"{name}: for {query.ndim}-D query, key_padding_mask should be "
                         f"{query.ndim - 1}-D, got shape {list(key_padding_mask.shape)}")
    if attn_mask is not None and attn_mask.ndim not in (2, 3):
        raise ValueError(f"{name}: attn_mask should be 2-D or 3-D, got shape "
                         f"{list(attn_mask.shape)}")
    if not batched and attn_mask is not None and attn_mask.ndim == 3 and \
            attn_mask.shape[0] != num_heads:
        raise ValueError(f"{name}: for unbatched query a 3-D attn_mask must have shape "
                         f"({num_heads}, L, S), got {list(attn_mask.shape)}")
    return batched


def _head_mask(attn_mask, key_padding_mask, bsz, num_heads, tgt_len, src_len):
    """attn_mask (L, S) or (N·H, L, S) and key_padding_mask (N, S), both float, merged into one
    additive mask broadcastable to the scores (N, H, L, S)."""
    name = "multi_head_attention_forward"
    mask = None
    if attn_mask is not None:
        if attn_mask.ndim == 2:
            if tuple(attn_mask.shape) != (tgt_len, src_len):
                raise RuntimeError(f"{name}: the shape of the 2D attn_mask is "
                                   f"{list(attn_mask.shape)}, but should be {[tgt_len, src_len]}")
            mask = attn_mask
        else:
            if tuple(attn_mask.shape) != (bsz * num_heads, tgt_len, src_len):
                raise RuntimeError(f"{name}: the shape of the 3D attn_mask is "
                                   f"{list(attn_mask.shape)}, but should be "
                                   f"{[bsz * num_heads, tgt_len, src_len]}")
            mask = attn_mask.reshape(bsz, num_heads, tgt_len, src_len)
    if key_padding_mask is not None:
        if tuple(key_padding_mask.shape) != (bsz, src_len):
            raise RuntimeError(f"{name}: expected key_padding_mask of shape {[bsz, src_len]}, "
                               f"got {list(key_padding_mask.shape)}")
        kpm = key_padding_mask.reshape(bsz, 1, 1, src_len)
        mask = kpm if mask is None else mask + kpm
    return mask


# ----------------------------------------------------------------------------- projections
def _in_projection(query, key, value, w, b, w_q, w_k, w_v, embed_dim):
    """Q, K, V = X W_{q,k,v}ᵀ + b_{q,k,v}: one matmul for self-attention with packed weights,
    two when key is value, else three."""
    E = embed_dim
    b_q, b_k, b_v = (None,) * 3 if b is None else (b[:E], b[E:2 * E], b[2 * E:])
    if w is None:
        return F.linear(query, w_q, b_q), F.linear(key, w_k, b_k), F.linear(value, w_v, b_v)
    if query is key and key is value:
        return F.linear(query, w, b).chunk(3, -1)
    q = F.linear(query, w[:E], b_q)
    if key is value:
        k, v = F.linear(key, w[E:], None if b is None else b[E:]).chunk(2, -1)
        return q, k, v
    return q, F.linear(key, w[E:2 * E], b_k), F.linear(value, w[2 * E:], b_v)


def _split_heads(x, num_heads):
    """(S, N, E) → (N, H, S, E/H) as a view."""
    S, N, E = x.shape
    return x.reshape(S, N, num_heads, E // num_heads).permute(1, 2, 0, 3)


# ----------------------------------------------------------------------------- functional form
def multi_head_attention_forward(query, key, value, embed_dim_to_check, num_heads,
                                 in_proj_weight, in_proj_bias, bias_k, bias_v, add_zero_attn,
                                 dropout_p, out_proj_weight, out_proj_bias, training=True,
                                 key_padding_mask=None, need_weights=True, attn_mask=None,
                                 use_separate_proj_weight=False, q_proj_weight=None,
                                 k_proj_weight=None, v_proj_weight=None, static_k=None,
                                 static_v=None, average_attn_weights=True, is_causal=False):
    """Multi-head attention on sequence-first input: query (L, N, E) or unbatched (L, E), key
    (S, N, kdim), value (S, N, vdim). Returns (output (L, N, E), weights (N, L, S) averaged over
    heads, (N, H, L, S) if not ``average_attn_weights``, or None if not ``need_weights``).

    ``is_causal`` is a hint that ``attn_mask`` (required) is the causal mask: without weights or
    a key padding mask the causal mask is applied and ``attn_mask`` itself is not read."""
    name = "multi_head_attention_forward"
    batched = _check_shapes(query, key, value, key_padding_mask, attn_mask, num_heads)
    if not batched:
        query, key, value = (t.unsqueeze(1) for t in (query, key, value))
        if key_padding_mask is not None:
            key_padding_mask = key_padding_mask.unsqueeze(0)
    tgt_len, bsz, embed_dim = query.shape
    if embed_dim != embed_dim_to_check:
        raise ValueError(f"{name}: was expecting embedding dimension of {embed_dim_to_check}, "
                         f"but got {embed_dim} (query of shape {list(query.shape)})")
    if embed_dim % num_heads:
        raise ValueError(f"{name}: embed_dim {embed_dim} not divisible by num_heads {num_heads}")
    if tuple(key.shape[:2]) != tuple(value.shape[:2]) or key.shape[1] != bsz:
        raise ValueError(f"{name}: key of shape {list(key.shape)} and value of shape "
                         f"{list(value.shape)} must share the sequence and batch dims, and the "
                         f"batch dim of query of shape {list(query.shape)}")
    head_dim = embed_dim // num_heads
    key_padding_mask = _canonical_mask(key_padding_mask, "key_padding_mask", query.dtype)
    if is_causal and attn_mask is None:
        raise RuntimeError(f"{name}: is_causal is a hint that needs attn_mask; pass the causal "
                           "mask, e.g. Transformer.generate_square_subsequent_mask(L)")
    causal = is_causal and key_padding_mask is None and not need_weights
    attn_mask = None if causal else _canonical_mask(attn_mask, "attn_mask", query.dtype)

    if use_separate_proj_weight:
        q, k, v = _in_projection(query, key, value, None, in_proj_bias, q_proj_weight,
                                 k_proj_weight, v_proj_weight, embed_dim)
    else:
        if key.shape[-1] != embed_dim or value.shape[-1] != embed_dim:
            raise ValueError(f"{name}: packed in_proj_weight needs key and value of embed_dim "
                             f"{embed_dim}, got {list(key.shape)} and {list(value.shape)}")
        q, k, v = _in_projection(query, key, value, in_proj_weight, in_proj_bias,
                                 None, None, None, embed_dim)
    if bias_k is not None and bias_v is not None:
        if static_k is not None or static_v is not None:
            raise ValueError(f"{name}: bias_k/bias_v cannot be added to static_k/static_v")
        k = ops.shape.cat([k, bias_k.expand(1, bsz, embed_dim)])
        v = ops.shape.cat([v, bias_v.expand(1, bsz, embed_dim)])
        attn_mask = None if attn_mask is None else F.pad(attn_mask, (0, 1))
        key_padding_mask = None if key_padding_mask is None else F.pad(key_padding_mask, (0, 1))
    elif (bias_k is None) != (bias_v is None):
        raise ValueError(f"{name}: bias_k and bias_v must be given together")

    q = _split_heads(q, num_heads)
    k = _split_heads(k, num_heads) if static_k is None else \
        _static(static_k, bsz, num_heads, head_dim, "static_k")
    v = _split_heads(v, num_heads) if static_v is None else \
        _static(static_v, bsz, num_heads, head_dim, "static_v")
    if add_zero_attn:
        zeros = ops.creation.zeros((bsz, num_heads, 1, head_dim), dtype=k.dtype, device=k.device)
        k, v = ops.shape.cat([k, zeros], 2), ops.shape.cat([v, zeros], 2)
        attn_mask = None if attn_mask is None else F.pad(attn_mask, (0, 1))
        key_padding_mask = None if key_padding_mask is None else F.pad(key_padding_mask, (0, 1))
    src_len = k.shape[2]
    mask = _head_mask(attn_mask, key_padding_mask, bsz, num_heads, tgt_len, src_len)
    dropout_p = dropout_p if training else 0.0

    if need_weights:
        scores = (q * (1 / math.sqrt(head_dim))) @ k.mT
        weights = F.softmax(scores if mask is None else scores + mask, dim=-1)
        if dropout_p > 0:
            weights = F.dropout(weights, dropout_p)
        out = weights @ v
        if average_attn_weights:
            weights = weights.mean(1)
    else:
        out = F.scaled_dot_product_attention(q, k, v, mask, dropout_p, is_causal=causal)
        weights = None
    out = out.permute(2, 0, 1, 3).reshape(tgt_len, bsz, embed_dim)
    out = F.linear(out, out_proj_weight, out_proj_bias)
    if not batched:
        out = out.squeeze(1)
        weights = None if weights is None else weights.squeeze(0)
    return out, weights


def _static(t, bsz, num_heads, head_dim, name):
    """A precomputed key/value of shape (N·H, S, head_dim) as (N, H, S, head_dim)."""
    if t.ndim != 3 or t.shape[0] != bsz * num_heads or t.shape[2] != head_dim:
        raise ValueError(f"multi_head_attention_forward: expected {name} of shape "
                         f"({bsz * num_heads}, S, {head_dim}), got {list(t.shape)}")
    return t.reshape(bsz, num_heads, t.shape[1], head_dim)


# ----------------------------------------------------------------------------- module
class MultiheadAttention(Module):
    """Multi-head attention with learned projections (see the module docstring).

    Parameters (PyTorch's names): ``in_proj_weight`` (3E, E) when kdim = vdim = E, else
    ``q_proj_weight`` (E, E), ``k_proj_weight`` (E, kdim), ``v_proj_weight`` (E, vdim);
    ``in_proj_bias`` (3E); ``out_proj`` Linear(E, E); ``bias_k``, ``bias_v`` (1, 1, E) with
    ``add_bias_kv``. Init: Xavier-uniform projections, zero biases, Xavier-normal bias_k/v
    (``out_proj.weight`` keeps Linear's init).
    """

    def __init__(self, embed_dim, num_heads, dropout=0.0, bias=True, add_bias_kv=False,
                 add_zero_attn=False, kdim=None, vdim=None, batch_first=False, device=None,
                 dtype=None):
        super().__init__()
        if embed_dim <= 0 or num_heads <= 0:
            raise ValueError(f"MultiheadAttention: embed_dim and num_heads must be greater than "
                             f"0, got embed_dim={embed_dim} and num_heads={num_heads}")
        if embed_dim % num_heads:
            raise ValueError(f"MultiheadAttention: embed_dim ({embed_dim}) must be divisible by "
                             f"num_heads ({num_heads})")
        self.embed_dim, self.num_heads, self.dropout = embed_dim, num_heads, dropout
        self.kdim = kdim if kdim is not None else embed_dim
        self.vdim = vdim if vdim is not None else embed_dim
        self._qkv_same_embed_dim = self.kdim == embed_dim and self.vdim == embed_dim
        self.batch_first, self.head_dim = batch_first, embed_dim // num_heads
        self.add_zero_attn = add_zero_attn
        new = dict(dtype=dtype, device=device)
        if self._qkv_same_embed_dim:
            self.in_proj_weight = Parameter(ops.creation.empty(3 * embed_dim, embed_dim, **new))
            for name in ("q_proj_weight", "k_proj_weight", "v_proj_weight"):
                self.register_parameter(name, None)
        else:
            self.q_proj_weight = Parameter(ops.creation.empty(embed_dim, embed_dim, **new))
            self.k_proj_weight = Parameter(ops.creation.empty(embed_dim, self.kdim, **new))
            self.v_proj_weight = Parameter(ops.creation.empty(embed_dim, self.vdim, **new))
            self.register_parameter("in_proj_weight", None)
        if bias:
            self.in_proj_bias = Parameter(ops.creation.empty(3 * embed_dim, **new))
        else:
            self.register_parameter("in_proj_bias", None)
        self.out_proj = Linear(embed_dim, embed_dim, bias=bias, **new)
        if add_bias_kv:
            self.bias_k = Parameter(ops.creation.empty(1, 1, embed_dim, **new))
            self.bias_v = Parameter(ops.creation.empty(1, 1, embed_dim, **new))
        else:
            self.bias_k = self.bias_v = None
        self._reset_parameters()

    def _reset_parameters(self):
        if self._qkv_same_embed_dim:
            init.xavier_uniform_(self.in_proj_weight)
        else:
            for w in (self.q_proj_weight, self.k_proj_weight, self.v_proj_weight):
                init.xavier_uniform_(w)
        if self.in_proj_bias is not None:
            init.zeros_(self.in_proj_bias)
            init.zeros_(self.out_proj.bias)
        if self.bias_k is not None:
            init.xavier_normal_(self.bias_k)
            init.xavier_normal_(self.bias_v)

    def forward(self, query, key, value, key_padding_mask=None, need_weights=True,
                attn_mask=None, average_attn_weights=True, is_causal=False):
        """query (L, N, E), key (S, N, kdim), value (S, N, vdim) — (N, L, E) … with
        ``batch_first`` — or unbatched (L, E) …; returns (output like query, weights or None)."""
        swap = self.batch_first and query.ndim == 3
        if swap:
            query, key, value = _to_seq_first(query, key, value)
        out, weights = multi_head_attention_forward(
            query, key, value, self.embed_dim, self.num_heads, self.in_proj_weight,
            self.in_proj_bias, self.bias_k, self.bias_v, self.add_zero_attn, self.dropout,
            self.out_proj.weight, self.out_proj.bias, training=self.training,
            key_padding_mask=key_padding_mask, need_weights=need_weights, attn_mask=attn_mask,
            use_separate_proj_weight=not self._qkv_same_embed_dim,
            q_proj_weight=self.q_proj_weight, k_proj_weight=self.k_proj_weight,
            v_proj_weight=self.v_proj_weight, average_attn_weights=average_attn_weights,
            is_causal=is_causal)
        return (out.transpose(0, 1) if swap else out), weights

    def extra_repr(self):
        return (f"embed_dim={self.embed_dim}, num_heads={self.num_heads}, dropout={self.dropout}"
                f", batch_first={self.batch_first}")


def _to_seq_first(query, key, value):
    """Transpose (N, S, E) → (S, N, E), keeping ``query is key is value`` identities (they pick
    the packed projection)."""
    q = query.transpose(0, 1)
    k = q if key is query else key.transpose(0, 1)
    v = k if value is key else q if value is query else value.transpose(0, 1)
    return q, k, v
