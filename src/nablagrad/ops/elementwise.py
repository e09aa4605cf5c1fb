"""Elementwise ops: arithmetic with broadcasting, powers, the unary and binary math functions,
clamp/where, comparisons and bitwise/logical ops, with PyTorch's names, dtype rules and in-place
variants.

For y = f(a, b) with broadcasting, dL/da = dL/dy · ∂f/∂a summed over the broadcast dimensions;
the summing is done once, by the engine, so each backward here is just the local derivative.
Piecewise-constant functions (floor, sign, rounding division, ...) have derivative 0; comparisons
and bitwise ops give bool/integer tensors and are not differentiable.

Sections: promotion · casting · arithmetic · division with rounding · powers · fused arithmetic ·
unary math · special functions · rounding and sign · binary math · clamp, where, nan_to_num ·
comparisons · bitwise and logical · aliases.
"""
from __future__ import annotations

import math
import operator

import numpy as np

from .. import backend
from .._tensor import Tensor
from ..autograd.graph import Op
from ._api import assign_inplace, public

#: Python scalars that a floating tensor absorbs without changing dtype (NumPy >= 2 treats them
#: as "weak", like PyTorch's wrapped numbers)
_NUMBERS = (float, int, bool)


# ----------------------------------------------------------------------------- promotion
def promote(a, b, opname: str, *, floating=False):
    """Cast tensor operands to PyTorch's result dtype; Python scalars stay scalars.

    ``floating=True`` is for ops that always give a float (true division, atan2, ...): an integer
    result dtype becomes the default float dtype. Returns ``(a, b)`` ready to hand to an Op.
    The common cases (two tensors of one dtype, a float tensor with a Python number) return at
    once; everything else goes through :func:`backend.result_type`.
    """
    if isinstance(a, Tensor):
        da = a._data.dtype
        if isinstance(b, Tensor):
            if da is b._data.dtype and (not floating or da.kind == "f") \
                    and a._data.__class__ is b._data.__class__:
                return a, b
        elif da.kind == "f" and type(b) in _NUMBERS:
            return a, b
    elif isinstance(b, Tensor) and b._data.dtype.kind == "f" and type(a) in _NUMBERS:
        return a, b
    return _promote_slow(opname, floating, a, b)


def promote_all(opname: str, *operands, floating=False):
    """:func:`promote` for any number of operands (``None`` entries pass through)."""
    first = operands[0]
    if isinstance(first, Tensor):
        d = first._data.dtype
        if d.kind == "f" or not floating:
            for x in operands[1:]:
                if isinstance(x, Tensor):
                    if x._data.dtype is not d or x._data.__class__ is not first._data.__class__:
                        break
                elif x is not None and (d.kind != "f" or type(x) not in _NUMBERS):
                    break
            else:
                return operands
    return _promote_slow(opname, floating, *operands)


def _promote_slow(opname, floating, *operands):
    tensors = [x for x in operands if isinstance(x, Tensor)]
    if not tensors:
        raise TypeError(f"{opname}: expected at least one Tensor argument, got "
                        + ", ".join(type(x).__name__ for x in operands))
    dev = tensors[0].device
    for t in tensors[1:]:
        if t.device != dev:
            raise RuntimeError(f"{opname}: expected all tensors on the same device, got {dev} "
                               f"and {t.device}; move one with .to(device)")
    try:
        dt = backend.result_type(*operands)
    except TypeError:
        raise TypeError(f"{opname}: expected Tensors or Python numbers, got "
                        + ", ".join(type(x).__name__ for x in operands)) from None
    if floating and not dt.is_floating_point:
        dt = backend.get_default_dtype()
    return tuple(_cast_operand(x, dt) for x in operands)


def _cast_operand(x, dt):
    if isinstance(x, Tensor):
        return x if x._data.dtype == dt.np else x.to(dt)
    if x is None:
        return None
    # Python scalars are "weak" in NumPy >= 2 as in PyTorch: they take the tensor's dtype
    x = x.item() if hasattr(x, "item") else x
    if type(x) is int and dt._category == 1:
        info = np.iinfo(dt.np)
        if not info.min <= x <= info.max:  # PyTorch wraps the integer around, NumPy would raise
            x = np.uint64(x & 0xFFFFFFFFFFFFFFFF).astype(dt.np)
    return x


def _float(x, opname):
    """Float math functions give the default float dtype for integer and bool input."""
    try:
        kind = x._data.dtype.kind
    except AttributeError:
        raise TypeError(f"{opname}(): expected a Tensor, got {type(x).__name__}") from None
    return x if kind == "f" else x.to(backend.get_default_dtype())


def _kind(x, opname):
    try:
        return x._data.dtype.kind
    except AttributeError:
        raise TypeError(f"{opname}(): expected a Tensor, got {type(x).__name__}") from None


def _array(x):
    return x._data if isinstance(x, Tensor) else x


def _xp(a, b):
    """The array module of a binary op's operands (one of them may be a Python number)."""
    return backend.xp_of(b if type(a) in _NUMBERS else a)


def _zeros(g):
    """The zero gradient of a piecewise-constant function."""
    return Tensor._make(backend.xp_of(g._data).zeros_like(g._data))


def _mask(arr):
    """A bool array as a constant Tensor (for masks computed in forward)."""
    return Tensor._make(arr)


def _check_nonzero(b, opname):
    """Integer division by zero raises, as in PyTorch (NumPy would return 0 with a warning)."""
    if (b == 0) if not hasattr(b, "any") else (b == 0).any():
        raise RuntimeError(f"{opname}: ZeroDivisionError (integer division by zero)")


def apply_broadcasting(cls, opname, *args):
    """``cls.apply(*args)``, with NumPy's error for shapes that do not broadcast turned into one
    that names the op and the shapes."""
    try:
        return cls.apply(*args)
    except ValueError as e:
        raise broadcast_error(opname, args, e) from None


def broadcast_error(opname, operands, error):
    """A RuntimeError like PyTorch's if the operands' shapes do not broadcast, else ``error``."""
    shapes = [tuple(x.shape) for x in operands if isinstance(x, Tensor)]
    n = max(len(s) for s in shapes)
    for d in range(1, n + 1):
        sizes = {s[-d] for s in shapes if len(s) >= d} - {1}
        if len(sizes) > 1:
            a, b = sorted(sizes)[:2]
            return RuntimeError(f"{opname}: shapes {' and '.join(str(list(s)) for s in shapes)} "
                                f"cannot be broadcast together: size {a} does not match size {b} "
                                f"at non-singleton dimension {n - d}")
    return error


def _is_bool(x):
    return x.__class__ is bool or (isinstance(x, Tensor) and x._data.dtype.kind == "b")


def _no_bool(x, opname, hint=""):
    if x._data.dtype.kind == "b":
        raise RuntimeError(f"{opname}: not supported for bool tensors{hint}")


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
def _big(x) -> bool:
    """Worth splitting over threads (checked here so that small ops skip the call)."""
    return type(x) is np.ndarray and x.size >= backend.PARALLEL_MIN_SIZE


