"""Shape ops.

Views (notes 004 §1.3, strides) share storage with their input and change only shape, strides and
offset: reshape/view (when the strides allow), flatten, unflatten, squeeze, unsqueeze, permute,
transpose, movedim, expand, as_strided, narrow, select, diagonal, unfold and the split family.
Their backward puts the gradient back where each element came from (zeros elsewhere; added up
where a view reads one element several times, as expand and overlapping unfold windows do).

Copies: cat, stack and their h/v/d/column forms, flip, roll, rot90, repeat, repeat_interleave,
tile, tril/triu, diag, diag_embed, block_diag and ``nn.functional.pad``. Each backward is the
adjoint map: split for cat, unbind for stack, the reverse flip/roll, a sum over the copies of
repeat, and so on.
"""
from __future__ import annotations


import numpy as np

from .. import backend
from .._tensor import Size, Tensor
from ..autograd.graph import Op
from ._api import public
from .indexing import BasicIndex, IndexBackward, IndexSelect, _dim

__all__ = ["pad"]


def _size_args(size):
    if len(size) == 1 and isinstance(size[0], (tuple, list, Size)):
        size = size[0]
    return tuple(int(s) for s in size)


def _dims_arg(dims):
    """``f(x, 0, 1)`` and ``f(x, (0, 1))`` both give (0, 1)."""
    if len(dims) == 1 and isinstance(dims[0], (tuple, list)):
        return tuple(dims[0])
    return tuple(dims)


def _numel(shape):
    n = 1
    for s in shape:
        n *= s
    return n


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
    if _numel(shape) != numel:
        raise RuntimeError(f"{opname}: shape {tuple(shape)} is invalid for input of size {numel}")
    return tuple(shape)


def strided_view(a, start, shape, strides):
    """A view of ``a``'s memory beginning at element ``a[start]`` with ``shape`` and byte
    ``strides`` (any layout: overlapping windows, diagonals ...). It keeps NumPy's base chain, so
    ``storage_offset`` and ``np.shares_memory`` see the storage it belongs to."""
    first = a[start + (Ellipsis,)] if start is not None else a
    xp = backend.xp_of(a)
    if xp is np:
        root = first
        while isinstance(root.base, np.ndarray):
            root = root.base
        if root.flags.c_contiguous and root.size:
            offset = first.__array_interface__["data"][0] - root.__array_interface__["data"][0]
            return np.ndarray(shape, a.dtype, buffer=root, offset=offset, strides=strides)
    return xp.lib.stride_tricks.as_strided(first, shape, strides)


# ============================================================================ reshape family
class Reshape(Op):
    """A view when the strides allow it (NumPy decides as PyTorch does), else a copy."""

    is_view = True

    def forward(self, a, shape):
        self.in_shape = a.shape
        try:
            return backend.xp_of(a).reshape(a, shape, copy=False)
        except ValueError:  # a copy; written into a fresh array so that it is not seen as a view
            out = backend.xp_of(a).empty(shape, dtype=a.dtype)
            out.reshape(a.shape)[...] = a
            return out

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
    """The same elements in ``shape`` (one entry may be -1): a view when possible."""
    shape = infer_shape(_size_args(shape), input.numel(), "reshape")
    if shape == input._data.shape:
        return input if not input._rg else Reshape.apply(input, shape)
    return Reshape.apply(input, shape)


@public(function=False)
def view(self, *shape):
    """A view with another shape (never a copy), or ``view(dtype)``: the same bytes read as
    another dtype (not differentiable)."""
    if len(shape) == 1 and not isinstance(shape[0], (int, tuple, list, np.integer)):
        return _view_dtype(self, backend.to_dtype(shape[0]))
    return View.apply(self, infer_shape(_size_args(shape), self.numel(), "view"))


def _view_dtype(t, dt):
    if dt.np == t._data.dtype:
        return t
    a = t._data
    if dt.itemsize != a.itemsize and (a.ndim == 0 or a.strides[-1] != a.itemsize):
        raise RuntimeError(f"view(dtype): to view a {t.dtype} tensor as {dt}, which has another "
                           "element size, the last dimension must be contiguous")
    out = Tensor._make(a.view(dt.np))
    out._base = t._base if t._base is not None else t
    out._vbox = t._vbox
    out._vver = t._vbox[0]
    return out


Tensor.view_as = lambda self, other: view(self, other.shape)
Tensor.reshape_as = lambda self, other: reshape(self, other.shape)


@public
def flatten(input, start_dim=0, end_dim=-1):
    """Merge dimensions start_dim..end_dim into one (a view when possible)."""
    if input.ndim == 0:
        return reshape(input, 1)
    s, e = _dim(start_dim, input.ndim, "flatten"), _dim(end_dim, input.ndim, "flatten")
    if s > e:
        raise RuntimeError("flatten() has invalid args: start_dim cannot come after end_dim")
    if s == e:
        return input
    shape = input.shape
    return reshape(input, shape[:s] + (_numel(shape[s:e + 1]),) + shape[e + 1:])


@public
def unflatten(input, dim, sizes):
    """Split dimension ``dim`` into ``sizes`` (one of them may be -1)."""
    d = _dim(dim, input.ndim, "unflatten")
    n = input.shape[d]
    sizes = tuple(int(s) for s in sizes)
    if not sizes:
        raise RuntimeError("unflatten: sizes must be non-empty")
    try:
        sizes = infer_shape(sizes, n, "unflatten")
    except RuntimeError:
        raise RuntimeError(f"unflatten: Provided sizes {list(sizes)} don't multiply up to the "
                           f"size of dim {dim} ({n}) in the input tensor") from None
    return reshape(input, input.shape[:d] + sizes + input.shape[d + 1:])


@public
def ravel(input):
    """The elements as a 1-D tensor (a view when the input is contiguous)."""
    return reshape(input, -1)


