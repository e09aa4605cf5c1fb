"""Stochastic gradient descent with optional (Nesterov) momentum.

With g_t the gradient (negated when ``maximize``) plus ``weight_decay``·θ:
b_1 = g_1, b_t = μ·b_{t−1} + (1 − dampening)·g_t; the step direction is b_t, or g_t + μ·b_t with
``nesterov``; θ_t = θ_{t−1} − lr·direction.
"""
from .._tensor import Tensor
from .optimizer import Optimizer, required

__all__ = ["SGD"]


class SGD(Optimizer):
    """``SGD(params, lr=1e-3, momentum=0, dampening=0, weight_decay=0, nesterov=False, *,
    maximize=False)``."""

    def __init__(self, params, lr=1e-3, momentum=0, dampening=0, weight_decay=0, nesterov=False, *,
                 maximize=False, foreach=None, differentiable=False, fused=None):
        if lr is not required and lr < 0.0:
            raise ValueError(f"SGD: invalid learning rate: {lr}")
        if momentum < 0.0:
            raise ValueError(f"SGD: invalid momentum value: {momentum}")
        if weight_decay < 0.0:
            raise ValueError(f"SGD: invalid weight_decay value: {weight_decay}")
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("SGD: Nesterov momentum requires a momentum and zero dampening")
        super().__init__(params, dict(lr=lr, momentum=momentum, dampening=dampening,
                                      weight_decay=weight_decay, nesterov=nesterov,
                                      maximize=maximize, foreach=foreach,
                                      differentiable=differentiable, fused=fused))

    def _update(self, p, g, state, group):
        wd, mom = group["weight_decay"], group["momentum"]
        if wd != 0:
            g = g + wd * p
        if mom != 0:
            buf = state.get("momentum_buffer")
            if buf is None:
                state["momentum_buffer"] = buf = Tensor._make(g.copy())
            else:
                b = buf._data
                b *= mom
                b += (1 - group["dampening"]) * g
                buf._vbox[0] += 1
            g = g + mom * buf._data if group["nesterov"] else buf._data
        p -= group["lr"] * g
