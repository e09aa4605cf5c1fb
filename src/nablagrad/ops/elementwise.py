"""Elementwise ops: arithmetic with broadcasting, and the unary math functions.

For y = f(a, b) with broadcasting, dL/da = dL/dy · ∂f/∂a summed over the broadcast dimensions;
the summing is done once, by the engine, so each backward here is just the local derivative.
"""
from __future__ import annotations

from .. import backend
from .._tensor import Tensor
from ..autograd.graph import Op
from ._api import public


# ----------------------------------------------------------------------------- promotion
def promote(a, b, opname: str, *, floating=False):
    """Cast tensor operands to PyTorch's result dtype; Python scalars stay scalars.

    ``floating=True`` is for ops that always give a float (true division, pow with float).
    Returns ``(a, b)`` ready to hand to an Op.
    """
    ta, tb = isinstance(a, Tensor), isinstance(b, Tensor)
    if ta and tb and a._data.dtype == b._data.dtype and not floating:
        if a._data.__class__ is not b._data.__class__:
            raise RuntimeError(f"{opname}: expected all tensors on the same device, got "
                               f"{a.device} and {b.device}")
        return a, b
    if not (ta or tb):
        raise TypeError(f"{opname}: expected at least one Tensor argument")
    dt = backend.result_type(a, b)
    if floating and not dt.is_floating_point:
        dt = backend.get_default_dtype()
    if ta and tb and a.device != b.device:
        raise RuntimeError(f"{opname}: expected all tensors on the same device, got "
                           f"{a.device} and {b.device}; move one with .to(device)")
    return _cast_operand(a, dt), _cast_operand(b, dt)


def _cast_operand(x, dt):
    if isinstance(x, Tensor):
        return x if x._data.dtype == dt.np else x.to(dt)
    # Python scalars are "weak" in NumPy >= 2 as in PyTorch: they take the tensor's dtype
    return x.item() if hasattr(x, "item") else x


# ----------------------------------------------------------------------------- casting
class Cast(Op):
    """y = a converted to another dtype; dL/da = dL/dy converted back."""

    def forward(self, a, np_dtype):
        self.src = a.dtype
        return a.astype(np_dtype)

    def backward(self, g):
        return g.to(backend.from_np(self.src)), None


def to(self, *args, dtype=None, device=None, copy=False, non_blocking=False, memory_format=None):
    """``to(dtype)``, ``to(device)``, ``to(device, dtype)``, ``to(other_tensor)``; differentiable."""
    for a in args:
        if isinstance(a, Tensor):
            dtype, device = a.dtype, a.device
        elif isinstance(a, (backend.device,)) or (isinstance(a, str) and a.split(":")[0] in ("cpu", "cuda")):
            device = a
        elif isinstance(a, int) and not isinstance(a, bool):
            device = a
        else:
            dtype = a
    out = self
    if device is not None and backend.device(device) != self.device:
        out = ToDevice.apply(out, backend.device(device))
    if dtype is not None:
        dt = backend.to_dtype(dtype)
        if out._data.dtype != dt.np:
            out = Cast.apply(out, dt.np)
    if copy and out is self:
        out = self.clone()
    return out


class ToDevice(Op):
    """Copy to another device; the gradient goes back to the source device."""

    def forward(self, a, dev):
        self.src = backend.device_of(a)
        return backend.move(a, dev)

    def backward(self, g):
        return g.to(self.src), None


Tensor.to = to
Tensor.type = lambda self, dtype=None: (self.dtype.name if dtype is None else to(self, dtype))
Tensor.float = lambda self: to(self, backend.float32)
Tensor.double = lambda self: to(self, backend.float64)
Tensor.half = lambda self: to(self, backend.float16)
Tensor.long = lambda self: to(self, backend.int64)
Tensor.int = lambda self: to(self, backend.int32)
Tensor.short = lambda self: to(self, backend.int16)
Tensor.bool = lambda self: to(self, backend.bool_)
Tensor.byte = lambda self: to(self, backend.uint8)
Tensor.char = lambda self: to(self, backend.int8)
Tensor.cpu = lambda self: to(self, "cpu")
Tensor.cuda = lambda self, device=None: to(self, backend.device("cuda", device))
Tensor.type_as = lambda self, other: to(self, other.dtype)


# ----------------------------------------------------------------------------- arithmetic
class Add(Op):
    """y = a + b; ∂y/∂a = ∂y/∂b = 1."""

    def forward(self, a, b):
        return a + b

    def backward(self, g):
        return g, g


class Sub(Op):
    """y = a - b; ∂y/∂a = 1, ∂y/∂b = -1."""

    def forward(self, a, b):
        return a - b

    def backward(self, g):
        return g, (-g if self.needs_input_grad[1] else None)


class Mul(Op):
    """y = a · b; ∂y/∂a = b, ∂y/∂b = a."""

    def forward(self, a, b):
        self.retain_inputs(0, 1)
        return a * b

    def backward(self, g):
        a, b = self.saved_tensors
        need_a, need_b = self.needs_input_grad
        return (g * b if need_a else None), (g * a if need_b else None)


class Div(Op):
    """y = a / b; ∂y/∂a = 1/b, ∂y/∂b = -a/b²."""

    def forward(self, a, b):
        self.retain_inputs(0, 1)
        return a / b

    def backward(self, g):
        a, b = self.saved_tensors
        need_a, need_b = self.needs_input_grad
        ga = g / b if need_a else None
        gb = -g * a / (b * b) if need_b else None
        return ga, gb


class Neg(Op):
    """y = -a."""

    def forward(self, a):
        return -a

    def backward(self, g):
        return -g


class Exp(Op):
    """y = eᵃ; ∂y/∂a = y."""

    def forward(self, a):
        self.retain_outputs(0)
        return backend.xp_of(a).exp(a)

    def backward(self, g):
        (y,) = self.saved_tensors
        return g * y


@public(inplace=True)
def add(input, other, *, alpha=1):
    """input + alpha · other, broadcasting."""
    if alpha != 1:
        other = mul(other, alpha)
    a, b = promote(input, other, "add")
    return Add.apply(a, b)


@public(inplace=True)
def sub(input, other, *, alpha=1):
    """input - alpha · other, broadcasting."""
    if alpha != 1:
        other = mul(other, alpha)
    a, b = promote(input, other, "sub")
    return Sub.apply(a, b)


@public(inplace=True)
def mul(input, other):
    a, b = promote(input, other, "mul")
    return Mul.apply(a, b)


@public(inplace=True)
def div(input, other, *, rounding_mode=None):
    """True division (always a float result), or ``rounding_mode='floor'|'trunc'``."""
    if rounding_mode is not None:
        from . import elementwise as _self
        q = _self.floor_divide(input, other) if rounding_mode == "floor" else \
            _self.trunc(div(input, other)).to(backend.result_type(input, other))
        return q
    a, b = promote(input, other, "div", floating=True)
    return Div.apply(a, b)


@public(inplace=True)
def neg(input):
    return Neg.apply(input)


@public(inplace=True)
def exp(input):
    return Exp.apply(_float(input))


def _float(x):
    """Unary float functions give the default float dtype for integer input, as PyTorch."""
    return x if x._data.dtype.kind == "f" else x.to(backend.get_default_dtype())


# aliases PyTorch also has
FUNCTIONS_ALIASES = {"subtract": sub, "multiply": mul, "divide": div, "true_divide": div,
                     "negative": neg}
for _name, _fn in FUNCTIONS_ALIASES.items():
    public(_fn, name=_name, inplace=True)
