"""Op specs: linalg."""
import numpy as np
import torch

import nablagrad as ng

from .spec import OpSpec, Const, randn, positive, away_from_zero  # noqa: F401

OpSpec("matmul", lambda a, b: a @ b, lambda a, b: a @ b,
       lambda r: [(randn(r, 3, 4), randn(r, 4, 2)), (randn(r, 2, 3, 4), randn(r, 4, 5)),
                  (randn(r, 4), randn(r, 4, 2)), (randn(r, 3, 4), randn(r, 4)), (randn(r, 4), randn(r, 4)),
                  (randn(r, 2, 1, 3, 4), randn(r, 5, 4, 2))])
