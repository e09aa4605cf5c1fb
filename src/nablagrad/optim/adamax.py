"""Adamax: Adam with the infinity norm.

m_t = β1·m_{t−1} + (1−β1)·g_t,  u_t = max(β2·u_{t−1}, |g_t| + ε),
θ_t = θ_{t−1} − (lr/(1−β1^t))·m_t/u_t.
"""
from .. import backend
from .adam import _check
from .optimizer import Optimizer, _advance_step, _buffer

__all__ = ["Adamax"]


class Adamax(Optimizer):
    """``Adamax(params, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, foreach=None, *,
    maximize=False)``."""

    def __init__(self, params, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, foreach=None,
                 *, maximize=False, differentiable=False, capturable=False):
        _check("Adamax", lr, betas, eps, weight_decay)
        super().__init__(params, dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay,
                                      foreach=foreach, maximize=maximize,
                                      differentiable=differentiable, capturable=capturable))

    def _update(self, p, g, state, group):
        xp = backend.xp_of(p)
        beta1, beta2 = group["betas"]
        step = _advance_step(state)
        if group["weight_decay"] != 0:
            g = g + group["weight_decay"] * p
        m = _buffer(state, "exp_avg", p)
        u = _buffer(state, "exp_inf", p)
        m += (1 - beta1) * (g - m)
        u *= beta2
        xp.maximum(u, xp.abs(g) + group["eps"], out=u)
        p -= (group["lr"] / (1 - beta1 ** step)) * m / u
        for t in state.values():
            t._vbox[0] += 1
