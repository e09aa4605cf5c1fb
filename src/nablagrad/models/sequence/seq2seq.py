"""Encoder–decoder with attention (notes 004 §5 "Seq2Seq" and §12.1 Def 12.2; 001 "Attention
(Luong)", beam search and length normalisation; Bahdanau et al. 2015, Luong et al. 2015,
Wu et al. 2016 (GNMT) for the length penalty).

Encoder: a bidirectional GRU/LSTM over the source embeddings; the annotation of position j is
h_j = [h→_j ; h←_j] ∈ ℝ^{2H} (a gated cell, ERRATA R13), and the decoder starts from
s₀ = tanh(W_b [h→_S ; h←_1]).

Decoder step t, from the previous token y_{t−1} (<sos> at t = 1) and state s_{t−1}:

- Bahdanau (attention before the RNN step): e_tj = vᵀ tanh(W₁ s_{t−1} + W₂ h_j),
  α_t = softmax(e_t), c_t = Σ_j α_tj h_j, s_t = RNN([E y_{t−1} ; c_t], s_{t−1}),
  logits_t = W_o [s_t ; c_t ; E y_{t−1}].
- Luong (attention after the RNN step, with input feeding): s_t = RNN([E y_{t−1} ; h̃_{t−1}],
  s_{t−1}), e_tj = s_tᵀ W_a h_j ("general") or s_tᵀ h_j ("dot"), c_t = Σ_j α_tj h_j,
  h̃_t = tanh(W_c [c_t ; s_t]), logits_t = W_s h̃_t.

Padding positions of the source are masked out of the softmax (ERRATA T3). The model gives
P(y | x) = Π_t P(y_t | y_{<t}, x) (ERRATA R14). Training uses teacher forcing: the input at step t
is the true y_{t−1} with probability ``teacher_forcing`` and the model's own previous argmax
otherwise. Decoding is greedy or by beam search: keep the K best partial hypotheses by
S(y) = Σ_i log P(y_i | y_{<i}, x); a hypothesis ending in <eos> is finished and ranked by the
length-normalised score S(y)/lp(m) with m its length (counting <eos>), lp(m) = ((5 + m)/6)^α
(GNMT) or m^α ("plain"; α = 1 is the notes' S(e)/m, ERRATA T12); α = 0 ranks by S(y).
"""
from __future__ import annotations

from collections import namedtuple

import numpy as np

from ... import nn
from ...ops.creation import arange, full, zeros_like
from ...ops.elementwise import where
from ...ops.random import rand
from ...ops.shape import cat, stack
from ..._tensor import Tensor
from ...autograd import no_grad
from ...nn import functional as F
from ...nn.attention_scores import AdditiveScore, DotScore, GeneralScore, attend
from ...nn.utils import rnn as rnn_utils

__all__ = ["Seq2SeqEncoder", "AttentionDecoder", "Seq2Seq", "beam_search", "length_penalty",
           "BeamResult", "Memory"]

Memory = namedtuple("Memory", ["values", "keys", "mask"])          # encoder side of attention
BeamResult = namedtuple("BeamResult", ["tokens", "scores", "log_probs", "attention"])
_RNNS = {"gru": ("GRU", "GRUCell"), "lstm": ("LSTM", "LSTMCell")}


def _rnn_kind(rnn):
    if rnn not in _RNNS:
        raise ValueError(f"Seq2Seq: rnn must be one of {tuple(_RNNS)}, got {rnn!r}")
    return _RNNS[rnn]


# ----------------------------------------------------------------------------- encoder
class Seq2SeqEncoder(nn.Module):
    """Embedding and a bidirectional GRU/LSTM (batch_first). ``forward(src (B, S), src_len (B,))``
    returns the annotations (B, S, 2H) (zeros at padding) and the last layer's final states
    [h→_S ; h←_1] (B, 2H) and, for an LSTM, the cells (B, 2H) (None for a GRU). Variable lengths
    are packed, so each sequence gives what it would alone."""

    def __init__(self, vocab_size, embed_dim, hidden_size, rnn="gru", num_layers=1, dropout=0.0,
                 pad_id=0):
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, embed_dim, padding_idx=pad_id)
        self.rnn = getattr(nn, _rnn_kind(rnn)[0])(embed_dim, hidden_size, num_layers=num_layers,
                                                 batch_first=True, bidirectional=True,
                                                 dropout=dropout if num_layers > 1 else 0.0)
        self.output_size = 2 * hidden_size

    def forward(self, src, src_len):
        packed = rnn_utils.pack_padded_sequence(self.embedding(src), src_len, batch_first=True,
                                                enforce_sorted=False)
        out, final = self.rnn(packed)
        out, _ = rnn_utils.pad_packed_sequence(out, batch_first=True, total_length=src.shape[1])
        h, c = final if isinstance(final, tuple) else (final, None)
        join = lambda x: cat([x[-2], x[-1]], dim=1)     # last layer, both directions
        return out, join(h), (join(c) if c is not None else None)


