"""Reductions over dimensions (``dim``, ``keepdim``), and cumulative, sorting and selection ops.

Backward of a reduction broadcasts dL/dy back over the reduced dimensions: for y = Σᵢ aᵢ,
∂y/∂aᵢ = 1, so dL/da = expand(dL/dy). Ops that *select* elements (max along a dim, sort, topk,
median, ...) compute their indices with NumPy and gather the values (``Gather`` from indexing),
whose backward adds dL/dvalues back at the chosen positions.
"""
from __future__ import annotations

import builtins
import collections
import math

import numpy as np

from .. import backend
from .._tensor import Tensor
from ..autograd import grad_mode
from ..autograd.graph import Op
from ._api import public
from .indexing import Gather

#: what max/min/sort/topk/kthvalue/median/mode/cummax return (like ``torch.return_types``)
ValuesIndices = collections.namedtuple("ValuesIndices", ["values", "indices"])
#: what ``aminmax`` returns
MinMax = collections.namedtuple("MinMax", ["min", "max"])


# ----------------------------------------------------------------------------- dim helpers
def normalize_dims(dim, ndim, opname="reduction"):
    """``dim`` (None, int or sequence) as a sorted tuple of non-negative axes.

    None and an empty sequence mean every dimension, as in PyTorch.
    """
    if isinstance(dim, (int, np.integer)):
        dim = (dim,)
    elif dim is None or len(dim) == 0:
        return tuple(range(ndim))
    n = ndim or 1
    out = []
    for d in dim:
        if not -n <= d < n:
            raise IndexError(f"{opname}: dimension {d} out of range for a tensor with {ndim} "
                             f"dimensions (expected in [{-n}, {n - 1}])")
        out.append(d % n)
    if len(set(out)) != len(out):
        raise RuntimeError(f"{opname}: dim {tuple(dim)} appears multiple times in the list of dims")
    return tuple(sorted(out)) if ndim else ()


def wrap_dim(dim, ndim, opname):
    """One dimension as a non-negative axis (a 0-d tensor accepts 0 and -1)."""
    n = ndim or 1
    if isinstance(dim, (tuple, list)) or not -n <= dim < n:
        raise IndexError(f"{opname}: dimension {dim} out of range for a tensor with {ndim} "
                         f"dimensions (expected an int in [{-n}, {n - 1}])")
    return int(dim) % n


def keep_reduced(g: Tensor, in_shape, dims, keepdim):
    """``g`` with the reduced dimensions put back as size 1 (it then broadcasts like the input)."""
    if keepdim or not dims:
        return g
    shape = list(in_shape)
    for d in dims:
        shape[d] = 1
    return g.reshape(tuple(shape))


def expand_reduced(g: Tensor, in_shape, dims, keepdim):
    """Broadcast a reduction's gradient back to the input shape (differentiable, a view)."""
    return keep_reduced(g, in_shape, dims, keepdim).expand(tuple(in_shape))


def _reduced_shape(shape, dims, keepdim):
    """The shape of a reduction's result."""
    if keepdim:
        return tuple(1 if i in dims else n for i, n in enumerate(shape))
    return tuple(n for i, n in enumerate(shape) if i not in dims)


def _count(shape, dims):
    n = 1
    for d in dims:
        n *= shape[d]
    return n


def _const(array) -> Tensor:
    """A constant (no grad) tensor: masks and counts used by backward formulas."""
    return Tensor._make(array)


def _require_float(input, opname):
    if input._data.dtype.kind != "f":
        raise RuntimeError(f"{opname}: expected a floating point input, got {input.dtype}")


def _nonempty(shape, dims, opname):
    for d in dims:
        if shape[d] == 0:
            raise IndexError(f"{opname}: Expected reduction dim {d} to have non-zero size "
                             f"(input shape {list(shape)}).")


def _accumulate_dtype(input, dtype):
    """Sums and products of bool and integer tensors give int64, as PyTorch (unless ``dtype``)."""
    if dtype is not None:
        return backend.to_dtype(dtype).np
    if input._data.dtype.kind in "biu":
        return backend.int64.np
    return None


def _as_1d(input):
    """Ops along one dim treat a 0-d tensor as a vector of one element."""
    return input.reshape(1) if input.ndim == 0 else input


# ----------------------------------------------------------------------------- selection
def _take(input, idx, axis, keepdim=True):
    """Values of ``input`` at ``idx`` along ``axis`` (a differentiable gather: the gradient goes
    back to the chosen positions), and the indices; without ``keepdim`` ``axis`` is dropped."""
    values = Gather.apply(input, axis, idx)
    indices = Tensor._make(idx)
    if not keepdim:
        shape = values.shape[:axis] + values.shape[axis + 1:]
        values, indices = values.reshape(shape), indices.reshape(shape)
    return ValuesIndices(values, indices)


def _select(input, dim, keepdim, opname, find_index):
    """A value-selecting reduction along ``dim``: ``find_index(array, axis)`` returns the chosen
    position of every slice (keepdims shape); the result is (values, indices)."""
    scalar = input.ndim == 0
    x = _as_1d(input)
    axis = wrap_dim(dim, input.ndim, opname)
    _nonempty(x.shape, (axis,), opname)
    idx = find_index(x._data, axis)
    return _take(x, idx, axis, keepdim and not scalar)


