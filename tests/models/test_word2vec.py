"""word2vec: the negative-sampling and full-softmax losses against torch, the data helpers
(windows, subsampling, noise), training on a corpus with a planted structure, and the
nearest-neighbour and analogy queries."""
import numpy as np
import pytest
import torch

import nablagrad as ng
import nablagrad.nn.functional as F
from nablagrad.models.sequence import Word2Vec, analogy, nearest_neighbours, negative_sampling_loss
from nablagrad.models.sequence.word2vec import (NoiseSampler, cbow_windows, skipgram_pairs,
                                                subsample_keep_prob, unigram_noise)


def pair(x):
    return (ng.tensor(x, dtype=ng.float64, requires_grad=True),
            torch.tensor(x, dtype=torch.float64, requires_grad=True))


def close(a, b, tol=1e-10):
    np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), rtol=tol, atol=tol)


def torch_ns_loss(h, u_pos, u_neg):
    pos = (h * u_pos).sum(-1)
    neg = torch.bmm(u_neg, h.unsqueeze(-1)).squeeze(-1)
    return -(torch.nn.functional.logsigmoid(pos)
             + torch.nn.functional.logsigmoid(-neg).sum(-1)).mean()


# ---------------------------------------------------------------- losses

def test_negative_sampling_loss_value_gradient_and_double_backward(rng):
    B, k, d = 6, 4, 5
    (h, th), (up, tup), (un, tun) = (pair(rng.normal(size=s)) for s in
                                     [(B, d), (B, d), (B, k, d)])
    loss, tloss = negative_sampling_loss(h, up, un), torch_ns_loss(th, tup, tun)
    close(loss, tloss)
    # the formula itself, in NumPy
    hn, upn, unn = h.detach().numpy(), up.detach().numpy(), un.detach().numpy()
    sig = lambda x: 1 / (1 + np.exp(-x))  # noqa: E731
    pos, neg = (hn * upn).sum(1), np.einsum("bkd,bd->bk", unn, hn)
    assert loss.item() == pytest.approx(np.mean(-np.log(sig(pos)) - np.log(sig(-neg)).sum(1)))
    grads = ng.autograd.grad(loss, [h, up, un], create_graph=True)
    tgrads = torch.autograd.grad(tloss, [th, tup, tun], create_graph=True)
    for g, tg in zip(grads, tgrads):
        close(g, tg)
    dh = ((sig(pos) - 1)[:, None] * upn + np.einsum("bk,bkd->bd", sig(neg), unn)) / B
    np.testing.assert_allclose(grads[0].detach().numpy(), dh, rtol=1e-10, atol=1e-12)
    gg = ng.autograd.grad(sum((g * g).sum() for g in grads), [h, up, un])
    tgg = torch.autograd.grad(sum((g * g).sum() for g in tgrads), [th, tup, tun])
    for g, tg in zip(gg, tgg):
        close(g, tg)


def test_negative_sampling_loss_reductions_and_shape_errors(rng):
    h, up, un = (ng.tensor(rng.normal(size=s)) for s in [(3, 2), (3, 2), (3, 4, 2)])
    per_row = negative_sampling_loss(h, up, un, reduction="none")
    assert per_row.shape == (3,)
    assert negative_sampling_loss(h, up, un, reduction="sum").item() == \
        pytest.approx(per_row.sum().item())
    with pytest.raises(ValueError, match=r"negative_sampling_loss: .*\(3, 2\), \(3, 3\)"):
        negative_sampling_loss(h, ng.zeros(3, 3), un)
    with pytest.raises(ValueError, match="reduction"):
        negative_sampling_loss(h, up, un, reduction="avg")


def models(rng, kind, V=11, d=4):
    """A Word2Vec with random weights (both tables) and torch copies of them."""
    m = Word2Vec(V, d, kind).double()
    with ng.no_grad():
        m.in_embed.weight.copy_(ng.tensor(rng.normal(size=(V, d))))
        m.out_embed.weight.copy_(ng.tensor(rng.normal(size=(V, d))))
    tv = torch.tensor(m.in_embed.weight.detach().numpy(), requires_grad=True)
    tu = torch.tensor(m.out_embed.weight.detach().numpy(), requires_grad=True)
    return m, tv, tu


def inputs(rng, kind, B=5, V=11, C=4):
    if kind == "skipgram":
        return rng.integers(0, V, B), None
    mask = rng.random((B, C)) < 0.7
    mask[:, 0] = True
    return rng.integers(0, V, (B, C)), mask


def torch_hidden(tv, x, mask):
    if mask is None:
        return tv[torch.from_numpy(x)]
    m = torch.from_numpy(mask).double()
    return (tv[torch.from_numpy(x)] * m[..., None]).sum(1) / m.sum(1, keepdim=True)


