"""nn.MultiheadAttention against torch.nn.MultiheadAttention (float64, copied weights): outputs,
attention weights, input/parameter gradients and double backward over its options and masks."""
import math

import numpy as np
import pytest
import torch

import nablagrad as ng
import nablagrad.nn as nn
from nablagrad.nn.attention import multi_head_attention_forward

from _attn_parity import Const, parity

E, H, L, S, N = 8, 2, 4, 5, 3


def rand(*shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape)


def pad_mask(batch, src, seed=0):
    """Bool key padding mask (True = padded): a few trailing keys per sequence, never all."""
    lengths = np.random.default_rng(seed).integers(2, src + 1, size=batch)
    lengths[0] = src - 1
    return np.arange(src)[None, :] >= lengths[:, None]


def pair(**kw):
    return nn.MultiheadAttention(E, H, **kw), torch.nn.MultiheadAttention(E, H, **kw)


def mha(need_weights=True, average=True, kpm=None, mask=None, is_causal=False):
    """A call for parity(): module(q, k, v, ...) with the options given."""
    def call(m, q, k, v, *masks):
        it = iter(masks)
        k_mask = next(it) if kpm is not None else None
        a_mask = next(it) if mask is not None else None
        return m(q, k, v, key_padding_mask=k_mask, need_weights=need_weights,
                 attn_mask=a_mask, average_attn_weights=average, is_causal=is_causal)
    return call


SELF = {1: 0, 2: 0}  # key and value are the query tensor itself (packed projection path)


@pytest.mark.parametrize("need_weights,average", [(True, True), (True, False), (False, True)])
def test_self_attention_matches_torch_with_double_backward(need_weights, average):
    x = rand(L, N, E)
    parity(*pair(), [x, x, x], mha(need_weights, average), same=SELF, double=True)


@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("kv", ["kv_same", "all_different"])
def test_cross_attention_packed_weights(batch_first, kv):
    shape_q, shape_kv = ((N, L, E), (N, S, E)) if batch_first else ((L, N, E), (S, N, E))
    q, k = rand(*shape_q, seed=1), rand(*shape_kv, seed=2)
    v = k if kv == "kv_same" else rand(*shape_kv, seed=3)
    same = {2: 1} if kv == "kv_same" else None
    parity(*pair(batch_first=batch_first), [q, k, v], mha(), same=same)


def test_batch_first_self_attention_without_weights():
    x = rand(N, L, E, seed=4)
    parity(*pair(batch_first=True), [x, x, x], mha(need_weights=False), same=SELF, double=True)


@pytest.mark.parametrize("need_weights", [True, False])
def test_kdim_vdim_separate_projections(need_weights):
    ours, theirs = pair(kdim=3, vdim=6)
    assert ours.in_proj_weight is None and tuple(ours.k_proj_weight.shape) == (E, 3)
    q, k, v = rand(L, N, E, seed=5), rand(S, N, 3, seed=6), rand(S, N, 6, seed=7)
    parity(ours, theirs, [q, k, v], mha(need_weights), double=True)


def test_without_bias():
    x = rand(L, N, E, seed=8)
    ours, theirs = pair(bias=False)
    assert ours.in_proj_bias is None and ours.out_proj.bias is None
    parity(ours, theirs, [x, x, x], mha(), same=SELF)


@pytest.mark.parametrize("kind", ["bool", "float"])
@pytest.mark.parametrize("need_weights", [True, False])
def test_key_padding_mask(kind, need_weights):
    m = pad_mask(N, S, seed=9)
    kpm = m if kind == "bool" else Const(np.where(m, -1e9, rand(N, S, seed=10)))
    q, k, v = rand(L, N, E, seed=11), rand(S, N, E, seed=12), rand(S, N, E, seed=13)
    parity(*pair(), [q, k, v, kpm], mha(need_weights, kpm=True))


def causal_bool(n, m=None):
    return np.triu(np.ones((n, m or n), bool), 1)


@pytest.mark.parametrize("dims", [2, 3])
@pytest.mark.parametrize("kind", ["bool", "float"])
@pytest.mark.parametrize("need_weights", [True, False])
def test_attn_mask_with_key_padding_mask(dims, kind, need_weights):
    blocked = causal_bool(L, S)
    if dims == 3:
        blocked = np.stack([np.roll(blocked, i % 2, axis=1) for i in range(N * H)])
        blocked[..., 0] = False  # every query keeps one key
    mask = blocked if kind == "bool" else Const(np.where(blocked, -math.inf, 0.0)
                                                 + 0.1 * rand(*blocked.shape, seed=14))
    kpm = pad_mask(N, S, seed=15)
    if kind == "float":
        kpm = Const(np.where(kpm, -math.inf, 0.0))
    q, k, v = rand(L, N, E, seed=16), rand(S, N, E, seed=17), rand(S, N, E, seed=18)
    parity(*pair(), [q, k, v, kpm, mask], mha(need_weights, kpm=True, mask=True), double=True)


