"""Recipe configs: a dataclass per recipe, overridden from the command line with ``--key=value``.

Every recipe config extends ``RunConfig`` (the options all recipes share). ``--quick`` applies the
recipe's ``QUICK`` overrides (a small run for smoke tests) before the user's own overrides, so
``--quick --epochs=2`` trains the quick setting for two epochs.
"""
from __future__ import annotations

import dataclasses
import types
import typing
from dataclasses import dataclass


@dataclass
class RunConfig:
    """Options every recipe has."""
    seed: int = 0                  # seeds ng.manual_seed: init, shuffling, dropout, augmentation
    quick: bool = False            # a run of well under a minute (smoke tests, CI)
    data_root: str | None = None   # where datasets are looked for first (see DESIGN: Data)
    device: str = "cpu"            # "cpu" or "cuda" (needs CuPy)
    out_dir: str = "runs"          # outputs go to OUT_DIR/RECIPE/
    resume: bool = False           # continue from OUT_DIR/RECIPE/checkpoint.safetensors
    stop_after: int = 0            # end after this epoch, to --resume later (0: run to the end)
    progress: bool = True          # tqdm progress bars


def _convert(text: str, kind, key: str):
    """``text`` as a value of type ``kind`` (bool, int, float, str, tuples, Optional)."""
    origin, args = typing.get_origin(kind), typing.get_args(kind)
    if origin in (typing.Union, types.UnionType):
        if text.lower() in ("none", "null", ""):
            if type(None) in args:
                return None
        inner = [a for a in args if a is not type(None)]
        return _convert(text, inner[0], key)
    if origin is tuple:
        items = [s for s in text.replace("(", "").replace(")", "").split(",") if s.strip()]
        return tuple(_convert(s.strip(), args[0], key) for s in items)
    if kind is bool:
        low = text.lower()
        if low in ("1", "true", "yes", "on"):
            return True
        if low in ("0", "false", "no", "off"):
            return False
        raise ValueError(f"--{key}: expected true or false, got {text!r}")
    try:
        return kind(text)
    except ValueError:
        raise ValueError(f"--{key}: expected {kind.__name__}, got {text!r}") from None


def parse_overrides(config_cls, tokens):
    """Parse ``["--epochs=3", "--lr", "0.1", "--quick"]`` into ``{"epochs": 3, "lr": 0.1,
    "quick": True}`` using the types of ``config_cls``'s fields; an unknown key raises an error
    that lists the valid ones."""
    hints = typing.get_type_hints(config_cls)
    fields = {f.name for f in dataclasses.fields(config_cls)}
    out, i = {}, 0
    while i < len(tokens):
        token = tokens[i]
        if not token.startswith("--"):
            raise ValueError(f"unexpected argument {token!r}: options look like --key=value")
        key, has_value, text = token[2:].partition("=")
        key = key.replace("-", "_")
        if key not in fields:
            valid = ", ".join(f"--{f.replace('_', '-')}" for f in sorted(fields))
            raise ValueError(f"unknown option --{key.replace('_', '-')} for "
                             f"{config_cls.__qualname__}; valid options: {valid}")
        if not has_value:
            nxt = tokens[i + 1] if i + 1 < len(tokens) else None
            if hints[key] is bool and (nxt is None or nxt.startswith("--")):
                text = "true"
            elif nxt is None or nxt.startswith("--"):
                raise ValueError(f"option --{key.replace('_', '-')} needs a value")
            else:
                text, i = nxt, i + 1
        out[key] = _convert(text, hints[key], key)
        i += 1
    return out


def make_config(config_cls, quick_overrides, tokens):
    """The config for a command line: defaults, then the recipe's quick overrides if
    ``--quick`` is among ``tokens``, then the user's overrides."""
    user = parse_overrides(config_cls, tokens)
    values = dict(quick_overrides) if user.get("quick") else {}
    values.update(user)
    return config_cls(**values)
