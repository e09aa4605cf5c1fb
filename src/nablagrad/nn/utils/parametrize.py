"""Parametrizations: make ``module.weight`` a function of other tensors, recomputed on each access.

``register_parametrization(module, "weight", P)`` moves the parameter to
``module.parametrizations.weight.original`` and makes ``module.weight`` a property returning
``P(original)``; gradients flow through ``P`` into ``original``. Several parametrizations on the
same tensor compose in registration order: ``weight = Pₙ(…P₂(P₁(original)))``.

If ``P`` has ``right_inverse(W)``, the original is initialised to ``right_inverse(weight)``, so
``module.weight`` keeps its value, and assigning ``module.weight = W`` stores ``right_inverse(W)``.
A ``right_inverse`` that returns a sequence makes several originals (``original0``, ``original1``,
…), which ``P.forward`` receives as separate arguments (weight_norm's g and v do this).

The property is put on a per-instance subclass (``ParametrizedLinear`` …), so other instances of
the class are untouched; removing the last parametrization restores the original class.
"""
from collections.abc import Sequence
from contextlib import contextmanager

from ..._tensor import Tensor
from ...autograd import no_grad
from ..container import ModuleDict, ModuleList
from ..parameter import Parameter

__all__ = ["ParametrizationList", "register_parametrization", "remove_parametrizations",
           "is_parametrized", "cached", "type_before_parametrizations"]

_cache_enabled = 0
_cache = {}


@contextmanager
def cached():
    """Inside this block each parametrized tensor is computed once, on first access, and reused
    (e.g. a weight used at every step of an RNN). The cache is cleared when the block exits."""
    global _cache_enabled
    _cache_enabled += 1
    try:
        yield
    finally:
        _cache_enabled -= 1
        if not _cache_enabled:
            _cache.clear()


def _register_parameter_or_buffer(module, name, tensor):
    if isinstance(tensor, Parameter):
        module.register_parameter(name, tensor)
    else:
        module.register_buffer(name, tensor)


def _check_like(what, t, ref_dtype, ref_shape, where):
    """Raise unless ``t`` is a Tensor with the given dtype and shape (messages name ``where``)."""
    if not isinstance(t, Tensor):
        raise ValueError(f"{what} must return a tensor. Got {type(t).__name__}.")
    if t.dtype != ref_dtype:
        raise ValueError(f"{where} may not change the dtype of the tensor, unless the `unsafe` flag "
                         f"is enabled.\nexpected dtype: {ref_dtype}\ngot dtype: {t.dtype}")
    if tuple(t.shape) != tuple(ref_shape):
        raise ValueError(f"{where} may not change the shape of the tensor, unless the `unsafe` flag "
                         f"is enabled.\nexpected shape: {tuple(ref_shape)}\ngot shape: {tuple(t.shape)}")


class ParametrizationList(ModuleList):
    """The parametrizations of one tensor plus its unconstrained ``original`` tensor(s).

    Calling it computes ``Pₙ(…P₁(original))`` (``P₁(original0, original1, …)`` when the first
    ``right_inverse`` returned a sequence)."""

    def __init__(self, modules, original, unsafe=False):
        if len(modules) == 0:
            raise ValueError("ParametrizationList requires one or more modules.")
        super().__init__(modules)
        self.unsafe = unsafe
        with no_grad():
            new = original
            for m in reversed(list(self)):
                if hasattr(m, "right_inverse"):
                    try:
                        new = m.right_inverse(new)
                    except NotImplementedError:
                        pass
        if not isinstance(new, (Tensor, Sequence)):
            raise ValueError("'right_inverse' must return a Tensor or a Sequence of tensors "
                             f"(list, tuple...). Got {type(new).__name__}")
        self.is_tensor = isinstance(new, Tensor)
        self.ntensors = 1 if self.is_tensor else len(new)
        if self.is_tensor:
            if new.dtype != original.dtype:
                raise ValueError("When `right_inverse` outputs one tensor, it may not change the "
                                 f"dtype.\noriginal.dtype: {original.dtype}\n"
                                 f"right_inverse(original).dtype: {new.dtype}")
            original.data = new.detach()  # same object: optimizers holding it stay valid
            _register_parameter_or_buffer(self, "original", original)
        else:
            for i, t in enumerate(new):
                if not isinstance(t, Tensor):
                    raise ValueError("'right_inverse' must return a Tensor or a Sequence of tensors "
                                     f"(list, tuple...). Got element {i} of the sequence with type "
                                     f"{type(t).__name__}.")
                t = t.detach()
                if isinstance(original, Parameter):
                    t = Parameter(t, original.requires_grad)
                _register_parameter_or_buffer(self, f"original{i}", t)
        if not unsafe:
            _check_like("A parametrization", self(), original.dtype, original.shape,
                        "Registering a parametrization")

    def _originals(self):
        if self.is_tensor:
            return (self.original,)
        return tuple(getattr(self, f"original{i}") for i in range(self.ntensors))

    def right_inverse(self, value):
        """Store ``right_inverse`` of ``value`` (through every parametrization, last first) in the
        original tensor(s), without recording a graph."""
        with no_grad():
            for m in reversed(list(self)):
                if not hasattr(m, "right_inverse"):
                    raise RuntimeError(f"parametrization {type(m).__name__} does not implement "
                                       "right_inverse.")
                value = m.right_inverse(value)
            originals = self._originals()
            if self.is_tensor:
                value = (value,)
            elif not isinstance(value, Sequence) or len(value) != self.ntensors:
                raise ValueError(f"'right_inverse' must return a sequence of {self.ntensors} "
                                 f"tensors. Got {type(value).__name__}.")
            for orig, v in zip(originals, value):
                if not isinstance(v, Tensor):
                    raise ValueError(f"`right_inverse` should return a tensor. Got {type(v).__name__}")
                if v.dtype != orig.dtype or tuple(v.shape) != tuple(orig.shape):
                    raise ValueError(f"The tensor returned by `right_inverse` has dtype {v.dtype} "
                                     f"and shape {tuple(v.shape)}, while `original` has dtype "
                                     f"{orig.dtype} and shape {tuple(orig.shape)}")
                orig.data = v.detach()

    def forward(self):
        mods = list(self)
        x = mods[0](*self._originals())
        for m in mods[1:]:
            x = m(x)
        return x


