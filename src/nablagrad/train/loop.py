"""``fit`` and ``evaluate``: the plain training loop every recipe uses.

One epoch of ``fit`` is mini-batch gradient descent as in the notes: for each batch,
forward, loss L(θ), ``loss.backward()`` for ∇θ L, then ``optimizer.step()``. Around it: metrics
averaged over the epoch (weighted by batch size), an optional validation pass, callbacks (early
stopping, best checkpoint, LR schedules, gradient clipping, NaN detection, JSONL logs), a tqdm
progress bar, and a training checkpoint at the end of every epoch that ``resume=True`` continues
from exactly (see ``checkpoint.py``).
"""
from __future__ import annotations

import math
import os
import sys
import time
from dataclasses import dataclass, field

from tqdm.auto import tqdm

from .. import autograd
from ..nn.functional import cross_entropy
from .callbacks import TerminateOnNaN
from .checkpoint import load_checkpoint, save_checkpoint
from .metrics import accuracy

__all__ = ["fit", "evaluate", "Trainer", "default_prepare_batch"]

CLASSIFICATION = {"accuracy": accuracy}


def default_prepare_batch(batch, device=None):
    """``(inputs, targets)`` from a batch that is an (inputs, targets) pair, moved to
    ``device``."""
    try:
        inputs, targets = batch
    except (TypeError, ValueError):
        raise TypeError(f"fit: expected each batch to be an (inputs, targets) pair, got "
                        f"{type(batch).__name__}; pass prepare_batch= to unpack it") from None
    if device is not None:
        inputs, targets = inputs.to(device), targets.to(device)
    return inputs, targets


@dataclass
class Trainer:
    """The state of a ``fit`` run, as callbacks see it."""
    model: object
    optimizer: object
    epochs: int
    epoch: int = 0                 # the current (1-based) epoch; finished epochs after fit
    step: int = 0                  # optimizer steps taken so far
    history: list = field(default_factory=list)   # one record (dict) per finished epoch
    record: dict = field(default_factory=dict)    # the current epoch's metrics
    last_loss: float = float("nan")
    grad_norm: float | None = None
    stop_reason: str | None = None
    diverged: bool = False


def _batch_size(targets):
    return targets.shape[0] if getattr(targets, "ndim", 0) else 1


def _run_epoch(model, loader, loss_fn, metrics, prepare, trainer=None, callbacks=(), bar=None):
    """One pass over ``loader``; trains when ``trainer`` is given. Returns mean loss and metrics,
    each averaged over samples."""
    sums, count = dict.fromkeys(["loss", *metrics], 0.0), 0
    for batch in loader:
        inputs, targets = prepare(batch)
        output = model(inputs)
        loss = loss_fn(output, targets)
        n = _batch_size(targets)
        if trainer is not None:
            trainer.optimizer.zero_grad()
            loss.backward()
            for cb in callbacks:
                cb.on_after_backward(trainer)
            trainer.optimizer.step()
            trainer.step += 1
            trainer.last_loss = loss.item()
            for cb in callbacks:
                cb.on_step_end(trainer)
        value = trainer.last_loss if trainer is not None else loss.item()
        sums["loss"] += value * n
        with autograd.no_grad():
            for name, fn in metrics.items():
                sums[name] += float(fn(output.detach(), targets)) * n
        count += n
        if bar is not None:
            bar.update(1)
            bar.set_postfix(loss=f"{value:.4f}", refresh=False)
        if trainer is not None and trainer.stop_reason:
            break
    if count == 0:
        raise ValueError("fit: the data loader yielded no batches")
    return {k: v / count for k, v in sums.items()}


def evaluate(model, loader, loss_fn=cross_entropy, metrics=None, prepare_batch=None,
             device=None):
    """Mean loss and metrics of ``model`` over ``loader``, in eval mode without gradients
    (the model's training mode is restored afterwards). Returns e.g. ``{"loss": 0.31,
    "accuracy": 0.89}``."""
    metrics = CLASSIFICATION if metrics is None else metrics
    prepare = prepare_batch or (lambda b: default_prepare_batch(b, device))
    was_training = model.training
    model.eval()
    try:
        with autograd.no_grad():
            return _run_epoch(model, loader, loss_fn, metrics, prepare)
    finally:
        model.train(was_training)


