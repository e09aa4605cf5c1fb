"""Transformer layers, stacks and nn.Transformer against torch (float64, copied weights):
outputs, input/parameter gradients (and a double backward for the layers), post/pre-norm,
relu/gelu/callable activations, masks, batch_first, eval mode; structure, init and errors."""
import math

import numpy as np
import pytest
import torch

import nablagrad as ng
import nablagrad.nn as nn
import nablagrad.nn.functional as F

from _attn_parity import Const, parity

D, H, FF, S, T, N = 8, 2, 16, 5, 4, 3


def rand(*shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape)


def causal_bool(n):
    return np.triu(np.ones((n, n), bool), 1)


def causal_float(n):
    return np.triu(np.full((n, n), -math.inf), 1)


def pad_mask(batch, src, seed=0):
    lengths = np.random.default_rng(seed).integers(2, src + 1, size=batch)
    return np.arange(src)[None, :] >= lengths[:, None]


def both(name, *args, **kw):
    """The same layer from nablagrad and torch; ``function="silu"`` passes each library's
    functional as the activation callable."""
    ours_kw, theirs_kw = dict(kw), dict(kw)
    function = kw.pop("function", None)
    if function is not None:
        del ours_kw["function"], theirs_kw["function"]
        ours_kw["activation"] = getattr(F, function)
        theirs_kw["activation"] = getattr(torch.nn.functional, function)
    return getattr(nn, name)(*args, **ours_kw), getattr(torch.nn, name)(*args, **theirs_kw)


def enc_call(m, x, *masks):
    mask, kpm = (masks + (None, None))[:2]
    return m(x, src_mask=mask, src_key_padding_mask=kpm)


def dec_call(m, tgt, mem, *masks):
    tgt_mask, mem_kpm, tgt_kpm = (masks + (None,) * 3)[:3]
    return m(tgt, mem, tgt_mask=tgt_mask, memory_key_padding_mask=mem_kpm,
             tgt_key_padding_mask=tgt_kpm)


# ----------------------------------------------------------------------------- layers
@pytest.mark.parametrize("norm_first", [False, True])
@pytest.mark.parametrize("activation", ["relu", "gelu"])
def test_encoder_layer_with_masks_and_double_backward(norm_first, activation):
    layers = both("TransformerEncoderLayer", D, H, FF, dropout=0.0, activation=activation,
                  norm_first=norm_first)
    x = rand(S, N, D, seed=1)
    parity(*layers, [x, causal_bool(S), pad_mask(N, S, seed=2)], enc_call, double=True)


@pytest.mark.parametrize("batch_first", [False, True])
def test_encoder_layer_batch_first_float_masks(batch_first):
    layers = both("TransformerEncoderLayer", D, H, FF, dropout=0.0, batch_first=batch_first)
    x = rand(*((N, S, D) if batch_first else (S, N, D)), seed=3)
    kpm = Const(np.where(pad_mask(N, S, seed=4), -math.inf, 0.0))
    parity(*layers, [x, Const(causal_float(S)), kpm], enc_call)


def test_encoder_layer_callable_activation_no_bias_unbatched():
    layers = both("TransformerEncoderLayer", D, H, FF, dropout=0.0, function="silu",
                  bias=False, layer_norm_eps=1e-3)
    assert layers[0].norm1.bias is None and layers[0].linear1.bias is None
    parity(*layers, [rand(S, D, seed=5)], enc_call)


def test_encoder_layer_is_causal_hint():
    layers = both("TransformerEncoderLayer", D, H, FF, dropout=0.0)
    x = rand(S, N, D, seed=6)
    parity(*layers, [x, causal_bool(S)],
           lambda m, x, mask: m(x, src_mask=mask, is_causal=True))


@pytest.mark.parametrize("norm_first", [False, True])
@pytest.mark.parametrize("activation", ["relu", "gelu"])
def test_decoder_layer_with_masks_and_double_backward(norm_first, activation):
    layers = both("TransformerDecoderLayer", D, H, FF, dropout=0.0, activation=activation,
                  norm_first=norm_first)
    tgt, mem = rand(T, N, D, seed=7), rand(S, N, D, seed=8)
    parity(*layers, [tgt, mem, causal_bool(T), pad_mask(N, S, seed=9), pad_mask(N, T, seed=10)],
           dec_call, double=True)