# ----------------------------------------------------------------------------- decoder
class AttentionDecoder(nn.Module):
    """One decoder step at a time, ``step(y_prev (B,), state, memory) -> (logits (B, V), state,
    weights (B, S))``; ``state`` is a tuple of (B, ·) tensors: (s,) for a GRU, (s, cell) for an
    LSTM, with h̃ appended for Luong's input feeding."""

    def __init__(self, vocab_size, embed_dim, hidden_size, enc_size, attention="bahdanau",
                 rnn="gru", score="general", attn_dim=None, pad_id=0):
        super().__init__()
        if attention not in ("bahdanau", "luong"):
            raise ValueError(f"AttentionDecoder: attention must be 'bahdanau' or 'luong', got "
                             f"{attention!r}")
        self.attention, self.lstm = attention, rnn == "lstm"
        self.embedding = nn.Embedding(vocab_size, embed_dim, padding_idx=pad_id)
        self.bridge = nn.Linear(enc_size, hidden_size)
        if self.lstm:
            self.bridge_cell = nn.Linear(enc_size, hidden_size)
        cell = getattr(nn, _rnn_kind(rnn)[1])
        if attention == "bahdanau":
            self.score = AdditiveScore(hidden_size, enc_size, attn_dim or hidden_size)
            self.cell = cell(embed_dim + enc_size, hidden_size)
            self.out = nn.Linear(hidden_size + enc_size + embed_dim, vocab_size)
        else:
            if score not in ("general", "dot"):
                raise ValueError(f"AttentionDecoder: Luong score must be 'general' or 'dot', got "
                                 f"{score!r}")
            if score == "dot" and enc_size != hidden_size:
                raise ValueError(f"AttentionDecoder: the dot score needs enc_size == hidden_size, "
                                 f"got {enc_size} and {hidden_size}")
            self.score = GeneralScore(hidden_size, enc_size) if score == "general" else DotScore()
            self.cell = cell(embed_dim + hidden_size, hidden_size)
            self.combine = nn.Linear(enc_size + hidden_size, hidden_size, bias=False)
            self.out = nn.Linear(hidden_size, vocab_size)

    def memory(self, annotations, src_len):
        """The attention memory: values (B, S, E), the score's prepared keys, and the padding
        mask (B, 1, S) (True = padding)."""
        S = annotations.shape[1]
        mask = arange(S, device=annotations.device)[None, None, :] >= \
            src_len.to(annotations.device)[:, None, None]
        return Memory(annotations, self.score.prepare_keys(annotations), mask)

    def initial_state(self, final_h, final_c=None):
        s = self.bridge(final_h).tanh()
        state = (s, self.bridge_cell(final_c).tanh()) if self.lstm else (s,)
        if self.attention == "luong":
            state = state + (zeros_like(s),)
        return state

    def _attend(self, query, memory):
        context, weights = attend(self.score.score(query[:, None, :], memory.keys),
                                  memory.values, memory.mask)
        return context[:, 0], weights[:, 0]

    def _cell(self, x, state):
        if self.lstm:
            h, c = self.cell(x, (state[0], state[1]))
            return (h, c)
        return (self.cell(x, state[0]),)

    def step(self, y_prev, state, memory):
        emb = self.embedding(y_prev)
        if self.attention == "bahdanau":
            context, weights = self._attend(state[0], memory)
            rnn_state = self._cell(cat([emb, context], dim=1), state)
            logits = self.out(cat([rnn_state[0], context, emb], dim=1))
            return logits, rnn_state, weights
        rnn_state = self._cell(cat([emb, state[-1]], dim=1), state[:-1])
        context, weights = self._attend(rnn_state[0], memory)
        attentional = self.combine(cat([context, rnn_state[0]], dim=1)).tanh()
        return self.out(attentional), rnn_state + (attentional,), weights


