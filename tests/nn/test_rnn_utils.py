"""nn.utils.rnn (pad/pack/unpack) and recurrent layers on packed batches, against PyTorch 2.13
and against running each sequence alone."""
import numpy as np
import pytest
import torch
import torch.nn.utils.rnn as trnn

import nablagrad as ng
from nablagrad import nn
from nablagrad.nn.utils import rnn as nrnn

RNG = np.random.default_rng(0)


def _close(a, b, atol=1e-10):
    a = a.detach().numpy() if isinstance(a, ng.Tensor) else a
    b = b.detach().numpy() if isinstance(b, torch.Tensor) else b
    np.testing.assert_allclose(a, b, atol=atol, rtol=1e-7)


def _seqs(lengths, feat=3):
    return [RNG.standard_normal((n, feat)) for n in lengths]


@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("side", ["right", "left"])
def test_pad_sequence(batch_first, side):
    seqs = _seqs([2, 5, 3])
    ours = nrnn.pad_sequence([ng.tensor(s) for s in seqs], batch_first, -1.0, side)
    theirs = trnn.pad_sequence([torch.tensor(s) for s in seqs], batch_first, -1.0, side)
    _close(ours, theirs)
    with pytest.raises(ValueError, match="padding_side"):
        nrnn.pad_sequence([ng.tensor(s) for s in seqs], padding_side="middle")
    with pytest.raises(RuntimeError, match=r"sequence 1 has shape \[2, 4\]"):
        nrnn.pad_sequence([ng.zeros(3, 3), ng.zeros(2, 4)])


@pytest.mark.parametrize("enforce_sorted", [True, False])
@pytest.mark.parametrize("batch_first", [False, True])
def test_pack_pad_roundtrip_matches_torch(enforce_sorted, batch_first):
    lengths = [5, 3, 3, 1] if enforce_sorted else [3, 5, 1, 4]
    seqs = _seqs(lengths)
    padded = trnn.pad_sequence([torch.tensor(s) for s in seqs], batch_first)
    t_packed = trnn.pack_padded_sequence(padded, torch.tensor(lengths), batch_first,
                                         enforce_sorted)
    x = ng.tensor(padded.numpy(), requires_grad=True)
    packed = nrnn.pack_padded_sequence(x, lengths, batch_first, enforce_sorted)
    _close(packed.data, t_packed.data)
    assert packed.batch_sizes.tolist() == t_packed.batch_sizes.tolist()
    assert packed.batch_sizes.dtype == ng.int64
    for a, b in [(packed.sorted_indices, t_packed.sorted_indices),
                 (packed.unsorted_indices, t_packed.unsorted_indices)]:
        assert (a is None) == (b is None)
        if a is not None:
            assert a.tolist() == b.tolist()
    out, lens = nrnn.pad_packed_sequence(packed, batch_first, padding_value=7.0, total_length=6)
    t_out, t_lens = trnn.pad_packed_sequence(t_packed, batch_first, 7.0, total_length=6)
    _close(out, t_out)
    assert lens.tolist() == t_lens.tolist() == lengths and lens.dtype == ng.int64
    w = RNG.standard_normal(tuple(out.shape))
    (out * ng.tensor(w)).sum().backward()
    xt = padded.clone().requires_grad_(True)
    tp = trnn.pack_padded_sequence(xt, torch.tensor(lengths), batch_first, enforce_sorted)
    (trnn.pad_packed_sequence(tp, batch_first, 7.0, 6)[0] * torch.tensor(w)).sum().backward()
    _close(x.grad, xt.grad)


def test_pack_sequence_unpack_and_unpad():
    seqs = _seqs([2, 4, 1])
    packed = nrnn.pack_sequence([ng.tensor(s) for s in seqs], enforce_sorted=False)
    t_packed = trnn.pack_sequence([torch.tensor(s) for s in seqs], enforce_sorted=False)
    _close(packed.data, t_packed.data)
    for a, s in zip(nrnn.unpack_sequence(packed), seqs):
        _close(a, s)
    padded = nrnn.pad_sequence([ng.tensor(s) for s in seqs], batch_first=True)
    for a, s in zip(nrnn.unpad_sequence(padded, ng.tensor([2, 4, 1]), batch_first=True), seqs):
        _close(a, s)
    with pytest.raises(RuntimeError, match="sorted in decreasing order"):
        nrnn.pack_sequence([ng.tensor(s) for s in seqs])


def test_pack_errors():
    x = ng.zeros(4, 2, 3)
    with pytest.raises(RuntimeError, match="greater than 0"):
        nrnn.pack_padded_sequence(x, [2, 0])
    with pytest.raises(RuntimeError, match=r"larger than the number of time steps \(4\)"):
        nrnn.pack_padded_sequence(x, [5, 2])
    with pytest.raises(ValueError, match="expected 2 lengths"):
        nrnn.pack_padded_sequence(x, [2, 2, 1])
    packed = nrnn.pack_padded_sequence(x, [3, 2])
    with pytest.raises(ValueError, match="total_length=2 and max sequence length being 3"):
        nrnn.pad_packed_sequence(packed, total_length=2)