def test_decoder_layer_batch_first_memory_mask():
    layers = both("TransformerDecoderLayer", D, H, FF, dropout=0.0, batch_first=True)
    tgt, mem = rand(N, T, D, seed=11), rand(N, S, D, seed=12)
    mem_mask = rand(T, S, seed=13)
    parity(*layers, [tgt, mem, Const(causal_float(T)), Const(mem_mask)],
           lambda m, t, s, tm, mm: m(t, s, tgt_mask=tm, memory_mask=mm, tgt_is_causal=True))


# ----------------------------------------------------------------------------- stacks
@pytest.mark.parametrize("norm_first", [False, True])
def test_encoder_stack_with_final_norm(norm_first):
    ours = nn.TransformerEncoder(nn.TransformerEncoderLayer(D, H, FF, 0.0, norm_first=norm_first),
                                 2, norm=nn.LayerNorm(D))
    theirs = torch.nn.TransformerEncoder(
        torch.nn.TransformerEncoderLayer(D, H, FF, 0.0, norm_first=norm_first), 2,
        norm=torch.nn.LayerNorm(D), enable_nested_tensor=False)
    for p in theirs.parameters():  # the two clones start equal: make them differ
        p.data.normal_()
    x = rand(S, N, D, seed=14)
    parity(ours, theirs, [x, Const(causal_float(S)), pad_mask(N, S, seed=15)],
           lambda m, x, mask, kpm: m(x, mask=mask, src_key_padding_mask=kpm), atol=1e-9)


def test_decoder_stack_with_final_norm():
    ours = nn.TransformerDecoder(nn.TransformerDecoderLayer(D, H, FF, 0.0), 2,
                                 norm=nn.LayerNorm(D))
    theirs = torch.nn.TransformerDecoder(torch.nn.TransformerDecoderLayer(D, H, FF, 0.0), 2,
                                         norm=torch.nn.LayerNorm(D))
    for p in theirs.parameters():
        p.data.normal_()
    tgt, mem = rand(T, N, D, seed=16), rand(S, N, D, seed=17)
    parity(ours, theirs, [tgt, mem, Const(causal_float(T)), pad_mask(N, S, seed=18)], dec_call,
           atol=1e-9)


def test_stack_layers_are_independent_copies():
    enc = nn.TransformerEncoder(nn.TransformerEncoderLayer(D, H, FF), 3)
    w = [layer.linear1.weight for layer in enc.layers]
    assert len({id(p) for p in w}) == 3
    assert len(list(enc.parameters())) == 3 * len(list(enc.layers[0].parameters()))


@pytest.mark.parametrize("batch_first", [False, True])
def test_full_transformer_with_causal_tgt_mask(batch_first):
    kw = dict(d_model=D, nhead=H, num_encoder_layers=2, num_decoder_layers=2,
              dim_feedforward=FF, dropout=0.0, batch_first=batch_first)
    ours, theirs = nn.Transformer(**kw), torch.nn.Transformer(**kw)
    src = rand(*((N, S, D) if batch_first else (S, N, D)), seed=19)
    tgt = rand(*((N, T, D) if batch_first else (T, N, D)), seed=20)
    tgt_mask = Const(nn.Transformer.generate_square_subsequent_mask(T).double().numpy())

    def call(m, src, tgt, tgt_mask, src_kpm):
        return m(src, tgt, tgt_mask=tgt_mask, src_key_padding_mask=src_kpm,
                 memory_key_padding_mask=src_kpm)
    parity(ours, theirs, [src, tgt, tgt_mask, pad_mask(N, S, seed=21)], call, atol=1e-9)


