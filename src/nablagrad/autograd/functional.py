"""Higher-level differentiation of whole functions (``torch.autograd.functional``).

For f: inputs -> outputs, with J = ∂f/∂x and, for scalar f, H = ∂²f/∂x²:

* ``vjp(f, x, v)``  = vᵀ J   (one backward pass)
* ``jvp(f, x, v)``  = J v    (the double-vjp trick: u ↦ uᵀ J is linear in u, so the gradient
  of (uᵀ J) v with respect to u is J v; needs a backward that is itself differentiable)
* ``jacobian(f, x)`` = J     (one vjp per output element, stacked)
* ``hessian(f, x)``  = H     (the Jacobian of the gradient)
* ``vhp(f, x, v)``  = vᵀ H,  ``hvp(f, x, v)`` = H v   (gradient of ∇f · v; the double-vjp trick)

Return conventions follow PyTorch: a function of a single Tensor gives Tensors, a function of a
tuple gives tuples; ``jacobian`` nests [output][input]. Results are detached unless
``create_graph=True``, in which case they can be differentiated again.
"""
from __future__ import annotations

from . import grad_mode

__all__ = ["vjp", "jvp", "jacobian", "hessian", "vhp", "hvp"]


def _tensor():
    from .._tensor import Tensor
    return Tensor


def _as_tuple(x, what, fn):
    """(was_a_tuple, tuple of Tensors); raises a TypeError naming ``fn`` for anything else."""
    is_tuple = isinstance(x, (tuple, list))
    items = tuple(x) if is_tuple else (x,)
    for i, el in enumerate(items):
        if not isinstance(el, _tensor()):
            raise TypeError(f"The {what} given to {fn} must be either a Tensor or a tuple of "
                            f"Tensors but the value at index {i} has type {type(el).__name__}.")
    return is_tuple, items


def _unpack(res, is_tuple):
    """Undo :func:`_as_tuple`; ``is_tuple`` may be a pair (outer, inner) for nested results."""
    if isinstance(is_tuple, tuple):
        outer, inner = is_tuple
        if not inner:
            res = tuple(r[0] for r in res)
        return res if outer else res[0]
    return res if is_tuple else res[0]


def _prepare(inputs, create_graph, need_graph):
    """Fresh inputs to differentiate with respect to: detached copies of the caller's tensors,
    or (with create_graph) views that stay connected to the caller's graph."""
    out = []
    for x in inputs:
        if create_graph and x.requires_grad:
            out.append(x.view_as(x))
        else:
            out.append(x.detach().requires_grad_(need_graph))
    return tuple(out)


def _finish(tensors, create_graph):
    """Detach results unless the caller wants to differentiate them again (nested tuples too)."""
    if create_graph:
        return tensors
    if isinstance(tensors, tuple):
        return tuple(_finish(t, False) for t in tensors)
    return tensors.detach() if tensors is not None else None


def _check_v(v, others, is_tuple, fn):
    if len(v) != len(others):
        kind = "tuple" if is_tuple else "Tensor"
        raise RuntimeError(f"{fn}: v is a {kind} of invalid length: should be {len(others)} but "
                           f"got {len(v)}.")
    for i, (a, b) in enumerate(zip(v, others)):
        if tuple(a.shape) != tuple(b.shape):
            where = f"Entry {i} in " if is_tuple else ""
            raise RuntimeError(f"{fn}: mismatch in shape: {where}the reference has a shape of "
                               f"{list(b.shape)} and {where.lower()}v has a shape of "
                               f"{list(a.shape)}. Each v must have the shape of the tensor it "
                               "multiplies.")


def _check_requires_grad(tensors, what, strict, fn):
    if not strict:
        return
    for i, t in enumerate(tensors):
        if t is None or not t.requires_grad:
            raise RuntimeError(f"{fn}: the {what} with index {i} does not require gradients: it "
                               "does not depend on the inputs. This is not allowed in strict "
                               "mode.")


def _grad(outputs, inputs, grad_outputs=None, create_graph=False, retain_graph=None):
    """``autograd.grad`` over the outputs that are connected to the graph (None where none is)."""
    from . import grad
    if grad_outputs is None:
        grad_outputs = (None,) * len(outputs)
    pairs = [(o, g) for o, g in zip(outputs, grad_outputs) if o is not None and o.requires_grad]
    if not pairs:
        return (None,) * len(inputs)
    return grad([o for o, _ in pairs], list(inputs), [g for _, g in pairs],
                retain_graph=retain_graph, create_graph=create_graph, allow_unused=True)