@pytest.mark.parametrize("kind", ["skipgram", "cbow"])
@pytest.mark.parametrize("loss", ["negative", "softmax"])
def test_word2vec_forward_and_gradients_match_torch(rng, kind, loss):
    m, tv, tu = models(rng, kind)
    x, mask = inputs(rng, kind)
    y = rng.integers(0, 11, len(x))
    negs = rng.integers(0, 11, (len(x), 3)) if loss == "negative" else None
    out = m(ng.tensor(x), ng.tensor(y), None if negs is None else ng.tensor(negs),
            None if mask is None else ng.tensor(mask))
    h = torch_hidden(tv, x, mask)
    ty = torch.from_numpy(y)
    if loss == "negative":
        ref = torch_ns_loss(h, tu[ty], tu[torch.from_numpy(negs)])
    else:   # the full softmax: cross-entropy of the scores u_wᵀh over the whole vocabulary
        ref = torch.nn.functional.cross_entropy(h @ tu.T, ty)
    close(out, ref)
    out.backward()
    ref.backward()
    close(m.in_embed.weight.grad, tv.grad)
    close(m.out_embed.weight.grad, tu.grad)


def test_cbow_without_mask_is_the_plain_mean_and_init_follows_mikolov(rng):
    m, tv, _ = models(rng, "cbow")
    x = rng.integers(0, 11, (3, 4))
    close(m.hidden(ng.tensor(x)), tv[torch.from_numpy(x)].mean(1))
    fresh = Word2Vec(50, 8)
    assert np.abs(fresh.in_embed.weight.detach().numpy()).max() <= 0.5 / 8
    assert not fresh.out_embed.weight.detach().numpy().any()
    assert fresh.embeddings is fresh.in_embed.weight


def test_word2vec_errors():
    with pytest.raises(ValueError, match="'skipgram' or 'cbow'"):
        Word2Vec(5, 2, "glove")
    with pytest.raises(ValueError, match=r"skipgram\): expected centre ids of shape \(B,\)"):
        Word2Vec(5, 2)(ng.zeros(2, 3, dtype=ng.int64), ng.zeros(2, dtype=ng.int64))
    with pytest.raises(ValueError, match=r"cbow\): mask shape \(2, 2\) differs"):
        Word2Vec(5, 2, "cbow").hidden(ng.zeros(2, 3, dtype=ng.int64), ng.ones(2, 2))


# ---------------------------------------------------------------- data helpers

def test_skipgram_pairs_fixed_window_is_every_pair_within_reach(rng):
    ids = rng.integers(0, 100, 30)
    c, o = skipgram_pairs(ids, 3, rng, dynamic=False)
    want = sorted((ids[i], ids[j]) for i in range(30) for j in range(30) if 0 < abs(i - j) <= 3)
    assert sorted(zip(c.tolist(), o.tolist())) == [(int(a), int(b)) for a, b in want]


def test_dynamic_window_weights_distance_d_by_w_minus_d_plus_1_over_w():
    rng = np.random.default_rng(1)
    n, w = 20000, 4
    c, o = skipgram_pairs(np.arange(n), w, rng)
    dist = np.abs(c - o)
    freq = np.bincount(dist, minlength=w + 1)[1:] / (2 * n)
    np.testing.assert_allclose(freq, [(w - d + 1) / w for d in range(1, w + 1)], atol=0.01)


def test_cbow_windows_mask_and_targets(rng):
    ids = np.arange(10, 16)
    ctx, mask, centres = cbow_windows(ids, 2, rng, dynamic=False)
    assert ctx.shape == mask.shape == (6, 4) and centres.tolist() == ids.tolist()
    assert ctx[0].tolist() == [0, 0, 11, 12] and mask[0].tolist() == [False, False, True, True]
    assert ctx[3].tolist() == [11, 12, 14, 15] and mask[3].all()
    ctx, mask, _ = cbow_windows(np.arange(50), 3, rng)
    assert (np.where(mask, ctx, -1) != -1).any(1).all() and not ctx[~mask].any()


def test_subsampling_noise_and_sampler():
    counts = np.array([1000.0, 100.0, 10.0, 0.0])
    keep = subsample_keep_prob(counts, t=1e-2)
    f = counts[:3] / counts.sum()
    np.testing.assert_allclose(keep[:3], np.minimum(1, np.sqrt(1e-2 / f)))
    assert keep[3] == 1.0 and keep[0] < keep[1] < 1
    p = unigram_noise(counts)
    np.testing.assert_allclose(p, counts ** 0.75 / (counts ** 0.75).sum())
    draws = NoiseSampler(p, np.random.default_rng(0))((200, 100))
    assert draws.dtype == np.int64 and draws.shape == (200, 100)
    np.testing.assert_allclose(np.bincount(draws.ravel(), minlength=4) / draws.size, p,
                               atol=0.01)
    with pytest.raises(ValueError, match="unigram_noise"):
        unigram_noise([0, 0])


