"""Indexing: ``t[...]`` for reading and ``t[...] = v`` for writing, and the gather/scatter family.

Reading. Ints, slices, ``None`` and ``...`` are *basic* indexing: the result is a view (same
storage, other shape/strides/offset). Integer arrays and boolean masks are *advanced* indexing:
the result is a copy, ``out[j] = a[idx[j]]``. Its gradient adds each output gradient back to the
element it was read from, so repeated indices accumulate: ``dL/da[i] = Σ_{j: idx[j]=i} dL/dout[j]``.

PyTorch applies the ints of an index before its tensors (``x[0, :, [1, 2]]`` has shape (3, 2) for x
of shape (2, 3, 4); NumPy would give (2, 3)). Every index is therefore split into a basic part,
applied first as a view, and an advanced part applied to that view with NumPy's rules (which match
PyTorch's once the ints are gone).

Writing. ``t[idx] = v`` (``index_put``) writes in place; with autograd, dL/dv = dL/dout[idx] and
dL/dt = dL/dout with the written region zeroed.

The gather/scatter family (``gather``, ``scatter``, ``scatter_add``, ``scatter_reduce``,
``index_select``, ``index_add``, ``index_copy``, ``index_fill``, ``masked_*``, ``take``, ``put``)
are pairs of adjoint linear maps: the backward of a gather is a scatter-add and vice versa.
"""
from __future__ import annotations

import numpy as np

from .. import backend
from .._tensor import Tensor
from ..autograd import grad_mode
from ..autograd.graph import Op
from ._api import public

_SIMPLE = (int, slice, type(None), type(Ellipsis), bool)


# ============================================================================ index parsing
def _index_array(x, opname="index"):
    """An index that is a Tensor, NumPy array or list, as a backend array (int64 or bool)."""
    arr = x._data if isinstance(x, Tensor) else np.asarray(x)
    kind = arr.dtype.kind
    if arr.dtype == np.uint8:  # PyTorch's legacy byte masks
        return arr.astype(bool)
    if kind == "b":
        return arr
    if kind in "iu":
        return arr if arr.dtype == np.int64 else arr.astype(np.int64)
    if arr.size == 0 and kind == "f":  # x[[]]: an empty list is an empty integer index
        return arr.astype(np.int64)
    raise IndexError(f"{opname}: tensors used as indices must be long, int, byte or bool tensors, "
                     f"got {arr.dtype}")


def _check_int(i, dim, size):
    if not -size <= i < size:
        raise IndexError(f"index {i} is out of bounds for dimension {dim} with size {size}")


def _check_int_array(arr, dim, size):
    if arr.size:
        lo, hi = int(arr.min()), int(arr.max())
        bad = lo if lo < -size else hi if hi >= size else None
        if bad is not None:
            raise IndexError(f"index {bad} is out of bounds for dimension {dim} with size {size}")


def _check_slice(s):
    if s.step is not None and s.step.__index__() <= 0:
        raise ValueError("step must be greater than zero")


_BASIC = (int, slice, type(None), type(Ellipsis))


def _basic_only(idx):
    """``(basic, None)`` for an index of ints, slices, None and ``...`` only (the hot path:
    NumPy checks the bounds; see :func:`_index_error`), else None."""
    tp = type(idx)
    if tp is int:
        return (idx, Ellipsis), None
    if tp is slice:
        if idx.step is not None:
            _check_slice(idx)
        return (idx, Ellipsis), None
    if tp is tuple:
        for i in idx:
            ti = type(i)
            if ti is slice:
                if i.step is not None:
                    _check_slice(i)
            elif ti not in _BASIC:
                return None
        return (idx if Ellipsis in idx else idx + (Ellipsis,)), None
    return None


def _index_error(err, shape, idx):
    """Turn NumPy's IndexError into PyTorch's wording, naming the dimension and its size."""
    parse_index(shape, idx, check=True)  # raises the precise error when it finds the culprit
    msg = str(err).replace("axis", "dimension").replace("array", "tensor")
    return IndexError(msg)


def parse_index(shape, idx, check=False):
    """Split a PyTorch index into ``(basic, adv)``: ``a[idx] == a[basic][adv]``.

    ``basic`` holds ints, slices and None and always ends with ``...`` (so that NumPy returns a
    0-dim view rather than a scalar); ``adv`` is None (no advanced part) or a tuple of slices and
    arrays for the view ``a[basic]``. Integer arrays are bounds-checked here only with ``check``
    (NumPy checks them anyway; :func:`_index_error` then calls back with ``check=True``).
    """
    items = idx if type(idx) is tuple else (idx,)
    items = [it if type(it) in _SIMPLE or isinstance(it, np.integer) else _index_array(it)
             for it in items]
    n_used = 0  # dimensions of the input consumed by the index
    for it in items:
        if it is None or it is Ellipsis or type(it) is bool:
            continue
        is_mask = type(it) not in _SIMPLE and it.dtype.kind == "b"
        n_used += it.ndim if is_mask else 1
    ndim = len(shape)
    if n_used > ndim:
        raise IndexError(f"too many indices for tensor of dimension {ndim}")
    basic, adv, has_adv = [], [], False
    dim = 0       # current input dimension
    for it in items:
        tp = type(it)
        if tp is int or isinstance(it, np.integer):
            _check_int(int(it), dim, shape[dim])
            basic.append(int(it))
            dim += 1
        elif tp is slice:
            _check_slice(it)
            basic.append(it)
            adv.append(slice(None))
            dim += 1
        elif it is None:
            basic.append(None)
            adv.append(slice(None))
        elif it is Ellipsis:
            k = ndim - n_used
            basic.extend([slice(None)] * k)
            adv.extend([slice(None)] * k)
            dim += k
            n_used = ndim  # a second Ellipsis expands to nothing
        elif tp is bool:  # x[True] adds a dimension of size 1; x[False] one of size 0
            basic.append(None)
            adv.append(slice(None) if it else np.zeros(0, np.int64))
            has_adv = has_adv or not it
        else:
            arr = it
            if arr.ndim == 0 and arr.dtype.kind != "b":  # a 0-dim integer tensor: like an int
                _check_int(int(arr), dim, shape[dim])
                basic.append(int(arr))
                dim += 1
                has_adv = True  # PyTorch returns a copy for tensor indices
                continue
            if arr.dtype.kind == "b":
                if arr.ndim == 0:
                    basic.append(None)
                    adv.append(slice(None) if arr else np.zeros(0, np.int64))
                    has_adv = has_adv or not arr
                    continue
                for k, n in enumerate(arr.shape):
                    if n != shape[dim + k]:
                        raise IndexError(
                            f"The shape of the mask {list(arr.shape)} at index {k} does not match "
                            f"the shape of the indexed tensor {list(shape)} at index {dim + k}")
                basic.extend([slice(None)] * arr.ndim)
                dim += arr.ndim
            else:
                if check:
                    _check_int_array(arr, dim, shape[dim])
                basic.append(slice(None))
                dim += 1
            adv.append(arr)
            has_adv = True
    basic.append(Ellipsis)
    if not has_adv:
        return tuple(basic), None
    while adv and type(adv[-1]) is slice:
        adv.pop()
    arrays = [a for a in adv if type(a) is not slice]
    if len(arrays) > 1:
        shapes = [a.shape if a.dtype.kind != "b" else (int(a.sum()),) for a in arrays]
        try:
            np.broadcast_shapes(*shapes)
        except ValueError:
            raise IndexError("shape mismatch: indexing tensors could not be broadcast together "
                             f"with shapes {', '.join(str(list(s)) for s in shapes)}") from None
    return tuple(basic), tuple(adv)


