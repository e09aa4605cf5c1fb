"""Gradient checks: compare the analytic Jacobian from backward with central finite differences,
∂f/∂xᵢ ≈ (f(x + εeᵢ) − f(x − εeᵢ)) / 2ε, in float64. ``gradgradcheck`` does the same for the
function x ↦ ∂(f·v)/∂x, which checks second derivatives (``create_graph=True``)."""
from __future__ import annotations

import numpy as np



def _tensor():
    from .. import _tensor
    return _tensor.Tensor


def _outputs(fn, inputs):
    out = fn(*inputs)
    return out if isinstance(out, (tuple, list)) else (out,)


def _diff_outputs(outs):
    return [o for o in outs if isinstance(o, _tensor()) and o.is_floating_point()]


def numerical_jacobian(fn, inputs, eps=1e-6):
    """Per differentiable input: array (numel_in, total numel of float outputs)."""
    Tensor = _tensor()
    jac = []
    # grad stays on: the function may itself use autograd (gradgradcheck)
    for x in inputs:
        if not (isinstance(x, Tensor) and x._rg):
            jac.append(None)
            continue
        flat = x._data.reshape(-1)  # a view: x must be contiguous (checked by the caller)
        cols = []
        for i in range(flat.size):
            orig = flat[i].item()
            flat[i] = orig + eps
            plus = np.concatenate([np.asarray(o._data, dtype=np.float64).ravel()
                                   for o in _diff_outputs(_outputs(fn, inputs))] or [np.zeros(0)])
            flat[i] = orig - eps
            minus = np.concatenate([np.asarray(o._data, dtype=np.float64).ravel()
                                    for o in _diff_outputs(_outputs(fn, inputs))] or [np.zeros(0)])
            flat[i] = orig
            cols.append((plus - minus) / (2 * eps))
        if not cols:  # an empty input: a 0-row Jacobian with one column per output element
            n_out = sum(o.numel() for o in _diff_outputs(_outputs(fn, inputs)))
            jac.append(np.zeros((0, n_out)))
        else:
            jac.append(np.stack(cols))
    return jac


def analytic_jacobian(fn, inputs):
    """Rows from one backward per output element (``autograd.grad`` with one-hot grad_outputs)."""
    from . import grad as autograd_grad
    Tensor = _tensor()
    diff_inputs = [x for x in inputs if isinstance(x, Tensor) and x._rg]
    outs = _diff_outputs(_outputs(fn, inputs))
    total = sum(o.numel() for o in outs)
    jac = [np.zeros((x.numel(), total)) for x in diff_inputs]
    col = 0
    for o in outs:
        for j in range(o.numel()):
            onehot = np.zeros(o.numel(), dtype=o._data.dtype)
            onehot[j] = 1
            grads = autograd_grad([o], diff_inputs, [Tensor._make(onehot.reshape(o.shape))],
                                  retain_graph=True, allow_unused=True) if o._rg else \
                [None] * len(diff_inputs)
            for k, g in enumerate(grads):
                if g is not None:
                    jac[k][:, col] = np.asarray(g._data, dtype=np.float64).ravel()
            col += 1
    return jac


def gradcheck(func, inputs, *, eps=1e-6, atol=1e-5, rtol=1e-3, raise_exception=True,
              **_ignored) -> bool:
    """True if backward agrees with finite differences for every input that requires grad."""
    Tensor = _tensor()
    inputs = tuple(inputs) if isinstance(inputs, (tuple, list)) else (inputs,)
    for k, x in enumerate(inputs):
        if isinstance(x, Tensor) and x._rg:
            if x._data.dtype != np.float64:
                msg = f"gradcheck: input {k} is {x.dtype}; gradcheck needs float64 inputs"
                if raise_exception:
                    raise ValueError(msg)
                return False
            if not x._data.flags.c_contiguous or not x._data.flags.writeable:
                raise ValueError(f"gradcheck: input {k} must be a contiguous, writeable tensor")
    numerical = numerical_jacobian(func, inputs, eps)
    analytic = analytic_jacobian(func, inputs)
    numerical = [n for n in numerical if n is not None]
    for k, (n, a) in enumerate(zip(numerical, analytic)):
        if n.shape != a.shape or not np.allclose(a, n, atol=atol, rtol=rtol):
            if raise_exception:
                err = np.abs(a - n).max() if n.shape == a.shape else float("nan")
                raise GradcheckError(f"Jacobian mismatch for differentiable input {k} (max abs "
                                     f"error {err:.3g})\nnumerical:\n{n}\nanalytical:\n{a}")
            return False
    return True


def gradgradcheck(func, inputs, grad_outputs=None, *, eps=1e-6, atol=1e-5, rtol=1e-3,
                  raise_exception=True, seed=0, **_ignored) -> bool:
    """gradcheck of (inputs, v) ↦ ∂(Σ f(inputs)·v)/∂inputs, built with create_graph=True."""
    from . import grad as autograd_grad
    Tensor = _tensor()
    inputs = tuple(inputs) if isinstance(inputs, (tuple, list)) else (inputs,)
    outs = _diff_outputs(_outputs(func, inputs))
    rng = np.random.default_rng(seed)
    if grad_outputs is None:
        grad_outputs = [Tensor._make(rng.standard_normal(o.shape)).requires_grad_(True)
                        for o in outs]
    n_in = len(inputs)
    diff_idx = [i for i, x in enumerate(inputs) if isinstance(x, Tensor) and x._rg]

    def first_derivative(*args):
        xs, vs = args[:n_in], args[n_in:]
        pairs = [(o, v) for o, v in zip(_diff_outputs(_outputs(func, xs)), vs) if o._rg]
        grads = autograd_grad([o for o, _ in pairs], [xs[i] for i in diff_idx],
                              [v for _, v in pairs], create_graph=True, allow_unused=True)
        return tuple(g if g is not None else xs[i] * 0 for g, i in zip(grads, diff_idx))

    return gradcheck(first_derivative, inputs + tuple(grad_outputs), eps=eps, atol=atol,
                     rtol=rtol, raise_exception=raise_exception)


class GradcheckError(RuntimeError):
    """Raised by gradcheck when the analytic and numerical Jacobians differ."""
