"""Image transforms (torchvision.transforms equivalents) on NumPy arrays and nablagrad Tensors.

Images are (C, H, W) (or (H, W)); every transform except ``ToTensor`` also takes a batch
(N, C, H, W), and the random ones then draw independent parameters per sample. Vectorised over
the batch: ``Normalize``, ``RandomCrop``, ``RandomHorizontalFlip``, ``GaussianNoise``. Looped per
sample (cheap or inherently per-image): ``RandomAffine`` (one SciPy call per image),
``RandomErasing``. The output is of the input's kind (Tensor in, Tensor out; array in, array out).
Randomness comes from nablagrad's RNG: ``generator=`` or the default one (``ng.manual_seed``).
"""
from __future__ import annotations

import math
import numbers

import numpy as np

from .._tensor import Tensor
from ..ops.random import numpy_generator

__all__ = ["Compose", "ToTensor", "Normalize", "RandomCrop", "RandomHorizontalFlip",
           "RandomAffine", "RandomErasing", "GaussianNoise", "Lambda"]


def _unwrap(x, name):
    if isinstance(x, Tensor):
        return x.detach().numpy(), Tensor
    if isinstance(x, np.ndarray):
        return x, None
    raise TypeError(f"{name}: expected a nablagrad Tensor or NumPy array, got {type(x).__name__}")


def _wrap(arr, kind):
    return Tensor(np.ascontiguousarray(arr)) if kind is Tensor else arr


def _as_batch(a, name):
    """View ``a`` as (N, C, H, W); also returns a function restoring the original layout."""
    if a.ndim == 4:
        return a, lambda b: b
    if a.ndim == 3:
        return a[None], lambda b: b[0]
    if a.ndim == 2:
        return a[None, None], lambda b: b[0, 0]
    raise ValueError(f"{name}: expected an image (H, W) or (C, H, W) or a batch (N, C, H, W), "
                     f"got shape {tuple(a.shape)}")


def _pair(v, name):
    if isinstance(v, numbers.Number):
        return int(v), int(v)
    if len(v) == 1:
        return int(v[0]), int(v[0])
    if len(v) != 2:
        raise ValueError(f"{name}: size must be an int or a pair, got {v}")
    return int(v[0]), int(v[1])


class Compose:
    """Apply ``transforms`` in order."""

    def __init__(self, transforms):
        self.transforms = list(transforms)

    def __call__(self, x):
        for t in self.transforms:
            x = t(x)
        return x

    def __repr__(self):
        return "Compose(" + ", ".join(repr(t) for t in self.transforms) + ")"


class Lambda:
    """Apply a user function."""

    def __init__(self, lambd):
        if not callable(lambd):
            raise TypeError(f"Lambda: argument should be callable, got {type(lambd).__name__}")
        self.lambd = lambd

    def __call__(self, x):
        return self.lambd(x)


class ToTensor:
    """An image array (H, W) or (H, W, C) → float32 Tensor (C, H, W); uint8 values are divided
    by 255 into [0, 1], other dtypes keep their values (as torchvision does). A 4-d array is
    taken as a batch (N, H, W, C) → (N, C, H, W)."""

    def __call__(self, pic):
        a = pic.numpy() if isinstance(pic, Tensor) else np.asarray(pic)
        if a.ndim == 2:
            a = a[:, :, None]
        if a.ndim not in (3, 4):
            raise ValueError(f"ToTensor: expected an (H, W), (H, W, C) or (N, H, W, C) array, "
                             f"got shape {a.shape}")
        a = np.moveaxis(a, -1, -3)
        if a.dtype == np.uint8:
            out = a.astype(np.float32)
            out *= np.float32(1 / 255)
        elif a.dtype.kind == "f":
            out = a.astype(np.float32)
        else:
            out = a
        return Tensor(np.ascontiguousarray(out))


