"""Pooling and resampling: max/avg/adaptive/Lp pooling, max_unpool, interpolate, pixel_shuffle,
affine_grid and grid_sample.

Pooling reads the same windows as a convolution (:class:`~nablagrad.ops.conv.Geometry`): for
output position o and kernel offset k, the padded input at o·s + k·d. Each op loops over the
kernel offsets, one vectorised NumPy call per offset over all windows at once.

Every op here is linear in its input once the data-dependent choices (argmax positions) are fixed,
so each backward is the adjoint map, written as an op whose own backward is the forward map again:
derivatives of any order come from the same pairs (gather/scatter, sum/spread, resample/spread).
"""
from __future__ import annotations

import math

import numpy as np

from .. import backend
from .._tensor import Tensor
from ..autograd.graph import Op
from .conv import Geometry, _batched, crop_spatial, ntuple, pad_spatial

__all__ = ["max_pool1d", "max_pool2d", "max_pool3d", "max_pool1d_with_indices",
           "max_pool2d_with_indices", "max_pool3d_with_indices", "max_unpool1d", "max_unpool2d",
           "max_unpool3d", "avg_pool1d", "avg_pool2d", "avg_pool3d", "lp_pool1d", "lp_pool2d",
           "lp_pool3d", "adaptive_avg_pool1d", "adaptive_avg_pool2d", "adaptive_avg_pool3d",
           "adaptive_max_pool1d", "adaptive_max_pool2d", "adaptive_max_pool3d",
           "adaptive_max_pool1d_with_indices", "adaptive_max_pool2d_with_indices",
           "adaptive_max_pool3d_with_indices", "interpolate", "upsample", "upsample_nearest",
           "upsample_bilinear", "pixel_shuffle", "pixel_unshuffle", "affine_grid", "grid_sample"]


# ----------------------------------------------------------------------------- shared checks
# _batched (unbatched inputs get a batch dimension) is shared with conv.py
def _unbatch(out, unbatched):
    if isinstance(out, tuple):
        return tuple(_unbatch(o, unbatched) for o in out)
    return out.squeeze(0) if unbatched else out


def _pool_out_size(n, k, s, p, d, ceil_mode):
    """Number of windows (PyTorch's rule: with ceil_mode a last window must start inside the
    input or its left padding)."""
    out = (n + 2 * p - d * (k - 1) - 1 + (s - 1 if ceil_mode else 0)) // s + 1
    if ceil_mode and (out - 1) * s >= n + p:
        out -= 1
    return out


def _pool_geometry(x, nd, kernel_size, stride, padding, dilation, ceil_mode, opname, max_pad):
    kernel = ntuple(kernel_size, nd, "kernel_size", opname)
    stride = kernel if stride is None or stride == [] or stride == () else \
        ntuple(stride, nd, "stride", opname)
    pad = ntuple(padding, nd, "padding", opname)
    dil = ntuple(dilation, nd, "dilation", opname)
    if any(v <= 0 for v in kernel + stride + dil):
        raise RuntimeError(f"{opname}: kernel_size {kernel}, stride {stride} and dilation {dil} "
                           "must be positive")
    limit = tuple(max_pad(k, d) for k, d in zip(kernel, dil))
    if any(p < 0 or p > m for p, m in zip(pad, limit)):
        raise RuntimeError(f"{opname}: pad should be at most half of effective kernel size, but "
                           f"got padding={pad}, kernel_size={kernel} and dilation={dil}")
    size = tuple(x.shape[2:])
    out = tuple(_pool_out_size(n, k, s, p, d, ceil_mode)
                for n, k, s, p, d in zip(size, kernel, stride, pad, dil))
    if any(o < 1 for o in out):
        raise RuntimeError(f"{opname}: given input size {size}, the calculated output size {out} "
                           "is too small")
    return Geometry(size, kernel, stride, dil, pad, out)


def _check_float(x, opname):
    if not x.dtype.is_floating_point:
        raise RuntimeError(f"{opname}: expected a floating-point input, got {x.dtype}")


# ----------------------------------------------------------------------------- max pooling
class MaxPool(Op):
    """y[o] = max_k x_pad[o·s + k·d] (padding counts as -∞).

    dL/dx: dL/dy[o] goes to the input position of the max of window o (summed where windows
    overlap), a :class:`WindowScatter` of dL/dy; the argmax is a constant of the forward.
    """

    def forward(self, x, geo, with_indices):
        xp = backend.xp_of(x)
        xpad = pad_spatial(x, geo, _lowest(x.dtype))
        views = [xpad[(...,) + sl] for _, sl in geo.offsets]
        best = views[0].copy()
        if not (self.requires_grad or with_indices):
            for v in views[1:]:
                xp.maximum(best, v, out=best)
            return best
        # running max and the offset it came from; offsets are visited in increasing order, so
        # arg = max(arg, i·[v > best]) keeps the first maximum (PyTorch's choice on ties)
        arg = xp.zeros(best.shape, _offset_dtype(len(views)))
        better = xp.empty(best.shape, bool)
        step = xp.empty(best.shape, arg.dtype)
        for i, v in enumerate(views[1:], 1):
            xp.greater(v, best, out=better)
            xp.maximum(best, v, out=best)
            xp.multiply(better, arg.dtype.type(i), out=step)
            xp.maximum(arg, step, out=arg)
        self.geo, self.arg = geo, arg
        return (best, flat_indices(arg, geo)) if with_indices else best

    def backward(self, g, *_):
        return WindowScatter.apply(g, self.arg, self.geo), None, None


def _offset_dtype(count):
    return np.uint8 if count <= 256 else np.int32


