"""Recurrent layers as one fused op per layer and direction (notes 002 "Recurrent Neural
Networks", 004 §5; ERRATA R3–R6 give PyTorch's conventions, which are the ones used here).

The caller computes the input projection for all time steps at once, xg_t = W_ih x_t + b (one
matmul), and :class:`RecurrentScan` runs the recurrence over the steps t = 1..T:

* RNN:  h_t = φ(xg_t + W_hh h_{t−1}),  φ = tanh or relu
* LSTM: (i, f, g, o) = (σ, σ, tanh, σ)(xg_t + W_hh h_{t−1});  c_t = f⊙c_{t−1} + i⊙g;
        h_t = o⊙tanh(c_t), or W_hr (o⊙tanh(c_t)) with a projection (``proj_size``)
* GRU:  a = W_hh h_{t−1} + b_hh;  r = σ(xg_r + a_r), z = σ(xg_z + a_z),
        n = tanh(xg_n + r⊙a_n);  h_t = (1 − z)⊙n + z⊙h_{t−1}

(the layers fold b_hh into xg for LSTM and RNN; for GRU it can't be, since b_hn sits inside
r⊙(·); the single-step cells pass b_hh to the op, which adds it inside every step).

Backward is back-propagation through time: going back from t = T, each step turns dL/dh_t (from
the output and from step t+1) and dL/dc_t into δ_t = dL/d(pre-activations) with the local
derivatives σ' = σ(1−σ), tanh' = 1 − tanh², and passes dL/dh_{t−1} = δ_tᵀ-part · W_hh on. The
weight gradients are summed over time in one matmul each: dL/dW_hh = Σ_t δ_tᵀ h_{t−1},
dL/dW_hr = Σ_t (dL/dh_t)ᵀ (o⊙tanh c_t).

Packed (variable-length) batches: ``batch_sizes[t]`` rows are active at step t, the longest
sequences first. The other rows keep their state unchanged and output zeros, so each sequence's
final state is its state after its own last step (for the reverse direction: after its first).

:class:`RecurrentCell` is a single step with the input projection inside (for RNNCell,
LSTMCell, GRUCell: one op per step).

The step formulas are written once and run on NumPy/CuPy arrays (the fast path) or on Tensors:
when the backward itself is recorded (``create_graph=True``) the forward steps are recomputed
in Tensor ops and the same backward formulas build a differentiable graph (double backward).
"""
from __future__ import annotations

from .. import backend
from .._tensor import Tensor
from ..autograd import grad_mode
from ..autograd.graph import Op
from .creation import zeros
from .shape import cat, stack

__all__ = []


# ----------------------------------------------------------------------------- array kits
class _Arrays:
    """The primitives the step formulas use, on NumPy/CuPy arrays."""

    @staticmethod
    def sigmoid(x):
        """σ(x) = (1 + tanh(x/2)) / 2: no overflow, and faster than expit."""
        y = x * 0.5
        backend.xp_of(x).tanh(y, out=y)
        y *= 0.5
        y += 0.5
        return y

    @staticmethod
    def tanh(x):
        return backend.xp_of(x).tanh(x)

    @staticmethod
    def relu(x):
        return backend.xp_of(x).maximum(x, 0)

    @staticmethod
    def preact(xg, h, w):
        """xg + h Wᵀ, added into the matmul's result."""
        a = h @ w.T
        a += xg
        return a

    @staticmethod
    def positive(y):
        return (y > 0).astype(y.dtype)

    @staticmethod
    def cat(xs, axis=-1):
        return backend.xp_of(xs[0]).concatenate(xs, axis=axis)

    @staticmethod
    def stack_steps(xs, steps, ns, batch):
        """(T, batch, ...) with step k's rows at [steps[k], :ns[k]] and zeros elsewhere."""
        xp = backend.xp_of(xs[0])
        make = xp.empty if min(ns) == batch else xp.zeros
        out = make((len(xs), batch) + xs[0].shape[1:], dtype=xs[0].dtype)
        for x, t, n in zip(xs, steps, ns):
            out[t, :n] = x
        return out


class _Tensors:
    """The same primitives on Tensors (recorded by autograd)."""

    @staticmethod
    def sigmoid(x):
        return x.sigmoid()

    @staticmethod
    def tanh(x):
        return x.tanh()

    @staticmethod
    def relu(x):
        return x.relu()

    @staticmethod
    def preact(xg, h, w):
        return xg + h @ w.T

    @staticmethod
    def positive(y):
        return (y > 0).to(y.dtype)

    @staticmethod
    def cat(xs, axis=-1):
        return cat(xs, axis)

    @staticmethod
    def stack_steps(xs, steps, ns, batch):
        rows = [None] * len(xs)
        for x, t, n in zip(xs, steps, ns):
            if n < batch:
                x = cat([x, zeros(batch - n, *x.shape[1:], dtype=x.dtype, device=x.device)])
            rows[t] = x
        return stack(rows)


