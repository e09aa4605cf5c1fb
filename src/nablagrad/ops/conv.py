"""Convolutions, transposed convolutions, and ``unfold``/``fold`` (im2col/col2im).

A convolution with stride s, dilation d and padding p reads, for output position o and kernel
offset k, the padded input at o·s + k·d:

    y[n, g·Og + j, o] = b[g·Og + j] + Σ_{c<Cg, k} w[g·Og + j, c, k] · x_pad[n, g·Cg + c, o·s + k·d]

im2col copies every window of the padded input into a matrix (an ``as_strided`` view, then one
copy), so the convolution becomes one matrix product per group, done by BLAS:
Y (Og × n·L) = W (Og × Cg·K) · cols (Cg·K × n·L), with L output positions per sample. The
columns are built for a chunk of n samples at a time (about 4 MB with the product) in reused
buffers, so they stay in cache between the copy, the product and the copy of Y into the
(N, C, H, W) output.

The map (x, w, y) ↦ ⟨y, conv(x, w)⟩ is linear in each argument, so the three derivatives are three
forms of one computation:

* dL/dx = conv_transpose(dL/dy, w): the columns Wᵀ·dY put back in place (col2im);
* dL/dw = conv_weight(x, dL/dy): dY · colsᵀ, a correlation of x with dL/dy;
* dL/db = Σ_{n, o} dL/dy.

Each of the three ops (:class:`Conv`, :class:`ConvTranspose`, :class:`ConvWeight`) has the other
two as its backward, so derivatives of any order come from the same three kernels.
``unfold`` is im2col itself and ``fold`` is col2im: each is the other's adjoint.
"""
from __future__ import annotations

import itertools

from .. import backend
from .._tensor import Tensor
from ..autograd.graph import Op

__all__ = ["conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d",
           "conv_transpose3d", "unfold", "fold"]


# ----------------------------------------------------------------------------- window geometry
class Geometry:
    """Where the windows of a sliding-window op (convolution, pooling, unfold) read the input.

    Per spatial dimension: input size ``in_size``, ``kernel``, ``stride``, ``dilation``, padding
    before (``lo``) and the number of windows ``out``. The padded extent is exactly what the
    windows touch, P = (out - 1)·s + d·(K - 1) + 1, so the padding after is hi = P - in - lo
    (negative: the last -hi input entries are never read). ``groups`` is for convolutions.
    """

    __slots__ = ("in_size", "kernel", "stride", "dilation", "lo", "out", "hi", "padded",
                 "groups", "offsets", "overlap", "tiles")

    def __init__(self, in_size, kernel, stride, dilation, lo, out, groups=1):
        self.in_size, self.kernel, self.stride = tuple(in_size), tuple(kernel), tuple(stride)
        self.dilation, self.lo, self.out = tuple(dilation), tuple(lo), tuple(out)
        self.groups = groups
        self.padded = tuple((o - 1) * s + d * (k - 1) + 1 for o, s, d, k
                            in zip(self.out, self.stride, self.dilation, self.kernel))
        self.hi = tuple(p - n - lo for p, n, lo in zip(self.padded, self.in_size, self.lo))
        # kernel offset k -> the slices of the padded input that offset k reads in every window
        self.offsets = [(k, tuple(slice(i * d, i * d + s * (o - 1) + 1, s) for i, d, s, o
                                  in zip(k, self.dilation, self.stride, self.out)))
                        for k in itertools.product(*(range(k) for k in self.kernel))]
        # do two windows share an input position? (then scattering back must add, not assign)
        self.overlap = any(s < d * (k - 1) + 1
                           for s, d, k in zip(self.stride, self.dilation, self.kernel))
        # do the windows cover the padded input exactly once? (stride = kernel, no dilation)
        self.tiles = all(s == k and d == 1
                         for s, d, k in zip(self.stride, self.dilation, self.kernel))

    @property
    def nd(self):
        return len(self.kernel)

    @property
    def numel_kernel(self):
        n = 1
        for k in self.kernel:
            n *= k
        return n

    @property
    def numel_out(self):
        n = 1
        for o in self.out:
            n *= o
        return n