class Add(Op):
    """y = a + b; ∂y/∂a = ∂y/∂b = 1."""

    def forward(self, a, b):
        if _big(a) or _big(b):
            return backend.parallel_ufunc(np.add, a, b)
        return a + b

    def backward(self, g):
        return g, g


class Sub(Op):
    """y = a - b; ∂y/∂a = 1, ∂y/∂b = -1."""

    def forward(self, a, b):
        if _big(a) or _big(b):
            return backend.parallel_ufunc(np.subtract, a, b)
        return a - b

    def backward(self, g):
        return g, (-g if self.next[1] is not None else None)


class Mul(Op):
    """y = a · b; ∂y/∂a = b, ∂y/∂b = a."""

    def forward(self, a, b):
        self.retain_inputs(0, 1)
        if _big(a) or _big(b):
            return backend.parallel_ufunc(np.multiply, a, b)
        return a * b

    def backward(self, g):
        a, b = self.saved_tensors
        need_a, need_b = self.needs_input_grad
        return (g * b if need_a else None), (g * a if need_b else None)


class Div(Op):
    """y = a / b; ∂y/∂a = 1/b, ∂y/∂b = -a/b²."""

    def forward(self, a, b):
        self.retain_inputs(0, 1)
        if _big(a) or _big(b):
            return backend.parallel_ufunc(np.true_divide, a, b)
        return a / b

    def backward(self, g):
        a, b = self.saved_tensors
        need_a, need_b = self.needs_input_grad
        ga = g / b if need_a else None
        gb = -g * a / (b * b) if need_b else None
        return ga, gb


class Neg(Op):
    """y = -a; ∂y/∂a = -1."""

    def forward(self, a):
        return backend.parallel_ufunc(np.negative, a) if _big(a) else -a

    def backward(self, g):
        return -g


@public(inplace=True)
def add(input, other, *, alpha=1):
    """input + alpha · other, broadcasting."""
    if alpha != 1:
        other = mul(other, alpha)
    a, b = promote(input, other, "add")
    try:
        return Add.apply(a, b)
    except ValueError as e:
        raise broadcast_error("add", (a, b), e) from None


@public(inplace=True)
def sub(input, other, *, alpha=1):
    """input - alpha · other, broadcasting."""
    if _is_bool(input) or _is_bool(other):
        raise RuntimeError("sub: subtraction, the `-` operator, with a bool tensor is not "
                           "supported; to invert a mask use `~` or logical_not()")
    if alpha != 1:
        other = mul(other, alpha)
    a, b = promote(input, other, "sub")
    try:
        return Sub.apply(a, b)
    except ValueError as e:
        raise broadcast_error("sub", (a, b), e) from None


@public(method=False)
def rsub(input, other, *, alpha=1):
    """other - alpha · input (subtraction with the operands reversed)."""
    return sub(other, input, alpha=alpha)


@public(inplace=True)
def mul(input, other):
    """input · other, broadcasting."""
    a, b = promote(input, other, "mul")
    try:
        return Mul.apply(a, b)
    except ValueError as e:
        raise broadcast_error("mul", (a, b), e) from None


@public(inplace=True)
def div(input, other, *, rounding_mode=None):
    """input / other: true division (a float result, also for integers) by default, or rounded
    to an integer value with ``rounding_mode='trunc'`` (towards 0) or ``'floor'`` (down), which
    keeps integer dtypes."""
    if rounding_mode is None:
        a, b = promote(input, other, "div", floating=True)
        try:
            return Div.apply(a, b)
        except ValueError as e:
            raise broadcast_error("div", (a, b), e) from None
    if rounding_mode not in ("trunc", "floor"):
        raise RuntimeError("div expected rounding_mode to be one of None, 'trunc', or 'floor' "
                           f"but found {rounding_mode!r}")
    a, b = promote(input, other, "div")
    return apply_broadcasting(DivRounding, "div", a, b, rounding_mode)


@public(inplace=True)
def neg(input):
    """-input."""
    _no_bool(input, "neg", "; to invert a mask use `~` or logical_not()")
    return Neg.apply(input)


@public
def positive(input):
    """+input: the input itself."""
    _no_bool(input, "positive")
    return input


# ----------------------------------------------------------------------------- division with rounding
class DivRounding(Op):
    """y = trunc(a / b) (``'trunc'``) or ⌊a / b⌋ (``'floor'``, Python's ``//``).

    Piecewise constant: ∂y/∂a = ∂y/∂b = 0, as PyTorch's ``div(..., rounding_mode=...)``.
    """

    def forward(self, a, b, mode):
        kind = (a if hasattr(a, "dtype") else b).dtype.kind
        if kind == "b":
            raise RuntimeError(f"div: rounding_mode={mode!r} is not supported for bool tensors")
        if kind == "f":
            if mode == "floor":
                return _xp(a, b).floor_divide(a, b)
            return _xp(a, b).trunc(a / b)
        _check_nonzero(b, "div")
        q = a // b
        if mode == "trunc":  # integer floor division, moved up by one where inexact and negative
            q = q + ((q * b != a) & ((a < 0) ^ (b < 0)))
        return q

    def backward(self, g):
        ga, gb = self.next[0] is not None, self.next[1] is not None
        return (_zeros(g) if ga else None), (_zeros(g) if gb else None), None


class Remainder(Op):
    """y = a - b·⌊a/b⌋ (the sign of b, Python's ``%``); ∂y/∂a = 1, ∂y/∂b = -⌊a/b⌋."""

    def forward(self, a, b):
        self.retain_inputs(0, 1)
        return _xp(a, b).remainder(a, b)

    def backward(self, g):
        a, b = self.saved_tensors
        gb = -g * div(a, b, rounding_mode="floor") if self.next[1] is not None else None
        return g, gb


class Fmod(Op):
    """y = a - b·trunc(a/b) (the sign of a, C's ``fmod``); ∂y/∂a = 1, ∂y/∂b = -trunc(a/b)."""

    def forward(self, a, b):
        self.retain_inputs(0, 1)
        return _xp(a, b).fmod(a, b)

    def backward(self, g):
        a, b = self.saved_tensors
        gb = -g * div(a, b, rounding_mode="trunc") if self.next[1] is not None else None
        return g, gb


@public(inplace=True)
def floor_divide(input, other):
    """⌊input / other⌋ (the ``//`` operator); integer dtypes stay integer. Gradient 0."""
    return div(input, other, rounding_mode="floor")


def _modulo(cls, input, other, opname):
    a, b = promote(input, other, opname)
    kind = (a if isinstance(a, Tensor) else b)._data.dtype.kind
    if kind == "b":
        raise RuntimeError(f"{opname}: not supported for bool tensors")
    if kind != "f":
        _check_nonzero(_array(b), opname)
    return apply_broadcasting(cls, opname, a, b)