def _layers(kind, **kw):
    torch.manual_seed(0)
    theirs = getattr(torch.nn, kind)(3, 4, **kw).double()
    ours = getattr(nn, kind)(3, 4, **kw, dtype=ng.float64)
    ours.load_state_dict({k: ng.tensor(v.detach().numpy()) for k, v in
                          theirs.state_dict().items()})
    return ours, theirs


CASES = [("LSTM", dict(num_layers=2, bidirectional=True), False, True),
         ("LSTM", dict(proj_size=2, bidirectional=True), True, False),
         ("GRU", dict(num_layers=2, bidirectional=True), False, False),
         ("GRU", dict(batch_first=True), True, True),
         ("RNN", dict(bidirectional=True, nonlinearity="relu"), False, True)]


@pytest.mark.parametrize("kind,kw,enforce_sorted,with_hx", CASES)
def test_packed_layers_match_torch(kind, kw, enforce_sorted, with_hx):
    ours, theirs = _layers(kind, **kw)
    lengths = [5, 4, 2, 1] if enforce_sorted else [2, 5, 1, 4]
    seqs = _seqs(lengths)
    xs_o = [ng.tensor(s, requires_grad=True) for s in seqs]
    xs_t = [torch.tensor(s, requires_grad=True) for s in seqs]
    po = nrnn.pack_sequence(xs_o, enforce_sorted)
    pt = trnn.pack_sequence(xs_t, enforce_sorted)
    hx_o = hx_t = None
    if with_hx:
        L = ours.num_layers * (2 if ours.bidirectional else 1)
        hs = [RNG.standard_normal((L, 4, ours.proj_size or 4))]
        if kind == "LSTM":
            hs.append(RNG.standard_normal((L, 4, 4)))
        hx_o = [ng.tensor(h, requires_grad=True) for h in hs]
        hx_t = [torch.tensor(h, requires_grad=True) for h in hs]
        hx_o, hx_t = (tuple(hx_o), tuple(hx_t)) if kind == "LSTM" else (hx_o[0], hx_t[0])
    out_o, h_o = ours(po, hx_o)
    out_t, h_t = theirs(pt, hx_t)
    assert isinstance(out_o, nrnn.PackedSequence)
    _close(out_o.data, out_t.data)
    h_o = h_o if isinstance(h_o, tuple) else (h_o,)
    h_t = h_t if isinstance(h_t, tuple) else (h_t,)
    for a, b in zip(h_o, h_t):
        _close(a, b)
    w = [RNG.standard_normal(tuple(t.shape)) for t in (out_t.data,) + h_t]
    lo = sum((a * ng.tensor(v)).sum() for a, v in zip((out_o.data,) + h_o, w))
    lt = sum((a * torch.tensor(v)).sum() for a, v in zip((out_t.data,) + h_t, w))
    leaves_o = xs_o + list(ours.parameters()) + (list(hx_o if kind == "LSTM" else [hx_o])
                                                  if with_hx else [])
    leaves_t = xs_t + list(theirs.parameters()) + (list(hx_t if kind == "LSTM" else [hx_t])
                                                    if with_hx else [])
    for a, b in zip(ng.autograd.grad(lo, leaves_o), torch.autograd.grad(lt, leaves_t)):
        _close(a, b, atol=1e-9)


@pytest.mark.parametrize("kind", ["LSTM", "GRU"])
def test_variable_length_batch_equals_each_sequence_alone(kind):
    """The packed batch gives, per sequence, the outputs and final states of a run of that
    sequence alone (both directions, two layers), and the same input gradients."""
    m = getattr(nn, kind)(3, 4, num_layers=2, bidirectional=True, dtype=ng.float64)
    lengths = [3, 6, 1, 4]
    seqs = _seqs(lengths)
    xs = [ng.tensor(s, requires_grad=True) for s in seqs]
    out, h = m(nrnn.pack_sequence(xs, enforce_sorted=False))
    h = h[0] if kind == "LSTM" else h
    padded, lens = nrnn.pad_packed_sequence(out, batch_first=True)
    assert lens.tolist() == lengths
    (padded.sum() + h.sum()).backward()
    for b, s in enumerate(seqs):
        x = ng.tensor(s, requires_grad=True)
        o, hb = m(x.unsqueeze(1))
        hb = hb[0] if kind == "LSTM" else hb
        _close(padded[b, :lengths[b]], o[:, 0].detach().numpy())
        _close(padded[b, lengths[b]:], np.zeros((6 - lengths[b], 8)))
        _close(h[:, b], hb[:, 0].detach().numpy())
        (o.sum() + hb.sum()).backward()
        _close(xs[b].grad, x.grad.numpy())


def test_packed_sequence_to_and_indices():
    packed = nrnn.pack_sequence([ng.ones(3, 2), ng.ones(1, 2)])
    assert packed.to(ng.float64).data.dtype == ng.float64
    assert packed.double().batch_sizes.tolist() == [2, 1, 1]
    assert nrnn.invert_permutation(ng.tensor([2, 0, 1])).tolist() == [1, 2, 0]