def ntuple(value, n, name, opname):
    """``value`` (an int or a sequence of n ints) as a tuple of n ints."""
    if isinstance(value, (tuple, list)):
        if len(value) == 1:
            value = tuple(value) * n
        if len(value) != n:
            raise ValueError(f"{opname}: {name} must be an int or a tuple of {n} ints, got {value}")
        return tuple(int(v) for v in value)
    return (int(value),) * n


def pad_spatial(x, geo, value=0):
    """The input with its last ``geo.nd`` dimensions padded (or cut) to ``geo.padded``."""
    if not any(geo.lo) and not any(geo.hi):
        return x
    xp = backend.xp_of(x)
    shape = x.shape[:-geo.nd] + geo.padded
    out = xp.zeros(shape, x.dtype) if value == 0 else xp.full(shape, value, x.dtype)
    keep = tuple(n + min(h, 0) for n, h in zip(geo.in_size, geo.hi))
    out[(...,) + tuple(slice(lo, lo + k) for lo, k in zip(geo.lo, keep))] = \
        x[(...,) + tuple(slice(0, k) for k in keep)]
    return out


def crop_spatial(buf, geo):
    """Inverse of :func:`pad_spatial`: the input-sized region of a padded buffer (a view when
    nothing was cut; input entries that no window reads get 0)."""
    if not any(geo.lo) and not any(geo.hi):
        return buf
    keep = tuple(n + min(h, 0) for n, h in zip(geo.in_size, geo.hi))
    region = buf[(...,) + tuple(slice(lo, lo + k) for lo, k in zip(geo.lo, keep))]
    if keep == geo.in_size:
        return region
    out = backend.xp_of(buf).zeros(buf.shape[:-geo.nd] + geo.in_size, buf.dtype)
    out[(...,) + tuple(slice(0, k) for k in keep)] = region
    return out


def windows(xpad, geo):
    """All windows of a padded array as a view of shape ``lead + kernel + out`` (no copy)."""
    nd = geo.nd
    st = xpad.strides[-nd:]
    shape = xpad.shape[:-nd] + geo.kernel + geo.out
    strides = (xpad.strides[:-nd] + tuple(t * d for t, d in zip(st, geo.dilation))
               + tuple(t * s for t, s in zip(st, geo.stride)))
    return backend.xp_of(xpad).lib.stride_tricks.as_strided(xpad, shape, strides)


def col2im_add(buf, cols, geo):
    """Add each window of ``cols`` (shape ``lead + kernel + out``, any strides) onto the positions
    of the padded buffer ``buf`` it was read from: one vectorised add per kernel offset. Without
    overlaps each position receives at most one window, so it is assigned (buf starts at 0)."""
    pre = (slice(None),) * (cols.ndim - 2 * geo.nd)
    for k, sl in geo.offsets:
        if geo.overlap:
            buf[pre + sl] += cols[pre + k]
        else:
            buf[pre + sl] = cols[pre + k]


def col2im(cols, geo):
    """Adjoint of :func:`windows` (im2col): the input-shaped sum of the windows in ``cols``."""
    xp = backend.xp_of(cols)
    buf = (xp.empty if geo.tiles else xp.zeros)(cols.shape[:-2 * geo.nd] + geo.padded, cols.dtype)
    col2im_add(buf, cols, geo)
    return crop_spatial(buf, geo)


# ----------------------------------------------------------------------------- GEMM kernels
CHUNK_BYTES = 1 << 22   # a chunk's columns and products take about this much: they stay in cache