# ----------------------------------------------------------------------------- cells
class RNNMath:
    """h' = φ(xg + W_hh h); δ = dh ⊙ φ'(·) with tanh' = 1 − h'², relu' = [h' > 0]."""

    n_states = 1

    def __init__(self, nonlinearity="tanh"):
        self.nonlinearity = nonlinearity

    def step(self, K, xg, state, w_hh, b_hh, w_hr):
        (h,) = state
        a = K.preact(xg, h, w_hh)
        if b_hh is not None:
            a = a + b_hh
        y = K.tanh(a) if self.nonlinearity == "tanh" else K.relu(a)
        return (y,), (h, y)

    def back(self, K, cache, dstate, w_hh, w_hr):
        h, y = cache
        (dh,) = dstate
        da = dh * (1 - y * y) if self.nonlinearity == "tanh" else dh * K.positive(y)
        return da, da, (da @ w_hh,)


class LSTMMath:
    """Gates (i, f, g, o); c' = f⊙c + i⊙g, m = o⊙tanh(c'), h' = m (or m W_hrᵀ). Backward:
    dm = dh (or dh W_hr); dc ← dc + dm⊙o⊙(1 − tanh²c'); δ = (dc⊙g⊙i(1−i), dc⊙c⊙f(1−f),
    dc⊙i⊙(1−g²), dm⊙tanh c'⊙o(1−o)); dh_prev = δ W_hh, dc_prev = dc⊙f."""

    n_states = 2

    def step(self, K, xg, state, w_hh, b_hh, w_hr):
        h, c = state
        a = K.preact(xg, h, w_hh)
        if b_hh is not None:
            a = a + b_hh
        H = c.shape[-1]
        i_f = K.sigmoid(a[:, :2 * H])
        i, f = i_f[:, :H], i_f[:, H:]
        g = K.tanh(a[:, 2 * H:3 * H])
        o = K.sigmoid(a[:, 3 * H:])
        c2 = f * c + i * g
        tc = K.tanh(c2)
        m = o * tc
        h2 = m if w_hr is None else m @ w_hr.T
        return (h2, c2), (h, c, i, f, g, o, tc, m)

    def back(self, K, cache, dstate, w_hh, w_hr):
        h, c, i, f, g, o, tc, m = cache
        dh, dc = dstate
        dm = dh if w_hr is None else dh @ w_hr
        dc = dc + dm * o * (1 - tc * tc)
        da = K.cat([dc * g * i * (1 - i), dc * c * f * (1 - f), dc * i * (1 - g * g),
                    dm * tc * o * (1 - o)])
        return da, da, (da @ w_hh, dc * f)


class GRUMath:
    """a = W_hh h + b_hh; r, z, n as above; h' = n + z⊙(h − n). Backward: dn = dh⊙(1−z),
    δ_n = dn⊙(1−n²), δ_r = δ_n⊙a_n⊙r(1−r), δ_z = dh⊙(h−n)⊙z(1−z); the recurrent part sees
    (δ_r, δ_z, δ_n⊙r); dh_prev = dh⊙z + (δ_r, δ_z, δ_n⊙r) W_hh."""

    n_states = 1

    def step(self, K, xg, state, w_hh, b_hh, w_hr):
        (h,) = state
        a = h @ w_hh.T
        if b_hh is not None:
            a = a + b_hh
        H = h.shape[-1]
        rz = K.sigmoid(xg[:, :2 * H] + a[:, :2 * H])
        r, z = rz[:, :H], rz[:, H:]
        an = a[:, 2 * H:]
        n = K.tanh(xg[:, 2 * H:] + r * an)
        return (n + z * (h - n),), (h, r, z, n, an)

    def back(self, K, cache, dstate, w_hh, w_hr):
        h, r, z, n, an = cache
        (dh,) = dstate
        dan = dh * (1 - z) * (1 - n * n)
        dar = dan * an * r * (1 - r)
        daz = dh * (h - n) * z * (1 - z)
        dxg = K.cat([dar, daz, dan])
        da = K.cat([dar, daz, dan * r])
        return dxg, da, (dh * z + da @ w_hh,)


# ----------------------------------------------------------------------------- the scan
def _scan(K, cell, xg, state, weights, steps, ns):
    """Run the steps; returns the final state, the new h of each step and each step's cache."""
    batch = state[0].shape[0]
    outs, caches = [], []
    for t, n in zip(steps, ns):
        if n == batch:
            state, cache = cell.step(K, xg[t], state, *weights)
        else:
            new, cache = cell.step(K, xg[t, :n], tuple(s[:n] for s in state), *weights)
            state = tuple(K.cat([a, s[n:]], 0) for a, s in zip(new, state))
        outs.append(state[0][:n] if n < batch else state[0])
        caches.append(cache)
    return state, outs, caches