@pytest.mark.parametrize("need_weights", [True, False])
@pytest.mark.parametrize("with_kpm", [False, True])
def test_is_causal_hint_with_causal_mask(need_weights, with_kpm):
    x = rand(L, N, E, seed=19)
    kpm = pad_mask(N, L, seed=20) if with_kpm else None
    arrays = [x, x, x] + ([kpm] if with_kpm else []) + [causal_bool(L)]
    parity(*pair(), arrays, mha(need_weights, kpm=kpm, mask=True, is_causal=True), same=SELF)


@pytest.mark.parametrize("need_weights", [True, False])
def test_add_bias_kv_and_zero_attn_with_masks(need_weights):
    ours, theirs = pair(add_bias_kv=True, add_zero_attn=True)
    q, k = rand(L, N, E, seed=21), rand(S, N, E, seed=22)
    arrays = [q, k, k, pad_mask(N, S, seed=23), causal_bool(L, S)]
    parity(ours, theirs, arrays, mha(need_weights, kpm=True, mask=True), same={2: 1},
           double=True)


@pytest.mark.parametrize("option", ["add_bias_kv", "add_zero_attn"])
def test_bias_kv_or_zero_attn_alone(option):
    x = rand(L, N, E, seed=24)
    parity(*pair(**{option: True}), [x, x, x], mha(), same=SELF)


@pytest.mark.parametrize("need_weights", [True, False])
def test_unbatched_input_with_masks(need_weights):
    q, k = rand(L, E, seed=25), rand(S, E, seed=26)
    mask = np.stack([causal_bool(L, S), np.roll(causal_bool(L, S), 1, axis=1)])
    mask[..., 0] = False
    kpm = np.arange(S) >= S - 1
    parity(*pair(), [q, k, k, kpm, mask], mha(need_weights, False, kpm=True, mask=True),
           same={2: 1})


def test_unbatched_batch_first_is_sequence_first():
    x = rand(L, E, seed=27)
    parity(*pair(batch_first=True), [x, x, x], mha(), same=SELF)


def test_eval_mode_disables_dropout():
    x = rand(L, N, E, seed=28)
    ours, theirs = pair(dropout=0.5)
    ours.eval()
    theirs.eval()
    parity(ours, theirs, [x, x, x], mha(need_weights=False), same=SELF)


@pytest.mark.parametrize("need_weights", [True, False])
def test_dropout_one_in_training_zeroes_the_attention(need_weights):
    m = nn.MultiheadAttention(E, H, dropout=1.0)
    nn.init.normal_(m.out_proj.bias)
    x = ng.randn(L, N, E)
    out, w = m(x, x, x, need_weights=need_weights)
    bias = m.out_proj.bias.detach().numpy()
    np.testing.assert_allclose(out.detach().numpy(), np.broadcast_to(bias, (L, N, E)), atol=1e-6)
    if need_weights:
        assert np.all(w.detach().numpy() == 0)


def test_dropout_is_random_in_training_and_rescales():
    ng.manual_seed(0)
    m = nn.MultiheadAttention(E, H, dropout=0.5)
    x = ng.randn(L, N, E)
    a, wa = m(x, x, x, average_attn_weights=False)
    b, _ = m(x, x, x)
    assert not np.allclose(a.detach().numpy(), b.detach().numpy())
    kept = wa.detach().numpy()
    assert set(np.unique(kept == 0)) == {True, False}
    m.eval()
    _, w = m(x, x, x, average_attn_weights=False)
    nz = kept != 0
    np.testing.assert_allclose(kept[nz], 2 * w.detach().numpy()[nz], rtol=1e-5)