# ----------------------------------------------------------------------------- sum, mean
class Sum(Op):
    """y = Σ over dims of a; dL/da = dL/dy broadcast back."""

    def forward(self, a, dims, keepdim, np_dtype):
        self.in_shape, self.dims, self.keepdim = a.shape, dims, keepdim
        if (type(a) is np.ndarray and a.size >= backend.PARALLEL_MIN_SIZE
                and len(dims) == a.ndim and a.flags.c_contiguous):
            return _sum_all_threaded(a, keepdim, np_dtype)
        return a.sum(axis=dims, keepdims=keepdim, dtype=np_dtype)

    def backward(self, g):
        return expand_reduced(g, self.in_shape, self.dims, self.keepdim), None, None, None


def _sum_all_threaded(a, keepdim, np_dtype):
    """The sum of every element of a large C-contiguous NumPy array: one (pairwise) partial
    sum per thread over a flat chunk, then the partial sums added in order."""
    flat = a.reshape(-1)
    parts = backend.parallel_chunks(lambda i, j: flat[i:j].sum(dtype=np_dtype), flat.size)
    total = np.add.reduce(np.array(parts))
    return total.reshape((1,) * a.ndim) if keepdim else total


@public
def sum(input, dim=None, keepdim=False, *, dtype=None):
    """Sum over ``dim`` (all dims if None). Integer and bool inputs sum to int64, as PyTorch."""
    dims = normalize_dims(dim, input.ndim, "sum")
    return Sum.apply(input, dims, keepdim, _accumulate_dtype(input, dtype))


@public(function=False)
def sum_to_size(self, *size):
    """Sum ``self`` down to ``size``, a shape that broadcasts to ``self.shape``."""
    if len(size) == 1 and isinstance(size[0], (tuple, list)):
        size = size[0]
    size = tuple(int(s) for s in size)
    shape, lead = self.shape, self.ndim - len(size)
    if lead < 0 or builtins.any(s not in (1, n) for s, n in zip(size, shape[lead:])):
        raise RuntimeError(f"sum_to_size: size {list(size)} is not expandable to size "
                           f"{list(shape)}")
    dims = tuple(range(lead)) + tuple(lead + i for i, s in enumerate(size)
                                      if s == 1 and shape[lead + i] != 1)
    out = sum(self, dims, keepdim=True) if dims else self
    return out.reshape(size) if out.shape != size else out


class Mean(Op):
    """y = (1/n) Σ over dims of a; dL/da = dL/dy / n broadcast back."""

    def forward(self, a, dims, keepdim):
        self.in_shape, self.dims, self.keepdim = a.shape, dims, keepdim
        self.n = _count(a.shape, dims)
        if self.n == 0:  # the mean of nothing is NaN, as in PyTorch
            return backend.xp_of(a).full(_reduced_shape(a.shape, dims, keepdim), np.nan,
                                         dtype=a.dtype)
        return a.mean(axis=dims, keepdims=keepdim)

    def backward(self, g):
        return expand_reduced(g * (1.0 / (self.n or 1)), self.in_shape, self.dims,
                              self.keepdim), None, None


@public
def mean(input, dim=None, keepdim=False, *, dtype=None):
    """Mean over ``dim`` (all dims if None). Floating point only (or give a float ``dtype``)."""
    dt = backend.to_dtype(dtype) if dtype is not None else input.dtype
    if not dt.is_floating_point:
        raise RuntimeError(f"mean(): could not infer output dtype. Input dtype must be either a "
                           f"floating point or complex dtype. Got: {input.dtype} (pass a float "
                           f"dtype=, or convert with .float())")
    if input.dtype is not dt:
        input = input.to(dt)
    return Mean.apply(input, normalize_dims(dim, input.ndim, "mean"), keepdim)


class NanSum(Op):
    """y = Σ over dims of a, NaNs counted as 0; dL/da = dL/dy broadcast back, 0 at NaNs."""

    def forward(self, a, dims, keepdim, np_dtype):
        self.in_shape, self.dims, self.keepdim = a.shape, dims, keepdim
        if self.requires_grad:
            self.finite = ~backend.xp_of(a).isnan(a)
        return backend.xp_of(a).nansum(a, axis=dims, keepdims=keepdim, dtype=np_dtype)

    def backward(self, g):
        g = expand_reduced(g, self.in_shape, self.dims, self.keepdim)
        return g * _const(self.finite.astype(g._data.dtype)), None, None, None


@public
def nansum(input, dim=None, keepdim=False, *, dtype=None):
    """Sum over ``dim`` treating NaN as zero. Integer and bool inputs sum to int64."""
    dims = normalize_dims(dim, input.ndim, "nansum")
    return NanSum.apply(input, dims, keepdim, _accumulate_dtype(input, dtype))


@public
def nanmean(input, dim=None, keepdim=False, *, dtype=None):
    """Mean of the non-NaN elements over ``dim``: nansum / (number of non-NaN elements)."""
    dt = backend.to_dtype(dtype) if dtype is not None else input.dtype
    if not dt.is_floating_point:
        raise RuntimeError(f"nanmean(): expected input to have floating point or complex dtype "
                           f"but got {input.dtype}")
    if input.dtype is not dt:
        input = input.to(dt)
    dims = normalize_dims(dim, input.ndim, "nanmean")
    a = input._data
    count = (~backend.xp_of(a).isnan(a)).sum(axis=dims, keepdims=keepdim).astype(a.dtype)
    return NanSum.apply(input, dims, keepdim, None) / _const(count)