def _bptt(K, cell, g_out, dstate, caches, w_hh, w_hr, steps, ns):
    """Back through the steps; returns per-step (δ for xg, δ for the recurrent pre-activation,
    dL/dh_t for the projection), and dL/d(initial state)."""
    batch = dstate[0].shape[0]
    dxs, das, dhs = [], [], []
    for k in range(len(steps) - 1, -1, -1):
        t, n = steps[k], ns[k]
        part = tuple(s[:n] for s in dstate) if n < batch else dstate
        dh = part[0] + g_out[t, :n] if n < batch else part[0] + g_out[t]
        dx, da, prev = cell.back(K, caches[k], (dh,) + part[1:], w_hh, w_hr)
        dstate = prev if n == batch else tuple(
            K.cat([p, s[n:]], 0) for p, s in zip(prev, dstate))
        dxs.append(dx)
        das.append(da)
        dhs.append(dh)
    return dxs[::-1], das[::-1], dhs[::-1], dstate


def _steps(T, batch_sizes, batch, reverse):
    steps = list(range(T - 1, -1, -1) if reverse else range(T))
    ns = [batch] * T if batch_sizes is None else [int(batch_sizes[t]) for t in steps]
    return steps, ns


def _grads(K, cell, g_out, g_states, caches, w_hh, w_hr, steps, ns, need):
    """All gradients of the scan: (xg, h0, c0, W_hh, b_hh, W_hr); ``need`` says which."""
    batch = g_states[0].shape[0]
    dxs, das, dhs, d0 = _bptt(K, cell, g_out, g_states, caches, w_hh, w_hr, steps, ns)
    dxg = K.stack_steps(dxs, steps, ns, batch)
    da = dxg if das[0] is dxs[0] else K.stack_steps(das, steps, ns, batch)
    G = da.shape[-1]
    da2 = da.reshape(-1, G)
    dw_hh = db_hh = dw_hr = None
    if need[3]:
        hprev = K.stack_steps([c[0] for c in caches], steps, ns, batch)
        dw_hh = da2.T @ hprev.reshape(-1, hprev.shape[-1])
    if need[4]:
        db_hh = da2.sum(0)
    if need[5]:
        dh = K.stack_steps(dhs, steps, ns, batch)
        m = K.stack_steps([c[-1] for c in caches], steps, ns, batch)
        dw_hr = dh.reshape(-1, dh.shape[-1]).T @ m.reshape(-1, m.shape[-1])
    d_c0 = d0[1] if len(d0) > 1 else None
    return dxg, d0[0], d_c0, dw_hh, db_hh, dw_hr


class RecurrentScan(Op):
    """One layer, one direction of RNN/LSTM/GRU over a whole (padded) sequence; see the module
    docstring for the formulas. Arguments: xg (T, B, G) the input projection, h0 (B, P),
    c0 (B, H) or None, W_hh (G, P), b_hh (G,) or None, W_hr (P, H) or None.
    Outputs: (out (T, B, P), h_T) or (out, h_T, c_T)."""

    def forward(self, xg, h0, c0, w_hh, b_hh, w_hr, *, cell, batch_sizes, reverse):
        xp = backend.xp_of(xg)
        T, batch = xg.shape[:2]
        steps, ns = _steps(T, batch_sizes, batch, reverse)
        state = (h0,) if c0 is None else (h0, c0)
        if T == 0:
            out = xp.zeros((0, batch, h0.shape[-1]), dtype=xg.dtype)
            return (out,) + tuple(s.copy() for s in state)
        state, outs, caches = _scan(_Arrays, cell, xg, state, (w_hh, b_hh, w_hr), steps, ns)
        out = _Arrays.stack_steps(outs, steps, ns, batch)
        if self.requires_grad:
            self.cell, self.steps, self.ns, self.caches = cell, steps, ns, caches
            self.retain_inputs(0, 1, 2, 3, 4, 5)
            state = tuple(s.copy() for s in state)  # the caches may hold the last state
        return (out,) + state

    def backward(self, g_out, g_h, g_c=None):
        xg, h0, c0, w_hh, b_hh, w_hr = self.saved_tensors
        need = self.needs_input_grad
        if xg.shape[0] == 0:
            return (None, g_h, g_c, None, None, None)
        g_states = (g_h,) if g_c is None else (g_h, g_c)
        if grad_mode.state.enabled:  # create_graph: recompute the steps in Tensor ops
            state = (h0,) if c0 is None else (h0, c0)
            _, _, caches = _scan(_Tensors, self.cell, xg, state, (w_hh, b_hh, w_hr),
                                 self.steps, self.ns)
            return _grads(_Tensors, self.cell, g_out, g_states, caches, w_hh, w_hr,
                          self.steps, self.ns, need)
        arrays = tuple(g._data for g in g_states)
        w_hr_a = None if w_hr is None else w_hr._data
        grads = _grads(_Arrays, self.cell, g_out._data, arrays, self.caches, w_hh._data,
                       w_hr_a, self.steps, self.ns, need)
        return tuple(None if g is None or not ok else Tensor._make(g)
                     for g, ok in zip(grads, need))

    def release(self):
        super().release()
        self.caches = None


