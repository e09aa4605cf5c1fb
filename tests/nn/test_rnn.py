"""RNN, LSTM, GRU and the cells against PyTorch 2.13 in float64: outputs, final states, input
and parameter gradients, double backward, shapes, errors and default initialisation."""
import math

import numpy as np
import pytest
import torch

import nablagrad as ng
from nablagrad import nn

RNG = np.random.default_rng(0)


def _copy_weights(ours, theirs):
    sd = theirs.state_dict()
    assert list(ours.state_dict().keys()) == list(sd.keys())
    ours.load_state_dict({k: ng.tensor(v.detach().numpy()) for k, v in sd.items()})


def _pair(ng_cls, torch_cls, *args, **kwargs):
    torch.manual_seed(0)
    theirs = torch_cls(*args, **kwargs).double()
    ours = ng_cls(*args, **kwargs, dtype=ng.float64)
    _copy_weights(ours, theirs)
    return ours, theirs


def _leaf(a):
    return ng.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)


def _flat(out):
    """All tensors of a (nested) output, in order."""
    if isinstance(out, (tuple, list)):
        return [t for o in out for t in _flat(o)]
    return [out]


def _close(a, b, atol=1e-10, rtol=1e-7):
    np.testing.assert_allclose(a.detach().numpy() if isinstance(a, ng.Tensor) else a,
                               b.detach().numpy(), atol=atol, rtol=rtol)


def _check_parity(ours, theirs, x, hx=None, double=False):
    """Forward values, then gradients of Σ (random weights · outputs) for the input, the initial
    state and every parameter; with ``double`` also the gradient of ‖∂L/∂x‖²."""
    xo, xt = _leaf(x)
    hxo = hxt = None
    if hx is not None:
        pairs = [_leaf(h) for h in (hx if isinstance(hx, tuple) else (hx,))]
        hxo = tuple(p[0] for p in pairs) if isinstance(hx, tuple) else pairs[0][0]
        hxt = tuple(p[1] for p in pairs) if isinstance(hx, tuple) else pairs[0][1]
    oo, ot = _flat(ours(xo, hxo)), _flat(theirs(xt, hxt))
    assert len(oo) == len(ot)
    for a, b in zip(oo, ot):
        assert tuple(a.shape) == tuple(b.shape)
        _close(a, b)
    ws = [RNG.standard_normal(tuple(b.shape)) for b in ot]
    lo = sum((a * ng.tensor(w)).sum() for a, w in zip(oo, ws))
    lt = sum((b * torch.tensor(w)).sum() for b, w in zip(ot, ws))
    leaves_o = [xo] + list(_flat(hxo) if hxo is not None else []) + list(ours.parameters())
    leaves_t = [xt] + list(_flat(hxt) if hxt is not None else []) + list(theirs.parameters())
    go = ng.autograd.grad(lo, leaves_o, create_graph=double)
    gt = torch.autograd.grad(lt, leaves_t, create_graph=double)
    for a, b in zip(go, gt):
        _close(a, b, atol=1e-9)
    if double:
        so = (go[0] ** 2).sum() + sum((g ** 2).sum() for g in go[1:])
        st = (gt[0] ** 2).sum() + sum((g ** 2).sum() for g in gt[1:])
        ggo = ng.autograd.grad(so, leaves_o)
        ggt = torch.autograd.grad(st, leaves_t)
        for a, b in zip(ggo, ggt):
            _close(a, b, atol=1e-8, rtol=1e-6)


CONFIGS = [
    dict(num_layers=1),
    dict(num_layers=2, bidirectional=True),
    dict(num_layers=2, batch_first=True),
    dict(num_layers=1, bidirectional=True, batch_first=True, bias=False),
]


@pytest.mark.parametrize("cfg", CONFIGS, ids=lambda c: "-".join(f"{k}{v}" for k, v in c.items()))
@pytest.mark.parametrize("kind", ["RNN", "RNN-relu", "LSTM", "GRU"])
@pytest.mark.parametrize("with_hx", [False, True])
def test_parity(kind, cfg, with_hx):
    name, _, nl = kind.partition("-")
    kw = dict(cfg, **({"nonlinearity": nl} if nl else {}))
    ours, theirs = _pair(getattr(nn, name), getattr(torch.nn, name), 3, 4, **kw)
    T, B = 5, 2
    x = RNG.standard_normal((B, T, 3) if cfg.get("batch_first") else (T, B, 3))
    hx = None
    if with_hx:
        L = cfg["num_layers"] * (2 if cfg.get("bidirectional") else 1)
        hx = RNG.standard_normal((L, B, 4))
        if name == "LSTM":
            hx = (hx, RNG.standard_normal((L, B, 4)))
    _check_parity(ours, theirs, x, hx)


