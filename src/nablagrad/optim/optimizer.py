"""Optimizer base class: parameter groups, per-parameter state, zero_grad and state_dicts.

An optimizer holds ``param_groups`` (a list of dicts, each with a ``"params"`` list and its own
hyper-parameters, missing ones taken from ``defaults``) and ``state`` (a dict mapping each parameter
to a dict of its buffers). Subclasses implement :meth:`_update` for one parameter; updates run
without recording a graph and write into the parameter's storage in place.

``state_dict()`` uses PyTorch's layout: parameters are named by their index in the order they appear
across the groups, ``{"state": {index: {name: value}}, "param_groups": [{..., "params": [index]}]}``.
"""
import copy

import numpy as np

from .. import autograd, backend
from .._tensor import Tensor

__all__ = ["Optimizer", "required"]


class _Required:
    """Marker for a hyper-parameter that has no default and must be given."""

    def __repr__(self):
        return "<required parameter>"


required = _Required()


class Optimizer:
    """Base class of all optimizers.

    Args:
        params: an iterable of Tensors, or of dicts (parameter groups) with a ``"params"`` key.
        defaults: the hyper-parameters used by groups that do not set them.
    """

    def __init__(self, params, defaults):
        self.defaults = dict(defaults)
        self.state = {}
        self.param_groups = []
        if isinstance(params, Tensor):
            raise TypeError(f"{type(self).__name__}: params argument given to the optimizer "
                            "should be an iterable of Tensors or dicts, but got a Tensor")
        groups = list(params)
        if not groups:
            raise ValueError(f"{type(self).__name__} got an empty parameter list")
        if not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        for group in groups:
            self.add_param_group(group)

    def __repr__(self):
        lines = [f"{type(self).__name__} ("]
        for i, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            lines += [f"    {k}: {v}" for k, v in sorted(group.items()) if k != "params"]
        return "\n".join(lines) + "\n)"

    # -- parameter groups ------------------------------------------------------------------------
    def add_param_group(self, param_group):
        """Append a group: ``{"params": tensors, **options}``; missing options come from defaults."""
        if not isinstance(param_group, dict):
            raise TypeError(f"{type(self).__name__}.add_param_group: param_group must be a dict, "
                            f"got {type(param_group).__name__}")
        group = dict(param_group)
        params = group["params"]
        group["params"] = [params] if isinstance(params, Tensor) else list(params)
        if isinstance(params, set):
            raise TypeError("optimizer parameters need to be organized in ordered collections, "
                            "but the ordering of tensors in sets changes between runs; use a list")
        for p in group["params"]:
            if not isinstance(p, Tensor):
                raise TypeError(f"{type(self).__name__} can only optimize Tensors, got "
                                f"{type(p).__name__}")
            if not p.is_leaf:
                raise ValueError(f"{type(self).__name__} can't optimize a non-leaf Tensor "
                                 f"(shape {tuple(p.shape)}, grad_fn={type(p.grad_fn).__name__})")
        for name, default in self.defaults.items():
            if default is required and name not in group:
                raise ValueError(f"{type(self).__name__}: parameter group didn't specify a value "
                                 f"of required optimization parameter {name}")
            group.setdefault(name, default)
        ids = [id(p) for p in group["params"]]
        if len(set(ids)) != len(ids):
            raise ValueError(f"{type(self).__name__}: a parameter group contains the same "
                             "parameter more than once")
        seen = {id(p) for g in self.param_groups for p in g["params"]}
        if seen.intersection(ids):
            raise ValueError(f"{type(self).__name__}: some parameters appear in more than one "
                             "parameter group")
        self.param_groups.append(group)
        self._init_group_state(group)

    def _init_group_state(self, group):
        """Hook for optimizers that create state eagerly (Adagrad)."""

    # -- stepping --------------------------------------------------------------------------------
    def zero_grad(self, set_to_none=True):
        """Reset the gradients of all parameters: drop them (default) or fill them with zeros."""
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                if set_to_none:
                    p.grad = None
                elif p.grad.grad_fn is not None or not p.grad._data.flags.writeable:
                    p.grad = Tensor._make(backend.xp_of(p.grad._data).zeros_like(p.grad._data))
                else:
                    p.grad._data[...] = 0
                    p.grad._vbox[0] += 1

    def step(self, closure=None):
        """Do one update of every parameter that has a gradient.

        ``closure`` (optional) re-evaluates the model and returns the loss; it runs with grad enabled
        before the update and its result is returned.
        """
        loss = None
        if closure is not None:
            with autograd.enable_grad():
                loss = closure()
        with autograd.no_grad():
            for group in self.param_groups:
                for p in group["params"]:
                    if p.grad is None:
                        continue
                    g = p.grad._data
                    if group.get("maximize", False):
                        g = -g
                    state = self.state.get(p)
                    if state is None:
                        state = {}
                    self._update(p._data, g, state, group)
                    if state:
                        self.state[p] = state
                    p._vbox[0] += 1
        return loss

    def _update(self, p, g, state, group):
        """Update parameter array ``p`` in place from gradient array ``g`` (sign already set)."""
        raise NotImplementedError

    # -- state dicts -----------------------------------------------------------------------------
    def state_dict(self):
        """Return ``{"state": {index: buffers}, "param_groups": [options + param indices]}``."""
        index, groups = {}, []
        for group in self.param_groups:
            packed = {k: v for k, v in group.items() if k != "params"}
            packed["params"] = []
            for p in group["params"]:
                index.setdefault(id(p), len(index))
                packed["params"].append(index[id(p)])
            groups.append(packed)
        state = {index[id(p)]: dict(s) for p, s in self.state.items() if id(p) in index}
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict):
        """Load a dict from :meth:`state_dict`; buffers are copied and cast to each parameter's dtype
        (except ``step``)."""
        state_dict = copy.deepcopy(state_dict)
        saved = state_dict["param_groups"]
        if len(saved) != len(self.param_groups):
            raise ValueError(f"{type(self).__name__}.load_state_dict: loaded state dict has "
                             f"{len(saved)} parameter groups, optimizer has {len(self.param_groups)}")
        sizes = [(len(g["params"]), len(s["params"])) for g, s in zip(self.param_groups, saved)]
        if any(a != b for a, b in sizes):
            raise ValueError(f"{type(self).__name__}.load_state_dict: loaded state dict contains a "
                             "parameter group that doesn't match the size of optimizer's group "
                             f"(sizes {[b for _, b in sizes]} vs {[a for a, _ in sizes]})")
        by_index = {i: p for s, g in zip(saved, self.param_groups)
                    for i, p in zip(s["params"], g["params"])}
        self.state = {}
        for i, buffers in state_dict["state"].items():
            p = by_index[int(i)]
            self.state[p] = {k: self._cast(p, k, v) for k, v in buffers.items()}
        self.param_groups = [dict(s, params=g["params"]) for s, g in zip(saved, self.param_groups)]

    @staticmethod
    def _cast(param, key, value):
        if not isinstance(value, Tensor) or key == "step" or not value.is_floating_point():
            return value
        return value.to(dtype=param.dtype)


# -- helpers for subclasses: state buffers are Tensors, updated through their arrays ---------------
def _buffer(state, name, like, fill=0.0):
    """The array of ``state[name]``; created as a Tensor full of ``fill`` shaped like ``like``."""
    if name not in state:
        arr = backend.xp_of(like).full_like(like, fill)
        state[name] = Tensor._make(arr)
    return state[name]._data


def _scalar(value):
    """A 0-dim counter Tensor: float64 when that is the default dtype, else float32 (as PyTorch)."""
    dt = np.float64 if backend.get_default_dtype().np == np.float64 else np.float32
    return Tensor._make(np.full((), value, dt))


def _advance_step(state):
    """Increment the step counter ``state["step"]`` (a scalar Tensor) and return its value."""
    if "step" not in state:
        state["step"] = _scalar(0.0)
    step = state["step"]
    step._data += 1
    step._vbox[0] += 1
    return float(step._data)