def fit(model, optimizer, train_loader, *, epochs, loss_fn=cross_entropy, val_loader=None,
        metrics=None, callbacks=(), checkpoint=None, resume=False, prepare_batch=None,
        eval_prepare_batch=None, device=None, generators=None, progress=True, desc="train",
        stop_after=None):
    """Train ``model`` for ``epochs`` epochs and return the ``Trainer`` (``history`` holds one
    record per epoch: ``epoch, step, lr, train_loss, train_<metric>, val_loss, val_<metric>,
    seconds``; ``stop_reason`` says why training ended early, if it did).

    - ``metrics``: name -> fn(output, targets) giving a batch mean (default: accuracy).
    - ``prepare_batch(batch) -> (inputs, targets)``: unpacking, moving to ``device``,
      normalisation and augmentation of a training batch; ``eval_prepare_batch`` for validation
      batches (default: the same as ``prepare_batch``).
    - ``checkpoint``: a path written at the end of every epoch; ``resume=True`` first loads it
      (model, optimizer, callbacks' state, random generators, epoch) and continues, producing
      the same parameters as a run that never stopped.
    - ``stop_after``: end this call after that epoch (its checkpoint written), to split one run
      of ``epochs`` epochs over several sessions; call again with ``resume=True`` to continue.
    - A ``TerminateOnNaN`` callback is added unless one is given.
    """
    metrics = CLASSIFICATION if metrics is None else metrics
    prepare = prepare_batch or (lambda b: default_prepare_batch(b, device))
    eval_prepare = eval_prepare_batch or prepare
    callbacks = list(callbacks)
    if not any(isinstance(cb, TerminateOnNaN) for cb in callbacks):
        callbacks.append(TerminateOnNaN())
    trainer = Trainer(model, optimizer, epochs)
    if resume:
        if checkpoint is None:
            raise ValueError("fit: resume=True needs checkpoint= (the path to resume from)")
        if not os.path.exists(checkpoint):
            raise FileNotFoundError(f"fit: cannot resume, no checkpoint at {checkpoint}")
        state = load_checkpoint(checkpoint, model=model, optimizer=optimizer,
                                callbacks=callbacks, generators=generators)
        trainer.epoch, trainer.step = state["epoch"], state["step"]
        trainer.history = list(state["history"])
    for cb in callbacks:
        cb.on_fit_start(trainer)
    show = progress and sys.stderr is not None
    last = epochs if stop_after is None else min(epochs, stop_after)
    while trainer.epoch < last and not trainer.stop_reason:
        trainer.epoch += 1
        trainer.record = {}
        for cb in callbacks:
            cb.on_epoch_start(trainer)
        lr = optimizer.param_groups[0]["lr"]
        start = time.perf_counter()
        model.train()
        bar = tqdm(total=len(train_loader), desc=f"{desc} {trainer.epoch}/{epochs}",
                   leave=False, disable=not show, dynamic_ncols=True)
        try:
            train = _run_epoch(model, train_loader, loss_fn, metrics, prepare, trainer,
                               callbacks, bar)
        finally:
            bar.close()
        record = {"epoch": trainer.epoch, "step": trainer.step, "lr": lr}
        record.update({f"train_{k}": v for k, v in train.items()})
        if val_loader is not None and not trainer.diverged:
            val = evaluate(model, val_loader, loss_fn, metrics, eval_prepare)
            record.update({f"val_{k}": v for k, v in val.items()})
        record["seconds"] = time.perf_counter() - start
        trainer.record = record
        if trainer.diverged:
            break
        for cb in callbacks:
            cb.on_epoch_end(trainer)
        trainer.history.append(record)
        if checkpoint is not None:
            save_checkpoint(checkpoint, model=model, optimizer=optimizer, epoch=trainer.epoch,
                            step=trainer.step, history=trainer.history, callbacks=callbacks,
                            generators=generators)
    for cb in callbacks:
        cb.on_fit_end(trainer)
    return trainer


def format_record(record) -> str:
    """One line for an epoch record, e.g. ``epoch 3  train_loss 0.3120  val_accuracy 89.52%``."""
    parts = [f"epoch {record['epoch']}"]
    for key, value in record.items():
        if key in ("epoch", "step"):
            continue
        if key.endswith("accuracy"):
            parts.append(f"{key} {value:.2%}")
        elif key == "seconds":
            parts.append(f"{value:.1f} s")
        elif key == "lr":
            parts.append(f"lr {value:.3g}")
        elif isinstance(value, float) and math.isfinite(value):
            parts.append(f"{key} {value:.4f}")
        else:
            parts.append(f"{key} {value}")
    return "  ".join(parts)
