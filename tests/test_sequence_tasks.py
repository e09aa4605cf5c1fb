"""The generated toy sequence tasks: seeded, labels correct, batches cut to their longest row."""
import numpy as np
import pytest

import nablagrad as ng
from nablagrad.data import DataLoader
from nablagrad.data.datasets import count_zeros, sentiment, sentiment_label
from nablagrad.data.datasets.sequence_tasks import (SENTIMENT_NEGATIONS, SENTIMENT_NEGATIVE,
                                                    SENTIMENT_POSITIVE)


@pytest.mark.parametrize("make", [count_zeros, sentiment])
def test_generators_are_seeded(make):
    a, b, c = make(300, seed=3), make(300, seed=3), make(300, seed=4)
    assert np.array_equal(a.tokens, b.tokens) and np.array_equal(a.targets, b.targets)
    assert not np.array_equal(a.tokens, c.tokens)
    g1, g2 = ng.Generator().manual_seed(7), ng.Generator().manual_seed(7)
    assert np.array_equal(make(50, generator=g1).tokens, make(50, generator=g2).tokens)


def test_count_zeros_labels_lengths_and_padding():
    d = count_zeros(500, min_len=3, max_len=12, num_symbols=4, seed=1)
    assert d.num_classes == 13 and d.pad_id == 4 and d.vocab_size == 5
    assert d.lengths.min() >= 3 and d.lengths.max() <= 12
    for i in range(len(d)):
        row = d.tokens[i]
        n = d.lengths[i]
        assert np.all(row[n:] == d.pad_id) and np.all(row[:n] < 4)
        assert d.targets[i] == sum(1 for x in row[:n] if x == 0)   # the notes' for loop
    assert len(np.unique(d.targets)) > 5     # binary-ish alphabet: counts spread out


def _naive_label(words):
    score = 0
    for i, w in enumerate(words):
        s = 1 if w in SENTIMENT_POSITIVE else -1 if w in SENTIMENT_NEGATIVE else 0
        if i > 0 and words[i - 1] in SENTIMENT_NEGATIONS:
            s = -s
        score += s
    assert score != 0
    return int(score > 0)


def test_sentiment_labels_follow_the_negation_rule():
    d = sentiment(1000, seed=2)
    assert d.num_classes == 2 and d.vocab[d.pad_id] == "<pad>"
    assert 0.4 < d.targets.mean() < 0.6
    negated = 0
    for i in range(len(d)):
        words = d.decode(i).split()
        assert len(words) == d.lengths[i] and "<pad>" not in words
        assert d.targets[i] == _naive_label(words)
        negated += any(w in SENTIMENT_NEGATIONS for w in words)
    assert negated > 300
    assert sentiment_label("the film was not good".split()) == 0
    assert sentiment_label("not bad at all".split()) == 1
    assert sentiment_label("good good not great".split()) == 1


def test_batches_are_cut_to_their_longest_sequence():
    d = count_zeros(64, min_len=2, max_len=30, seed=0)
    for tokens, lengths, targets in DataLoader(d, batch_size=16):
        assert tokens.dtype == ng.int64 and tokens.shape == (16, int(lengths.max()))
        assert targets.shape == (16,)
    item = d[5]
    assert item[0].shape == (30,) and int(item[1]) == d.lengths[5]


def test_bad_arguments_say_what_is_wrong():
    with pytest.raises(ValueError, match="count_zeros: need 1 <= min_len <= max_len"):
        count_zeros(10, min_len=5, max_len=3)
    with pytest.raises(ValueError, match="sentiment: n must be >= 1"):
        sentiment(0)
