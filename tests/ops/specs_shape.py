"""Op specs: shape."""
import numpy as np
import torch

import nablagrad as ng

from .spec import OpSpec, Const, randn, positive, away_from_zero  # noqa: F401

OpSpec("reshape", lambda a: a.reshape(4, -1), lambda a: a.reshape(4, -1), lambda r: [(randn(r, 2, 6),)])
OpSpec("permute", lambda a: a.permute(2, 0, 1), lambda a: a.permute(2, 0, 1), lambda r: [(randn(r, 2, 3, 4),)])
OpSpec("transpose", lambda a: a.transpose(0, -1), lambda a: a.transpose(0, -1), lambda r: [(randn(r, 2, 3, 4),)])
OpSpec("expand", lambda a: a.expand(2, 3, 4), lambda a: a.expand(2, 3, 4), lambda r: [(randn(r, 3, 1),)])
OpSpec("getitem_basic", lambda a: a[1:, None, ::2], lambda a: a[1:, None, ::2], lambda r: [(randn(r, 3, 4),)])
