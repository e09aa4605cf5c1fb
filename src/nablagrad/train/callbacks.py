"""Callbacks: code that ``fit`` runs at fixed points of training.

A callback overrides any of the hooks below; each receives the ``Trainer`` (the loop's state:
``model``, ``optimizer``, ``epoch``, ``step``, ``history``, ``record`` ...) and may set
``trainer.stop_reason`` to end training after the current step or epoch. Callbacks whose
decisions depend on the past (early-stopping counters, the best value so far, a scheduler) save
that in ``state_dict`` so that a resumed run decides exactly as an uninterrupted one.

Order of hooks: ``on_fit_start``; per epoch ``on_epoch_start``, per batch (forward, backward)
``on_after_backward`` (gradients exist, the optimizer has not stepped) and ``on_step_end``; then
validation and ``on_epoch_end`` (``trainer.record`` holds the epoch's metrics); ``on_fit_end``.
"""
from __future__ import annotations

import json
import math
import os

from ..serialization import save

__all__ = ["Callback", "EarlyStopping", "BestCheckpoint", "LRScheduler", "GradientClipping",
           "TerminateOnNaN", "JSONLLogger"]


class Callback:
    def on_fit_start(self, trainer): pass
    def on_epoch_start(self, trainer): pass
    def on_after_backward(self, trainer): pass
    def on_step_end(self, trainer): pass
    def on_epoch_end(self, trainer): pass
    def on_fit_end(self, trainer): pass

    def state_dict(self) -> dict:
        return {}

    def load_state_dict(self, state) -> None:
        pass


def _monitored(trainer, key, who):
    if key not in trainer.record:
        raise KeyError(f"{who}: metric {key!r} is not in the epoch record "
                       f"{sorted(trainer.record)}; pass a val_loader to fit for 'val_*' metrics")
    return trainer.record[key]


class _Improvement:
    """Tracks the best value of a metric: ``mode`` "min" or "max", improvement beyond
    ``min_delta``."""

    def __init__(self, mode, min_delta=0.0):
        if mode not in ("min", "max"):
            raise ValueError(f"mode must be 'min' or 'max', got {mode!r}")
        self.mode, self.min_delta, self.best = mode, abs(min_delta), None

    def improved(self, value) -> bool:
        if self.best is None:
            return True
        if self.mode == "min":
            return value < self.best - self.min_delta
        return value > self.best + self.min_delta


class EarlyStopping(Callback):
    """Stop when ``monitor`` has not improved for ``patience`` epochs in a row."""

    def __init__(self, monitor="val_loss", mode="min", patience=5, min_delta=0.0):
        self.monitor, self.patience = monitor, patience
        self._best = _Improvement(mode, min_delta)
        self.bad_epochs = 0

    def on_epoch_end(self, trainer):
        value = _monitored(trainer, self.monitor, "EarlyStopping")
        if self._best.improved(value):
            self._best.best, self.bad_epochs = value, 0
            return
        self.bad_epochs += 1
        if self.bad_epochs >= self.patience:
            trainer.stop_reason = (f"early stopping: {self.monitor} has not improved on "
                                   f"{self._best.best:.6g} for {self.patience} epochs")

    def state_dict(self):
        return {"best": self._best.best, "bad_epochs": self.bad_epochs}

    def load_state_dict(self, state):
        self._best.best, self.bad_epochs = state["best"], state["bad_epochs"]


class BestCheckpoint(Callback):
    """Save the model's ``state_dict`` to ``path`` whenever ``monitor`` improves; the epoch and
    value are recorded in ``best_epoch`` / ``best``."""

    def __init__(self, path, monitor="val_accuracy", mode="max"):
        self.path, self.monitor = path, monitor
        self._best = _Improvement(mode)
        self.best_epoch = None

    @property
    def best(self):
        return self._best.best

    def on_epoch_end(self, trainer):
        value = _monitored(trainer, self.monitor, "BestCheckpoint")
        if self._best.improved(value):
            self._best.best, self.best_epoch = value, trainer.epoch
            os.makedirs(os.path.dirname(os.path.abspath(self.path)), exist_ok=True)
            save(trainer.model.state_dict(), self.path)

    def state_dict(self):
        return {"best": self._best.best, "best_epoch": self.best_epoch}

    def load_state_dict(self, state):
        self._best.best, self.best_epoch = state["best"], state["best_epoch"]