def _inject_new_class(module):
    """Give ``module`` its own subclass (``Parametrized<Name>``) to hold the properties."""
    cls = module.__class__
    module.__class__ = type(f"Parametrized{cls.__name__}", (cls,), {})


def _inject_property(module, tensor_name):
    def get_parametrized(self):
        plist = self.parametrizations[tensor_name]
        if not _cache_enabled:
            return plist()
        key = (id(self), tensor_name)
        if key not in _cache:
            _cache[key] = plist()
        return _cache[key]

    def set_original(self, value):
        self.parametrizations[tensor_name].right_inverse(value)

    setattr(module.__class__, tensor_name, property(get_parametrized, set_original))


def register_parametrization(module, tensor_name, parametrization, *, unsafe=False):
    """Make ``module.<tensor_name>`` equal ``parametrization(original)``; returns ``module``.

    ``unsafe=True`` skips the checks that the parametrization keeps the tensor's shape and dtype."""
    parametrization.train(module.training)
    if is_parametrized(module, tensor_name):
        if not unsafe:
            y = getattr(module, tensor_name)
            x = parametrization(y)
            _check_like("A parametrization", x, y.dtype, y.shape, "Registering a parametrization")
            if hasattr(parametrization, "right_inverse"):
                try:
                    z = parametrization.right_inverse(x)
                except NotImplementedError:
                    pass
                else:
                    _check_like("parametrization.right_inverse", z, y.dtype, y.shape,
                                "parametrization.right_inverse")
        plist = module.parametrizations[tensor_name]
        plist.append(parametrization)
        plist.unsafe |= unsafe
    elif tensor_name in module._buffers or tensor_name in module._parameters:
        original = getattr(module, tensor_name)
        if original is None:
            raise ValueError(f"Cannot parametrize '{tensor_name}' of {type(module).__name__}: it is None")
        plist = ParametrizationList([parametrization], original, unsafe=unsafe)
        delattr(module, tensor_name)
        if not is_parametrized(module):
            _inject_new_class(module)
            module.parametrizations = ModuleDict()
        _inject_property(module, tensor_name)
        module.parametrizations[tensor_name] = plist
    else:
        raise ValueError(f"Module '{module}' does not have a parameter, a buffer, or a "
                         f"parametrized element with name '{tensor_name}'")
    return module


def is_parametrized(module, tensor_name=None):
    """Whether ``module`` has any parametrization (or one on ``tensor_name``)."""
    plists = module.__dict__.get("_modules", {}).get("parametrizations")
    if not isinstance(plists, ModuleDict):
        return False
    return len(plists) > 0 if tensor_name is None else tensor_name in plists


def remove_parametrizations(module, tensor_name, leave_parametrized=True):
    """Undo ``register_parametrization`` on ``tensor_name``; returns ``module``.

    ``leave_parametrized=True`` keeps the current parametrized value (stored into the original
    Parameter object itself when there is one original); ``False`` restores ``original``."""
    if not is_parametrized(module, tensor_name):
        raise ValueError(f"Module {module} does not have a parametrization on {tensor_name}")
    plist = module.parametrizations[tensor_name]
    if plist.is_tensor:
        original = plist.original
        if leave_parametrized:
            with no_grad():
                original.data = getattr(module, tensor_name).detach()
    elif leave_parametrized:
        t = getattr(module, tensor_name)
        original = Parameter(t.detach()) if t.requires_grad else t.detach()
    else:
        raise ValueError("Cannot leave unparametrized (`leave_parametrized=False`) a tensor "
                         "that is parametrized in terms of a sequence of tensors.")
    delattr(module.__class__, tensor_name)
    del module.parametrizations[tensor_name]
    _register_parameter_or_buffer(module, tensor_name, original)
    if not is_parametrized(module):
        delattr(module, "parametrizations")
        module.__class__ = module.__class__.__bases__[0]
    return module


def type_before_parametrizations(module):
    """The class of ``module`` before any parametrization was registered."""
    return module.__class__.__bases__[0] if is_parametrized(module) else type(module)