def _single_array(adv):
    """For ``adv == (:, ..., :, idx)`` with one integer array: (dim, idx); else None."""
    if adv is None or not adv:
        return None
    last = adv[-1]
    if type(last) is slice or last.dtype.kind == "b":
        return None
    for a in adv[:-1]:
        if type(a) is not slice or a != slice(None):
            return None
    return len(adv) - 1, last


def _view(a, basic):
    """``a[basic]``; dims added by None get PyTorch's stride (size × stride of the next dim)
    rather than NumPy's 0."""
    v = a[basic]
    if None in basic and 0 in v.strides:
        strides = list(v.strides)
        for d in range(v.ndim - 1, -1, -1):
            if strides[d] == 0 and v.shape[d] == 1:
                strides[d] = strides[d + 1] * v.shape[d + 1] if d + 1 < v.ndim else v.itemsize
        from .shape import strided_view
        v = strided_view(v, None, v.shape, tuple(strides))
    return v


def _read(a, basic, adv):
    v = _view(a, basic)
    if adv is None:
        return v
    single = _single_array(adv)
    if single is not None:  # take is several times faster than fancy indexing
        return backend.xp_of(v).take(v, single[1], axis=single[0])
    return v[adv] if adv else v.copy()


# ============================================================================ accumulation
def index_add_arrays(out, dim, idx, src):
    """``out[..., idx[j], ...] += src[..., j, ...]`` along ``dim``, in place, repeats adding up.

    NumPy's ``add.at`` is slow when each index selects a whole row; a sparse (V × N) selection
    matrix S with S[idx[j], j] = 1 turns the sum into one product S @ src (scipy), which is as
    fast as a dense copy.
    """
    xp = backend.xp_of(out)
    idx = idx.reshape(-1)
    o = xp.moveaxis(out, dim, 0)
    s = xp.moveaxis(src, dim, 0)
    rows = s.size // idx.size if idx.size else 0
    if _use_sparse(xp, idx.size, rows, out.dtype):
        o += _sparse_rows(o.shape, idx, s, rows)
    elif rows == 1 and o.flags.c_contiguous:
        xp.add.at(o.reshape(-1), idx, s.reshape(-1))
    else:
        xp.add.at(o, idx, s)


def rows_added(shape, dim, idx, src):
    """A new array of ``shape``: zeros with ``index_add_arrays(out, dim, idx, src)`` applied."""
    xp = backend.xp_of(src)
    idx = idx.reshape(-1)
    rows = src.size // idx.size if idx.size else 0
    if not _use_sparse(xp, idx.size, rows, src.dtype):
        out = xp.zeros(shape, dtype=src.dtype)
        if idx.size:
            index_add_arrays(out, dim, idx, src)
        return out
    moved = (shape[dim],) + shape[:dim] + shape[dim + 1:]
    out = _sparse_rows(moved, idx, xp.moveaxis(src, dim, 0), rows)
    return out if dim == 0 else xp.ascontiguousarray(xp.moveaxis(out, 0, dim))


def _use_sparse(xp, n, rows, dtype):
    return xp is np and rows >= 4 and n * rows >= 4096 and dtype in (np.float32, np.float64)


def _sparse_rows(shape, idx, s, rows):
    """S @ s for the (shape[0] × n) selection matrix S[idx[j], j] = 1, as an array of shape."""
    import scipy.sparse
    n, v = idx.size, shape[0]
    idx = idx % v if idx.min() < 0 else idx
    sel = scipy.sparse.csr_matrix((np.ones(n, s.dtype), (idx, np.arange(n))), shape=(v, n))
    return (sel @ s.reshape(n, rows)).reshape(shape)


def _accumulate(view, adv, g):
    """``view[adv] += g`` with repeated indices adding up (view is a writable array)."""
    single = _single_array(adv)
    if single is not None:
        dim, idx = single
        shape = view.shape[:dim] + (idx.size,) + view.shape[dim + 1:]
        index_add_arrays(view, dim, idx, backend.xp_of(g).broadcast_to(g, _adv_shape(view, adv))
                         .reshape(shape))
    elif all(type(a) is slice or a.dtype.kind == "b" for a in adv):
        view[adv] += g  # masks select each element at most once
    else:
        backend.xp_of(view).add.at(view, adv, g)


