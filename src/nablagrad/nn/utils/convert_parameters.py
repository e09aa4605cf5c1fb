"""Flatten parameters into one vector and back (used by second-order and evolutionary methods)."""
from ..._tensor import Tensor
from ...ops.shape import cat as _cat

__all__ = ["parameters_to_vector", "vector_to_parameters"]


def _check_same_device(param, device):
    if device is None:
        return param.device
    if param.device != device:
        raise TypeError("Found two parameters on different devices, this is currently not supported.")
    return device


def parameters_to_vector(parameters):
    """``cat([p.view(-1) for p in parameters])``: one 1-d Tensor (differentiable w.r.t. each p)."""
    device, flat = None, []
    for p in parameters:
        device = _check_same_device(p, device)
        flat.append(p.view(-1))
    return _cat(flat)


def vector_to_parameters(vec, parameters):
    """Copy consecutive slices of the 1-d ``vec`` into the ``.data`` of each parameter, in order."""
    if not isinstance(vec, Tensor):
        raise TypeError(f"expected nablagrad.Tensor, but got: {type(vec).__name__}")
    device, offset = None, 0
    for p in parameters:
        device = _check_same_device(p, device)
        n = p.numel()
        if offset + n > vec.numel():
            raise RuntimeError(f"vector_to_parameters: vec has {vec.numel()} elements, too few for "
                               f"the parameters (needed more than {offset + n - 1})")
        p.data = vec[offset:offset + n].view_as(p).data
        offset += n