class LRScheduler(Callback):
    """Step ``scheduler`` after every optimizer step (``interval="step"``, e.g. OneCycleLR) or
    after every epoch (``"epoch"``). ``ReduceLROnPlateau`` is stepped with the epoch's
    ``monitor`` value."""

    def __init__(self, scheduler, interval="epoch", monitor="val_loss"):
        if interval not in ("epoch", "step"):
            raise ValueError(f"LRScheduler: interval must be 'epoch' or 'step', got {interval!r}")
        self.scheduler, self.interval, self.monitor = scheduler, interval, monitor
        self._plateau = type(scheduler).__name__ == "ReduceLROnPlateau"
        if self._plateau and interval == "step":
            raise ValueError("LRScheduler: ReduceLROnPlateau is stepped once per epoch")

    def on_step_end(self, trainer):
        if self.interval == "step":
            self.scheduler.step()

    def on_epoch_end(self, trainer):
        if self.interval != "epoch":
            return
        if self._plateau:
            self.scheduler.step(_monitored(trainer, self.monitor, "LRScheduler"))
        else:
            self.scheduler.step()

    def state_dict(self):
        return self.scheduler.state_dict()

    def load_state_dict(self, state):
        self.scheduler.load_state_dict(state)


class GradientClipping(Callback):
    """Before each optimizer step, rescale gradients to total ``max_norm`` (``clip_grad_norm_``)
    and/or clamp each to ``[-max_value, max_value]`` (``clip_grad_value_``). The last total norm
    before clipping is kept in ``trainer.grad_norm``."""

    def __init__(self, max_norm=None, max_value=None, norm_type=2.0):
        if max_norm is None and max_value is None:
            raise ValueError("GradientClipping: give max_norm, max_value or both")
        self.max_norm, self.max_value, self.norm_type = max_norm, max_value, norm_type

    def on_after_backward(self, trainer):
        from ..nn.utils import clip_grad_norm_, clip_grad_value_
        params = [p for p in trainer.model.parameters() if p.grad is not None]
        if self.max_value is not None:
            clip_grad_value_(params, self.max_value)
        if self.max_norm is not None:
            trainer.grad_norm = float(clip_grad_norm_(params, self.max_norm, self.norm_type))


class TerminateOnNaN(Callback):
    """Stop as soon as the training loss is NaN or infinite, saying where and what to try.
    ``fit`` then returns with ``stop_reason`` set (the CLI prints it and exits with status 1)."""

    def on_step_end(self, trainer):
        if not math.isfinite(trainer.last_loss):
            lrs = ", ".join(f"{g['lr']:.3g}" for g in trainer.optimizer.param_groups)
            trainer.stop_reason = (
                f"training diverged: the loss is {trainer.last_loss} at epoch {trainer.epoch}, "
                f"step {trainer.step} (learning rate {lrs}); try a smaller learning rate or "
                f"gradient clipping")
            trainer.diverged = True


class JSONLLogger(Callback):
    """Write one JSON object per epoch (``trainer.record``) to ``path``. At the start it rewrites
    the file from ``trainer.history``, so a resumed run's log holds each epoch exactly once."""

    def __init__(self, path):
        self.path = path

    def on_fit_start(self, trainer):
        os.makedirs(os.path.dirname(os.path.abspath(self.path)), exist_ok=True)
        tmp = f"{self.path}.tmp"
        with open(tmp, "w") as f:
            for record in trainer.history:
                f.write(json.dumps(record) + "\n")
        os.replace(tmp, self.path)

    def on_epoch_end(self, trainer):
        with open(self.path, "a") as f:
            f.write(json.dumps(trainer.record) + "\n")
