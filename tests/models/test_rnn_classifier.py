"""RNNClassifier: a padded variable-length batch gives each sequence's own logits, the model
matches a torch twin (same state_dict, float64, outputs and gradients), image rows as time
steps, errors, and it learns to count zeros on a tiny generated set."""
import numpy as np
import pytest
import torch
import torch.nn as tnn

import nablagrad as ng
from nablagrad.data.datasets import count_zeros
from nablagrad.models.sequence import RNNClassifier
from nablagrad.nn.utils.rnn import pack_padded_sequence


def _batch(rng, n=5, vocab=10, max_len=9):
    lengths = np.array([max_len, 3, 6, 1, 4][:n])
    tokens = rng.integers(0, vocab, size=(n, max_len))
    tokens[np.arange(max_len)[None, :] >= lengths[:, None]] = vocab   # padding id
    return ng.tensor(tokens), ng.tensor(lengths)


@pytest.mark.parametrize("rnn", ["gru", "lstm", "rnn"])
@pytest.mark.parametrize("bidirectional,pooling", [(False, "last"), (True, "last"),
                                                   (True, "mean")])
def test_padded_batch_equals_each_sequence_alone(rng, rnn, bidirectional, pooling):
    ng.manual_seed(0)
    model = RNNClassifier(6, 4, hidden_size=5, num_layers=2, rnn=rnn, vocab_size=11,
                          padding_idx=10, bidirectional=bidirectional, pooling=pooling).double()
    tokens, lengths = _batch(rng)
    with ng.no_grad():
        batched = model(tokens, lengths)
        alone = [model(tokens[i:i + 1, :int(lengths[i])]) for i in range(len(lengths))]
        packed = pack_padded_sequence(tokens, lengths, batch_first=True, enforce_sorted=False)
        from_packed = model(packed)
    np.testing.assert_allclose(batched.numpy(), ng.cat(alone).numpy(), rtol=0, atol=1e-12)
    np.testing.assert_allclose(from_packed.numpy(), batched.numpy(), rtol=0, atol=1e-12)


class TwinClassifier(tnn.Module):
    """The same network in torch: embedding, packed bidirectional GRU, mean pooling, linear."""

    def __init__(self):
        super().__init__()
        self.embedding = tnn.Embedding(11, 6, padding_idx=10)
        self.rnn = tnn.GRU(6, 5, 2, batch_first=True, bidirectional=True)
        self.dropout = tnn.Dropout(0.0)
        self.head = tnn.Linear(10, 4)

    def forward(self, tokens, lengths):
        packed = tnn.utils.rnn.pack_padded_sequence(self.embedding(tokens), lengths,
                                                    batch_first=True, enforce_sorted=False)
        out, _ = self.rnn(packed)
        padded, lens = tnn.utils.rnn.pad_packed_sequence(out, batch_first=True)
        return self.head(padded.sum(1) / lens.unsqueeze(1).to(padded.dtype))


def test_matches_a_torch_twin_in_outputs_and_gradients(rng):
    ng.manual_seed(1)
    model = RNNClassifier(6, 4, hidden_size=5, num_layers=2, vocab_size=11, padding_idx=10,
                          bidirectional=True, pooling="mean").double()
    twin = TwinClassifier().double()
    assert list(model.state_dict()) == list(twin.state_dict())
    twin.load_state_dict({k: torch.from_numpy(v.numpy().copy())
                          for k, v in model.state_dict().items()})
    tokens, lengths = _batch(rng)
    targets = rng.integers(0, 4, size=len(lengths))
    out = model(tokens, lengths)
    ref = twin(torch.from_numpy(tokens.numpy()), torch.from_numpy(lengths.numpy()))
    np.testing.assert_allclose(out.detach().numpy(), ref.detach().numpy(), rtol=1e-10,
                               atol=1e-12)
    ng.nn.functional.cross_entropy(out, ng.tensor(targets)).backward()
    tnn.functional.cross_entropy(ref, torch.from_numpy(targets)).backward()
    for (name, p), q in zip(model.named_parameters(), twin.parameters()):
        np.testing.assert_allclose(p.grad.numpy(), q.grad.numpy(), rtol=1e-9, atol=1e-12,
                                   err_msg=name)


def test_images_are_read_row_by_row():
    ng.manual_seed(0)
    model = RNNClassifier(28, 10, hidden_size=8, rnn="lstm")
    images = ng.randn(3, 1, 28, 28)
    out = model(images)
    assert out.shape == (3, 10)
    np.testing.assert_allclose(out.detach().numpy(), model(images[:, 0]).detach().numpy())


def test_bad_arguments_say_what_is_wrong():
    with pytest.raises(ValueError, match="rnn must be one of rnn, gru, lstm"):
        RNNClassifier(4, 2, rnn="transformer")
    with pytest.raises(ValueError, match="pooling must be 'last' or 'mean'"):
        RNNClassifier(4, 2, pooling="max")
    with pytest.raises(ValueError, match=r"expected features \(N, T, F\).*got \(2, 3\)"):
        RNNClassifier(4, 2)(ng.randn(2, 3))


def test_learns_to_count_zeros_on_a_tiny_set():
    ng.manual_seed(0)
    data = count_zeros(256, min_len=1, max_len=6, num_symbols=3, seed=0)
    model = RNNClassifier(8, data.num_classes, hidden_size=16, vocab_size=data.vocab_size)
    opt = ng.optim.Adam(model.parameters(), lr=0.02)
    tokens, lengths, targets = data.get_batch(np.arange(len(data)))
    first = None
    for _ in range(60):
        loss = ng.nn.functional.cross_entropy(model(tokens, lengths), targets)
        opt.zero_grad()
        loss.backward()
        opt.step()
        first = first if first is not None else loss.item()
    accuracy = (model(tokens, lengths).argmax(1) == targets).float().mean().item()
    assert loss.item() < 0.3 * first and accuracy > 0.9
