"""Op specs: convolution, pooling and resampling (nablagrad.nn.functional vs torch.nn.functional).

Samples end with a dict of keyword arguments, passed to both libraries. Shapes are small
(N=2, C=2-4, about 5×6) so that gradcheck stays fast. Max-pooling inputs have distinct values
at least 0.09 apart, so no finite-difference step crosses a tie.
"""
import numpy as np
import torch

import nablagrad.nn.functional as F

from .spec import Const, OpSpec, randn

TF = torch.nn.functional


def distinct(rng, *shape):
    """Values without ties: a shuffled grid with spacing 0.1, plus a little noise."""
    n = int(np.prod(shape))
    return (rng.permutation(n) * 0.1 - 0.05 * n + rng.uniform(0, 0.01, n)).reshape(shape)


def kw_op(name, samples, fn=None, tfn=None, **opts):
    """OpSpec "F.<name>" for F.<name>(*tensors, **kwargs), the kwargs being the last sample
    item."""
    ours, theirs = fn or getattr(F, name), tfn or getattr(TF, name)
    OpSpec(f"F.{name}", lambda *a: ours(*a[:-1], **a[-1]),
           lambda *a: theirs(*a[:-1], **a[-1]), samples, **opts)


# ----------------------------------------------------------------------------- convolutions
kw_op("conv2d", lambda r: [
    (randn(r, 2, 3, 5, 6), randn(r, 4, 3, 3, 3), randn(r, 4), {}),
    (randn(r, 2, 3, 5, 6), randn(r, 4, 3, 3, 3), None, dict(stride=2, padding=1)),
    (randn(r, 2, 4, 5, 6), randn(r, 4, 2, 3, 2), randn(r, 4),
     dict(stride=(2, 1), padding=(1, 2), dilation=(1, 2), groups=2)),
    (randn(r, 2, 4, 6, 5), randn(r, 4, 1, 2, 3), None, dict(padding="same", groups=4,
                                                            dilation=(2, 1))),   # depthwise
    (randn(r, 2, 2, 5, 6), randn(r, 3, 2, 2, 2), randn(r, 3), dict(padding="same")),
    (randn(r, 2, 2, 5, 6), randn(r, 3, 2, 3, 3), None, dict(padding="valid", stride=(1, 3))),
    (randn(r, 3, 5, 6), randn(r, 2, 3, 1, 1), randn(r, 2), dict(stride=2)),   # unbatched, 1×1
])
kw_op("conv1d", lambda r: [
    (randn(r, 2, 3, 7), randn(r, 4, 3, 3), randn(r, 4), dict(stride=2, padding=1)),
    (randn(r, 2, 4, 8), randn(r, 2, 2, 2), None, dict(dilation=3, groups=2, padding="same")),
])
kw_op("conv3d", lambda r: [
    (randn(r, 1, 2, 4, 3, 4), randn(r, 2, 2, 2, 2, 3), randn(r, 2), dict(padding=(1, 0, 1))),
    (randn(r, 2, 2, 3, 4, 3), randn(r, 2, 1, 2, 1, 2), None, dict(stride=(1, 2, 1), groups=2)),
])
kw_op("conv_transpose2d", lambda r: [
    (randn(r, 2, 3, 3, 4), randn(r, 3, 2, 3, 3), randn(r, 2), {}),
    (randn(r, 2, 3, 3, 4), randn(r, 3, 2, 3, 3), None,
     dict(stride=2, padding=1, output_padding=1)),
    (randn(r, 2, 4, 3, 3), randn(r, 4, 1, 2, 3), randn(r, 2),
     dict(stride=(2, 3), padding=(0, 1), output_padding=(1, 2), groups=2, dilation=(1, 2))),
    (randn(r, 2, 2, 3, 3), randn(r, 2, 2, 2, 2), None,
     dict(stride=1, output_padding=1, dilation=2)),  # output_padding < dilation
    (randn(r, 2, 3, 4), randn(r, 2, 3, 3, 2), randn(r, 3), dict(stride=2)),      # unbatched
])
kw_op("conv_transpose1d", lambda r: [
    (randn(r, 2, 3, 4), randn(r, 3, 2, 3), randn(r, 2), dict(stride=2, padding=1,
                                                            output_padding=1)),
    (randn(r, 2, 4, 5), randn(r, 4, 1, 2), None, dict(groups=2, dilation=2)),
])
kw_op("conv_transpose3d", lambda r: [
    (randn(r, 1, 2, 2, 3, 2), randn(r, 2, 2, 2, 2, 2), randn(r, 2),
     dict(stride=(1, 2, 2), padding=(0, 1, 0), output_padding=(0, 1, 1))),
])
kw_op("unfold", lambda r: [
    (randn(r, 2, 3, 5, 6), dict(kernel_size=3)),
    (randn(r, 2, 2, 5, 6), dict(kernel_size=(2, 3), dilation=(2, 1), padding=1, stride=(2, 1))),
    (randn(r, 2, 4, 5), dict(kernel_size=2, stride=2, padding=(1, 0))),   # unbatched
])
kw_op("fold", lambda r: [
    (randn(r, 2, 27, 9), dict(output_size=(5, 6), kernel_size=3, padding=1, stride=2)),
    (randn(r, 2, 12, 6), dict(output_size=(4, 5), kernel_size=(2, 3), dilation=(2, 1))),
    (randn(r, 8, 6), dict(output_size=(3, 4), kernel_size=2, stride=(2, 1), padding=(1, 0))),
])