@public(inplace=True)
def remainder(input, other):
    """Python's modulus (the ``%`` operator): input - other·⌊input/other⌋, the sign of other."""
    return _modulo(Remainder, input, other, "remainder")


@public(inplace=True)
def fmod(input, other):
    """C's modulus: input - other·trunc(input/other), the sign of input."""
    return _modulo(Fmod, input, other, "fmod")


# ----------------------------------------------------------------------------- powers
def _int_power(xp, base, exp):
    """Integer power with PyTorch's rule for negative exponents: 1ⁿ = 1, (-1)ⁿ = ±1, else 0."""
    negative = exp < 0
    if not negative.any():
        return xp.power(base, exp)
    base = xp.asarray(base)
    out = xp.power(base, xp.where(negative, 0, exp))
    flip = xp.where(exp % 2 == 1, -1, 1).astype(out.dtype)
    small = xp.where(base == 1, 1, xp.where(base == -1, flip, 0)).astype(out.dtype)
    return xp.where(negative, small, out)


class PowScalar(Op):
    """y = xᵖ for a number p; ∂y/∂x = p·xᵖ⁻¹ (0 when p = 0)."""

    def forward(self, a, p):
        self.retain_inputs(0)
        self.p = p
        return backend.xp_of(a).power(a, p)

    def backward(self, g):
        (x,) = self.saved_tensors
        p = self.p
        if p == 0:
            return _zeros(g), None
        if p == 2:
            return g * (x * 2), None
        return g * (p * x.pow(p - 1)), None


class ScalarPow(Op):
    """y = sˣ for a number s; ∂y/∂x = y·ln s (0 where s = 0 and x ≥ 0)."""

    def forward(self, s, b):
        self.retain_inputs(1)
        self.retain_outputs(0)
        self.s = s
        xp = backend.xp_of(b)
        if b.dtype.kind in "iu":
            return _int_power(xp, s, b).astype(b.dtype, copy=False)
        return xp.power(s, b)

    def backward(self, g):
        x, y = self.saved_tensors
        s = self.s
        if s == 0:
            return None, where(x >= 0, 0.0, g * (y * -math.inf))
        return None, g * (y * (math.log(s) if s > 0 else math.nan))


class Pow(Op):
    """y = aᵇ for two tensors; ∂y/∂a = b·aᵇ⁻¹ (0 where b = 0), ∂y/∂b = y·ln a (0 where
    a = 0 and b ≥ 0)."""

    def forward(self, a, b):
        self.retain_inputs(0, 1)
        self.retain_outputs(0)
        xp = backend.xp_of(a)
        if a.dtype.kind in "iu":
            return _int_power(xp, a, b)
        return xp.power(a, b)

    def backward(self, g):
        a, b, y = self.saved_tensors
        ga = gb = None
        if self.next[0] is not None:
            ga = where(b == 0, 0.0, g * (b * a.pow(b - 1)))
        if self.next[1] is not None:
            gb = where((a == 0) & (b >= 0), 0.0, g * (y * a.log()))
        return ga, gb


@public(inplace=True)
def pow(input, exponent):
    """input ** exponent, with tensors or numbers on either side (``2 ** t`` too). Integers to
    integer powers stay integer (negative scalar powers of integer tensors raise)."""
    if isinstance(exponent, Tensor):
        a, b = promote(input, exponent, "pow")
        if isinstance(a, Tensor):
            if a._data.dtype.kind == "b":
                raise RuntimeError("pow: not implemented for bool tensors")
            return apply_broadcasting(Pow, "pow", a, b)
        if b._data.dtype.kind == "b":
            raise RuntimeError("pow: not implemented for bool tensors")
        return ScalarPow.apply(a, b)
    a, p = promote(input, exponent, "pow")
    kind = a._data.dtype.kind
    if kind == "b":  # bool ** bool: x¹ = x, x⁰ = True
        return Tensor._make(a._data.copy() if p else backend.xp_of(a._data).ones_like(a._data))
    if kind in "iu" and type(p) is int and p < 0:
        raise RuntimeError("pow: Integers to negative integer powers are not allowed.")
    return PowScalar.apply(a, p)


@public
def float_power(input, exponent):
    """input ** exponent computed in float64 (the result is always float64)."""
    def f64(x):
        return x.to(backend.float64) if isinstance(x, Tensor) else float(x)
    return pow(f64(input), f64(exponent))


def _float_power_(self, exponent):
    """In-place :func:`float_power`: only for a float64 tensor, as the result is float64."""
    if self._data.dtype != backend.float64.np:
        raise RuntimeError(f"float_power_: the base has dtype {self.dtype}, but the result "
                           "requires dtype nablagrad.float64")
    return assign_inplace(self, lambda t: float_power(t, exponent), "float_power_")


Tensor.float_power_ = _float_power_


@public(inplace=True)
def square(input):
    """input²; integer dtypes stay integer (bool gives int64)."""
    return pow(input, 2)


# ----------------------------------------------------------------------------- fused arithmetic
class AddCMul(Op):
    """y = a + v·t₁·t₂; ∂y/∂a = 1, ∂y/∂t₁ = v·t₂, ∂y/∂t₂ = v·t₁."""

    def forward(self, a, t1, t2, value):
        self.retain_inputs(1, 2)
        self.value = value
        p = t1 * t2
        return a + (p * value if value != 1 else p)

    def backward(self, g):
        t1, t2 = self.saved_tensors
        gv = g * self.value if self.value != 1 else g
        return (g, gv * t2 if self.next[1] is not None else None,
                gv * t1 if self.next[2] is not None else None, None)


class AddCDiv(Op):
    """y = a + v·t₁/t₂; ∂y/∂a = 1, ∂y/∂t₁ = v/t₂, ∂y/∂t₂ = -v·t₁/t₂²."""

    def forward(self, a, t1, t2, value):
        self.retain_inputs(1, 2)
        self.value = value
        q = t1 / t2
        return a + (q * value if value != 1 else q)

    def backward(self, g):
        t1, t2 = self.saved_tensors
        gv = g * self.value if self.value != 1 else g
        g1 = gv / t2 if self.next[1] is not None else None
        g2 = -gv * t1 / (t2 * t2) if self.next[2] is not None else None
        return g, g1, g2, None


class Lerp(Op):
    """y = a + w·(b - a); ∂y/∂a = 1 - w, ∂y/∂b = w, ∂y/∂w = b - a."""

    def forward(self, a, b, w):
        self.retain_inputs(0, 1, 2)
        return a + w * (b - a)

    def backward(self, g):
        a, b, w = self.saved_tensors
        nxt = self.next
        return (g * (1 - w) if nxt[0] is not None else None,
                g * w if nxt[1] is not None else None,
                g * (b - a) if nxt[2] is not None else None)


def _fused(cls, opname, input, tensor1, tensor2, value):
    a, t1, t2 = promote_all(opname, input, tensor1, tensor2)
    if a._data.dtype.kind != "f" and isinstance(value, float):
        raise RuntimeError(f"{opname}: for integral input tensors, argument value must not be a "
                           "floating point number")
    return apply_broadcasting(cls, opname, a, t1, t2, value)