def _adv_shape(view, adv):
    """Shape of ``view[adv]`` without computing it."""
    single = _single_array(adv)
    if single is not None:
        dim, idx = single
        return view.shape[:dim] + idx.shape + view.shape[dim + 1:]
    probe = np.lib.stride_tricks.as_strided(np.zeros(1, bool), view.shape, (0,) * view.ndim)
    return probe[tuple(a if type(a) is slice else backend.move(a, backend.CPU) for a in adv)].shape


# ============================================================================ reading
class BasicIndex(Op):
    """``a[ints, slices, None, ...]``: a view; dL/da = zeros with dL/dout placed at the index."""

    is_view = True

    def forward(self, a, basic):
        self.in_shape, self.basic = a.shape, basic
        return _view(a, basic)

    def backward(self, g):
        return IndexBackward.apply(g, self.in_shape, self.basic, None), None


class AdvancedIndex(Op):
    """``a[arrays, masks, ...]``: a copy; dL/da[i] = Σ of dL/dout over the positions that read i."""

    def forward(self, a, basic, adv):
        self.in_shape, self.basic, self.adv = a.shape, basic, adv
        return _read(a, basic, adv)

    def backward(self, g):
        return IndexBackward.apply(g, self.in_shape, self.basic, self.adv), None, None


class IndexBackward(Op):
    """out = zeros(shape) with out[basic][adv] += g: the adjoint of indexing (its own gradient
    is indexing again)."""

    def forward(self, g, shape, basic, adv):
        self.basic, self.adv = basic, adv
        single = _single_array(adv)
        if single is not None and all(b == slice(None) or b is Ellipsis for b in basic):
            dim, idx = single  # the embedding pattern: rows gathered by one index array
            return rows_added(shape, dim, idx, g.reshape(shape[:dim] + (idx.size,) + shape[dim + 1:]))
        out = backend.xp_of(g).zeros(shape, dtype=g.dtype)
        view = out[basic]
        if adv is None:
            view[...] = g
        elif not adv:
            view += g
        else:
            _accumulate(view, adv, g)
        return out

    def backward(self, gg):
        return _index(gg, self.basic, self.adv), None, None, None


def _index(t, basic, adv):
    if adv is None:
        return BasicIndex.apply(t, basic)
    return AdvancedIndex.apply(t, basic, adv)


def getitem(t: Tensor, idx) -> Tensor:
    """``t[idx]`` with PyTorch's semantics (see the module docstring)."""
    data = t._data
    parsed = _basic_only(idx)
    try:
        basic, adv = parsed if parsed is not None else parse_index(data.shape, idx)
        if t._rg and grad_mode.state.enabled:
            return _index(t, basic, adv)
        if adv is None:
            out = Tensor._make(_view(data, basic))
            out._base = t._base if t._base is not None else t
            out._vbox = t._vbox
            out._vver = t._vbox[0]
            return out
        return Tensor._make(_read(data, basic, adv))
    except IndexError as e:
        raise _index_error(e, data.shape, idx) from None


# ============================================================================ writing
class IndexPut(Op):
    """out = a with out[basic][adv] = v (or += v with ``accumulate``).

    dL/da = dL/dout with the written region zeroed (unchanged with accumulate);
    dL/dv = dL/dout[basic][adv]. With ``inplace`` the output is ``a``'s own array (setitem).
    """

    def forward(self, a, v, basic, adv, accumulate, inplace):
        self.basic, self.adv, self.accumulate = basic, adv, accumulate
        out = a if inplace else a.copy()
        _write(out, basic, adv, v, accumulate)
        return out

    def backward(self, g):
        need_a, need_v = self.needs_input_grad[:2]
        ga = gv = None
        if need_a:
            ga = g if self.accumulate else IndexPut.apply(g, g._data.dtype.type(0), self.basic,
                                                          self.adv, False, False)
        if need_v:
            gv = _index(g, self.basic, self.adv)
        return ga, gv, None, None, None, None


def _write(out, basic, adv, v, accumulate=False):
    view = out[basic]
    try:
        if adv is None:
            if accumulate:
                view += v
            else:
                view[...] = v
        elif accumulate:
            _accumulate(view, adv, v)
        else:
            view[adv] = v
    except ValueError as e:
        shape = view.shape if adv is None else _adv_shape(view, adv)
        raise RuntimeError(f"shape mismatch: value tensor of shape {list(np.shape(v))} cannot be "
                           f"broadcast to indexing result of shape {list(shape)}") from e


def _value_for(t: Tensor, value, opname):
    """The value to write into ``t``: a Tensor of t's dtype and device, or a NumPy scalar."""
    if isinstance(value, Tensor):
        if value._data.dtype != t._data.dtype or value.device != t.device:
            value = value.to(t.device, t.dtype)
        return value
    if isinstance(value, (int, float, bool, np.number, np.bool_)):
        return t._data.dtype.type(value)
    from .creation import tensor
    return tensor(value, dtype=t.dtype, device=t.device)


def _strip_leading_ones(v, target_ndim):
    """``t[i] = v`` accepts extra leading size-1 dimensions in v (as NumPy and PyTorch do)."""
    if isinstance(v, Tensor) and v.ndim > target_ndim and all(s == 1 for s in v.shape[:v.ndim - target_ndim]):
        return v.reshape(v.shape[v.ndim - target_ndim:])
    return v


def _check_inplace(t: Tensor, name: str):
    if t._rg and t.grad_fn is None:
        raise RuntimeError(f"{name}: a leaf Variable that requires grad is being used in an "
                           "in-place operation. Wrap it in `with nablagrad.no_grad():` or clone "
                           "it first.")
    base = t._base
    if base is not None and base._rg and base.grad_fn is None:
        raise RuntimeError(f"{name}: a view of a leaf Variable that requires grad is being used "
                           "in an in-place operation.")


