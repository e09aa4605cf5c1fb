"""BERT: a transformer encoder trained by masked language modelling (MLM).

J. Devlin, M.-W. Chang, K. Lee, K. Toutanova, "BERT: Pre-training of Deep Bidirectional
Transformers for Language Understanding", NAACL 2019 (notes 003 "BERT", 002 L149, 001 L509).
BERT is the encoder half of the transformer (A. Vaswani et al., 2017): every position attends to
every other (no causal mask), so each output depends on the left and the right context. For
tokens x₁..x_T (segments s_t optional):

    h⁰_t = LN(E[x_t] + P[t] + S[s_t])                 token + learned position (+ segment)
    h^l  = EncoderLayer(h^{l-1})                        post-norm: LN(x + Dropout(Sublayer(x)))
    logits_t = LN(GELU(W h^L_t + b)) Eᵀ + c             MLM head; decoder tied to E

and is trained on corrupted inputs (``nablagrad.data.mlm.mask_tokens``: 15% of the tokens
selected, 80% of those → [MASK], 10% → random, 10% kept) by the cross-entropy of the original
tokens at the selected positions only. Sharing E between input and output (weight tying,
O. Press, L. Wolf, 2017) saves V·D parameters and helps small data. Next-sentence prediction
(ERRATA T10) is left out, as in RoBERTa, which found it does not help.

Init (BERT): Linear and Embedding weights ~ N(0, 0.02²), biases 0, LayerNorm (1, 0).
"""
from __future__ import annotations

from ... import nn, no_grad
from ...ops.creation import arange, zeros
from ...nn import functional as F
from ...nn import init


class BERT(nn.Module):
    """A BERT encoder with its MLM head.

    ``forward(input_ids, token_type_ids=None, src_key_padding_mask=None)`` gives MLM logits
    (B, T, vocab_size); ``encode`` the final hidden states (B, T, d_model); ``mlm_loss`` the
    masked-LM loss computed only at the positions whose label is not −100.
    ``src_key_padding_mask`` (B, T) bool is True at padding (PyTorch's convention)."""

    def __init__(self, vocab_size, max_len=128, d_model=128, nhead=4, num_layers=4,
                 dim_feedforward=512, dropout=0.1, type_vocab_size=0, pad_id=None,
                 norm_first=False):
        super().__init__()
        self.vocab_size, self.max_len = vocab_size, max_len
        self.tok_embed = nn.Embedding(vocab_size, d_model, padding_idx=pad_id)
        self.pos_embed = nn.Embedding(max_len, d_model)
        self.seg_embed = nn.Embedding(type_vocab_size, d_model) if type_vocab_size else None
        self.embed_norm = nn.LayerNorm(d_model)
        self.dropout = nn.Dropout(dropout)
        layer = nn.TransformerEncoderLayer(d_model, nhead, dim_feedforward, dropout,
                                           activation="gelu", batch_first=True,
                                           norm_first=norm_first)
        self.encoder = nn.TransformerEncoder(layer, num_layers,
                                             norm=nn.LayerNorm(d_model) if norm_first else None)
        self.mlm_dense = nn.Linear(d_model, d_model)
        self.mlm_norm = nn.LayerNorm(d_model)
        self.mlm_decoder = nn.Linear(d_model, vocab_size)
        self.mlm_decoder.weight = self.tok_embed.weight       # weight tying: one Parameter
        self.reset_parameters()

    def reset_parameters(self):
        for name, p in self.named_parameters():
            if "norm" in name:
                continue              # LayerNorms keep (1, 0)
            if p.ndim == 2:
                init.normal_(p, std=0.02)
            else:
                init.zeros_(p)
        if self.tok_embed.padding_idx is not None:
            with no_grad():
                self.tok_embed.weight[self.tok_embed.padding_idx].fill_(0)

    def encode(self, input_ids, token_type_ids=None, src_key_padding_mask=None):
        """Hidden states h^L: (B, T, d_model)."""
        if input_ids.ndim != 2:
            raise ValueError(f"BERT: expected input_ids of shape (batch, seq_len), got "
                             f"{tuple(input_ids.shape)}")
        T = input_ids.shape[1]
        if T > self.max_len:
            raise ValueError(f"BERT: sequence length {T} exceeds max_len {self.max_len}")
        h = self.tok_embed(input_ids) + self.pos_embed(arange(T, device=input_ids.device))
        if self.seg_embed is not None:
            h = h + self.seg_embed(zeros(input_ids.shape, dtype=input_ids.dtype,
                                         device=input_ids.device)
                                   if token_type_ids is None else token_type_ids)
        h = self.dropout(self.embed_norm(h))
        return self.encoder(h, src_key_padding_mask=src_key_padding_mask)

    def mlm_logits(self, hidden):
        """MLM scores over the vocabulary for hidden states (..., d_model)."""
        return self.mlm_decoder(self.mlm_norm(F.gelu(self.mlm_dense(hidden))))

    def forward(self, input_ids, token_type_ids=None, src_key_padding_mask=None):
        return self.mlm_logits(self.encode(input_ids, token_type_ids, src_key_padding_mask))

    def mlm_loss(self, input_ids, labels, token_type_ids=None, src_key_padding_mask=None):
        """Mean cross-entropy of ``labels`` at the positions where labels != −100, with the
        vocabulary projection computed only there (about 15% of the positions); equal to
        ``F.cross_entropy(self(input_ids).flatten(0, 1), labels.flatten())``."""
        hidden = self.encode(input_ids, token_type_ids, src_key_padding_mask)
        logits, targets = self.selected_logits(hidden, labels)
        return F.cross_entropy(logits, targets)

    def selected_logits(self, hidden, labels):
        """(logits at the selected positions (S, vocab_size), their labels (S,))."""
        flat = labels.flatten()
        keep = (flat != -100).nonzero().squeeze(1)
        return self.mlm_logits(hidden.flatten(0, 1)[keep]), flat[keep]

    def num_parameters(self) -> int:
        """Parameters counted once (the tied decoder weight is the token embedding)."""
        return sum(p.numel() for p in self.parameters())
