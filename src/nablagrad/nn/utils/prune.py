"""Pruning: zero out weights through a mask, with PyTorch's mechanics.

Pruning ``module.weight`` moves the parameter to ``weight_orig``, stores a 0/1 buffer
``weight_mask`` and registers a forward pre-hook that sets ``module.weight = weight_orig *
weight_mask`` before every forward. Gradients reach ``weight_orig`` only where the mask is 1,
so pruned weights never come back. Pruning the same tensor again composes the masks (a
``PruningContainer``): the new method only looks at the entries (or channels) still alive, so
``amount`` is a fraction (float in [0, 1]) or a count (int ≥ 0) of the *remaining* ones.
``remove`` makes the pruning permanent: ``weight`` becomes a plain parameter again holding
``weight_orig * weight_mask``.

The lottery-ticket procedure (Frankle & Carbin, 2019) with these functions:

1. save the initial weights θ₀ (``{k: v.clone() for k, v in model.state_dict().items()}``) and
   train the dense network;
2. prune the smallest p% of the weights by magnitude, per layer with ``l1_unstructured(layer,
   "weight", amount=p)`` or across layers with ``global_unstructured(params, L1Unstructured,
   amount=p)``;
3. rewind the survivors to their initial values: copy θ₀'s weights into each ``weight_orig``
   (the mask stays, so pruned entries stay zero in ``weight``);
4. retrain (the optimizer updates ``weight_orig``; masked entries get zero gradient), and repeat
   2–4 to prune iteratively, p% of what remains each round.
"""
import numbers
from abc import ABC, abstractmethod
from collections.abc import Iterable

from ...autograd import no_grad
from ...ops.creation import ones_like as _ones_like, zeros_like as _zeros_like
from ...ops.random import rand as _rand, rand_like as _rand_like
from ..parameter import Parameter
from .convert_parameters import parameters_to_vector

__all__ = ["BasePruningMethod", "PruningContainer", "Identity", "RandomUnstructured",
           "L1Unstructured", "RandomStructured", "LnStructured", "CustomFromMask", "identity",
           "random_unstructured", "l1_unstructured", "random_structured", "ln_structured",
           "global_unstructured", "custom_from_mask", "remove", "is_pruned"]


# ---------------------------------------------------------------------------- amount checks
def _validate_pruning_amount_init(amount):
    if not isinstance(amount, numbers.Real) or isinstance(amount, bool):
        raise TypeError(f"Invalid type for amount: {amount}. Must be int or float.")
    if (isinstance(amount, numbers.Integral) and amount < 0) or (
            not isinstance(amount, numbers.Integral) and not 0.0 <= float(amount) <= 1.0):
        raise ValueError(f"amount={amount} should either be a float in the range [0, 1] or a "
                         "non-negative integer")


def _compute_nparams_toprune(amount, tensor_size):
    """An int amount is a count; a float is a fraction, rounded (half to even) to a count."""
    n = amount if isinstance(amount, numbers.Integral) else round(amount * tensor_size)
    if n > tensor_size:
        raise ValueError(f"amount={amount} should be smaller than the number of parameters to "
                         f"prune={tensor_size}")
    return n


def _validate_structured(t, dim):
    if t.ndim <= 1:
        raise ValueError("Structured pruning can only be applied to multidimensional tensors. "
                         f"Found tensor of shape {tuple(t.shape)} with {t.ndim} dims")
    if dim >= t.ndim or dim < -t.ndim:
        raise IndexError(f"Invalid index {dim} for tensor of size {tuple(t.shape)}")


def _channel_mask(t, dim, keep):
    """A mask of t's shape that is 1 on the channels ``keep`` (indices or bools) along ``dim``."""
    mask = _zeros_like(t)
    slc = [slice(None)] * t.ndim
    slc[dim] = keep
    mask[tuple(slc)] = 1
    return mask


