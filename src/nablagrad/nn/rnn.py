"""Recurrent layers: RNN, LSTM, GRU (stacked, bidirectional, packed input) and their cells.

Notes 002 "Recurrent Neural Networks" and 004 §5 with ERRATA R3–R9 (PyTorch's conventions):

* RNN:  h_t = φ(W_ih x_t + b_ih + W_hh h_{t−1} + b_hh), φ = tanh or relu
* LSTM: (i, f, g, o) = (σ, σ, tanh, σ)(W_ih x_t + b_ih + W_hh h_{t−1} + b_hh), split in this
  order; c_t = f⊙c_{t−1} + i⊙g; h_t = o⊙tanh(c_t) (times W_hrᵀ with ``proj_size`` > 0)
* GRU:  r = σ(W_ir x + b_ir + W_hr h + b_hr), z = σ(W_iz x + b_iz + W_hz h + b_hz),
  n = tanh(W_in x + b_in + r⊙(W_hn h + b_hn)), h_t = (1 − z)⊙n + z⊙h_{t−1}

Layer l > 0 reads the output of layer l − 1 (with dropout between layers in training);
bidirectional layers run a second recurrence over the reversed sequence and concatenate the two
outputs (2H features); h_n is (num_layers·D, N, H), layer-major, forward direction first.
Every weight and bias starts U(−1/√H, 1/√H).

Each layer and direction does its input projection for all time steps as one matmul and runs
the recurrence as one fused op; a cell step is one fused op too (:mod:`nablagrad.ops.rnn`).
"""
from __future__ import annotations

import math
import numbers
import warnings

from .. import ops
from ..ops.rnn import recurrent_cell, recurrent_scan
from . import functional as F
from . import init
from .module import Module
from .parameter import Parameter
from .utils.rnn import PackedSequence, packed_to_padded, padded_to_packed

__all__ = ["RNNBase", "RNN", "LSTM", "GRU", "RNNCellBase", "RNNCell", "LSTMCell", "GRUCell"]

_GATES = {"RNN_TANH": 1, "RNN_RELU": 1, "LSTM": 4, "GRU": 3}


def _empty(*shape, dtype=None, device=None):
    return ops.creation.empty(*shape, dtype=dtype, device=device)


def _shape(t):
    return list(t.shape)


