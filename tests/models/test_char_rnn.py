"""CharRNN: shapes, a torch twin (same state_dict, float64 logits and gradients), carrying the
state across chunks equals one long sequence, truncated BPTT learns a tiny text, sampling."""
import numpy as np
import pytest
import torch
import torch.nn as tnn

import nablagrad as ng
from nablagrad.data.datasets import CharVocab
from nablagrad.models.sequence import CharRNN, generate_chars
from nablagrad.train.tbptt import detach_state, tbptt_chunks


def test_shapes_and_state():
    ng.manual_seed(0)
    model = CharRNN(20, hidden_size=12, num_layers=2, embedding_dim=5)
    logits, (h, c) = model(ng.tensor(np.zeros((3, 7), dtype=np.int64)))
    assert logits.shape == (3, 7, 20) and h.shape == c.shape == (2, 3, 12)
    assert model.embedding.weight.shape == (20, 5)
    assert CharRNN(9, hidden_size=4).embedding.weight.shape == (9, 4)  # default: hidden size
    with pytest.raises(ValueError, match=r"CharRNN: expected character ids of shape \(N, T\)"):
        model(ng.zeros(3, dtype=ng.int64))


class TwinCharRNN(tnn.Module):
    def __init__(self):
        super().__init__()
        self.embedding = tnn.Embedding(11, 4)
        self.lstm = tnn.LSTM(4, 6, 2, batch_first=True)
        self.dropout = tnn.Dropout(0.0)
        self.head = tnn.Linear(6, 11)

    def forward(self, idx, state=None):
        out, state = self.lstm(self.embedding(idx), state)
        return self.head(out), state


def test_matches_a_torch_twin(rng):
    ng.manual_seed(0)
    model = CharRNN(11, hidden_size=6, num_layers=2, embedding_dim=4).double()
    twin = TwinCharRNN().double()
    assert list(model.state_dict()) == list(twin.state_dict())
    twin.load_state_dict({k: torch.from_numpy(v.numpy().copy())
                          for k, v in model.state_dict().items()})
    idx = rng.integers(0, 11, size=(3, 8))
    h0 = rng.standard_normal((2, 3, 6))
    c0 = rng.standard_normal((2, 3, 6))
    logits, (h, c) = model(ng.tensor(idx), (ng.tensor(h0), ng.tensor(c0)))
    ref, (rh, rc) = twin(torch.from_numpy(idx), (torch.from_numpy(h0), torch.from_numpy(c0)))
    for a, b in [(logits, ref), (h, rh), (c, rc)]:
        np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), rtol=1e-10,
                                   atol=1e-12)
    y = rng.integers(0, 11, size=(3 * 8,))
    ng.nn.functional.cross_entropy(logits.reshape(-1, 11), ng.tensor(y)).backward()
    tnn.functional.cross_entropy(ref.reshape(-1, 11), torch.from_numpy(y)).backward()
    for (name, p), q in zip(model.named_parameters(), twin.parameters()):
        np.testing.assert_allclose(p.grad.numpy(), q.grad.numpy(), rtol=1e-9, atol=1e-12,
                                   err_msg=name)


def test_carried_state_equals_one_long_sequence(rng):
    ng.manual_seed(1)
    model = CharRNN(13, hidden_size=7, num_layers=2, embedding_dim=3).double()
    idx = ng.tensor(rng.integers(0, 13, size=(2, 23)))
    with ng.no_grad():
        whole, (h_whole, c_whole) = model(idx)
        parts, state = [], None
        for chunk in tbptt_chunks(idx, 5, dim=1):          # 5+5+5+5+3 steps
            logits, state = model(chunk, detach_state(state))
            parts.append(logits)
    np.testing.assert_allclose(ng.cat(parts, dim=1).numpy(), whole.numpy(), rtol=0, atol=1e-12)
    np.testing.assert_allclose(state[0].numpy(), h_whole.numpy(), rtol=0, atol=1e-12)
    np.testing.assert_allclose(state[1].numpy(), c_whole.numpy(), rtol=0, atol=1e-12)


def test_truncated_bptt_learns_a_tiny_text():
    ng.manual_seed(0)
    text = "to be or not to be, that is the question. " * 12
    vocab = CharVocab(text)
    ids = vocab.encode(text).numpy()
    n = (len(ids) - 1) // 4
    x = ng.tensor(ids[:4 * n].reshape(4, n))
    y = ng.tensor(ids[1:4 * n + 1].reshape(4, n))
    model = CharRNN(len(vocab), hidden_size=32, num_layers=1, embedding_dim=8)
    opt = ng.optim.Adam(model.parameters(), lr=0.01)
    losses = []
    for _ in range(6):
        state, total = None, 0.0
        for xs, ys in tbptt_chunks((x, y), 16, dim=1):
            logits, state = model(xs, detach_state(state))
            loss = ng.nn.functional.cross_entropy(logits.reshape(-1, len(vocab)),
                                                  ys.reshape(-1))
            opt.zero_grad()
            loss.backward()
            ng.nn.utils.clip_grad_norm_(model.parameters(), 5.0)
            opt.step()
            total += loss.item()
        losses.append(total)
    assert losses[-1] < 0.4 * losses[0]
    # the learned text continues as it should when sampled almost greedily
    prompt = vocab.encode("to be or not ").tolist()
    out = vocab.decode(generate_chars(model, prompt, 5, temperature=0.05,
                                      generator=ng.Generator().manual_seed(0)))
    assert out == "to be"


def test_sampling_is_seeded_and_leaves_the_mode_alone():
    ng.manual_seed(0)
    model = CharRNN(7, hidden_size=5, num_layers=1)
    model.train()
    draw = lambda seed, **kw: generate_chars(model, [1, 2], 20,  # noqa: E731
                                             generator=ng.Generator().manual_seed(seed), **kw)
    assert draw(3) == draw(3) and draw(3) != draw(4)
    assert len(draw(0, top_k=2, top_p=0.9)) == 20 and model.training
    greedy = generate_chars(model, [1, 2], 5, temperature=0)
    assert all(0 <= t < 7 for t in greedy)
    with pytest.raises(ValueError, match="at least one character"):
        generate_chars(model, [], 3)
