"""``nablagrad.nn.functional``: the neural-network primitives, with PyTorch's names and signatures.

Each op lives in :mod:`nablagrad.ops` with the others of its kind; this module gathers them.
Every name in a module's ``__all__`` (conv, pool, activation, fused, and ``pad`` from shape)
is exported here.
"""
from ..ops import (activation as _activation, conv as _conv, fused as _fused, pool as _pool,
                   shape as _shape)

for _m in (_conv, _pool, _activation, _fused, _shape):
    globals().update({name: getattr(_m, name) for name in _m.__all__})
del _m