def test_functional_form_with_static_kv_matches_torch():
    rng = np.random.default_rng(29)
    arrays = dict(q=rng.standard_normal((L, N, E)), w=rng.standard_normal((3 * E, E)),
                  b=rng.standard_normal(3 * E), wo=rng.standard_normal((E, E)),
                  bo=rng.standard_normal(E), sk=rng.standard_normal((N * H, S, E // H)),
                  sv=rng.standard_normal((N * H, S, E // H)))
    ours = {k: ng.tensor(v, requires_grad=True) for k, v in arrays.items()}
    theirs = {k: torch.tensor(v, requires_grad=True) for k, v in arrays.items()}

    def run(lib, fn, t):
        out, w = fn(t["q"], t["q"], t["q"], E, H, t["w"], t["b"], None, None, False, 0.0,
                    t["wo"], t["bo"], static_k=t["sk"], static_v=t["sv"])
        (out.sum() + (w * w).sum()).backward()
        return out, w
    for a, b in zip(run(ng, multi_head_attention_forward, ours),
                    run(torch, torch.nn.functional.multi_head_attention_forward, theirs)):
        np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), atol=1e-10)
    for k in arrays:
        np.testing.assert_allclose(ours[k].grad.numpy(), theirs[k].grad.numpy(), atol=1e-10,
                                   err_msg=k)


# ----------------------------------------------------------------------------- structure
@pytest.mark.parametrize("kw", [{}, {"kdim": 3, "vdim": 5}, {"bias": False},
                                {"add_bias_kv": True}])
def test_state_dict_keys_and_shapes_equal_torch(kw):
    ours, theirs = pair(**kw)
    assert [(k, tuple(v.shape)) for k, v in ours.state_dict().items()] == \
        [(k, tuple(v.shape)) for k, v in theirs.state_dict().items()]


def test_default_init():
    ng.manual_seed(0)
    m = nn.MultiheadAttention(64, 4, add_bias_kv=True)
    w = m.in_proj_weight.detach().numpy()
    bound = math.sqrt(6 / (64 + 3 * 64))  # Xavier-uniform with fan_in 64, fan_out 192
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.95 * bound
    assert abs(w.std() - bound / math.sqrt(3)) < 0.05 * bound
    assert np.all(m.in_proj_bias.detach().numpy() == 0)
    assert np.all(m.out_proj.bias.detach().numpy() == 0)
    wo = m.out_proj.weight.detach().numpy()  # Linear's init: U(±1/√64)
    assert np.abs(wo).max() <= 1 / 8 and np.abs(wo).max() > 0.95 / 8
    bk = np.concatenate([m.bias_k.detach().numpy().ravel(), m.bias_v.detach().numpy().ravel()])
    assert 0.5 * math.sqrt(2 / 128) < bk.std() < 1.5 * math.sqrt(2 / 128)


def test_separate_weights_init_is_xavier_per_projection():
    m = nn.MultiheadAttention(16, 2, kdim=48, vdim=4)
    for w, fan_in in ((m.q_proj_weight, 16), (m.k_proj_weight, 48), (m.v_proj_weight, 4)):
        assert np.abs(w.detach().numpy()).max() <= math.sqrt(6 / (16 + fan_in))


# ----------------------------------------------------------------------------- errors
def test_embed_dim_not_divisible_by_num_heads():
    with pytest.raises(ValueError, match="divisible"):
        nn.MultiheadAttention(10, 3)


def test_bad_attn_mask_shapes():
    m = nn.MultiheadAttention(E, H)
    x = ng.randn(L, N, E)
    with pytest.raises(RuntimeError, match=r"2D attn_mask .*\[4, 4\]"):
        m(x, x, x, attn_mask=ng.zeros(L, L + 1))
    with pytest.raises(RuntimeError, match=r"3D attn_mask .*\[6, 4, 4\]"):
        m(x, x, x, attn_mask=ng.zeros(N, L, L))
    with pytest.raises(RuntimeError, match="key_padding_mask"):
        m(x, x, x, key_padding_mask=ng.zeros(N, L + 2, dtype=ng.bool))
    with pytest.raises(TypeError, match="bool and floating"):
        m(x, x, x, attn_mask=ng.zeros(L, L, dtype=ng.int64))


def test_bad_input_shapes():
    m = nn.MultiheadAttention(E, H)
    with pytest.raises(ValueError, match="embedding dimension of 8"):
        m(ng.randn(L, N, E + 1), ng.randn(L, N, E + 1), ng.randn(L, N, E + 1))
    with pytest.raises(ValueError, match="2D or batched 3D"):
        x = ng.randn(1, L, N, E)
        m(x, x, x)
    with pytest.raises(ValueError, match="batch dim"):
        m(ng.randn(L, N, E), ng.randn(S, N + 1, E), ng.randn(S, N + 1, E))


def test_is_causal_needs_a_mask():
    m = nn.MultiheadAttention(E, H)
    x = ng.randn(L, N, E)
    with pytest.raises(RuntimeError, match="needs attn_mask"):
        m(x, x, x, is_causal=True)