@pytest.mark.parametrize("bidirectional", [False, True])
def test_lstm_proj_size(bidirectional):
    ours, theirs = _pair(nn.LSTM, torch.nn.LSTM, 3, 5, num_layers=2, proj_size=2,
                         bidirectional=bidirectional)
    assert ours.weight_hr_l0.shape == (2, 5) and ours.weight_hh_l0.shape == (20, 2)
    L = 4 if bidirectional else 2
    hx = (RNG.standard_normal((L, 3, 2)), RNG.standard_normal((L, 3, 5)))
    _check_parity(ours, theirs, RNG.standard_normal((4, 3, 3)), hx)
    _check_parity(ours, theirs, RNG.standard_normal((4, 3, 3)))


@pytest.mark.parametrize("kind", ["LSTM", "GRU", "RNN"])
def test_double_backward(kind):
    kw = {"proj_size": 2} if kind == "LSTM" else {}
    ours, theirs = _pair(getattr(nn, kind), getattr(torch.nn, kind), 3, 4, num_layers=2,
                         bidirectional=True, **kw)
    _check_parity(ours, theirs, RNG.standard_normal((4, 2, 3)), double=True)


def test_unbatched_input():
    ours, theirs = _pair(nn.LSTM, torch.nn.LSTM, 3, 4, batch_first=True)
    hx = (RNG.standard_normal((1, 4)), RNG.standard_normal((1, 4)))
    _check_parity(ours, theirs, RNG.standard_normal((5, 3)), hx)
    ours, theirs = _pair(nn.GRU, torch.nn.GRU, 3, 4, num_layers=2)
    _check_parity(ours, theirs, RNG.standard_normal((5, 3)))
    out, h = ours(ng.randn(5, 3, dtype=ng.float64))
    assert out.shape == (5, 4) and h.shape == (2, 4)


def test_dropout_between_layers():
    ours, theirs = _pair(nn.GRU, torch.nn.GRU, 3, 4, num_layers=2, dropout=0.5)
    ours.eval()
    theirs.eval()
    _check_parity(ours, theirs, RNG.standard_normal((5, 2, 3)))
    ours.train()
    x = ng.randn(5, 2, 3, dtype=ng.float64)
    ng.manual_seed(1)
    a = ours(x)[0]
    ng.manual_seed(2)
    b = ours(x)[0]
    assert not np.allclose(a.detach().numpy(), b.detach().numpy())  # dropout active in training
    with pytest.warns(UserWarning, match="dropout"):
        nn.LSTM(3, 4, dropout=0.2)


@pytest.mark.parametrize("kind", ["RNNCell", "LSTMCell", "GRUCell"])
@pytest.mark.parametrize("bias", [True, False])
def test_cells(kind, bias):
    ours, theirs = _pair(getattr(nn, kind), getattr(torch.nn, kind), 3, 4, bias=bias)
    x = RNG.standard_normal((2, 3))
    hx = RNG.standard_normal((2, 4))
    if kind == "LSTMCell":
        hx = (hx, RNG.standard_normal((2, 4)))
    _check_parity(ours, theirs, x, hx, double=True)
    _check_parity(ours, theirs, x)
    _check_parity(ours, theirs, RNG.standard_normal(3))  # unbatched


def test_relu_cell_and_unbatched_hx():
    ours, theirs = _pair(nn.RNNCell, torch.nn.RNNCell, 3, 4, nonlinearity="relu")
    _check_parity(ours, theirs, RNG.standard_normal(3), RNG.standard_normal(4))


def test_cell_unrolled_equals_layer():
    """Running an LSTMCell step by step equals nn.LSTM with the same weights."""
    layer = nn.LSTM(3, 4, dtype=ng.float64)
    cell = nn.LSTMCell(3, 4, dtype=ng.float64)
    cell.load_state_dict({k[:-3]: v for k, v in layer.state_dict().items()})
    x = ng.randn(6, 2, 3, dtype=ng.float64)
    with ng.no_grad():
        out, (h, c) = layer(x)
    state = None
    for t in range(6):
        with ng.no_grad():
            state = cell(x[t], state)
        _close(state[0], torch.from_numpy(out[t].numpy()))
    _close(state[1], torch.from_numpy(c[0].numpy()))


