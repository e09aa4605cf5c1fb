"""Switches for recording the graph: ``no_grad``, ``enable_grad``, ``set_grad_enabled``,
``inference_mode``. Each works as a context manager and as a function decorator."""
from __future__ import annotations

import functools


class _State:
    enabled = True


state = _State()


def is_grad_enabled() -> bool:
    return state.enabled


class set_grad_enabled:
    """Turn graph recording on or off; restores the previous setting on exit."""

    def __init__(self, mode: bool = True):
        self.prev = state.enabled
        self.mode = bool(mode)
        state.enabled = self.mode  # like torch: takes effect even when not used with `with`

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        state.enabled = self.prev
        return False

    def __call__(self, fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with self.__class__(self.mode):
                return fn(*args, **kwargs)
        state.enabled = self.prev
        return wrapper


class no_grad(set_grad_enabled):
    """Run without recording the graph: results have ``requires_grad=False``."""

    def __new__(cls, orig_func=None):
        if orig_func is None:
            return super().__new__(cls)
        return cls()(orig_func)  # used as a bare decorator: @no_grad

    def __init__(self, orig_func=None):
        self.prev = state.enabled
        self.mode = False

    def __enter__(self):
        self.prev = state.enabled
        state.enabled = False
        return self

    def __call__(self, fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with self.__class__():
                return fn(*args, **kwargs)
        return wrapper


class enable_grad(no_grad):
    """Record the graph again inside a ``no_grad`` block."""

    def __enter__(self):
        self.prev = state.enabled
        state.enabled = True
        return self


class inference_mode(no_grad):
    """Like ``no_grad`` (NumPy arrays carry no autograd metadata, so there is nothing more to skip)."""

    def __new__(cls, mode=True):
        if isinstance(mode, bool):
            return object.__new__(cls)
        return cls()(mode)  # used as a bare decorator: @inference_mode

    def __init__(self, mode: bool = True):
        super().__init__()
        self.mode = not mode

    def __enter__(self):
        self.prev = state.enabled
        state.enabled = self.mode
        return self

    def __call__(self, fn):
        mode = not self.mode

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with inference_mode(mode):
                return fn(*args, **kwargs)
        return wrapper