# ---------------------------------------------------------------------------- base and container
class BasePruningMethod(ABC):
    """A pruning rule: ``compute_mask(t, default_mask)`` gives the new 0/1 mask. Its instance is
    the forward pre-hook that recomputes ``module.<name> = <name>_orig * <name>_mask``."""

    _tensor_name = None
    PRUNING_TYPE = "unstructured"

    def __call__(self, module, inputs):
        setattr(module, self._tensor_name, self.apply_mask(module))

    @abstractmethod
    def compute_mask(self, t, default_mask):
        """The mask for ``t``, given the mask ``default_mask`` of earlier pruning."""

    def apply_mask(self, module):
        """``<name>_orig * <name>_mask`` (differentiable in ``<name>_orig``)."""
        if self._tensor_name is None:
            raise ValueError(f"Module {module} has to be pruned")
        mask = getattr(module, self._tensor_name + "_mask")
        orig = getattr(module, self._tensor_name + "_orig")
        return mask.to(orig.dtype) * orig

    @classmethod
    def apply(cls, module, name, *args, importance_scores=None, **kwargs):
        """Prune ``module.<name>`` with ``cls(*args, **kwargs)``, composing with earlier pruning
        of the same tensor; masks are computed from ``importance_scores`` (default: the tensor)."""
        method, old_key = cls._composite(module, name, *args, **kwargs)
        orig = getattr(module, name)
        if importance_scores is None:
            importance_scores = orig
        elif tuple(importance_scores.shape) != tuple(orig.shape):
            raise ValueError(f"importance_scores should have the same shape as parameter {name} "
                             f"of {type(module).__name__}, got {tuple(importance_scores.shape)} vs "
                             f"{tuple(orig.shape)}")
        first = old_key is None
        if first:
            if not isinstance(module._parameters.get(name), Parameter):
                raise ValueError(f"prune: {type(module).__name__} has no parameter named '{name}'")
            module.register_parameter(name + "_orig", orig)
            del module._parameters[name]
            default_mask = _ones_like(orig)
        else:
            default_mask = getattr(module, name + "_mask").detach().clone()
        try:
            with no_grad():
                mask = method.compute_mask(importance_scores.detach(), default_mask=default_mask)
            module.register_buffer(name + "_mask", mask)
            setattr(module, name, method.apply_mask(module))
        except Exception:  # roll back: the module stays as it was before this call
            if first:
                module.__dict__.pop(name, None)
                module._parameters[name] = module._parameters.pop(name + "_orig")
            elif module._forward_pre_hooks[old_key] is method:
                method._pruning_methods = method._pruning_methods[:-1]
            raise
        if old_key is not None:
            del module._forward_pre_hooks[old_key]
        module.register_forward_pre_hook(method)
        return method

    @classmethod
    def _composite(cls, module, name, *args, **kwargs):
        """The new method, merged into a PruningContainer with the earlier one on ``name`` (if
        any), and the key of that earlier hook (None on first pruning)."""
        old = [(k, h) for k, h in module._forward_pre_hooks.items()
               if isinstance(h, BasePruningMethod) and h._tensor_name == name]
        if len(old) > 1:
            raise RuntimeError(f"Avoid adding multiple pruning hooks to the same tensor {name} of "
                               f"module {type(module).__name__}. Use a PruningContainer.")
        method = cls(*args, **kwargs)
        method._tensor_name = name
        if not old:
            return method, None
        key, old_method = old[0]
        if not isinstance(old_method, PruningContainer):
            old_method = PruningContainer(old_method)
        old_method.add_pruning_method(method)
        return old_method, key

    def prune(self, t, default_mask=None, importance_scores=None):
        """``t * compute_mask(importance_scores or t, default_mask or ones)``."""
        scores = t if importance_scores is None else importance_scores
        if tuple(scores.shape) != tuple(t.shape):
            raise ValueError("importance_scores should have the same shape as tensor t")
        default_mask = _ones_like(t) if default_mask is None else default_mask
        with no_grad():
            mask = self.compute_mask(scores.detach(), default_mask=default_mask)
        return t * mask

    def remove(self, module):
        """Make the pruning permanent: ``<name>`` becomes the ``<name>_orig`` Parameter holding
        ``orig * mask``; ``<name>_orig`` and ``<name>_mask`` are deleted."""
        if self._tensor_name is None:
            raise ValueError(f"Module {module} has to be pruned before pruning can be removed")
        weight = self.apply_mask(module)
        module.__dict__.pop(self._tensor_name, None)
        orig = module._parameters.pop(self._tensor_name + "_orig")
        orig.data = weight.detach()
        del module._buffers[self._tensor_name + "_mask"]
        setattr(module, self._tensor_name, orig)


