"""Array backends, dtypes, devices and PyTorch's type-promotion rules.

A Tensor wraps one backend array: a ``numpy.ndarray`` on ``cpu`` or a ``cupy.ndarray`` on
``cuda``. Ops are written once against the array module ``xp`` returned by :func:`xp_of`.
"""
from __future__ import annotations

import numpy as np

try:  # CuPy is optional: only needed for device="cuda"
    import cupy as _cupy
except Exception:  # pragma: no cover - depends on the machine
    _cupy = None


# ----------------------------------------------------------------------------- dtypes
class dtype:
    """A tensor element type, printed as PyTorch prints it (``nablagrad.float32``)."""

    __slots__ = ("name", "np", "is_floating_point", "is_signed", "itemsize", "_category")

    def __init__(self, name: str, np_dtype, category: int):
        self.name = name
        self.np = np.dtype(np_dtype)
        self.itemsize = self.np.itemsize
        self.is_floating_point = category == 2
        self.is_signed = self.np.kind in "fi"
        self._category = category  # 0 bool, 1 integer, 2 floating

    def __repr__(self):
        return f"nablagrad.{self.name}"

    def __reduce__(self):
        return (to_dtype, (self.name,))


bool_ = dtype("bool", np.bool_, 0)
uint8 = dtype("uint8", np.uint8, 1)
int8 = dtype("int8", np.int8, 1)
int16 = dtype("int16", np.int16, 1)
int32 = dtype("int32", np.int32, 1)
int64 = dtype("int64", np.int64, 1)
float16 = dtype("float16", np.float16, 2)
float32 = dtype("float32", np.float32, 2)
float64 = dtype("float64", np.float64, 2)

ALL_DTYPES = (bool_, uint8, int8, int16, int32, int64, float16, float32, float64)
_BY_NP = {d.np: d for d in ALL_DTYPES}
_ALIASES = {"float": float32, "double": float64, "half": float16, "long": int64, "int": int32,
            "short": int16, "bool": bool_}
_BY_NAME = {d.name: d for d in ALL_DTYPES} | _ALIASES

_default_float = float32


def get_default_dtype() -> dtype:
    return _default_float


def set_default_dtype(d) -> None:
    global _default_float
    d = to_dtype(d)
    if not d.is_floating_point:
        raise TypeError(f"set_default_dtype: only floating dtypes can be the default, got {d}")
    _default_float = d


def to_dtype(d) -> dtype:
    """Normalise a nablagrad dtype, NumPy dtype, Python type or name to a nablagrad dtype."""
    if isinstance(d, dtype):
        return d
    if d is float:
        return _default_float
    if d is int:
        return int64
    if d is bool:
        return bool_
    if isinstance(d, str):
        if d in _BY_NAME:
            return _BY_NAME[d]
        raise TypeError(f"unknown dtype name {d!r}")
    try:
        return _BY_NP[np.dtype(d)]
    except (TypeError, KeyError):
        raise TypeError(f"nablagrad has no dtype matching {d!r}; supported: "
                        + ", ".join(x.name for x in ALL_DTYPES)) from None


def from_np(np_dtype) -> dtype:
    try:
        return _BY_NP[np_dtype]
    except KeyError:
        return to_dtype(np_dtype)


# ----------------------------------------------------------------------------- promotion
_PROMOTE_CACHE: dict = {}


def promote_types(a: dtype, b: dtype) -> dtype:
    """The smallest dtype both ``a`` and ``b`` convert to (``torch.promote_types``)."""
    key = (a, b)
    r = _PROMOTE_CACHE.get(key)
    if r is None:
        if a is b:
            r = a
        elif {a, b} == {uint8, int8}:
            r = int16
        elif a is bool_ or b is bool_:
            r = b if a is bool_ else a
        elif a._category != b._category:  # integer with float: the float type, whatever its size
            r = a if a._category == 2 else b
        else:
            r = from_np(np.promote_types(a.np, b.np))
        _PROMOTE_CACHE[key] = r
    return r