@public
def unsqueeze(input, dim):
    """A view with a new dimension of size 1 at ``dim``."""
    n = input.ndim + 1
    if not -n <= dim < n:
        raise IndexError(f"unsqueeze: dimension {dim} out of range [{-n}, {n - 1}]")
    return Unsqueeze.apply(input, dim % n)


class Unsqueeze(Op):
    """A new size-1 dim at ``dim`` (a view) with PyTorch's stride for it: size·stride of the dim
    it goes before, or one element at the end."""

    is_view = True

    def forward(self, a, dim):
        self.dim = dim
        stride = a.shape[dim] * a.strides[dim] if dim < a.ndim else a.itemsize
        shape = a.shape[:dim] + (1,) + a.shape[dim:]
        out = a.reshape(shape)  # a view; NumPy's choice of stride for the new dim is usually ours
        if out.strides[dim] == stride:
            return out
        return backend.xp_of(a).lib.stride_tricks.as_strided(
            a, shape, a.strides[:dim] + (stride,) + a.strides[dim:])

    def backward(self, g):
        return g.squeeze(self.dim), None


@public
def squeeze(input, dim=None):
    """A view without the size-1 dimensions (all, or those of ``dim``: an int or a tuple)."""
    shape = input.shape
    if dim is None:
        dims = {i for i, s in enumerate(shape) if s == 1}
    else:
        dims = {input._wrap_dim(d) for d in ((dim,) if isinstance(dim, int) else dim)}
        dims = {d for d in dims if input.ndim and shape[d] == 1}
    if not dims:
        return input if not input._rg else Reshape.apply(input, tuple(shape))
    return Reshape.apply(input, tuple(s for i, s in enumerate(shape) if i not in dims))


@public(method=False)
def atleast_1d(*tensors):
    """Each tensor with at least 1 dimension (0-dim becomes shape (1,))."""
    return _atleast(tensors, lambda t: reshape(t, 1) if t.ndim == 0 else t)


@public(method=False)
def atleast_2d(*tensors):
    """Each tensor with at least 2 dimensions: () -> (1, 1), (n,) -> (1, n)."""
    return _atleast(tensors, lambda t: reshape(t, (1,) * (2 - t.ndim) + t.shape)
                    if t.ndim < 2 else t)


@public(method=False)
def atleast_3d(*tensors):
    """At least 3 dimensions: () -> (1, 1, 1), (n,) -> (1, n, 1), (m, n) -> (m, n, 1)."""
    def f(t):
        if t.ndim == 0:
            return reshape(t, 1, 1, 1)
        if t.ndim == 1:
            return reshape(t, 1, t.shape[0], 1)
        return unsqueeze(t, -1) if t.ndim == 2 else t
    return _atleast(tensors, f)


def _atleast(tensors, f):
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        return tuple(f(t) for t in tensors[0])
    if len(tensors) == 1:
        return f(tensors[0])
    return tuple(f(t) for t in tensors)


# ============================================================================ dimension order
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
    """A view with the dimensions in the order ``dims``."""
    dims = _size_args(dims)
    n = input.ndim
    if len(dims) != n or sorted(d % max(n, 1) for d in dims) != list(range(n)):
        raise RuntimeError(f"permute: dims {dims} is not a permutation of the {n} dimensions of "
                           f"a tensor of shape {list(input.shape)}")
    return Permute.apply(input, tuple(d % max(n, 1) for d in dims))


@public
def transpose(input, dim0, dim1):
    """A view with dimensions dim0 and dim1 swapped."""
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
    """Transpose of a matrix (0-D and 1-D tensors are returned as they are)."""
    if input.ndim > 2:
        raise RuntimeError(f"t() expects a tensor with <= 2 dimensions, but self is {input.ndim}D")
    return transpose(input, 0, 1) if input.ndim == 2 else input


@public
def movedim(input, source, destination):
    """A view with dimensions ``source`` moved to positions ``destination`` (ints or tuples);
    the other dimensions keep their order."""
    src = (source,) if isinstance(source, int) else tuple(source)
    dst = (destination,) if isinstance(destination, int) else tuple(destination)
    if len(src) != len(dst):
        raise RuntimeError(f"movedim: Invalid source or destination dims: source ({list(src)} "
                           f"dims) should contain the same number of dims as destination "
                           f"({list(dst)} dims)")
    n = input.ndim
    src = [_dim(d, n, "movedim") for d in src]
    dst = [_dim(d, n, "movedim") for d in dst]
    if len(set(src)) != len(src) or len(set(dst)) != len(dst):
        raise RuntimeError(f"movedim: repeated dim in source ({src}) or destination ({dst})")
    order = [None] * n
    for s, d in zip(src, dst):
        order[d] = s
    rest = iter(d for d in range(n) if d not in src)
    order = [o if o is not None else next(rest) for o in order]
    return permute(input, order) if order != list(range(n)) else input


public(movedim, name="moveaxis")


# ============================================================================ broadcasting
class Expand(Op):
    """Broadcast to a bigger shape with stride 0 (a view); backward sums the copies."""

    is_view = True

    def forward(self, a, shape):
        # PyTorch's strides: an expanded dim gets 0, a kept dim keeps its stride, a new size-1
        # dim gets size·stride of the dim after it (0 at the end: a 0-d input). Read-only, as the
        # expanded copies overlap in memory.
        xp = backend.xp_of(a)
        if 1 not in shape:  # then NumPy's broadcast strides are exactly these
            return xp.broadcast_to(a, shape)
        lead, strides = len(shape) - a.ndim, [0] * len(shape)
        for i in reversed(range(len(shape))):
            j = i - lead
            if j >= 0:
                strides[i] = 0 if a.shape[j] == 1 and shape[i] != 1 else a.strides[j]
            elif shape[i] == 1:
                strides[i] = shape[i + 1] * strides[i + 1] if i + 1 < len(shape) else 0
        return xp.lib.stride_tricks.as_strided(a, shape, strides, writeable=False)

    def backward(self, g):
        return g, None  # the engine sums g back to the input's shape


