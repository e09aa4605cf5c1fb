"""Behaviour of convolution, pooling and resampling beyond the op registry: error messages,
'same' padding, output shapes over a grid of settings, adjoint identities, PyTorch's index
conventions, and the saved-input checks of the cached im2col columns."""
import itertools

import numpy as np
import pytest
import torch

import nablagrad as ng
import nablagrad.nn.functional as F

TF = torch.nn.functional


def _pair(rng, *shape):
    a = rng.standard_normal(shape)
    return ng.tensor(a), torch.tensor(a)


# ----------------------------------------------------------------------------- error messages
def test_conv_wrong_input_rank_names_op_and_shape(rng):
    w = ng.tensor(rng.standard_normal((4, 3, 3, 3)))
    with pytest.raises(RuntimeError, match=r"conv2d: expected 3D \(unbatched\) or 4D \(batched\) "
                                           r"input, but got input of size: \[2, 3\]"):
        F.conv2d(ng.zeros(2, 3, dtype=ng.float64), w)
    with pytest.raises(RuntimeError, match=r"conv1d: .*got input of size: \[1, 2, 3, 4, 5\]"):
        F.conv1d(ng.zeros(1, 2, 3, 4, 5, dtype=ng.float64), ng.zeros(1, 2, 3, dtype=ng.float64))


def test_conv_channel_mismatch_names_both_shapes(rng):
    x = ng.tensor(rng.standard_normal((2, 5, 5, 6)))
    w = ng.tensor(rng.standard_normal((4, 3, 3, 3)))
    with pytest.raises(RuntimeError) as err:
        F.conv2d(x, w)
    msg = str(err.value)
    assert "[4, 3, 3, 3]" in msg and "[2, 5, 5, 6]" in msg
    assert "to have 3 channels, but got 5 channels instead" in msg


def test_conv_groups_must_divide_channels(rng):
    x = ng.tensor(rng.standard_normal((2, 4, 5, 6)))
    with pytest.raises(RuntimeError, match=r"groups=2, expected weight to be divisible by 2 at "
                                           r"dimension 0, but got weight of size \[3, 2, 3, 3\]"):
        F.conv2d(x, ng.tensor(rng.standard_normal((3, 2, 3, 3))), groups=2)
    with pytest.raises(RuntimeError, match=r"groups=3, weight of size \[3, 1, 3, 3\], expected "
                                           r"input\[2, 4, 5, 6\] to have 3 channels"):
        F.conv2d(x, ng.tensor(rng.standard_normal((3, 1, 3, 3))), groups=3)
    with pytest.raises(RuntimeError, match=r"conv_transpose2d: given groups=3, expected input "
                                           r"channels 4 .* divisible by 3"):
        F.conv_transpose2d(x, ng.tensor(rng.standard_normal((4, 1, 3, 3))), groups=3)


def test_conv_other_errors(rng):
    x = ng.tensor(rng.standard_normal((1, 2, 3, 3)))
    w = ng.tensor(rng.standard_normal((1, 2, 4, 4)))
    with pytest.raises(RuntimeError, match="Kernel size can't be greater than actual input size"):
        F.conv2d(x, w)
    with pytest.raises(ValueError, match="padding='same' is not supported for strided"):
        F.conv2d(x, w, padding="same", stride=2)
    with pytest.raises(ValueError, match="invalid padding string 'full'"):
        F.conv2d(x, w, padding="full")
    with pytest.raises(RuntimeError, match=r"input dtype nablagrad.float32, weight dtype "
                                           r"nablagrad.float64 should be the same"):
        F.conv2d(x.float(), ng.tensor(rng.standard_normal((1, 2, 2, 2))))
    with pytest.raises(RuntimeError, match=r"expected bias of size \[1\]"):
        F.conv2d(x, w[:, :, :2, :2], bias=ng.zeros(2, dtype=ng.float64))
    with pytest.raises(RuntimeError, match="output padding must be smaller than either stride or "
                                           "dilation"):
        F.conv_transpose2d(x, ng.tensor(rng.standard_normal((2, 1, 2, 2))), output_padding=1)
    with pytest.raises(RuntimeError, match=r"fold: .*number of sliding blocks 2 \* 2 = 4"):
        F.fold(ng.zeros(1, 4, 5, dtype=ng.float64), (3, 3), 2)


