"""Adagrad: per-coordinate step sizes from the running sum of squared gradients.

s_0 = ``initial_accumulator_value``, s_t = s_{t−1} + g_t²,
θ_t = θ_{t−1} − lr_t·g_t/(√s_t + ε), with lr_t = lr/(1 + (t−1)·lr_decay)
(g_t includes ``weight_decay``·θ and is negated when ``maximize``).
"""
from .. import backend
from .optimizer import Optimizer, _advance_step, _buffer, _scalar

__all__ = ["Adagrad"]


class Adagrad(Optimizer):
    """``Adagrad(params, lr=1e-2, lr_decay=0, weight_decay=0, initial_accumulator_value=0, eps=1e-10,
    *, maximize=False)``. State is created for every parameter at construction, as in PyTorch."""

    def __init__(self, params, lr=1e-2, lr_decay=0, weight_decay=0, initial_accumulator_value=0,
                 eps=1e-10, foreach=None, *, maximize=False, differentiable=False, fused=None):
        for name, value in (("learning rate", lr), ("lr_decay", lr_decay),
                            ("weight_decay", weight_decay),
                            ("initial_accumulator_value", initial_accumulator_value),
                            ("epsilon", eps)):
            if value < 0.0:
                raise ValueError(f"Adagrad: invalid {name} value: {value}")
        super().__init__(params, dict(lr=lr, lr_decay=lr_decay, weight_decay=weight_decay,
                                      initial_accumulator_value=initial_accumulator_value, eps=eps,
                                      foreach=foreach, maximize=maximize,
                                      differentiable=differentiable, fused=fused))

    def _init_group_state(self, group):
        for p in group["params"]:
            state = self.state.setdefault(p, {})
            state["step"] = _scalar(0.0)
            _buffer(state, "sum", p._data, group["initial_accumulator_value"])

    def _update(self, p, g, state, group):
        step = _advance_step(state)
        if group["weight_decay"] != 0:
            g = g + group["weight_decay"] * p
        clr = group["lr"] / (1 + (step - 1) * group["lr_decay"])
        s = _buffer(state, "sum", p, group["initial_accumulator_value"])
        s += g * g
        state["sum"]._vbox[0] += 1
        std = backend.xp_of(p).sqrt(s)
        std += group["eps"]
        p -= clr * g / std
