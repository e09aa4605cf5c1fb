"""NAdam: Adam with Nesterov momentum and a momentum-decay schedule.

μ_t = β1·(1 − ½·0.96^(t·ψ)) with ψ = ``momentum_decay``; Π_t = ∏_{s≤t} μ_s;
m_t, v_t as in Adam; d_t = √(v_t/(1−β2^t)) + ε;
θ_t = θ_{t−1} − lr·(1−μ_t)/(1−Π_t)·g_t/d_t − lr·μ_{t+1}/(1−Π_t·μ_{t+1})·m_t/d_t.
"""
from .. import backend
from .adam import _check
from .optimizer import Optimizer, _advance_step, _buffer, _scalar

__all__ = ["NAdam"]


class NAdam(Optimizer):
    """``NAdam(params, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, momentum_decay=4e-3,
    decoupled_weight_decay=False, *, maximize=False)``."""

    def __init__(self, params, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0,
                 momentum_decay=4e-3, decoupled_weight_decay=False, *, foreach=None,
                 maximize=False, capturable=False, differentiable=False):
        _check("NAdam", lr, betas, eps, weight_decay)
        if momentum_decay < 0.0:
            raise ValueError(f"NAdam: invalid momentum_decay value: {momentum_decay}")
        super().__init__(params, dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay,
                                      momentum_decay=momentum_decay,
                                      decoupled_weight_decay=decoupled_weight_decay,
                                      foreach=foreach, maximize=maximize, capturable=capturable,
                                      differentiable=differentiable))

    def _update(self, p, g, state, group):
        lr, wd, psi = group["lr"], group["weight_decay"], group["momentum_decay"]
        beta1, beta2 = group["betas"]
        step = _advance_step(state)
        if "mu_product" not in state:
            state["mu_product"] = _scalar(1.0)
        if wd != 0:
            if group["decoupled_weight_decay"]:
                p *= 1 - lr * wd
            else:
                g = g + wd * p
        mu = beta1 * (1.0 - 0.5 * 0.96 ** (step * psi))
        mu_next = beta1 * (1.0 - 0.5 * 0.96 ** ((step + 1) * psi))
        prod = state["mu_product"]
        prod._data *= mu
        mu_product = float(prod._data)
        m = _buffer(state, "exp_avg", p)
        v = _buffer(state, "exp_avg_sq", p)
        m += (1 - beta1) * (g - m)
        v *= beta2
        v += (1 - beta2) * g * g
        denom = backend.xp_of(p).sqrt(v / (1 - beta2 ** step))
        denom += group["eps"]
        p -= (lr * (1.0 - mu) / (1.0 - mu_product)) * g / denom
        p -= (lr * mu_next / (1.0 - mu_product * mu_next)) * m / denom
        for t in state.values():
            t._vbox[0] += 1
