"""The nodes of the computation graph.

Every differentiable primitive is a subclass of :class:`Op` with two methods:

* ``forward(self, *arrays, **kwargs)`` computes on backend arrays (NumPy or CuPy) and returns one
  array or a tuple of arrays. Tensor arguments arrive as their arrays; other arguments as they are.
  It keeps what ``backward`` will need: ``self.retain_inputs(i, ...)`` and
  ``self.retain_outputs(j, ...)`` keep input/output *Tensors* (so that the backward graph is itself
  differentiable); plain attributes on ``self`` keep constants such as shapes or index arrays.
* ``backward(self, *grad_outputs)`` receives one gradient Tensor per output and returns one
  gradient per argument of ``forward`` (``None`` where there is none), written in Tensor ops.
  With ``create_graph=True`` those Tensor ops are recorded, which gives higher-order derivatives.

Gradients may have the broadcast shape of the output: the engine sums them back to each input's
shape (one shared helper, never per op). ``self.needs_input_grad[i]`` says which inputs want one.
"""
from __future__ import annotations

from .. import backend
from . import grad_mode

_Tensor = None  # set by nablagrad._tensor to avoid an import cycle


class Op:
    """A node of the graph: the op that produced a Tensor (``tensor.grad_fn``)."""

    #: the output shares storage with argument 0 (a view): it shares its version counter too
    is_view = False

    # Attributes set by apply() when the graph is recorded:
    #   next             one edge per argument: (op, output_index), a leaf Tensor, or None
    #   in_meta          (shape, numpy dtype) of each argument that needs a gradient, else None
    #   n_out            number of outputs

    @classmethod
    def apply(cls, *args, **kwargs):
        """Run the op on ``args`` and return its output Tensor(s), recording the graph if needed."""
        Tensor = _Tensor
        op = object.__new__(cls)
        op._retain_in = op._retain_out = None
        arrays = [a._data if isinstance(a, Tensor) else a for a in args]
        requires_grad = op.requires_grad = grad_mode.state.enabled and any(
            [isinstance(a, Tensor) and a._rg for a in args])
        out = op.forward(*arrays, **kwargs)

        if type(out) is tuple:
            results = tuple(Tensor._make(o, op, i, True) if requires_grad and o.dtype.kind in "fc"
                            else Tensor._make(o) for i, o in enumerate(out))
        elif requires_grad and out.dtype.kind in "fc":  # int/bool outputs never require grad
            results = Tensor._make(out, op, 0, True)
        else:
            results = Tensor._make(out)
        if cls.is_view:
            op._share_storage(args[0], results)
        if requires_grad:
            op._record(args, results)
        return results

    def _share_storage(self, base, results):
        """Outputs that are NumPy views of input 0 share its base and version counter."""
        xp = backend.xp_of(base._data)
        for r in (results if type(results) is tuple else (results,)):
            # a copying reshape also has a .base (its own buffer): ask about memory instead;
            # an empty result shares no memory but is still a view (as in PyTorch)
            if r._data.size == 0 or xp.may_share_memory(r._data, base._data):
                r._base = base._base if base._base is not None else base
                r._vbox = base._vbox
                r._vver = base._vbox[0]

    def _record(self, args, results):
        """Link this op into the graph: one edge per argument, plus what backward needs."""
        Tensor = _Tensor
        nxt, meta = [], []  # edge, and (shape, numpy dtype), of each argument needing a gradient
        for a in args:
            if isinstance(a, Tensor):
                if a._base is not None and getattr(a, "_vver", a._vbox[0]) != a._vbox[0]:
                    _refresh_view(a)
                if a._rg:
                    nxt.append((a.grad_fn, a._oi) if a.grad_fn is not None else a)
                    meta.append((a._data.shape, a._data.dtype))
                    continue
            nxt.append(None)
            meta.append(None)
        self.next, self.in_meta = nxt, meta
        if type(results) is tuple:
            self.n_out = len(results)
            # shapes to fill in zeros for outputs that get no gradient
            self.out_shapes = [o._data.shape for o in results]
            self.out_dtypes = [o._data.dtype for o in results]
            outs = results
        else:
            self.n_out = 1
            outs = (results,)
        if self._retain_in is not None:
            kept = [args[i] for i in self._retain_in]
            self._saved = kept, [t._vbox[0] if isinstance(t, Tensor) else None for t in kept]
        if self._retain_out is not None:
            # keep arrays and version boxes, not the output Tensors: no reference cycle
            self._saved_out = [(outs[j]._data, j, outs[j]._vbox, outs[j]._vbox[0])
                               for j in self._retain_out]

    @property
    def needs_input_grad(self):
        """One boolean per argument of forward: does it need a gradient?"""
        return tuple(e is not None for e in self.next)

    # -- what forward keeps -------------------------------------------------------------------
    def retain_inputs(self, *indices):
        """Keep these arguments (Tensors) for backward; read them back with ``saved_tensors``."""
        self._retain_in = indices

    def retain_outputs(self, *indices):
        """Keep these outputs for backward; they follow the inputs in ``saved_tensors``."""
        self._retain_out = indices

    @property
    def saved_tensors(self):
        """The retained inputs, then the retained outputs, as Tensors connected to the graph
        (a retained Python scalar comes back as it is).

        Raises if the graph was freed by an earlier backward, or if one of them was modified in
        place after it was saved (its version counter moved).
        """
        if getattr(self, "_freed", False):
            raise RuntimeError(
                f"{self.name()}: trying to backward through the graph a second time (or to "
                "access saved tensors after they were freed). Saved tensors are freed after "
                "backward; pass retain_graph=True to the first backward() if you need to "
                "backward through the graph again.")
        result = []
        if self._retain_in is not None:
            tensors, versions = self._saved
            for k, (t, v) in enumerate(zip(tensors, versions)):
                if v is not None and t._vbox[0] != v:
                    self._version_error(f"input {self._retain_in[k]}", t._vbox[0], v, t)
                result.append(t)
        if self._retain_out is not None:
            Tensor = _Tensor
            for data, j, vbox, v in self._saved_out:
                if vbox[0] != v:
                    self._version_error(f"output {j}", vbox[0], v, None)
                t = Tensor._make(data, self, j, True)
                t._vbox = vbox
                result.append(t)
        return tuple(result)

    def _version_error(self, which, now, expected, t):
        shape = f" of shape {list(t.shape)}" if t is not None else ""
        raise RuntimeError(
            f"one of the variables needed for gradient computation has been modified by an "
            f"inplace operation: {which}{shape} of {self.name()} is at version {now}; expected "
            f"version {expected} instead. Use .clone() before the in-place change, or make it "
            f"out of place.")

    def release(self):
        """Free what forward kept (called after backward unless ``retain_graph=True``)."""
        if self._retain_in is not None or self._retain_out is not None:
            self._saved = self._saved_out = None
            self._freed = True

    # -- presentation -----------------------------------------------------------------------------
    @classmethod
    def name(cls):
        return cls.__name__ + "Backward"

    def __repr__(self):
        return f"<{self.name()}>"

    @property
    def next_functions(self):
        """Like torch: ((op, index) or (AccumulateGrad-like leaf marker, 0) or (None, 0), ...)."""
        out = []
        for e in getattr(self, "next", ()):
            if e is None:
                out.append((None, 0))
            elif type(e) is tuple:
                out.append(e)
            else:
                out.append((AccumulateGrad(e), 0))
        return tuple(out)

    def register_hook(self, hook):
        """Not supported on nodes; register hooks on tensors instead."""
        raise NotImplementedError("register hooks on tensors (Tensor.register_hook)")

    def forward(self, *args, **kwargs):  # pragma: no cover - abstract
        raise NotImplementedError

    def backward(self, *grads):  # pragma: no cover - abstract
        raise NotImplementedError(f"{type(self).__name__} is not differentiable")


def _refresh_view(view):
    """The base of ``view`` changed in place since the view's history was set: make the view's
    history as_strided(base's current history), as PyTorch regenerates a view's grad_fn."""
    base = view._base
    view._vver = view._vbox[0]
    if not base._rg or base.grad_fn is None or not grad_mode.state.enabled:
        return
    from ..ops.shape import as_strided
    alias = _Tensor._make(base._data, base.grad_fn, base._oi, True)
    v = as_strided(alias, view.shape, view.stride(), view.storage_offset() - base.storage_offset())
    view.grad_fn, view._oi, view._rg = v.grad_fn, v._oi, True


class AccumulateGrad:
    """Shown in ``next_functions`` for a leaf tensor, as in PyTorch."""

    def __init__(self, variable):
        self.variable = variable

    def name(self):
        return "AccumulateGrad"

    def __repr__(self):
        return "<AccumulateGrad>"