def _lowest(dtype):
    return -np.inf if dtype.kind == "f" else np.iinfo(dtype).min


def flat_indices(arg, geo):
    """Kernel-offset numbers -> PyTorch's indices: the flat position in the (unpadded) input
    plane of each window's max."""
    xp = backend.xp_of(arg)
    ks = xp.unravel_index(arg, geo.kernel)
    flat = 0
    for dim in range(geo.nd):
        shape = [1] * arg.ndim
        shape[arg.ndim - geo.nd + dim] = geo.out[dim]
        start = (xp.arange(geo.out[dim]) * geo.stride[dim] - geo.lo[dim]).reshape(shape)
        flat = flat * geo.in_size[dim] + start + ks[dim] * geo.dilation[dim]
    return flat.astype(np.int64)


class WindowScatter(Op):
    """x = scatter(g): g[o] added at window o's kernel offset ``arg[o]`` (an input-shaped result).
    Linear in g; its adjoint is :class:`WindowGather`."""

    def forward(self, g, arg, geo):
        self.arg, self.geo = arg, geo
        xp = backend.xp_of(g)
        # windows that tile the padded input write every position exactly once
        buf = (xp.empty if geo.tiles else xp.zeros)(g.shape[:-geo.nd] + geo.padded, g.dtype)
        for i, (_, sl) in enumerate(geo.offsets):
            hit = arg == i
            if geo.overlap:
                buf[(...,) + sl] += g * hit
            else:
                xp.multiply(g, hit, out=buf[(...,) + sl])
        return crop_spatial(buf, geo)

    def backward(self, gx):
        return WindowGather.apply(gx, self.arg, self.geo), None, None


class WindowGather(Op):
    """y[o] = x_pad[o·s + arg[o]·d]: each window's entry at its chosen kernel offset.
    Linear in x; its adjoint is :class:`WindowScatter`."""

    def forward(self, x, arg, geo):
        self.arg, self.geo = arg, geo
        xp = backend.xp_of(x)
        xpad = pad_spatial(x, geo)
        out = xp.zeros(arg.shape, x.dtype)
        for i, (_, sl) in enumerate(geo.offsets):
            out += xpad[(...,) + sl] * (arg == i)
        return out

    def backward(self, g):
        return WindowScatter.apply(g, self.arg, self.geo), None, None


def _max_pool(input, kernel_size, stride, padding, dilation, ceil_mode, return_indices, nd,
              opname):
    x, unbatched = _batched(input, nd, opname)
    geo = _pool_geometry(x, nd, kernel_size, stride, padding, dilation, ceil_mode, opname,
                         lambda k, d: ((k - 1) * d + 1) // 2)
    out = MaxPool.apply(x, geo, bool(return_indices))
    return _unbatch(out, unbatched)


def max_pool1d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
               return_indices=False):
    """y[n, c, o] = max over the window of x; with ``return_indices`` also the argmax positions."""
    return _max_pool(input, kernel_size, stride, padding, dilation, ceil_mode, return_indices, 1,
                     "max_pool1d")


def max_pool2d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
               return_indices=False):
    """2-D max pooling over (N, C, H, W); ``stride`` defaults to ``kernel_size``. Indices are flat
    positions h·W + w in each input plane, as PyTorch's."""
    return _max_pool(input, kernel_size, stride, padding, dilation, ceil_mode, return_indices, 2,
                     "max_pool2d")


def max_pool3d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
               return_indices=False):
    """3-D max pooling over (N, C, D, H, W)."""
    return _max_pool(input, kernel_size, stride, padding, dilation, ceil_mode, return_indices, 3,
                     "max_pool3d")


def max_pool1d_with_indices(input, kernel_size, stride=None, padding=0, dilation=1,
                            ceil_mode=False, return_indices=False):
    """max_pool1d returning (values, indices) whatever ``return_indices`` says (PyTorch's)."""
    return max_pool1d(input, kernel_size, stride, padding, dilation, ceil_mode, True)


def max_pool2d_with_indices(input, kernel_size, stride=None, padding=0, dilation=1,
                            ceil_mode=False, return_indices=False):
    """max_pool2d returning (values, indices) whatever ``return_indices`` says (PyTorch's)."""
    return max_pool2d(input, kernel_size, stride, padding, dilation, ceil_mode, True)


def max_pool3d_with_indices(input, kernel_size, stride=None, padding=0, dilation=1,
                            ceil_mode=False, return_indices=False):
    """max_pool3d returning (values, indices) whatever ``return_indices`` says (PyTorch's)."""
    return max_pool3d(input, kernel_size, stride, padding, dilation, ceil_mode, True)


# ----------------------------------------------------------------------------- plane gather/scatter
class PlaneGather(Op):
    """y[..., l] = x[..., idx[..., l]] over the flattened last dimension (idx broadcasts over the
    leading ones). Linear in x; its adjoint is :class:`PlaneScatter`."""

    def forward(self, x, idx):
        self.idx, self.size = idx, x.shape[-1]
        xp = backend.xp_of(x)
        lead = xp.broadcast_shapes(x.shape[:-1], idx.shape[:-1])
        return xp.take_along_axis(xp.broadcast_to(x, lead + x.shape[-1:]),
                                  xp.broadcast_to(idx, lead + idx.shape[-1:]), axis=-1)

    def backward(self, g):
        return PlaneScatter.apply(g, self.idx, self.size), None