class Normalize:
    """out[c] = (x[c] - mean[c]) / std[c], per channel (dim -3). Differentiable on Tensors."""

    def __init__(self, mean, std, inplace=False):
        self.mean = np.asarray(mean, dtype=np.float64).reshape(-1)
        self.std = np.asarray(std, dtype=np.float64).reshape(-1)
        if (self.std == 0).any():
            raise ValueError(f"Normalize: std evaluated to zero after conversion, leading to "
                             f"division by zero (std={self.std.tolist()})")
        self.inplace = inplace

    def __call__(self, x):
        if x.ndim < 3:
            raise ValueError(f"Normalize: expected a tensor image (..., C, H, W), got shape "
                             f"{tuple(x.shape)}")
        c = x.shape[-3]
        if self.mean.size not in (1, c) or self.std.size not in (1, c):
            raise ValueError(f"Normalize: {c} channels but mean has {self.mean.size} and std "
                             f"{self.std.size} values")
        dtype = x._data.dtype if isinstance(x, Tensor) else x.dtype
        if dtype.kind != "f":
            raise TypeError(f"Normalize: input should be a float tensor, got {dtype}")
        m = self.mean.astype(dtype).reshape(-1, 1, 1)
        s = self.std.astype(dtype).reshape(-1, 1, 1)
        if isinstance(x, Tensor):
            if self.inplace:
                return x.sub_(Tensor(m)).div_(Tensor(s))
            return (x - Tensor(m)) / Tensor(s)
        if self.inplace:
            x -= m
            x /= s
            return x
        return (x - m) / s

    def __repr__(self):
        return f"Normalize(mean={self.mean.tolist()}, std={self.std.tolist()})"


def _padding(padding):
    """(left, top, right, bottom) from an int, a pair (left/right, top/bottom) or a 4-sequence."""
    if isinstance(padding, numbers.Number):
        p = int(padding)
        return p, p, p, p
    padding = [int(p) for p in padding]
    if len(padding) == 1:
        return (padding[0],) * 4
    if len(padding) == 2:
        return padding[0], padding[1], padding[0], padding[1]
    if len(padding) == 4:
        return tuple(padding)
    raise ValueError(f"RandomCrop: padding must be an int or a 1, 2 or 4 element sequence, "
                     f"got {padding}")


class RandomCrop:
    """Crop a random ``size`` (h, w) window, after optional ``padding`` (left, top, right,
    bottom; ``padding_mode`` constant (with ``fill``), edge, reflect or symmetric).
    ``pad_if_needed`` pads images smaller than ``size``. Batch: one window per sample."""

    _MODES = ("constant", "edge", "reflect", "symmetric")

    def __init__(self, size, padding=None, pad_if_needed=False, fill=0, padding_mode="constant",
                 generator=None):
        self.size = _pair(size, "RandomCrop")
        self.padding = None if padding is None else _padding(padding)
        if padding_mode not in self._MODES:
            raise ValueError(f"RandomCrop: padding_mode should be one of {self._MODES}, "
                             f"got {padding_mode!r}")
        self.pad_if_needed, self.fill, self.padding_mode = pad_if_needed, fill, padding_mode
        self.generator = generator

    def _pad(self, a, left, top, right, bottom):
        widths = [(0, 0), (0, 0), (top, bottom), (left, right)]
        if self.padding_mode == "constant":
            return np.pad(a, widths, constant_values=self.fill)
        return np.pad(a, widths, mode=self.padding_mode)

    def __call__(self, x):
        a, kind = _unwrap(x, "RandomCrop")
        b, restore = _as_batch(a, "RandomCrop")
        if self.padding is not None:
            b = self._pad(b, *self.padding)
        th, tw = self.size
        if self.pad_if_needed and (b.shape[2] < th or b.shape[3] < tw):
            ph, pw = max(th - b.shape[2], 0), max(tw - b.shape[3], 0)
            b = self._pad(b, pw, ph, pw, ph)
        n, _, h, w = b.shape
        if h < th or w < tw:
            raise ValueError(f"RandomCrop: required crop size {(th, tw)} is larger than the "
                             f"input image size {(h, w)}")
        rng = numpy_generator(self.generator)
        i = rng.integers(0, h - th + 1, size=n)
        j = rng.integers(0, w - tw + 1, size=n)
        windows = np.lib.stride_tricks.sliding_window_view(b, (th, tw), axis=(2, 3))
        return _wrap(restore(windows[np.arange(n), :, i, j]), kind)