class PruningContainer(BasePruningMethod):
    """The history of pruning methods applied to one tensor; its mask is the last method's mask
    computed on the entries (unstructured) or channels (structured) the earlier mask kept."""

    def __init__(self, *args):
        self._pruning_methods = ()
        if len(args) == 1:
            self._tensor_name = args[0]._tensor_name
        for method in args:
            self.add_pruning_method(method)

    def add_pruning_method(self, method):
        if not isinstance(method, BasePruningMethod) and method is not None:
            raise TypeError(f"{type(method)} is not a BasePruningMethod subclass")
        if method is not None and self._tensor_name != method._tensor_name:
            raise ValueError("Can only add pruning methods acting on the parameter named "
                             f"'{self._tensor_name}' to PruningContainer {self}. Found "
                             f"'{method._tensor_name}'")
        self._pruning_methods += (method,)

    def __len__(self):
        return len(self._pruning_methods)

    def __iter__(self):
        return iter(self._pruning_methods)

    def __getitem__(self, idx):
        return self._pruning_methods[idx]

    def compute_mask(self, t, default_mask):
        method = self._pruning_methods[-1]
        mask = default_mask.to(t.dtype)
        if method.PRUNING_TYPE == "unstructured":
            slc = mask == 1
        elif method.PRUNING_TYPE == "structured":
            if not hasattr(method, "dim"):
                raise AttributeError("Pruning methods of PRUNING_TYPE 'structured' need to have "
                                     "the attribute `dim` defined.")
            dim = method.dim + t.ndim if method.dim < 0 else method.dim
            if dim < 0:
                raise IndexError(f"Index is out of bounds for tensor with dimensions {t.ndim}")
            keep = mask.sum(dim=[d for d in range(t.ndim) if d != dim]) != 0
            slc = [slice(None)] * t.ndim
            slc[dim] = keep
            slc = tuple(slc)
        elif method.PRUNING_TYPE == "global":
            slc = (slice(None),) * t.ndim
        else:
            raise ValueError(f"Unrecognized PRUNING_TYPE {method.PRUNING_TYPE}")
        partial = method.compute_mask(t[slc], default_mask=mask[slc])
        mask[slc] = partial.to(mask.dtype)
        return mask


# ---------------------------------------------------------------------------- methods
class Identity(BasePruningMethod):
    """Prunes nothing: the mask is all ones (useful to make any tensor maskable)."""

    PRUNING_TYPE = "unstructured"

    def compute_mask(self, t, default_mask):
        return default_mask

    @classmethod
    def apply(cls, module, name):
        return super().apply(module, name)


class RandomUnstructured(BasePruningMethod):
    """Zero ``amount`` entries chosen uniformly at random."""

    PRUNING_TYPE = "unstructured"

    def __init__(self, amount):
        _validate_pruning_amount_init(amount)
        self.amount = amount

    def compute_mask(self, t, default_mask):
        k = _compute_nparams_toprune(self.amount, t.numel())
        mask = default_mask.clone()
        if k:
            mask.view(-1)[_rand_like(t).view(-1).topk(k).indices] = 0
        return mask

    @classmethod
    def apply(cls, module, name, amount):
        return super().apply(module, name, amount=amount)


class L1Unstructured(BasePruningMethod):
    """Zero the ``amount`` entries of smallest magnitude |t|."""

    PRUNING_TYPE = "unstructured"

    def __init__(self, amount):
        _validate_pruning_amount_init(amount)
        self.amount = amount

    def compute_mask(self, t, default_mask):
        k = _compute_nparams_toprune(self.amount, t.numel())
        mask = default_mask.clone()
        if k:
            mask.view(-1)[t.abs().reshape(-1).topk(k, largest=False).indices] = 0
        return mask

    @classmethod
    def apply(cls, module, name, amount, importance_scores=None):
        return super().apply(module, name, amount=amount, importance_scores=importance_scores)


class RandomStructured(BasePruningMethod):
    """Zero ``amount`` whole channels along ``dim``, chosen uniformly at random."""

    PRUNING_TYPE = "structured"

    def __init__(self, amount, dim=-1):
        _validate_pruning_amount_init(amount)
        self.amount, self.dim = amount, dim

    def compute_mask(self, t, default_mask):
        _validate_structured(t, self.dim)
        n = t.shape[self.dim]
        k = _compute_nparams_toprune(self.amount, n)
        if k == 0:
            return default_mask
        prob = _rand(n)
        mask = _channel_mask(t, self.dim, prob > prob.kthvalue(k).values)
        return mask * default_mask.to(mask.dtype)

    @classmethod
    def apply(cls, module, name, amount, dim=-1):
        return super().apply(module, name, amount=amount, dim=dim)


class LnStructured(BasePruningMethod):
    """Zero the ``amount`` channels along ``dim`` with the smallest Lₙ norm (the norm over all
    other dims; ``n`` as in ``torch.norm``'s ``p``: a number, ``inf`` or ``-inf``)."""

    PRUNING_TYPE = "structured"

    def __init__(self, amount, n, dim=-1):
        _validate_pruning_amount_init(amount)
        self.amount, self.n, self.dim = amount, n, dim

    def compute_mask(self, t, default_mask):
        _validate_structured(t, self.dim)
        size = t.shape[self.dim]
        k = _compute_nparams_toprune(self.amount, size)
        if k == 0:
            return default_mask
        dim = self.dim % t.ndim
        norm = t.norm(p=self.n, dim=[d for d in range(t.ndim) if d != dim])
        mask = _channel_mask(t, dim, norm.topk(size - k, largest=True).indices)
        return mask * default_mask.to(mask.dtype)

    @classmethod
    def apply(cls, module, name, amount, n, dim, importance_scores=None):
        return super().apply(module, name, amount=amount, n=n, dim=dim,
                             importance_scores=importance_scores)


