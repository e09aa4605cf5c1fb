"""RMSprop: divide the gradient by a running root-mean-square.

v_t = α·v_{t−1} + (1−α)·g_t²; with ``centered``, a_t = α·a_{t−1} + (1−α)·g_t and the denominator uses
v_t − a_t²; d_t = √(v_t [− a_t²]) + ε.  Without momentum θ_t = θ_{t−1} − lr·g_t/d_t; with momentum μ,
b_t = μ·b_{t−1} + g_t/d_t and θ_t = θ_{t−1} − lr·b_t.
"""
from .. import backend
from .optimizer import Optimizer, _advance_step, _buffer

__all__ = ["RMSprop"]


class RMSprop(Optimizer):
    """``RMSprop(params, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0, momentum=0, centered=False,
    capturable=False, foreach=None, maximize=False)``."""

    def __init__(self, params, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0, momentum=0,
                 centered=False, capturable=False, foreach=None, maximize=False,
                 differentiable=False):
        for name, value in (("learning rate", lr), ("epsilon", eps), ("momentum", momentum),
                            ("weight_decay", weight_decay), ("alpha", alpha)):
            if value < 0.0:
                raise ValueError(f"RMSprop: invalid {name} value: {value}")
        super().__init__(params, dict(lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay,
                                      momentum=momentum, centered=centered, capturable=capturable,
                                      foreach=foreach, maximize=maximize,
                                      differentiable=differentiable))

    def _update(self, p, g, state, group):
        xp = backend.xp_of(p)
        alpha, mom = group["alpha"], group["momentum"]
        _advance_step(state)
        if group["weight_decay"] != 0:
            g = g + group["weight_decay"] * p
        v = _buffer(state, "square_avg", p)
        v *= alpha
        v += (1 - alpha) * g * g
        if group["centered"]:
            a = _buffer(state, "grad_avg", p)
            a += (1 - alpha) * (g - a)
            denom = xp.sqrt(v - a * a)
        else:
            denom = xp.sqrt(v)
        denom += group["eps"]
        if mom > 0:
            b = _buffer(state, "momentum_buffer", p)
            b *= mom
            b += g / denom
            p -= group["lr"] * b
        else:
            p -= group["lr"] * g / denom
        for t in state.values():
            t._vbox[0] += 1
