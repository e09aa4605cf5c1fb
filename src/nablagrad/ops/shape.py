"""Shape ops. Views (reshape when possible, permute, transpose, expand, as_strided, slicing) share
storage with their input and change only shape and strides (notes 004 §1.3, strides); the others
(cat, stack, flip, roll, repeat, pad, ...) copy."""
from __future__ import annotations

import numpy as np

from .. import backend
from .._tensor import Tensor
from ..autograd.graph import Op
from ._api import public


def _size_args(size):
    if len(size) == 1 and isinstance(size[0], (tuple, list)):
        size = size[0]
    return tuple(int(s) for s in size)


def infer_shape(shape, numel, opname):
    """Resolve one -1 in ``shape`` and check the element count."""
    shape = list(shape)
    if shape.count(-1) > 1:
        raise RuntimeError(f"{opname}: only one dimension can be inferred (-1) in {tuple(shape)}")
    if -1 in shape:
        known = 1
        for s in shape:
            if s != -1:
                known *= s
        if known == 0 or numel % known:
            raise RuntimeError(f"{opname}: shape {tuple(shape)} is invalid for input of size {numel}")
        shape[shape.index(-1)] = numel // known
    n = 1
    for s in shape:
        n *= s
    if n != numel:
        raise RuntimeError(f"{opname}: shape {tuple(shape)} is invalid for input of size {numel}")
    return tuple(shape)


class Reshape(Op):
    """A view when the strides allow it (NumPy decides as PyTorch does), else a copy."""

    is_view = True

    def forward(self, a, shape):
        self.in_shape = a.shape
        return a.reshape(shape)

    def backward(self, g):
        return g.reshape(self.in_shape), None


class View(Reshape):
    """Like reshape, but never copies: raises if the strides do not allow a view."""

    def forward(self, a, shape):
        self.in_shape = a.shape
        try:
            return backend.xp_of(a).reshape(a, shape, copy=False)
        except (ValueError, AttributeError):
            raise RuntimeError(
                f"view size is not compatible with input tensor's size and stride (at least one "
                f"dimension spans across two contiguous subspaces): input shape {list(a.shape)}, "
                f"strides {[s // a.itemsize for s in a.strides]}, requested {list(shape)}. "
                "Use .reshape(...) instead.") from None


@public
def reshape(input, *shape):
    shape = infer_shape(_size_args(shape), input.numel(), "reshape")
    if shape == input._data.shape:
        return input if not input._rg else Reshape.apply(input, shape)
    return Reshape.apply(input, shape)


@public(function=False)
def view(self, *shape):
    if len(shape) == 1 and not isinstance(shape[0], (int, tuple, list, np.integer)):
        return self.to(shape[0])  # view(dtype) is not a reinterpretation here; PyTorch's is
    return View.apply(self, infer_shape(_size_args(shape), self.numel(), "view"))


Tensor.view_as = lambda self, other: view(self, other.shape)
Tensor.reshape_as = lambda self, other: reshape(self, other.shape)


class Permute(Op):
    """Reorder dimensions by reordering strides (a view)."""

    is_view = True

    def forward(self, a, dims):
        self.dims = dims
        return a.transpose(dims)

    def backward(self, g):
        return g.permute(*np.argsort(self.dims).tolist()), None


@public
def permute(input, *dims):
    dims = _size_args(dims)
    n = input.ndim
    if len(dims) != n or sorted(d % max(n, 1) for d in dims) != list(range(n)):
        raise RuntimeError(f"permute: dims {dims} is not a permutation of the {n} dimensions of "
                           f"a tensor of shape {list(input.shape)}")
    return Permute.apply(input, tuple(d % max(n, 1) for d in dims))


@public
def transpose(input, dim0, dim1):
    n = input.ndim
    if n == 0:
        return input
    d0, d1 = input._wrap_dim(dim0), input._wrap_dim(dim1)
    dims = list(range(n))
    dims[d0], dims[d1] = dims[d1], dims[d0]
    return Permute.apply(input, tuple(dims))


public(transpose, name="swapaxes")
public(transpose, name="swapdims")


@public
def t(input):
    if input.ndim > 2:
        raise RuntimeError(f"t() expects a tensor with <= 2 dimensions, but self is {input.ndim}D")
    return transpose(input, 0, 1) if input.ndim == 2 else input


class Expand(Op):
    """Broadcast to a bigger shape with stride 0 (a view); backward sums the copies."""

    is_view = True

    def forward(self, a, shape):
        return backend.xp_of(a).broadcast_to(a, shape)

    def backward(self, g):
        return g, None  # the engine sums g back to the input's shape


