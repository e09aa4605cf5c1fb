"""Automatic differentiation: the graph (:mod:`.graph`), the backward engine (:mod:`.engine`),
grad modes, user-defined functions, ``grad``, functional transforms and gradient checks."""
from .grad_mode import (no_grad, enable_grad, set_grad_enabled, inference_mode,
                        is_grad_enabled)
from .graph import Op
from .function import Function, FunctionCtx
from .gradcheck import gradcheck, gradgradcheck, GradcheckError
from . import engine as _engine
from . import functional


def backward(tensors, grad_tensors=None, retain_graph=None, create_graph=False, inputs=None):
    """Accumulate gradients of ``tensors`` into the leaves' ``.grad`` (``torch.autograd.backward``)."""
    from .._tensor import Tensor
    tensors = [tensors] if isinstance(tensors, Tensor) else list(tensors)
    grads = _grad_outputs(tensors, grad_tensors)
    if retain_graph is None:
        retain_graph = create_graph
    if inputs is not None:
        inputs = [inputs] if isinstance(inputs, Tensor) else list(inputs)
    _engine.run_backward(tensors, grads, retain_graph, create_graph, inputs=inputs, accumulate=True)


def grad(outputs, inputs, grad_outputs=None, retain_graph=None, create_graph=False,
         only_inputs=True, allow_unused=None, is_grads_batched=False, materialize_grads=False):
    """Gradients of ``outputs`` with respect to ``inputs``, returned (not accumulated in .grad)."""
    from .._tensor import Tensor
    single = isinstance(inputs, Tensor)
    outputs = [outputs] if isinstance(outputs, Tensor) else list(outputs)
    inputs = [inputs] if single else list(inputs)
    grads = _grad_outputs(outputs, grad_outputs)
    if retain_graph is None:
        retain_graph = create_graph
    if materialize_grads and allow_unused is False:
        raise ValueError("autograd.grad: allow_unused must be True or not passed when "
                         "materialize_grads=True")
    if allow_unused is None:
        allow_unused = materialize_grads
    result = _engine.run_backward(outputs, grads, retain_graph, create_graph, inputs=inputs,
                                  accumulate=False, allow_unused=allow_unused)
    if materialize_grads:
        result = [g if g is not None else x.new_zeros(x.shape) for g, x in zip(result, inputs)]
    return tuple(result)


def _grad_outputs(outputs, grad_outputs):
    from .._tensor import Tensor
    if grad_outputs is None:
        grad_outputs = [None] * len(outputs)
    elif isinstance(grad_outputs, Tensor):
        grad_outputs = [grad_outputs]
    grads = []
    for o, g in zip(outputs, grad_outputs):
        if g is None:
            if o.numel() != 1:
                raise RuntimeError("grad can be implicitly created only for scalar outputs "
                                   f"(got an output of shape {list(o.shape)}); pass grad_outputs")
            g = o.new_ones(o.shape)
        elif g.shape != o.shape:
            raise RuntimeError(f"grad: grad_output of shape {list(g.shape)} does not match "
                               f"output of shape {list(o.shape)}")
        grads.append(g)
    return grads