def put_inplace(t: Tensor, basic, adv, value, name="__setitem__", accumulate=False) -> Tensor:
    """``t[basic][adv] = value`` (or ``+=``) in t's own storage, recording autograd if needed."""
    v = _value_for(t, value, name)
    recording = grad_mode.state.enabled and (t._rg or isinstance(v, Tensor) and v._rg)
    if not recording:
        _write(t._data, basic, adv, v._data if isinstance(v, Tensor) else v, accumulate)
        t._vbox[0] += 1
        if t._base is not None:
            t._vver = t._vbox[0]  # this view's history is up to date
        return t
    _check_inplace(t, name)
    if isinstance(v, Tensor) and v.ndim:
        view = t._data[basic]
        v = _strip_leading_ones(v, view.ndim if adv is None else len(_adv_shape(view, adv)))
    new = IndexPut.apply(t, v, basic, adv, accumulate, True)
    t._vbox[0] += 1
    if t._base is not None:
        t._vver = t._vbox[0]
        from ._api import _rebase_view
        _rebase_view(t, t._base, new)
    else:
        t.grad_fn, t._oi, t._rg = new.grad_fn, new._oi, True
    return t


def setitem(t: Tensor, idx, value) -> None:
    """``t[idx] = value``: value (a Tensor or a number) broadcasts to the indexed shape and is
    cast to t's dtype; a view writes through to its base."""
    parsed = _basic_only(idx)
    try:
        basic, adv = parsed if parsed is not None else parse_index(t._data.shape, idx)
        put_inplace(t, basic, adv, value)
    except IndexError as e:
        raise _index_error(e, t._data.shape, idx) from None


Tensor.__getitem__ = getitem
Tensor.__setitem__ = setitem


@public
def index_put(input, indices, values, accumulate=False):
    """A copy of input with ``out[indices] = values`` (``+=`` with accumulate); ``indices`` is a
    tuple of index tensors (None for a whole dimension)."""
    basic, adv = parse_index(input.shape, tuple(slice(None) if i is None else i for i in indices))
    v = _value_for(input, values, "index_put")
    if isinstance(v, Tensor) and v.ndim:
        view = input._data[basic]
        v = _strip_leading_ones(v, view.ndim if adv is None else len(_adv_shape(view, adv)))
    return IndexPut.apply(input, v, basic, adv, accumulate, False)


def _index_put_(self, indices, values, accumulate=False):
    basic, adv = parse_index(self.shape, tuple(slice(None) if i is None else i for i in indices))
    return put_inplace(self, basic, adv, values, "index_put_", accumulate)


Tensor.index_put_ = _index_put_


def _copy_(self, src, non_blocking=False):
    """Copy ``src`` into self (broadcast, cast to self's dtype and device); dL/dsrc = dL/dself."""
    return put_inplace(self, (Ellipsis,), None, src, "copy_")


def _fill_(self, value):
    """Set every element to ``value`` (a number or a 0-dim tensor)."""
    if isinstance(value, Tensor) and value.ndim:
        raise RuntimeError(f"fill_ only supports 0-dimension value tensor but got tensor with "
                           f"{value.ndim} dimensions.")
    return put_inplace(self, (Ellipsis,), None, value, "fill_")


def _zero_(self):
    """Set every element to 0."""
    return put_inplace(self, (Ellipsis,), None, 0, "zero_")


Tensor.copy_ = _copy_
Tensor.fill_ = _fill_
Tensor.zero_ = _zero_


# ============================================================================ helpers
def _dim(dim, ndim, opname):
    n = max(ndim, 1)
    if not -n <= dim < n:
        raise IndexError(f"{opname}: dimension {dim} out of range (expected to be in range of "
                         f"[{-n}, {n - 1}], but got {dim})")
    return dim % n


def _long_index(index, opname, what="index"):
    if not isinstance(index, Tensor):
        raise TypeError(f"{opname}: {what} must be a Tensor, got {type(index).__name__}")
    if index._data.dtype.kind not in "iu":
        raise RuntimeError(f"{opname}(): Expected dtype int64 for {what}, got {index.dtype}")
    return index._data


def _same_dtype(a, b, opname, names=("self", "src")):
    if a._data.dtype != b._data.dtype:
        raise RuntimeError(f"{opname}(): Expected {names[0]}.dtype to be equal to {names[1]}.dtype "
                           f"({a.dtype} vs {b.dtype})")


def _mask_array(mask, opname):
    arr = mask._data if isinstance(mask, Tensor) else np.asarray(mask)
    if arr.dtype.kind != "b":
        raise RuntimeError(f"{opname} only supports boolean masks, but got mask with dtype "
                           f"{backend.from_np(arr.dtype).name}")
    return arr


# ============================================================================ gather / scatter
def _scatter_view(out, index, dim):
    """``out`` cut down to ``index``'s shape in every dimension but ``dim`` (a view)."""
    if out.shape == index.shape:
        return out
    return out[tuple(slice(None) if d == dim else slice(0, n) for d, n in enumerate(index.shape))]


def _src_view(src, index):
    """The part of ``src`` that a scatter reads: index's shape in every dimension (a view)."""
    if src.shape == index.shape:
        return src
    return src[tuple(slice(0, n) for n in index.shape)]


def _scatter_positions(shape, index, dim):
    """Flat position in a C-contiguous array of ``shape`` of every scatter target."""
    xp = backend.xp_of(index)
    strides = [1] * len(shape)
    for d in range(len(shape) - 2, -1, -1):
        strides[d] = strides[d + 1] * shape[d + 1]
    pos = index * strides[dim] if strides[dim] != 1 else index.copy()
    for d, n in enumerate(index.shape):
        if d != dim and n > 1:
            r = [1] * index.ndim
            r[d] = n
            pos += (xp.arange(n, dtype=np.int64) * strides[d]).reshape(r)
    return pos