@public(function=False)
def expand(self, *sizes):
    sizes = _size_args(sizes)
    if len(sizes) < self.ndim:
        raise RuntimeError(f"expand: the number of sizes provided ({len(sizes)}) must be greater "
                           f"or equal to the number of dimensions in the tensor ({self.ndim})")
    lead = len(sizes) - self.ndim
    shape = tuple(s if s != -1 else self._data.shape[i - lead] for i, s in enumerate(sizes))
    for i, n in enumerate(self._data.shape):
        if n != 1 and n != shape[i + lead]:
            raise RuntimeError(f"expand: the expanded size of the tensor ({shape[i + lead]}) "
                               f"must match the existing size ({n}) at non-singleton dimension "
                               f"{i}. Target sizes: {list(sizes)}. Tensor sizes: {list(self.shape)}")
    if shape == self._data.shape:
        return self
    return Expand.apply(self, shape)


Tensor.expand_as = lambda self, other: expand(self, other.shape)


class AsStrided(Op):
    """An arbitrary view of the input's storage: size, stride (elements) and offset."""

    is_view = True

    def forward(self, a, size, stride, offset):
        self.in_shape = a.shape
        self.geometry = size, stride, offset
        xp = backend.xp_of(a)
        base = a.reshape(-1) if a.flags.c_contiguous else a
        start = base[offset:] if offset else base
        item = a.itemsize
        return xp.lib.stride_tricks.as_strided(start, size, [s * item for s in stride])

    def backward(self, g):
        zeros = g.new_zeros(self.in_shape)
        return as_strided_scatter(zeros, g, *self.geometry, accumulate=True), None, None, None


def strided_positions(xp, size, stride, offset):
    """Storage position of every element of an as_strided(size, stride, offset) view."""
    pos = xp.full((1,) * len(size), offset, dtype=np.int64)
    for k, (n, st) in enumerate(zip(size, stride)):
        shape = [1] * len(size)
        shape[k] = n
        pos = pos + (xp.arange(n, dtype=np.int64) * st).reshape(shape)
    return xp.broadcast_to(pos, size)


class AsStridedScatter(Op):
    """A copy of ``a`` with the strided region (size, stride, offset) set to ``src``."""

    def forward(self, a, src, size, stride, offset, accumulate):
        self.geometry = size, stride, offset
        xp = backend.xp_of(a)
        out = a.copy()
        flat = out.reshape(-1)
        index = strided_positions(xp, size, stride, offset).reshape(-1)
        values = xp.broadcast_to(src, size).reshape(-1)
        if accumulate:  # positions that repeat (stride 0) add up: the backward of as_strided
            xp.add.at(flat, index, values)
        else:
            flat[index] = values
        return out

    def backward(self, g):
        size, stride, offset = self.geometry
        ga = as_strided_scatter(g, g.new_zeros(size), size, stride, offset) \
            if self.needs_input_grad[0] else None
        gs = as_strided(g.contiguous(), size, stride, offset) if self.needs_input_grad[1] else None
        return ga, gs, None, None, None, None


@public
def as_strided(input, size, stride, storage_offset=0):
    """A view with the given size and stride (in elements) over the input's storage."""
    size, stride = tuple(size), tuple(stride)
    if len(size) != len(stride):
        raise RuntimeError(f"as_strided: mismatch in length of strides ({len(stride)}) and "
                           f"shape ({len(size)})")
    if not input._data.flags.c_contiguous:
        input = input.contiguous()
    needed = storage_offset + sum((n - 1) * s for n, s in zip(size, stride)) + 1
    if 0 not in size and needed > input.numel():
        raise RuntimeError(f"as_strided: size {list(size)}, stride {list(stride)} and offset "
                           f"{storage_offset} reach element {needed - 1}, outside the storage of "
                           f"{input.numel()} elements")
    return AsStrided.apply(input, size, stride, storage_offset)


@public
def as_strided_scatter(input, src, size, stride, storage_offset=0, *, accumulate=False):
    """Copy of ``input`` with the ``as_strided(size, stride, storage_offset)`` region set to src."""
    if not input._data.flags.c_contiguous:
        input = input.contiguous()
    return AsStridedScatter.apply(input, src, tuple(size), tuple(stride), storage_offset,
                                  accumulate)


class Clone(Op):
    """A copy in new memory; gradient passes through."""

    def forward(self, a):
        return a.copy()

    def backward(self, g):
        return g


@public
def clone(input, *, memory_format=None):
    return Clone.apply(input)


@public(function=False)
def contiguous(self, memory_format=None):
    return self if self._data.flags.c_contiguous else Clone.apply(self)


@public
def unsqueeze(input, dim):
    n = input.ndim + 1
    if not -n <= dim < n:
        raise IndexError(f"unsqueeze: dimension {dim} out of range [{-n}, {n - 1}]")
    dim %= n
    shape = input.shape
    return Reshape.apply(input, tuple(shape[:dim]) + (1,) + tuple(shape[dim:]))


@public
def squeeze(input, dim=None):
    shape = input.shape
    if dim is None:
        dims = {i for i, s in enumerate(shape) if s == 1}
    else:
        dims = {input._wrap_dim(d) for d in ((dim,) if isinstance(dim, int) else dim)}
        dims = {d for d in dims if input.ndim and shape[d] == 1}
    if not dims:
        return input if not input._rg else Reshape.apply(input, tuple(shape))
    return Reshape.apply(input, tuple(s for i, s in enumerate(shape) if i not in dims))
