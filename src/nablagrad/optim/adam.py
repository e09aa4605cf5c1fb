"""Adam, and AdamW (Adam with decoupled weight decay).

With g_t the gradient (negated when ``maximize``; plus λθ for Adam's coupled ``weight_decay``):
m_t = β1·m_{t−1} + (1−β1)·g_t,  v_t = β2·v_{t−1} + (1−β2)·g_t²,
m̂_t = m_t/(1−β1^t),  v̂_t = v_t/(1−β2^t)  (with ``amsgrad``: v_t replaced by max_{s≤t} v_s),
θ_t = θ_{t−1} − lr·m̂_t/(√v̂_t + ε).  AdamW first decays θ ← θ − lr·λ·θ.
"""
import math

from .. import backend
from .optimizer import Optimizer, _advance_step, _buffer

__all__ = ["Adam", "AdamW"]


def _check(name, lr, betas, eps, weight_decay):
    if lr < 0.0:
        raise ValueError(f"{name}: invalid learning rate: {lr}")
    if eps < 0.0:
        raise ValueError(f"{name}: invalid epsilon value: {eps}")
    for i, b in enumerate(betas):
        if not 0.0 <= b < 1.0:
            raise ValueError(f"{name}: invalid beta parameter at index {i}: {b}")
    if weight_decay < 0.0:
        raise ValueError(f"{name}: invalid weight_decay value: {weight_decay}")


class Adam(Optimizer):
    """``Adam(params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, amsgrad=False, *,
    maximize=False, decoupled_weight_decay=False)``."""

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, amsgrad=False,
                 *, foreach=None, maximize=False, capturable=False, differentiable=False, fused=None,
                 decoupled_weight_decay=False):
        _check(type(self).__name__, lr, betas, eps, weight_decay)
        super().__init__(params, dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay,
                                      amsgrad=amsgrad, maximize=maximize, foreach=foreach,
                                      capturable=capturable, differentiable=differentiable,
                                      fused=fused, decoupled_weight_decay=decoupled_weight_decay))

    def _update(self, p, g, state, group):
        lr, wd, eps = group["lr"], group["weight_decay"], group["eps"]
        beta1, beta2 = group["betas"]
        step = _advance_step(state)
        m = _buffer(state, "exp_avg", p)
        v = _buffer(state, "exp_avg_sq", p)
        if wd != 0:
            if group["decoupled_weight_decay"]:
                p *= 1 - lr * wd
            else:
                g = g + wd * p
        xp = backend.xp_of(p)
        tmp = g - m                      # m ← m + (1−β1)(g − m)
        tmp *= 1 - beta1
        m += tmp
        xp.multiply(g, 1 - beta2, out=tmp)  # v ← β2·v + ((1−β2)·g)·g
        tmp *= g
        v *= beta2
        v += tmp
        if group["amsgrad"]:
            vmax = _buffer(state, "max_exp_avg_sq", p)
            xp.maximum(vmax, v, out=vmax)
            v = vmax
        denom = xp.sqrt(v)
        denom /= math.sqrt(1 - beta2 ** step)
        denom += eps
        xp.multiply(m, lr / (1 - beta1 ** step), out=tmp)
        tmp /= denom
        p -= tmp
        for name in ("exp_avg", "exp_avg_sq", "max_exp_avg_sq"):
            if name in state:
                state[name]._vbox[0] += 1


class AdamW(Adam):
    """``AdamW(params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2, amsgrad=False, *,
    maximize=False)``: Adam with θ ← θ − lr·λ·θ before each step."""

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2,
                 amsgrad=False, *, maximize=False, foreach=None, capturable=False,
                 differentiable=False, fused=None):
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, foreach=foreach,
                         maximize=maximize, capturable=capturable, differentiable=differentiable,
                         fused=fused, decoupled_weight_decay=True)