def _check_scatter(opname, a, dim, index, src=None):
    if index.ndim != a.ndim and not (index.ndim <= 1 and a.ndim <= 1):
        raise RuntimeError(f"{opname}(): Index tensor must have the same number of dimensions as "
                           f"input tensor ({index.ndim} vs {a.ndim})")
    for d in range(index.ndim):
        if d != dim and index.shape[d] > a.shape[d]:
            raise RuntimeError(f"{opname}(): Size does not match at dimension {d} expected index "
                               f"{list(index.shape)} to be no larger than self {list(a.shape)} "
                               f"apart from dimension {dim}")
        if src is not None and index.shape[d] > src.shape[d]:
            raise RuntimeError(f"{opname}(): Size does not match at dimension {d} expected index "
                               f"{list(index.shape)} to be no larger than src {list(src.shape)}")
    if index.size:
        n = a.shape[dim] if a.ndim else 1
        lo, hi = int(index.min()), int(index.max())
        if lo < 0 or hi >= n:
            raise RuntimeError(f"{opname}(): index {lo if lo < 0 else hi} is out of bounds for "
                               f"dimension {dim} with size {n}")


class Gather(Op):
    """out[i][j][k] = a[index[i][j][k]][j][k] (dim=0); dL/da = scatter_add(0, dim, index, dL/dout)."""

    def forward(self, a, dim, index):
        self.in_shape, self.dim, self.index = a.shape, dim, index
        xp = backend.xp_of(a)
        if a.flags.c_contiguous:  # one flat take: faster than take_along_axis
            return xp.take(a.reshape(-1), _scatter_positions(a.shape, index, dim))
        return xp.take_along_axis(_scatter_view(a, index, dim), index, axis=dim)

    def backward(self, g):
        return ScatterAdd.apply(None, g, self.dim, self.index, self.in_shape), None, None


@public
def gather(input, dim, index, *, sparse_grad=False):
    """Values along ``dim`` at ``index`` (same number of dims as input; no larger elsewhere)."""
    idx = _long_index(index, "gather")
    dim = _dim(dim, input.ndim, "gather")
    if input.ndim == 0 or idx.ndim == 0:  # 0-dim operands act as 1-element vectors
        out = gather(input.reshape(-1), 0, Tensor._make(idx.reshape(-1)))
        return out.reshape(idx.shape)
    _check_scatter("gather", input, dim, idx)
    return Gather.apply(input, dim, idx)


class ScatterAdd(Op):
    """out = a; out[index[i][j]][j] += src[i][j] (dim=0). dL/da = dL/dout,
    dL/dsrc = gather(dL/dout, dim, index). ``a=None`` means zeros of ``shape``."""

    def forward(self, a, src, dim, index, shape):
        self.dim, self.index, self.src_shape = dim, index, src.shape
        xp = backend.xp_of(src)
        out = xp.zeros(shape, src.dtype) if a is None else a.copy()
        if index.size:
            pos = _scatter_positions(out.shape, index, dim)
            xp.add.at(out.reshape(-1), pos.reshape(-1), _src_view(src, index).reshape(-1))
        return out

    def backward(self, g):
        gs = None
        if self.needs_input_grad[1]:
            gs = _fit(Gather.apply(g, self.dim, self.index), self.src_shape)
        return g, gs, None, None, None


class Scatter(Op):
    """out = a; out[index[i][j]][j] = src[i][j] (or a value). dL/da = dL/dout with the written
    positions zeroed; dL/dsrc = gather(dL/dout, dim, index)."""

    def forward(self, a, src, dim, index, value):
        self.dim, self.index = dim, index
        self.src_shape = None if src is None else src.shape
        out = a.copy()
        if index.size:
            pos = _scatter_positions(out.shape, index, dim).reshape(-1)
            out.reshape(-1)[pos] = value if src is None else \
                _src_view(src, index).reshape(-1)
        return out

    def backward(self, g):
        need_a, need_src = self.needs_input_grad[:2]
        ga = Scatter.apply(g, None, self.dim, self.index, 0) if need_a else None
        gs = _fit(Gather.apply(g, self.dim, self.index), self.src_shape) if need_src else None
        return ga, gs, None, None, None


def _scatter_args(opname, input, dim, index, src):
    idx = _long_index(index, opname)
    dim = _dim(dim, input.ndim, opname)
    if isinstance(src, Tensor):
        _same_dtype(input, src, opname)
        _check_scatter(opname, input, dim, idx, src._data)
    else:
        _check_scatter(opname, input, dim, idx)
    return dim, idx


_REDUCE_UFUNCS = {"sum": "add", "mean": "add", "prod": "multiply", "amax": "maximum",
                  "amin": "minimum"}