class PlaneScatter(Op):
    """x[..., p] = Σ_{l: idx[..., l] = p} g[..., l]: g added back at the flat positions ``idx``
    (repeats add up). Linear in g; its adjoint is :class:`PlaneGather`."""

    def forward(self, g, idx, size):
        self.idx = idx
        xp = backend.xp_of(g)
        rows = math.prod(g.shape[:-1])
        idx = xp.broadcast_to(idx, g.shape).reshape(rows, g.shape[-1])
        where = (idx + (xp.arange(rows) * size)[:, None]).reshape(-1)
        out = xp.bincount(where, weights=g.reshape(-1), minlength=rows * size)
        return out.astype(g.dtype, copy=False).reshape(g.shape[:-1] + (size,))

    def backward(self, gx):
        return PlaneGather.apply(gx, self.idx), None, None


def _plane_gather(x, idx, nd):
    """Gather from each (n, c) plane of x at flat positions idx; returns (N, C, L)."""
    flat = x.reshape(tuple(x.shape[:-nd]) + (-1,))
    return PlaneGather.apply(flat, idx)


def _max_unpool(input, indices, kernel_size, stride, padding, output_size, nd, opname):
    x, unbatched = _batched(input, nd, opname)
    idx = indices.unsqueeze(0) if unbatched else indices
    if tuple(idx.shape) != tuple(x.shape) or idx.dtype.is_floating_point:
        raise RuntimeError(f"{opname}: expected integer indices of the same shape as the input "
                           f"{list(input.shape)}, got {list(indices.shape)} ({indices.dtype})")
    kernel = ntuple(kernel_size, nd, "kernel_size", opname)
    stride = kernel if stride is None else ntuple(stride, nd, "stride", opname)
    pad = ntuple(padding, nd, "padding", opname)
    if output_size is None:
        size = tuple((n - 1) * s - 2 * p + k
                     for n, s, p, k in zip(x.shape[2:], stride, pad, kernel))
    else:
        size = tuple(int(v) for v in tuple(output_size)[-nd:])
    plane = math.prod(size)
    data = idx._data.reshape(x.shape[:2] + (-1,))
    if data.size and (data.min() < 0 or data.max() >= plane):
        raise RuntimeError(f"{opname}: found an invalid max index {int(data.max())} (output "
                           f"volumes are of size {' x '.join(map(str, size))})")
    flat = x.reshape(tuple(x.shape[:2]) + (-1,))
    out = PlaneScatter.apply(flat, data, plane).reshape(tuple(x.shape[:2]) + size)
    return _unbatch(out, unbatched)


def max_unpool1d(input, indices, kernel_size, stride=None, padding=0, output_size=None):
    """Partial inverse of max_pool1d: each value put back at its index, zeros elsewhere."""
    return _max_unpool(input, indices, kernel_size, stride, padding, output_size, 1,
                       "max_unpool1d")


def max_unpool2d(input, indices, kernel_size, stride=None, padding=0, output_size=None):
    """Partial inverse of max_pool2d: each value put back at its flat index h·W + w of the output
    plane, zeros elsewhere. Output size (H-1)·s - 2p + k unless ``output_size`` is given."""
    return _max_unpool(input, indices, kernel_size, stride, padding, output_size, 2,
                       "max_unpool2d")


def max_unpool3d(input, indices, kernel_size, stride=None, padding=0, output_size=None):
    """Partial inverse of max_pool3d."""
    return _max_unpool(input, indices, kernel_size, stride, padding, output_size, 3,
                       "max_unpool3d")


# ----------------------------------------------------------------------------- average pooling
class WindowSum(Op):
    """y[o] = scale[o] · Σ_k x_pad[o·s + k·d] (zero padding). Linear; its adjoint is
    :class:`WindowSpread`, which adds scale·dL/dy to every position of each window."""

    def forward(self, x, geo, scale):
        self.geo, self.scale = geo, scale
        xpad = pad_spatial(x, geo)
        total = None
        for _, sl in geo.offsets:
            v = xpad[(...,) + sl]
            if total is None:
                total = v.copy()
            else:
                total += v
        total *= scale
        return total

    def backward(self, g):
        return WindowSpread.apply(g, self.geo, self.scale), None, None


class WindowSpread(Op):
    """x_pad[o·s + k·d] += scale[o] · g[o] for every window o and offset k (then crop).
    Linear; its adjoint is :class:`WindowSum`."""

    def forward(self, g, geo, scale):
        self.geo, self.scale = geo, scale
        xp = backend.xp_of(g)
        gs = g * scale
        buf = (xp.empty if geo.tiles else xp.zeros)(g.shape[:-geo.nd] + geo.padded, g.dtype)
        for _, sl in geo.offsets:
            if geo.overlap:
                buf[(...,) + sl] += gs
            else:
                buf[(...,) + sl] = gs
        return crop_spatial(buf, geo)

    def backward(self, gx):
        return WindowSum.apply(gx, self.geo, self.scale), None, None


def _avg_scale(geo, count_include_pad, divisor_override, dtype):
    """1 / (number of elements each window averages), PyTorch's rule: windows are clipped to the
    padded input, and without ``count_include_pad`` to the input itself."""
    if divisor_override:
        return 1.0 / float(divisor_override)
    counts = np.ones((1,) * geo.nd, dtype=np.int64)
    for dim in range(geo.nd):
        n, k, s, p, o = (geo.in_size[dim], geo.kernel[dim], geo.stride[dim], geo.lo[dim],
                         geo.out[dim])
        start = np.arange(o) * s - p
        end = np.minimum(start + k, n + p)
        c = end - start if count_include_pad else np.minimum(end, n) - np.maximum(start, 0)
        shape = [1] * geo.nd
        shape[dim] = o
        counts = counts * c.reshape(shape)
    if (counts == counts.flat[0]).all():
        return 1.0 / float(counts.flat[0])
    return (1.0 / counts).astype(dtype)