@public(inplace=True)
def addcmul(input, tensor1, tensor2, *, value=1):
    """input + value · tensor1 · tensor2."""
    return _fused(AddCMul, "addcmul", input, tensor1, tensor2, value)


@public(inplace=True)
def addcdiv(input, tensor1, tensor2, *, value=1):
    """input + value · tensor1 / tensor2 (tensor1 and tensor2 must not both be integers)."""
    if _kind(tensor1, "addcdiv") in "iub" and _kind(tensor2, "addcdiv") in "iub":
        raise RuntimeError("addcdiv: integer division with addcdiv is not supported; use "
                           "input + value * tensor1 / tensor2")
    return _fused(AddCDiv, "addcdiv", input, tensor1, tensor2, value)


@public(inplace=True)
def lerp(input, end, weight):
    """Linear interpolation input + weight · (end - input); weight a number or a tensor."""
    a, b, w = promote_all("lerp", input, end, weight)
    if a._data.dtype.kind != "f":
        raise RuntimeError(f"lerp: expected floating point tensors, got {a.dtype}")
    return apply_broadcasting(Lerp, "lerp", a, b, w)


# ----------------------------------------------------------------------------- unary math
class Unary(Op):
    """Base of the elementwise y = f(x) with a derivative in closed form.

    Subclasses give ``f(xp, x)`` on arrays, ``df(g, v)`` = dL/dx in Tensor ops, and ``keep``:
    which of x ("x") or y ("y") ``df`` receives as ``v``.
    """

    keep = "x"

    def forward(self, a):
        if self.keep == "x":
            self.retain_inputs(0)
        else:
            self.retain_outputs(0)
        return self.f(backend.xp_of(a), a)

    def backward(self, g):
        return self.df(g, self.saved_tensors[0])


def _unary(name, formula, f, df, keep="x"):
    """The Op class ``name`` for y = f(x), documented by ``formula``."""
    return type(name, (Unary,), {"__doc__": formula, "f": staticmethod(f),
                                 "df": staticmethod(df), "keep": keep, "__module__": __name__})


def _float_unary(name, cls):
    """Publish ``name(input)`` = cls applied to input (integers become the default float)."""
    def fn(input):
        return cls.apply(_float(input, name))
    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = cls.__doc__
    return public(fn, inplace=True)


def _threaded(ufunc):
    """``f(xp, x)`` = ufunc(x), split over threads for large NumPy arrays (CuPy arrays go
    through NumPy's ufunc protocol to CuPy)."""
    return lambda xp, x: backend.parallel_ufunc(ufunc, x) if _big(x) else ufunc(x)


LN2, LN10 = math.log(2.0), math.log(10.0)
TWO_OVER_SQRT_PI = 2.0 / math.sqrt(math.pi)

Exp = _unary("Exp", "y = eˣ; dy/dx = y.", _threaded(np.exp), lambda g, y: g * y, "y")
Exp2 = _unary("Exp2", "y = 2ˣ; dy/dx = y·ln 2.", _threaded(np.exp2),
              lambda g, y: g * (y * LN2), "y")
Expm1 = _unary("Expm1", "y = eˣ - 1 (exact near 0); dy/dx = y + 1.", _threaded(np.expm1),
               lambda g, y: g * (y + 1), "y")
Log = _unary("Log", "y = ln x; dy/dx = 1/x.", _threaded(np.log), lambda g, x: g / x)
Log2 = _unary("Log2", "y = log₂ x; dy/dx = 1/(x·ln 2).", _threaded(np.log2),
              lambda g, x: g / (x * LN2))
Log10 = _unary("Log10", "y = log₁₀ x; dy/dx = 1/(x·ln 10).", _threaded(np.log10),
               lambda g, x: g / (x * LN10))
Log1p = _unary("Log1p", "y = ln(1 + x) (exact near 0); dy/dx = 1/(1 + x).",
               _threaded(np.log1p), lambda g, x: g / (x + 1))
Sqrt = _unary("Sqrt", "y = √x; dy/dx = 1/(2y).", _threaded(np.sqrt),
              lambda g, y: g / (y * 2), "y")
Rsqrt = _unary("Rsqrt", "y = 1/√x; dy/dx = -y³/2.", lambda xp, x: 1 / xp.sqrt(x),
               lambda g, y: g * (y * y * y * -0.5), "y")
Reciprocal = _unary("Reciprocal", "y = 1/x; dy/dx = -y².", lambda xp, x: 1 / x,
                    lambda g, y: g * -(y * y), "y")
Sin = _unary("Sin", "y = sin x; dy/dx = cos x.", _threaded(np.sin), lambda g, x: g * x.cos())
Cos = _unary("Cos", "y = cos x; dy/dx = -sin x.", _threaded(np.cos),
             lambda g, x: g * -x.sin())
Tan = _unary("Tan", "y = tan x; dy/dx = 1 + y².", _threaded(np.tan),
             lambda g, y: g * (y * y + 1), "y")
Tanh = _unary("Tanh", "y = tanh x; dy/dx = 1 - y².", _threaded(np.tanh),
              lambda g, y: g * (1 - y * y), "y")
Sinh = _unary("Sinh", "y = sinh x; dy/dx = cosh x.", _threaded(np.sinh),
              lambda g, x: g * x.cosh())
Cosh = _unary("Cosh", "y = cosh x; dy/dx = sinh x.", _threaded(np.cosh),
              lambda g, x: g * x.sinh())
Asin = _unary("Asin", "y = asin x; dy/dx = 1/√(1 - x²).", _threaded(np.arcsin),
              lambda g, x: g * (1 - x * x).rsqrt())
Acos = _unary("Acos", "y = acos x; dy/dx = -1/√(1 - x²).", _threaded(np.arccos),
              lambda g, x: g * -(1 - x * x).rsqrt())
Atan = _unary("Atan", "y = atan x; dy/dx = 1/(1 + x²).", _threaded(np.arctan),
              lambda g, x: g / (x * x + 1))
Asinh = _unary("Asinh", "y = asinh x; dy/dx = 1/√(x² + 1).", _threaded(np.arcsinh),
               lambda g, x: g * (x * x + 1).rsqrt())
Acosh = _unary("Acosh", "y = acosh x; dy/dx = 1/√(x² - 1).", _threaded(np.arccosh),
               lambda g, x: g * (x * x - 1).rsqrt())
Atanh = _unary("Atanh", "y = atanh x; dy/dx = 1/(1 - x²).", _threaded(np.arctanh),
               lambda g, x: g / (1 - x * x))


def _sigmoid(xp, x):
    if x.dtype.itemsize == 2:  # float16: computed in float32, as PyTorch does
        return _sigmoid(xp, x.astype(xp.float32)).astype(x.dtype)
    y = xp.empty_like(x)  # one buffer for all the steps
    if xp is np and x.flags.c_contiguous:  # large arrays: in flat chunks, on several threads
        fx, fy = x.reshape(-1), y.reshape(-1)
        backend.parallel_chunks(lambda i, j: _sigmoid_into(np, fx[i:j], fy[i:j]), x.size)
        return y
    return _sigmoid_into(xp, x, y)


