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

    def save_for_backward(self, *tensors):
        self.to_save = tensors

    def mark_non_differentiable(self, *tensors):
        self.non_differentiable = {id(t) for t in tensors}

    def mark_dirty(self, *tensors):
        self.dirty = tensors

    def set_materialize_grads(self, value: bool):
        self.materialize_grads = value


class _UserFunctionNode(Op):
    """The graph node of one call to a user Function."""

    def forward(self, *arrays, fn_cls=None, tensors=None, kwargs=None):
        Tensor = _tensor_cls()
        ctx = self.ctx = FunctionCtx()
        ctx.needs_input_grad = tuple(isinstance(t, Tensor) and t._rg for t in tensors)
        with grad_mode.no_grad():
            out = fn_cls.forward(ctx, *tensors, **kwargs)
        self.fn_cls = fn_cls
        self.user_saved = getattr(ctx, "to_save", ())
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
        node_args = tuple(a if isinstance(a, Tensor) else None for a in args)
        out = _UserFunctionNode.apply(*node_args, fn_cls=cls, tensors=args, kwargs=kwargs)
        return out

    @staticmethod
    def forward(ctx, *args, **kwargs):  # pragma: no cover - abstract
        raise NotImplementedError("subclasses of Function implement forward(ctx, ...)")

    @staticmethod
    def backward(ctx, *grads):  # pragma: no cover - abstract
        raise NotImplementedError("subclasses of Function implement backward(ctx, ...)")