@public(function=False)
def expand(self, *sizes):
    """A view repeating size-1 dimensions (stride 0) up to ``sizes``; -1 keeps a size."""
    sizes = _size_args(sizes)
    if len(sizes) < self.ndim:
        raise RuntimeError(f"expand: the number of sizes provided ({len(sizes)}) must be greater "
                           f"or equal to the number of dimensions in the tensor ({self.ndim})")
    lead = len(sizes) - self.ndim
    for i in range(lead):
        if sizes[i] < 0:
            raise RuntimeError(f"expand: the expanded size of the tensor ({sizes[i]}) isn't "
                               f"allowed in a leading, non-existing dimension {i}")
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


@public
def broadcast_to(input, size):
    """``input.expand(size)``: a view."""
    return expand(input, *_size_args((size,)))


@public(method=False)
def broadcast_shapes(*shapes):
    """The shape the given shapes broadcast to."""
    shapes = [(s,) if isinstance(s, int) else tuple(s) for s in shapes]
    try:
        return Size(np.broadcast_shapes(*shapes))
    except ValueError:
        raise RuntimeError(f"Shape mismatch: objects cannot be broadcast to a single shape: "
                           f"{', '.join(str(list(s)) for s in shapes)}") from None


@public(method=False)
def broadcast_tensors(*tensors):
    """Views of the tensors expanded to their common broadcast shape."""
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        tensors = tuple(tensors[0])
    shape = broadcast_shapes(*(t.shape for t in tensors))
    return tuple(expand(t, shape) for t in tensors)


@public(method=False)
def meshgrid(*tensors, indexing=None):
    """Coordinate grids from 1-D tensors (views). ``indexing='ij'``: output k varies along
    dimension k; ``'xy'``: the first two dimensions are swapped (Cartesian)."""
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        tensors = tuple(tensors[0])
    indexing = indexing or "ij"
    if indexing not in ("ij", "xy"):
        raise RuntimeError(f"meshgrid: indexing must be one of 'xy' or 'ij', got {indexing!r}")
    for t in tensors:
        if t.ndim > 1:
            raise RuntimeError(f"meshgrid: expects all tensors to be 0-D or 1-D, got a tensor of "
                               f"shape {list(t.shape)}")
    sizes = [t.numel() for t in tensors]
    axes = list(range(len(tensors)))
    if indexing == "xy" and len(tensors) >= 2:
        axes[0], axes[1] = 1, 0
        sizes[0], sizes[1] = sizes[1], sizes[0]
    out = []
    for t, ax in zip(tensors, axes):
        shape = [1] * len(tensors)
        shape[ax] = t.numel()
        out.append(expand(reshape(t, shape), sizes))
    return tuple(out)


# ============================================================================ strided views
class AsStrided(Op):
    """An arbitrary view of the input's storage: size, stride (elements) and offset."""

    is_view = True

    def forward(self, a, size, stride, offset):
        self.in_shape = a.shape
        self.geometry = size, stride, offset
        flat = a.reshape(-1)
        start = (offset,) if flat.size else None
        return strided_view(flat, start, size, [s * a.itemsize for s in stride])

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
    """A view with the given size and stride (in elements), starting ``storage_offset``
    elements after the input's first element (of its contiguous layout)."""
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


def _diagonal_geometry(a, offset, d1, d2):
    """(start, shape, byte strides) of the diagonal view of ``a``: the other dims, then the
    diagonal, whose step is the sum of the two strides."""
    n1, n2 = a.shape[d1], a.shape[d2]
    length = max(min(n1, n2 - offset) if offset >= 0 else min(n1 + offset, n2), 0)
    start = [0] * a.ndim
    start[d2 if offset >= 0 else d1] = abs(offset)
    keep = [d for d in range(a.ndim) if d not in (d1, d2)]
    shape = tuple(a.shape[d] for d in keep) + (length,)
    strides = tuple(a.strides[d] for d in keep) + (a.strides[d1] + a.strides[d2],)
    return (tuple(start) if length and a.size else None), shape, strides


class Diagonal(Op):
    """out[..., i] = a[..., i, i + offset] over dims (d1, d2), a view;
    dL/da = zeros with dL/dout on that diagonal."""

    is_view = True

    def forward(self, a, offset, d1, d2):
        self.in_shape, self.args = a.shape, (offset, d1, d2)
        return strided_view(a, *_diagonal_geometry(a, offset, d1, d2))

    def backward(self, g):
        return DiagonalScatter.apply(g, self.in_shape, *self.args), None, None, None


class DiagonalScatter(Op):
    """out = zeros(shape) with diagonal(out, offset, d1, d2) = v (diag_embed, and the backward of
    diagonal); dL/dv = diagonal(dL/dout, offset, d1, d2)."""

    def forward(self, v, shape, offset, d1, d2):
        self.args = offset, d1, d2
        out = backend.xp_of(v).zeros(shape, dtype=v.dtype)
        strided_view(out, *_diagonal_geometry(out, offset, d1, d2))[...] = v
        return out

    def backward(self, g):
        return Diagonal.apply(g, *self.args), None, None, None, None


@public
def diagonal(input, offset=0, dim1=0, dim2=1):
    """A view of the diagonal ``input[..., i, i + offset]`` over dims (dim1, dim2), moved last."""
    d1, d2 = _dim(dim1, input.ndim, "diagonal"), _dim(dim2, input.ndim, "diagonal")
    if d1 == d2:
        raise RuntimeError(f"diagonal dimensions cannot be identical {dim1}, {dim2}")
    return Diagonal.apply(input, offset, d1, d2)