def _avg_pool(input, kernel_size, stride, padding, ceil_mode, count_include_pad,
              divisor_override, nd, opname):
    x, unbatched = _batched(input, nd, opname)
    _check_float(x, opname)
    if divisor_override is not None and divisor_override == 0:
        raise RuntimeError(f"{opname}: divisor must be not zero")
    geo = _pool_geometry(x, nd, kernel_size, stride, padding, 1, ceil_mode, opname,
                         lambda k, d: k // 2)
    scale = _avg_scale(geo, count_include_pad, divisor_override, x._data.dtype)
    if not isinstance(scale, float):
        scale = backend.xp_of(x._data).asarray(scale)
    return _unbatch(WindowSum.apply(x, geo, scale), unbatched)


def avg_pool1d(input, kernel_size, stride=None, padding=0, ceil_mode=False,
               count_include_pad=True):
    """y[n, c, o] = mean of x over window o (see avg_pool2d for the divisor)."""
    return _avg_pool(input, kernel_size, stride, padding, ceil_mode, count_include_pad, None, 1,
                     "avg_pool1d")


def avg_pool2d(input, kernel_size, stride=None, padding=0, ceil_mode=False,
               count_include_pad=True, divisor_override=None):
    """y[o] = Σ_window x / divisor. The divisor is ``divisor_override`` if given, else the window
    size clipped to the padded input (``count_include_pad``) or to the input itself."""
    return _avg_pool(input, kernel_size, stride, padding, ceil_mode, count_include_pad,
                     divisor_override, 2, "avg_pool2d")


def avg_pool3d(input, kernel_size, stride=None, padding=0, ceil_mode=False,
               count_include_pad=True, divisor_override=None):
    """3-D average pooling over (N, C, D, H, W)."""
    return _avg_pool(input, kernel_size, stride, padding, ceil_mode, count_include_pad,
                     divisor_override, 3, "avg_pool3d")


# ----------------------------------------------------------------------------- Lp pooling
def _lp_pool(input, norm_type, kernel_size, stride, ceil_mode, nd, opname):
    """y = (Σ_window xᵖ)^(1/p), computed as (K · avg_pool(xᵖ))^(1/p) like PyTorch."""
    kernel = ntuple(kernel_size, nd, "kernel_size", opname)
    pool = (avg_pool1d, avg_pool2d, avg_pool3d)[nd - 1]
    out = pool(input.pow(norm_type), kernel, stride, 0, ceil_mode)
    return (out * float(math.prod(kernel))).pow(1.0 / norm_type)


def lp_pool1d(input, norm_type, kernel_size, stride=None, ceil_mode=False):
    """Power-average pooling: (Σ_window xᵖ)^(1/p); p = 1 is sum pooling, large p approaches max
    pooling."""
    return _lp_pool(input, norm_type, kernel_size, stride, ceil_mode, 1, "lp_pool1d")


def lp_pool2d(input, norm_type, kernel_size, stride=None, ceil_mode=False):
    """Power-average pooling over (N, C, H, W): (Σ_window xᵖ)^(1/p)."""
    return _lp_pool(input, norm_type, kernel_size, stride, ceil_mode, 2, "lp_pool2d")


def lp_pool3d(input, norm_type, kernel_size, stride=None, ceil_mode=False):
    """Power-average pooling over (N, C, D, H, W): (Σ_window xᵖ)^(1/p)."""
    return _lp_pool(input, norm_type, kernel_size, stride, ceil_mode, 3, "lp_pool3d")


# ----------------------------------------------------------------------------- axis resampling
def _gather_taps(x, axis, idx, w):
    """Σ_t w[t] · x[..., idx[t], ...] along ``axis`` (w None: all weights 1)."""
    xp = backend.xp_of(x)
    shape = [1] * x.ndim
    shape[axis] = -1
    out = None
    for t in range(len(idx)):
        v = xp.take(x, xp.asarray(idx[t]), axis=axis)
        if w is not None:
            v *= xp.asarray(w[t], dtype=v.dtype).reshape(shape)
        if out is None:
            out = v
        else:
            out += v
    return out


def _transposed_taps(idx, w, n_in):
    """The taps of the transposed map: for each input i, the outputs j (and weights) that read
    it, padded with zero weights to the largest count."""
    n_out = idx.shape[1]
    i = idx.ravel()
    j = np.broadcast_to(np.arange(n_out), idx.shape).ravel()
    wv = np.ones(idx.size) if w is None else w.ravel()
    keep = wv != 0
    order = np.argsort(i[keep], kind="stable")
    i, j, wv = i[keep][order], j[keep][order], wv[keep][order]
    counts = np.bincount(i, minlength=n_in)
    rank = np.arange(i.size) - np.repeat(np.cumsum(counts) - counts, counts)
    taps = max(int(counts.max()), 1)
    idx_t, w_t = np.zeros((taps, n_in), np.int64), np.zeros((taps, n_in))
    idx_t[rank, i], w_t[rank, i] = j, wv
    return idx_t, (None if (w_t == 1).all() else w_t)


class AxisMap:
    """A sparse linear map along one axis: y[j] = Σ_t w[t, j] · x[idx[t, j]], a few taps t per
    output (``w`` None: all weights 1). The transposed map is stored the same way, so the map
    and its adjoint are both gathers: a ``take`` and a multiply-add per tap."""

    __slots__ = ("axis", "n_in", "fwd", "bwd")

    def __init__(self, axis, idx, w, n_in):
        self.axis, self.n_in = axis, n_in
        self.fwd = idx, w
        self.bwd = _transposed_taps(idx, w, n_in)

    def is_identity(self):
        idx, w = self.fwd
        n = idx.shape[1]
        if n != self.n_in or not (idx[0] == np.arange(n)).all():
            return False
        return w is None or ((w[0] == 1).all() and not w[1:].any())

    def apply(self, x):
        return _gather_taps(x, self.axis, *self.fwd)

    def adjoint(self, g):
        return _gather_taps(g, self.axis, *self.bwd)


class Resample(Op):
    """y = A x along one axis (an :class:`AxisMap`). Linear; dL/dx = Aᵀ dL/dy
    (:class:`ResampleAdjoint`)."""

    def forward(self, x, amap):
        self.amap = amap
        return amap.apply(x)

    def backward(self, g):
        return ResampleAdjoint.apply(g, self.amap), None


class ResampleAdjoint(Op):
    """x = Aᵀ g along one axis. Linear; its adjoint is :class:`Resample`."""

    def forward(self, g, amap):
        self.amap = amap
        return amap.adjoint(g)

    def backward(self, gx):
        return Resample.apply(gx, self.amap), None


def _resample(x, maps):
    for amap in maps:
        if not amap.is_identity():
            x = Resample.apply(x, amap)
    return x


def _adaptive_bounds(n, o):
    """Window j of an adaptive pool covers [floor(j·n/o), ceil((j+1)·n/o))."""
    j = np.arange(o)
    return (j * n) // o, -((-(j + 1) * n) // o)


def _adaptive_avg_map(axis, n, o):
    start, end = _adaptive_bounds(n, o)
    taps = np.arange(int((end - start).max()))[:, None]
    idx = np.minimum(start + taps, end - 1)
    w = np.where(start + taps < end, 1.0 / (end - start), 0.0)
    return AxisMap(axis, idx, w, n)


def _nearest_map(axis, n, o, scale, exact):
    """PyTorch's nearest rule (in float32): src = floor(dst·r) ('nearest-exact':
    floor((dst + 0.5)·r)), r = 1/scale_factor or n/o, clipped to n - 1."""
    dst = np.arange(o)
    if not exact and o == n:
        src = dst
    elif not exact and o == 2 * n:
        src = dst // 2
    else:
        r = np.float32(1.0 / scale) if scale else np.float32(n) / np.float32(o)
        pos = (dst.astype(np.float32) + np.float32(0.5 if exact else 0)) * r
        src = np.minimum(np.floor(pos).astype(np.int64), n - 1)
    return AxisMap(axis, src[None], None, n)


def _source_coords(n, o, scale, align_corners, dtype, cubic):
    """Where output j samples the input: align_corners: j·(n-1)/(o-1); else (j + 0.5)·r - 0.5
    with r = 1/scale_factor or n/o (clipped at 0 except for cubic)."""
    dst = np.arange(o, dtype=dtype)
    if align_corners:
        r = dtype.type(n - 1) / dtype.type(o - 1) if o > 1 else dtype.type(0)
        return r * dst
    r = dtype.type(1.0 / scale) if scale else dtype.type(n) / dtype.type(o)
    src = r * (dst + dtype.type(0.5)) - dtype.type(0.5)
    return src if cubic else np.maximum(src, 0)


def _linear_map(axis, n, o, scale, align_corners, dtype):
    """y[j] = (1-λ)·x[i] + λ·x[i+1] with i = floor(src), λ = src - i."""
    src = _source_coords(n, o, scale, align_corners, dtype, cubic=False)
    i0 = np.minimum(np.floor(src).astype(np.int64), n - 1)
    lam = np.clip(src - i0, 0, 1)
    idx = np.stack([i0, np.minimum(i0 + 1, n - 1)])
    return AxisMap(axis, idx, np.stack([1 - lam, lam]), n)


def _cubic_map(axis, n, o, scale, align_corners, dtype, a=-0.75):
    """Keys' cubic convolution (a = -0.75) on the 4 inputs around src, indices clamped."""
    src = _source_coords(n, o, scale, align_corners, dtype, cubic=True)
    i = np.minimum(np.floor(src).astype(np.int64), n - 1)
    t = np.clip(src - i, 0, 1)

    def near(x):   # |x| <= 1
        return ((a + 2) * x - (a + 3)) * x * x + 1

    def far(x):    # 1 < |x| < 2
        return ((a * x - 5 * a) * x + 8 * a) * x - 4 * a

    w = np.stack([far(t + 1), near(t), near(1 - t), far(2 - t)])
    idx = np.clip(i + np.arange(-1, 3)[:, None], 0, n - 1)
    return AxisMap(axis, idx, w, n)


# ----------------------------------------------------------------------------- adaptive pooling
def _adaptive_size(x, output_size, nd, opname):
    size = tuple(output_size) if isinstance(output_size, (tuple, list)) else (output_size,) * nd
    if len(size) == 1 and nd > 1:
        size = size * nd
    if len(size) != nd:
        raise ValueError(f"{opname}: output_size must have {nd} elements, got {output_size}")
    size = tuple(n if s is None else int(s) for s, n in zip(size, x.shape[2:]))
    if any(s <= 0 for s in size) or any(n == 0 for n in x.shape[2:]):
        raise RuntimeError(f"{opname}: expected a non-empty input and a positive output_size, got "
                           f"input {list(x.shape)} and output_size {size}")
    return size


def _adaptive_avg_pool(input, output_size, nd, opname):
    x, unbatched = _batched(input, nd, opname)
    _check_float(x, opname)
    size = _adaptive_size(x, output_size, nd, opname)
    spatial = tuple(x.shape[2:])
    if all(n % o == 0 for n, o in zip(spatial, size)):   # equal windows: a reshape and a sum
        split = tuple(x.shape[:2])
        for n, o in zip(spatial, size):
            split += (o, n // o)
        dims = tuple(3 + 2 * i for i in range(nd))
        k = math.prod(n // o for n, o in zip(spatial, size))
        out = x.reshape(split).sum(dim=dims) * (1.0 / k)
    else:
        out = _resample(x, [_adaptive_avg_map(2 + i, n, o)
                            for i, (n, o) in enumerate(zip(spatial, size))])
    return _unbatch(out, unbatched)


def adaptive_avg_pool1d(input, output_size):
    """Average over window j = [floor(j·n/o), ceil((j+1)·n/o)): any input size to size o."""
    return _adaptive_avg_pool(input, output_size, 1, "adaptive_avg_pool1d")


def adaptive_avg_pool2d(input, output_size):
    """2-D adaptive average pooling to ``output_size`` (int, pair, None entries keep the size)."""
    return _adaptive_avg_pool(input, output_size, 2, "adaptive_avg_pool2d")


def adaptive_avg_pool3d(input, output_size):
    """3-D adaptive average pooling."""
    return _adaptive_avg_pool(input, output_size, 3, "adaptive_avg_pool3d")


def _adaptive_max_indices(x, size):
    """Flat in-plane position of the max of each adaptive window (first max in row-major order)."""
    xp = backend.xp_of(x)
    nd = len(size)
    spatial = x.shape[2:]
    index, flat, ks = [], 0, []
    for dim, (n, o) in enumerate(zip(spatial, size)):
        start, end = _adaptive_bounds(n, o)
        k = int((end - start).max())
        pos = np.minimum(start[:, None] + np.arange(k), end[:, None] - 1)   # (o, k), repeats last
        shape = [1] * (2 * nd)
        shape[dim], shape[nd + dim] = o, k
        index.append(xp.asarray(pos.reshape(shape)))
        flat = flat * n + pos.reshape(shape)
        ks.append(k)
    vals = x[(slice(None), slice(None)) + tuple(index)]          # (N, C, *o, *k)
    lead = x.shape[:2] + (math.prod(size),)
    arg = vals.reshape(lead + (math.prod(ks),)).argmax(-1)
    table = xp.asarray(np.broadcast_to(flat, size + tuple(ks)).reshape(math.prod(size), -1))
    return table[xp.arange(lead[2]), arg]                        # (N, C, L)


def _adaptive_max_pool(input, output_size, return_indices, nd, opname):
    x, unbatched = _batched(input, nd, opname)
    size = _adaptive_size(x, output_size, nd, opname)
    spatial = tuple(x.shape[2:])
    if all(n % o == 0 for n, o in zip(spatial, size)):   # equal windows: plain max pooling
        kernel = tuple(n // o for n, o in zip(spatial, size))
        out = _max_pool(x, kernel, kernel, 0, 1, False, return_indices, nd, opname)
    else:
        idx = _adaptive_max_indices(x._data, size)
        values = _plane_gather(x, idx, nd).reshape(tuple(x.shape[:2]) + size)
        out = (values, Tensor._make(idx.reshape(values.shape))) if return_indices else values
    return _unbatch(out, unbatched)


def adaptive_max_pool1d(input, output_size, return_indices=False):
    """Max over window j = [floor(j·n/o), ceil((j+1)·n/o)); with indices as max_pool1d."""
    return _adaptive_max_pool(input, output_size, return_indices, 1, "adaptive_max_pool1d")


def adaptive_max_pool2d(input, output_size, return_indices=False):
    """2-D adaptive max pooling; indices are flat positions h·W + w in each input plane."""
    return _adaptive_max_pool(input, output_size, return_indices, 2, "adaptive_max_pool2d")


def adaptive_max_pool3d(input, output_size, return_indices=False):
    """3-D adaptive max pooling."""
    return _adaptive_max_pool(input, output_size, return_indices, 3, "adaptive_max_pool3d")


def adaptive_max_pool1d_with_indices(input, output_size, return_indices=False):
    """adaptive_max_pool1d returning (values, indices) whatever ``return_indices`` says."""
    return adaptive_max_pool1d(input, output_size, True)


def adaptive_max_pool2d_with_indices(input, output_size, return_indices=False):
    """adaptive_max_pool2d returning (values, indices) whatever ``return_indices`` says."""
    return adaptive_max_pool2d(input, output_size, True)


def adaptive_max_pool3d_with_indices(input, output_size, return_indices=False):
    """adaptive_max_pool3d returning (values, indices) whatever ``return_indices`` says."""
    return adaptive_max_pool3d(input, output_size, True)


# ----------------------------------------------------------------------------- interpolate
_MODE_DIMS = {"nearest": (1, 2, 3), "nearest-exact": (1, 2, 3), "area": (1, 2, 3),
              "linear": (1,), "bilinear": (2,), "bicubic": (2,), "trilinear": (3,)}


def _interp_sizes(x, size, scale_factor, recompute_scale_factor, nd):
    if (size is None) == (scale_factor is None):
        raise ValueError("interpolate: only one of size or scale_factor should be defined")
    spatial = tuple(x.shape[2:])
    if size is not None:
        if recompute_scale_factor is not None and recompute_scale_factor:
            raise ValueError("interpolate: recompute_scale_factor is not meaningful with an "
                             "explicit size")
        out = ntuple(size, nd, "size", "interpolate")
        scales = (None,) * nd
    else:
        scales = tuple(float(s) for s in (scale_factor if isinstance(scale_factor, (tuple, list))
                                          else (scale_factor,) * nd))
        if len(scales) != nd:
            raise ValueError(f"interpolate: scale_factor must have {nd} elements for a "
                             f"{nd + 2}D input, got {scale_factor}")
        out = tuple(int(math.floor(n * s)) for n, s in zip(spatial, scales))
        if recompute_scale_factor:
            scales = (None,) * nd
    if any(v <= 0 for v in spatial + out):
        raise RuntimeError(f"interpolate: input and output sizes should be greater than 0, but "
                           f"got input {spatial} and output {out}")
    return out, scales


def interpolate(input, size=None, scale_factor=None, mode="nearest", align_corners=None,
                recompute_scale_factor=None, antialias=False):
    """Resample the spatial dimensions of (N, C, *S) to ``size`` (or ⌊S·scale_factor⌋).

    Modes: 'nearest' (src = ⌊dst·n/o⌋), 'nearest-exact', 'linear' / 'bilinear' / 'trilinear'
    (separable linear interpolation), 'bicubic' (Keys, a = -0.75), 'area' (adaptive average).
    With ``align_corners`` the corner samples of input and output coincide. Every mode is linear
    in the input; the backward is the transposed map.
    """
    if mode not in _MODE_DIMS:
        raise NotImplementedError(f"interpolate: mode {mode!r} is not supported; use one of "
                                  f"{', '.join(_MODE_DIMS)}")
    nd = input.ndim - 2
    if nd not in _MODE_DIMS[mode]:
        want = " or ".join(f"{d + 2}D" for d in _MODE_DIMS[mode])
        raise NotImplementedError(f"interpolate: got {input.ndim}D input, but {mode} mode needs "
                                  f"{want} input")
    if align_corners is not None and mode in ("nearest", "nearest-exact", "area"):
        raise ValueError("interpolate: align_corners option can only be set with the "
                         "interpolating modes: linear | bilinear | bicubic | trilinear")
    if antialias:
        raise NotImplementedError("interpolate: antialias=True is not supported")
    out, scales = _interp_sizes(input, size, scale_factor, recompute_scale_factor, nd)
    if mode == "area":
        return _adaptive_avg_pool(input, out, nd, "interpolate")
    spatial = tuple(input.shape[2:])
    if mode.startswith("nearest"):
        maps = [_nearest_map(2 + i, n, o, s, mode == "nearest-exact")
                for i, (n, o, s) in enumerate(zip(spatial, out, scales))]
    else:
        _check_float(input, "interpolate")
        dtype = input._data.dtype
        build = _cubic_map if mode == "bicubic" else _linear_map
        maps = [build(2 + i, n, o, s, bool(align_corners), dtype)
                for i, (n, o, s) in enumerate(zip(spatial, out, scales))]
    y = _resample(input, maps)
    return y.clone() if y is input else y


def upsample(input, size=None, scale_factor=None, mode="nearest", align_corners=None):
    """Deprecated alias of :func:`interpolate`."""
    return interpolate(input, size, scale_factor, mode, align_corners)


def upsample_nearest(input, size=None, scale_factor=None):
    """interpolate(..., mode='nearest')."""
    return interpolate(input, size, scale_factor, "nearest")


def upsample_bilinear(input, size=None, scale_factor=None):
    """interpolate(..., mode='bilinear', align_corners=True)."""
    return interpolate(input, size, scale_factor, "bilinear", align_corners=True)


# ----------------------------------------------------------------------------- pixel shuffle
def pixel_shuffle(input, upscale_factor):
    """(*, C·r², H, W) -> (*, C, H·r, W·r): y[c, h·r + i, w·r + j] = x[c·r² + i·r + j, h, w]."""
    r = int(upscale_factor)
    if input.ndim < 3 or r <= 0 or input.shape[-3] % (r * r):
        raise RuntimeError(f"pixel_shuffle: expected an input of at least 3 dimensions whose "
                           f"channel dimension (-3) is divisible by upscale_factor² = {r * r}, "
                           f"got input of size {list(input.shape)}")
    *lead, c, h, w = input.shape
    n = len(lead)
    x = input.reshape(*lead, c // (r * r), r, r, h, w)
    x = x.permute(*range(n), n, n + 3, n + 1, n + 4, n + 2)
    return x.reshape(*lead, c // (r * r), h * r, w * r)


def pixel_unshuffle(input, downscale_factor):
    """(*, C, H·r, W·r) -> (*, C·r², H, W): the inverse of :func:`pixel_shuffle`."""
    r = int(downscale_factor)
    if input.ndim < 3 or r <= 0 or input.shape[-1] % r or input.shape[-2] % r:
        raise RuntimeError(f"pixel_unshuffle: expected an input of at least 3 dimensions whose "
                           f"height and width are divisible by downscale_factor = {r}, got input "
                           f"of size {list(input.shape)}")
    *lead, c, h, w = input.shape
    n = len(lead)
    x = input.reshape(*lead, c, h // r, r, w // r, r)
    x = x.permute(*range(n), n, n + 2, n + 4, n + 1, n + 3)
    return x.reshape(*lead, c * r * r, h // r, w // r)


# ----------------------------------------------------------------------------- spatial transformers
def _const(array, like):
    """A constant Tensor (no grad) with ``like``'s dtype and device."""
    xp = backend.xp_of(like._data)
    return Tensor._make(xp.asarray(array, dtype=like._data.dtype))


def _linspace_grid(n, align_corners):
    """Normalised coordinates of n pixels in [-1, 1]: centres (align_corners=False) or corners."""
    if n <= 1:
        return np.zeros(max(n, 1))
    base = np.linspace(-1.0, 1.0, n)
    return base if align_corners else base * (n - 1) / n


def affine_grid(theta, size, align_corners=None):
    """Sampling grid (N, H, W, 2) of the affine maps theta (N, 2, 3): grid[n, h, w] =
    theta[n] · (x_w, y_h, 1), with (x, y) the normalised output pixel coordinates."""
    size = tuple(int(s) for s in size)
    if len(size) != 4:
        raise NotImplementedError(f"affine_grid: only 2-D grids (size N, C, H, W) are supported, "
                                  f"got size {list(size)}")
    n, _, h, w = size
    if theta.ndim != 3 or tuple(theta.shape) != (n, 2, 3):
        raise ValueError(f"affine_grid: expected a batch of 2D affine matrices of shape Nx2x3 for "
                         f"size {list(size)}, got theta of size {list(theta.shape)}")
    if not theta.dtype.is_floating_point:
        raise RuntimeError(f"affine_grid: expected a floating-point theta, got {theta.dtype}")
    ac = bool(align_corners)
    xs, ys = _linspace_grid(w, ac), _linspace_grid(h, ac)
    base = np.stack([np.broadcast_to(xs[None, :], (h, w)), np.broadcast_to(ys[:, None], (h, w)),
                     np.ones((h, w))], -1).reshape(h * w, 3)
    return (_const(base, theta) @ theta.transpose(1, 2)).reshape(n, h, w, 2)


def _unnormalize(coord, n, align_corners):
    """[-1, 1] -> pixel coordinates: corners at -1, 1 (align_corners) or pixel edges."""
    if align_corners:
        return (coord + 1) * ((n - 1) / 2)
    return (coord + 1) * (n / 2) - 0.5


def _clip_coords(c, n):
    """min(max(c, 0), n - 1) with derivative 1 inside and 0 where clipped (padding 'border')."""
    xp, data = backend.xp_of(c._data), c._data
    inside = (data >= 0) & (data <= n - 1)
    clipped = xp.where(data < 0, 0.0, xp.where(data > n - 1, n - 1.0, 0.0))
    return c * _const(inside, c) + _const(clipped, c)


def _corner(planes, cx, cy, h, w, weight):
    """planes (N, C, H·W) sampled at integer (cx, cy) (N, L), times weight; 0 outside the input."""
    xp = backend.xp_of(cx)
    valid = (cx >= 0) & (cx < w) & (cy >= 0) & (cy < h)
    flat = xp.where(valid, cy * w + cx, 0)
    n = flat.shape[0]
    v = PlaneGather.apply(planes, flat.reshape(n, 1, -1))
    mask = _const(valid.reshape(n, 1, -1), planes)
    return v * (mask if weight is None else mask * weight.reshape(n, 1, -1))


def grid_sample(input, grid, mode="bilinear", padding_mode="zeros", align_corners=None):
    """out[n, c, i, j] = input[n, c] sampled at grid[n, i, j] = (x, y) in [-1, 1] (x: width).

    'bilinear': Σ over the 4 neighbours of (1 - |x - xₖ|)(1 - |y - yₖ|)·input[yₖ, xₖ],
    differentiable in input and grid; 'nearest': the nearest pixel (rounded half to even).
    padding_mode 'zeros' (outside pixels read 0) or 'border' (coordinates clipped).
    """
    if mode not in ("bilinear", "nearest"):
        raise NotImplementedError(f"grid_sample: mode {mode!r} is not supported (bilinear, "
                                  "nearest)")
    if padding_mode not in ("zeros", "border"):
        raise NotImplementedError(f"grid_sample: padding_mode {padding_mode!r} is not supported "
                                  "(zeros, border)")
    if (input.ndim != 4 or grid.ndim != 4 or grid.shape[-1] != 2
            or grid.shape[0] != input.shape[0]):
        raise RuntimeError(f"grid_sample: expected input (N, C, H, W) and grid (N, H_out, W_out, "
                           f"2) with the same N, got input {list(input.shape)} and grid "
                           f"{list(grid.shape)}")
    if input.dtype != grid.dtype or not input.dtype.is_floating_point:
        raise RuntimeError(f"grid_sample: expected input and grid of the same floating-point "
                           f"dtype, got {input.dtype} and {grid.dtype}")
    n, c, h, w = input.shape
    ho, wo = grid.shape[1:3]
    ac = bool(align_corners)
    flat_grid = grid.reshape(n, ho * wo, 2)
    ix = _unnormalize(flat_grid[:, :, 0], w, ac)
    iy = _unnormalize(flat_grid[:, :, 1], h, ac)
    if padding_mode == "border":
        ix, iy = _clip_coords(ix, w), _clip_coords(iy, h)
    planes = input.reshape(n, c, h * w)
    xp = backend.xp_of(input._data)
    if mode == "nearest":
        cx = xp.rint(ix._data).astype(np.int64)
        cy = xp.rint(iy._data).astype(np.int64)
        out = _corner(planes, cx, cy, h, w, None)
    else:
        x0 = xp.floor(ix._data).astype(np.int64)
        y0 = xp.floor(iy._data).astype(np.int64)
        fx = ix - _const(x0, ix)     # distance from the left / top neighbour
        fy = iy - _const(y0, iy)
        out = None
        for dx, wx in ((0, 1 - fx), (1, fx)):
            for dy, wy in ((0, 1 - fy), (1, fy)):
                term = _corner(planes, x0 + dx, y0 + dy, h, w, wx * wy)
                out = term if out is None else out + term
    return out.reshape(n, c, ho, wo)