def _zeros_for_missing(grads, refs, strict, fn, what):
    from .. import ops
    out = []
    for i, (g, ref) in enumerate(zip(grads, refs)):
        if g is None:
            if strict:
                raise RuntimeError(f"{fn}: the output is independent of {what} {i}. This is not "
                                   "allowed in strict mode.")
            g = ops.FUNCTIONS["zeros_like"](ref)
        out.append(g)
    return tuple(out)


def _scalar_output(func, inputs, strict, fn):
    outputs = func(*inputs)
    is_tuple, outs = _as_tuple(outputs, "outputs of the user-provided function", fn)
    _check_requires_grad(outs, "output", strict, fn)
    if is_tuple:
        raise RuntimeError(f"The function given to {fn} should return a single Tensor")
    if outs[0].numel() != 1:
        raise RuntimeError(f"The Tensor returned by the function given to {fn} should contain a "
                           f"single element (it has shape {list(outs[0].shape)})")
    return outs


def _v_or_scalar(v, refs, is_tuple, create_graph, fn, what):
    if v is None:
        if len(refs) != 1 or refs[0].numel() != 1:
            raise RuntimeError(f"{fn}: the vector v can only be None if the {what} is a single "
                               "Tensor with a single element.")
        return None
    _, v = _as_tuple(v, "v", fn)
    v = _prepare(v, create_graph, need_graph=False)
    _check_v(v, refs, is_tuple, fn)
    return v


# ----------------------------------------------------------------------------- products
def vjp(func, inputs, v=None, create_graph=False, strict=False):
    """``(func(inputs), vᵀ J)``; v has the outputs' shapes (optional for a one-element output)."""
    with grad_mode.enable_grad():
        in_tuple, inputs = _as_tuple(inputs, "inputs", "vjp")
        inputs = _prepare(inputs, create_graph, need_graph=True)
        out_tuple, outputs = _as_tuple(func(*inputs), "outputs of the user-provided function",
                                       "vjp")
        _check_requires_grad(outputs, "output", strict, "vjp")
        v = _v_or_scalar(v, outputs, out_tuple, create_graph, "vjp",
                         "output of the user-provided function")
    with grad_mode.set_grad_enabled(create_graph or grad_mode.is_grad_enabled()):
        res = _grad(outputs, inputs, v, create_graph=create_graph)
        res = _zeros_for_missing(res, inputs, strict, "vjp", "input")
    return (_unpack(_finish(outputs, create_graph), out_tuple),
            _unpack(_finish(res, create_graph), in_tuple))


def jvp(func, inputs, v=None, create_graph=False, strict=False):
    """``(func(inputs), J v)``; v has the inputs' shapes, computed as the gradient with respect
    to u of (uᵀ J) v (the double-vjp trick)."""
    from .. import ops
    with grad_mode.enable_grad():
        in_tuple, inputs = _as_tuple(inputs, "inputs", "jvp")
        inputs = _prepare(inputs, create_graph, need_graph=True)
        v = _v_or_scalar(v, inputs, in_tuple, create_graph, "jvp",
                         "input to the user-provided function")
        out_tuple, outputs = _as_tuple(func(*inputs), "outputs of the user-provided function",
                                       "jvp")
        _check_requires_grad(outputs, "output", strict, "jvp")
        u = tuple(ops.FUNCTIONS["zeros_like"](o, requires_grad=True) for o in outputs)
        uJ = _grad(outputs, inputs, u, create_graph=True)
        _check_requires_grad(uJ, "vector-Jacobian product", strict, "jvp")
        with grad_mode.set_grad_enabled(create_graph):
            res = _grad(uJ, u, v, create_graph=create_graph)
            res = _zeros_for_missing(res, outputs, strict, "jvp", "output")
    return (_unpack(_finish(outputs, create_graph), out_tuple),
            _unpack(_finish(res, create_graph), out_tuple))