def test_state_dict_keys_and_shapes_match_torch():
    for cls, kw in [("RNN", {}), ("GRU", dict(num_layers=2, bidirectional=True)),
                    ("LSTM", dict(num_layers=2, bidirectional=True, proj_size=3)),
                    ("LSTM", dict(bias=False)), ("LSTMCell", {}), ("GRUCell", dict(bias=False))]:
        ours = getattr(nn, cls)(5, 7, **kw)
        theirs = getattr(torch.nn, cls)(5, 7, **kw)
        assert [(k, tuple(v.shape)) for k, v in ours.state_dict().items()] == \
            [(k, tuple(v.shape)) for k, v in theirs.state_dict().items()]
        assert repr(ours) == repr(theirs)


def test_default_init_is_uniform_in_bound():
    m = nn.LSTM(64, 100, num_layers=2)
    bound = 1 / math.sqrt(100)
    w = np.concatenate([p.detach().numpy().ravel() for p in m.parameters()])
    assert np.abs(w).max() <= bound
    assert abs(w.mean()) < 0.02 * bound
    # U(−a, a) has variance a²/3
    assert w.var() == pytest.approx(bound ** 2 / 3, rel=0.02)
    assert m.weight_ih_l0.dtype == ng.float32


def test_gradcheck_tiny_lstm():
    m = nn.LSTM(2, 3, num_layers=2, bidirectional=True, dtype=ng.float64)
    x = ng.randn(3, 2, 2, dtype=ng.float64, requires_grad=True)
    h0 = ng.randn(4, 2, 3, dtype=ng.float64, requires_grad=True)
    c0 = ng.randn(4, 2, 3, dtype=ng.float64, requires_grad=True)

    def f(x, h0, c0):
        out, (h, c) = m(x, (h0, c0))
        return out, h, c
    assert ng.autograd.gradcheck(f, (x, h0, c0))
    small = nn.LSTM(2, 2, dtype=ng.float64)
    xs = ng.randn(2, 1, 2, dtype=ng.float64, requires_grad=True)
    assert ng.autograd.gradgradcheck(lambda x: small(x)[0], (xs,))


def test_errors_name_module_and_shapes():
    lstm = nn.LSTM(3, 4, num_layers=2)
    with pytest.raises(RuntimeError, match=r"LSTM.*input_size. Expected 3, got 5"):
        lstm(ng.randn(2, 1, 5))
    with pytest.raises(ValueError, match=r"LSTM: Expected input to be 2D or 3D, got 4D"):
        lstm(ng.randn(2, 1, 3, 1))
    with pytest.raises(RuntimeError,
                       match=r"Expected hidden\[0\] size \[2, 1, 4\], got \[1, 1, 4\]"):
        lstm(ng.randn(2, 1, 3), (ng.zeros(1, 1, 4), ng.zeros(2, 1, 4)))
    with pytest.raises(RuntimeError, match=r"GRU: for batched 3-D input, hx should also be 3-D"):
        nn.GRU(3, 4)(ng.randn(2, 1, 3), ng.zeros(1, 4))
    with pytest.raises(RuntimeError, match=r"unbatched 2-D"):
        nn.RNN(3, 4)(ng.randn(2, 3), ng.zeros(1, 1, 4))
    with pytest.raises(ValueError, match="must have the type"):
        nn.RNN(3, 4)(ng.randn(2, 1, 3, dtype=ng.float64))
    with pytest.raises(ValueError, match=r"proj_size \(4\) has to be smaller"):
        nn.LSTM(3, 4, proj_size=4)
    with pytest.raises(ValueError, match="only supported for LSTM"):
        nn.RNN(3, 4, proj_size=2)
    with pytest.raises(ValueError, match="Unknown nonlinearity"):
        nn.RNN(3, 4, nonlinearity="sigmoid")
    with pytest.raises(ValueError, match="dropout should be a number"):
        nn.GRU(3, 4, dropout=1.5)
    with pytest.raises(ValueError, match=r"GRUCell: Expected input to be 1D or 2D, got 3D"):
        nn.GRUCell(3, 4)(ng.randn(1, 1, 3))
    with pytest.raises(RuntimeError, match=r"LSTMCell: input has inconsistent input_size: got 2"):
        nn.LSTMCell(3, 4)(ng.randn(1, 2))
    with pytest.raises(RuntimeError, match=r"RNNCell: hidden has inconsistent size \[1, 5\]"):
        nn.RNNCell(3, 4)(ng.randn(1, 3), ng.zeros(1, 5))


def test_float32_training_step_runs():
    m = nn.LSTM(3, 4, batch_first=True)
    out, _ = m(ng.randn(2, 6, 3))
    out.sum().backward()
    assert out.dtype == ng.float32 and m.weight_hh_l0.grad.shape == (16, 4)
    assert m.weight_hh_l0.grad.dtype == ng.float32