# ----------------------------------------------------------------------------- 'same' padding
@pytest.mark.filterwarnings("ignore::UserWarning")  # PyTorch warns about its padded copy
@pytest.mark.parametrize("kernel,dilation", [((2, 2), 1), ((4, 3), 1), ((2, 3), (3, 2)),
                                             ((1, 4), 2)])
def test_same_padding_even_kernels(rng, kernel, dilation):
    """Output size = input size; the extra padding of an even extent goes after, as in PyTorch."""
    x, tx = _pair(rng, 2, 3, 5, 6)
    w, tw = _pair(rng, 4, 3, *kernel)
    ours = F.conv2d(x, w, padding="same", dilation=dilation)
    theirs = TF.conv2d(tx, tw, padding="same", dilation=dilation)
    assert tuple(ours.shape) == (2, 4, 5, 6)
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), atol=1e-12)


# ----------------------------------------------------------------------------- output shapes
@pytest.mark.parametrize("size,kernel,stride,padding,dilation,groups", [
    c for c in itertools.product([(5, 6), (7, 4)], [1, 2, (3, 2)], [1, 2, (3, 1)], [0, 1, (2, 0)],
                                 [1, (2, 1)], [1, 2])])
def test_conv2d_and_transpose_shapes_match_torch(size, kernel, stride, padding, dilation, groups):
    rng = np.random.default_rng(0)
    k = np.broadcast_to(kernel, 2)
    x, tx = _pair(rng, 1, 4, *size)
    w, tw = _pair(rng, 2, 4 // groups, *k)
    ours = F.conv2d(x, w, stride=stride, padding=padding, dilation=dilation, groups=groups)
    theirs = TF.conv2d(tx, tw, stride=stride, padding=padding, dilation=dilation, groups=groups)
    assert tuple(ours.shape) == tuple(theirs.shape)
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), atol=1e-12)
    # the transposed convolution of a tensor of the conv's output size, for every legal
    # output_padding, gives PyTorch's size and values
    wt, twt = _pair(rng, 4, 2 // groups, *k)
    s, d = np.broadcast_to(stride, 2), np.broadcast_to(dilation, 2)
    for op in itertools.product(*(range(max(si, di)) for si, di in zip(s, d))):
        y, ty = _pair(rng, 1, 4, *theirs.shape[2:])
        kw = dict(stride=stride, padding=padding, output_padding=op, groups=groups,
                  dilation=dilation)
        ours_t = F.conv_transpose2d(y, wt, **kw)
        theirs_t = TF.conv_transpose2d(ty, twt, **kw)
        assert tuple(ours_t.shape) == tuple(theirs_t.shape)
        np.testing.assert_allclose(ours_t.numpy(), theirs_t.numpy(), atol=1e-12)


@pytest.mark.parametrize("size,kernel,stride,padding,dilation,ceil_mode", [
    c for c in itertools.product([(5, 6), (8, 7)], [2, 3, (3, 2)], [None, 1, 2, (3, 2)], [0, 1],
                                 [1, 2], [False, True])])
def test_pool_shapes_and_indices_match_torch(size, kernel, stride, padding, dilation, ceil_mode):
    rng = np.random.default_rng(1)
    x, tx = _pair(rng, 2, 3, *size)
    kw = dict(kernel_size=kernel, stride=stride, padding=padding, ceil_mode=ceil_mode)
    ours, idx = F.max_pool2d(x, dilation=dilation, return_indices=True, **kw)
    theirs, tidx = TF.max_pool2d(tx, dilation=dilation, return_indices=True, **kw)
    assert tuple(ours.shape) == tuple(theirs.shape)
    np.testing.assert_allclose(ours.numpy(), theirs.numpy())
    assert idx.dtype == ng.int64
    np.testing.assert_array_equal(idx.numpy(), tidx.numpy())
    for include in (True, False):
        ours = F.avg_pool2d(x, count_include_pad=include, **kw)
        theirs = TF.avg_pool2d(tx, count_include_pad=include, **kw)
        np.testing.assert_allclose(ours.numpy(), theirs.numpy(), atol=1e-12)


def test_pool_errors(rng):
    x = ng.tensor(rng.standard_normal((1, 2, 5, 5)))
    with pytest.raises(RuntimeError, match="pad should be at most half of effective kernel size"):
        F.max_pool2d(x, 2, padding=2)
    with pytest.raises(RuntimeError, match="max_pool2d: expected 3D .* got input of size: \\[5\\]"):
        F.max_pool2d(ng.zeros(5), 2)
    with pytest.raises(RuntimeError, match="avg_pool2d: divisor must be not zero"):
        F.avg_pool2d(x, 2, divisor_override=0)
    with pytest.raises(RuntimeError, match="avg_pool2d: expected a floating-point input"):
        F.avg_pool2d(ng.zeros(1, 1, 4, 4, dtype=ng.int64), 2)
    with pytest.raises(RuntimeError, match="output size .* is too small"):
        F.max_pool2d(x, 7)
    with pytest.raises(RuntimeError, match=r"max_unpool2d: found an invalid max index 100"):
        F.max_unpool2d(x, ng.full((1, 2, 5, 5), 100, dtype=ng.int64), 2)


def test_resampling_errors(rng):
    x = ng.tensor(rng.standard_normal((1, 2, 4, 4)))
    with pytest.raises(ValueError, match="only one of size or scale_factor"):
        F.interpolate(x, size=3, scale_factor=2)
    with pytest.raises(ValueError, match="align_corners option can only be set"):
        F.interpolate(x, size=3, align_corners=True)
    with pytest.raises(NotImplementedError, match="got 4D input, but linear mode needs 3D input"):
        F.interpolate(x, size=3, mode="linear")
    with pytest.raises(RuntimeError, match="pixel_shuffle: .*divisible by upscale_factor² = 4"):
        F.pixel_shuffle(x, 2)
    with pytest.raises(ValueError, match="affine matrices of shape Nx2x3"):
        F.affine_grid(ng.zeros(2, 3, 3, dtype=ng.float64), (2, 1, 4, 4))


# ----------------------------------------------------------------------------- identities
def _inner(a, b):
    return float((a * b).sum().item())


def test_conv_transpose_is_the_adjoint_of_conv(rng):
    """⟨conv(x, w), y⟩ = ⟨x, conv_transpose(y, w)⟩ for the same stride, padding, dilation,
    groups, with output_padding chosen so the sizes agree."""
    x = ng.tensor(rng.standard_normal((2, 4, 7, 6)))
    w = ng.tensor(rng.standard_normal((6, 2, 3, 2)))
    kw = dict(stride=2, padding=(1, 0), dilation=(1, 2), groups=2)
    y = ng.tensor(rng.standard_normal(tuple(F.conv2d(x, w, **kw).shape)))
    back = F.conv_transpose2d(y, w, output_padding=(0, 1), **kw)
    assert tuple(back.shape) == tuple(x.shape)
    assert np.isclose(_inner(F.conv2d(x, w, **kw), y), _inner(x, back))


def test_fold_is_the_adjoint_of_unfold(rng):
    x = ng.tensor(rng.standard_normal((2, 3, 6, 5)))
    kw = dict(kernel_size=(2, 3), dilation=(2, 1), padding=1, stride=(1, 2))
    cols = F.unfold(x, **kw)
    y = ng.tensor(rng.standard_normal(tuple(cols.shape)))
    assert np.isclose(_inner(cols, y), _inner(x, F.fold(y, (6, 5), **kw)))


def test_conv_equals_unfold_matmul(rng):
    """conv2d is unfold followed by a matrix product with the flattened weight."""
    x = ng.tensor(rng.standard_normal((2, 3, 6, 5)))
    w = ng.tensor(rng.standard_normal((4, 3, 3, 2)))
    y = F.conv2d(x, w, padding=1, stride=(2, 1))
    cols = F.unfold(x, (3, 2), padding=1, stride=(2, 1))
    z = (w.reshape(4, -1) @ cols).reshape(tuple(y.shape))
    np.testing.assert_allclose(y.numpy(), z.numpy(), atol=1e-12)


def test_max_unpool_inverts_max_pool_positions(rng):
    x = ng.tensor(rng.uniform(0.1, 1.0, (2, 3, 6, 4)))   # positive: the zeros never win
    values, idx = F.max_pool2d(x, 2, return_indices=True)
    restored = F.max_unpool2d(values, idx, 2)
    tv, ti = TF.max_pool2d(torch.tensor(x.numpy()), 2, return_indices=True)
    np.testing.assert_allclose(restored.numpy(), TF.max_unpool2d(tv, ti, 2).numpy())
    assert F.max_pool2d(restored, 2).numpy().tolist() == values.numpy().tolist()


def test_adaptive_max_indices_match_torch(rng):
    x, tx = _pair(rng, 2, 3, 7, 5)
    for size in [(3, 2), (4, 4), (7, 1), 2]:
        _, idx = F.adaptive_max_pool2d(x, size, return_indices=True)
        _, tidx = TF.adaptive_max_pool2d(tx, size, return_indices=True)
        np.testing.assert_array_equal(idx.numpy(), tidx.numpy())


def test_float32_stays_float32(rng):
    x = ng.tensor(rng.standard_normal((2, 3, 6, 6)).astype(np.float32), requires_grad=True)
    w = ng.tensor(rng.standard_normal((4, 3, 3, 3)).astype(np.float32), requires_grad=True)
    y = F.max_pool2d(F.conv2d(x, w, padding=1), 2)
    z = F.interpolate(F.avg_pool2d(y, 1), scale_factor=2, mode="bilinear")
    assert y.dtype == ng.float32 and z.dtype == ng.float32
    z.sum().backward()
    assert x.grad.dtype == ng.float32 and w.grad.dtype == ng.float32


def test_modified_input_after_conv_raises_on_backward(rng):
    """The im2col columns kept for the weight gradient are tied to the input's version."""
    x = ng.tensor(rng.standard_normal((1, 2, 4, 4)))
    w = ng.tensor(rng.standard_normal((3, 2, 3, 3)), requires_grad=True)
    h = x * 1.0
    y = F.conv2d(h, w)
    h.mul_(2.0)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.sum().backward()


def test_no_graph_without_grad(rng):
    x = ng.tensor(rng.standard_normal((1, 2, 4, 4)))
    w = ng.tensor(rng.standard_normal((3, 2, 3, 3)), requires_grad=True)
    with ng.no_grad():
        y = F.conv2d(x, w)
    assert y.grad_fn is None and not y.requires_grad


def test_second_derivative_of_conv_in_both_arguments(rng):
    """∂²/∂x∂w of Σ conv(x, w)² matches PyTorch (the bilinear cross term)."""
    xa, wa = rng.standard_normal((2, 2, 5, 4)), rng.standard_normal((3, 2, 2, 3))
    results = []
    for lib, f in ((ng, F.conv2d), (torch, TF.conv2d)):
        x = lib.tensor(xa, requires_grad=True)
        w = lib.tensor(wa, requires_grad=True)
        y = f(x, w, stride=(2, 1), padding=1)
        (gx,) = lib.autograd.grad([(y * y).sum()], [x], create_graph=True)
        (gw,) = lib.autograd.grad([(gx * gx).sum()], [w])
        results.append(gw.detach().numpy())
    np.testing.assert_allclose(results[0], results[1], rtol=1e-10)


@pytest.mark.parametrize("transposed", [False, True])
@pytest.mark.parametrize("stride,groups", [(1, 1), (2, 2), ((1, 2), 1)])
def test_chunked_im2col_matches_torch(rng, monkeypatch, transposed, stride, groups):
    """Small chunk budgets split the batch into several chunks, the last one partial."""
    from nablagrad.ops import conv as conv_module
    monkeypatch.setattr(conv_module, "CHUNK_BYTES", 15000)
    x, tx = _pair(rng, 7, 4, 6, 5)
    w, tw = _pair(rng, 4, 4 // groups, 3, 2)
    b, tb = _pair(rng, 4 if not transposed else 4 // groups * groups)
    kw = dict(stride=stride, padding=1, groups=groups)
    if transposed:
        ours, theirs = F.conv_transpose2d(x, w, b, **kw), TF.conv_transpose2d(tx, tw, tb, **kw)
    else:
        ours, theirs = F.conv2d(x, w, b, **kw), TF.conv2d(tx, tw, tb, **kw)
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), atol=1e-12)
    g = rng.standard_normal(tuple(theirs.shape))
    for t in (x, w, b, tx, tw, tb):
        t.requires_grad_(True)
    f, tf = (F.conv_transpose2d, TF.conv_transpose2d) if transposed else (F.conv2d, TF.conv2d)
    grads = ng.autograd.grad([f(x, w, b, **kw)], [x, w, b], [ng.tensor(g)])
    tgrads = torch.autograd.grad([tf(tx, tw, tb, **kw)], [tx, tw, tb], [torch.tensor(g)])
    for a, t in zip(grads, tgrads):
        np.testing.assert_allclose(a.numpy(), t.numpy(), atol=1e-10)
