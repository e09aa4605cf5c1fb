"""Seq2seq with attention: beam search on hand-built step functions (greedy equivalence, a better
sequence than greedy, length normalisation, exhaustive search), the model's shapes, masks,
teacher-forcing training and decoding, and the generated transduction data."""
import itertools

import numpy as np
import pytest

import nablagrad as ng
from nablagrad.data import DataLoader
from nablagrad.data.datasets import Seq2SeqVocab, transduction_pairs, transduction_splits
from nablagrad.models.sequence.seq2seq import (AttentionDecoder, Seq2Seq, beam_search,
                                               length_penalty)

PAD, SOS, EOS, A, B, C = 0, 1, 2, 3, 4, 5
TINY = 1e-9


def markov_step(table):
    """A step function whose next-token distribution depends only on the previous token:
    log P(y_t | y_{t-1}) = log table[y_{t-1}]; the state carries the step count."""
    table = np.asarray(table, dtype=np.float64) + TINY
    logp = np.log(table / table.sum(1, keepdims=True))

    def step(y, state):
        return ng.tensor(logp[y.numpy()]), (state[0] + 1,), None
    return step, logp


def run(step, batch, beam, max_len, **kw):
    state = (ng.zeros(batch * beam, 1),)
    return beam_search(step, state, batch, beam, SOS, EOS, max_len, **kw)


def greedy_markov(logp, max_len):
    seq, y = [], SOS
    for _ in range(max_len):
        y = int(np.argmax(logp[y]))
        seq.append(y)
        if y == EOS:
            break
    return seq


def seq_logp(logp, seq):
    return sum(logp[a, b] for a, b in zip([SOS] + seq[:-1], seq))


def _row(**probs):
    r = np.zeros(6)
    for k, v in probs.items():
        r[{"eos": EOS, "A": A, "B": B, "C": C}[k]] = v
    return r


def test_beam_one_is_greedy_and_beam_finds_a_better_sequence():
    # greedy takes A (0.5) and then wanders with p = 0.34 per step; B then <eos> is better
    table = np.zeros((6, 6))
    table[SOS] = _row(A=0.5, B=0.4, C=0.1)
    table[A] = _row(A=0.34, B=0.33, C=0.33)
    table[B] = _row(eos=0.9, C=0.1)
    table[C] = _row(eos=1.0)
    step, logp = markov_step(table)
    greedy = greedy_markov(logp, 6)
    assert greedy == [A] * 6
    one = run(step, 1, 1, 6)
    assert one.tokens[0] == greedy
    np.testing.assert_allclose(one.log_probs[0], seq_logp(logp, greedy), rtol=1e-12)
    two = run(step, 1, 2, 6, alpha=0.0)
    assert two.tokens[0] == [B, EOS]
    assert two.log_probs[0] > seq_logp(logp, greedy)
    np.testing.assert_allclose(two.log_probs[0], np.log(0.4) + np.log(0.9), rtol=1e-6)


def test_beam_does_not_stop_on_k_poor_finished_hypotheses():
    # every step offers a poor <eos> within the top K; the likely sequence ends only at step 5
    def step(y, state):
        t = int(state[0].numpy()[0, 0])
        row = _row(A=0.9, eos=0.05, B=0.05) if t < 4 else _row(eos=0.99, A=0.01)
        logp = np.log((row + TINY) / (row + TINY).sum())
        return ng.tensor(np.tile(logp, (len(y), 1))), (state[0] + 1,), None

    for K in (2, 3):
        got = run(step, 1, K, 8, alpha=0.0)
        assert got.tokens[0] == [A, A, A, A, EOS]
        np.testing.assert_allclose(got.log_probs[0], 4 * np.log(0.9) + np.log(0.99), rtol=1e-6)


def test_length_normalisation_prefers_the_longer_hypothesis():
    table = np.zeros((6, 6))
    table[SOS] = _row(eos=0.5, A=0.5)
    table[A] = _row(eos=0.95, B=0.05)
    step, logp = markov_step(table)
    short, long = seq_logp(logp, [EOS]), seq_logp(logp, [A, EOS])
    assert short > long                                         # raw: the short one wins
    raw = run(step, 1, 2, 5, alpha=0.0)
    assert raw.tokens[0] == [EOS]
    for penalty in ("plain", "gnmt"):
        normed = run(step, 1, 2, 5, alpha=1.0, penalty=penalty)
        assert normed.tokens[0] == [A, EOS]
        np.testing.assert_allclose(normed.scores[0], long / length_penalty(2, 1.0, penalty))
        np.testing.assert_allclose(normed.log_probs[0], long)
    assert length_penalty(3, 1.0, "plain") == 3.0            # the notes' S(e)/m
    assert length_penalty(3, 0.6, "gnmt") == pytest.approx((8 / 6) ** 0.6)
    assert length_penalty(7, 0.0, "gnmt") == 1.0
    with pytest.raises(ValueError, match="penalty"):
        length_penalty(3, 1.0, "other")