def scalar_dtype(x) -> dtype:
    """The dtype PyTorch gives a Python scalar that takes part in an op."""
    if isinstance(x, (bool, np.bool_)):
        return bool_
    if isinstance(x, (int, np.integer)):
        return int64
    if isinstance(x, (float, np.floating)):
        return _default_float
    raise TypeError(f"expected a Tensor or a Python number, got {type(x).__name__}")


def _combine_categories(higher, lower):
    """PyTorch's rule for letting a weaker operand raise the result only across categories."""
    if higher is None:
        return lower
    if lower is None or higher._category == 2:
        return higher
    if higher is bool_ or lower._category == 2:
        return promote_types(higher, lower)
    return higher


def result_type(*operands) -> dtype:
    """PyTorch's ``result_type``: tensors with dimensions win over 0-dim tensors, which win over
    Python scalars, unless the weaker operand is of a higher category (bool < integer < float);
    a Python float then gives the default float dtype.
    """
    dim_t = zero_t = wrapped = None
    for x in operands:
        d = getattr(x, "dtype", None)
        if isinstance(d, dtype):
            if x.ndim:
                dim_t = d if dim_t is None else promote_types(dim_t, d)
            else:
                zero_t = d if zero_t is None else promote_types(zero_t, d)
        elif x is not None:
            s = scalar_dtype(x)
            wrapped = s if wrapped is None else promote_types(wrapped, s)
    return _combine_categories(dim_t, _combine_categories(zero_t, wrapped))


# ----------------------------------------------------------------------------- devices
class device:
    """Where a tensor's storage lives: ``cpu`` (NumPy) or ``cuda[:index]`` (CuPy)."""

    __slots__ = ("type", "index")

    def __init__(self, spec="cpu", index=None):
        if isinstance(spec, device):
            spec, index = spec.type, spec.index
        if isinstance(spec, int):
            spec, index = "cuda", spec
        kind, _, idx = str(spec).partition(":")
        if kind not in ("cpu", "cuda"):
            raise ValueError(f"unknown device {spec!r}: expected 'cpu' or 'cuda[:N]'")
        self.type = kind
        self.index = int(idx) if idx else index
        if kind == "cuda" and self.index is None:
            self.index = 0

    def __eq__(self, other):
        try:
            other = device(other)
        except (ValueError, TypeError):
            return NotImplemented
        return self.type == other.type and (self.type == "cpu" or self.index == other.index)

    def __hash__(self):
        return hash((self.type, self.index))

    def __str__(self):
        return "cpu" if self.type == "cpu" else f"cuda:{self.index}"

    def __repr__(self):
        return f"device(type='{self.type}'" + ("" if self.type == "cpu" else f", index={self.index}") + ")"


CPU = device("cpu")


def cuda_available() -> bool:
    if _cupy is None:
        return False
    try:
        return _cupy.cuda.runtime.getDeviceCount() > 0
    except Exception:  # pragma: no cover
        return False


def _require_cupy():
    if _cupy is None:
        raise RuntimeError("device='cuda' needs CuPy: install it with `pip install nablagrad[cuda]` "
                           "(or the cupy-cudaXXx wheel matching your CUDA), or use device='cpu'")
    return _cupy


def xp_for(dev: device):
    """The array module for a device: numpy for cpu, cupy for cuda."""
    return np if dev.type == "cpu" else _require_cupy()


def xp_of(array):
    """The array module that owns ``array``."""
    if type(array) is np.ndarray or _cupy is None:
        return np
    return _cupy.get_array_module(array)


def device_of(array) -> device:
    if type(array) is np.ndarray or _cupy is None or not isinstance(array, _cupy.ndarray):
        return CPU
    return device("cuda", array.device.id)


def move(array, dev: device):
    """Copy ``array`` to device ``dev`` (no copy when it is already there)."""
    if dev.type == "cpu":
        return array if isinstance(array, np.ndarray) else _cupy.asnumpy(array)
    cp = _require_cupy()
    with cp.cuda.Device(dev.index):
        return cp.asarray(array)


def special(array):
    """``scipy.special`` for NumPy arrays, ``cupyx.scipy.special`` for CuPy arrays."""
    if xp_of(array) is np:
        import scipy.special
        return scipy.special
    import cupyx.scipy.special
    return cupyx.scipy.special
