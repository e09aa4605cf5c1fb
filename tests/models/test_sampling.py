"""Decoding (models/sequence/sampling.py): top-k, nucleus (top-p) and temperature, sample
frequencies against the filtered distribution, and generation with and without the KV cache."""
import math

import numpy as np
import pytest

import nablagrad as ng
from nablagrad.models.sequence.gpt import GPT, GPTConfig
from nablagrad.models.sequence.sampling import (filter_logits, generate, sample_next,
                                                top_k_filter, top_p_filter)


def kept(filtered):
    return np.isfinite(filtered.numpy())


def test_top_k_keeps_exactly_the_k_largest():
    logits = ng.tensor(np.random.default_rng(0).standard_normal((4, 20)))
    out = top_k_filter(logits, 5)
    mask = kept(out)
    assert (mask.sum(1) == 5).all()
    largest = np.argsort(-logits.numpy(), axis=1)[:, :5]
    for row, idx in zip(mask, largest):
        assert set(np.flatnonzero(row)) == set(idx)
    np.testing.assert_array_equal(out.numpy()[mask], logits.numpy()[mask])
    assert top_k_filter(logits, 20) is logits


def test_top_k_ties_keep_exactly_k_lower_ids_first():
    out = top_k_filter(ng.tensor([[1.0, 2.0, 2.0, 2.0, 0.0]]), 2)
    np.testing.assert_array_equal(kept(out)[0], [False, True, True, False, False])


@pytest.mark.parametrize("p", [0.05, 0.3, 0.5, 0.77, 0.9, 0.999, 1.0])
def test_top_p_keeps_the_smallest_set_with_mass_at_least_p(p):
    logits = ng.tensor(np.random.default_rng(1).standard_normal((5, 30)) * 2)
    probs = np.exp(logits.numpy())
    probs /= probs.sum(1, keepdims=True)
    mask = kept(top_p_filter(logits, p))
    for row, m in zip(probs, mask):
        assert row[m].sum() >= p - 1e-12                      # enough mass
        assert row[m].min() >= row[~m].max(initial=0)        # the most probable tokens
        assert row[m].sum() - row[m].min() < p               # and no token too many


def test_top_p_ties_give_a_smallest_set_lower_ids_first():
    # probabilities ∝ (e², e, e, e, 1): 0.447, then three tied 0.164; p = 0.5 needs one tie
    out = top_p_filter(ng.tensor([[2.0, 1.0, 1.0, 1.0, 0.0]]), 0.5)
    np.testing.assert_array_equal(kept(out)[0], [True, True, False, False, False])
    # a single dominant token is always kept, however small p
    assert kept(top_p_filter(ng.tensor([[0.0, 5.0, 1.0]]), 1e-9))[0].tolist() == [False, True,
                                                                                  False]


def test_temperature_to_zero_approaches_greedy():
    logits = ng.tensor(np.random.default_rng(2).standard_normal((200, 10)))
    greedy = logits.argmax(-1, keepdim=True)
    gen = ng.Generator().manual_seed(0)
    assert ng.equal(sample_next(logits, temperature=0), greedy)
    assert ng.equal(sample_next(logits, temperature=1e-4, generator=gen), greedy)
    top = [ng.softmax(filter_logits(logits, t), -1).max(-1).values.mean().item()
           for t in (1.0, 0.3, 0.1, 0.01)]          # mean probability of the argmax → 1
    assert all(a < b for a, b in zip(top, top[1:])) and top[-1] > 0.95


@pytest.mark.parametrize("kw", [dict(), dict(top_k=4), dict(top_p=0.8),
                                dict(temperature=0.6, top_k=6, top_p=0.9)])
def test_sample_frequencies_match_the_filtered_distribution(kw):
    from scipy import stats
    logits = ng.tensor(np.random.default_rng(3).standard_normal(8))
    n = 40_000
    draws = sample_next(logits.expand(n, 8), generator=ng.Generator().manual_seed(1), **kw)
    counts = np.bincount(draws.numpy().ravel(), minlength=8)
    expected = ng.softmax(filter_logits(logits, kw.get("temperature", 1.0), kw.get("top_k"),
                                        kw.get("top_p")), -1).numpy() * n
    assert (counts[expected == 0] == 0).all()
    nz = expected > 0
    chi2 = ((counts[nz] - expected[nz]) ** 2 / expected[nz]).sum()
    assert stats.chi2.sf(chi2, df=nz.sum() - 1) > 1e-3, (counts, expected)


def test_bad_filter_arguments_raise():
    x = ng.zeros(1, 4)
    with pytest.raises(ValueError, match="k must be >= 1"):
        top_k_filter(x, 0)
    with pytest.raises(ValueError, match=r"p must be in \(0, 1\]"):
        top_p_filter(x, 0.0)
    with pytest.raises(ValueError, match="temperature must be > 0"):
        filter_logits(x, -1.0)


CFG = GPTConfig(vocab_size=11, block_size=10, n_layer=2, n_head=2, n_embd=8)


def model():
    ng.manual_seed(0)
    return GPT(CFG).double()


def test_generate_with_cache_equals_recomputing_the_context():
    m = model()
    prompt = ng.tensor([[1, 2, 3], [4, 5, 6]])
    a = generate(m, prompt, 7, generator=ng.Generator().manual_seed(5))
    b = generate(m, prompt, 7, generator=ng.Generator().manual_seed(5), use_cache=False)
    assert a.shape == (2, 10) and ng.equal(a[:, :3], prompt)
    assert ng.equal(a, b)
    assert ng.equal(generate(m, prompt, 7, temperature=0),
                    generate(m, prompt, 7, temperature=0, use_cache=False))


def test_generate_past_the_block_size_and_restores_training_mode():
    m = model().train()
    out = generate(m, ng.tensor([[1, 2]]), 3 * CFG.block_size, top_k=3, top_p=0.9,
                   generator=ng.Generator().manual_seed(0))
    assert out.shape == (1, 2 + 3 * CFG.block_size) and m.training
    assert 0 <= out.min().item() and out.max().item() < CFG.vocab_size
    again = generate(m, ng.tensor([[1, 2]]), 3 * CFG.block_size, top_k=3, top_p=0.9,
                     generator=ng.Generator().manual_seed(0))
    assert ng.equal(out, again)                                  # seeded: reproducible


def test_cached_generation_feeds_one_token_per_step():
    m = model()
    seen = []
    m.register_forward_pre_hook(lambda mod, args: seen.append(args[0].shape[1]))
    generate(m, ng.tensor([[1, 2, 3]]), 5, temperature=0)
    assert seen == [3, 1, 1, 1, 1]
    assert math.isfinite(sum(seen))