# ----------------------------------------------------------------------------- full matrices
def jacobian(func, inputs, create_graph=False, strict=False, vectorize=False,
             strategy="reverse-mode"):
    """∂func/∂inputs, shape output.shape + input.shape, nested [output][input] for tuples.

    One backward pass per output element (``vectorize`` and ``strategy`` are accepted for
    PyTorch compatibility; the result is the same)."""
    from .. import ops
    if strategy not in ("reverse-mode", "forward-mode"):
        raise ValueError(f"jacobian: expected strategy 'forward-mode' or 'reverse-mode', got "
                         f"{strategy!r}")
    stack, zeros_like = ops.FUNCTIONS["stack"], ops.FUNCTIONS["zeros_like"]
    with grad_mode.enable_grad():
        in_tuple, inputs = _as_tuple(inputs, "inputs", "jacobian")
        inputs = _prepare(inputs, create_graph, need_graph=True)
        out_tuple, outputs = _as_tuple(func(*inputs), "outputs of the user-provided function",
                                       "jacobian")
        _check_requires_grad(outputs, "output", strict, "jacobian")
        result = []
        for i, out in enumerate(outputs):
            rows = [[] for _ in inputs]
            flat = out.reshape(-1)
            for j in range(out.numel()):
                grads = _grad((flat[j],), inputs, retain_graph=True, create_graph=create_graph)
                for k, (g, x) in enumerate(zip(grads, inputs)):
                    if g is None:
                        if strict:
                            raise RuntimeError(f"jacobian: output {i} of the user-provided "
                                               f"function is independent of input {k}. This is "
                                               "not allowed in strict mode.")
                        g = zeros_like(x)
                    elif strict and create_graph and not g.requires_grad:
                        raise RuntimeError(f"jacobian: the Jacobian of the user-provided "
                                           f"function is independent of input {k}. This is not "
                                           "allowed in strict mode when create_graph=True.")
                    rows[k].append(g)
            result.append(tuple(
                (stack(r) if r else zeros_like(x).reshape((0,) + tuple(x.shape)))
                .reshape(tuple(out.shape) + tuple(x.shape)) for r, x in zip(rows, inputs)))
    return _unpack(_finish(tuple(result), create_graph), (out_tuple, in_tuple))


def hessian(func, inputs, create_graph=False, strict=False, vectorize=False,
            outer_jacobian_strategy="reverse-mode"):
    """∂²func/∂inputs² of a scalar function: the Jacobian of its gradient, shape
    input.shape + input.shape, nested [input i][input j] for tuples."""
    in_tuple, inputs = _as_tuple(inputs, "inputs", "hessian")

    def scalar(*xs):
        return _scalar_output(func, xs, strict, "hessian")[0].reshape(())

    def gradient(*xs):
        g = jacobian(scalar, xs, create_graph=True)
        _check_requires_grad(g, "jacobian", strict, "hessian")
        return g

    res = jacobian(gradient, inputs, create_graph=create_graph, strict=strict,
                   vectorize=vectorize, strategy=outer_jacobian_strategy)
    return _unpack(res, (in_tuple, in_tuple))


def _first_gradient(func, inputs, v, create_graph, strict, fn):
    """Common part of vhp and hvp: prepared inputs, v, outputs and ∇f (with its graph)."""
    in_tuple, inputs = _as_tuple(inputs, "inputs", fn)
    inputs = _prepare(inputs, create_graph, need_graph=True)
    v = _v_or_scalar(v, inputs, in_tuple, create_graph, fn, "input to the user-provided function")
    outputs = _scalar_output(func, inputs, strict, fn)
    jac = _grad(outputs, inputs, create_graph=True)
    _check_requires_grad(jac, "jacobian", strict, fn)
    return in_tuple, inputs, v, outputs, jac


def vhp(func, inputs, v=None, create_graph=False, strict=False):
    """``(func(inputs), vᵀ H)``: the gradient of ∇f · v."""
    with grad_mode.enable_grad():
        in_tuple, inputs, v, outputs, jac = _first_gradient(func, inputs, v, create_graph,
                                                            strict, "vhp")
    with grad_mode.set_grad_enabled(create_graph or grad_mode.is_grad_enabled()):
        res = _grad(jac, inputs, v, create_graph=create_graph)
        res = _zeros_for_missing(res, inputs, strict, "vhp", "input")
    return _finish(outputs[0], create_graph), _unpack(_finish(res, create_graph), in_tuple)


def hvp(func, inputs, v=None, create_graph=False, strict=False):
    """``(func(inputs), H v)`` by the double-vjp trick on u ↦ uᵀ H."""
    from .. import ops
    with grad_mode.enable_grad():
        in_tuple, inputs, v, outputs, jac = _first_gradient(func, inputs, v, create_graph,
                                                            strict, "hvp")
        u = tuple(ops.FUNCTIONS["zeros_like"](x, requires_grad=True) for x in inputs)
        uH = _grad(jac, inputs, u, create_graph=True)
        _check_requires_grad(uH, "Hessian", strict, "hvp")
    with grad_mode.set_grad_enabled(create_graph or grad_mode.is_grad_enabled()):
        res = _grad(uH, u, v, create_graph=create_graph)
        res = _zeros_for_missing(res, inputs, strict, "hvp", "input")
    return _finish(outputs[0], create_graph), _unpack(_finish(res, create_graph), in_tuple)
