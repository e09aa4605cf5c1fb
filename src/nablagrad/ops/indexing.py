"""Indexing: ``t[...]`` for reading (basic slicing gives a view; integer arrays and boolean masks
give a copy, as in PyTorch) and ``t[...] = v`` for writing, plus gather/scatter-style ops."""
from __future__ import annotations

from .. import backend
from .._tensor import Tensor
from ..autograd.graph import Op
from ._api import assign_inplace


def _is_basic(idx):
    items = idx if isinstance(idx, tuple) else (idx,)
    return all(i is None or i is Ellipsis or isinstance(i, (int, slice)) and not isinstance(i, bool)
               for i in items)


def _to_backend_index(idx):
    """Tensors inside an index become their arrays."""
    if isinstance(idx, tuple):
        return tuple(_to_backend_index(i) for i in idx)
    if isinstance(idx, Tensor):
        return idx._data
    if isinstance(idx, list):
        return backend.np.asarray(idx) if False else __import__("numpy").asarray(idx)
    return idx


class BasicIndex(Op):
    """``a[slices, ints, None, ...]``: a view; the gradient is scattered back into zeros."""

    is_view = True

    def forward(self, a, idx):
        self.in_shape, self.idx = a.shape, idx
        return a[idx]

    def backward(self, g):
        return index_put_zero_base(g, self.in_shape, self.idx), None


class AdvancedIndex(Op):
    """``a[int arrays / bool masks ...]``: a copy; backward adds the gradient back with repeats."""

    def forward(self, a, idx):
        self.in_shape, self.idx = a.shape, idx
        return a[idx]

    def backward(self, g):
        return index_put_zero_base(g, self.in_shape, self.idx, accumulate=True), None


class IndexPut(Op):
    """out = copy of a with out[idx] = v (or += v with accumulate)."""

    def forward(self, a, v, idx, accumulate):
        self.idx, self.accumulate = idx, accumulate
        out = a.copy()
        if accumulate:
            backend.xp_of(a).add.at(out, idx, v)
        else:
            out[idx] = v
        return out

    def backward(self, g):
        need_a, need_v = self.needs_input_grad[:2]
        ga = gv = None
        if need_a:
            ga = g if self.accumulate else index_put(g, self.idx, g.new_zeros(()))
        if need_v:
            gv = getitem(g, self.idx)
        return ga, gv, None, None


def index_put(a: Tensor, idx, v, accumulate=False) -> Tensor:
    """Functional ``a[idx] = v`` (differentiable in a and v)."""
    if not isinstance(v, Tensor):
        v = a.new_tensor(v)
    if v.dtype != a.dtype:
        v = v.to(a.dtype)
    return IndexPut.apply(a, v, _to_backend_index(idx), accumulate)


def index_put_zero_base(g: Tensor, shape, idx, accumulate=False) -> Tensor:
    """A tensor of zeros of ``shape`` with ``g`` placed at ``idx``: the backward of indexing."""
    return IndexPut.apply(g.new_zeros(shape), g, idx, accumulate)


def getitem(t: Tensor, idx) -> Tensor:
    if _is_basic(idx):
        return BasicIndex.apply(t, idx)
    return AdvancedIndex.apply(t, _to_backend_index(idx))


def setitem(t: Tensor, idx, value) -> None:
    assign_inplace(t, lambda cur: index_put(cur, idx, value), "__setitem__")
