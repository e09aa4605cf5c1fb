"""Op specs: the fused recurrent ops (ops/rnn.py). ``recurrent_scan`` (one layer and direction of
RNN/LSTM/GRU over a sequence) against the same recurrence built from PyTorch's cell functions
(torch.lstm_cell, torch.gru_cell, torch.rnn_tanh_cell, torch.rnn_relu_cell) with an identity
input weight, so that the precomputed input projection xg goes in unchanged; ``recurrent_cell``
(one step with its input projection) against those cell functions directly."""
import torch

from nablagrad.ops.rnn import recurrent_cell, recurrent_scan

from .spec import OpSpec, randn

_TORCH_CELLS = {"RNN_TANH": torch.rnn_tanh_cell, "RNN_RELU": torch.rnn_relu_cell,
                "LSTM": torch.lstm_cell, "GRU": torch.gru_cell}


def _torch_step(mode, x, state, eye, w_hh, b_hh, w_hr):
    if mode != "LSTM":
        return (_TORCH_CELLS[mode](x, state[0], eye, w_hh, None, b_hh),)
    if w_hr is None:
        return torch.lstm_cell(x, state, eye, w_hh, None, b_hh)
    h, c = state  # projection: the gate equations written out (lstm_cell has no W_hr)
    i, f, g, o = (x + h @ w_hh.T + (0 if b_hh is None else b_hh)).chunk(4, 1)
    c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
    return (torch.sigmoid(o) * torch.tanh(c)) @ w_hr.T, c


def torch_scan(mode, xg, h0, c0, w_hh, b_hh=None, w_hr=None, batch_sizes=None, reverse=False):
    T, B, G = xg.shape
    eye = torch.eye(G, dtype=xg.dtype)
    state = (h0,) if c0 is None else (h0, c0)
    outs = [None] * T
    for t in (range(T - 1, -1, -1) if reverse else range(T)):
        n = B if batch_sizes is None else batch_sizes[t]
        new = _torch_step(mode, xg[t, :n], tuple(s[:n] for s in state), eye, w_hh, b_hh, w_hr)
        state = tuple(torch.cat([a, s[n:]]) for a, s in zip(new, state))
        outs[t] = torch.cat([new[0], torch.zeros(B - n, new[0].shape[1], dtype=xg.dtype)])
    return (torch.stack(outs),) + state


def _samples(mode, proj=False):
    gates = {"LSTM": 4, "GRU": 3}.get(mode, 1)
    H, P = 3, (2 if proj else 3)

    def samples(r):
        def args(T, B, batch_sizes=None, reverse=False, bias=True):
            c0 = randn(r, B, H) if mode == "LSTM" else None
            b_hh = randn(r, gates * H) if bias else None
            w_hr = randn(r, P, H) if proj else None
            return (mode, randn(r, T, B, gates * H), randn(r, B, P), c0,
                    randn(r, gates * H, P) * 0.7, b_hh, w_hr, batch_sizes, reverse)
        return [args(3, 2), args(3, 3, reverse=True), args(4, 3, [3, 2, 2, 1]),
                args(4, 3, [3, 3, 1, 1], reverse=True), args(1, 2, bias=False)]
    return samples


for _mode, _proj in [("RNN_TANH", False), ("RNN_RELU", False), ("LSTM", False), ("LSTM", True),
                     ("GRU", False)]:
    OpSpec(f"recurrent_scan_{_mode.lower()}{'_proj' if _proj else ''}", recurrent_scan,
           torch_scan, _samples(_mode, _proj), atol=1e-6, rtol=1e-5)


def torch_cell(mode, x, h, c, w_ih, b_ih, w_hh, b_hh):
    if mode == "LSTM":
        return torch.lstm_cell(x, (h, c), w_ih, w_hh, b_ih, b_hh)
    return _TORCH_CELLS[mode](x, h, w_ih, w_hh, b_ih, b_hh)


def _cell_samples(mode):
    gates = {"LSTM": 4, "GRU": 3}.get(mode, 1)

    def samples(r):
        def args(B, bias=True):
            c = randn(r, B, 3) if mode == "LSTM" else None
            b = (lambda: randn(r, gates * 3)) if bias else (lambda: None)
            return (mode, randn(r, B, 2), randn(r, B, 3), c, randn(r, gates * 3, 2), b(),
                    randn(r, gates * 3, 3) * 0.7, b())
        return [args(2), args(3, bias=False)]
    return samples


for _mode in ("RNN_TANH", "RNN_RELU", "LSTM", "GRU"):
    OpSpec(f"recurrent_cell_{_mode.lower()}", recurrent_cell, torch_cell, _cell_samples(_mode))