class ScatterReduce(Op):
    """out[p] = reduce(a[p] (if include_self), src[j] for every j scattered to p).

    Gradients: sum: 1 for each contribution; mean: 1/count; prod: the product of the other
    contributions; amax/amin: shared equally among the contributions equal to the result.
    """

    def forward(self, a, src, dim, index, reduce, include_self):
        xp = backend.xp_of(a)
        self.dim, self.index, self.reduce, self.include_self = dim, index, reduce, include_self
        self.src_shape = src.shape
        out = a.copy()
        pos = _scatter_positions(a.shape, index, dim).reshape(-1)
        vals = _src_view(src, index).reshape(-1)
        flat = out.reshape(-1)
        count = xp.zeros(a.size, np.int64)
        xp.add.at(count, pos, 1)
        touched = count > 0
        if not include_self:
            init = {"sum": 0, "mean": 0, "prod": 1}.get(reduce)
            if init is None:
                info = np.finfo(a.dtype) if a.dtype.kind == "f" else np.iinfo(a.dtype)
                init = -np.inf if reduce == "amax" else np.inf
                init = init if a.dtype.kind == "f" else (info.min if reduce == "amax" else info.max)
            flat[touched] = init
        getattr(xp, _REDUCE_UFUNCS[reduce]).at(flat, pos, vals)
        if reduce == "mean":
            count = count + (1 if include_self else 0)
            n = xp.maximum(count, 1).reshape(a.shape).astype(a.dtype)
            out = out / n if a.dtype.kind == "f" else out // n
            self.count = n
        self.touched = touched.reshape(a.shape)
        self.pos = pos
        if reduce in ("prod", "amax", "amin"):
            self.retain_inputs(0, 1)
            self.retain_outputs(0)
        return out

    def backward(self, g):
        dim, index, reduce = self.dim, self.index, self.reduce
        need_a, need_src = self.needs_input_grad[:2]
        keep_self = Tensor._make(~self.touched | self.include_self)  # does a[p] count in out[p]
        if reduce == "sum":
            ga, gs = g * keep_self, Gather.apply(g, dim, index)
        elif reduce == "mean":
            g = g / Tensor._make(self.count)
            ga, gs = g * keep_self, Gather.apply(g, dim, index)
        elif reduce == "prod":
            a, src, out = self.saved_tensors
            ga, gs = self._prod_grads(g, a, src, out, keep_self)
        else:
            a, src, out = self.saved_tensors
            ga, gs = self._extreme_grads(g, a, src, out, keep_self)
        return (ga if need_a else None), (_fit(gs, self.src_shape) if need_src else None), \
            None, None, None, None

    def _extreme_grads(self, g, a, src, out, keep_self):
        """Ties share the gradient equally (as PyTorch does)."""
        xp = backend.xp_of(g._data)
        dim, index = self.dim, self.index
        out_at_src = xp.take_along_axis(_scatter_view(out._data, index, dim), index, axis=dim)
        hit_src = _src_view(src._data, index) == out_at_src
        hit_self = (a._data == out._data) & keep_self._data
        ties = hit_self.astype(np.int64).reshape(-1)
        xp.add.at(ties, self.pos, hit_src.reshape(-1))
        share = g / Tensor._make(xp.maximum(ties, 1).reshape(out.shape).astype(g._data.dtype))
        ga = share * Tensor._make(hit_self)
        gs = Gather.apply(share, dim, index) * Tensor._make(hit_src)
        return ga, gs

    def _prod_grads(self, g, a, src, out, keep_self):
        """d out[p] / d x = product of the other contributions to p: out / x when x != 0; for
        the only zero of a group, the product of its non-zero factors; else 0."""
        xp = backend.xp_of(g._data)
        dim, index, pos = self.dim, self.index, self.pos
        sv = _src_view(src._data, index)
        a_zero = (a._data == 0) & keep_self._data
        n_zero = a_zero.astype(np.int64).reshape(-1)
        xp.add.at(n_zero, pos, (sv == 0).reshape(-1))
        prod_nz = xp.where(keep_self._data & ~a_zero, a._data, 1).astype(a._data.dtype).reshape(-1)
        xp.multiply.at(prod_nz, pos, xp.where(sv == 0, 1, sv).reshape(-1))
        only = xp.where(n_zero == 1, prod_nz, 0).reshape(out.shape)  # the lone zero's gradient
        at_src = lambda arr: xp.take_along_axis(_scatter_view(arr, index, dim), index, axis=dim)
        safe_a = a + Tensor._make(a_zero.astype(a._data.dtype))
        ga = g * keep_self * (out / safe_a + Tensor._make(xp.where(a_zero, only, 0)))
        src_v = src[tuple(slice(0, n) for n in index.shape)]
        safe_s = src_v + Tensor._make((sv == 0).astype(sv.dtype))
        gs = Gather.apply(g, dim, index) * (Gather.apply(out, dim, index) / safe_s
                                           + Tensor._make(xp.where(sv == 0, at_src(only), 0)))
        return ga, gs


def _fit(gs, shape):
    """A gradient for ``src`` computed on index's (smaller) shape, padded with zeros to src's."""
    if shape is None or tuple(gs.shape) == tuple(shape):
        return gs
    return IndexBackward.apply(gs, shape, tuple(slice(0, n) for n in gs.shape) + (Ellipsis,), None)


def _as_1d(input, index, src):
    """0-dim operands of the scatter family are handled as 1-element vectors."""
    r = lambda x: x.reshape(1) if isinstance(x, Tensor) and x.ndim == 0 else x
    return r(input), r(index), r(src)


@public(inplace=True)
def scatter(input, dim, index, src=None, *, value=None, reduce=None):
    """A copy of input with ``out[index[i][j]][j] = src[i][j]`` (dim=0); src may be a number.
    Where an index repeats, one of its values is kept."""
    if reduce is not None:
        raise NotImplementedError("scatter(reduce=...) is deprecated in PyTorch; use "
                                  "scatter_reduce instead")
    src = value if src is None else src
    if input.ndim == 0:
        i, x, s = _as_1d(input, index, src)
        return scatter(i, 0, x, s).reshape(())
    dim, idx = _scatter_args("scatter", input, dim, index, src)
    if isinstance(src, Tensor):
        return Scatter.apply(input, src, dim, idx, None)
    return Scatter.apply(input, None, dim, idx, input._data.dtype.type(src))


@public(inplace=True)
def scatter_add(input, dim, index, src):
    """A copy of input with ``out[index[i][j]][j] += src[i][j]`` (dim=0), repeats adding up."""
    if input.ndim == 0:
        i, x, s = _as_1d(input, index, src)
        return scatter_add(i, 0, x, s).reshape(())
    dim, idx = _scatter_args("scatter_add", input, dim, index, src)
    return ScatterAdd.apply(input, src, dim, idx, None)


@public(inplace=True)
def scatter_reduce(input, dim, index, src, reduce, *, include_self=True):
    """Reduce (``"sum"``, ``"prod"``, ``"mean"``, ``"amax"``, ``"amin"``) every value of src
    scattered to a position of input, with input's own value if ``include_self``."""
    if reduce not in _REDUCE_UFUNCS:
        raise RuntimeError(f"scatter_reduce(): reduce argument must be one of "
                           f"{', '.join(_REDUCE_UFUNCS)}, got {reduce!r}")
    if input.ndim == 0:
        i, x, s = _as_1d(input, index, src)
        return scatter_reduce(i, 0, x, s, reduce, include_self=include_self).reshape(())
    dim, idx = _scatter_args("scatter_reduce", input, dim, index, src)
    return ScatterReduce.apply(input, src, dim, idx, reduce, include_self)


