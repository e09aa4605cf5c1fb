"""nablagrad: deep learning from scratch on NumPy, with PyTorch's API.

``import nablagrad as ng`` and write what you would write with ``torch``.
"""
from .backend import (dtype, device, bool_ as bool, uint8, int8, int16, int32, int64, float16,
                      float32, float64, get_default_dtype, set_default_dtype, promote_types)
from .backend import result_type as _result_type, set_num_threads, get_num_threads
from ._tensor import Tensor, Size
from .autograd import no_grad, enable_grad, set_grad_enabled, inference_mode, is_grad_enabled
from . import autograd, ops, nn, linalg, data, optim, train, models
from .ops import FUNCTIONS as _FUNCTIONS
from .ops import random
from .ops.random import Generator, default_generator
from .serialization import save, load

globals().update(_FUNCTIONS)

half, float, double = float16, float32, float64
short, int, long = int16, int32, int64

__version__ = "0.1.0"


def result_type(tensor1, tensor2):
    """The dtype an op on these two operands gives (PyTorch's promotion rules)."""
    return _result_type(tensor1, tensor2)


def is_tensor(obj) -> bool:
    return isinstance(obj, Tensor)


def numel(input) -> int:
    return input.numel()