class RandomHorizontalFlip:
    """Mirror left-right with probability ``p`` (per sample in a batch)."""

    def __init__(self, p=0.5, generator=None):
        self.p, self.generator = p, generator

    def __call__(self, x):
        a, kind = _unwrap(x, "RandomHorizontalFlip")
        b, restore = _as_batch(a, "RandomHorizontalFlip")
        flip = numpy_generator(self.generator).random(b.shape[0]) < self.p
        out = np.where(flip[:, None, None, None], b[..., ::-1], b)
        return _wrap(restore(out), kind)


class RandomAffine:
    """Random rotation (``degrees``: d → [-d, d] or a (min, max) range, counter-clockwise),
    translation (``translate`` = (a, b): |dx| ≤ a·W, |dy| ≤ b·H pixels, rounded to integers;
    positive moves right/down) and ``scale`` (a (min, max) range) about the image centre
    ((H-1)/2, (W-1)/2). An output pixel p takes the input at A⁻¹(p - c - t) + c with
    A = scale·R(angle), sampled by ``interpolation`` "nearest" or "bilinear"; outside → ``fill``.
    One ``scipy.ndimage.affine_transform`` call per image."""

    def __init__(self, degrees, translate=None, scale=None, interpolation="nearest", fill=0,
                 generator=None):
        if isinstance(degrees, numbers.Number):
            if degrees < 0:
                raise ValueError("RandomAffine: if degrees is a single number, it must be positive")
            degrees = (-degrees, degrees)
        self.degrees = tuple(float(d) for d in degrees)
        if translate is not None and not all(0 <= t <= 1 for t in translate):
            raise ValueError(f"RandomAffine: translation values should be between 0 and 1, got "
                             f"{translate}")
        if scale is not None and not all(s > 0 for s in scale):
            raise ValueError(f"RandomAffine: scale values should be positive, got {scale}")
        orders = {"nearest": 0, "bilinear": 1}
        if interpolation not in orders:
            raise ValueError(f"RandomAffine: interpolation must be 'nearest' or 'bilinear', got "
                             f"{interpolation!r}")
        self.translate, self.scale, self.order = translate, scale, orders[interpolation]
        self.fill, self.generator = fill, generator

    def _params(self, rng, h, w):
        angle = rng.uniform(*self.degrees)
        tx = ty = 0
        if self.translate is not None:
            tx = int(round(rng.uniform(-self.translate[0] * w, self.translate[0] * w)))
            ty = int(round(rng.uniform(-self.translate[1] * h, self.translate[1] * h)))
        s = rng.uniform(*self.scale) if self.scale is not None else 1.0
        return angle, (ty, tx), s

    def apply(self, image, angle, translate, scale):
        """Transform one (C, H, W) array with the given parameters (angle in degrees,
        translate = (dy, dx) pixels)."""
        from scipy import ndimage
        h, w = image.shape[-2:]
        th = math.radians(angle)
        cos, sin = math.cos(th), math.sin(th)
        inv = np.array([[cos, sin], [-sin, cos]]) / scale  # inverse of scale·R in (row, col)
        c = np.array([(h - 1) / 2, (w - 1) / 2])
        offset = c - inv @ (c + np.asarray(translate, dtype=np.float64))
        matrix = np.eye(3)
        matrix[1:, 1:] = inv
        full_offset = np.concatenate([[0.0], offset])
        work = image if image.dtype.kind == "f" else image.astype(np.float64)
        out = ndimage.affine_transform(work, matrix, full_offset, order=self.order,
                                       mode="constant", cval=self.fill)
        return out.astype(image.dtype) if image.dtype.kind == "f" else \
            np.rint(out).astype(image.dtype)

    def __call__(self, x):
        a, kind = _unwrap(x, "RandomAffine")
        b, restore = _as_batch(a, "RandomAffine")
        rng = numpy_generator(self.generator)
        h, w = b.shape[-2:]
        out = np.stack([self.apply(img, *self._params(rng, h, w)) for img in b])
        return _wrap(restore(out), kind)


