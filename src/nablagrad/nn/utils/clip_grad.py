"""Gradient clipping: rescale or clamp the ``.grad`` of parameters in place, before an optimizer step.

With gradients g₁…gₖ and norm order p, the total norm is
``‖g‖ₚ = ‖(‖g₁‖ₚ, …, ‖gₖ‖ₚ)‖ₚ`` (for p = inf: the largest |gᵢⱼ|); clipping multiplies every
gradient by ``min(1, max_norm / (‖g‖ₚ + 1e-6))`` so that the clipped total norm is at most max_norm.
"""
import math

from ..._tensor import Tensor
from ...autograd import no_grad
from ...ops.creation import tensor as _tensor
from ...ops.shape import stack as _stack
from ...ops.linalg import vector_norm as _vector_norm

__all__ = ["clip_grad_norm_", "clip_grad_value_", "get_total_norm", "clip_grads_with_norm_"]


def _as_list(tensors):
    return [tensors] if isinstance(tensors, Tensor) else list(tensors)


def _grads(parameters):
    return [p.grad for p in _as_list(parameters) if p.grad is not None]


@no_grad()
def get_total_norm(tensors, norm_type=2.0, error_if_nonfinite=False, foreach=None):
    """The p-norm of all ``tensors`` together, as if concatenated into one vector (a 0-d Tensor;
    0.0 when there are none). ``error_if_nonfinite`` raises a RuntimeError on nan/inf.
    ``foreach`` is accepted for compatibility (there is one implementation)."""
    tensors = _as_list(tensors)
    norm_type = float(norm_type)
    if not tensors:
        return _tensor(0.0)
    norms = [_vector_norm(t, norm_type) for t in tensors]
    total = _vector_norm(_stack(norms), norm_type)
    if error_if_nonfinite and not math.isfinite(total.item()):
        raise RuntimeError(
            f"The total norm of order {norm_type} for gradients from `parameters` is non-finite, "
            "so it cannot be clipped. To disable this error and scale the gradients by the "
            "non-finite norm anyway, set `error_if_nonfinite=False`")
    return total


@no_grad()
def clip_grads_with_norm_(parameters, max_norm, total_norm, foreach=None):
    """Multiply each ``p.grad`` in place by ``min(1, max_norm / (total_norm + 1e-6))``."""
    grads = _grads(parameters)
    if not grads:
        return
    coef = (float(max_norm) / (total_norm + 1e-6)).clamp(max=1.0)
    for g in grads:
        g.mul_(coef.to(g.dtype))


@no_grad()
def clip_grad_norm_(parameters, max_norm, norm_type=2.0, error_if_nonfinite=False, foreach=None):
    """Clip the gradients of ``parameters`` (a Tensor or an iterable) so that their total
    ``norm_type``-norm is at most ``max_norm``; returns the total norm before clipping (a Tensor)."""
    parameters = _as_list(parameters)
    grads = _grads(parameters)
    total = get_total_norm(grads, norm_type, error_if_nonfinite, foreach)
    clip_grads_with_norm_(parameters, max_norm, total, foreach)
    return total


@no_grad()
def clip_grad_value_(parameters, clip_value, foreach=None):
    """Clamp every ``p.grad`` in place to ``[-clip_value, clip_value]``; returns None."""
    clip_value = float(clip_value)
    for g in _grads(parameters):
        g.clamp_(min=-clip_value, max=clip_value)