# ----------------------------------------------------------------------------- prod
class Prod(Op):
    """y = Π over dims of a.

    Without zeros, ∂y/∂aᵢ = y / aᵢ. With zeros, ∂y/∂aᵢ = Π_{j≠i} aⱼ is built from P, the product
    of the non-zero entries of the slice, and c, its number of zeros:
    c = 0: P/aᵢ;  c = 1: P at the zero, P·z/aᵢ elsewhere (z = the zero entry, value 0);
    c = 2: P·z' at each zero (z' = the other zero), 0 elsewhere;  c ≥ 3: 0.
    Written this way the gradient is exact to second order (double backward) as well.
    """

    def forward(self, a, dims, keepdim, np_dtype):
        self.in_shape, self.dims, self.keepdim = a.shape, dims, keepdim
        if self.requires_grad:
            self.retain_inputs(0)
            self.retain_outputs(0)
            self.has_zeros = bool((a == 0).any())
        return a.prod(axis=dims, keepdims=keepdim, dtype=np_dtype)

    def backward(self, g):
        x, y = self.saved_tensors
        shape, dims, keepdim = self.in_shape, self.dims, self.keepdim
        g = keep_reduced(g, shape, dims, keepdim)
        if not self.has_zeros:
            return keep_reduced(y, shape, dims, keepdim) * g / x, None, None, None
        xd = x._data
        zero = xd == 0
        zeros = zero.sum(axis=dims, keepdims=True)
        zf = _const(zero.astype(xd.dtype))
        safe = x * (1 - zf) + zf                   # the zeros replaced by a constant 1
        p = Prod.apply(safe, dims, True, None)       # P: product of the non-zero entries
        z = (x * zf).sum(dims, keepdim=True)         # the sum of the zero entries (value 0)
        c0, c1, c2 = (_const((zeros == k).astype(xd.dtype)) for k in (0, 1, 2))
        local = c0 / safe + c1 * (zf + (1 - zf) * z / safe) + c2 * zf * (z - x)
        return g * p * local, None, None, None


@public
def prod(input, dim=None, keepdim=False, *, dtype=None):
    """Product over one ``dim`` (all elements if None). Bool and integer inputs give int64."""
    if dim is not None and not isinstance(dim, (int, np.integer)):
        raise TypeError(f"prod: dim must be an int or None, got {dim!r} (PyTorch's prod reduces "
                        "one dimension)")
    dims = normalize_dims(dim, input.ndim, "prod")
    return Prod.apply(input, dims, keepdim, _accumulate_dtype(input, dtype))


# ----------------------------------------------------------------------------- var, std
def _correction(unbiased, correction, opname):
    if unbiased is not None and correction is not None:
        raise RuntimeError(f"{opname}: pass either unbiased or correction, not both")
    if correction is not None:
        return correction
    return 1 if unbiased is None else int(bool(unbiased))


def _var_backward(g, x, dims, keepdim, denom):
    """∂var/∂xᵢ = 2 (xᵢ - mean) / (n - correction)."""
    scale = 2.0 / denom if denom > 0 else math.inf
    g = keep_reduced(g, x.shape, dims, keepdim)
    return g * (x - x.mean(dims, keepdim=True)) * scale


class Var(Op):
    """var = Σ (aᵢ - mean)² / (n - correction) over dims;
    ∂var/∂aᵢ = 2 (aᵢ - mean) / (n - correction)."""

    def forward(self, a, dims, correction, keepdim):
        self.dims, self.keepdim = dims, keepdim
        self.denom = builtins.max(_count(a.shape, dims) - correction, 0)
        if self.requires_grad:
            self.retain_inputs(0)
        return _np_var(a, dims, correction, keepdim, self.denom)

    def backward(self, g):
        (x,) = self.saved_tensors
        return _var_backward(g, x, self.dims, self.keepdim, self.denom), None, None, None


class Std(Op):
    """std = √var; ∂std/∂aᵢ = ∂var/∂aᵢ / (2 std), taken as 0 where std = 0 (as PyTorch)."""

    def forward(self, a, dims, correction, keepdim):
        self.dims, self.keepdim = dims, keepdim
        self.denom = builtins.max(_count(a.shape, dims) - correction, 0)
        if self.requires_grad:
            self.retain_inputs(0)
            self.retain_outputs(0)
        return backend.xp_of(a).sqrt(_np_var(a, dims, correction, keepdim, self.denom))

    def backward(self, g):
        x, std = self.saved_tensors
        zero = std._data == 0
        g = g / (2 * (std + _const(zero.astype(std._data.dtype)))) \
            * _const((~zero).astype(std._data.dtype))
        return _var_backward(g, x, self.dims, self.keepdim, self.denom), None, None, None


def _np_var(a, dims, correction, keepdim, denom):
    xp = backend.xp_of(a)
    if denom > 0:
        return a.var(axis=dims, ddof=correction, keepdims=keepdim)
    d = a - a.mean(axis=dims, keepdims=True) if a.size else a  # no degrees of freedom left:
    with np.errstate(divide="ignore", invalid="ignore"):       # 0/0 = NaN, x/0 = inf
        return xp.true_divide((d * d).sum(axis=dims, keepdims=keepdim), 0)


def _var_args(input, dim, unbiased, correction, opname):
    if isinstance(dim, bool):  # var(x, True): the legacy positional `unbiased`
        dim, unbiased = None, dim
    if input._data.dtype.kind != "f":
        raise RuntimeError(f"{opname}: std and var only support floating point and complex "
                           f"dtypes, got {input.dtype}")
    return normalize_dims(dim, input.ndim, opname), _correction(unbiased, correction, opname)


@public
def var(input, dim=None, unbiased=None, keepdim=False, *, correction=None):
    """Variance over ``dim`` with Bessel's ``correction`` (default 1; ``unbiased=False`` is 0)."""
    dims, c = _var_args(input, dim, unbiased, correction, "var")
    return Var.apply(input, dims, c, keepdim)