# ----------------------------------------------------------------------------- pooling
kw_op("max_pool2d", lambda r: [
    (distinct(r, 2, 3, 5, 6), dict(kernel_size=2)),
    (distinct(r, 2, 2, 5, 6), dict(kernel_size=3, stride=2, padding=1, ceil_mode=True)),
    (distinct(r, 2, 2, 5, 6), dict(kernel_size=(2, 3), stride=1, dilation=(2, 1), padding=1,
                                   return_indices=True)),
    (distinct(r, 2, 2, 6, 5), dict(kernel_size=3, stride=(2, 1), ceil_mode=True,
                                   return_indices=True)),
    (distinct(r, 2, 5, 6), dict(kernel_size=2, stride=1)),   # unbatched
])
kw_op("max_pool1d", lambda r: [
    (distinct(r, 2, 3, 7), dict(kernel_size=3, stride=2, padding=1, return_indices=True)),
    (distinct(r, 2, 2, 8), dict(kernel_size=2, dilation=3, ceil_mode=True)),
])
kw_op("max_pool3d", lambda r: [
    (distinct(r, 1, 2, 4, 5, 4), dict(kernel_size=2, stride=(1, 2, 2), padding=1,
                                      return_indices=True)),
])
kw_op("avg_pool2d", lambda r: [
    (randn(r, 2, 3, 5, 6), dict(kernel_size=2)),
    (randn(r, 2, 2, 5, 6), dict(kernel_size=3, stride=2, padding=1, ceil_mode=True)),
    (randn(r, 2, 2, 5, 6), dict(kernel_size=3, stride=2, padding=1, ceil_mode=True,
                                count_include_pad=False)),
    (randn(r, 2, 2, 5, 6), dict(kernel_size=(2, 3), stride=1, padding=(1, 1),
                                divisor_override=4)),
])
kw_op("avg_pool1d", lambda r: [
    (randn(r, 2, 3, 7), dict(kernel_size=3, stride=2, padding=1, count_include_pad=False)),
    (randn(r, 2, 7), dict(kernel_size=2, ceil_mode=True)),
])
kw_op("avg_pool3d", lambda r: [
    (randn(r, 1, 2, 4, 5, 4), dict(kernel_size=2, stride=(1, 2, 1), padding=1, ceil_mode=True,
                                   count_include_pad=False)),
])
kw_op("adaptive_avg_pool2d", lambda r: [
    (randn(r, 2, 3, 5, 6), dict(output_size=(3, 4))),
    (randn(r, 2, 3, 4, 6), dict(output_size=(2, 3))),     # equal windows
    (randn(r, 2, 3, 5, 6), dict(output_size=1)),
    (randn(r, 3, 5, 6), dict(output_size=(None, 4))),
])
kw_op("adaptive_avg_pool1d", lambda r: [(randn(r, 2, 3, 7), dict(output_size=3))])
kw_op("adaptive_avg_pool3d", lambda r: [(randn(r, 1, 2, 3, 5, 4), dict(output_size=(2, 3, 2)))])
kw_op("adaptive_max_pool2d", lambda r: [
    (distinct(r, 2, 3, 5, 6), dict(output_size=(3, 4), return_indices=True)),
    (distinct(r, 2, 3, 4, 6), dict(output_size=2, return_indices=True)),   # equal windows
    (distinct(r, 2, 5, 6), dict(output_size=(4, 5))),
])
kw_op("adaptive_max_pool1d", lambda r: [(distinct(r, 2, 3, 7), dict(output_size=3,
                                                                    return_indices=True))])