@public
def diag_embed(input, offset=0, dim1=-2, dim2=-1):
    """A tensor whose diagonals (over dims dim1, dim2 of the result) are the last dimension of
    input, zeros elsewhere."""
    n = input.ndim + 1
    d1, d2 = _dim(dim1, n, "diag_embed"), _dim(dim2, n, "diag_embed")
    if d1 == d2:
        raise RuntimeError(f"diag_embed: diagonal dimensions cannot be identical {dim1}, {dim2}")
    size = (input.shape[-1] if input.ndim else 1) + abs(offset)
    rest = iter(input.shape[:-1])
    shape = tuple(size if d in (d1, d2) else next(rest) for d in range(n))
    v = input if input.ndim else reshape(input, 1)
    return DiagonalScatter.apply(v, shape, offset, d1, d2)


@public
def diag(input, diagonal=0):
    """1-D input: a square matrix with input on the ``diagonal``-th diagonal. 2-D input: a copy
    of its ``diagonal``-th diagonal."""
    if input.ndim == 1:
        return diag_embed(input, diagonal, 0, 1)
    if input.ndim == 2:
        return clone(Diagonal.apply(input, diagonal, 0, 1))
    raise RuntimeError(f"diag(): Supports 1D or 2D tensors. Got {input.ndim}D")


class Unfold(Op):
    """Sliding windows along ``dim`` as a view: out[..., w, ..., j] = a[..., w·step + j, ...].
    dL/da adds up the gradients of every window an element belongs to."""

    is_view = True

    def forward(self, a, dim, size, step):
        self.in_shape, self.args = a.shape, (dim, size, step)
        shape = list(a.shape)
        strides = list(a.strides)
        shape[dim] = (a.shape[dim] - size) // step + 1
        strides[dim] *= step
        return strided_view(a, None, tuple(shape) + (size,), tuple(strides) + (a.strides[dim],))

    def backward(self, g):
        return UnfoldBackward.apply(g, self.in_shape, *self.args), None, None, None


class UnfoldBackward(Op):
    """out = zeros(shape) with every window j-th element of g added back: the adjoint of unfold."""

    def forward(self, g, shape, dim, size, step):
        self.args = dim, size, step
        out = backend.xp_of(g).zeros(shape, dtype=g.dtype)
        n = g.shape[dim]
        if n:
            lead = (slice(None),) * dim
            for j in range(size):  # one strided add per position in the window
                out[lead + (slice(j, j + step * (n - 1) + 1, step),)] += g[..., j]
        return out

    def backward(self, gg):
        return Unfold.apply(gg, *self.args), None, None, None, None


def _unfold(self, dimension, size, step):
    """``Tensor.unfold``: all windows of ``size`` elements along ``dimension``, ``step`` apart,
    as a new last dimension (a view)."""
    if step <= 0:
        raise RuntimeError(f"unfold: step is {step} but must be > 0")
    if self.ndim == 0:
        if size > 1:
            raise RuntimeError(f"unfold: maximum size for tensor at dimension 0 is 1 but size is "
                               f"{size}")
        return reshape(self, 1)
    d = _dim(dimension, self.ndim, "unfold")
    if size > self.shape[d] or size < 0:
        raise RuntimeError(f"unfold: maximum size for tensor at dimension {d} is "
                           f"{self.shape[d]} but size is {size}")
    return Unfold.apply(self, d, size, step)


Tensor.unfold = _unfold


# ============================================================================ slicing views
@public
def narrow(input, dim, start, length):
    """A view of ``length`` entries along ``dim`` beginning at ``start`` (may be negative)."""
    d = _dim(dim, input.ndim, "narrow")
    n = input.shape[d]
    start = int(start)
    if not -n <= start <= n:
        raise IndexError(f"narrow(): start ({start}) is out of bounds for dimension {d} with "
                         f"size {n}")
    start %= n if n else 1
    if length < 0 or start + length > n:
        raise RuntimeError(f"narrow(): start ({start}) + length ({length}) exceeds dimension "
                           f"size ({n}).")
    return BasicIndex.apply(input, (slice(None),) * d + (slice(start, start + length), Ellipsis))


@public
def select(input, dim, index):
    """The view ``input[..., index, ...]`` with ``dim`` removed."""
    d = _dim(dim, input.ndim, "select")
    n = input.shape[d]
    index = int(index)
    if not -n <= index < n:
        raise IndexError(f"select(): index {index} out of range for tensor of size "
                         f"{list(input.shape)} at dimension {d}")
    return BasicIndex.apply(input, (slice(None),) * d + (index, Ellipsis))


class SplitViews(Op):
    """Consecutive pieces along ``dim`` (views); dL/da = cat of the pieces' gradients."""

    is_view = True

    def forward(self, a, dim, bounds):
        self.dim, self.bounds, self.in_shape = dim, bounds, a.shape
        lead = (slice(None),) * dim
        return tuple(a[lead + (slice(s, e),)] for s, e in bounds)

    def backward(self, *grads):
        ends = [e for _, e in self.bounds]
        if [s for s, _ in self.bounds] == [0] + ends[:-1] and ends[-1] == self.in_shape[self.dim]:
            return Cat.apply(*grads, dim=self.dim), None, None
        # pieces that overlap (tensor_split with decreasing indices): add them up
        lead = (slice(None),) * self.dim
        total = None
        for g, (s, e) in zip(grads, self.bounds):
            part = IndexBackward.apply(g, self.in_shape, lead + (slice(s, e), Ellipsis), None)
            total = part if total is None else total + part
        return total, None, None


class Unbind(Op):
    """Every entry along ``dim`` as a view with dim removed; dL/da = stack of the gradients."""

    is_view = True

    def forward(self, a, dim):
        self.dim = dim
        lead = (slice(None),) * dim
        return tuple(a[lead + (i, Ellipsis)] for i in range(a.shape[dim]))

    def backward(self, *grads):
        return Stack.apply(*grads, dim=self.dim), None


def _split_bounds(sizes):
    bounds, s = [], 0
    for n in sizes:
        bounds.append((s, s + n))
        s += n
    return tuple(bounds)


def _pieces(input, dim, bounds):
    if input.ndim == 0:
        raise RuntimeError("split: expected a tensor with at least one dimension")
    return SplitViews.apply(input, dim, bounds)