@public
def std(input, dim=None, unbiased=None, keepdim=False, *, correction=None):
    """Standard deviation over ``dim``: √var (same arguments as :func:`var`)."""
    dims, c = _var_args(input, dim, unbiased, correction, "std")
    return Std.apply(input, dims, c, keepdim)


@public
def var_mean(input, dim=None, unbiased=None, keepdim=False, *, correction=None):
    """(var, mean) over ``dim``."""
    dims, c = _var_args(input, dim, unbiased, correction, "var_mean")
    return Var.apply(input, dims, c, keepdim), Mean.apply(input, dims, keepdim)


@public
def std_mean(input, dim=None, unbiased=None, keepdim=False, *, correction=None):
    """(std, mean) over ``dim``."""
    dims, c = _var_args(input, dim, unbiased, correction, "std_mean")
    return Std.apply(input, dims, c, keepdim), Mean.apply(input, dims, keepdim)


# ----------------------------------------------------------------------------- logsumexp
class LogSumExp(Op):
    """y = log Σ exp(aᵢ), computed as m + log Σ exp(aᵢ - m) with m = max aᵢ (no overflow);
    ∂y/∂aᵢ = exp(aᵢ - y) (the softmax)."""

    def forward(self, a, dims, keepdim):
        self.dims, self.keepdim = dims, keepdim
        xp = backend.xp_of(a)
        if self.requires_grad:
            self.retain_inputs(0)
            self.retain_outputs(0)
        if a.size == 0:  # log of an empty sum
            return xp.full(_reduced_shape(a.shape, dims, keepdim), -np.inf, dtype=a.dtype)
        m = a.max(axis=dims, keepdims=True)
        m = xp.where(xp.isfinite(m), m, 0)
        e = a - m
        e = xp.exp(e, out=e) if e.ndim else xp.exp(e)
        out = xp.log(e.sum(axis=dims, keepdims=True))
        out += m
        return out if keepdim else out.reshape(_reduced_shape(a.shape, dims, False))

    def backward(self, g):
        x, y = self.saved_tensors
        g = keep_reduced(g, x.shape, self.dims, self.keepdim)
        y = keep_reduced(y, x.shape, self.dims, self.keepdim)
        return g * (x - y).exp(), None, None


@public
def logsumexp(input, dim, keepdim=False):
    """log Σ exp(input) over ``dim``, stable for large values. Integer input gives a float."""
    if input._data.dtype.kind != "f":
        input = input.to(backend.get_default_dtype())
    return LogSumExp.apply(input, normalize_dims(dim, input.ndim, "logsumexp"), keepdim)


# ----------------------------------------------------------------------------- max, min
class EvenSplit(Op):
    """y = one value of ``a`` per slice picked by ``pick`` (amax, amin, median over all);
    dL/da = dL/dy split evenly among the elements equal to y (PyTorch's rule for ties)."""

    def forward(self, a, dims, keepdim, pick):
        self.dims, self.keepdim = dims, keepdim
        if self.requires_grad:
            self.retain_inputs(0)
            self.retain_outputs(0)
        return pick(a, dims, keepdim)

    def backward(self, g):
        x, y = self.saved_tensors
        xd, yd = x._data, keep_reduced(y, x.shape, self.dims, self.keepdim)._data
        xp = backend.xp_of(xd)
        mask = xd == yd
        if xp.isnan(yd).any():
            mask |= xp.isnan(xd) & xp.isnan(yd)
        share = mask.astype(xd.dtype)
        xp.divide(share, mask.sum(axis=self.dims, keepdims=True), out=share)
        g = keep_reduced(g, x.shape, self.dims, self.keepdim)
        return g * _const(share), None, None, None


def _np_amax(a, dims, keepdim):
    return a.max(axis=dims, keepdims=keepdim)


def _np_amin(a, dims, keepdim):
    return a.min(axis=dims, keepdims=keepdim)


@public
def amax(input, dim=(), keepdim=False):
    """Largest value over ``dim`` (all dims by default); ties share the gradient equally."""
    dims = normalize_dims(dim, input.ndim, "amax")
    _nonempty(input.shape, dims, "amax()")
    return EvenSplit.apply(input, dims, keepdim, _np_amax)


@public
def amin(input, dim=(), keepdim=False):
    """Smallest value over ``dim`` (all dims by default); ties share the gradient equally."""
    dims = normalize_dims(dim, input.ndim, "amin")
    _nonempty(input.shape, dims, "amin()")
    return EvenSplit.apply(input, dims, keepdim, _np_amin)


def _argmax_along(a, axis):
    return a.argmax(axis=axis, keepdims=True)


def _argmin_along(a, axis):
    return a.argmin(axis=axis, keepdims=True)


def _extreme(input, dim, keepdim, name):
    """max/min: of everything (a value), along ``dim`` ((values, indices)), or elementwise with
    another tensor (maximum/minimum)."""
    if isinstance(dim, Tensor):
        from . import elementwise
        return getattr(elementwise, "maximum" if name == "max" else "minimum")(input, dim)
    if dim is None:
        if input.numel() == 0:
            raise RuntimeError(f"{name}(): Expected reduction dim to be specified for "
                               "input.numel() == 0. Specify the reduction dim with the 'dim' "
                               "argument.")
        return EvenSplit.apply(input, tuple(range(input.ndim)), False,
                               _np_amax if name == "max" else _np_amin)
    return _select(input, dim, keepdim, f"{name}()",
                   _argmax_along if name == "max" else _argmin_along)