# ============================================================================ index_* along a dim
class IndexSelect(Op):
    """out = a[..., index, ...] along dim; dL/da = index_add(0, dim, index, dL/dout)."""

    def forward(self, a, dim, index):
        self.in_shape, self.dim, self.index = a.shape, dim, index
        return backend.xp_of(a).take(a, index, axis=dim)

    def backward(self, g):
        return IndexAdd.apply(None, g, self.dim, self.index, 1, self.in_shape), None, None


class IndexAdd(Op):
    """out = a; out[..., index[j], ...] += alpha · src[..., j, ...]. dL/da = dL/dout,
    dL/dsrc = alpha · index_select(dL/dout, dim, index). ``a=None`` means zeros of ``shape``."""

    def forward(self, a, src, dim, index, alpha, shape):
        self.dim, self.index, self.alpha = dim, index, alpha
        src = src if alpha == 1 else src * alpha
        if a is None:
            return rows_added(shape, dim, index, src)
        out = a.copy()
        if index.size:
            index_add_arrays(out, dim, index, src)
        return out

    def backward(self, g):
        gs = None
        if self.needs_input_grad[1]:
            gs = IndexSelect.apply(g, self.dim, self.index)
            gs = gs if self.alpha == 1 else gs * self.alpha
        return g, gs, None, None, None, None


class IndexCopy(Op):
    """out = a with out[..., index[j], ...] = src[..., j, ...] (or a value if src is None).
    dL/da = dL/dout zeroed at index; dL/dsrc = index_select(dL/dout, dim, index)."""

    def forward(self, a, src, dim, index, value):
        self.dim, self.index = dim, index
        out = a.copy()
        where = (slice(None),) * dim + (index,)
        out[where] = value if src is None else src
        return out

    def backward(self, g):
        need_a, need_src = self.needs_input_grad[:2]
        ga = IndexCopy.apply(g, None, self.dim, self.index, 0) if need_a else None
        gs = IndexSelect.apply(g, self.dim, self.index) if need_src else None
        return ga, gs, None, None, None


def _index_args(opname, input, dim, index, source=None):
    idx = _long_index(index, opname)
    if idx.ndim > 1:
        raise IndexError(f"{opname}(): Index is supposed to be a vector, got {idx.ndim} dims")
    idx = idx.reshape(-1)
    dim = _dim(dim, input.ndim, opname)
    n = input.shape[dim] if input.ndim else 1
    if idx.size and (int(idx.min()) < 0 or int(idx.max()) >= n):
        bad = int(idx.min()) if int(idx.min()) < 0 else int(idx.max())
        raise IndexError(f"{opname}(): index {bad} is out of range for dimension {dim} with "
                         f"size {n}")
    if source is not None:
        _same_dtype(input, source, opname, ("self", "source"))
        want = list(input.shape)
        if want:
            want[dim] = idx.size
        if source.ndim and list(source.shape) != want:
            raise RuntimeError(f"{opname}(): source of shape {list(source.shape)} does not match "
                               f"the expected shape {want} (self {list(input.shape)} with "
                               f"{idx.size} indices along dimension {dim})")
    return dim, idx


def _vector(t):
    return t.reshape(1) if isinstance(t, Tensor) and t.ndim == 0 else t


@public
def index_select(input, dim, index):
    """The entries of input at ``index`` (a vector) along ``dim``."""
    dim, idx = _index_args("index_select", input, dim, index)
    if input.ndim == 0:
        return IndexSelect.apply(input.reshape(1), 0, idx).reshape(idx.shape if index.ndim else ())
    return IndexSelect.apply(input, dim, idx)


@public(inplace=True)
def index_add(input, dim, index, source, *, alpha=1):
    """A copy of input with ``alpha · source[..., j, ...]`` added at ``index[j]`` along dim."""
    dim, idx = _index_args("index_add", input, dim, index, source)
    if input.ndim == 0:
        return IndexAdd.apply(input.reshape(1), _vector(source), 0, idx, alpha, None).reshape(())
    return IndexAdd.apply(input, source, dim, idx, alpha, None)


@public(inplace=True)
def index_copy(input, dim, index, source):
    """A copy of input with ``source[..., j, ...]`` written at ``index[j]`` along dim."""
    dim, idx = _index_args("index_copy", input, dim, index, source)
    if input.ndim == 0:
        return IndexCopy.apply(input.reshape(1), _vector(source), 0, idx, None).reshape(())
    return IndexCopy.apply(input, source, dim, idx, None)


@public(inplace=True)
def index_fill(input, dim, index, value):
    """A copy of input with the entries at ``index`` along dim set to ``value`` (a number or a
    0-dim tensor, which then receives the sum of their gradients)."""
    dim, idx = _index_args("index_fill", input, dim, index)
    flat = input.reshape(1) if input.ndim == 0 else input
    if isinstance(value, Tensor):
        idx = backend.xp_of(idx).unique(idx)  # each filled entry passes its gradient once
        if value.ndim:
            raise RuntimeError(f"index_fill_ only supports a 0-dimensional value tensor, but got "
                               f"tensor with {value.ndim} dimension(s).")
        out = IndexCopy.apply(flat, value.to(input.dtype).expand(*_filled_shape(flat, dim, idx)),
                              dim, idx, None)
    else:
        out = IndexCopy.apply(flat, None, dim, idx, input._data.dtype.type(value))
    return out.reshape(()) if input.ndim == 0 else out


def _filled_shape(t, dim, idx):
    shape = list(t.shape)
    shape[dim] = idx.size
    return shape


# ============================================================================ masks
class MaskedFill(Op):
    """out = value where mask else a (broadcast). dL/da = dL/dout where not mask;
    dL/dvalue = Σ dL/dout where mask."""

    def forward(self, a, mask, value):
        xp = backend.xp_of(a)
        self.mask = mask
        return xp.where(mask, xp.asarray(value, dtype=a.dtype), a)

    def backward(self, g):
        need_a, need_v = self.needs_input_grad[0], self.needs_input_grad[2]
        ga = MaskedFill.apply(g, self.mask, 0) if need_a else None
        gv = MaskedFill.apply(g, ~self.mask, 0).sum() if need_v else None
        return ga, None, gv