# ---------------------------------------------------------------- training on a planted structure

def planted_corpus(rng, n_sentences=600):
    """Two topics of 6 words each: a sentence uses words of one topic only."""
    topics = [np.arange(0, 6), np.arange(6, 12)]
    return np.concatenate([rng.choice(topics[rng.integers(2)], 8) for _ in range(n_sentences)])


@pytest.mark.parametrize("kind, loss", [("skipgram", "negative"), ("cbow", "negative"),
                                        ("skipgram", "softmax"), ("cbow", "softmax")])
def test_training_puts_related_words_closer(kind, loss):
    rng = np.random.default_rng(0)
    ng.manual_seed(0)
    stream = planted_corpus(rng)
    model = Word2Vec(12, 8, kind)
    opt = ng.optim.Adam(model.parameters(), lr=0.05)
    noise = NoiseSampler(unigram_noise(np.bincount(stream)), rng)
    for _ in range(3):
        if kind == "skipgram":
            arrays = skipgram_pairs(stream, 2, rng)
        else:
            ctx, mask, centres = cbow_windows(stream, 2, rng)
            arrays = (ctx, centres, mask)
        order = rng.permutation(len(arrays[0]))
        for start in range(0, len(order), 256):
            b = [a[order[start:start + 256]] for a in arrays]
            negs = ng.tensor(noise((len(b[1]), 4))) if loss == "negative" else None
            out = model(ng.tensor(b[0]), ng.tensor(b[1]), negs,
                        ng.tensor(b[2]) if kind == "cbow" else None)
            opt.zero_grad()
            out.backward()
            opt.step()
    e = F.normalize(model.embeddings.detach(), dim=1).numpy()
    cos = e @ e.T
    same = np.equal.outer(np.arange(12) < 6, np.arange(12) < 6) & ~np.eye(12, dtype=bool)
    within, across = cos[same].mean(), cos[~np.equal.outer(np.arange(12) < 6,
                                                            np.arange(12) < 6)].mean()
    assert within > across + 0.5, (within, across)
    _, nn_ids = nearest_neighbours(model.embeddings, model.embeddings[0], 3, exclude=[0])
    assert all(i < 6 for i in nn_ids.tolist())


# ---------------------------------------------------------------- queries

def test_nearest_neighbours_match_a_brute_force_cosine(rng):
    E = rng.normal(size=(30, 5))
    q = rng.normal(size=(4, 5))
    values, ids = nearest_neighbours(ng.tensor(E), ng.tensor(q), k=3)
    cos = (q / np.linalg.norm(q, axis=1, keepdims=True)) @ \
        (E / np.linalg.norm(E, axis=1, keepdims=True)).T
    want = np.argsort(-cos, axis=1)[:, :3]
    assert ids.tolist() == want.tolist()
    np.testing.assert_allclose(values.numpy(), np.take_along_axis(cos, want, 1), rtol=1e-6)
    v1, i1 = nearest_neighbours(ng.tensor(E), ng.tensor(E[7]), k=2, exclude=[7])
    assert i1.shape == (2,) and 7 not in i1.tolist()
    assert i1.tolist() == [j for j in np.argsort(-cos_row(E, 7)) if j != 7][:2]
    _, per = nearest_neighbours(ng.tensor(E), ng.tensor(E[[1, 2]]), k=1, exclude=[[1], [2]])
    assert per[0, 0].item() != 1 and per[1, 0].item() != 2


def cos_row(E, i):
    u = E / np.linalg.norm(E, axis=1, keepdims=True)
    return u @ u[i]


def test_analogy_finds_the_planted_answer():
    # king = royal + male, queen = royal + female, man = male, woman = female, plus distractors
    rng = np.random.default_rng(3)
    royal, male, female = np.eye(6)[0] * 2, np.eye(6)[1] * 2, np.eye(6)[2] * 2
    words = np.stack([royal + male, royal + female, male, female, *rng.normal(size=(6, 6))])
    king, queen, man, woman = 0, 1, 2, 3
    _, ids = analogy(ng.tensor(words), king, man, woman, k=2)
    assert ids.shape == (1, 2) and ids[0, 0].item() == queen
    assert not {king, man, woman} & set(ids[0].tolist())
    _, ids = analogy(ng.tensor(words), [king, queen], [man, woman], [woman, man])
    assert ids[:, 0].tolist() == [queen, king]
