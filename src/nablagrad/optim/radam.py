"""RAdam: Adam with a rectified (variance-corrected) adaptive learning rate.

m_t, v_t as in Adam; ρ_∞ = 2/(1−β2) − 1, ρ_t = ρ_∞ − 2t·β2^t/(1−β2^t).  If ρ_t > 5:
r_t = √((ρ_t−4)(ρ_t−2)ρ_∞ / ((ρ_∞−4)(ρ_∞−2)ρ_t)) and
θ_t = θ_{t−1} − lr·m̂_t·r_t·√(1−β2^t)/(√v_t + ε); otherwise θ_t = θ_{t−1} − lr·m̂_t.
"""
import math

from .. import backend
from .adam import _check
from .optimizer import Optimizer, _advance_step, _buffer

__all__ = ["RAdam"]


class RAdam(Optimizer):
    """``RAdam(params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0,
    decoupled_weight_decay=False, *, maximize=False)``."""

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0,
                 decoupled_weight_decay=False, *, foreach=None, maximize=False, capturable=False,
                 differentiable=False):
        _check("RAdam", lr, betas, eps, weight_decay)
        super().__init__(params, dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay,
                                      decoupled_weight_decay=decoupled_weight_decay,
                                      foreach=foreach, maximize=maximize, capturable=capturable,
                                      differentiable=differentiable))

    def _update(self, p, g, state, group):
        lr, wd = group["lr"], group["weight_decay"]
        beta1, beta2 = group["betas"]
        step = _advance_step(state)
        if wd != 0:
            if group["decoupled_weight_decay"]:
                p *= 1 - lr * wd
            else:
                g = g + wd * p
        m = _buffer(state, "exp_avg", p)
        v = _buffer(state, "exp_avg_sq", p)
        m += (1 - beta1) * (g - m)
        v *= beta2
        v += (1 - beta2) * g * g
        for t in state.values():
            t._vbox[0] += 1
        bc2 = 1 - beta2 ** step
        m_hat = m / (1 - beta1 ** step)
        rho_inf = 2 / (1 - beta2) - 1
        rho_t = rho_inf - 2 * step * beta2 ** step / bc2
        if rho_t > 5.0:
            rect = math.sqrt((rho_t - 4) * (rho_t - 2) * rho_inf
                             / ((rho_inf - 4) * (rho_inf - 2) * rho_t))
            denom = backend.xp_of(p).sqrt(v)
            denom += group["eps"]
            p -= m_hat * (lr * rect * math.sqrt(bc2)) / denom
        else:
            p -= lr * m_hat