class RandomErasing:
    """With probability ``p``, set a random rectangle to ``value`` (a number, a per-channel
    sequence, or "random" for standard-normal noise). Its area is a ``scale`` fraction of the
    image and its aspect ratio h/w is log-uniform in ``ratio``; up to 10 tries to fit, else the
    image is left as is (torchvision's rule). Batch: one rectangle per sample."""

    def __init__(self, p=0.5, scale=(0.02, 0.33), ratio=(0.3, 3.3), value=0, inplace=False,
                 generator=None):
        if not 0 <= p <= 1:
            raise ValueError("RandomErasing: probability should be between 0 and 1")
        if scale[0] > scale[1] or ratio[0] > ratio[1]:
            raise ValueError("RandomErasing: scale and ratio should be of kind (min, max)")
        self.p, self.scale, self.ratio, self.value = p, scale, ratio, value
        self.inplace, self.generator = inplace, generator

    def _box(self, rng, h, w):
        area = h * w
        log_ratio = (math.log(self.ratio[0]), math.log(self.ratio[1]))
        for _ in range(10):
            target = area * rng.uniform(*self.scale)
            aspect = math.exp(rng.uniform(*log_ratio))
            eh = int(round(math.sqrt(target * aspect)))
            ew = int(round(math.sqrt(target / aspect)))
            if eh < h and ew < w:
                return int(rng.integers(0, h - eh + 1)), int(rng.integers(0, w - ew + 1)), eh, ew
        return None

    def __call__(self, x):
        a, kind = _unwrap(x, "RandomErasing")
        b, restore = _as_batch(a if self.inplace else a.copy(), "RandomErasing")
        rng = numpy_generator(self.generator)
        h, w = b.shape[-2:]
        for img in b:
            if rng.random() >= self.p:
                continue
            box = self._box(rng, h, w)
            if box is None:
                continue
            i, j, eh, ew = box
            if isinstance(self.value, str):
                img[:, i:i + eh, j:j + ew] = rng.standard_normal((img.shape[0], eh, ew))
            else:
                img[:, i:i + eh, j:j + ew] = np.asarray(self.value, dtype=img.dtype).reshape(-1, 1, 1)
        if self.inplace and kind is Tensor:
            return x
        return _wrap(restore(b), kind)


class GaussianNoise:
    """x + mean + sigma·N(0, 1), clipped to [0, 1] when ``clip`` (float images only)."""

    def __init__(self, mean=0.0, sigma=0.1, clip=True, generator=None):
        if sigma < 0:
            raise ValueError(f"GaussianNoise: sigma shouldn't be negative, got {sigma}")
        self.mean, self.sigma, self.clip, self.generator = mean, sigma, clip, generator

    def __call__(self, x):
        a, kind = _unwrap(x, "GaussianNoise")
        if a.dtype.kind != "f":
            raise TypeError(f"GaussianNoise: input should be a float image, got {a.dtype}")
        noise = numpy_generator(self.generator).standard_normal(a.shape).astype(a.dtype)
        out = a + (noise * a.dtype.type(self.sigma) + a.dtype.type(self.mean))
        if self.clip:
            np.clip(out, 0, 1, out=out)
        return _wrap(out, kind)
