"""``Parameter``: a Tensor that a Module registers as one of its learnable weights."""
from .._tensor import Tensor
from ..ops.creation import _to_array


class Parameter(Tensor):
    """A leaf Tensor that requires grad by default; assigning one to a Module attribute registers it.

    ``Parameter(data)`` shares ``data``'s array (no copy)."""

    def __new__(cls, data=None, requires_grad=True):
        arr = data._data if isinstance(data, Tensor) else _to_array([] if data is None else data,
                                                                      None, None, copy=False)
        p = cls._make(arr)
        if requires_grad:
            p.requires_grad_(True)
        return p

    def __init__(self, data=None, requires_grad=True):
        pass

    def __repr__(self):
        return "Parameter containing:\n" + super().__repr__()

    __str__ = __repr__

    def __deepcopy__(self, memo):
        if id(self) in memo:
            return memo[id(self)]
        p = Parameter(Tensor._make(self._data.copy()), self.requires_grad)
        memo[id(self)] = p
        return p


class Buffer(Tensor):
    """Marks a tensor to be registered as a Module buffer when assigned as an attribute."""

    def __new__(cls, data=None, *, persistent=True):
        arr = data._data if isinstance(data, Tensor) else _to_array(data, None, None, copy=False)
        b = cls._make(arr)
        b.persistent = persistent
        return b

    def __init__(self, data=None, *, persistent=True):
        pass