def _sigmoid_into(xp, x, y):
    """y = 1/(1 + e⁻ˣ) written into the buffer y."""
    xp.negative(x, out=y)
    # -x is capped where e⁻ˣ would overflow (y is then below 1e-38, not exactly 0)
    xp.minimum(y, 88.0 if x.dtype.itemsize == 4 else 709.0, out=y)
    xp.exp(y, out=y)
    y += 1
    return xp.reciprocal(y, out=y)


Sigmoid = _unary("Sigmoid", "y = σ(x) = 1/(1 + e⁻ˣ); dy/dx = y·(1 - y).", _sigmoid,
                 lambda g, y: g * (y * (1 - y)), "y")

exp = _float_unary("exp", Exp)
exp2 = _float_unary("exp2", Exp2)
expm1 = _float_unary("expm1", Expm1)
log = _float_unary("log", Log)
log2 = _float_unary("log2", Log2)
log10 = _float_unary("log10", Log10)
log1p = _float_unary("log1p", Log1p)
sqrt = _float_unary("sqrt", Sqrt)
rsqrt = _float_unary("rsqrt", Rsqrt)
reciprocal = _float_unary("reciprocal", Reciprocal)
sin = _float_unary("sin", Sin)
cos = _float_unary("cos", Cos)
tan = _float_unary("tan", Tan)
tanh = _float_unary("tanh", Tanh)
sinh = _float_unary("sinh", Sinh)
cosh = _float_unary("cosh", Cosh)
asin = _float_unary("asin", Asin)
acos = _float_unary("acos", Acos)
atan = _float_unary("atan", Atan)
asinh = _float_unary("asinh", Asinh)
acosh = _float_unary("acosh", Acosh)
atanh = _float_unary("atanh", Atanh)
sigmoid = _float_unary("sigmoid", Sigmoid)


class Logit(Op):
    """y = ln(x / (1 - x)), x first clamped to [eps, 1 - eps] when eps is given;
    dy/dx = 1/(x·(1 - x)) inside that range, 0 outside it (NaN outside [0, 1] without eps)."""

    def forward(self, a, eps):
        self.retain_inputs(0)
        self.eps = eps
        xp = backend.xp_of(a)
        z = a if eps is None else xp.clip(a, eps, 1 - eps)
        return xp.log(z / (1 - z))

    def backward(self, g):
        (x,) = self.saved_tensors
        d = g / (x * (1 - x))
        if self.eps is None:
            return where((x < 0) | (x > 1), math.nan, d), None
        return where((x < self.eps) | (x > 1 - self.eps), 0.0, d), None


@public(inplace=True)
def logit(input, eps=None):
    """The inverse of sigmoid, ln(p / (1 - p)), with p clamped to [eps, 1 - eps] if eps is given."""
    return Logit.apply(_float(input, "logit"), eps)


# ----------------------------------------------------------------------------- special functions
def _special(fname):
    """f(xp, x) calling scipy.special (cupyx.scipy.special on the GPU), keeping x's dtype."""
    def f(xp, x):
        return getattr(backend.special(x), fname)(x).astype(x.dtype, copy=False)
    return f


Erf = _unary("Erf", "y = erf x = 2/√π ∫₀ˣ e^(-t²) dt; dy/dx = 2/√π · e^(-x²).", _special("erf"),
             lambda g, x: g * ((x * x).neg().exp() * TWO_OVER_SQRT_PI))
Erfc = _unary("Erfc", "y = erfc x = 1 - erf x; dy/dx = -2/√π · e^(-x²).", _special("erfc"),
              lambda g, x: g * ((x * x).neg().exp() * -TWO_OVER_SQRT_PI))
Erfinv = _unary("Erfinv", "y = erf⁻¹ x; dy/dx = √π/2 · e^(y²).", _special("erfinv"),
                lambda g, y: g * ((y * y).exp() * (1 / TWO_OVER_SQRT_PI)), "y")
Lgamma = _unary("Lgamma", "y = ln |Γ(x)|; dy/dx = ψ(x) (digamma).", _special("gammaln"),
                lambda g, x: g * digamma(x))
Digamma = _unary("Digamma", "y = ψ(x) = d/dx ln Γ(x); dy/dx = ψ⁽¹⁾(x) (trigamma).",
                 _special("digamma"), lambda g, x: g * polygamma(1, x))

erf = _float_unary("erf", Erf)
erfc = _float_unary("erfc", Erfc)
erfinv = _float_unary("erfinv", Erfinv)
lgamma = _float_unary("lgamma", Lgamma)
digamma = _float_unary("digamma", Digamma)


class Polygamma(Op):
    """y = ψ⁽ⁿ⁾(x), the n-th derivative of the digamma function; dy/dx = ψ⁽ⁿ⁺¹⁾(x)."""

    def forward(self, a, n):
        self.retain_inputs(0)
        self.n = n
        return backend.special(a).polygamma(n, a).astype(a.dtype, copy=False)

    def backward(self, g):
        (x,) = self.saved_tensors
        return g * polygamma(self.n + 1, x), None


@public(method=False)
def polygamma(n, input):
    """ψ⁽ⁿ⁾(input), the n-th derivative of the digamma function (n ≥ 0)."""
    if not isinstance(n, int) or n < 0:
        raise RuntimeError(f"polygamma: n must be a non-negative integer, got {n!r}")
    return Polygamma.apply(_float(input, "polygamma"), n)


@public(name="polygamma", function=False, inplace=True)
def _polygamma_method(self, n):
    """``tensor.polygamma(n)`` = ``polygamma(n, tensor)``."""
    return polygamma(n, self)


# ----------------------------------------------------------------------------- rounding and sign
class Abs(Op):
    """y = |x|; dy/dx = sign(x) (0 at 0)."""

    def forward(self, a):
        self.retain_inputs(0)
        return backend.xp_of(a).abs(a)

    def backward(self, g):
        (x,) = self.saved_tensors
        return g * x.sign()


class Frac(Op):
    """y = x - trunc(x); dy/dx = 1."""

    def forward(self, a):
        return a - backend.xp_of(a).trunc(a)

    def backward(self, g):
        return g


class Piecewise(Op):
    """Base of the piecewise-constant y = f(x) (sign, floor, ...): dy/dx = 0. Subclasses give
    ``f(xp, x, *args)``."""

    def forward(self, a, *args):
        return self.f(backend.xp_of(a), a, *args)

    def backward(self, g):
        return (_zeros(g),) + (None,) * (len(self.next) - 1)


def _piecewise(name, doc, f):
    return type(name, (Piecewise,), {"__doc__": doc, "f": staticmethod(f), "__module__": __name__})


