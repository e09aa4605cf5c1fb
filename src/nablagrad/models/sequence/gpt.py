"""GPT: a decoder-only transformer language model (nanoGPT-like).

A. Radford, K. Narasimhan, T. Salimans, I. Sutskever, "Improving Language Understanding by
Generative Pre-Training", 2018 (GPT); A. Radford et al., "Language Models are Unsupervised
Multitask Learners", 2019 (GPT-2: pre-LayerNorm, a final LayerNorm, the init below). Attention:
A. Vaswani et al., "Attention Is All You Need", NeurIPS 2017. Notes: 003 "GPT: next token
prediction", 002 masked self-attention and 004 §12 (with ERRATA T1, T2, T5: the mask is additive,
m_ij = −∞ for j > i, and each head has n_embd/n_head dimensions).

For tokens x₁..x_T (T ≤ block_size) the model computes

    h⁰_t = E[x_t] + P[t]                                  token + learned position embeddings
    a^l  = h^{l-1} + W_o · Attn(LN₁(h^{l-1}))             causal multi-head self-attention
    h^l  = a^l + W₂ · GELU(W₁ · LN₂(a^l))                  position-wise MLP (width 4·n_embd)
    logits_t = LN_f(h^L_t) · Eᵀ                           lm_head tied to the token embedding

    Attn(X) = concat_h softmax(Q_h K_hᵀ / √d_h + M) V_h,  M_ij = 0 if j ≤ i else −∞,

and is trained by next-token cross-entropy, loss = −(1/T) Σ_t log p(x_{t+1} | x_{≤t}). The causal
mask M makes position t see only x_{≤t}, so one forward pass scores all T next-token predictions.

Init (GPT-2): every Linear and Embedding weight ~ N(0, 0.02²), biases 0, LayerNorm (1, 0); the two
projections that write into the residual stream (attention ``c_proj`` and MLP ``c_proj``) get
std 0.02/√(2·n_layer), so the residual's variance does not grow with depth.

KV cache: keys and values of past positions do not change when tokens are appended (the mask),
so generation keeps them in a :class:`KVCache` and feeds only the new token: each step costs
O(t) attention instead of a full O(t²) re-run, with the same logits.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ... import nn
from ...nn import functional as F
from ...ops.creation import arange, tensor
from ...ops.shape import cat


@dataclass
class GPTConfig:
    vocab_size: int = 65        # tiny Shakespeare's characters
    block_size: int = 256       # longest context (number of learned positions)
    n_layer: int = 6
    n_head: int = 6
    n_embd: int = 384
    dropout: float = 0.0
    bias: bool = True           # biases in the Linears and LayerNorms


class KVCache:
    """Keys and values of the positions seen so far, one (k, v) pair per layer, each of shape
    (batch, n_head, length, head_dim). Pass the same cache to successive ``GPT.forward`` calls;
    each call appends its tokens."""

    def __init__(self, n_layer):
        self.layers = [None] * n_layer

    @property
    def length(self) -> int:
        """Number of positions cached (by the last layer: complete after each forward)."""
        return self.past(len(self.layers) - 1)

    def past(self, layer) -> int:
        """Number of positions ``layer`` has cached."""
        kv = self.layers[layer]
        return 0 if kv is None else kv[0].shape[2]

    def update(self, layer, k, v):
        """Append this call's keys and values to ``layer``'s; returns all of them."""
        if self.layers[layer] is not None:
            past_k, past_v = self.layers[layer]
            k, v = cat([past_k, k], dim=2), cat([past_v, v], dim=2)
        self.layers[layer] = (k, v)
        return k, v


class CausalSelfAttention(nn.Module):
    """Multi-head self-attention where position i attends to positions j ≤ i: one Linear makes
    q, k and v for all heads (``c_attn``), ``c_proj`` mixes the heads' outputs."""

    def __init__(self, config: GPTConfig):
        super().__init__()
        if config.n_embd % config.n_head:
            raise ValueError(f"CausalSelfAttention: n_embd ({config.n_embd}) must be divisible "
                             f"by n_head ({config.n_head})")
        self.n_head, self.n_embd, self.dropout = config.n_head, config.n_embd, config.dropout
        self.c_attn = nn.Linear(config.n_embd, 3 * config.n_embd, bias=config.bias)
        self.c_proj = nn.Linear(config.n_embd, config.n_embd, bias=config.bias)
        self.resid_dropout = nn.Dropout(config.dropout)

    def forward(self, x, cache=None, layer=0):
        B, T, C = x.shape
        heads = lambda t: t.view(B, T, self.n_head, C // self.n_head).transpose(1, 2)  # noqa: E731
        q, k, v = map(heads, self.c_attn(x).split(self.n_embd, dim=2))
        past = 0 if cache is None else cache.past(layer)
        if cache is not None:
            k, v = cache.update(layer, k, v)
        p = self.dropout if self.training else 0.0
        if past == 0 or T == 1:   # no past: the usual triangle; one new token: sees everything
            y = F.scaled_dot_product_attention(q, k, v, dropout_p=p, is_causal=past == 0 and T > 1)
        else:                     # new query i sits at position past + i
            mask = tensor(np.tri(T, past + T, k=past, dtype=bool), device=x.device)
            y = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, dropout_p=p)
        y = y.transpose(1, 2).reshape(B, T, C)
        return self.resid_dropout(self.c_proj(y))


