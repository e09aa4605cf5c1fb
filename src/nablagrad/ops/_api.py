"""How an op becomes public: ``nablagrad.<name>``, ``Tensor.<name>`` and an in-place ``<name>_``.

Ops are plain functions decorated with :func:`public`. In-place variants are derived in one place
(:func:`assign_inplace`): compute out of place, write the result into the tensor's own storage,
bump its version counter, and, when autograd records the change, move the tensor's history to the
new node (for a view, the base's history too).
"""
from __future__ import annotations

from .._tensor import Tensor
from ..autograd import grad_mode

#: every public function by name; nablagrad/__init__.py exports them at the top level
FUNCTIONS: dict = {}


def public(fn=None, *, name=None, method=True, function=True, inplace=False):
    """Publish ``fn`` as ``nablagrad.<name>`` (``function``), ``Tensor.<name>`` (``method``) and,
    with ``inplace=True``, as ``Tensor.<name>_`` too."""
    def register(f):
        n = name or f.__name__
        if function:
            FUNCTIONS[n] = f
        if method:
            setattr(Tensor, n, f)
        if inplace:
            setattr(Tensor, n + "_", make_inplace(f, n + "_"))
        return f
    return register(fn) if fn is not None else register


def make_inplace(fn, name):
    def inplace_method(self, *args, **kwargs):
        return assign_inplace(self, lambda t: fn(t, *args, **kwargs), name)
    inplace_method.__name__ = name
    inplace_method.__doc__ = f"In-place version of :meth:`Tensor.{name[:-1]}`."
    return inplace_method


def _check_cast(result_dtype, target, name):
    if result_dtype._category > target._category:
        raise RuntimeError(f"{name}: result type {result_dtype} can't be cast to the desired "
                           f"output type {target}")


def assign_inplace(t: Tensor, compute, name: str) -> Tensor:
    """Set ``t`` to ``compute(t)`` in place and return ``t``.

    Without autograd this is a write into ``t``'s storage. With autograd, ``compute`` runs on a
    clone of ``t`` (so the op's saved inputs keep the old values), and ``t`` takes over the
    history of the result. A view's base takes over the history of the base with the view's
    region replaced (``as_strided_scatter``), as PyTorch's CopySlices does.
    """
    recording = grad_mode.state.enabled
    if recording and t._rg and t.grad_fn is None:
        raise RuntimeError(f"{name}: a leaf Variable that requires grad is being used in an "
                           "in-place operation. Wrap it in `with nablagrad.no_grad():` or "
                           "clone it first.")
    base = t._base
    if recording and base is not None and base._rg and base.grad_fn is None:
        raise RuntimeError(f"{name}: a view of a leaf Variable that requires grad is being used "
                           "in an in-place operation.")
    source = t.clone() if (recording and t._rg) else t.detach()
    result = compute(source)
    if not isinstance(result, Tensor):
        raise TypeError(f"{name}: expected a Tensor result")
    _check_cast(result.dtype, t.dtype, name)
    if tuple(result._data.shape) != tuple(t._data.shape):
        raise RuntimeError(f"{name}: output with shape {list(t.shape)} doesn't match the "
                           f"broadcast shape {list(result.shape)}")
    t._data[...] = result._data
    t._vbox[0] += 1
    if base is not None:
        t._vver = t._vbox[0]  # this view's history is up to date
    if recording and (result._rg or t._rg or (base is not None and base._rg)):
        if base is not None and (result._rg or base._rg):
            _rebase_view(t, base, result)
        elif result._rg:
            t.grad_fn, t._oi, t._rg = result.grad_fn, result._oi, True
        else:  # constant new values: the old history no longer reaches t
            t.grad_fn, t._rg = None, False
    return t


def _rebase_view(view: Tensor, base: Tensor, new_values: Tensor):
    """After writing ``new_values`` into ``view``, give ``base`` and ``view`` their new history."""
    from .shape import as_strided, as_strided_scatter
    if not base._data.flags.c_contiguous:
        raise NotImplementedError("in-place change with autograd on a view of a non-contiguous "
                                  "base tensor: call .contiguous() on the base first")
    size, stride, offset = view.shape, view.stride(), view.storage_offset() - base.storage_offset()
    # as_strided_scatter does not keep its input for backward, so the base's current storage
    # (already holding the new values) stands in for its old value under the old history
    old_base = Tensor._make(base._data, base.grad_fn, base._oi, base._rg)
    new_base = as_strided_scatter(old_base, new_values, size, stride, offset)
    base.grad_fn, base._oi, base._rg = new_base.grad_fn, new_base._oi, True
    base_alias = Tensor._make(base._data, base.grad_fn, base._oi, True)
    v = as_strided(base_alias, size, stride, offset)
    view.grad_fn, view._oi, view._rg = v.grad_fn, v._oi, True