def test_wide_beam_equals_exhaustive_search_in_a_batch():
    rng = np.random.default_rng(0)
    max_len, V = 3, 6
    tables = rng.dirichlet(np.ones(V) * 0.7, size=(2, V))       # two sources, different chains

    def step(y, state):
        src = np.repeat(np.arange(2), len(y) // 2)              # rows laid out b·K + k
        t = tables[src, y.numpy()] + TINY
        return ng.tensor(np.log(t / t.sum(1, keepdims=True))), (state[0] + 1,), None

    K = V ** max_len                                            # room for every hypothesis
    got = run(step, 2, K, max_len, alpha=0.0)
    for b in range(2):
        logp = np.log((tables[b] + TINY) / (tables[b] + TINY).sum(1, keepdims=True))
        best, best_seq = -np.inf, None
        for m in range(1, max_len + 1):
            for seq in itertools.product(range(V), repeat=m):
                seq = list(seq)
                if EOS in seq[:-1] or (m < max_len and seq[-1] != EOS):
                    continue
                s = seq_logp(logp, seq)
                if s > best:
                    best, best_seq = s, seq
        assert got.tokens[b] == best_seq
        np.testing.assert_allclose(got.log_probs[b], best, rtol=1e-9)


def test_beam_search_rejects_bad_sizes():
    step, _ = markov_step(np.ones((6, 6)))
    with pytest.raises(ValueError, match="beam_size"):
        run(step, 1, 0, 3)


# ----------------------------------------------------------------------------- data
def test_transduction_data_is_seeded_correct_and_held_out():
    vocab, train, val, test = transduction_splits("dates", 300, 50, 50, seed=1)
    again = transduction_splits("dates", 300, 50, 50, seed=1)[1]
    assert train.pairs == again.pairs
    assert transduction_pairs("dates", 20, seed=2) != transduction_pairs("dates", 20, seed=3)
    g1, g2 = ng.Generator().manual_seed(5), ng.Generator().manual_seed(5)
    assert transduction_pairs("sort", 30, generator=g1) == transduction_pairs("sort", 30,
                                                                             generator=g2)
    targets = [set(t for _, t in d.pairs) for d in (train, val, test)]
    assert not (targets[0] & targets[2]) and not (targets[0] & targets[1])   # whole dates held out
    import datetime
    for src, tgt in train.pairs[:100]:
        datetime.date.fromisoformat(tgt)
        y, m, d = tgt.split("-")
        assert str(int(y)) in src and str(int(d)) in src
    for task, fn in (("reverse", lambda s: s[::-1]), ("sort", lambda s: "".join(sorted(s)))):
        _, tr, _, te = transduction_splits(task, 200, 20, 20, seed=0, min_len=3, max_len=8)
        assert all(t == fn(s) and 3 <= len(s) <= 8 for s, t in tr.pairs)
        assert not {s for s, _ in tr.pairs} & {s for s, _ in te.pairs}
    with pytest.raises(ValueError, match="unknown task"):
        transduction_pairs("translate", 5, seed=0)


def test_vocab_and_batches():
    vocab, train, _, _ = transduction_splits("reverse", 64, 8, 8, seed=0, min_len=2, max_len=6)
    assert vocab.itos[:3] == ["<pad>", "<sos>", "<eos>"] and len(vocab) == 13
    assert vocab.decode(vocab.encode("0123", eos=True) + [PAD, 5]) == "0123"
    with pytest.raises(KeyError, match="'x'"):
        vocab.encode("12x")
    src, src_len, tgt = next(iter(DataLoader(train, batch_size=16)))
    assert src.shape[0] == 16 and src.shape[1] == int(src_len.max().item())
    for i in range(16):
        s, t = train.pairs[i]
        assert vocab.decode(src[i, :int(src_len[i].item())]) == s
        assert vocab.decode(tgt[i]) == t and tgt[i].tolist().count(Seq2SeqVocab.EOS) == 1


# ----------------------------------------------------------------------------- the model
VARIANTS = [("bahdanau", "gru", "general"), ("bahdanau", "lstm", "general"),
            ("luong", "gru", "general"), ("luong", "lstm", "general"), ("luong", "gru", "dot")]


def make_model(attention, rnn, score="general", vocab=13, seed=0):
    ng.manual_seed(seed)
    return Seq2Seq(vocab, vocab, embed_dim=6, hidden_size=5, attention=attention, rnn=rnn,
                   score=score, attn_dim=7).double()


def batch(n=5, seed=0):
    _, train, _, _ = transduction_splits("reverse", n, 1, 1, seed=seed, min_len=2, max_len=7)
    src, src_len, tgt = train.get_batch(np.arange(n))
    tgt_in = ng.cat([ng.full((n, 1), SOS, dtype=ng.int64), tgt[:, :-1]], dim=1)
    return src, src_len, tgt, tgt_in


def logits_of(model, src, src_len, seqs):
    """Teacher-forced log-probabilities of given output sequences (lists of ids)."""
    T = max(len(s) for s in seqs)
    tgt = np.zeros((len(seqs), T), dtype=np.int64)
    for i, s in enumerate(seqs):
        tgt[i, :len(s)] = s
    tgt_in = np.concatenate([np.full((len(seqs), 1), SOS), tgt[:, :-1]], axis=1)
    logits, weights = model(src, src_len, ng.tensor(tgt_in))
    logp = ng.nn.functional.log_softmax(logits, dim=-1)
    return logp.detach().numpy(), weights.detach().numpy()


@pytest.mark.parametrize("attention,rnn,score", VARIANTS)
def test_shapes_and_attention_masks(attention, rnn, score):
    model = make_model(attention, rnn, score)
    src, src_len, tgt, tgt_in = batch()
    logits, weights = model(src, src_len, tgt_in)
    B, S = src.shape
    assert logits.shape == (B, tgt.shape[1], 13) and weights.shape == (B, tgt.shape[1], S)
    w = weights.detach().numpy()
    np.testing.assert_allclose(w.sum(-1), 1.0, rtol=1e-12)
    for i, n in enumerate(src_len.tolist()):
        assert np.all(w[i, :, n:] == 0)          # padding is never attended
    logits.sum().backward()
    assert all(p.grad is not None for p in model.parameters())


@pytest.mark.parametrize("attention,rnn", [("bahdanau", "gru"), ("luong", "lstm")])
def test_a_sequence_alone_equals_it_in_a_padded_batch(attention, rnn):
    model = make_model(attention, rnn)
    src, src_len, tgt, tgt_in = batch()
    logits, _ = model(src, src_len, tgt_in)
    i = int(np.argmin(src_len.numpy()))              # the shortest: most padding in the batch
    n = int(src_len[i].item())
    alone, _ = model(src[i:i + 1, :n], src_len[i:i + 1], tgt_in[i:i + 1])
    np.testing.assert_allclose(alone.detach().numpy()[0], logits.detach().numpy()[i],
                               rtol=1e-10, atol=1e-12)


def test_teacher_forcing_training_reduces_the_loss():
    model = make_model("bahdanau", "gru").float()
    src, src_len, tgt, tgt_in = batch(n=32, seed=1)
    opt = ng.optim.Adam(model.parameters(), lr=0.02)
    losses = []
    for _ in range(25):
        logits, _ = model(src, src_len, tgt_in)
        loss = ng.nn.functional.cross_entropy(logits.reshape(-1, 13), tgt.reshape(-1),
                                              ignore_index=PAD)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.6 * losses[0], losses


@pytest.mark.parametrize("attention,rnn", [("bahdanau", "lstm"), ("luong", "gru")])
def test_decoding_greedy_beam_and_own_predictions_agree(attention, rnn):
    model = make_model(attention, rnn, seed=3)
    src, src_len, tgt, tgt_in = batch(n=6, seed=2)
    tokens, weights = model.greedy(src, src_len, max_len=9)
    one = model.beam_search(src, src_len, beam_size=1, max_len=9, alpha=0.0)
    greedy = [row[:row.index(EOS) + 1] if EOS in row else row for row in tokens.tolist()]
    assert one.tokens == greedy
    # teacher_forcing=0 feeds the model its own argmax: the same tokens as greedy decoding
    logits, _ = model(src, src_len, ng.full((6, 9), SOS, dtype=ng.int64), teacher_forcing=0.0)
    own = logits.argmax(-1).numpy()
    for i, row in enumerate(greedy):
        assert own[i, :len(row)].tolist() == row
    # beam bookkeeping: the reported S and attention are those of the returned sequence
    four = model.beam_search(src, src_len, beam_size=4, max_len=9, alpha=0.0)
    logp, w = logits_of(model, src, src_len, four.tokens)
    for i, seq in enumerate(four.tokens):
        s = sum(logp[i, t, tok] for t, tok in enumerate(seq))
        np.testing.assert_allclose(four.log_probs[i], s, rtol=1e-9)
        np.testing.assert_allclose(four.attention[i], w[i, :len(seq)], rtol=1e-9, atol=1e-12)
        assert four.log_probs[i] >= one.log_probs[i] - 1e-9   # never worse than greedy here


def test_bad_configurations_raise():
    with pytest.raises(ValueError, match="attention"):
        Seq2Seq(5, 5, attention="other")
    with pytest.raises(ValueError, match="rnn"):
        Seq2Seq(5, 5, rnn="rnn")
    with pytest.raises(ValueError, match="dot score"):
        AttentionDecoder(5, 4, 8, 16, attention="luong", score="dot")
    assert Seq2Seq(5, 5, hidden_size=8, attention="luong", score="dot").decoder.cell.hidden_size \
        == 16