@public(inplace=True)
def masked_fill(input, mask, value):
    """``value`` where ``mask`` (bool, broadcast against input) is True, input elsewhere."""
    m = _mask_array(mask, "masked_fill_")
    if isinstance(value, Tensor):
        if value.ndim:
            raise RuntimeError(f"masked_fill_ only supports a 0-dimensional value tensor, but got "
                               f"tensor with {value.ndim} dimension(s).")
        if value._data.dtype != input._data.dtype:
            value = value.to(input.dtype)
    return MaskedFill.apply(input, m, value)


class MaskedSelect(Op):
    """out = a[mask] (1-D, both broadcast); dL/da = zeros with dL/dout placed at the mask."""

    def forward(self, a, mask):
        xp = backend.xp_of(a)
        self.shape = np.broadcast_shapes(a.shape, mask.shape)
        self.mask = xp.broadcast_to(mask, self.shape)
        return xp.broadcast_to(a, self.shape)[self.mask]

    def backward(self, g):
        return IndexBackward.apply(g, self.shape, (Ellipsis,), (self.mask,)), None


@public
def masked_select(input, mask):
    """The elements of input where ``mask`` is True, as a 1-D tensor (both broadcast)."""
    return MaskedSelect.apply(input, _mask_array(mask, "masked_select"))


class MaskedScatter(Op):
    """out = a with the True positions of mask filled, in order, by the first elements of src.
    dL/da = dL/dout zeroed at the mask; dL/dsrc = dL/dout[mask] followed by zeros."""

    def forward(self, a, mask, src):
        xp = backend.xp_of(a)
        shape = np.broadcast_shapes(a.shape, mask.shape)
        self.mask = xp.broadcast_to(mask, shape)
        out = xp.array(xp.broadcast_to(a, shape))
        k = int(self.mask.sum())
        if src.size < k:
            raise RuntimeError(f"masked_scatter: expected source to have at least as many "
                               f"elements as ones in mask ({src.size} < {k})")
        out[self.mask] = src.reshape(-1)[:k]
        self.k, self.src_shape = k, src.shape
        return out

    def backward(self, g):
        need_a, need_s = self.needs_input_grad[0], self.needs_input_grad[2]
        ga = MaskedFill.apply(g, self.mask, 0) if need_a else None
        gs = None
        if need_s:
            shape = self.src_shape
            flat = IndexBackward.apply(_index(g, (Ellipsis,), (self.mask,)), (int(np.prod(shape)),),
                                       (slice(0, self.k), Ellipsis), None)
            gs = flat.reshape(shape)
        return ga, None, gs


@public(inplace=True)
def masked_scatter(input, mask, source):
    """Copy the first elements of ``source`` into the True positions of ``mask``, in order."""
    _same_dtype(input, source, "masked_scatter", ("self", "source"))
    return MaskedScatter.apply(input, _mask_array(mask, "masked_scatter"), source)


# ============================================================================ flat indices
@public
def take(input, index):
    """``input.flatten()[index]``: the result has index's shape."""
    idx = _long_index(index, "take")
    _check_int_array(idx, 0, input.numel())
    return AdvancedIndex.apply(input.reshape(-1), (Ellipsis,), (idx,))


@public(inplace=True)
def put(input, index, source, accumulate=False):
    """A copy of input with ``out.flatten()[index] = source.flatten()`` (``+=`` with
    accumulate)."""
    idx = _long_index(index, "put")
    _check_int_array(idx, 0, input.numel())
    _same_dtype(input, source, "put", ("self", "source"))
    if idx.size != source.numel():
        raise RuntimeError(f"put(): Expected source and index to have the same number of "
                           f"elements, but got source.numel() = {source.numel()}, "
                           f"index.numel() = {idx.size}")
    flat = IndexPut.apply(input.reshape(-1), source.reshape(-1), (Ellipsis,), (idx.reshape(-1),),
                          accumulate, False)
    return flat.reshape(input.shape)


@public
def take_along_dim(input, indices, dim=None):
    """Values of input at ``indices`` along ``dim`` (both broadcast except along dim); with
    ``dim=None`` both are flattened first."""
    idx = _long_index(indices, "take_along_dim", "indices")
    if dim is None:
        return gather(input.reshape(-1), 0, indices.reshape(-1))
    dim = _dim(dim, input.ndim, "take_along_dim")
    if idx.ndim != input.ndim:
        raise RuntimeError(f"take_along_dim(): input and indices should have the same number of "
                           f"dimensions, but got {input.ndim} and {idx.ndim}")
    shape_a, shape_i = list(input.shape), list(idx.shape)
    shape_a[dim] = shape_i[dim] = 1
    b = list(np.broadcast_shapes(tuple(shape_a), tuple(shape_i)))
    ba, bi = list(b), list(b)
    ba[dim], bi[dim] = input.shape[dim], idx.shape[dim]
    a = input if list(input.shape) == ba else input.expand(*ba)
    i = indices if list(idx.shape) == bi else indices.expand(*bi)
    return gather(a, dim, i)


# ============================================================================ nonzero
@public
def nonzero(input, *, as_tuple=False):
    """Indices of the non-zero elements: an (n, ndim) int64 tensor, or one vector per dim."""
    xp = backend.xp_of(input._data)
    a = input._data
    if as_tuple:
        parts = xp.nonzero(a.reshape(1) if a.ndim == 0 else a)
        return tuple(Tensor._make(p.astype(np.int64, copy=False)) for p in parts)
    return Tensor._make(xp.argwhere(a).astype(np.int64, copy=False))


@public
def argwhere(input):
    """Indices of the non-zero elements, as an (n, ndim) int64 tensor."""
    return nonzero(input)