def _chunk(n, per_sample_bytes):
    """Samples per chunk so that a chunk's buffers take about CHUNK_BYTES."""
    return max(1, min(n, CHUNK_BYTES // max(per_sample_bytes, 1)))


def _shaped(flat, shape):
    """The first prod(shape) entries of a flat scratch buffer, as a contiguous array."""
    size = 1
    for s in shape:
        size *= s
    return flat[:size].reshape(shape)


def column_chunks(x, geo, out_rows):
    """im2col of x a few samples at a time: yields (start, stop, cols) with cols of shape
    (G, Cg·K, (stop - start)·L), rows ordered (c, k) and columns (n, o), in one reused buffer.
    Chunks are sized for columns plus ``out_rows`` rows of products per sample."""
    xp = backend.xp_of(x)
    n, c = x.shape[:2]
    rows, length, nd = c * geo.numel_kernel, geo.numel_out, geo.nd
    step = _chunk(n, (rows + out_rows) * length * x.itemsize)
    buf = xp.empty(rows * step * length, x.dtype)
    to_rows = (1,) + tuple(range(2, 2 + nd)) + (0,) + tuple(range(2 + nd, 2 + 2 * nd))
    for start in range(0, n, step):
        stop = min(n, start + step)
        cols = _shaped(buf, (c,) + geo.kernel + (stop - start,) + geo.out)
        xp.copyto(cols, windows(pad_spatial(x[start:stop], geo), geo).transpose(to_rows))
        yield start, stop, cols.reshape(geo.groups, rows // geo.groups, -1)


def _channels_first(y, groups, out=None):
    """(n, O, *Out) -> (G, Og, n·L) (into ``out`` if given)."""
    n, o = y.shape[:2]
    yt = y.reshape(n, o, -1).swapaxes(0, 1)
    if out is None:
        out = backend.xp_of(y).empty(yt.shape, y.dtype)
    out.reshape(yt.shape)[...] = yt
    return out.reshape(groups, o // groups, -1)


def conv_forward(x, w, b, geo):
    """y = conv(x, w) + b on arrays: per chunk of samples, one product W · cols per group."""
    xp = backend.xp_of(x)
    n, o, g = x.shape[0], w.shape[0], geo.groups
    length = geo.numel_out
    out = xp.empty((n, o, length), x.dtype)
    wm = w.reshape(g, o // g, -1)
    scratch = None
    for start, stop, cols in column_chunks(x, geo, o):
        if scratch is None:
            scratch = xp.empty(o * cols.shape[-1], x.dtype)
        ym = xp.matmul(wm, cols, out=_shaped(scratch, (g, o // g, cols.shape[-1])))
        ym = ym.reshape(o, stop - start, length).swapaxes(0, 1)
        if b is None:
            out[start:stop] = ym
        else:
            xp.add(ym, b.reshape(o, 1), out=out[start:stop])
    return out.reshape((n, o) + geo.out)


def conv_weight(x, y, geo):
    """dW = Y · colsᵀ per group, summed over chunks: the weight gradient of y = conv(x, w)."""
    xp = backend.xp_of(x)
    o, g = y.shape[1], geo.groups
    gw = xp.zeros((g, o // g, x.shape[1] // g * geo.numel_kernel), x.dtype)
    scratch = None
    for start, stop, cols in column_chunks(x, geo, o):
        if scratch is None:
            scratch = xp.empty(o * cols.shape[-1], x.dtype)
        yt = _channels_first(y[start:stop], g, _shaped(scratch, (o, cols.shape[-1])))
        gw += yt @ cols.swapaxes(1, 2)
    return gw.reshape((o, x.shape[1] // g) + geo.kernel)


def as_correlation(geo, w):
    """For stride 1, conv_transpose(y, w) is itself a convolution of y: with the kernel flipped,
    its two channel axes swapped (per group), and padding d·(K-1) - p. Returns that convolution's
    (geometry, weight), or None for strided geometries (they use col2im)."""
    extent = tuple(d * (k - 1) for d, k in zip(geo.dilation, geo.kernel))
    if any(s != 1 for s in geo.stride) or any(lo > e for lo, e in zip(geo.lo, extent)):
        return None
    flipped = Geometry(geo.out, geo.kernel, geo.stride, geo.dilation,
                       tuple(e - lo for e, lo in zip(extent, geo.lo)), geo.in_size, geo.groups)
    g, nd = geo.groups, geo.nd
    o, cg = w.shape[:2]
    wf = w.reshape((g, o // g, cg) + geo.kernel).swapaxes(1, 2)
    wf = wf[(Ellipsis,) + (slice(None, None, -1),) * nd].reshape((g * cg, o // g) + geo.kernel)
    return flipped, wf


def conv_transpose_forward(y, w, b, geo):
    """x = conv_transpose(y, w) + b on arrays: a flipped-kernel convolution for stride 1; else,
    per chunk of samples, cols = Wᵀ · Y per group, then col2im."""
    corr = as_correlation(geo, w)
    if corr is not None:
        return conv_forward(y, corr[1], b, corr[0])
    xp = backend.xp_of(y)
    n, o, g = y.shape[0], w.shape[0], geo.groups
    c = w.shape[1] * g
    wt = w.reshape(g, o // g, -1).swapaxes(1, 2)                    # (G, Cg·K, Og)
    buf = (xp.empty if geo.tiles else xp.zeros)((n, c) + geo.padded, y.dtype)
    step = _chunk(n, (c * geo.numel_kernel + o) * geo.numel_out * y.itemsize)
    nd = geo.nd
    to_samples = (nd + 1, 0) + tuple(range(1, nd + 1)) + tuple(range(nd + 2, 2 * nd + 2))
    for start in range(0, n, step):
        stop = min(n, start + step)
        cols = (wt @ _channels_first(y[start:stop], g)).reshape(
            (c,) + geo.kernel + (stop - start,) + geo.out)             # (C, *K, n, *Out)
        col2im_add(buf[start:stop], cols.transpose(to_samples), geo)
    x = crop_spatial(buf, geo)
    if b is not None:
        x = x + b.reshape((c,) + (1,) * geo.nd)
    return x


def _bias_grad(g, need):
    return g.sum(dim=(0,) + tuple(range(2, g.ndim))) if need else None


# ----------------------------------------------------------------------------- the three ops
class Conv(Op):
    """y = conv(x, w) + b (see the module docstring); x: (N, C, *S), w: (O, C/G, *K).

    dL/dx = conv_transpose(dL/dy, w), dL/dw = conv_weight(x, dL/dy), dL/db = Σ dL/dy.
    """

    def forward(self, x, w, b, geo):
        self.geo = geo
        self.retain_inputs(0, 1)
        return conv_forward(x, w, b, geo)

    def backward(self, g):
        x, w = self.saved_tensors
        need_x, need_w, need_b = self.needs_input_grad[:3]
        gx = ConvTranspose.apply(g, w, None, self.geo) if need_x else None
        gw = ConvWeight.apply(x, g, self.geo) if need_w else None
        return gx, gw, _bias_grad(g, need_b), None


class ConvTranspose(Op):
    """x = conv_transpose(y, w) + b: the adjoint of ``conv(·, w)``, mapping conv-output-shaped
    y (N, O, *Out) to conv-input-shaped x (N, C, *S): cols = Wᵀ·Y, then col2im.

    dL/dy = conv(dL/dx, w), dL/dw = conv_weight(dL/dx, y), dL/db = Σ dL/dx.
    """

    def forward(self, y, w, b, geo):
        self.geo = geo
        self.retain_inputs(0, 1)
        return conv_transpose_forward(y, w, b, geo)

    def backward(self, gx):
        y, w = self.saved_tensors
        need_y, need_w, need_b = self.needs_input_grad[:3]
        gy = Conv.apply(gx, w, None, self.geo) if need_y else None
        gw = ConvWeight.apply(gx, y, self.geo) if need_w else None
        return gy, gw, _bias_grad(gx, need_b), None


class ConvWeight(Op):
    """dw = conv_weight(x, y) = Y · colsᵀ: the weight gradient of a convolution (a correlation of
    x with y).

    Linear in each argument: dL/dx = conv_transpose(y, dL/dw), dL/dy = conv(x, dL/dw).
    """

    def forward(self, x, y, geo):
        self.geo = geo
        self.retain_inputs(0, 1)
        return conv_weight(x, y, geo)

    def backward(self, gw):
        x, y = self.saved_tensors
        need_x, need_y = self.needs_input_grad[:2]
        gx = ConvTranspose.apply(y, gw, None, self.geo) if need_x else None
        gy = Conv.apply(x, gw, None, self.geo) if need_y else None
        return gx, gy, None


# ----------------------------------------------------------------------------- checks
def _check_float(opname, **tensors):
    dtypes = {name: t.dtype for name, t in tensors.items() if t is not None}
    for name, dt in dtypes.items():
        if not dt.is_floating_point:
            raise RuntimeError(f"{opname}: expected a floating-point {name}, got {dt}")
    if len(set(dtypes.values())) > 1:
        listed = ", ".join(f"{name} dtype {dt}" for name, dt in dtypes.items())
        raise RuntimeError(f"{opname}: {listed} should be the same")


def _batched(input, nd, opname):
    """Accept an unbatched input (C, *S) by adding a batch dimension; say whether one was added."""
    if not isinstance(input, Tensor):
        raise TypeError(f"{opname}: expected a Tensor input, got {type(input).__name__}")
    if input.ndim == nd + 2:
        return input, False
    if input.ndim == nd + 1:
        return input.unsqueeze(0), True
    raise RuntimeError(f"{opname}: expected {nd + 1}D (unbatched) or {nd + 2}D (batched) input, "
                       f"but got input of size: {list(input.shape)}")


def _check_weight(input, weight, bias, groups, nd, opname, transposed):
    if not isinstance(weight, Tensor) or weight.ndim != nd + 2:
        shape = list(weight.shape) if isinstance(weight, Tensor) else type(weight).__name__
        raise RuntimeError(f"{opname}: expected a {nd + 2}D weight, got weight of size {shape}")
    if groups < 1:
        raise RuntimeError(f"{opname}: non-positive groups ({groups}) is not supported")
    c = input.shape[1]
    if transposed:
        expected, out_ch = weight.shape[0], weight.shape[1] * groups
        if c % groups:
            raise RuntimeError(f"{opname}: given groups={groups}, expected input channels {c} of "
                               f"input {list(input.shape)} to be divisible by {groups}")
    else:
        expected, out_ch = weight.shape[1] * groups, weight.shape[0]
        if out_ch % groups:
            raise RuntimeError(f"{opname}: given groups={groups}, expected weight to be divisible "
                               f"by {groups} at dimension 0, but got weight of size "
                               f"{list(weight.shape)}")
    if c != expected:
        raise RuntimeError(f"{opname}: given groups={groups}, weight of size "
                           f"{list(weight.shape)}, expected input{list(input.shape)} to have "
                           f"{expected} channels, but got {c} channels instead")
    if bias is not None and (bias.ndim != 1 or bias.shape[0] != out_ch):
        raise RuntimeError(f"{opname}: expected bias of size [{out_ch}], got {list(bias.shape)}")
    _check_float(opname, input=input, weight=weight, bias=bias)


def _conv_padding(padding, kernel, stride, dilation, nd, opname):
    """``padding`` (int, tuple, 'valid' or 'same') as per-dimension (before, after) pairs."""
    if isinstance(padding, str):
        if padding == "valid":
            return (0,) * nd, (0,) * nd
        if padding != "same":
            raise ValueError(f"{opname}: invalid padding string {padding!r}, should be one of "
                             "'valid', 'same'")
        if any(s != 1 for s in stride):
            raise ValueError(f"{opname}: padding='same' is not supported for strided convolutions")
        total = tuple(d * (k - 1) for d, k in zip(dilation, kernel))
        return tuple(t // 2 for t in total), tuple(t - t // 2 for t in total)
    p = ntuple(padding, nd, "padding", opname)
    if any(v < 0 for v in p):
        raise RuntimeError(f"{opname}: negative padding is not supported, got {p}")
    return p, p


def conv_geometry(in_size, kernel, stride, dilation, lo, hi, groups, opname):
    """Geometry of a convolution; raises if the kernel does not fit the padded input."""
    if any(s <= 0 for s in stride) or any(d <= 0 for d in dilation):
        raise RuntimeError(f"{opname}: stride {stride} and dilation {dilation} must be positive")
    padded = tuple(n + a + b for n, a, b in zip(in_size, lo, hi))
    extent = tuple(d * (k - 1) + 1 for d, k in zip(dilation, kernel))
    if any(p < e for p, e in zip(padded, extent)):
        raise RuntimeError(f"{opname}: calculated padded input size per channel: "
                           f"{' x '.join(map(str, padded))}. Kernel size (dilated): "
                           f"{' x '.join(map(str, extent))}. Kernel size can't be greater than "
                           "actual input size")
    out = tuple((p - e) // s + 1 for p, e, s in zip(padded, extent, stride))
    return Geometry(in_size, kernel, stride, dilation, lo, out, groups)


# ----------------------------------------------------------------------------- public API
def _conv(input, weight, bias, stride, padding, dilation, groups, nd, opname):
    input, unbatched = _batched(input, nd, opname)
    _check_weight(input, weight, bias, groups, nd, opname, transposed=False)
    kernel = tuple(weight.shape[2:])
    stride = ntuple(stride, nd, "stride", opname)
    dilation = ntuple(dilation, nd, "dilation", opname)
    lo, hi = _conv_padding(padding, kernel, stride, dilation, nd, opname)
    geo = conv_geometry(tuple(input.shape[2:]), kernel, stride, dilation, lo, hi, groups, opname)
    out = Conv.apply(input, weight, bias, geo)
    return out.squeeze(0) if unbatched else out


def conv1d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """1-D convolution (cross-correlation) of (N, C, W) with weight (O, C/groups, kW)."""
    return _conv(input, weight, bias, stride, padding, dilation, groups, 1, "conv1d")


def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """2-D convolution (cross-correlation) of (N, C, H, W) with weight (O, C/groups, kH, kW).

    ``padding``: int, tuple, 'valid' (none) or 'same' (output size = input size; stride 1; for
    an even extent the extra padding goes after)."""
    return _conv(input, weight, bias, stride, padding, dilation, groups, 2, "conv2d")


def conv3d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """3-D convolution of (N, C, D, H, W) with weight (O, C/groups, kD, kH, kW)."""
    return _conv(input, weight, bias, stride, padding, dilation, groups, 3, "conv3d")


def _conv_transpose(input, weight, bias, stride, padding, output_padding, groups, dilation, nd,
                    opname):
    input, unbatched = _batched(input, nd, opname)
    _check_weight(input, weight, bias, groups, nd, opname, transposed=True)
    kernel = tuple(weight.shape[2:])
    stride = ntuple(stride, nd, "stride", opname)
    dilation = ntuple(dilation, nd, "dilation", opname)
    pad = ntuple(padding, nd, "padding", opname)
    opad = ntuple(output_padding, nd, "output_padding", opname)
    if any(s <= 0 for s in stride) or any(d <= 0 for d in dilation) or any(p < 0 for p in pad):
        raise RuntimeError(f"{opname}: stride {stride} and dilation {dilation} must be positive "
                           f"and padding {pad} non-negative")
    if any(o >= s and o >= d for o, s, d in zip(opad, stride, dilation)):
        raise RuntimeError(f"{opname}: output padding must be smaller than either stride or "
                           f"dilation, but got output_padding={opad}, stride={stride}, "
                           f"dilation={dilation}")
    n_in = tuple(input.shape[2:])
    size = tuple((i - 1) * s - 2 * p + d * (k - 1) + o + 1
                 for i, s, p, d, k, o in zip(n_in, stride, pad, dilation, kernel, opad))
    if any(v <= 0 for v in size):
        raise RuntimeError(f"{opname}: given input size {n_in}, the calculated output size "
                           f"{size} is too small")
    # x = conv_transpose(y) is the adjoint of the convolution that maps x back to y's size
    geo = Geometry(size, kernel, stride, dilation, pad, n_in, groups)
    out = ConvTranspose.apply(input, weight, bias, geo)
    return out.squeeze(0) if unbatched else out


def conv_transpose1d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1,
                     dilation=1):
    """Transposed 1-D convolution of (N, Cin, W) with weight (Cin, Cout/groups, kW): the adjoint
    (gradient) of conv1d. Output size (W-1)·s - 2p + d·(k-1) + output_padding + 1."""
    return _conv_transpose(input, weight, bias, stride, padding, output_padding, groups, dilation,
                           1, "conv_transpose1d")


def conv_transpose2d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1,
                     dilation=1):
    """Transposed 2-D convolution of (N, Cin, H, W) with weight (Cin, Cout/groups, kH, kW): the
    adjoint (gradient) of conv2d. Output size (H-1)·s - 2p + d·(k-1) + output_padding + 1."""
    return _conv_transpose(input, weight, bias, stride, padding, output_padding, groups, dilation,
                           2, "conv_transpose2d")


def conv_transpose3d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1,
                     dilation=1):
    """Transposed 3-D convolution: the adjoint (gradient) of conv3d."""
    return _conv_transpose(input, weight, bias, stride, padding, output_padding, groups, dilation,
                           3, "conv_transpose3d")


# ----------------------------------------------------------------------------- unfold / fold
class Unfold(Op):
    """im2col: (N, C, H, W) -> (N, C·kH·kW, L), every window of the padded input as a column.
    Linear; its adjoint is fold: dL/dx = fold(dL/dcols)."""

    def forward(self, x, geo):
        self.geo = geo
        n, c = x.shape[:2]
        return windows(pad_spatial(x, geo), geo).reshape(n, c * geo.numel_kernel, geo.numel_out)

    def backward(self, g):
        return Fold.apply(g, self.geo), None


class Fold(Op):
    """col2im: (N, C·kH·kW, L) -> (N, C, H, W), each column added back onto the positions its
    window covers (overlaps sum). Linear; its adjoint is unfold: dL/dcols = unfold(dL/dx)."""

    def forward(self, cols, geo):
        self.geo = geo
        n, ck = cols.shape[:2]
        c = ck // geo.numel_kernel
        return col2im(cols.reshape((n, c) + geo.kernel + geo.out), geo)

    def backward(self, g):
        return Unfold.apply(g, self.geo), None


def _fold_geometry(size, kernel_size, dilation, padding, stride, opname):
    kernel = ntuple(kernel_size, 2, "kernel_size", opname)
    dilation = ntuple(dilation, 2, "dilation", opname)
    pad = ntuple(padding, 2, "padding", opname)
    stride = ntuple(stride, 2, "stride", opname)
    if any(k <= 0 for k in kernel) or any(p < 0 for p in pad):
        raise RuntimeError(f"{opname}: kernel_size {kernel} must be positive and padding {pad} "
                           "non-negative")
    return conv_geometry(size, kernel, stride, dilation, pad, pad, 1, opname)


def unfold(input, kernel_size, dilation=1, padding=0, stride=1):
    """Extract sliding local blocks: (N, C, H, W) -> (N, C·∏kernel_size, L) (im2col)."""
    if input.ndim not in (3, 4):
        raise RuntimeError(f"unfold: expected 3D (unbatched) or 4D (batched) input, but got "
                           f"input of size: {list(input.shape)}")
    x = input.unsqueeze(0) if input.ndim == 3 else input
    geo = _fold_geometry(tuple(x.shape[2:]), kernel_size, dilation, padding, stride, "unfold")
    out = Unfold.apply(x, geo)
    return out.squeeze(0) if input.ndim == 3 else out


def fold(input, output_size, kernel_size, dilation=1, padding=0, stride=1):
    """Combine sliding local blocks: (N, C·∏kernel_size, L) -> (N, C, *output_size) (col2im,
    summing overlaps); the adjoint of :func:`unfold`."""
    if input.ndim not in (2, 3):
        raise RuntimeError(f"fold: expected 2D (unbatched) or 3D (batched) input, but got input "
                           f"of size: {list(input.shape)}")
    cols = input.unsqueeze(0) if input.ndim == 2 else input
    size = ntuple(output_size, 2, "output_size", "fold")
    geo = _fold_geometry(size, kernel_size, dilation, padding, stride, "fold")
    if cols.shape[1] % geo.numel_kernel:
        raise RuntimeError(f"fold: expected size of input's dimension 1 to be divisible by the "
                           f"product of kernel_size {geo.kernel}, but got input of size "
                           f"{list(input.shape)}")
    if cols.shape[2] != geo.numel_out:
        raise RuntimeError(f"fold: given output_size={size}, kernel_size={geo.kernel}, "
                           f"dilation={geo.dilation}, padding={geo.lo}, stride={geo.stride}, "
                           f"expected size of input's dimension 2 to match the calculated number "
                           f"of sliding blocks {' * '.join(map(str, geo.out))} = {geo.numel_out}, "
                           f"but got input of size {list(input.shape)}")
    out = Fold.apply(cols, geo)
    return out.squeeze(0) if input.ndim == 2 else out