@public
def max(input, dim=None, keepdim=False):
    """``max(x)``: the largest value; ``max(x, dim)``: (values, indices) along ``dim``, the
    gradient going to the selected index; ``max(x, other)``: elementwise ``maximum``."""
    return _extreme(input, dim, keepdim, "max")


@public
def min(input, dim=None, keepdim=False):
    """``min(x)``, ``min(x, dim)`` → (values, indices), ``min(x, other)`` = ``minimum``."""
    return _extreme(input, dim, keepdim, "min")


def _arg_extreme(input, dim, keepdim, name):
    a = input._data
    if dim is None:
        if a.size == 0:
            raise RuntimeError(f"{name}(): Expected reduction dim to be specified for "
                               "input.numel() == 0.")
        flat = backend.xp_of(a).asarray(getattr(a.reshape(-1), name)(), dtype=np.int64)
        return Tensor._make(flat.reshape((1,) * a.ndim if keepdim else ()))
    axis = wrap_dim(dim, a.ndim, f"{name}()")
    a = a.reshape(1) if a.ndim == 0 else a
    _nonempty(a.shape, (axis,), f"{name}()")
    idx = getattr(a, name)(axis=axis, keepdims=keepdim and input.ndim > 0)
    return Tensor._make(idx.astype(np.int64, copy=False))


@public
def argmax(input, dim=None, keepdim=False):
    """Index of the largest value along ``dim`` (of the flattened tensor if None); int64."""
    return _arg_extreme(input, dim, keepdim, "argmax")


@public
def argmin(input, dim=None, keepdim=False):
    """Index of the smallest value along ``dim`` (of the flattened tensor if None); int64."""
    return _arg_extreme(input, dim, keepdim, "argmin")


@public
def aminmax(input, *, dim=None, keepdim=False):
    """(min, max) over ``dim`` (all dims if None), as ``amin`` and ``amax``."""
    dims = normalize_dims(dim, input.ndim, "aminmax")
    _nonempty(input.shape, dims, "aminmax()")
    return MinMax(EvenSplit.apply(input, dims, keepdim, _np_amin),
                  EvenSplit.apply(input, dims, keepdim, _np_amax))


# ----------------------------------------------------------------------------- all, any, count
def _logical(input, dim, keepdim, name):
    a = input._data
    out = getattr(backend.xp_of(a), name)(a, axis=normalize_dims(dim, a.ndim, name),
                                          keepdims=keepdim)
    return Tensor._make(out.astype(np.uint8) if a.dtype == np.uint8 else out)


@public
def all(input, dim=None, keepdim=False):
    """True where every element over ``dim`` is non-zero (uint8 input gives uint8, as PyTorch)."""
    return _logical(input, dim, keepdim, "all")


@public
def any(input, dim=None, keepdim=False):
    """True where some element over ``dim`` is non-zero (uint8 input gives uint8, as PyTorch)."""
    return _logical(input, dim, keepdim, "any")


@public
def count_nonzero(input, dim=None):
    """Number of non-zero elements over ``dim`` (all dims if None), int64."""
    a = input._data
    dims = normalize_dims(dim, a.ndim, "count_nonzero")
    return Tensor._make(backend.xp_of(a).asarray((a != 0).sum(axis=dims), dtype=np.int64))


# ----------------------------------------------------------------------------- cumulative
def accumulate(ufunc, a, axis, dtype=None):
    """``ufunc.accumulate`` along ``axis`` (cumsum: np.add, cumprod: np.multiply, ...).

    NumPy accumulates each line separately; along a leading axis that is a strided walk per
    column and slow. When the lines are wide (≥ 256 elements after ``axis``) whole slices are
    combined one after another instead: a loop over the axis, vectorised over each slice.
    """
    xp = backend.xp_of(a)
    if a.ndim == 0 or axis == a.ndim - 1 or a.size == 0 or a.size < 256 * a.shape[axis]:
        return ufunc.accumulate(a, axis=axis, dtype=dtype)
    out = xp.empty(a.shape, dtype=dtype or a.dtype)
    src, dst = xp.moveaxis(a, axis, 0), xp.moveaxis(out, axis, 0)
    dst[0] = src[0]
    for i in range(1, src.shape[0]):
        ufunc(dst[i - 1], src[i], out=dst[i])
    return out


class Cumsum(Op):
    """yᵢ = Σ_{j≤i} aⱼ along ``axis``; dL/daⱼ = Σ_{i≥j} dL/dyᵢ (a reversed cumulative sum)."""

    def forward(self, a, axis, np_dtype):
        self.axis = axis
        if a.ndim == 0:
            return a.astype(np_dtype or a.dtype, copy=True)
        return accumulate(backend.xp_of(a).add, a, axis, np_dtype)

    def backward(self, g):
        return _reverse_cumsum(g, self.axis), None, None


class ReverseCumsum(Op):
    """yᵢ = Σ_{j≥i} aⱼ along ``axis`` (the backward of cumsum); dL/da = cumsum(dL/dy)."""

    def forward(self, a, axis):
        self.axis = axis
        rev = (slice(None),) * axis + (slice(None, None, -1),)
        return accumulate(backend.xp_of(a).add, a[rev], axis)[rev]

    def backward(self, g):
        return g.cumsum(self.axis), None


def _reverse_cumsum(t: Tensor, axis) -> Tensor:
    return t if t.ndim == 0 else ReverseCumsum.apply(t, axis)