class MLP(nn.Module):
    """Linear(n_embd → 4·n_embd), GELU, Linear(4·n_embd → n_embd), dropout. GELU in GPT-2's
    tanh form, ½x(1 + tanh(√(2/π)(x + 0.044715x³))) (also about twice as fast as the erf form
    here)."""

    def __init__(self, config: GPTConfig):
        super().__init__()
        self.c_fc = nn.Linear(config.n_embd, 4 * config.n_embd, bias=config.bias)
        self.gelu = nn.GELU(approximate="tanh")
        self.c_proj = nn.Linear(4 * config.n_embd, config.n_embd, bias=config.bias)
        self.dropout = nn.Dropout(config.dropout)

    def forward(self, x):
        return self.dropout(self.c_proj(self.gelu(self.c_fc(x))))


class Block(nn.Module):
    """A pre-LayerNorm transformer block: x + attn(LN(x)), then x + mlp(LN(x))."""

    def __init__(self, config: GPTConfig):
        super().__init__()
        self.ln_1 = nn.LayerNorm(config.n_embd, bias=config.bias)
        self.attn = CausalSelfAttention(config)
        self.ln_2 = nn.LayerNorm(config.n_embd, bias=config.bias)
        self.mlp = MLP(config)

    def forward(self, x, cache=None, layer=0):
        x = x + self.attn(self.ln_1(x), cache, layer)
        return x + self.mlp(self.ln_2(x))


class GPT(nn.Module):
    """The language model: ``forward(idx, targets=None, cache=None) -> (logits, loss)`` with
    ``idx`` int64 (B, T), logits (B, T, vocab_size) and loss the mean next-token cross-entropy
    against ``targets`` (B, T) (None without targets). With a :class:`KVCache`, ``idx`` holds
    only the tokens after the cached ones and their positions continue from ``cache.length``."""

    def __init__(self, config: GPTConfig):
        super().__init__()
        self.config = config
        self.wte = nn.Embedding(config.vocab_size, config.n_embd)
        self.wpe = nn.Embedding(config.block_size, config.n_embd)
        self.drop = nn.Dropout(config.dropout)
        self.h = nn.ModuleList(Block(config) for _ in range(config.n_layer))
        self.ln_f = nn.LayerNorm(config.n_embd, bias=config.bias)
        self.lm_head = nn.Linear(config.n_embd, config.vocab_size, bias=False)
        self.lm_head.weight = self.wte.weight          # weight tying: one Parameter
        self.apply(self._init_weights)
        residual_std = 0.02 / math.sqrt(2 * config.n_layer)
        for block in self.h:
            nn.init.normal_(block.attn.c_proj.weight, mean=0.0, std=residual_std)
            nn.init.normal_(block.mlp.c_proj.weight, mean=0.0, std=residual_std)

    @staticmethod
    def _init_weights(module):
        if isinstance(module, (nn.Linear, nn.Embedding)):
            nn.init.normal_(module.weight, mean=0.0, std=0.02)
        if isinstance(module, nn.Linear) and module.bias is not None:
            nn.init.zeros_(module.bias)

    def new_cache(self) -> KVCache:
        return KVCache(self.config.n_layer)

    def forward(self, idx, targets=None, cache=None):
        if idx.ndim != 2:
            raise ValueError(f"GPT: expected token ids of shape (batch, time), got "
                             f"{list(idx.shape)}")
        B, T = idx.shape
        start = 0 if cache is None else cache.length
        if start + T > self.config.block_size:
            raise ValueError(f"GPT: {start + T} positions ({start} cached + {T} new) exceed "
                             f"block_size {self.config.block_size}")
        pos = arange(start, start + T, device=idx.device)
        x = self.drop(self.wte(idx) + self.wpe(pos))
        for layer, block in enumerate(self.h):
            x = block(x, cache, layer)
        logits = self.lm_head(self.ln_f(x))
        loss = None
        if targets is not None:
            loss = F.cross_entropy(logits.view(B * T, -1), targets.reshape(B * T))
        return logits, loss

    def num_parameters(self) -> int:
        """Parameters counted once (the tied lm_head is the token embedding)."""
        return sum(p.numel() for p in self.parameters())