class RNNBase(Module):
    """The stacked, optionally bidirectional recurrence shared by RNN, LSTM and GRU."""

    def __init__(self, mode, input_size, hidden_size, num_layers=1, bias=True,
                 batch_first=False, dropout=0.0, bidirectional=False, proj_size=0,
                 device=None, dtype=None):
        super().__init__()
        name = type(self).__name__
        if mode not in _GATES:
            raise ValueError(f"{name}: unrecognized RNN mode {mode!r}")
        if (not isinstance(dropout, numbers.Number) or isinstance(dropout, bool)
                or not 0 <= dropout <= 1):
            raise ValueError(f"{name}: dropout should be a number in range [0, 1] representing "
                             f"the probability of an element being zeroed, got {dropout!r}")
        if dropout > 0 and num_layers == 1:
            warnings.warn(f"{name}: dropout option adds dropout after all but last recurrent "
                          "layer, so non-zero dropout expects num_layers greater than 1, but got "
                          f"dropout={dropout} and num_layers={num_layers}", stacklevel=3)
        for what, v in (("input_size", input_size), ("hidden_size", hidden_size),
                        ("num_layers", num_layers), ("proj_size", proj_size)):
            if not isinstance(v, int) or isinstance(v, bool):
                raise TypeError(f"{name}: {what} should be of type int, got: {type(v).__name__}")
        if hidden_size <= 0:
            raise ValueError(f"{name}: hidden_size must be greater than zero, got {hidden_size}")
        if num_layers <= 0:
            raise ValueError(f"{name}: num_layers must be greater than zero, got {num_layers}")
        if proj_size < 0:
            raise ValueError(f"{name}: proj_size should be a positive integer or zero to "
                             "disable projections")
        if proj_size >= hidden_size:
            raise ValueError(f"{name}: proj_size ({proj_size}) has to be smaller than "
                             f"hidden_size ({hidden_size})")
        if proj_size and mode != "LSTM":
            raise ValueError(f"{name}: proj_size argument is only supported for LSTM, not RNN "
                             "or GRU")
        self.mode, self.input_size, self.hidden_size = mode, input_size, hidden_size
        self.num_layers, self.bias, self.batch_first = num_layers, bias, batch_first
        self.dropout, self.bidirectional, self.proj_size = float(dropout), bidirectional, proj_size
        gate_size = _GATES[mode] * hidden_size
        real_hidden = proj_size if proj_size > 0 else hidden_size
        directions = 2 if bidirectional else 1
        self._flat_weights_names = []
        for layer in range(num_layers):
            layer_input = input_size if layer == 0 else real_hidden * directions
            for suffix in ("", "_reverse")[:directions]:
                shapes = [("weight_ih", (gate_size, layer_input)),
                          ("weight_hh", (gate_size, real_hidden))]
                if bias:
                    shapes += [("bias_ih", (gate_size,)), ("bias_hh", (gate_size,))]
                if proj_size > 0:
                    shapes.append(("weight_hr", (proj_size, hidden_size)))
                for kind, shape in shapes:
                    pname = f"{kind}_l{layer}{suffix}"
                    setattr(self, pname, Parameter(_empty(*shape, dtype=dtype, device=device)))
                    self._flat_weights_names.append(pname)
        self.reset_parameters()

    def reset_parameters(self):
        """Every weight and bias ~ U(−1/√hidden_size, 1/√hidden_size)."""
        bound = 1.0 / math.sqrt(self.hidden_size) if self.hidden_size > 0 else 0
        for w in self.parameters():
            init.uniform_(w, -bound, bound)

    def flatten_parameters(self):
        """Nothing to do here (kept for code written for cuDNN)."""

    @property
    def _flat_weights(self):
        return [getattr(self, n) for n in self._flat_weights_names]

    @property
    def all_weights(self):
        """The parameters of each layer and direction, as lists."""
        per = len(self._flat_weights_names) // (self.num_layers * (2 if self.bidirectional else 1))
        w = self._flat_weights
        return [w[i:i + per] for i in range(0, len(w), per)]

    def _layer_weights(self, layer, suffix):
        """(W_ih, W_hh, b_ih, b_hh, W_hr) of one layer and direction (None where absent)."""
        def get(kind):
            return self._parameters.get(f"{kind}_l{layer}{suffix}")
        return (get("weight_ih"), get("weight_hh"), get("bias_ih"), get("bias_hh"),
                get("weight_hr"))

    # ------------------------------------------------------------------ checks
    def _check_input(self, input, batch_sizes):
        name = type(self).__name__
        expected = 2 if batch_sizes is not None else 3
        if input.ndim != expected:
            raise RuntimeError(f"{name}: input must have {expected} dimensions, got "
                               f"{input.ndim} (shape {_shape(input)})")
        if input.shape[-1] != self.input_size:
            raise RuntimeError(f"{name}: input.size(-1) must be equal to input_size. Expected "
                               f"{self.input_size}, got {input.shape[-1]} (input shape "
                               f"{_shape(input)})")
        w = self.weight_ih_l0
        if input.dtype != w.dtype:
            raise ValueError(f"{name}: input must have the type {w.dtype}, got type "
                             f"{input.dtype}")

    def _hidden_shapes(self, batch):
        layers = self.num_layers * (2 if self.bidirectional else 1)
        h = (layers, batch, self.proj_size or self.hidden_size)
        return [h, (layers, batch, self.hidden_size)] if self.mode == "LSTM" else [h]

    def _check_hidden(self, hx, expected, what):
        if tuple(hx.shape) != tuple(expected):
            raise RuntimeError(f"{type(self).__name__}: Expected {what} size {list(expected)}, "
                               f"got {_shape(hx)}")

    # ------------------------------------------------------------------ forward
    def _states(self, hx, input, batch):
        """The initial states as a list ([h0] or [h0, c0]), zeros when hx is None."""
        shapes = self._hidden_shapes(batch)
        if hx is None:
            return [ops.creation.zeros(*s, dtype=input.dtype, device=input.device)
                    for s in shapes]
        states = [hx] if self.mode != "LSTM" else list(hx)
        names = ["hidden"] if len(states) == 1 else ["hidden[0]", "hidden[1]"]
        for s, shape, what in zip(states, shapes, names):
            self._check_hidden(s, shape, what)
        return states

    def _run(self, x, states, batch_sizes):
        """x (T, B, I) → (output (T, B, D·P), [h_n] or [h_n, c_n]), padded layout."""
        directions = 2 if self.bidirectional else 1
        finals = [[] for _ in states]
        for layer in range(self.num_layers):
            outs = []
            for d, suffix in enumerate(("", "_reverse")[:directions]):
                w_ih, w_hh, b_ih, b_hh, w_hr = self._layer_weights(layer, suffix)
                k = layer * directions + d
                init_state = [s[k] for s in states]
                if self.mode == "GRU":
                    xg = F.linear(x, w_ih, b_ih)
                    res = recurrent_scan("GRU", xg, init_state[0], None, w_hh, b_hh, None,
                                         batch_sizes, d == 1)
                else:
                    b = None if b_ih is None else b_ih + b_hh
                    xg = F.linear(x, w_ih, b)
                    c0 = init_state[1] if self.mode == "LSTM" else None
                    res = recurrent_scan(self.mode, xg, init_state[0], c0, w_hh, None, w_hr,
                                         batch_sizes, d == 1)
                outs.append(res[0])
                for f, s in zip(finals, res[1:]):
                    f.append(s)
            x = outs[0] if directions == 1 else ops.shape.cat(outs, 2)
            if self.dropout > 0 and self.training and layer < self.num_layers - 1:
                x = F.dropout(x, self.dropout, True)
        return x, [ops.shape.stack(f) for f in finals]

    def forward(self, input, hx=None):
        name = type(self).__name__
        lstm = self.mode == "LSTM"
        if isinstance(input, PackedSequence):
            batch_sizes = input._batch_sizes_array()
            self._check_input(input.data, batch_sizes)
            batch = int(batch_sizes[0])
            if hx is not None and input.sorted_indices is not None:
                hx = self._permute(hx, input.sorted_indices)
            states = self._states(hx, input.data, batch)
            x = packed_to_padded(input.data, batch_sizes)
            out, finals = self._run(x, states, batch_sizes)
            output = PackedSequence(padded_to_packed(out, batch_sizes), input.batch_sizes,
                                    input.sorted_indices, input.unsorted_indices)
            if input.unsorted_indices is not None:
                finals = [f.index_select(1, input.unsorted_indices) for f in finals]
            return output, (tuple(finals) if lstm else finals[0])

        if input.ndim not in (2, 3):
            raise ValueError(f"{name}: Expected input to be 2D or 3D, got {input.ndim}D tensor "
                             f"instead (shape {_shape(input)})")
        batched = input.ndim == 3
        batch_dim = 0 if self.batch_first else 1
        if hx is not None:
            dims = [h.ndim for h in (hx if lstm else (hx,))]
            want = 3 if batched else 2
            if any(d != want for d in dims):
                kind = "batched 3-D" if batched else "unbatched 2-D"
                raise RuntimeError(f"{name}: for {kind} input, hx should also be {want}-D but "
                                   f"got {'/'.join(f'{d}-D' for d in dims)} tensor(s)")
            if not batched:
                hx = tuple(h.unsqueeze(1) for h in hx) if lstm else hx.unsqueeze(1)
        if not batched:
            input = input.unsqueeze(batch_dim)
        self._check_input(input, None)
        if self.batch_first:
            input = input.transpose(0, 1)
        states = self._states(hx, input, input.shape[1])
        out, finals = self._run(input, states, None)
        if self.batch_first:
            out = out.transpose(0, 1)
        if not batched:
            out = out.squeeze(batch_dim)
            finals = [f.squeeze(1) for f in finals]
        return out, (tuple(finals) if lstm else finals[0])

    @staticmethod
    def _permute(hx, index):
        if isinstance(hx, tuple):
            return tuple(h.index_select(1, index) for h in hx)
        return hx.index_select(1, index)

    def extra_repr(self):
        s = f"{self.input_size}, {self.hidden_size}"
        if self.proj_size != 0:
            s += f", proj_size={self.proj_size}"
        if self.num_layers != 1:
            s += f", num_layers={self.num_layers}"
        if self.bias is not True:
            s += f", bias={self.bias}"
        if self.batch_first is not False:
            s += f", batch_first={self.batch_first}"
        if self.dropout != 0:
            s += f", dropout={self.dropout}"
        if self.bidirectional is not False:
            s += f", bidirectional={self.bidirectional}"
        return s


