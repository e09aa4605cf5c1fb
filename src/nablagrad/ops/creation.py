"""Making tensors: from data (``tensor``, ``as_tensor``, ``from_numpy``) and filled
(``zeros``, ``ones``, ``full``, ``empty``, their ``_like`` forms, ``eye``, ``arange``,
``linspace``, ``logspace``). Random constructors live in :mod:`nablagrad.ops.random`."""
from __future__ import annotations

import math
import operator

import numpy as np

from .. import backend
from .._tensor import Tensor
from ._api import public


def _to_array(data, dtype=None, device=None, copy=True):
    """A backend array holding ``data``, with PyTorch's dtype inference: arrays and NumPy scalars
    keep their dtype; Python floats give the default float dtype, ints int64, bools bool."""
    if isinstance(data, Tensor):
        arr = data._data
    elif isinstance(data, (list, tuple)):
        arr = _nested_tolist(data)
        if dtype is None:
            dtype = _infer_sequence_dtype(data)
    else:
        arr = data
    if dtype is not None:
        target = backend.to_dtype(dtype).np
    elif hasattr(arr, "dtype"):
        target = arr.dtype
    else:
        kind = np.asarray(arr).dtype.kind
        target = {"f": backend.get_default_dtype().np, "i": np.int64, "u": np.int64,
                  "b": np.bool_}.get(kind)
        if target is None:
            raise TypeError(f"tensor: can't make a tensor from {type(data).__name__}")
    backend.from_np(np.dtype(target))  # raises for dtypes nablagrad does not support
    dev = backend.device(device) if device is not None else backend.device_of(arr)
    if backend.device_of(arr) != dev:
        arr = backend.move(np.asarray(arr) if dev.type == "cuda" else arr, dev)
        copy = False
    xp = backend.xp_for(dev)
    return xp.array(arr, dtype=target, copy=True) if copy else xp.asarray(arr, dtype=target)


def _infer_sequence_dtype(seq):
    """PyTorch's rule for a nested sequence: promote the dtypes of its elements, where Python
    numbers count as bool/int64/default float and NumPy scalars and tensors keep their dtype."""
    found = None
    stack = [seq]
    while stack:
        for x in stack.pop():
            if isinstance(x, (list, tuple)):
                stack.append(x)
                continue
            if isinstance(x, Tensor):
                d = x.dtype
            elif isinstance(x, (np.generic, np.ndarray)):
                d = backend.from_np(x.dtype)
            elif isinstance(x, (bool, int, float)):
                d = backend.scalar_dtype(x)
            else:
                return None  # let NumPy decide (and raise for what it can't hold)
            found = d if found is None else backend.promote_types(found, d)
    return found


def _nested_tolist(seq):
    return [x.tolist() if isinstance(x, Tensor) else
            _nested_tolist(x) if isinstance(x, (list, tuple)) else x for x in seq]


def _shape(size, opname="tensor"):
    if len(size) == 1 and isinstance(size[0], (tuple, list)):
        size = size[0]
    try:
        shape = tuple(operator.index(s) for s in size)
    except TypeError:
        raise TypeError(f"{opname}: size must be a sequence of ints, got {size!r}") from None
    if any(s < 0 for s in shape):
        raise RuntimeError(f"{opname}: sizes must be non-negative, got {list(shape)}")
    return shape


def _dtype_np(dtype, default=None):
    if dtype is None:
        return (default or backend.get_default_dtype()).np
    return backend.to_dtype(dtype).np


def _finish(arr, requires_grad):
    t = Tensor._make(arr)
    if requires_grad:
        t.requires_grad_(True)
    return t


@public(method=False)
def tensor(data, *, dtype=None, device=None, requires_grad=False) -> Tensor:
    """A new tensor holding a copy of ``data`` (nested lists, scalars, arrays or tensors)."""
    return _finish(_to_array(data, dtype, device, copy=True), requires_grad)


@public(method=False)
def as_tensor(data, dtype=None, device=None) -> Tensor:
    """Like :func:`tensor`, but shares memory with ``data`` when dtype and device allow."""
    if isinstance(data, Tensor) and dtype is None and device is None:
        return data
    if isinstance(data, Tensor):
        return data.to(dtype=dtype, device=device)
    return Tensor._make(_to_array(data, dtype, device, copy=False))


@public(method=False)
def from_numpy(array: np.ndarray) -> Tensor:
    """A tensor sharing memory with a NumPy array (writes to one show in the other)."""
    if not isinstance(array, np.ndarray):
        raise TypeError(f"from_numpy: expected np.ndarray, got {type(array).__name__}")
    backend.from_np(array.dtype)  # raises for unsupported dtypes
    return Tensor._make(array)


def _filled(fill, size, dtype, device, requires_grad, default=None, opname="tensor"):
    dev = backend.device(device) if device is not None else backend.CPU
    xp = backend.xp_for(dev)
    arr = xp.full(_shape(size, opname), fill, dtype=_dtype_np(dtype, default))
    return _finish(arr, requires_grad)


@public(method=False)
def zeros(*size, dtype=None, device=None, requires_grad=False) -> Tensor:
    return _filled(0, size, dtype, device, requires_grad)