def _round_array(xp, x, decimals=0):
    if decimals == 0:
        return xp.round(x)
    if decimals > 0:  # PyTorch's order of operations: round(x·10ᵈ)/10ᵈ, or round(x/10⁻ᵈ)·10⁻ᵈ
        scale = 10.0 ** decimals
        return xp.round(x * scale) / scale
    scale = 10.0 ** -decimals
    return xp.round(x / scale) * scale


Sign = _piecewise("Sign", "y = sign(x) ∈ {-1, 0, 1}; dy/dx = 0.", lambda xp, x: xp.sign(x))
Floor = _piecewise("Floor", "y = ⌊x⌋; dy/dx = 0.", lambda xp, x: xp.floor(x))
Ceil = _piecewise("Ceil", "y = ⌈x⌉; dy/dx = 0.", lambda xp, x: xp.ceil(x))
Trunc = _piecewise("Trunc", "y = x rounded towards 0; dy/dx = 0.", lambda xp, x: xp.trunc(x))
Round = _piecewise("Round", "y = x rounded to the nearest (half to even), at ``decimals`` "
                   "decimal places; dy/dx = 0.", _round_array)


@public(inplace=True)
def abs(input):
    """|input|; integer dtypes stay integer."""
    _no_bool(input, "abs")
    return Abs.apply(input)


@public(inplace=True)
def sign(input):
    """-1, 0 or 1 by the sign of each element (bool stays bool)."""
    if _kind(input, "sign") == "b":
        return Tensor._make(input._data.copy())
    return Sign.apply(input)


@public(inplace=True)
def sgn(input):
    """sign(input) (for real tensors the same as :func:`sign`)."""
    return sign(input)


def _integral_rounded(input, name):
    """Rounding an integer tensor gives a copy of it; bool tensors are not rounded."""
    if input._data.dtype.kind == "b":
        raise RuntimeError(f"{name}: not implemented for bool tensors")
    return Tensor._make(input._data.copy())


def _rounding(name, cls):
    """The public rounding function ``name(input)`` for the Op ``cls``."""
    def fn(input):
        return cls.apply(input) if _kind(input, name) == "f" else _integral_rounded(input, name)
    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = cls.__doc__
    return fn


floor = public(_rounding("floor", Floor), inplace=True)
ceil = public(_rounding("ceil", Ceil), inplace=True)
trunc = public(_rounding("trunc", Trunc), inplace=True)


@public(inplace=True)
def round(input, *, decimals=0):
    """input rounded to the nearest integer, ties to even; with ``decimals``, to that many
    decimal places (negative: to tens, hundreds, ...). Gradient 0."""
    if _kind(input, "round") != "f":
        return _integral_rounded(input, "round")
    return Round.apply(input, decimals)


@public(inplace=True)
def frac(input):
    """The fractional part input - trunc(input), with input's sign; floating tensors only."""
    if _kind(input, "frac") != "f":
        raise RuntimeError(f"frac: not implemented for {input.dtype} tensors")
    return Frac.apply(input)


# ----------------------------------------------------------------------------- binary math
class Atan2(Op):
    """y = atan2(a, b), the angle of the point (b, a); ∂y/∂a = b/(a² + b²), ∂y/∂b = -a/(a² + b²)."""

    def forward(self, a, b):
        self.retain_inputs(0, 1)
        return _xp(a, b).arctan2(a, b)

    def backward(self, g):
        a, b = self.saved_tensors
        gr = g / (a * a + b * b)
        return (gr * b if self.next[0] is not None else None,
                gr * -a if self.next[1] is not None else None)


class Hypot(Op):
    """y = √(a² + b²); ∂y/∂a = a/y, ∂y/∂b = b/y."""

    def forward(self, a, b):
        self.retain_inputs(0, 1)
        self.retain_outputs(0)
        return _xp(a, b).hypot(a, b)

    def backward(self, g):
        a, b, y = self.saved_tensors
        gy = g / y
        return (gy * a if self.next[0] is not None else None,
                gy * b if self.next[1] is not None else None)


class Copysign(Op):
    """y = |a| with the sign of b; ∂y/∂a = y/a (0 where a = 0), ∂y/∂b = 0."""

    def forward(self, a, b):
        self.retain_inputs(0)
        self.retain_outputs(0)
        return _xp(a, b).copysign(a, b)

    def backward(self, g):
        a, y = self.saved_tensors
        ga = where(a == 0, 0.0, g * (y / a)) if self.next[0] is not None else None
        return ga, (_zeros(g) if self.next[1] is not None else None)


class Xlogy(Op):
    """y = x·ln(z), 0 where x = 0 (unless z is NaN); ∂y/∂x = ln z (0 where x = 0 and z ≤ 0),
    ∂y/∂z = x/z."""

    def forward(self, x, z):
        self.retain_inputs(0, 1)
        xp = _xp(x, z)
        if not hasattr(z, "dtype"):  # a number: the log of a 0-dim array keeps x's dtype
            z = xp.asarray(z, dtype=x.dtype)
        with np.errstate(divide="ignore", invalid="ignore"):
            out = x * xp.log(z)
        return xp.where((x == 0) & ~xp.isnan(z), 0, out).astype(out.dtype, copy=False)

    def backward(self, g):
        x, z = self.saved_tensors
        gx = gz = None
        if self.next[0] is not None:
            gx = where((x == 0) & (z <= 0), 0.0, xlogy(g, z))
        if self.next[1] is not None:
            gz = g * x / z
        return gx, gz


class LogAddExp(Op):
    """y = ln(eᵃ + eᵇ); ∂y/∂a = 1/(1 + e^(b-a)), ∂y/∂b = 1/(1 + e^(a-b))."""

    def forward(self, a, b):
        self.retain_inputs(0, 1)
        return _xp(a, b).logaddexp(a, b)

    def backward(self, g):
        a, b = self.saved_tensors
        return (g / ((b - a).exp() + 1) if self.next[0] is not None else None,
                g / ((a - b).exp() + 1) if self.next[1] is not None else None)


class LogAddExp2(Op):
    """y = log₂(2ᵃ + 2ᵇ); ∂y/∂a = 1/(1 + 2^(b-a)), ∂y/∂b = 1/(1 + 2^(a-b))."""

    def forward(self, a, b):
        self.retain_inputs(0, 1)
        return _xp(a, b).logaddexp2(a, b)

    def backward(self, g):
        a, b = self.saved_tensors
        return (g / ((b - a).exp2() + 1) if self.next[0] is not None else None,
                g / ((a - b).exp2() + 1) if self.next[1] is not None else None)


class Extremum(Op):
    """Base of maximum/minimum/fmax/fmin: y picks a or b elementwise and the gradient goes to
    the picked input with the weights ``weights(xp, a, b)`` (computed in forward)."""

    def forward(self, a, b):
        xp = _xp(a, b)
        y = self.pick(xp, a, b)
        if self.requires_grad:
            wa, wb = self.weights(xp, a, b)
            self.wa, self.wb = wa.astype(y.dtype, copy=False), wb.astype(y.dtype, copy=False)
        return y

    def backward(self, g):
        return (g * Tensor._make(self.wa) if self.next[0] is not None else None,
                g * Tensor._make(self.wb) if self.next[1] is not None else None)


