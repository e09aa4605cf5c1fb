"""Positional encodings: the sinusoidal table against the paper's formula, learned embeddings,
and rotary embeddings (rotation, the relative-position property, layouts, gradients)."""
import math

import numpy as np
import pytest

import nablagrad as ng
import nablagrad.nn as nn
from nablagrad.autograd import gradcheck, gradgradcheck
from nablagrad.nn.positional import (apply_rotary_emb, rotary_cos_sin,
                                     sinusoidal_positional_encoding)


# ----------------------------------------------------------------------------- sinusoidal
@pytest.mark.parametrize("d", [6, 7])
def test_sinusoidal_table_is_the_papers_formula(d):
    pe = sinusoidal_positional_encoding(20, d, dtype=ng.float64).numpy()
    for p in range(20):
        for j in range(d):
            angle = p / 10000 ** (2 * (j // 2) / d)
            expected = math.sin(angle) if j % 2 == 0 else math.cos(angle)
            assert pe[p, j] == pytest.approx(expected, abs=1e-12)


def test_sinusoidal_shift_is_a_fixed_linear_map():
    """PE(p + k) = M_k PE(p) for all p (a rotation per frequency pair)."""
    pe = sinusoidal_positional_encoding(40, 8, dtype=ng.float64).numpy()
    k = 5
    m, *_ = np.linalg.lstsq(pe[:30], pe[k:30 + k], rcond=None)
    np.testing.assert_allclose(pe[:35] @ m, pe[k:35 + k], atol=1e-9)


@pytest.mark.parametrize("batch_first", [False, True])
def test_sinusoidal_module_adds_the_table_with_offset(batch_first):
    enc = nn.SinusoidalPositionalEncoding(8, max_len=32, batch_first=batch_first)
    x = ng.randn(*((2, 5, 8) if batch_first else (5, 2, 8)), requires_grad=True)
    out = enc(x, offset=3)
    table = sinusoidal_positional_encoding(32, 8).numpy()[3:8]
    expected = x.detach().numpy() + (table[None] if batch_first else table[:, None])
    np.testing.assert_allclose(out.detach().numpy(), expected, atol=1e-6)
    out.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), np.ones(x.shape, np.float32))
    assert list(enc.state_dict()) == [] and list(enc.parameters()) == []
    np.testing.assert_allclose(enc(ng.zeros(4, 8)).numpy(),  # unbatched, from position 0
                               sinusoidal_positional_encoding(4, 8).numpy(), atol=1e-6)


def test_sinusoidal_errors_and_dropout():
    enc = nn.SinusoidalPositionalEncoding(8, max_len=6, dropout=0.5)
    with pytest.raises(ValueError, match=r"positions \[4, 8\) do not fit max_len=6"):
        enc(ng.zeros(4, 1, 8), offset=4)
    out = enc(ng.ones(6, 3, 8)).numpy()
    assert (out == 0).any()
    enc.eval()
    assert not (enc(ng.ones(6, 3, 8)).numpy() == 0).any()


# ----------------------------------------------------------------------------- learned
def test_learned_embedding_adds_rows_and_trains():
    ng.manual_seed(0)
    emb = nn.LearnedPositionalEmbedding(4, max_len=10, batch_first=True)
    assert list(emb.state_dict()) == ["weight"] and tuple(emb.weight.shape) == (10, 4)
    assert 0.01 < float(emb.weight.detach().numpy().std()) < 0.03
    x = ng.randn(3, 5, 4)
    out = emb(x, offset=2)
    np.testing.assert_allclose(out.detach().numpy(),
                               x.numpy() + emb.weight.detach().numpy()[2:7][None], atol=1e-6)
    out.sum().backward()
    grad = emb.weight.grad.numpy()
    np.testing.assert_array_equal(grad[2:7], 3 * np.ones((5, 4), np.float32))
    assert np.all(grad[:2] == 0) and np.all(grad[7:] == 0)
    with pytest.raises(ValueError, match="max_len=10"):
        emb(ng.randn(1, 11, 4))


