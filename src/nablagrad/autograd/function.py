"""User-defined differentiable functions, with PyTorch's API::

    class Exp(nablagrad.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            y = x.exp()
            ctx.save_for_backward(y)
            return y

        @staticmethod
        def backward(ctx, grad):
            (y,) = ctx.saved_tensors
            return grad * y

    y = Exp.apply(x)

``forward`` receives Tensors and runs without recording the graph; ``backward`` receives and
returns Tensors (recorded when ``create_graph=True``).
"""
from __future__ import annotations

from . import grad_mode
from .graph import Op

def _tensor_cls():
    from .._tensor import Tensor
    return Tensor


class FunctionCtx:
    """The ``ctx`` object handed to a user Function's forward and backward."""

    def __init__(self):
        self.to_save = self.non_differentiable = self.dirty = ()

    def save_for_backward(self, *tensors):
        """Keep tensors for backward, read back as ``ctx.saved_tensors``."""
        self.to_save = tensors

    def mark_non_differentiable(self, *tensors):
        """These outputs get no gradient: they come back with ``requires_grad=False``."""
        self.non_differentiable = tensors

    def mark_dirty(self, *tensors):
        """These inputs were changed in place by forward (their in-place ops moved their version
        counters) and are returned as outputs: they take over the history of this call."""
        self.dirty = tensors


class _UserFunctionNode(Op):
    """The graph node of one call to a user Function."""

    def forward(self, *arrays, fn_cls=None, ctx=None, tensors=None, kwargs=None):
        Tensor = _tensor_cls()
        self.ctx = ctx
        ctx.needs_input_grad = tuple(isinstance(t, Tensor) and t._rg for t in tensors)
        with grad_mode.no_grad():
            out = fn_cls.forward(ctx, *tensors, **kwargs)
        self.fn_cls = fn_cls
        self.user_saved = ctx.to_save
        outs = out if isinstance(out, tuple) else (out,)
        if not all(isinstance(o, Tensor) for o in outs):
            raise TypeError(f"{fn_cls.__name__}.forward must return a Tensor or a tuple of Tensors")
        arrays_out = tuple(o._data for o in outs)
        return arrays_out if isinstance(out, tuple) else arrays_out[0]

    def backward(self, *grads):
        ctx = self.ctx
        if getattr(self, "_freed", False):
            raise RuntimeError(f"{self.name()}: trying to backward through the graph a second time")
        ctx.saved_tensors = self.user_saved
        result = self.fn_cls.backward(ctx, *grads)
        if not isinstance(result, tuple):
            result = (result,)
        return result

    def release(self):
        self.user_saved = None
        self._freed = True

    def name(self):
        return self.fn_cls.__name__ + "Backward"


class Function:
    """Base class for user-defined ops: subclass and write static ``forward`` and ``backward``."""

    @classmethod
    def apply(cls, *args, **kwargs):
        Tensor = _tensor_cls()
        ctx = FunctionCtx()
        node_args = tuple(a if isinstance(a, Tensor) else None for a in args)
        out = _UserFunctionNode.apply(*node_args, fn_cls=cls, ctx=ctx, tensors=args, kwargs=kwargs)
        results = list(out) if isinstance(out, tuple) else [out]
        for k, r in enumerate(results):
            if any(r._data is t._data for t in ctx.non_differentiable):
                r._rg, r.grad_fn = False, None
            for d in ctx.dirty:
                if r._data is d._data:
                    if d._rg and d.grad_fn is None and grad_mode.state.enabled:
                        raise RuntimeError(f"{cls.__name__}: a leaf Variable that requires grad "
                                           "has been used in an in-place operation (mark_dirty)")
                    d.grad_fn, d._oi, d._rg = r.grad_fn, r._oi, r._rg
                    results[k] = d
        return tuple(results) if isinstance(out, tuple) else results[0]

    @staticmethod
    def forward(ctx, *args, **kwargs):  # pragma: no cover - abstract
        raise NotImplementedError("subclasses of Function implement forward(ctx, ...)")

    @staticmethod
    def backward(ctx, *grads):  # pragma: no cover - abstract
        raise NotImplementedError("subclasses of Function implement backward(ctx, ...)")
