"""Truncated BPTT helpers: state detaching, chunking, and that gradients stop at a chunk
boundary while the hidden state carries over."""
import numpy as np
import pytest

import nablagrad as ng
from nablagrad import nn
from nablagrad.train.tbptt import detach_state, tbptt_chunks, tbptt_step


def test_detach_state_structures():
    h = ng.randn(2, 3, requires_grad=True) * 2
    c = ng.randn(2, 3, requires_grad=True) * 3
    for state in (h, (h, c), [h, (h, c)]):
        d = detach_state(state)
        assert type(d) is type(state)
        flat = [d] if isinstance(d, ng.Tensor) else [t for s in d for t in
                                                      (s if isinstance(s, tuple) else (s,))]
        assert all(not t.requires_grad and t.grad_fn is None for t in flat)
    assert np.array_equal(detach_state((h, c))[1].numpy(), c.detach().numpy())
    assert detach_state(None) is None
    with pytest.raises(TypeError, match="detach_state"):
        detach_state({"h": h})


@pytest.mark.parametrize("dim", [0, 1])
def test_chunks_cover_the_sequence(dim):
    x = ng.randn(10, 10, 3)
    y = ng.randn(10, 10)
    chunks = list(tbptt_chunks((x, y), 4, dim=dim))
    assert [c[0].shape[dim] for c in chunks] == [4, 4, 2]
    assert np.array_equal(ng.cat([c[0] for c in chunks], dim).numpy(), x.numpy())
    assert np.array_equal(ng.cat([c[1] for c in chunks], dim).numpy(), y.numpy())
    single = list(tbptt_chunks(x, 20))
    assert len(single) == 1 and isinstance(single[0], ng.Tensor)
    with pytest.raises(ValueError, match="differ in length"):
        list(tbptt_chunks((x, ng.randn(9, 10)), 4))
    with pytest.raises(ValueError, match="positive integer"):
        list(tbptt_chunks(x, 0))


def _lstm():
    ng.manual_seed(0)
    return nn.LSTM(3, 5, dtype=ng.float64)


def test_state_carries_over_chunks():
    """Chunked forward with carried (detached) state = forward over the whole sequence."""
    m = _lstm()
    x = ng.randn(9, 2, 3, dtype=ng.float64)
    with ng.no_grad():
        full, (h_full, _) = m(x)
    outs, state = [], None
    for chunk in tbptt_chunks(x, 4):
        out, state = m(chunk, detach_state(state))
        outs.append(out.detach())
    np.testing.assert_allclose(ng.cat(outs).numpy(), full.numpy(), atol=1e-12)
    np.testing.assert_allclose(state[0].detach().numpy(), h_full.numpy(), atol=1e-12)


def test_gradient_stops_at_chunk_boundary():
    m = _lstm()
    x = ng.randn(8, 2, 3, dtype=ng.float64, requires_grad=True)
    first, second = list(tbptt_chunks(x, 4))
    _, state = m(first)
    out, _ = m(second, detach_state(state))
    out.sum().backward()
    g = x.grad.numpy()
    assert np.all(g[:4] == 0) and np.any(g[4:] != 0)  # nothing reaches the first chunk
    grads_truncated = [p.grad.numpy().copy() for p in m.parameters()]

    # the same gradients as running the second chunk alone from a constant initial state
    m.zero_grad()
    const = tuple(ng.tensor(s.detach().numpy()) for s in state)
    m(x.detach()[4:], const)[0].sum().backward()
    for a, p in zip(grads_truncated, m.parameters()):
        np.testing.assert_allclose(a, p.grad.numpy(), atol=1e-12)

    # without detaching, the gradient does reach the first chunk
    x.grad = None
    _, state = m(first)
    m(second, state)[0].sum().backward()
    assert np.any(x.grad.numpy()[:4] != 0)


def test_tbptt_step_updates_per_chunk_and_learns():
    class Model(nn.Module):
        def __init__(self):
            super().__init__()
            self.rnn = nn.GRU(1, 8)
            self.head = nn.Linear(8, 1)

        def forward(self, x, state):
            out, state = self.rnn(x, state)
            return self.head(out), state

    ng.manual_seed(0)
    model = Model()
    opt = ng.optim.Adam(model.parameters(), lr=0.02)
    steps = []
    step = opt.step
    opt.step = lambda: steps.append(1) or step()
    t = np.arange(60, dtype=np.float32)
    wave = np.sin(t / 3)[:, None, None]
    x, y = ng.tensor(wave[:-1]), ng.tensor(wave[1:])  # predict the next value
    losses, state = [], None
    for _ in range(30):
        loss, state = tbptt_step(model, opt, x, y, 10, nn.functional.mse_loss, state=None,
                                 max_norm=1.0)
        losses.append(loss)
    assert len(steps) == 30 * 6  # 59 steps in chunks of 10
    assert not state.requires_grad and state.shape == (1, 1, 8)
    assert losses[-1] < 0.2 * losses[0]