def test_eval_mode_disables_dropout():
    kw = dict(d_model=D, nhead=H, num_encoder_layers=1, num_decoder_layers=1,
              dim_feedforward=FF, dropout=0.3)
    ours, theirs = nn.Transformer(**kw).eval(), torch.nn.Transformer(**kw).eval()
    parity(ours, theirs, [rand(S, N, D, seed=22), rand(T, N, D, seed=23)], atol=1e-9)


def test_eval_no_grad_matches_torch_fast_path():
    ours, theirs = both("TransformerEncoderLayer", D, H, FF, batch_first=True)
    ours.double().eval()
    theirs.double().eval()
    ours.load_state_dict({k: ng.tensor(v.numpy()) for k, v in theirs.state_dict().items()})
    x = rand(N, S, D, seed=24)
    with torch.no_grad():
        ref = theirs(torch.tensor(x))
    with ng.no_grad():
        out = ours(ng.tensor(x))
    np.testing.assert_allclose(out.numpy(), ref.numpy(), atol=1e-10)


def test_dropout_is_active_in_training():
    ng.manual_seed(0)
    layer = nn.TransformerEncoderLayer(D, H, FF, dropout=0.5)
    x = ng.randn(S, N, D)
    a, b = layer(x), layer(x)
    assert not np.allclose(a.detach().numpy(), b.detach().numpy())
    layer.eval()
    np.testing.assert_array_equal(layer(x).detach().numpy(), layer(x).detach().numpy())


# ----------------------------------------------------------------------------- structure
def test_generate_square_subsequent_mask_equals_torch():
    ours = nn.Transformer.generate_square_subsequent_mask(5)
    ref = torch.nn.Transformer.generate_square_subsequent_mask(5)
    assert ours.dtype == ng.float32
    np.testing.assert_array_equal(ours.numpy(), ref.numpy())
    assert nn.Transformer.generate_square_subsequent_mask(3, dtype=ng.float64).dtype == ng.float64


def test_default_transformer_state_dict_and_init():
    ng.manual_seed(0)
    ours, theirs = nn.Transformer(), torch.nn.Transformer()
    assert [(k, tuple(v.shape)) for k, v in ours.state_dict().items()] == \
        [(k, tuple(v.shape)) for k, v in theirs.state_dict().items()]
    assert (ours.d_model, ours.nhead, ours.batch_first) == (512, 8, False)
    layer = ours.encoder.layers[0]
    assert layer.dropout.p == 0.1 and layer.norm1.eps == 1e-5 and not layer.norm_first
    assert layer.activation is F.relu
    w = ours.decoder.layers[5].linear1.weight.detach().numpy()  # Xavier-uniform, 2048×512
    bound = math.sqrt(6 / (512 + 2048))
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.99 * bound
    assert np.all(ours.encoder.norm.weight.detach().numpy() == 1)


@pytest.mark.parametrize("name", ["TransformerEncoderLayer", "TransformerDecoderLayer"])
@pytest.mark.parametrize("kw", [{}, {"bias": False}])
def test_layer_state_dict_keys_equal_torch(name, kw):
    ours, theirs = both(name, D, H, FF, **kw)
    assert [(k, tuple(v.shape)) for k, v in ours.state_dict().items()] == \
        [(k, tuple(v.shape)) for k, v in theirs.state_dict().items()]


# ----------------------------------------------------------------------------- errors
def test_errors():
    with pytest.raises(RuntimeError, match="relu/gelu, not tanh"):
        nn.TransformerEncoderLayer(D, H, activation="tanh")
    with pytest.raises(ValueError, match="divisible"):
        nn.TransformerEncoderLayer(10, 3)
    model = nn.Transformer(D, H, 1, 1, FF)
    with pytest.raises(RuntimeError, match="batch number of src and tgt"):
        model(ng.randn(S, N, D), ng.randn(T, N + 1, D))
    with pytest.raises(RuntimeError, match="d_model=8"):
        model(ng.randn(S, N, D + 1), ng.randn(T, N, D + 1))
    with pytest.raises(RuntimeError, match="2D attn_mask"):
        model(ng.randn(S, N, D), ng.randn(T, N, D), tgt_mask=ng.zeros(S, S))
