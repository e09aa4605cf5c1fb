"""The differentiable primitives, grouped by kind. Importing this package publishes every op as
``nablagrad.<name>`` and ``Tensor.<name>`` (see :mod:`nablagrad.ops._api`)."""
from types import SimpleNamespace

from ._api import FUNCTIONS, public, assign_inplace
from . import (creation, random, elementwise, reduce, shape, indexing, linalg,  # noqa: F401
               conv, pool, activation, fused)

#: the public ops plus the indexing entry points, for Tensor's operators
FUNCTIONS_NS = SimpleNamespace(**FUNCTIONS, getitem=indexing.getitem, setitem=indexing.setitem)
