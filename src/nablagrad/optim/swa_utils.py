"""Stochastic weight averaging and exponential moving averages of parameters.

:class:`AveragedModel` keeps a deep copy of a model and folds the model's current parameters into it:
SWA (default) θ̄_{n+1} = θ̄_n + (θ − θ̄_n)/(n + 1); EMA θ̄ ← decay·θ̄ + (1 − decay)·θ.
It relies only on duck typing: the model needs ``parameters()`` (and optionally ``buffers()``) and is
called through ``__call__``. :class:`SWALR` anneals each group's lr to ``swa_lr``.
"""
import copy
import math

import numpy as np

from .. import autograd
from .._tensor import Tensor
from .lr_scheduler import LRScheduler, _per_group

__all__ = ["AveragedModel", "SWALR", "get_ema_multi_avg_fn", "get_swa_multi_avg_fn",
           "get_ema_avg_fn", "get_swa_avg_fn"]


def _check_decay(decay):
    if not 0.0 <= decay <= 1.0:
        raise ValueError(f"Invalid decay value {decay} provided. Please provide a value in "
                         "[0,1] range.")


def _assign(target, array):
    """Write ``array`` into Tensor ``target`` in place and bump its version."""
    target._data[...] = array
    target._vbox[0] += 1


def get_ema_multi_avg_fn(decay=0.999):
    """In-place EMA over lists: ema ← ema + (1 − decay)·(θ − ema) (a lerp)."""
    _check_decay(decay)

    def ema_update(ema_param_list, current_param_list, _):
        for e, p in zip(ema_param_list, current_param_list):
            if e.is_floating_point():
                _assign(e, e._data + (1 - decay) * (p._data - e._data))
            else:
                _assign(e, e._data * decay + p._data * (1 - decay))
    return ema_update


def get_swa_multi_avg_fn():
    """In-place running mean over lists: θ̄ ← θ̄ + (θ − θ̄)/(n + 1)."""

    def swa_update(averaged_param_list, current_param_list, num_averaged):
        w = 1.0 / (float(num_averaged) + 1)
        for a, p in zip(averaged_param_list, current_param_list):
            _assign(a, a._data + w * (p._data - a._data))
    return swa_update


def get_ema_avg_fn(decay=0.999):
    """EMA for one tensor: returns decay·ema + (1 − decay)·θ."""
    _check_decay(decay)

    def ema_update(ema_param, current_param, num_averaged):
        return decay * ema_param + (1 - decay) * current_param
    return ema_update


def get_swa_avg_fn():
    """Running mean for one tensor: returns θ̄ + (θ − θ̄)/(n + 1)."""

    def swa_update(averaged_param, current_param, num_averaged):
        return averaged_param + (current_param - averaged_param) / (num_averaged + 1)
    return swa_update