def _split_ties(xp, a_wins, b_wins, tie):
    """Weights 1/0 to the winner, ½ each on a tie, 1 to both where a NaN is involved."""
    return xp.where(tie, 0.5, xp.where(b_wins, 0.0, 1.0)), xp.where(tie, 0.5, xp.where(a_wins, 0.0, 1.0))


class Maximum(Extremum):
    """y = max(a, b), NaN if either is; ∂y/∂a = 1 where a > b, ½ where a = b, else 0."""
    pick = staticmethod(lambda xp, a, b: xp.maximum(a, b))
    weights = staticmethod(lambda xp, a, b: _split_ties(xp, a > b, a < b, a == b))


class Minimum(Extremum):
    """y = min(a, b), NaN if either is; ∂y/∂a = 1 where a < b, ½ where a = b, else 0."""
    pick = staticmethod(lambda xp, a, b: xp.minimum(a, b))
    weights = staticmethod(lambda xp, a, b: _split_ties(xp, a < b, a > b, a == b))


def _prefer_a(mask_a):
    return mask_a, ~mask_a


class Fmax(Extremum):
    """y = max(a, b) ignoring a NaN; ∂y/∂a = 1 where a ≥ b or b is NaN, else 0 (∂y/∂b = 1 - ∂y/∂a)."""
    pick = staticmethod(lambda xp, a, b: xp.fmax(a, b))
    weights = staticmethod(lambda xp, a, b: _prefer_a((a >= b) | xp.isnan(b)))


class Fmin(Extremum):
    """y = min(a, b) ignoring a NaN; ∂y/∂a = 1 where a ≤ b or b is NaN, else 0 (∂y/∂b = 1 - ∂y/∂a)."""
    pick = staticmethod(lambda xp, a, b: xp.fmin(a, b))
    weights = staticmethod(lambda xp, a, b: _prefer_a((a <= b) | xp.isnan(b)))


def _binary(name, cls, floating=True):
    """Publish ``name(input, other)`` = cls on the promoted operands."""
    def fn(input, other):
        a, b = promote(input, other, name, floating=floating)
        return apply_broadcasting(cls, name, a, b)
    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = cls.__doc__
    return fn


def _float_only(name, fn):
    """Wrap a binary function that PyTorch defines for floating tensors only."""
    def checked(input, other):
        for x in (input, other):
            if isinstance(x, Tensor) and x._data.dtype.kind != "f":
                raise RuntimeError(f"{name}: not implemented for {x.dtype} tensors; convert "
                                   "with .float() first")
        return fn(input, other)
    checked.__name__ = checked.__qualname__ = name
    checked.__doc__ = fn.__doc__
    return checked


atan2 = public(_binary("atan2", Atan2), inplace=True)
hypot = public(_float_only("hypot", _binary("hypot", Hypot)), inplace=True)
copysign = public(_binary("copysign", Copysign), inplace=True)
xlogy = public(_binary("xlogy", Xlogy), inplace=True)
logaddexp = public(_float_only("logaddexp", _binary("logaddexp", LogAddExp)))
logaddexp2 = public(_float_only("logaddexp2", _binary("logaddexp2", LogAddExp2)))
maximum = public(_binary("maximum", Maximum, floating=False))
minimum = public(_binary("minimum", Minimum, floating=False))
fmax = public(_binary("fmax", Fmax, floating=False))
fmin = public(_binary("fmin", Fmin, floating=False))


# ----------------------------------------------------------------------------- clamp, where, nan_to_num
class Clamp(Op):
    """y = min(max(x, lo), hi) (NaN stays NaN). The gradient goes to x where lo ≤ x ≤ hi, to lo
    where x < lo < hi, and to hi where x > hi or hi < lo (PyTorch's rule at the boundaries)."""

    def forward(self, a, lo, hi):
        y = backend.xp_of(a).clip(a, lo, hi)
        if self.requires_grad:
            if lo is not None and hi is not None:
                self.mx = (a >= lo) & (a <= hi)
                self.mlo = (a < lo) & (lo < hi)
                self.mhi = (a > hi) | (hi < lo)
            elif lo is not None:
                self.mx, self.mlo = a >= lo, a < lo
            else:
                self.mx, self.mhi = a <= hi, a > hi
        return y

    def backward(self, g):
        nxt = self.next
        return (where(_mask(self.mx), g, 0.0) if nxt[0] is not None else None,
                where(_mask(self.mlo), g, 0.0) if nxt[1] is not None else None,
                where(_mask(self.mhi), g, 0.0) if nxt[2] is not None else None)


@public(inplace=True)
def clamp(input, min=None, max=None):
    """Limit input to [min, max] (either may be None; numbers or tensors): min(max(input, min),
    max), so where min > max the result is max."""
    if min is None and max is None:
        raise RuntimeError("clamp: at least one of 'min' or 'max' must not be None")
    a, lo, hi = promote_all("clamp", input, min, max)
    return apply_broadcasting(Clamp, "clamp", a, lo, hi)


@public(inplace=True)
def clamp_min(input, min):
    """max(input, min)."""
    return clamp(input, min=min)


@public(inplace=True)
def clamp_max(input, max):
    """min(input, max)."""
    return clamp(input, max=max)


class Where(Op):
    """y = a where condition else b; ∂y/∂a = [condition], ∂y/∂b = [not condition]."""

    def forward(self, cond, a, b, np_dtype):
        self.cond = cond
        y = backend.xp_of(cond).where(cond, a, b)
        return y if y.dtype == np_dtype else y.astype(np_dtype)

    def backward(self, g):
        c = Tensor._make(self.cond)
        nxt = self.next
        return (None, where(c, g, 0.0) if nxt[1] is not None else None,
                where(c, 0.0, g) if nxt[2] is not None else None, None)


@public(method=False)
def where(condition, input, other):
    """input where condition is True, else other (broadcasting all three; numbers allowed)."""
    if not isinstance(condition, Tensor) or condition._data.dtype.kind != "b":
        got = condition.dtype if isinstance(condition, Tensor) else type(condition).__name__
        raise RuntimeError(f"where: expected condition to be a bool tensor, got {got}")
    if isinstance(input, Tensor) or isinstance(other, Tensor):
        a, b = promote(input, other, "where")
        np_dtype = (a if isinstance(a, Tensor) else b)._data.dtype
    else:
        a, b = input, other
        np_dtype = backend.result_type(a, b).np
    return apply_broadcasting(Where, "where", condition, a, b, np_dtype)


@public(name="where", function=False)
def _where_method(self, condition, y):
    """``x.where(condition, y)`` = ``where(condition, x, y)``."""
    return where(condition, self, y)


