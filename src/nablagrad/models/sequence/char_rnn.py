"""Character-level LSTM language model (A. Karpathy's char-rnn, "The Unreasonable Effectiveness of
Recurrent Neural Networks", 2015; LSTM: S. Hochreiter and J. Schmidhuber, 1997; notes 002
"Recurrent Neural Networks", 004 §5, with ERRATA R4–R7).

Each character id x_t is embedded, e_t = E[x_t], and fed through L stacked LSTM layers; layer 1
reads e_t, layer l ≥ 2 reads h_t of the layer below (ERRATA R6). One layer, PyTorch's ``nn.LSTM``
(ERRATA R5):

    i_t = σ(W_ii x_t + b_ii + W_hi h_{t−1} + b_hi)        input gate
    f_t = σ(W_if x_t + b_if + W_hf h_{t−1} + b_hf)        forget gate
    g_t = tanh(W_ig x_t + b_ig + W_hg h_{t−1} + b_hg)     candidate cell
    o_t = σ(W_io x_t + b_io + W_ho h_{t−1} + b_ho)        output gate
    c_t = f_t ⊙ c_{t−1} + i_t ⊙ g_t,    h_t = o_t ⊙ tanh(c_t)

and the top layer's h_t^[L] gives the next-character distribution (ERRATA R7)

    p(x_{t+1} | x_{≤t}) = softmax(W_y h_t^[L] + b_y),

trained by minimising the cross-entropy −(1/T) Σ_t log p(x_{t+1} | x_{≤t}) (nats per character).
The state (h_t, c_t) is returned so a long text can be processed in chunks: feeding the state of
one chunk into the next gives exactly the outputs of the whole sequence at once, and detaching it
between chunks is truncated backpropagation through time.
"""
from __future__ import annotations

from ...autograd import no_grad
from ...ops.creation import tensor
from ... import nn
from .sampling import sample_next

__all__ = ["CharRNN", "generate_chars"]


class CharRNN(nn.Module):
    """Embedding(vocab, embedding_dim) → LSTM(embedding_dim, hidden_size, num_layers) → dropout →
    Linear(hidden_size, vocab). ``forward(idx (N, T), state=None) -> (logits (N, T, vocab),
    (h_n, c_n))`` with h_n, c_n of shape (num_layers, N, hidden_size)."""

    def __init__(self, vocab_size, hidden_size=512, num_layers=2, embedding_dim=None,
                 dropout=0.0):
        super().__init__()
        embedding_dim = embedding_dim or hidden_size
        self.vocab_size, self.hidden_size, self.num_layers = vocab_size, hidden_size, num_layers
        self.embedding = nn.Embedding(vocab_size, embedding_dim)
        self.lstm = nn.LSTM(embedding_dim, hidden_size, num_layers, batch_first=True,
                            dropout=dropout if num_layers > 1 else 0.0)
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(hidden_size, vocab_size)

    def forward(self, idx, state=None):
        if idx.ndim != 2:
            raise ValueError(f"CharRNN: expected character ids of shape (N, T), got "
                             f"{tuple(idx.shape)}")
        out, state = self.lstm(self.embedding(idx), state)
        return self.head(self.dropout(out)), state


def generate_chars(model, prompt_ids, max_new_tokens, temperature=1.0, top_k=None, top_p=None,
                   generator=None):
    """Sample ``max_new_tokens`` characters after ``prompt_ids`` (a list of ids, at least one):
    the prompt is read in one call, then each sampled character is fed back with the carried
    state. Returns the new ids as a list. The model is in eval mode for the call."""
    if len(prompt_ids) == 0:
        raise ValueError("generate_chars: the prompt must hold at least one character")
    was_training = model.training
    model.eval()
    try:
        with no_grad():
            logits, state = model(tensor([list(prompt_ids)]))
            out = []
            for _ in range(max_new_tokens):
                nxt = sample_next(logits[:, -1, :], temperature, top_k, top_p, generator)
                out.append(int(nxt.item()))
                logits, state = model(nxt, state)
    finally:
        model.train(was_training)
    return out
