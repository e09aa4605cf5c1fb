"""A sequence-to-sequence model on the full ``nn.Transformer`` encoder–decoder.

A. Vaswani et al., "Attention Is All You Need", NeurIPS 2017 (notes 004 §12, 002 "Attention-based
models", ERRATA T2, T3, T7). For a source x₁..x_S and a target prefix y₀ = <sos>, y₁..y_{t−1}:

    e_j = √d · E_src[x_j] + PE(j),   d_i = √d · E_tgt[y_i] + PE(i)     sinusoidal positions
    m   = Encoder(e; source padding masked)
    h_i = Decoder(d_{≤i}, m)                causal mask M_ij = −∞ for j > i, else 0
    P(y_i | y_{<i}, x) = softmax(W h_i + b)

Padding never receives attention: the source padding mask goes to the encoder's self-attention
and to the decoder's cross-attention (``memory_key_padding_mask``), the target padding mask to
the decoder's self-attention (boolean masks, True = padding, PyTorch's convention). The
embeddings start at N(0, 1/d) and are scaled by √d, so token and position signals have the same
(unit) size.
Training is teacher-forced (one pass scores every target position); decoding is greedy or by
beam search (``seq2seq.beam_search``), re-running the decoder over the prefix at every step.
"""
from __future__ import annotations

import math

import numpy as np

from ... import nn
from ..._tensor import Tensor
from ...autograd import no_grad
from ...nn import functional as F
from ...nn import init
from ...ops.creation import full, zeros
from ...ops.shape import cat
from .seq2seq import beam_search

__all__ = ["TransformerSeq2Seq"]


class TransformerSeq2Seq(nn.Module):
    """Token embeddings, sinusoidal positions, ``nn.Transformer`` (batch_first) and an output
    Linear. ``forward(src (B, S), tgt_in (B, T))`` → logits (B, T, tgt_vocab_size); ``greedy``
    and ``beam_search`` decode. Id ``pad_id`` marks padding in both src and tgt_in."""

    def __init__(self, src_vocab_size, tgt_vocab_size, d_model=128, nhead=4,
                 num_encoder_layers=2, num_decoder_layers=2, dim_feedforward=512, dropout=0.1,
                 max_len=128, pad_id=0, sos_id=1, eos_id=2):
        super().__init__()
        self.pad_id, self.sos_id, self.eos_id = pad_id, sos_id, eos_id
        self.scale = math.sqrt(d_model)
        self.src_embed = nn.Embedding(src_vocab_size, d_model, padding_idx=pad_id)
        self.tgt_embed = nn.Embedding(tgt_vocab_size, d_model, padding_idx=pad_id)
        self.pos = nn.SinusoidalPositionalEncoding(d_model, max_len, dropout, batch_first=True)
        self.transformer = nn.Transformer(d_model, nhead, num_encoder_layers, num_decoder_layers,
                                          dim_feedforward, dropout, batch_first=True)
        self.out = nn.Linear(d_model, tgt_vocab_size)
        self.reset_parameters()

    def reset_parameters(self):
        """Embeddings ~ N(0, 1/d) (pad row 0), so that √d · E has unit scale like the
        positional table; ``nn.Transformer`` initialises its own weights (Xavier)."""
        for embed in (self.src_embed, self.tgt_embed):
            init.normal_(embed.weight, std=self.scale ** -1)
            with no_grad():
                embed.weight[self.pad_id].fill_(0)

    def encode(self, src):
        """(memory (B, S, d_model), source padding mask (B, S))."""
        pad = src == self.pad_id
        memory = self.transformer.encoder(self.pos(self.src_embed(src) * self.scale),
                                          src_key_padding_mask=pad)
        return memory, pad

    def decode(self, tgt_in, memory, memory_pad):
        """Logits (B, T, V) for the target prefix ``tgt_in`` (B, T) given the encoder output."""
        T = tgt_in.shape[1]
        causal = nn.Transformer.generate_square_subsequent_mask(T, device=tgt_in.device,
                                                                dtype=memory.dtype)
        h = self.transformer.decoder(self.pos(self.tgt_embed(tgt_in) * self.scale), memory,
                                     tgt_mask=causal, tgt_key_padding_mask=tgt_in == self.pad_id,
                                     memory_key_padding_mask=memory_pad, tgt_is_causal=True)
        return self.out(h)

    def forward(self, src, tgt_in):
        memory, pad = self.encode(src)
        return self.decode(tgt_in, memory, pad)

    @no_grad()
    def greedy(self, src, max_len):
        """(B, L) int64 tokens: the argmax at every step from <sos>, stopping once every row has
        produced <eos> (later positions of a finished row hold <pad>)."""
        memory, pad = self.encode(src)
        B = src.shape[0]
        prefix = full((B, 1), self.sos_id, dtype=src.dtype, device=src.device)
        done = np.zeros(B, dtype=bool)
        tokens = []
        for _ in range(max_len):
            y = self.decode(prefix, memory, pad)[:, -1].argmax(dim=1)
            ids = y.numpy(force=True).copy()
            ids[done] = self.pad_id
            tokens.append(ids)
            done |= ids == self.eos_id
            if done.all():
                break
            prefix = cat([prefix, y.unsqueeze(1)], dim=1)
        return Tensor._make(np.stack(tokens, axis=1))

    @no_grad()
    def beam_search(self, src, beam_size, max_len, alpha=0.6, penalty="gnmt"):
        """Best hypothesis per source by beam search (``seq2seq.beam_search``: length-normalised
        score S(y)/lp(m)). The state carried per hypothesis is its prefix and the (repeated)
        encoder output."""
        memory, pad = self.encode(src)
        idx = Tensor._make(np.repeat(np.arange(src.shape[0]), beam_size)).to(src.device)
        memory, pad = memory.index_select(0, idx), pad.index_select(0, idx)
        prefix = zeros((memory.shape[0], 0), dtype=src.dtype, device=src.device)

        def step(y, state):
            prefix, memory, pad = state
            prefix = cat([prefix, y.unsqueeze(1)], dim=1)
            logits = self.decode(prefix, memory, pad)[:, -1]
            return F.log_softmax(logits, dim=1), (prefix, memory, pad), None

        return beam_search(step, (prefix, memory, pad), src.shape[0], beam_size, self.sos_id,
                           self.eos_id, max_len, alpha=alpha, penalty=penalty)
