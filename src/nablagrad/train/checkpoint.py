"""Training checkpoints: everything needed to continue a run exactly where it stopped.

One safetensors file (``ng.save``) holds the model's and optimizer's ``state_dict``, the LR
scheduler's, the state of the default random generator (which shuffles the data, draws dropout
masks and random augmentations) and of any extra ``generators``, the callbacks' state (early
stopping counters, best value so far), the number of finished epochs and optimizer steps, and the
history of per-epoch metrics. Resuming from the end of epoch ``e`` then replays epochs ``e+1 ...``
with the same random draws as an uninterrupted run, so the parameters come out bit-identical.
Writes are atomic (``ng.save`` renames a finished temporary file into place).
"""
from __future__ import annotations

import os

from ..ops.random import default_generator
from ..serialization import load, save

__all__ = ["save_checkpoint", "load_checkpoint"]


def save_checkpoint(path, *, model, optimizer=None, scheduler=None, epoch=0, step=0,
                    history=(), callbacks=(), generators=None, extra=None):
    """Write a training checkpoint to ``path`` (see the module docstring for what it holds)."""
    generators = dict(generators or {})
    state = {
        "model": model.state_dict(),
        "optimizer": optimizer.state_dict() if optimizer is not None else None,
        "scheduler": scheduler.state_dict() if scheduler is not None else None,
        "rng": {"default": default_generator.get_state(),
                **{name: g.get_state() for name, g in generators.items()}},
        "callbacks": [cb.state_dict() for cb in callbacks],
        "epoch": int(epoch), "step": int(step), "history": list(history),
        "extra": extra,
    }
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    save(state, path)


def load_checkpoint(path, *, model, optimizer=None, scheduler=None, callbacks=(),
                    generators=None):
    """Restore what ``save_checkpoint`` wrote into the given objects (in place) and return the
    checkpoint as a dict (``epoch``, ``step``, ``history``, ``extra``). The objects must be built
    the same way as when the checkpoint was saved; a mismatch raises an error naming ``path``."""
    if not os.path.exists(path):
        raise FileNotFoundError(f"load_checkpoint: no checkpoint at {path}")
    state = load(path)
    for key in ("model", "optimizer", "scheduler", "rng", "callbacks", "epoch", "step"):
        if key not in state:
            raise ValueError(f"load_checkpoint: {path} is not a training checkpoint "
                             f"(no {key!r} entry); was it written by save_checkpoint?")
    try:
        model.load_state_dict(state["model"])
        if optimizer is not None:
            optimizer.load_state_dict(state["optimizer"])
        if scheduler is not None:
            scheduler.load_state_dict(state["scheduler"])
        if len(state["callbacks"]) != len(callbacks):
            raise ValueError(f"it holds the state of {len(state['callbacks'])} callbacks, "
                             f"the run has {len(callbacks)}")
        for cb, cb_state in zip(callbacks, state["callbacks"]):
            cb.load_state_dict(cb_state)
    except (RuntimeError, ValueError, KeyError) as e:
        raise type(e)(f"load_checkpoint: {path} does not fit this run: {e}") from e
    default_generator.set_state(state["rng"]["default"])
    for name, g in (generators or {}).items():
        if name not in state["rng"]:
            raise KeyError(f"load_checkpoint: {path} has no state for generator {name!r}")
        g.set_state(state["rng"][name])
    return state