class CustomFromMask(BasePruningMethod):
    """Apply a given 0/1 mask (multiplied into any earlier mask)."""

    PRUNING_TYPE = "global"

    def __init__(self, mask):
        self.mask = mask

    def compute_mask(self, t, default_mask):
        if tuple(default_mask.shape) != tuple(self.mask.shape):
            raise ValueError(f"custom_from_mask: mask of shape {tuple(self.mask.shape)} does not "
                             f"match the tensor's shape {tuple(default_mask.shape)}")
        return default_mask * self.mask.to(default_mask.dtype)

    @classmethod
    def apply(cls, module, name, mask):
        return super().apply(module, name, mask=mask)


# ---------------------------------------------------------------------------- functions
def identity(module, name):
    """Add ``<name>_orig``, an all-ones ``<name>_mask`` and the hook, pruning nothing; returns module."""
    Identity.apply(module, name)
    return module


def random_unstructured(module, name, amount):
    """Prune ``amount`` (int count or float fraction) random entries of ``module.<name>``."""
    RandomUnstructured.apply(module, name, amount)
    return module


def l1_unstructured(module, name, amount, importance_scores=None):
    """Prune the ``amount`` entries of ``module.<name>`` with the smallest |importance score|
    (default: the tensor itself)."""
    L1Unstructured.apply(module, name, amount=amount, importance_scores=importance_scores)
    return module


def random_structured(module, name, amount, dim):
    """Prune ``amount`` random channels of ``module.<name>`` along ``dim``."""
    RandomStructured.apply(module, name, amount, dim)
    return module


def ln_structured(module, name, amount, n, dim, importance_scores=None):
    """Prune the ``amount`` channels along ``dim`` with the smallest Lₙ norm."""
    LnStructured.apply(module, name, amount, n, dim, importance_scores=importance_scores)
    return module


def custom_from_mask(module, name, mask):
    """Prune ``module.<name>`` with the given 0/1 ``mask``."""
    CustomFromMask.apply(module, name, mask)
    return module


def global_unstructured(parameters, pruning_method, importance_scores=None, **kwargs):
    """Prune the (module, name) pairs in ``parameters`` together, as one concatenated vector,
    with an unstructured ``pruning_method`` class (e.g. L1Unstructured, amount=...): the smallest
    weights overall are removed, so layers end up with different sparsities."""
    if not isinstance(parameters, Iterable):
        raise TypeError("global_unstructured(): parameters is not an Iterable")
    parameters = list(parameters)
    importance_scores = {} if importance_scores is None else importance_scores
    if not isinstance(importance_scores, dict):
        raise TypeError("global_unstructured(): importance_scores must be of type dict")
    method = pruning_method(**kwargs)
    if method.PRUNING_TYPE != "unstructured":
        raise TypeError('Only "unstructured" PRUNING_TYPE supported for the `pruning_method`. '
                        f"Found method {pruning_method} of type {method.PRUNING_TYPE}")
    with no_grad():
        scores = parameters_to_vector([importance_scores.get((m, n), getattr(m, n))
                                       for m, n in parameters])
        default_mask = parameters_to_vector([getattr(m, n + "_mask") if hasattr(m, n + "_mask")
                                             else _ones_like(getattr(m, n)) for m, n in parameters])
    method._tensor_name = "temp"
    container = PruningContainer(method)
    final_mask = container.compute_mask(scores, default_mask)
    offset = 0
    for module, name in parameters:
        param = getattr(module, name)
        custom_from_mask(module, name, final_mask[offset:offset + param.numel()].view_as(param))
        offset += param.numel()


def remove(module, name):
    """Make the pruning of ``module.<name>`` permanent (see ``BasePruningMethod.remove``)."""
    for k, hook in module._forward_pre_hooks.items():
        if isinstance(hook, BasePruningMethod) and hook._tensor_name == name:
            hook.remove(module)
            del module._forward_pre_hooks[k]
            return module
    raise ValueError(f"Parameter '{name}' of module {module} has to be pruned before pruning "
                     "can be removed")


def is_pruned(module):
    """Whether ``module`` or any submodule has a pruning hook."""
    return any(isinstance(h, BasePruningMethod)
               for m in module.modules() for h in m._forward_pre_hooks.values())