@public(method=False)
def ones(*size, dtype=None, device=None, requires_grad=False) -> Tensor:
    return _filled(1, size, dtype, device, requires_grad)


@public(method=False)
def empty(*size, dtype=None, device=None, requires_grad=False) -> Tensor:
    """Uninitialised in PyTorch; here zero-filled (NumPy's ``empty`` would leak old memory)."""
    return _filled(0, size, dtype, device, requires_grad)


@public(method=False)
def full(size, fill_value, *, dtype=None, device=None, requires_grad=False) -> Tensor:
    if isinstance(fill_value, Tensor):
        fill_value = fill_value.item()
    if dtype is None:
        dtype = backend.scalar_dtype(fill_value)
    return _filled(fill_value, (size,) if isinstance(size, int) else size, dtype, device,
                   requires_grad)


def _like(t, dtype, device):
    return (dtype if dtype is not None else t.dtype), (device if device is not None else t.device)


@public(method=False)
def zeros_like(input, *, dtype=None, device=None, requires_grad=False) -> Tensor:
    d, dev = _like(input, dtype, device)
    return _filled(0, input.shape, d, dev, requires_grad)


@public(method=False)
def ones_like(input, *, dtype=None, device=None, requires_grad=False) -> Tensor:
    d, dev = _like(input, dtype, device)
    return _filled(1, input.shape, d, dev, requires_grad)


@public(method=False)
def empty_like(input, *, dtype=None, device=None, requires_grad=False) -> Tensor:
    d, dev = _like(input, dtype, device)
    return _filled(0, input.shape, d, dev, requires_grad)


@public(method=False)
def full_like(input, fill_value, *, dtype=None, device=None, requires_grad=False) -> Tensor:
    d, dev = _like(input, dtype, device)
    return _filled(fill_value, input.shape, d, dev, requires_grad)


@public(method=False)
def eye(n, m=None, *, dtype=None, device=None, requires_grad=False) -> Tensor:
    if n < 0 or (m is not None and m < 0):
        raise RuntimeError(f"eye: n and m must be non-negative, got n={n}, m={m}")
    xp = backend.xp_for(backend.device(device or "cpu"))
    return _finish(xp.eye(n, m, dtype=_dtype_np(dtype)), requires_grad)


@public(method=False)
def arange(start, end=None, step=1, *, dtype=None, device=None, requires_grad=False) -> Tensor:
    """Values from ``start`` up to (not including) ``end``: int64 if all arguments are integers,
    else the default float dtype."""
    if end is None:
        start, end = 0, start
    args = [start, end, step]
    args = [a.item() if isinstance(a, Tensor) else a for a in args]
    start, end, step = args
    if step == 0:
        raise RuntimeError("arange: step must be nonzero")
    if (end - start) * step < 0:
        raise RuntimeError(f"arange: upper bound {end} and lower bound {start} are inconsistent "
                           f"with the sign of step {step}")
    if dtype is None:
        dtype = backend.int64 if all(isinstance(a, (int, np.integer)) for a in args) \
            else backend.get_default_dtype()
    xp = backend.xp_for(backend.device(device or "cpu"))
    n = max(0, math.ceil((end - start) / step))
    arr = (xp.arange(n, dtype=np.float64) * step + start).astype(_dtype_np(dtype))
    return _finish(arr, requires_grad)


@public(method=False)
def linspace(start, end, steps, *, dtype=None, device=None, requires_grad=False) -> Tensor:
    if steps < 0:
        raise RuntimeError(f"linspace: number of steps must be non-negative, got {steps}")
    xp = backend.xp_for(backend.device(device or "cpu"))
    return _finish(xp.linspace(start, end, steps).astype(_dtype_np(dtype)), requires_grad)


@public(method=False)
def logspace(start, end, steps, base=10.0, *, dtype=None, device=None,
             requires_grad=False) -> Tensor:
    xp = backend.xp_for(backend.device(device or "cpu"))
    return _finish(xp.logspace(start, end, steps, base=base).astype(_dtype_np(dtype)),
                   requires_grad)


@public(method=False)
def scalar_tensor(s, *, dtype=None, device=None, requires_grad=False) -> Tensor:
    return tensor(s, dtype=dtype or backend.get_default_dtype(), device=device,
                  requires_grad=requires_grad)


def new_method(maker):
    def method(self, *size, dtype=None, device=None, requires_grad=False, **kw):
        return maker(*size, dtype=dtype or self.dtype, device=device or self.device,
                     requires_grad=requires_grad, **kw)
    return method


Tensor.new_zeros = new_method(zeros)
Tensor.new_ones = new_method(ones)
Tensor.new_empty = new_method(empty)


def _new_full(self, size, fill_value, *, dtype=None, device=None, requires_grad=False):
    return full(size, fill_value, dtype=dtype or self.dtype, device=device or self.device,
                requires_grad=requires_grad)


def _new_tensor(self, data, *, dtype=None, device=None, requires_grad=False):
    return tensor(data, dtype=dtype or self.dtype, device=device or self.device,
                  requires_grad=requires_grad)


Tensor.new_full = _new_full
Tensor.new_tensor = _new_tensor