class AveragedModel:
    """``AveragedModel(model, device=None, avg_fn=None, multi_avg_fn=None, use_buffers=False)``.

    Holds ``module`` (a deep copy of ``model``) and ``n_averaged`` (an int64 scalar Tensor).
    ``update_parameters(model)`` copies the parameters on the first call, then averages with
    ``multi_avg_fn(averaged_list, current_list, n_averaged)`` (in place), ``avg_fn(averaged, current,
    n_averaged)`` (returns the new value), or the SWA running mean. With ``use_buffers`` the buffers
    are averaged too; otherwise they are copied from ``model``.
    """

    def __init__(self, model, device=None, avg_fn=None, multi_avg_fn=None, use_buffers=False):
        if not hasattr(model, "parameters"):
            raise TypeError(f"AveragedModel: model must have a parameters() method, got "
                            f"{type(model).__name__}")
        self.module = copy.deepcopy(model)
        if device is not None and hasattr(self.module, "to"):
            self.module = self.module.to(device)
        self.n_averaged = Tensor._make(np.zeros((), np.int64))
        self.avg_fn = avg_fn
        self.multi_avg_fn = multi_avg_fn
        self.use_buffers = use_buffers

    def __call__(self, *args, **kwargs):
        return self.module(*args, **kwargs)

    forward = __call__

    def parameters(self):
        return self.module.parameters()

    @staticmethod
    def _tensors(model, with_buffers):
        params = list(model.parameters())
        if with_buffers and hasattr(model, "buffers"):
            params += list(model.buffers())
        return params

    def update_parameters(self, model):
        """Fold the current parameters of ``model`` into the average."""
        mine = self._tensors(self.module, self.use_buffers)
        theirs = [t.detach() for t in self._tensors(model, self.use_buffers)]
        if len(mine) != len(theirs):
            raise ValueError(f"AveragedModel.update_parameters: model has {len(theirs)} tensors, "
                             f"the averaged copy has {len(mine)}")
        n = int(self.n_averaged._data)
        with autograd.no_grad():
            if n == 0:
                for a, p in zip(mine, theirs):
                    _assign(a, p._data)
            elif self.multi_avg_fn is not None or self.avg_fn is None:
                fn = self.multi_avg_fn or _swa_per_tensor
                fn([a.detach() for a in mine], theirs, self.n_averaged)
            else:
                for a, p in zip(mine, theirs):
                    new = self.avg_fn(a.detach(), p, self.n_averaged)
                    _assign(a, new._data if isinstance(new, Tensor) else new)
            if not self.use_buffers and hasattr(model, "buffers"):
                for b_mine, b_theirs in zip(self.module.buffers(), model.buffers()):
                    _assign(b_mine, b_theirs._data)
        self.n_averaged._data += 1
        self.n_averaged._vbox[0] += 1


def _swa_per_tensor(averaged_list, current_list, num_averaged):
    """Default averaging: θ̄ + (θ − θ̄)/(n + 1) for each tensor (PyTorch's CPU path)."""
    n1 = float(num_averaged) + 1
    for a, p in zip(averaged_list, current_list):
        _assign(a, a._data + (p._data - a._data) / n1)


class SWALR(LRScheduler):
    """``SWALR(optimizer, swa_lr, anneal_epochs=10, anneal_strategy='cos', last_epoch=-1)``:
    move each group's lr from its value towards ``swa_lr`` over ``anneal_epochs`` steps:
    lr_t = swa_lr·α_t + lr_0·(1 − α_t), α_t = (1 − cos(π·t/anneal_epochs))/2 ('cos') or
    t/anneal_epochs ('linear'), then hold ``swa_lr``."""

    def __init__(self, optimizer, swa_lr, anneal_epochs=10, anneal_strategy="cos", last_epoch=-1):
        for value, group in zip(_per_group("swa_lr", optimizer, swa_lr), optimizer.param_groups):
            group["swa_lr"] = value
        if anneal_strategy not in ("cos", "linear"):
            raise ValueError(f"SWALR: anneal_strategy must be one of 'cos' or 'linear', got "
                             f"{anneal_strategy!r}")
        if not isinstance(anneal_epochs, int) or anneal_epochs < 0:
            raise ValueError(f"SWALR: anneal_epochs must be an integer >= 0, got {anneal_epochs}")
        self._anneal_strategy = anneal_strategy
        self.anneal_epochs = anneal_epochs
        super().__init__(optimizer, last_epoch)

    def anneal_func(self, t):
        """The fraction α of the way to ``swa_lr`` at progress t ∈ [0, 1]."""
        return (1 - math.cos(math.pi * t)) / 2 if self._anneal_strategy == "cos" else t

    def get_lr(self):
        step = self._step_count - 1
        if self.anneal_epochs == 0:
            step = max(1, step)
        span = max(1, self.anneal_epochs)
        prev_alpha = self.anneal_func(max(0, min(1, (step - 1) / span)))
        alpha = self.anneal_func(max(0, min(1, step / span)))
        lrs = []
        for g in self.optimizer.param_groups:
            # recover the starting lr from the current one, then move to the new mix
            if prev_alpha == 1:
                start = g["swa_lr"]
            else:
                start = (g["lr"] - prev_alpha * g["swa_lr"]) / (1 - prev_alpha)
            lrs.append(g["swa_lr"] * alpha + start * (1 - alpha))
        return lrs