kw_op("adaptive_max_pool3d", lambda r: [(distinct(r, 1, 2, 3, 5, 4), dict(output_size=(2, 3, 3)))])
kw_op("lp_pool2d", lambda r: [
    (randn(r, 2, 2, 5, 6, low=0.5, high=2.0), dict(norm_type=2, kernel_size=2)),
    (randn(r, 2, 2, 5, 6, low=0.5, high=2.0), dict(norm_type=3, kernel_size=(2, 3), stride=1,
                                                   ceil_mode=True)),
])
kw_op("lp_pool3d", lambda r: [(randn(r, 1, 2, 3, 4, 5, low=0.5, high=2.0),
                               dict(norm_type=2, kernel_size=(2, 2, 3), stride=(1, 2, 2)))])
kw_op("lp_pool1d", lambda r: [(randn(r, 2, 2, 7, low=0.5, high=2.0),
                               dict(norm_type=1.5, kernel_size=3, stride=2, ceil_mode=True))])


def _unpool_samples(pool, cases):
    """(values, indices, kwargs) from torch's max pooling of tie-free inputs. Windows do not
    overlap: with overlapping windows an index can repeat, where PyTorch keeps one value and we
    add them (the adjoint of the gather that is its backward)."""
    def samples(r):
        out = []
        for shape, kw in cases:
            values, idx = pool(torch.tensor(distinct(r, *shape)), return_indices=True, **kw)
            out.append((randn(r, *values.shape), idx.numpy(), dict(kw, output_size=shape[2:])))
        return out
    return samples


kw_op("max_unpool2d", _unpool_samples(TF.max_pool2d, [
    ((2, 2, 5, 6), dict(kernel_size=2)),
    ((2, 2, 5, 5), dict(kernel_size=2, stride=(2, 3), padding=1))]))
kw_op("max_unpool1d", _unpool_samples(TF.max_pool1d, [((2, 3, 7), dict(kernel_size=3))]))

# ----------------------------------------------------------------------------- resampling
_INTERP = [dict(size=(7, 4)), dict(scale_factor=2), dict(scale_factor=(1.7, 0.6)),
           dict(scale_factor=1.5, recompute_scale_factor=True), dict(size=(3, 11))]
kw_op("interpolate", lambda r: [
    (randn(r, 2, 2, 5, 6), dict(kw, mode=mode, **({} if ac is None else
                                                  dict(align_corners=ac))))
    for mode, ac in (("nearest", None), ("nearest-exact", None), ("bilinear", False),
                     ("bilinear", True), ("bicubic", False), ("bicubic", True), ("area", None))
    for kw in _INTERP] + [
    (randn(r, 2, 3, 5), dict(scale_factor=2.5, mode="linear")),
    (randn(r, 2, 3, 5), dict(size=3, mode="linear", align_corners=True)),
    (randn(r, 2, 3, 5), dict(scale_factor=1.6, mode="nearest")),
    (randn(r, 1, 2, 3, 4, 2), dict(size=(5, 3, 4), mode="trilinear")),
    (randn(r, 1, 2, 3, 4, 2), dict(scale_factor=2, mode="nearest")),
])
kw_op("upsample_nearest", lambda r: [(randn(r, 2, 2, 3, 4), dict(scale_factor=2))])
kw_op("upsample_bilinear", lambda r: [(randn(r, 2, 2, 3, 4), dict(size=(5, 7)))])
kw_op("pixel_shuffle", lambda r: [(randn(r, 2, 8, 3, 2), dict(upscale_factor=2)),
                                  (randn(r, 9, 2, 3), dict(upscale_factor=3))])
kw_op("pixel_unshuffle", lambda r: [(randn(r, 2, 2, 4, 6), dict(downscale_factor=2)),
                                    (randn(r, 1, 3, 6), dict(downscale_factor=3))])
kw_op("affine_grid", lambda r: [(randn(r, 2, 2, 3), dict(size=(2, 3, 4, 5), align_corners=ac))
                                for ac in (False, True)])
kw_op("grid_sample", lambda r: [
    (randn(r, 2, 2, 4, 5), randn(r, 2, 3, 4, 2, low=-1.2, high=1.2),
     dict(mode="bilinear", padding_mode=pm, align_corners=ac))
    for pm in ("zeros", "border") for ac in (False, True)])
kw_op("grid_sample_nearest", lambda r: [
    (randn(r, 2, 2, 4, 5), Const(_nearest_grid(r)), dict(mode="nearest", align_corners=ac))
    for ac in (False, True)], fn=F.grid_sample, tfn=TF.grid_sample)


def _nearest_grid(r):
    """A constant grid (nearest mode has no gradient for it) away from rounding boundaries."""
    return np.round(r.uniform(-1.2, 1.2, (2, 3, 4, 2)) * 4) / 4 + 0.03
