"""Op specs: reduce."""
import numpy as np
import torch

import nablagrad as ng

from .spec import OpSpec, Const, randn, positive, away_from_zero  # noqa: F401

OpSpec("sum", lambda a: a.sum(), lambda a: a.sum(), lambda r: [(randn(r, 3, 4),)])
OpSpec("sum_dim", lambda a, d, k: a.sum(d, keepdim=k), lambda a, d, k: a.sum(d, keepdim=k),
       lambda r: [(randn(r, 3, 4, 2), 1, False), (randn(r, 3, 4, 2), (0, 2), True),
                  (randn(r, 3, 4), -1, True)])
