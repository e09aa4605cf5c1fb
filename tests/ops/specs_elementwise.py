"""Op specs: elementwise arithmetic and unary math."""
import numpy as np
import torch

import nablagrad as ng

from .spec import OpSpec, randn, positive

OpSpec("add", lambda a, b: a + b, lambda a, b: a + b,
       lambda r: [(randn(r, 3, 4), randn(r, 3, 4)), (randn(r, 2, 3, 1), randn(r, 4)),
                  (randn(r, 3), 2.5), (randn(r, 2, 3), np.array([1, 2, 3]))])
OpSpec("add_alpha", lambda a, b: ng.add(a, b, alpha=-0.5), lambda a, b: torch.add(a, b, alpha=-0.5),
       lambda r: [(randn(r, 3, 4), randn(r, 4))])
OpSpec("sub", lambda a, b: a - b, lambda a, b: a - b,
       lambda r: [(randn(r, 3, 4), randn(r, 1, 4)), (1.5, randn(r, 3))])
OpSpec("mul", lambda a, b: a * b, lambda a, b: a * b,
       lambda r: [(randn(r, 3, 4), randn(r, 3, 4)), (randn(r, 5, 1), randn(r, 1, 3)), (randn(r, 3), -2.0)])
OpSpec("div", lambda a, b: a / b, lambda a, b: a / b,
       lambda r: [(randn(r, 3, 4), positive(r, 3, 4)), (2.0, positive(r, 3)),
                  (np.array([1, 2, 3]), 2)])
OpSpec("neg", lambda a: -a, lambda a: -a, lambda r: [(randn(r, 3, 4),)])
OpSpec("exp", ng.exp, torch.exp, lambda r: [(randn(r, 3, 4),), (np.array([1, 2, 3]),)])
