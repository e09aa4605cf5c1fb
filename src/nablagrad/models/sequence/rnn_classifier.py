"""Sequence classification with a recurrent network (notes 002, "Recurrent Neural Networks":
y = softmax(f(h_{N−1}, x_N)) with h_t = f(h_{t−1}, x_t); notes 004 §5; ERRATA R3–R9).

A sequence x_1..x_T (token ids, embedded as e_t = E[x_t], or feature vectors, or the rows of an
image) is read by an Elman RNN, a GRU or an LSTM with PyTorch's equations, e.g. the GRU

    r_t = σ(W_ir x_t + b_ir + W_hr h_{t−1} + b_hr)
    z_t = σ(W_iz x_t + b_iz + W_hz h_{t−1} + b_hz)
    n_t = tanh(W_in x_t + b_in + r_t ⊙ (W_hn h_{t−1} + b_hn))
    h_t = (1 − z_t) ⊙ n_t + z_t ⊙ h_{t−1}

(the RNN: h_t = tanh(W_ih x_t + b_ih + W_hh h_{t−1} + b_hh); the LSTM: see ``char_rnn.py``). The
sequence summary s is the last hidden state of the top layer, s = h_T (for a bidirectional
network [h_T^→; h_1^←], both directions having read the whole sequence), or the mean of the top
layer's outputs over the valid steps, s = (1/T) Σ_t o_t; then logits = W s + b and
p(y | x) = softmax(logits).

Variable lengths: pass ``lengths`` (or a ``PackedSequence``) and the network runs each sequence
only over its own steps (``pack_padded_sequence``), so a padded batch gives the same logits as
each sequence alone (the answer of the lecturer in notes 002 to the question on mini-batches of
different lengths).
"""
from __future__ import annotations

from ...ops.shape import cat
from ... import nn
from ...nn.utils.rnn import PackedSequence, pack_padded_sequence, pad_packed_sequence

__all__ = ["RNNClassifier"]

_RNNS = {"rnn": "RNN", "gru": "GRU", "lstm": "LSTM"}


class RNNClassifier(nn.Module):
    """``RNNClassifier(input_size, num_classes, hidden_size=128, num_layers=1, rnn="gru",
    bidirectional=False, pooling="last", dropout=0.0, vocab_size=None, padding_idx=None)``.

    With ``vocab_size`` the inputs are token ids (N, T) embedded to ``input_size`` features;
    otherwise they are features (N, T, input_size), or images (N, 1, H, W) read row by row
    (T = H steps of W = input_size pixels). ``forward(x, lengths=None)`` returns logits
    (N, num_classes); ``x`` may also be a ``PackedSequence`` (of ids or features)."""

    def __init__(self, input_size, num_classes, hidden_size=128, num_layers=1, rnn="gru",
                 bidirectional=False, pooling="last", dropout=0.0, vocab_size=None,
                 padding_idx=None):
        super().__init__()
        if rnn not in _RNNS:
            raise ValueError(f"RNNClassifier: rnn must be one of {', '.join(_RNNS)}, got {rnn!r}")
        if pooling not in ("last", "mean"):
            raise ValueError(f"RNNClassifier: pooling must be 'last' or 'mean', got {pooling!r}")
        self.pooling, self.bidirectional = pooling, bidirectional
        self.embedding = (nn.Embedding(vocab_size, input_size, padding_idx=padding_idx)
                          if vocab_size else None)
        self.rnn = getattr(nn, _RNNS[rnn])(input_size, hidden_size, num_layers, batch_first=True,
                                           dropout=dropout if num_layers > 1 else 0.0,
                                           bidirectional=bidirectional)
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(hidden_size * (2 if bidirectional else 1), num_classes)

    def _embed(self, x):
        if isinstance(x, PackedSequence):
            return x if self.embedding is None else PackedSequence(
                self.embedding(x.data), x.batch_sizes, x.sorted_indices, x.unsorted_indices)
        if self.embedding is not None:
            return self.embedding(x)
        if x.ndim == 4 and x.shape[1] == 1:          # images: rows are the time steps
            return x.reshape(x.shape[0], x.shape[2], x.shape[3])
        if x.ndim != 3:
            raise ValueError(f"RNNClassifier: expected features (N, T, F), images (N, 1, H, W) "
                             f"or, with vocab_size, ids (N, T); got {tuple(x.shape)}")
        return x

    def forward(self, x, lengths=None):
        x = self._embed(x)
        if lengths is not None and not isinstance(x, PackedSequence):
            x = pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
        out, h_n = self.rnn(x)
        if self.pooling == "last":
            h_n = h_n[0] if isinstance(h_n, tuple) else h_n          # LSTM: (h_n, c_n)
            summary = cat([h_n[-2], h_n[-1]], dim=1) if self.bidirectional else h_n[-1]
        elif isinstance(out, PackedSequence):
            padded, lens = pad_packed_sequence(out, batch_first=True)   # zeros past each end
            summary = padded.sum(1) / lens.to(padded.device, padded.dtype).unsqueeze(1)
        else:
            summary = out.mean(1)
        return self.head(self.dropout(summary))