_CELLS = {"RNN_TANH": RNNMath("tanh"), "RNN_RELU": RNNMath("relu"), "LSTM": LSTMMath(),
          "GRU": GRUMath()}


def recurrent_scan(mode, xg, h0, c0, w_hh, b_hh=None, w_hr=None, batch_sizes=None,
                   reverse=False):
    """Run one layer/direction (``mode`` in RNN_TANH, RNN_RELU, LSTM, GRU) over xg (T, B, G);
    returns (out, h_T) or, for LSTM, (out, h_T, c_T)."""
    return RecurrentScan.apply(xg, h0, c0, w_hh, b_hh, w_hr, cell=_CELLS[mode],
                               batch_sizes=batch_sizes, reverse=reverse)


# ----------------------------------------------------------------------------- one step
class RecurrentCell(Op):
    """One step of RNN/LSTM/GRU with the input projection inside (the cells' op): xg = x W_ihᵀ
    + b_ih, then the step above. Backward: δ from the step's backward, dL/dx = δ_x W_ih,
    dL/dW_ih = δ_xᵀ x, dL/db_ih = Σ δ_x, dL/dW_hh = δ_hᵀ h, dL/db_hh = Σ δ_h.
    Arguments: x (B, I), h (B, H), c (B, H) or None, W_ih, b_ih or None, W_hh, b_hh or None.
    Outputs: h' for RNN/GRU, (h', c') for LSTM."""

    def forward(self, x, h, c, w_ih, b_ih, w_hh, b_hh, *, cell):
        xg = x @ w_ih.T
        if b_ih is not None:
            xg += b_ih
        state, cache = cell.step(_Arrays, xg, (h,) if c is None else (h, c), w_hh, b_hh, None)
        if self.requires_grad:
            self.cell, self.cache = cell, cache
            self.retain_inputs(0, 1, 2, 3, 4, 5, 6)
            state = tuple(s.copy() for s in state)  # the cache may hold the new state
        return state if len(state) > 1 else state[0]

    def backward(self, g_h, g_c=None):
        x, h, c, w_ih, b_ih, w_hh, b_hh = self.saved_tensors
        need = self.needs_input_grad
        dstate = (g_h,) if g_c is None else (g_h, g_c)
        if grad_mode.state.enabled:  # create_graph: recompute the step in Tensor ops
            K, cache = _Tensors, self._tensor_cache(x, h, c, w_ih, b_ih, w_hh, b_hh)
        else:
            K, cache = _Arrays, self.cache
            dstate = tuple(g._data for g in dstate)
            x, w_ih, w_hh = x._data, w_ih._data, w_hh._data
        dxg, da, prev = self.cell.back(K, cache, dstate, w_hh, None)
        grads = (dxg @ w_ih if need[0] else None, prev[0], prev[1] if len(prev) > 1 else None,
                 dxg.T @ x if need[3] else None, dxg.sum(0) if need[4] else None,
                 da.T @ cache[0] if need[5] else None, da.sum(0) if need[6] else None)
        if K is _Tensors:
            return grads
        return tuple(None if g is None or not ok else Tensor._make(g)
                     for g, ok in zip(grads, need))

    def _tensor_cache(self, x, h, c, w_ih, b_ih, w_hh, b_hh):
        xg = x @ w_ih.T if b_ih is None else x @ w_ih.T + b_ih
        state = (h,) if c is None else (h, c)
        return self.cell.step(_Tensors, xg, state, w_hh, b_hh, None)[1]

    def release(self):
        super().release()
        self.cache = None


def recurrent_cell(mode, x, h, c, w_ih, b_ih, w_hh, b_hh):
    """One step (``mode`` in RNN_TANH, RNN_RELU, LSTM, GRU) of x (B, I) from state h (and c);
    returns h' or, for LSTM, (h', c')."""
    return RecurrentCell.apply(x, h, c, w_ih, b_ih, w_hh, b_hh, cell=_CELLS[mode])