# ----------------------------------------------------------------------------- model
class Seq2Seq(nn.Module):
    """Encoder–decoder with Bahdanau or Luong attention.

    ``forward(src, src_len, tgt_in, teacher_forcing=1.0)`` returns logits (B, T, V) and attention
    weights (B, T, S) for decoder inputs ``tgt_in`` (B, T) = <sos> followed by the target.
    ``greedy`` and ``beam_search`` decode without gradients. The encoder has ``hidden_size`` units
    per direction; the decoder has ``hidden_size`` units, or 2·hidden_size with Luong's dot score
    (which needs decoder states and annotations of one size)."""

    def __init__(self, src_vocab_size, tgt_vocab_size, embed_dim=64, hidden_size=128,
                 attention="bahdanau", rnn="gru", score="general", attn_dim=None, num_layers=1,
                 dropout=0.0, pad_id=0, sos_id=1, eos_id=2):
        super().__init__()
        self.pad_id, self.sos_id, self.eos_id = pad_id, sos_id, eos_id
        self.encoder = Seq2SeqEncoder(src_vocab_size, embed_dim, hidden_size, rnn, num_layers,
                                      dropout, pad_id)
        enc_size = self.encoder.output_size
        dec_size = enc_size if attention == "luong" and score == "dot" else hidden_size
        self.decoder = AttentionDecoder(tgt_vocab_size, embed_dim, dec_size, enc_size, attention,
                                        rnn, score, attn_dim, pad_id)

    def encode(self, src, src_len):
        """(memory, initial decoder state) for a source batch."""
        annotations, h, c = self.encoder(src, src_len)
        return self.decoder.memory(annotations, src_len), self.decoder.initial_state(h, c)

    def forward(self, src, src_len, tgt_in, teacher_forcing=1.0, generator=None):
        memory, state = self.encode(src, src_len)
        B, T = tgt_in.shape
        logits, weights, y = [], [], tgt_in[:, 0]
        for t in range(T):
            if t > 0:
                y = tgt_in[:, t]
                if teacher_forcing < 1.0:           # per example: the truth or our own guess
                    own = logits[-1].detach().argmax(dim=1)
                    keep = rand(B, generator=generator, device=y.device) < teacher_forcing
                    y = where(keep, y, own)
            step_logits, state, w = self.decoder.step(y, state, memory)
            logits.append(step_logits)
            weights.append(w)
        return stack(logits, dim=1), stack(weights, dim=1)

    @no_grad()
    def greedy(self, src, src_len, max_len):
        """(tokens (B, L) int64, weights (B, L, S)): the argmax token at every step, stopping
        once every row has produced <eos> (later positions of a finished row hold <pad>)."""
        memory, state = self.encode(src, src_len)
        B = src.shape[0]
        y = full((B,), self.sos_id, dtype=src.dtype, device=src.device)
        done = np.zeros(B, dtype=bool)
        tokens, weights = [], []
        for _ in range(max_len):
            logits, state, w = self.decoder.step(y, state, memory)
            y = logits.argmax(dim=1)
            ids = y.numpy(force=True).copy()
            ids[done] = self.pad_id
            tokens.append(ids)
            weights.append(w.numpy(force=True))
            done |= ids == self.eos_id
            if done.all():
                break
        return (Tensor._make(np.stack(tokens, axis=1)),
                Tensor._make(np.stack(weights, axis=1)))

    @no_grad()
    def beam_search(self, src, src_len, beam_size, max_len, alpha=0.6, penalty="gnmt"):
        """The best hypothesis per source by beam search (see ``beam_search``)."""
        memory, state = self.encode(src, src_len)
        idx = arange(src.shape[0], device=src.device).repeat_interleave(beam_size)
        memory = Memory(*(m.index_select(0, idx) for m in memory))

        def step(y, st):
            logits, st, w = self.decoder.step(y, st, memory)
            return F.log_softmax(logits, dim=1), st, w

        state = tuple(s.index_select(0, idx) for s in state)
        return beam_search(step, state, src.shape[0], beam_size, self.sos_id, self.eos_id,
                           max_len, alpha=alpha, penalty=penalty)


# ----------------------------------------------------------------------------- beam search
def length_penalty(length, alpha, penalty="gnmt"):
    """lp(m) = ((5 + m)/6)^α ("gnmt", Wu et al. 2016) or m^α ("plain"); 1 when α = 0."""
    if penalty == "gnmt":
        return ((5.0 + length) / 6.0) ** alpha
    if penalty == "plain":
        return float(length) ** alpha
    raise ValueError(f"length_penalty: penalty must be 'gnmt' or 'plain', got {penalty!r}")