@public(inplace=True)
def cumsum(input, dim, *, dtype=None):
    """Cumulative sum along ``dim``. Bool and integer inputs give int64, as PyTorch."""
    axis = wrap_dim(dim, input.ndim, "cumsum")
    return Cumsum.apply(input, axis, _accumulate_dtype(input, dtype))


class Cumprod(Op):
    """yᵢ = Π_{j≤i} aⱼ; ∂L/∂aₖ = Σ_{i≥k} gᵢ Π_{j≤i, j≠k} aⱼ.

    Without zeros that is revcumsum(g·y)/a. With zeros it is computed slice by slice around the
    first zero (O(n)); when a graph is being built (double backward) with zeros, the exact
    O(n²) formula is used instead, so that second derivatives are right too.
    """

    def forward(self, a, axis, np_dtype):
        self.axis = axis
        if self.requires_grad:
            self.retain_inputs(0)
            self.retain_outputs(0)
            self.has_zeros = bool((a == 0).any())
        if a.ndim == 0:
            return a.astype(np_dtype or a.dtype, copy=True)
        return accumulate(backend.xp_of(a).multiply, a, axis, np_dtype)

    def backward(self, g):
        x, y = self.saved_tensors
        if x.ndim == 0:
            return g, None, None
        if not self.has_zeros:
            return _reverse_cumsum(g * y, self.axis) / x, None, None
        if not grad_mode.state.enabled:
            return Tensor._make(_cumprod_grad_zeros(g._data, x._data, y._data, self.axis)), \
                None, None
        return _cumprod_grad_exact(g, x, self.axis), None, None


def _cumprod_grad_zeros(g, x, y, axis):
    """First-order cumprod gradient with zeros, O(n) per slice (z₁ = the first zero):
    k < z₁: Σ_{k≤i<z₁} gᵢyᵢ / xₖ;  k = z₁: y_{z₁-1} Σ_{i≥z₁} gᵢ Π_{z₁<j≤i} xⱼ;  k > z₁: 0."""
    xp = backend.xp_of(x)
    zero = x == 0
    zeros_so_far = xp.cumsum(zero, axis=axis)
    before = zeros_so_far == 0
    first = zero & (zeros_so_far == 1)
    rev = (slice(None),) * axis + (slice(None, None, -1),)
    w = xp.where(before, g * y, 0)
    grad = xp.where(before, xp.cumsum(w[rev], axis=axis)[rev] / xp.where(before, x, 1), 0)
    p_before = xp.where(before, x, 1).prod(axis=axis, keepdims=True)
    after = xp.cumprod(xp.where((zeros_so_far >= 1) & ~first, x, 1), axis=axis)
    s = xp.where(zeros_so_far >= 1, g * after, 0).sum(axis=axis, keepdims=True)
    return xp.where(first, p_before * s, grad)


def _cumprod_grad_exact(g, x, axis):
    """∂L/∂aₖ = Σ_{i≥k} gᵢ C[k, i] with C[k, i] = Π_{j≤i, j≠k} aⱼ, the cumprod of a with aₖ
    replaced by 1: an (n × n) matrix per slice, differentiable in a."""
    xl, gl = x.transpose(axis, -1), g.transpose(axis, -1)
    n = xl.shape[-1]
    xp = backend.xp_of(x._data)
    eye = xp.eye(n, dtype=x._data.dtype)
    rows = xl.unsqueeze(-2) * _const(1 - eye) + _const(eye)
    later = _const(xp.triu(xp.ones((n, n), dtype=x._data.dtype)))
    grad = (rows.cumprod(-1) * gl.unsqueeze(-2) * later).sum(-1)
    return grad.transpose(axis, -1)


@public(inplace=True)
def cumprod(input, dim, *, dtype=None):
    """Cumulative product along ``dim``. Bool and integer inputs give int64, as PyTorch."""
    axis = wrap_dim(dim, input.ndim, "cumprod")
    return Cumprod.apply(input, axis, _accumulate_dtype(input, dtype))


def _cum_extreme(input, dim, name):
    """cummax/cummin: running extreme and the index where it was (last) reached."""
    scalar = input.ndim == 0
    x = _as_1d(input)
    axis = wrap_dim(dim, input.ndim, name)
    a = x._data
    xp = backend.xp_of(a)
    running = accumulate(xp.maximum if name == "cummax" else xp.minimum, a, axis)
    reached = a == running
    if a.dtype.kind == "f":
        reached |= xp.isnan(a)  # a NaN becomes (and stays) the running value
    pos = xp.arange(a.shape[axis]).reshape((-1,) + (1,) * (a.ndim - axis - 1))
    idx = accumulate(xp.maximum, xp.where(reached, pos, 0), axis)
    out = _take(x, idx, axis)
    return ValuesIndices(out.values.reshape(()), out.indices.reshape(())) if scalar else out


@public
def cummax(input, dim):
    """(values, indices): the running maximum along ``dim`` and where it was last reached.
    The gradient goes to that position."""
    return _cum_extreme(input, dim, "cummax")


@public
def cummin(input, dim):
    """(values, indices): the running minimum along ``dim`` and where it was last reached."""
    return _cum_extreme(input, dim, "cummin")


def _np_logcumsumexp(a, axis):
    """m + log(cumsum(exp(a - m))) with m the slice's max. Where a partial sum is so small that
    it lost precision (terms below m - ~700 in float64, m - ~70 in float32), or a max is not
    finite, the stable but slow running log-add-exp (np.logaddexp.accumulate) is used instead."""
    xp = backend.xp_of(a)
    if a.size == 0:
        return a.copy()
    m = a.max(axis=axis, keepdims=True)
    if not xp.isfinite(m).all():  # ±inf (or NaN) maxima: the shift would not help
        return xp.logaddexp.accumulate(a, axis=axis)
    s = a - m
    xp.exp(s, out=s)
    s = accumulate(xp.add, s, axis)
    info = xp.finfo(a.dtype)
    if (s < info.tiny / info.eps).any():
        return xp.logaddexp.accumulate(a, axis=axis)
    xp.log(s, out=s)
    s += m
    return s