_RNN_ARGS = ("input_size", "hidden_size", "num_layers", "nonlinearity", "bias", "batch_first",
             "dropout", "bidirectional")


class RNN(RNNBase):
    """Elman RNN: h_t = φ(W_ih x_t + b_ih + W_hh h_{t−1} + b_hh), φ = tanh (default) or relu.

    ``RNN(input_size, hidden_size, num_layers=1, nonlinearity='tanh', bias=True,
    batch_first=False, dropout=0.0, bidirectional=False, device=None, dtype=None)``;
    forward(input, hx=None) → (output, h_n)."""

    def __init__(self, *args, **kwargs):
        if len(args) > len(_RNN_ARGS):
            raise TypeError(f"RNN: takes at most {len(_RNN_ARGS)} positional arguments")
        if "proj_size" in kwargs:
            raise ValueError("RNN: proj_size argument is only supported for LSTM, not RNN or GRU")
        kw = dict(zip(_RNN_ARGS, args))
        for k in kw:
            if k in kwargs:
                raise TypeError(f"RNN: got multiple values for argument '{k}'")
        kwargs.update(kw)
        self.nonlinearity = kwargs.pop("nonlinearity", "tanh")
        if self.nonlinearity == "tanh":
            mode = "RNN_TANH"
        elif self.nonlinearity == "relu":
            mode = "RNN_RELU"
        else:
            raise ValueError(f"RNN: Unknown nonlinearity '{self.nonlinearity}'. Select from "
                             "'tanh' or 'relu'.")
        super().__init__(mode, **kwargs)

    def extra_repr(self):
        s = super().extra_repr()
        return s + (f", nonlinearity={self.nonlinearity}" if self.nonlinearity != "tanh" else "")