class NanToNum(Op):
    """y = x with NaN, +inf and -inf replaced by numbers; dy/dx = 1 where x is finite, else 0."""

    def forward(self, a, nan, posinf, neginf):
        xp = backend.xp_of(a)
        if self.requires_grad:
            self.finite = xp.isfinite(a)
        return xp.nan_to_num(a, nan=nan, posinf=posinf, neginf=neginf)

    def backward(self, g):
        return where(_mask(self.finite), g, 0.0), None, None, None


@public(inplace=True)
def nan_to_num(input, nan=0.0, posinf=None, neginf=None):
    """Replace NaN by ``nan``, +inf by ``posinf`` and -inf by ``neginf`` (by default the largest
    and smallest finite numbers of input's dtype)."""
    if _kind(input, "nan_to_num") != "f":
        return Tensor._make(input._data.copy())
    return NanToNum.apply(input, nan, posinf, neginf)


# ----------------------------------------------------------------------------- comparisons
def _comparison(name, compare, doc):
    """Publish ``name(input, other)``: a bool tensor, computed after type promotion."""
    def fn(input, other):
        a, b = promote(input, other, name)
        try:
            return Tensor._make(compare(_array(a), _array(b)))
        except ValueError as e:
            raise broadcast_error(name, (a, b), e) from None
    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = doc + " Elementwise, broadcasting; a bool tensor (not differentiable)."
    return public(fn, inplace=True)


eq = _comparison("eq", operator.eq, "input == other.")
ne = _comparison("ne", operator.ne, "input != other.")
lt = _comparison("lt", operator.lt, "input < other.")
le = _comparison("le", operator.le, "input <= other.")
gt = _comparison("gt", operator.gt, "input > other.")
ge = _comparison("ge", operator.ge, "input >= other.")


@public
def equal(input, other):
    """True if both tensors have the same shape and elements (a Python bool)."""
    if tuple(input.shape) != tuple(other.shape):
        return False
    a, b = promote(input, other, "equal")
    return bool((a._data == b._data).all())


@public
def isclose(input, other, rtol=1e-05, atol=1e-08, equal_nan=False):
    """|input - other| ≤ atol + rtol·|other| elementwise (equal infinities count as close)."""
    a, b = promote(input, other, "isclose")
    a, b = _array(a), _array(b)
    kind = (a if hasattr(a, "dtype") else b).dtype.kind
    if kind == "b":
        return Tensor._make(a == b)
    xp = backend.xp_of(a if hasattr(a, "dtype") else b)
    return Tensor._make(xp.isclose(a, b, rtol=rtol, atol=atol, equal_nan=equal_nan))


@public
def allclose(input, other, rtol=1e-05, atol=1e-08, equal_nan=False):
    """True if every element of input is close to other (see :func:`isclose`; a Python bool)."""
    return bool(isclose(input, other, rtol, atol, equal_nan)._data.all())


def _test(name, float_test, other_test, doc):
    """Publish ``name(input)``: a bool tensor testing each element."""
    def fn(input):
        arr = input._data if isinstance(input, Tensor) else None
        if arr is None:
            raise TypeError(f"{name}(): expected a Tensor, got {type(input).__name__}")
        xp = backend.xp_of(arr)
        return Tensor._make(float_test(xp, arr) if arr.dtype.kind == "f" else other_test(xp, arr))
    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = doc + " (a bool tensor)"
    return public(fn)


def _none(xp, a):
    return xp.zeros(a.shape, dtype=bool)


isnan = _test("isnan", lambda xp, a: xp.isnan(a), _none, "input is NaN")
isinf = _test("isinf", lambda xp, a: xp.isinf(a), _none, "input is +inf or -inf")
isposinf = _test("isposinf", lambda xp, a: a == math.inf, _none, "input is +inf")
isneginf = _test("isneginf", lambda xp, a: a == -math.inf, _none, "input is -inf")
isfinite = _test("isfinite", lambda xp, a: xp.isfinite(a), lambda xp, a: xp.ones(a.shape, bool),
                 "input is neither NaN nor infinite")
signbit = _test("signbit", lambda xp, a: xp.signbit(a),
                lambda xp, a: a < 0 if a.dtype.kind == "i" else _none(xp, a),
                "the sign bit of input is set (true for -0.0 too)")


# ----------------------------------------------------------------------------- bitwise and logical
def _integral(x, opname):
    if isinstance(x, Tensor):
        ok = x._data.dtype.kind in "biu"
    else:
        ok = isinstance(x, (int, bool)) or getattr(getattr(x, "dtype", None), "kind", "f") in "biu"
    if not ok:
        what = x.dtype if isinstance(x, Tensor) else type(x).__name__
        raise RuntimeError(f"{opname}: only bool and integer tensors are supported, got {what}")


def _bitwise(name, combine, doc):
    def fn(input, other):
        _integral(input, name)
        _integral(other, name)
        a, b = promote(input, other, name)
        try:
            return Tensor._make(combine(_array(a), _array(b)))
        except ValueError as e:
            raise broadcast_error(name, (a, b), e) from None
    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = doc + " Elementwise, bit by bit for integers (bool and integer tensors only)."
    return public(fn, inplace=True)


bitwise_and = _bitwise("bitwise_and", operator.and_, "input & other.")
bitwise_or = _bitwise("bitwise_or", operator.or_, "input | other.")
bitwise_xor = _bitwise("bitwise_xor", operator.xor, "input ^ other.")


@public(inplace=True)
def bitwise_not(input):
    """~input: logical not for bool tensors, bit inversion for integer tensors."""
    _integral(input, "bitwise_not")
    return Tensor._make(~input._data)


def _logical(name, ufunc, doc):
    def fn(input, other):
        a, b = _array(input), _array(other)
        xp = backend.xp_of(a if isinstance(input, Tensor) else b)
        try:
            return Tensor._make(getattr(xp, ufunc)(a, b))
        except ValueError as e:
            raise broadcast_error(name, (input, other), e) from None
    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = doc + " Elementwise on truth values (nonzero is True); a bool tensor."
    return public(fn, inplace=True)


logical_and = _logical("logical_and", "logical_and", "input and other.")
logical_or = _logical("logical_or", "logical_or", "input or other.")
logical_xor = _logical("logical_xor", "logical_xor", "input xor other.")


@public(inplace=True)
def logical_not(input):
    """not input, elementwise (nonzero is True); a bool tensor."""
    return Tensor._make(backend.xp_of(input._data).logical_not(input._data))


# ----------------------------------------------------------------------------- aliases
#: other names PyTorch has for the same functions, with an in-place variant each
ALIASES = {"subtract": sub, "multiply": mul, "divide": div, "true_divide": div,
           "negative": neg, "absolute": abs, "arcsin": asin, "arccos": acos, "arctan": atan,
           "arcsinh": asinh, "arccosh": acosh, "arctanh": atanh, "arctan2": atan2,
           "clip": clamp, "fix": trunc, "greater": gt, "greater_equal": ge, "less": lt,
           "less_equal": le, "not_equal": ne}
for _name, _fn in ALIASES.items():
    public(_fn, name=_name, inplace=True)