class LogCumSumExp(Op):
    """yᵢ = log Σ_{j≤i} exp(aⱼ), computed without overflow (see _np_logcumsumexp);
    ∂L/∂aⱼ = Σ_{i≥j} gᵢ exp(aⱼ - yᵢ).

    With c = the slice's smallest y, that is exp(aⱼ - c) · revcumsum(gᵢ exp(c - yᵢ)): both
    exponentials stay in range while y spans less than ~log(max float) over the slice. Otherwise
    it is computed in log space for g > 0 and g < 0 separately,
    exp(aⱼ + revlogcumsumexp(log|g| - y)), which cannot overflow (but is slower).
    """

    def forward(self, a, axis):
        self.axis = axis
        if self.requires_grad:
            self.retain_inputs(0)
            self.retain_outputs(0)
        if a.ndim == 0:
            return a.copy()
        return _np_logcumsumexp(a, axis)

    def backward(self, g):
        x, y = self.saved_tensors
        if x.ndim == 0:
            return g, None
        xp, yd = backend.xp_of(y._data), y._data
        low = yd.min(axis=self.axis, keepdims=True) if yd.size else yd
        if xp.isfinite(yd).all() and (yd.max(axis=self.axis, keepdims=True) - low < np.log(
                np.finfo(yd.dtype).max) - 10).all():
            c = _const(low)
            return (x - c).exp() * _reverse_cumsum(g * (c - y).exp(), self.axis), None
        return self._log_space_grad(g, x, y), None

    def _log_space_grad(self, g, x, y):
        gd = g._data
        lowest = np.finfo(gd.dtype).min
        sign = _const(backend.xp_of(gd).sign(gd))
        result = None
        for mask in (gd > 0, gd < 0):
            m = _const(mask.astype(gd.dtype))
            log_g = (g * sign * m + (1 - m)).log() * m + lowest * (1 - m)
            rev = logcumsumexp((log_g - y).flip(self.axis), self.axis).flip(self.axis)
            part = (rev + x).exp()
            result = part if result is None else result - part
        return result


@public
def logcumsumexp(input, dim):
    """log(cumsum(exp(input))) along ``dim``, computed without overflow. Floating point only."""
    _require_float(input, "logcumsumexp")
    return LogCumSumExp.apply(input, wrap_dim(dim, input.ndim, "logcumsumexp"))


# ----------------------------------------------------------------------------- sort, topk
def _np_argsort(a, axis, descending=False, stable=False):
    """Indices that sort ``a`` along ``axis``; NaN counts as the largest value. Descending order
    keeps equal elements in their original order (sort the reversed array, reverse back)."""
    xp = backend.xp_of(a)
    kind = "stable" if stable or descending else None
    if not descending:
        return xp.argsort(a, axis=axis, kind=kind)
    rev = (slice(None),) * axis + (slice(None, None, -1),)
    return (a.shape[axis] - 1) - xp.argsort(a[rev], axis=axis, kind=kind)[rev]


@public
def sort(input, dim=-1, descending=False, stable=False):
    """(values, indices) sorted along ``dim``; the gradient goes back to the original positions."""
    scalar = input.ndim == 0
    x = _as_1d(input)
    axis = wrap_dim(dim, input.ndim, "sort")
    out = _take(x, _np_argsort(x._data, axis, descending, stable), axis)
    return ValuesIndices(out.values.reshape(()), out.indices.reshape(())) if scalar else out


@public
def argsort(input, dim=-1, descending=False, stable=False):
    """Indices that sort ``input`` along ``dim`` (int64)."""
    a = input._data
    axis = wrap_dim(dim, a.ndim, "argsort")
    if a.ndim == 0:
        return Tensor._make(np.zeros((), dtype=np.int64))
    return Tensor._make(_np_argsort(a, axis, descending, stable))


@public
def msort(input):
    """``input`` sorted along dim 0 (values only)."""
    return sort(input, 0).values


@public
def topk(input, k, dim=-1, largest=True, sorted=True):
    """(values, indices) of the ``k`` largest (or smallest) elements along ``dim``, in sorted
    order (also when ``sorted=False``). The gradient goes back to their positions."""
    scalar = input.ndim == 0
    x = _as_1d(input)
    axis = wrap_dim(dim, input.ndim, "topk")
    a = x._data
    n = a.shape[axis]
    if not 0 <= k <= n:
        raise RuntimeError(f"topk: selected index k={k} out of range for dimension {axis} of "
                           f"size {n}")
    xp = backend.xp_of(a)
    window = (slice(None),) * axis
    if 0 < k < n:  # partition first: O(n), then sort only the k chosen
        part = xp.argpartition(a, n - k if largest else k - 1, axis=axis)
        part = part[window + ((slice(n - k, None) if largest else slice(None, k)),)]
        part.sort(axis=axis)  # equal values (NaNs) then keep their original order
        order = _np_argsort(xp.take_along_axis(a, part, axis), axis, descending=largest)
        idx = xp.take_along_axis(part, order, axis)
    else:
        idx = _np_argsort(a, axis, descending=largest)[window + (slice(None, k),)]
    out = _take(x, idx, axis)
    return ValuesIndices(out.values.reshape(()), out.indices.reshape(())) if scalar else out


