"""The Tensor: one backend array plus what autograd needs.

Notes 004 §1.3: a tensor is storage + shape + dtype + strides. Here the storage, shape, dtype and
strides are those of the wrapped NumPy (or CuPy) array, so a view (transpose, slice, expand, ...)
is a new Tensor over the same memory with other strides, made without copying. Strides are
reported in elements, as PyTorch does (NumPy counts bytes).

Autograd state: ``requires_grad``, ``grad``, ``grad_fn`` (the :class:`Op` that made it, None for a
leaf) and a version counter shared by all views of one storage, bumped by every in-place change.
"""
from __future__ import annotations

import numpy as np

from . import backend
from .autograd import engine, grad_mode, graph


class Size(tuple):
    """A shape, as ``torch.Size``: a tuple with ``numel()``."""

    def numel(self) -> int:
        n = 1
        for s in self:
            n *= s
        return n

    def __repr__(self):
        return f"nablagrad.Size({list(self)})"

    def __add__(self, other):
        return Size(tuple.__add__(self, tuple(other)))

    def __radd__(self, other):
        return Size(tuple(other) + tuple(self))

    def __getitem__(self, i):
        r = tuple.__getitem__(self, i)
        return Size(r) if isinstance(i, slice) else r


class Tensor:
    """A multidimensional array with automatic differentiation (``torch.Tensor``'s API)."""

    __slots__ = ("_data", "_rg", "grad", "grad_fn", "_oi", "_vbox", "_base", "_hooks", "_retains",
                 "__weakref__", "__dict__")
    __array_priority__ = 1000  # NumPy defers to our operators: np.float64(2) * t is a Tensor

    def __init__(self, data=None, *, dtype=None, device=None, requires_grad=False):
        """``nablagrad.Tensor(data)`` copies like ``nablagrad.tensor``; prefer the latter."""
        from .ops.creation import _to_array
        arr = _to_array([] if data is None else data, dtype if dtype is not None else
                        (None if isinstance(data, (np.ndarray, Tensor)) else backend.get_default_dtype()),
                        device, copy=True)
        self._set(arr, None, 0, False)
        if requires_grad:
            self.requires_grad_(True)

    @classmethod
    def _make(cls, arr, grad_fn=None, oi=0, rg=False):
        """Wrap a backend array (no copy). Internal: the fast path every op uses."""
        if type(arr) is not np.ndarray and not hasattr(arr, "__cuda_array_interface__"):
            arr = np.asarray(arr)  # NumPy reductions return scalars; keep 0-dim arrays
        t = object.__new__(cls)
        t._set(arr, grad_fn, oi, rg)
        return t

    def _set(self, arr, grad_fn, oi, rg):
        self._data = arr
        self._rg = rg
        self.grad = None
        self.grad_fn = grad_fn
        self._oi = oi
        self._vbox = [0]  # version counter, shared by all views of one storage
        self._base = None
        self._hooks = None
        self._retains = False

    # ------------------------------------------------------------------ metadata
    @property
    def shape(self) -> Size:
        return Size(self._data.shape)

    def size(self, dim=None):
        if dim is None:
            return Size(self._data.shape)
        return self._data.shape[self._wrap_dim(dim)]

    @property
    def dtype(self) -> backend.dtype:
        return backend.from_np(self._data.dtype)

    @property
    def device(self) -> backend.device:
        return backend.device_of(self._data)

    @property
    def is_cuda(self) -> bool:
        return self.device.type == "cuda"

    @property
    def ndim(self) -> int:
        return self._data.ndim

    def dim(self) -> int:
        return self._data.ndim

    ndimension = dim

    def numel(self) -> int:
        return int(self._data.size)

    nelement = numel

    def element_size(self) -> int:
        return self._data.itemsize

    def stride(self, dim=None):
        """Steps in elements between neighbours along each dimension (NumPy's byte strides / itemsize)."""
        s = tuple(b // self._data.itemsize for b in self._data.strides)
        return s if dim is None else s[self._wrap_dim(dim)]

    def is_contiguous(self, memory_format=None) -> bool:
        return bool(self._data.flags.c_contiguous)

    def data_ptr(self) -> int:
        """Address of the first element: views of one storage differ only by the offset."""
        d = self._data
        if type(d) is np.ndarray:
            return d.__array_interface__["data"][0]
        return d.data.ptr

    def _storage_root(self):
        a = self._data
        while True:
            b = getattr(a, "base", None)
            if b is not None and not hasattr(b, "shape"):
                b = getattr(b, "base", None)  # NumPy's as_strided wraps its source in a DummyArray
            if b is None or not hasattr(b, "shape"):
                return a
            a = b

    def storage_offset(self) -> int:
        """Elements between the start of the storage and this tensor's first element."""
        root = self._storage_root()
        ptr = root.__array_interface__["data"][0] if type(root) is np.ndarray else root.data.ptr
        return (self.data_ptr() - ptr) // self._data.itemsize

    def untyped_storage(self):
        return _Storage(self._storage_root())

    @property
    def is_leaf(self) -> bool:
        return self.grad_fn is None

    @property
    def requires_grad(self) -> bool:
        return self._rg

    @requires_grad.setter
    def requires_grad(self, flag):
        self.requires_grad_(flag)

    def requires_grad_(self, requires_grad: bool = True):
        if self.grad_fn is not None and not requires_grad:
            raise RuntimeError("you can only change requires_grad flags of leaf variables. Use "
                               "detach() to get a tensor that does not require grad.")
        if requires_grad and self._data.dtype.kind not in "fc":
            raise RuntimeError(f"only Tensors of floating point dtype can require gradients "
                               f"(this one is {self.dtype})")
        self._rg = bool(requires_grad)
        return self

    def is_floating_point(self) -> bool:
        return self._data.dtype.kind == "f"

    @property
    def _version(self) -> int:
        return self._vbox[0]

    @property
    def data(self) -> "Tensor":
        """The same storage without autograd history (like ``detach()``, but not version-tracked)."""
        t = Tensor._make(self._data)
        return t

    @data.setter
    def data(self, value: "Tensor"):
        self._data = value._data

    @property
    def retains_grad(self) -> bool:
        return self._retains

    @property
    def T(self):
        return self.permute(*reversed(range(self.ndim)))

    @property
    def mT(self):
        return self.transpose(-2, -1)

    @property
    def H(self):
        return self.T

    @property
    def mH(self):
        return self.mT

    def _wrap_dim(self, dim):
        n = self._data.ndim
        if not -max(n, 1) <= dim < max(n, 1):
            raise IndexError(f"Dimension out of range (expected to be in range of "
                             f"[{-max(n, 1)}, {max(n, 1) - 1}], but got {dim})")
        return dim % max(n, 1)

    # ------------------------------------------------------------------ conversion
    def numpy(self, *, force=False) -> np.ndarray:
        if self._rg and not force:
            raise RuntimeError("Can't call numpy() on Tensor that requires grad. Use "
                               "tensor.detach().numpy() instead.")
        if type(self._data) is not np.ndarray:
            if not force:
                raise TypeError(f"can't convert {self.device} tensor to numpy. Use .cpu() first.")
            return backend.move(self._data, backend.CPU)
        return self._data

    def __array__(self, dtype=None, copy=None):
        if self._rg:
            raise RuntimeError("Can't call numpy() on Tensor that requires grad. Use "
                               "tensor.detach().numpy() instead.")
        arr = backend.move(self._data, backend.CPU)
        return arr if dtype is None else arr.astype(dtype, copy=False)

    def item(self):
        if self._data.size != 1:
            raise RuntimeError(f"a Tensor with {self._data.size} elements cannot be converted to "
                               "a Python scalar")
        return self._data.reshape(()).item()

    def tolist(self):
        return backend.move(self._data, backend.CPU).tolist()

    def __float__(self):
        return float(self.item())

    def __int__(self):
        return int(self.item())

    def __index__(self):
        if self._data.dtype.kind not in "iub" or self._data.size != 1:
            raise TypeError("only integer tensors of a single element can be converted to an index")
        return int(self.item())

    def __bool__(self):
        if self._data.size != 1:
            raise RuntimeError(f"Boolean value of Tensor with {self._data.size} elements is "
                               "ambiguous")
        return bool(self.item())

    def __len__(self):
        if self._data.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self._data.shape[0]

    def __iter__(self):
        if self._data.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        return iter(self.unbind(0))

    def __hash__(self):
        return id(self)

    def __contains__(self, item):
        return bool((self == item).any())

    def __reduce_ex__(self, protocol):
        raise TypeError("nablagrad tensors are not pickled: use nablagrad.save (safetensors)")

    def __deepcopy__(self, memo):
        t = self.detach().clone()
        t._rg = self._rg
        if self.grad is not None:
            t.grad = self.grad.clone()
        memo[id(self)] = t
        return t

    # ------------------------------------------------------------------ autograd
    def backward(self, gradient=None, retain_graph=None, create_graph=False, inputs=None):
        """Accumulate d(self)/d(leaf) · gradient into every leaf's ``.grad``."""
        if gradient is None:
            if self._data.size != 1:
                raise RuntimeError("grad can be implicitly created only for scalar outputs "
                                   f"(this tensor has shape {list(self.shape)}); pass gradient=")
            gradient = Tensor._make(backend.xp_of(self._data).ones_like(self._data))
        elif not isinstance(gradient, Tensor):
            from .ops.creation import tensor as _tensor
            gradient = _tensor(gradient, dtype=self.dtype, device=self.device)
        if tuple(gradient.shape) != tuple(self.shape):
            raise RuntimeError(f"backward: gradient has shape {list(gradient.shape)} but the "
                               f"tensor has shape {list(self.shape)}")
        if retain_graph is None:
            retain_graph = create_graph
        if inputs is not None:
            inputs = [inputs] if isinstance(inputs, Tensor) else list(inputs)
        engine.run_backward([self], [gradient], retain_graph, create_graph, inputs=inputs,
                            accumulate=True)

    def register_hook(self, hook):
        """Call ``hook(grad)`` when the gradient for this tensor is computed; it may return a
        replacement gradient. Returns a handle with ``remove()``."""
        if not self._rg:
            raise RuntimeError("cannot register a hook on a tensor that doesn't require gradient")
        if self.grad_fn is None:
            if self._hooks is None:
                self._hooks = []
            lst = self._hooks
        else:
            hooks = getattr(self.grad_fn, "tensor_hooks", None)
            if hooks is None:
                hooks = self.grad_fn.tensor_hooks = {}
            lst = hooks.setdefault(self._oi, [])
        lst.append(hook)
        return _HookHandle(lst, hook)

    def retain_grad(self):
        """Keep ``.grad`` for this non-leaf tensor after backward."""
        if not self._rg:
            raise RuntimeError("can't retain_grad on Tensor that has requires_grad=False")
        if self.grad_fn is not None and not self._retains:
            hooks = getattr(self.grad_fn, "retain_hooks", None)
            if hooks is None:
                hooks = self.grad_fn.retain_hooks = {}
            hooks[self._oi] = engine.make_retain_grad_hook(self)
            self._retains = True

    def detach(self) -> "Tensor":
        """The same storage (and version counter), cut from the graph."""
        t = Tensor._make(self._data)
        t._vbox = self._vbox
        return t

    def detach_(self):
        if self._base is not None and self._rg:
            raise RuntimeError("can't detach_() a view of a tensor that requires grad")
        self.grad_fn = None
        self._rg = False
        return self

    def __repr__(self):
        arr = backend.move(self._data, backend.CPU)
        prefix = "tensor("
        kw = {}
        if arr.dtype.kind == "f":
            finite = arr[np.isfinite(arr)]
            if finite.size and np.any(finite != np.round(finite)):
                big = float(np.abs(finite).max())
                kw = dict(floatmode="fixed", precision=4) if 1e-4 <= big < 1e8 else \
                    dict(formatter={"float_kind": lambda v: f"{v:.4e}"})
        if arr.dtype == np.bool_ and arr.size:
            w = 5 if not arr.all() else 4
            kw = dict(formatter={"bool": lambda v: f"{v!s:>{w}}"})
        body = np.array2string(arr, separator=", ", prefix=prefix, threshold=1000, edgeitems=3,
                               **kw).replace(", ..., ", ",  ..., ") if arr.size else "[]"
        extras = []
        if self.device.type != "cpu":
            extras.append(f"device='{self.device}'")
        dt = self.dtype
        if arr.size == 0 or dt not in (backend.get_default_dtype(), backend.int64, backend.bool_):
            if arr.size == 0 or dt is not backend.int64:
                if not (arr.size == 0 and dt is backend.get_default_dtype()):
                    extras.append(f"dtype={dt}")
        if arr.size == 0 and arr.ndim != 1:
            extras.insert(0, f"size={tuple(arr.shape)}")
        if self.grad_fn is not None:
            extras.append(f"grad_fn={self.grad_fn!r}")
        elif self._rg:
            extras.append("requires_grad=True")
        return prefix + body + "".join(", " + e for e in extras) + ")"

    __str__ = __repr__

    def __format__(self, spec):
        if self._data.ndim == 0:
            return format(self.item(), spec)
        return repr(self)


    # ------------------------------------------------------------------ operators
    # Each delegates to the public op of the same meaning (attached by nablagrad.ops).
    def __add__(self, o): return self.add(o)
    def __radd__(self, o): return self.add(o)
    def __sub__(self, o): return self.sub(o)
    def __rsub__(self, o): return _ops().sub(o, self)
    def __mul__(self, o): return self.mul(o)
    def __rmul__(self, o): return self.mul(o)
    def __truediv__(self, o): return self.div(o)
    def __rtruediv__(self, o): return _ops().div(o, self)
    def __floordiv__(self, o): return self.floor_divide(o)
    def __rfloordiv__(self, o): return _ops().floor_divide(o, self)
    def __mod__(self, o): return self.remainder(o)
    def __rmod__(self, o): return _ops().remainder(o, self)
    def __pow__(self, o): return self.pow(o)
    def __rpow__(self, o): return _ops().pow(o, self)
    def __matmul__(self, o): return self.matmul(o)
    def __rmatmul__(self, o): return _ops().matmul(o, self)
    def __neg__(self): return self.neg()
    def __pos__(self): return self.positive()
    def __abs__(self): return self.abs()
    def __invert__(self): return self.bitwise_not()
    def __and__(self, o): return self.bitwise_and(o)
    def __rand__(self, o): return self.bitwise_and(o)
    def __or__(self, o): return self.bitwise_or(o)
    def __ror__(self, o): return self.bitwise_or(o)
    def __xor__(self, o): return self.bitwise_xor(o)
    def __rxor__(self, o): return self.bitwise_xor(o)
    def __eq__(self, o): return self.eq(o) if _comparable(o) else NotImplemented
    def __ne__(self, o): return self.ne(o) if _comparable(o) else NotImplemented
    def __lt__(self, o): return self.lt(o)
    def __le__(self, o): return self.le(o)
    def __gt__(self, o): return self.gt(o)
    def __ge__(self, o): return self.ge(o)
    def __getitem__(self, idx): return _ops().getitem(self, idx)
    def __setitem__(self, idx, value): _ops().setitem(self, idx, value)
    def __iadd__(self, o): return self.add_(o)
    def __isub__(self, o): return self.sub_(o)
    def __imul__(self, o): return self.mul_(o)
    def __itruediv__(self, o): return self.div_(o)
    def __ipow__(self, o): return self.pow_(o)


def _comparable(o):
    """Operands that ``==`` compares elementwise; anything else (None, strings) compares False."""
    return isinstance(o, (Tensor, bool, int, float, np.number, np.ndarray))


def _ops():
    from . import ops
    return ops.FUNCTIONS_NS


class _HookHandle:
    def __init__(self, lst, hook):
        self._lst, self._hook = lst, hook

    def remove(self):
        if self._hook in self._lst:
            self._lst.remove(self._hook)


class _Storage:
    """What ``Tensor.untyped_storage()`` returns: enough to compare storages."""

    def __init__(self, root):
        self._root = root

    def data_ptr(self) -> int:
        r = self._root
        return r.__array_interface__["data"][0] if type(r) is np.ndarray else r.data.ptr

    def nbytes(self) -> int:
        return self._root.nbytes

    def size(self) -> int:
        return self._root.nbytes


graph._Tensor = Tensor
engine._Tensor = Tensor