# ----------------------------------------------------------------------------- rotary
def rope_reference(x, base=10000.0):
    """Paper form, one pair at a time: rotate (x_2k, x_2k+1) at position p by p·base^(-2k/d)."""
    out = x.copy()
    length, d = x.shape[-2:]
    for p in range(length):
        for k in range(d // 2):
            t = p * base ** (-2 * k / d)
            a, b = x[..., p, 2 * k], x[..., p, 2 * k + 1]
            out[..., p, 2 * k] = a * math.cos(t) - b * math.sin(t)
            out[..., p, 2 * k + 1] = a * math.sin(t) + b * math.cos(t)
    return out


def test_rotary_matches_the_pairwise_rotation():
    x = np.random.default_rng(0).standard_normal((2, 3, 6, 8))
    rope = nn.RotaryEmbedding(8, max_len=16, dtype=ng.float64)
    np.testing.assert_allclose(rope(ng.tensor(x)).numpy(), rope_reference(x), atol=1e-12)


def test_rotary_relative_position_property():
    """⟨R_m q, R_n k⟩ depends only on n − m: the same for (m, n) and (m + t, n + t)."""
    rng = np.random.default_rng(1)
    q, k = rng.standard_normal(16), rng.standard_normal(16)
    rope = nn.RotaryEmbedding(16, max_len=64, dtype=ng.float64)
    rq = rope(ng.tensor(np.tile(q, (64, 1)))).numpy()  # row m: q at position m
    rk = rope(ng.tensor(np.tile(k, (64, 1)))).numpy()
    for offset in (-5, 0, 3, 17):
        dots = [rq[m] @ rk[m + offset] for m in range(max(0, -offset), 40)]
        np.testing.assert_allclose(dots, dots[0], rtol=1e-10, atol=1e-12)
    assert not np.isclose(rq[0] @ rk[3], rq[0] @ rk[4])
    np.testing.assert_allclose(np.linalg.norm(rq, axis=1), np.linalg.norm(q), rtol=1e-12)


def test_rotary_offset_equals_a_slice_of_the_full_sequence():
    x = ng.randn(2, 10, 8)
    rope = nn.RotaryEmbedding(8, max_len=32)
    full = rope(x).numpy()
    np.testing.assert_allclose(rope(x[:, 6:], offset=6).numpy(), full[:, 6:], atol=1e-6)


def test_rotary_half_layout_is_a_permutation_of_the_interleaved_one():
    x = np.random.default_rng(2).standard_normal((3, 5, 8))
    perm = np.r_[0:8:2, 1:8:2]  # interleaved pair k = (2k, 2k+1) → half layout (k, k + 4)
    half = nn.RotaryEmbedding(8, 16, interleaved=False, dtype=ng.float64)(ng.tensor(x[..., perm]))
    inter = nn.RotaryEmbedding(8, 16, dtype=ng.float64)(ng.tensor(x)).numpy()
    np.testing.assert_allclose(half.numpy(), inter[..., perm], atol=1e-12)


def test_rotary_partial_dim_leaves_the_rest():
    x = ng.randn(4, 12)
    out = nn.RotaryEmbedding(8, 16)(x).numpy()
    np.testing.assert_array_equal(out[:, 8:], x.numpy()[:, 8:])
    np.testing.assert_allclose(out[:, :8], rope_reference(x.numpy()[:, :8].astype(np.float64)),
                               atol=1e-6)


@pytest.mark.parametrize("interleaved", [True, False])
def test_rotary_gradients(interleaved):
    x = ng.tensor(np.random.default_rng(3).standard_normal((2, 4, 6)), requires_grad=True)
    cos, sin = rotary_cos_sin(4, 6, dtype=ng.float64)
    assert gradcheck(lambda t: apply_rotary_emb(t, cos, sin, interleaved), (x,))
    assert gradgradcheck(lambda t: apply_rotary_emb(t, cos, sin, interleaved) ** 2, (x,))
    # the inverse rotation is the transpose: the gradient of Σ g·R x is R⁻¹ g
    g = np.random.default_rng(4).standard_normal((2, 4, 6))
    (apply_rotary_emb(x, cos, sin, interleaved) * ng.tensor(g)).sum().backward()
    back = apply_rotary_emb(ng.tensor(g), cos, -sin, interleaved).numpy()
    np.testing.assert_allclose(x.grad.numpy(), back, atol=1e-12)


def test_rotary_errors():
    with pytest.raises(ValueError, match="even"):
        nn.RotaryEmbedding(7)
    cos, sin = rotary_cos_sin(4, 6)
    with pytest.raises(ValueError, match="apply_rotary_emb"):
        apply_rotary_emb(ng.randn(5, 6), cos, sin)
    with pytest.raises(ValueError, match="max_len=8"):
        nn.RotaryEmbedding(4, max_len=8)(ng.randn(9, 4))
    with pytest.raises(ValueError, match="fewer than dim=8"):
        nn.RotaryEmbedding(8, max_len=8)(ng.randn(3, 6))