@public
def kthvalue(input, k, dim=-1, keepdim=False):
    """(values, indices) of the k-th smallest element (k from 1) along ``dim``."""
    n = _as_1d(input).shape[wrap_dim(dim, input.ndim, "kthvalue")]
    if not 1 <= k <= n:
        raise RuntimeError(f"kthvalue(): selected number k={k} out of range for dimension {dim} "
                           f"of size {n}")

    def find(a, axis):
        part = backend.xp_of(a).argpartition(a, k - 1, axis=axis)
        return part[(slice(None),) * axis + (slice(k - 1, k),)]
    return _select(input, dim, keepdim, "kthvalue()", find)


# ----------------------------------------------------------------------------- median, mode
def _median_index(a, axis):
    """Position of the lower median of every slice; a slice with a NaN gives its first NaN."""
    xp = backend.xp_of(a)
    k = (a.shape[axis] - 1) // 2
    idx = xp.argpartition(a, k, axis=axis)[(slice(None),) * axis + (slice(k, k + 1),)]
    if a.dtype.kind == "f":
        nan = xp.isnan(a)
        if nan.any():
            idx = xp.where(nan.any(axis=axis, keepdims=True),
                           nan.argmax(axis=axis, keepdims=True), idx)
    return idx


def _nanmedian_index(a, axis):
    """Position of the lower median of the non-NaN elements of every slice."""
    xp = backend.xp_of(a)
    if a.dtype.kind != "f" or not xp.isnan(a).any():
        return _median_index(a, axis)
    order = xp.argsort(a, axis=axis, kind="stable")  # NaNs last
    valid = (~xp.isnan(a)).sum(axis=axis, keepdims=True)
    k = xp.maximum((valid - 1) // 2, 0)
    return xp.take_along_axis(order, k, axis)


def _np_median_all(a, dims, keepdim, find=_median_index):
    flat = a.reshape(-1)
    if flat.size == 0:
        return backend.xp_of(a).full((1,) * a.ndim if keepdim else (), np.nan, dtype=a.dtype)
    out = flat[find(flat, 0)]
    return out.reshape((1,) * a.ndim) if keepdim else out.reshape(())


def _np_nanmedian_all(a, dims, keepdim):
    return _np_median_all(a, dims, keepdim, _nanmedian_index)


@public
def median(input, dim=None, keepdim=False):
    """``median(x)``: the lower median of all elements (NaN if any is NaN), the gradient split
    among equal elements; ``median(x, dim)``: (values, indices) along ``dim``."""
    if dim is None:
        return EvenSplit.apply(input, tuple(range(input.ndim)), False, _np_median_all)
    return _select(input, dim, keepdim, "median()", _median_index)


@public
def nanmedian(input, dim=None, keepdim=False):
    """Like :func:`median`, ignoring NaNs (NaN only where a slice is all NaN)."""
    if dim is None:
        return EvenSplit.apply(input, tuple(range(input.ndim)), False, _np_nanmedian_all)
    return _select(input, dim, keepdim, "nanmedian()", _nanmedian_index)


def _mode_index(a, axis):
    """Position of the most frequent value of every slice: the smallest such value, at its last
    occurrence. Sort, measure runs of equal values, take the longest."""
    xp = backend.xp_of(a)
    a = xp.moveaxis(a, axis, -1)
    n = a.shape[-1]
    order = xp.argsort(a, axis=-1, kind="stable")
    s = xp.take_along_axis(a, order, -1)
    starts = xp.ones(s.shape, dtype=bool)
    starts[..., 1:] = s[..., 1:] != s[..., :-1]
    ends = xp.ones(s.shape, dtype=bool)
    ends[..., :-1] = starts[..., 1:]
    pos = xp.arange(n)
    first = xp.maximum.accumulate(xp.where(starts, pos, 0), axis=-1)
    last = xp.minimum.accumulate(xp.where(ends, pos, n - 1)[..., ::-1], axis=-1)[..., ::-1]
    best = (last - first).argmax(axis=-1, keepdims=True)  # the first (smallest) longest run
    idx = xp.take_along_axis(order, xp.take_along_axis(last, best, -1), -1)
    return xp.moveaxis(idx, -1, axis)


@public
def mode(input, dim=-1, keepdim=False):
    """(values, indices): the most frequent value along ``dim`` (the smallest one if several)
    and the index of its last occurrence."""
    return _select(input, dim, keepdim, "mode()", _mode_index)


# ----------------------------------------------------------------------------- diff
@public
def diff(input, n=1, dim=-1, prepend=None, append=None):
    """n-th forward difference along ``dim``: out[i] = x[i+1] - x[i], applied ``n`` times, after
    concatenating ``prepend`` and ``append``. Bool tensors give x[i+1] != x[i]."""
    if input.ndim == 0:
        raise RuntimeError("diff expects input to be at least one-dimensional")
    axis = wrap_dim(dim, input.ndim, "diff")
    parts = [t for t in (prepend, input, append) if t is not None]
    for t in parts:
        if t.ndim != input.ndim:
            raise RuntimeError(f"diff expects prepend or append to be the same dimension as "
                               f"input: input has {input.ndim} dims, got {t.ndim}")
    if len(parts) > 1:
        from .shape import cat
        input = cat(parts, axis)
    window = (slice(None),) * axis
    hi, lo = window + (slice(1, None),), window + (slice(None, -1),)
    for _ in range(n):
        input = input[hi] != input[lo] if input.dtype is backend.bool_ else input[hi] - input[lo]
    return input