@public
def split(tensor, split_size_or_sections, dim=0):
    """Views of consecutive pieces along ``dim``: of size ``split_size`` each (the last may be
    smaller), or of the given list of sizes."""
    d = _dim(dim, tensor.ndim, "split")
    n = tensor.shape[d] if tensor.ndim else 0
    if isinstance(split_size_or_sections, (list, tuple)):
        sizes = [int(s) for s in split_size_or_sections]
        if sum(sizes) != n or min(sizes, default=0) < 0:
            raise RuntimeError(f"split_with_sizes expects split_sizes to sum exactly to {n} "
                               f"(input tensor's size at dimension {d}), but got "
                               f"split_sizes={sizes}")
    else:
        size = int(split_size_or_sections)
        if size <= 0 and n:
            raise RuntimeError(f"split expects split_size be non-negative, but got split_size={size}")
        sizes = [min(size, n - s) for s in range(0, n, size)] if n else [0]
    return _pieces(tensor, d, _split_bounds(sizes))


public(split, name="split_with_sizes")


@public
def chunk(input, chunks, dim=0):
    """``chunks`` views of (nearly) equal size along ``dim`` (fewer when the size is too small)."""
    if chunks <= 0:
        raise RuntimeError(f"chunk expects `chunks` to be greater than 0, got: {chunks}")
    d = _dim(dim, input.ndim, "chunk")
    n = input.shape[d] if input.ndim else 0
    if n == 0:
        return _pieces(input, d, ((0, 0),) * chunks)
    return split(input, -(-n // chunks), d)


@public
def tensor_split(input, indices_or_sections, dim=0):
    """Views along ``dim``: ``n`` sections whose sizes differ by at most one (the first ones
    larger), or the pieces between the given indices."""
    d = _dim(dim, input.ndim, "tensor_split")
    n = input.shape[d] if input.ndim else 0
    ios = indices_or_sections
    if isinstance(ios, Tensor):
        ios = ios.item() if ios.ndim == 0 else ios.tolist()
    if isinstance(ios, (list, tuple)):
        cuts = [min(max(int(i) if i >= 0 else int(i) + n, 0), n) for i in ios]
        starts = [0] + cuts
        ends = cuts + [n]
        return _pieces(input, d, tuple((s, max(s, e)) for s, e in zip(starts, ends)))
    k = int(ios)
    if k <= 0:
        raise RuntimeError(f"tensor_split: number of sections must be larger than 0, got {k}")
    sizes = [n // k + (1 if i < n % k else 0) for i in range(k)]
    return _pieces(input, d, _split_bounds(sizes))


def _split_dim(name, input, ios, dim):
    if isinstance(ios, int):
        n = input.shape[dim]
        if ios == 0 or n % ios:
            raise RuntimeError(f"torch.{name} attempted to split along dimension {dim}, but the "
                               f"size of the dimension {n} is not divisible by the split_size "
                               f"{ios}!")
    return tensor_split(input, ios, dim)


@public
def hsplit(input, indices_or_sections):
    """tensor_split along dim 1 (dim 0 for 1-D); an int must divide the size."""
    if input.ndim == 0:
        raise RuntimeError("torch.hsplit requires a tensor with at least 1 dimension, but got "
                           "a tensor with 0 dimensions!")
    return _split_dim("hsplit", input, indices_or_sections, 1 if input.ndim > 1 else 0)


@public
def vsplit(input, indices_or_sections):
    """tensor_split along dim 0 of a tensor with at least 2 dimensions."""
    if input.ndim < 2:
        raise RuntimeError(f"torch.vsplit requires a tensor with at least 2 dimension, but got a "
                           f"tensor with {input.ndim} dimensions!")
    return _split_dim("vsplit", input, indices_or_sections, 0)


@public
def dsplit(input, indices_or_sections):
    """tensor_split along dim 2 of a tensor with at least 3 dimensions."""
    if input.ndim < 3:
        raise RuntimeError(f"torch.dsplit requires a tensor with at least 3 dimension, but got a "
                           f"tensor with {input.ndim} dimensions!")
    return _split_dim("dsplit", input, indices_or_sections, 2)


@public
def unbind(input, dim=0):
    """The entries along ``dim``, each a view with that dimension removed."""
    if input.ndim == 0:
        raise IndexError("unbind: dimension specified as 0 but tensor has no dimensions")
    return Unbind.apply(input, _dim(dim, input.ndim, "unbind"))


# ============================================================================ copies: joining
class Cat(Op):
    """out = the inputs joined along ``dim``; each input's gradient is its slice of dL/dout.
    Inputs marked in ``skip`` (PyTorch's legacy empty 1-D tensors) take no part."""

    def forward(self, *arrays, dim, skip=None):
        self.dim, self.skip = dim, skip
        if skip:
            arrays = [a for a, s in zip(arrays, skip) if not s]
        self.bounds = _split_bounds(a.shape[dim] for a in arrays)
        return backend.xp_of(arrays[0]).concatenate(arrays, axis=dim)

    def backward(self, g):
        pieces = SplitViews.apply(g, self.dim, self.bounds)
        if not self.skip:
            return pieces
        it = iter(pieces)
        return tuple(g.new_zeros(0) if s else next(it) for s in self.skip)


class Stack(Op):
    """out = the inputs stacked along a new dimension ``dim``; gradients: unbind(dL/dout)."""

    def forward(self, *arrays, dim):
        self.dim = dim
        return backend.xp_of(arrays[0]).stack(arrays, axis=dim)

    def backward(self, g):
        return Unbind.apply(g, self.dim)


def _tensor_list(tensors, opname):
    if isinstance(tensors, Tensor) or not isinstance(tensors, (list, tuple)):
        raise TypeError(f"{opname}(): argument 'tensors' must be a tuple or list of Tensors, not "
                        f"{type(tensors).__name__}")
    if not tensors:
        raise RuntimeError(f"{opname}(): expected a non-empty list of Tensors")
    return list(tensors)


def _promoted(tensors, opname):
    """The tensors cast to their common dtype (PyTorch's promotion), on one device."""
    first = tensors[0]._data
    if all(t._data.dtype == first.dtype and type(t._data) is type(first) for t in tensors):
        return tensors
    dt = tensors[0].dtype
    for t in tensors[1:]:
        dt = backend.promote_types(dt, t.dtype)
        if t.device != tensors[0].device:
            raise RuntimeError(f"{opname}(): expected all tensors on the same device, got "
                               f"{tensors[0].device} and {t.device}")
    return [t if t._data.dtype == dt.np else t.to(dt) for t in tensors]


@public(method=False)
def cat(tensors, dim=0):
    """The tensors joined along ``dim`` (sizes must match elsewhere; dtypes are promoted).
    1-D empty tensors are skipped, as in PyTorch."""
    tensors = _promoted(_tensor_list(tensors, "cat"), "cat")
    ref = next((t for t in tensors if t._data.shape != (0,)), tensors[0])
    if ref.ndim == 0:
        raise RuntimeError("cat(): zero-dimensional tensor (at position 0) cannot be concatenated")
    d = _dim(dim, ref.ndim, "cat")
    skip = None
    if ref.ndim != 1 and any(t._data.shape == (0,) for t in tensors):
        skip = tuple(t._data.shape == (0,) for t in tensors)
    try:
        return Cat.apply(*tensors, dim=d, skip=skip)
    except ValueError:  # NumPy refused: say which tensor does not fit
        _check_cat(tensors, ref, d, skip or (False,) * len(tensors))
        raise


def _check_cat(tensors, ref, d, skip):
    for i, t in enumerate(tensors):
        if skip[i]:
            continue
        if t.ndim != ref.ndim:
            raise RuntimeError(f"cat(): Tensors must have same number of dimensions: got "
                               f"{ref.ndim} and {t.ndim}")
        for k in range(ref.ndim):
            if k != d and t.shape[k] != ref.shape[k]:
                raise RuntimeError(f"cat(): Sizes of tensors must match except in dimension {d}. "
                                   f"Expected size {ref.shape[k]} but got size {t.shape[k]} for "
                                   f"tensor number {i} in the list.")


public(cat, name="concat", method=False)
public(cat, name="concatenate", method=False)


@public(method=False)
def stack(tensors, dim=0):
    """The tensors (all of one shape) stacked along a new dimension ``dim``."""
    tensors = _promoted(_tensor_list(tensors, "stack"), "stack")
    shape = tensors[0]._data.shape
    for i, t in enumerate(tensors):
        if t._data.shape != shape:
            raise RuntimeError(f"stack expects each tensor to be equal size, but got "
                               f"{list(shape)} at entry 0 and {list(t.shape)} at entry {i}")
    d = _dim(dim, len(shape) + 1, "stack")
    return Stack.apply(*tensors, dim=d)


@public(method=False)
def hstack(tensors):
    """Join along dim 1 (dim 0 for 1-D tensors), after atleast_1d."""
    tensors = [atleast_1d(t) for t in _tensor_list(tensors, "hstack")]
    return cat(tensors, 0 if all(t.ndim == 1 for t in tensors) else 1)


@public(method=False)
def vstack(tensors):
    """Join along dim 0 after atleast_2d (1-D tensors become rows)."""
    return cat([atleast_2d(t) for t in _tensor_list(tensors, "vstack")], 0)


public(vstack, name="row_stack", method=False)


@public(method=False)
def dstack(tensors):
    """Join along dim 2 after atleast_3d."""
    return cat([atleast_3d(t) for t in _tensor_list(tensors, "dstack")], 2)


@public(method=False)
def column_stack(tensors):
    """Join along dim 1; 0-D and 1-D tensors become columns."""
    tensors = [reshape(t, t.numel(), 1) if t.ndim < 2 else t
               for t in _tensor_list(tensors, "column_stack")]
    return cat(tensors, 1)


@public(method=False)
def block_diag(*tensors):
    """A block-diagonal matrix of the given 0-, 1- or 2-D tensors (zeros elsewhere)."""
    mats = []
    for i, t in enumerate(tensors):
        if t.ndim > 2:
            raise RuntimeError(f"torch.block_diag: Input tensors must have 2 or fewer dimensions. "
                               f"Input {i} has {t.ndim} dimensions")
        mats.append(reshape(t, 1, -1) if t.ndim < 2 else t)
    if not mats:
        from .creation import empty
        return empty(1, 0)
    mats = _promoted(mats, "block_diag")
    width = sum(m.shape[1] for m in mats)
    rows, left = [], 0
    for m in mats:
        rows.append(pad(m, (left, width - left - m.shape[1])))
        left += m.shape[1]
    return cat(rows, 0)


# ============================================================================ copies: reordering
class Flip(Op):
    """out = a reversed along ``dims`` (a copy); dL/da = flip(dL/dout, dims)."""

    def forward(self, a, dims):
        self.dims = dims
        return backend.xp_of(a).flip(a, dims).copy()

    def backward(self, g):
        return Flip.apply(g, self.dims), None


@public
def flip(input, *dims):
    """A copy with the order of the entries reversed along ``dims``."""
    dims = _dims_arg(dims)
    ds = tuple(_dim(d, input.ndim, "flip") for d in dims)
    if len(set(ds)) != len(ds):
        raise RuntimeError(f"flip: dims has duplicates, original flip dims={list(dims)}")
    if input.ndim == 0 or not ds:
        return clone(input)
    return Flip.apply(input, ds)


@public
def fliplr(input):
    """Reverse the columns (dim 1); needs at least 2 dimensions."""
    if input.ndim < 2:
        raise RuntimeError("fliplr: Input must be >= 2-d.")
    return flip(input, (1,))


@public
def flipud(input):
    """Reverse the rows (dim 0); needs at least 1 dimension."""
    if input.ndim < 1:
        raise RuntimeError("flipud: Input must be >= 1-d.")
    return flip(input, (0,))


class Roll(Op):
    """out = a shifted cyclically by ``shifts`` along ``dims`` (flattened if dims is None);
    dL/da = roll(dL/dout, -shifts)."""

    def forward(self, a, shifts, dims):
        self.shifts, self.dims = shifts, dims
        return backend.xp_of(a).roll(a, shifts, axis=dims)

    def backward(self, g):
        return Roll.apply(g, tuple(-s for s in self.shifts), self.dims), None, None


@public
def roll(input, shifts, dims=None):
    """Shift the entries cyclically: ``out[(i + shift) % n] = input[i]`` along each dim."""
    shifts = (shifts,) if isinstance(shifts, int) else tuple(int(s) for s in shifts)
    if dims is None:
        if len(shifts) != 1:
            raise RuntimeError(f"roll: `shifts` required to be of size 1 when `dims` is None, "
                               f"got {len(shifts)}")
        return Roll.apply(input, shifts, None)
    dims = (dims,) if isinstance(dims, int) else tuple(dims)
    if len(shifts) != len(dims):
        raise RuntimeError(f"roll: shifts and dimensions must align. shifts: {len(shifts)}, "
                           f"dims:{len(dims)}")
    return Roll.apply(input, shifts, tuple(_dim(d, input.ndim, "roll") for d in dims))


@public
def rot90(input, k=1, dims=(0, 1)):
    """Rotate by 90° ``k`` times in the plane ``dims``, from the first axis towards the second."""
    if len(dims) != 2:
        raise RuntimeError(f"rot90: expected total rotation dims == 2, but got dims = {len(dims)}")
    if input.ndim < 2:
        raise RuntimeError(f"rot90: expected total dims >= 2, but got total dims = {input.ndim}")
    d0, d1 = (_dim(d, input.ndim, "rot90") for d in dims)
    if d0 == d1:
        raise RuntimeError(f"rot90: expected rotation dims to be different, but got dim0 = {d0} "
                           f"and dim1 = {d1}")
    k %= 4
    if k == 1:
        return transpose(flip(input, (d1,)), d0, d1)
    if k == 2:
        return flip(input, (d0, d1))
    if k == 3:
        return transpose(flip(input, (d0,)), d0, d1)
    return clone(input)


# ============================================================================ copies: repeating
class Repeat(Op):
    """out = a tiled ``reps`` times along each dim; dL/da = the sum of dL/dout over the tiles."""

    def forward(self, a, reps):
        self.in_shape, self.reps = a.shape, reps
        return backend.xp_of(a).tile(a, reps)

    def backward(self, g):
        shape = (1,) * (len(self.reps) - len(self.in_shape)) + tuple(self.in_shape)
        split = []
        for r, s in zip(self.reps, shape):
            split += [r, s]
        summed = g.reshape(split).sum(dim=tuple(range(0, len(split), 2)))
        return summed.reshape(self.in_shape), None


def _repeat(self, *sizes):
    """``Tensor.repeat``: tile the tensor ``sizes[i]`` times along dim i (new leading dims
    allowed)."""
    reps = _size_args(sizes)
    if len(reps) < self.ndim:
        raise RuntimeError("Number of dimensions of repeat dims can not be smaller than number "
                           f"of dimensions of tensor ({len(reps)} < {self.ndim})")
    if min(reps, default=0) < 0:
        raise RuntimeError(f"Trying to create tensor with negative dimension: repeats {list(reps)}")
    return Repeat.apply(self, reps)


Tensor.repeat = _repeat


@public
def tile(input, *dims):
    """Like ``repeat``, with ``dims`` padded with leading 1s when shorter than input.ndim."""
    dims = _size_args(dims)
    return _repeat(input, (1,) * (input.ndim - len(dims)) + dims)


@public
def repeat_interleave(input, repeats=None, dim=None, *, output_size=None):
    """Repeat each entry along ``dim`` (the flattened input if None) ``repeats`` times (an int or
    one count per entry). ``repeat_interleave(counts)`` repeats the indices 0..n-1."""
    from .creation import arange
    if repeats is None:  # torch.repeat_interleave(repeats): indices repeated by counts
        counts = input
        return repeat_interleave(arange(counts.numel(), device=counts.device), counts, 0)
    if dim is None:
        input, dim = reshape(input, -1), 0
    d = _dim(dim, input.ndim, "repeat_interleave")
    if input.ndim == 0:
        input = reshape(input, 1)
    n = input.shape[d]
    if isinstance(repeats, Tensor):
        if repeats.numel() == 1:
            repeats = int(repeats.item())
        else:
            r = repeats._data
            if r.ndim != 1 or r.shape[0] != n:
                raise RuntimeError(f"repeat_interleave: repeats must have the same size as input "
                                   f"along dim {d}: got {list(repeats.shape)} for size {n}")
            if r.size and int(r.min()) < 0:
                raise RuntimeError("repeat_interleave: repeats can not be negative")
            xp = backend.xp_of(r)
            idx = xp.repeat(xp.arange(n, dtype=np.int64), r)
            return IndexSelect.apply(input, d, idx)
    if repeats < 0:
        raise RuntimeError("repeat_interleave: repeats can not be negative")
    shape = input.shape
    wide = expand(unsqueeze(input, d + 1), *(shape[:d + 1] + (repeats,) + shape[d + 1:]))
    out = reshape(wide, shape[:d] + (n * repeats,) + shape[d + 1:])
    return clone(out) if out._base is not None else out  # always a copy, as in PyTorch


# ============================================================================ triangles
class Tril(Op):
    """out = a with the entries above the ``k``-th diagonal of the last two dims zeroed
    (``upper``: below it); dL/da = the same mask applied to dL/dout."""

    def forward(self, a, k, upper):
        self.k, self.upper = k, upper
        xp = backend.xp_of(a)
        return xp.triu(a, k) if upper else xp.tril(a, k)

    def backward(self, g):
        return Tril.apply(g, self.k, self.upper), None, None


@public(inplace=True)
def tril(input, diagonal=0):
    """The lower triangle (j - i <= diagonal) of the last two dims, zeros elsewhere."""
    if input.ndim < 2:
        raise RuntimeError("tril: input tensor must have at least 2 dimensions")
    return Tril.apply(input, int(diagonal), False)


@public(inplace=True)
def triu(input, diagonal=0):
    """The upper triangle (j - i >= diagonal) of the last two dims, zeros elsewhere."""
    if input.ndim < 2:
        raise RuntimeError("triu: input tensor must have at least 2 dimensions")
    return Tril.apply(input, int(diagonal), True)


# ============================================================================ copying
class Clone(Op):
    """A copy in new memory; gradient passes through."""

    def forward(self, a):
        return a.copy()

    def backward(self, g):
        return g


@public
def clone(input, *, memory_format=None):
    """A copy of input in new (contiguous) memory; differentiable."""
    return Clone.apply(input)


@public(function=False)
def contiguous(self, memory_format=None):
    """Self if it is C-contiguous, else a contiguous copy."""
    return self if self._data.flags.c_contiguous else Clone.apply(self)


# ============================================================================ padding
class ConstantPad(Op):
    """out = a surrounded by ``value`` (negative widths crop); dL/da = dL/dout with the same
    widths negated (a crop), i.e. the padded entries get no gradient."""

    def forward(self, a, widths, value):
        self.widths = widths
        xp = backend.xp_of(a)
        out_shape = tuple(n + lo + hi for n, (lo, hi) in zip(a.shape, widths))
        out = xp.full(out_shape, value, dtype=a.dtype)
        src = tuple(slice(max(-lo, 0), n - max(-hi, 0)) for n, (lo, hi) in zip(a.shape, widths))
        dst = tuple(slice(max(lo, 0), m - max(hi, 0)) for m, (lo, hi) in zip(out_shape, widths))
        out[dst] = a[src]
        return out

    def backward(self, g):
        return ConstantPad.apply(g, tuple((-lo, -hi) for lo, hi in self.widths), 0), None, None


_PAD_MODES = ("constant", "reflect", "replicate", "circular")


def _pad_index(xp, n, lo, hi, mode):
    """For each output position along one dim, the input position it copies."""
    i = xp.arange(-lo, n + hi, dtype=np.int64)
    if mode == "reflect":
        period = 2 * (n - 1)
        i = xp.abs(i) % period if period else xp.zeros_like(i)
        return xp.where(i >= n, period - i, i)
    if mode == "replicate":
        return xp.clip(i, 0, n - 1)
    return i % n


def pad(input, pad, mode="constant", value=None):
    """Pad the last ``len(pad) // 2`` dims: ``pad = (left_last, right_last, left_second_last,
    ...)``. Modes: ``constant`` (``value``, default 0; negative widths crop), ``reflect`` (mirror
    without repeating the edge), ``replicate`` (repeat the edge), ``circular`` (wrap around).
    The non-constant modes are an index_select per dim, whose gradient adds the copies back."""
    pad = tuple(int(p) for p in pad)
    if len(pad) % 2 or len(pad) // 2 > input.ndim:
        raise RuntimeError(f"pad: padding length must be even and at most twice the number of "
                           f"dimensions of the input ({input.ndim}), got {len(pad)}")
    if mode not in _PAD_MODES:
        raise NotImplementedError(f"pad: unsupported padding mode {mode!r}; expected one of "
                                  f"{', '.join(_PAD_MODES)}")
    k = len(pad) // 2
    dims = [input.ndim - 1 - j for j in range(k)]  # the last dim is padded by pad[0], pad[1]
    if mode == "constant":
        widths = [(0, 0)] * input.ndim
        for j, d in enumerate(dims):
            widths[d] = (pad[2 * j], pad[2 * j + 1])
            if input.shape[d] + pad[2 * j] + pad[2 * j + 1] < 0:
                raise RuntimeError(f"pad: The input size {input.shape[d]}, plus negative padding "
                                   f"{pad[2 * j]} and {pad[2 * j + 1]} resulted in a negative "
                                   f"output size, which is invalid. Check dimension {d} of your "
                                   "input.")
        return ConstantPad.apply(input, tuple(widths), 0 if value is None else value)
    if value is not None and value != 0:
        raise RuntimeError(f'Padding mode "{mode}" doesn\'t take in value argument')
    if k > 3 or input.ndim not in (k + 1, k + 2):
        raise NotImplementedError(
            f"Padding size {len(pad)} is not supported for {input.ndim}D input tensor. Supported "
            "combinations for non-constant padding: 2D or 3D input with padding size 2, 3D or 4D "
            "input with padding size 4, 4D or 5D input with padding size 6")
    xp = backend.xp_of(input._data)
    out = input
    for j, d in enumerate(dims):
        lo, hi, n = pad[2 * j], pad[2 * j + 1], input.shape[d]
        if mode == "reflect" and (lo >= n or hi >= n):
            raise RuntimeError(f"pad: Padding size should be less than the corresponding input "
                               f"dimension, but got: padding ({lo}, {hi}) at dimension {d} of "
                               f"input {list(input.shape)}")
        if mode == "circular" and (lo > n or hi > n):
            raise RuntimeError("pad: Padding value causes wrapping around more than once.")
        if mode == "replicate" and n == 0:
            raise RuntimeError(f"pad: the input size at dimension {d} is 0, there is nothing to "
                               "replicate")
        if min(lo, hi) < 0:
            raise RuntimeError(f"pad: negative padding ({lo}, {hi}) is only supported in "
                               "constant mode")
        if lo or hi:
            out = IndexSelect.apply(out, d, _pad_index(xp, n, lo, hi, mode))
    return out if out is not input else clone(input)