class LSTM(RNNBase):
    """Long short-term memory: gates (i, f, g, o), c_t = f⊙c_{t−1} + i⊙g, h_t = o⊙tanh(c_t)
    (projected to ``proj_size`` by W_hr when it is > 0).

    forward(input, (h_0, c_0)=None) → (output, (h_n, c_n))."""

    def __init__(self, input_size, hidden_size, num_layers=1, bias=True, batch_first=False,
                 dropout=0.0, bidirectional=False, proj_size=0, device=None, dtype=None):
        super().__init__("LSTM", input_size, hidden_size, num_layers, bias, batch_first,
                         dropout, bidirectional, proj_size, device, dtype)


class GRU(RNNBase):
    """Gated recurrent unit (PyTorch's convention, ERRATA R3): reset r, update z,
    n = tanh(W_in x + b_in + r⊙(W_hn h + b_hn)), h_t = (1 − z)⊙n + z⊙h_{t−1}.

    forward(input, h_0=None) → (output, h_n)."""

    def __init__(self, input_size, hidden_size, num_layers=1, bias=True, batch_first=False,
                 dropout=0.0, bidirectional=False, device=None, dtype=None):
        super().__init__("GRU", input_size, hidden_size, num_layers, bias, batch_first,
                         dropout, bidirectional, 0, device, dtype)