def beam_search(step, state, batch_size, beam_size, sos_id, eos_id, max_len, alpha=0.0,
                penalty="gnmt"):
    """Beam search over a step function.

    ``step(tokens (N,), state) -> (log_probs (N, V), state, weights (N, S) or None)`` with
    N = batch_size·beam_size rows laid out as b·K + k, and ``state`` a tuple of tensors with N
    rows (reordered here with ``index_select``). At every step each live hypothesis k of source b
    is extended by every token; of the K·V candidates ranked by S = Σ log p, an <eos> candidate
    within the best K is finished with score S/lp(m); the best K others stay live. A source is
    done when no live hypothesis can still beat its best finished one: log-probabilities are
    ≤ 0, so a live S can only fall, and its normalised score is at most S/max(lp(m'), lp(max_len))
    for the next length m' (lp is monotone in m). After ``max_len`` steps the live ones are
    finished as they are. With α = 0, K = 1 is greedy decoding.

    Returns ``BeamResult(tokens, scores, log_probs, attention)``: per source the best finished
    hypothesis' token list (ending in <eos> if it finished), its normalised score, its S, and its
    weights (m, S) as a NumPy array (None without weights)."""
    if beam_size < 1 or max_len < 1:
        raise ValueError(f"beam_search: need beam_size >= 1 and max_len >= 1, got "
                         f"beam_size={beam_size}, max_len={max_len}")
    B, K = batch_size, beam_size
    device = state[0].device if state else None
    as_tensor = (lambda a: Tensor._make(a)) if device is None else \
        (lambda a: Tensor._make(a).to(device))
    scores = np.full((B, K), -np.inf)
    scores[:, 0] = 0.0                                  # one start hypothesis per source
    history = np.zeros((B, K, 0), dtype=np.int64)
    attn_hist = None
    finished = [[] for _ in range(B)]                   # (normalised, S, tokens, weights)
    done = np.zeros(B, dtype=bool)
    y = np.full(B * K, sos_id, dtype=np.int64)
    for t in range(max_len):
        log_probs, state, weights = step(as_tensor(y), state)
        lp = log_probs.numpy(force=True).astype(np.float64).reshape(B, K, -1)
        V = lp.shape[2]
        w = None if weights is None else weights.numpy(force=True).reshape(B, K, 1, -1)
        if w is not None:
            attn_hist = w if attn_hist is None else np.concatenate([attn_hist, w], axis=2)
        total = (scores[:, :, None] + lp).reshape(B, K * V)
        order = np.argsort(-total, axis=1, kind="stable")[:, :2 * K]
        new_scores = np.full((B, K), -np.inf)
        parents = np.zeros((B, K), dtype=np.int64)
        tokens = np.full((B, K), eos_id, dtype=np.int64)
        for b in np.flatnonzero(~done):
            live = 0
            for rank, flat in enumerate(order[b]):
                k, tok, s = flat // V, flat % V, total[b, flat]
                if not np.isfinite(s):
                    break
                if tok == eos_id:
                    if rank < K:
                        seq = history[b, k].tolist() + [eos_id]
                        att = None if attn_hist is None else attn_hist[b, k]
                        finished[b].append((s / length_penalty(t + 1, alpha, penalty), s, seq,
                                            att))
                    continue
                new_scores[b, live], parents[b, live], tokens[b, live] = s, k, tok
                live += 1
                if live == K:
                    break
            if live == 0:
                done[b] = True
            elif finished[b]:
                best_live = new_scores[b, :live].max()
                bound = best_live / max(length_penalty(t + 2, alpha, penalty),
                                        length_penalty(max_len, alpha, penalty))
                done[b] = max(h[0] for h in finished[b]) >= bound
        if done.all():
            break
        rows = (np.arange(B)[:, None] * K + parents).reshape(-1)
        history = np.concatenate([history[np.arange(B)[:, None], parents], tokens[:, :, None]],
                                 axis=2)
        if attn_hist is not None:
            attn_hist = attn_hist[np.arange(B)[:, None], parents]
        scores, y = new_scores, tokens.reshape(-1)
        index = as_tensor(rows)
        state = tuple(s.index_select(0, index) for s in state)
    else:
        for b in np.flatnonzero(~done):                 # out of steps: finish the live ones
            for k in range(K):
                if np.isfinite(scores[b, k]):
                    att = None if attn_hist is None else attn_hist[b, k]
                    finished[b].append((scores[b, k] / length_penalty(max_len, alpha, penalty),
                                        scores[b, k], history[b, k].tolist(), att))
    best = [max(f, key=lambda h: h[0]) for f in finished]
    return BeamResult([h[2] for h in best], np.array([h[0] for h in best]),
                      np.array([h[1] for h in best]), [h[3] for h in best])