# ----------------------------------------------------------------------------- cells
class RNNCellBase(Module):
    """One step of a recurrence: weight_ih (G·H, I), weight_hh (G·H, H), bias_ih, bias_hh,
    all ~ U(−1/√H, 1/√H)."""

    def __init__(self, input_size, hidden_size, bias, num_chunks, device=None, dtype=None):
        super().__init__()
        self.input_size, self.hidden_size, self.bias = input_size, hidden_size, bias
        gate = num_chunks * hidden_size
        self.weight_ih = Parameter(_empty(gate, input_size, dtype=dtype, device=device))
        self.weight_hh = Parameter(_empty(gate, hidden_size, dtype=dtype, device=device))
        if bias:
            self.bias_ih = Parameter(_empty(gate, dtype=dtype, device=device))
            self.bias_hh = Parameter(_empty(gate, dtype=dtype, device=device))
        else:
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)
        self.reset_parameters()

    def reset_parameters(self):
        bound = 1.0 / math.sqrt(self.hidden_size) if self.hidden_size > 0 else 0
        for w in self.parameters():
            init.uniform_(w, -bound, bound)

    def extra_repr(self):
        s = f"{self.input_size}, {self.hidden_size}"
        if self.bias is not True:
            s += f", bias={self.bias}"
        nl = getattr(self, "nonlinearity", "tanh")
        return s + (f", nonlinearity={nl}" if nl != "tanh" else "")

    def _prepare(self, input, states):
        """Checks; returns (input (N, I), states as (N, H) tensors or None, batched)."""
        name = type(self).__name__
        if input.ndim not in (1, 2):
            raise ValueError(f"{name}: Expected input to be 1D or 2D, got {input.ndim}D instead "
                             f"(shape {_shape(input)})")
        if input.shape[-1] != self.input_size:
            raise RuntimeError(f"{name}: input has inconsistent input_size: got "
                               f"{input.shape[-1]} expected {self.input_size} (input shape "
                               f"{_shape(input)})")
        if input.dtype != self.weight_ih.dtype:
            raise ValueError(f"{name}: input must have the type {self.weight_ih.dtype}, got "
                             f"type {input.dtype}")
        batched = input.ndim == 2
        if not batched:
            input = input.unsqueeze(0)
        out = []
        for k, s in enumerate(states):
            what = "hidden" if len(states) == 1 else f"hx[{k}]"
            if s is None:
                s = ops.creation.zeros(input.shape[0], self.hidden_size, dtype=input.dtype,
                                       device=input.device)
            else:
                if s.ndim != (2 if batched else 1):
                    raise ValueError(f"{name}: Expected {what} to be "
                                     f"{'2D' if batched else '1D'} like the input, got "
                                     f"{s.ndim}D (shape {_shape(s)})")
                if not batched:
                    s = s.unsqueeze(0)
                if tuple(s.shape) != (input.shape[0], self.hidden_size):
                    raise RuntimeError(f"{name}: {what} has inconsistent size {_shape(s)}, "
                                       f"expected {[input.shape[0], self.hidden_size]}")
            out.append(s)
        return input, out, batched

    def _step(self, mode, input, states):
        c = states[1] if len(states) > 1 else None
        out = recurrent_cell(mode, input, states[0], c, self.weight_ih, self.bias_ih,
                             self.weight_hh, self.bias_hh)
        return out if c is not None else (out,)


class RNNCell(RNNCellBase):
    """h' = φ(W_ih x + b_ih + W_hh h + b_hh), φ = tanh or relu; forward(input, hx=None) → h'."""

    def __init__(self, input_size, hidden_size, bias=True, nonlinearity="tanh", device=None,
                 dtype=None):
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"RNNCell: Unknown nonlinearity: {nonlinearity!r} (expected 'tanh' "
                             "or 'relu')")
        super().__init__(input_size, hidden_size, bias, 1, device, dtype)
        self.nonlinearity = nonlinearity

    def forward(self, input, hx=None):
        input, states, batched = self._prepare(input, [hx])
        (h,) = self._step("RNN_TANH" if self.nonlinearity == "tanh" else "RNN_RELU", input,
                          states)
        return h if batched else h.squeeze(0)


class LSTMCell(RNNCellBase):
    """One LSTM step; forward(input, (h, c)=None) → (h', c')."""

    def __init__(self, input_size, hidden_size, bias=True, device=None, dtype=None):
        super().__init__(input_size, hidden_size, bias, 4, device, dtype)

    def forward(self, input, hx=None):
        input, states, batched = self._prepare(input, [None, None] if hx is None else list(hx))
        h, c = self._step("LSTM", input, states)
        return (h, c) if batched else (h.squeeze(0), c.squeeze(0))


class GRUCell(RNNCellBase):
    """One GRU step (PyTorch's convention); forward(input, hx=None) → h'."""

    def __init__(self, input_size, hidden_size, bias=True, device=None, dtype=None):
        super().__init__(input_size, hidden_size, bias, 3, device, dtype)

    def forward(self, input, hx=None):
        input, states, batched = self._prepare(input, [hx])
        (h,) = self._step("GRU", input, states)
        return h if batched else h.squeeze(0)
