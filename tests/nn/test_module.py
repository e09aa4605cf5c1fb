"""Module mechanics: registration, traversal, modes, state_dict round trips, dtype, hooks, repr."""
import copy

import numpy as np
import pytest
import torch

import nablagrad as ng
import nablagrad.nn as nn


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(3, 4)
        self.bn = nn.BatchNorm1d(4)
        self.head = nn.Sequential(nn.ReLU(), nn.Linear(4, 2))
        self.scale = nn.Parameter(ng.ones(1))
        self.register_buffer("step", ng.zeros(()))
        self.register_buffer("cache", ng.zeros(2), persistent=False)

    def forward(self, x):
        return self.head(self.bn(self.fc(x))) * self.scale


class TNet(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = torch.nn.Linear(3, 4)
        self.bn = torch.nn.BatchNorm1d(4)
        self.head = torch.nn.Sequential(torch.nn.ReLU(), torch.nn.Linear(4, 2))
        self.scale = torch.nn.Parameter(torch.ones(1))
        self.register_buffer("step", torch.zeros(()))
        self.register_buffer("cache", torch.zeros(2), persistent=False)


def test_parameter_basics():
    data = ng.randn(2, 3)
    p = nn.Parameter(data)
    assert p.requires_grad and p.is_leaf and isinstance(p, ng.Tensor)
    assert p.data_ptr() == data.data_ptr()  # shares the array
    assert repr(p).startswith("Parameter containing:\ntensor(")
    assert not nn.Parameter(data, requires_grad=False).requires_grad
    q = copy.deepcopy(p)
    assert type(q) is nn.Parameter and q.data_ptr() != p.data_ptr() and q.requires_grad


def test_registration_and_names_match_torch():
    m, t = Net(), TNet()
    assert [n for n, _ in m.named_parameters()] == [n for n, _ in t.named_parameters()]
    assert [n for n, _ in m.named_buffers()] == [n for n, _ in t.named_buffers()]
    assert list(m.state_dict()) == list(t.state_dict())
    assert "bn.num_batches_tracked" in m.state_dict() and "cache" not in m.state_dict()
    assert [n for n, _ in m.named_modules()] == [n for n, _ in t.named_modules()]
    assert [n for n, _ in m.named_children()] == ["fc", "bn", "head"]
    assert len(list(m.parameters(recurse=False))) == 1
    assert m.head[1] is m.get_submodule("head.1")
    assert m.get_parameter("fc.weight") is m.fc.weight


def test_setattr_getattr_delattr():
    m = nn.Module()
    m.w = nn.Parameter(ng.zeros(2))
    assert "w" in m._parameters and m.w is m._parameters["w"]
    with pytest.raises(TypeError, match="parameter 'w'"):
        m.w = ng.zeros(2)  # plain tensor can't replace a parameter
    m.w = None
    assert m._parameters["w"] is None and list(m.parameters()) == []
    m.sub = nn.Linear(2, 2)
    m.sub = nn.Identity()  # replace a child
    assert isinstance(m._modules["sub"], nn.Identity)
    del m.sub
    assert "sub" not in m._modules
    with pytest.raises(AttributeError, match="no attribute 'nothing'"):
        m.nothing
    with pytest.raises(KeyError, match="already exists"):
        m.plain = 3
        m.register_buffer("plain", ng.zeros(1))
    with pytest.raises(TypeError):
        m.register_parameter("x", ng.zeros(1))


def test_shared_parameters_not_duplicated():
    lin = nn.Linear(2, 2)
    seq = nn.Sequential(lin, lin)
    assert len(list(seq.parameters())) == 2
    assert list(seq.state_dict()) == ["0.weight", "0.bias", "1.weight", "1.bias"]


def test_train_eval_propagates():
    m = Net()
    m.eval()
    assert all(not s.training for s in m.modules())
    m.train()
    assert all(s.training for s in m.modules())
    with pytest.raises(ValueError):
        m.train("yes")


def test_zero_grad_and_requires_grad():
    m = Net()
    m(ng.randn(5, 3)).sum().backward()
    assert all(p.grad is not None for p in m.parameters())
    grads = [p.grad for p in m.parameters()]
    m.zero_grad(set_to_none=False)
    assert all(float(abs(p.grad).sum()) == 0 for p in m.parameters())
    assert all(p.grad is g for p, g in zip(m.parameters(), grads))  # zeroed in place
    m.zero_grad()
    assert all(p.grad is None for p in m.parameters())
    m.requires_grad_(False)
    assert not any(p.requires_grad for p in m.parameters())


def test_state_dict_roundtrip_from_torch_and_errors():
    t = TNet().double()
    t.bn.running_mean.uniform_()
    m = Net().double()
    res = m.load_state_dict({k: ng.tensor(v.numpy()) for k, v in t.state_dict().items()})
    assert res == ([], []) and res.missing_keys == []
    for k, v in m.state_dict().items():
        np.testing.assert_array_equal(v.numpy(), t.state_dict()[k].numpy())
    sd = m.state_dict()
    assert sd["fc.weight"].grad_fn is None and not sd["fc.weight"].requires_grad
    assert sd["fc.weight"].data_ptr() == m.fc.weight.data_ptr()  # detached, same storage
    bad = dict(sd)
    del bad["fc.bias"]
    bad["extra"] = ng.zeros(1)
    bad["bn.weight"] = ng.zeros(5)
    with pytest.raises(RuntimeError) as e:
        m.load_state_dict(bad)
    msg = str(e.value)
    assert 'Missing key(s) in state_dict: "fc.bias"' in msg
    assert 'Unexpected key(s) in state_dict: "extra"' in msg
    assert "size mismatch for bn.weight" in msg and "[5]" in msg and "[4]" in msg
    bad["bn.weight"] = sd["bn.weight"]
    res = m.load_state_dict(bad, strict=False)
    assert res.missing_keys == ["fc.bias"] and res.unexpected_keys == ["extra"]


def test_load_keeps_parameter_identity():
    m = nn.Linear(2, 3)
    w = m.weight
    m.load_state_dict({"weight": ng.ones(3, 2), "bias": ng.zeros(3)})
    assert m.weight is w and float(w.sum()) == 6


def test_to_dtype_in_place():
    m = Net()
    params = list(m.parameters())
    assert m.fc.weight.dtype == ng.float32
    m.double()
    assert list(m.parameters())[0] is params[0]
    assert all(p.dtype == ng.float64 for p in m.parameters())
    assert m.bn.running_mean.dtype == ng.float64 and m.bn.num_batches_tracked.dtype == ng.int64
    m.to(ng.float32)
    assert m.fc.weight.dtype == ng.float32 and isinstance(m.fc.weight, nn.Parameter)
    m.to("cpu")
    with pytest.raises(TypeError, match="floating point"):
        m.to(ng.int32)


def test_apply_and_init():
    m = nn.Sequential(nn.Linear(2, 2), nn.Linear(2, 2))
    seen = []

    def fn(mod):
        seen.append(type(mod).__name__)
        if isinstance(mod, nn.Linear):
            nn.init.zeros_(mod.weight)
    assert m.apply(fn) is m
    assert seen == ["Linear", "Linear", "Sequential"]
    assert all(float(abs(s.weight).sum()) == 0 for s in m)


def test_forward_hooks():
    m = nn.Linear(2, 2)
    calls = []
    h1 = m.register_forward_pre_hook(lambda mod, args: (args[0] * 0,))
    h2 = m.register_forward_hook(lambda mod, args, out: calls.append(out.shape) or out + 1)
    y = m(ng.ones(3, 2))
    np.testing.assert_allclose(y.detach().numpy(), (m.bias + 1).detach().numpy()[None].repeat(3, 0), rtol=1e-6)
    assert calls == [ng.Size([3, 2])]
    h1.remove()
    h2.remove()
    y = m(ng.ones(3, 2))
    assert len(calls) == 1
    np.testing.assert_allclose(y.detach().numpy(), (m.weight.sum(1) + m.bias).detach().numpy()[None].repeat(3, 0), rtol=1e-6)


def test_repr_matches_torch():
    m, t = Net(), TNet()
    assert repr(m) == repr(t).replace("TNet(", "Net(", 1)
    for ours, theirs in [(nn.Conv2d(2, 4, 3, stride=2, padding=1, bias=False),
                          torch.nn.Conv2d(2, 4, 3, stride=2, padding=1, bias=False)),
                         (nn.MaxPool2d(2), torch.nn.MaxPool2d(2)),
                         (nn.Dropout(0.2), torch.nn.Dropout(0.2)),
                         (nn.LayerNorm(4), torch.nn.LayerNorm(4)),
                         (nn.GroupNorm(2, 4, bias=False), torch.nn.GroupNorm(2, 4, bias=False)),
                         (nn.InstanceNorm2d(3), torch.nn.InstanceNorm2d(3)),
                         (nn.Linear(3, 2, bias=False), torch.nn.Linear(3, 2, bias=False)),
                         (nn.ConvTranspose2d(2, 2, 3, stride=2, output_padding=1),
                          torch.nn.ConvTranspose2d(2, 2, 3, stride=2, output_padding=1)),
                         (nn.Conv1d(2, 2, 3, padding=1, padding_mode="circular", groups=2),
                          torch.nn.Conv1d(2, 2, 3, padding=1, padding_mode="circular", groups=2)),
                         (nn.Softmax(dim=1), torch.nn.Softmax(dim=1)),
                         (nn.PReLU(), torch.nn.PReLU()),
                         (nn.AvgPool2d(2), torch.nn.AvgPool2d(2)),
                         (nn.Embedding(5, 2, padding_idx=0), torch.nn.Embedding(5, 2, padding_idx=0)),
                         (nn.ModuleList([nn.ReLU(), nn.Tanh()]),
                          torch.nn.ModuleList([torch.nn.ReLU(), torch.nn.Tanh()]))]:
        assert repr(ours) == repr(theirs)


def test_containers():
    seq = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1))
    assert len(seq) == 3 and isinstance(seq[-1], nn.Linear)
    sub = seq[:2]
    assert isinstance(sub, nn.Sequential) and len(sub) == 2 and sub[0] is seq[0]
    seq.append(nn.Sigmoid())
    assert list(seq.state_dict()) == ["0.weight", "0.bias", "2.weight", "2.bias"]
    assert seq(ng.randn(4, 2)).shape == (4, 1)
    del seq[1]
    assert [type(s).__name__ for s in seq] == ["Linear", "Linear", "Sigmoid"]
    with pytest.raises(IndexError):
        seq[5]
    ml = nn.ModuleList([nn.Linear(1, 1)])
    ml.append(nn.Linear(1, 2))
    ml += [nn.Tanh()]
    assert len(ml) == 3 and [n for n, _ in ml.named_parameters()] == ["0.weight", "0.bias", "1.weight", "1.bias"]
    md = nn.ModuleDict({"a": nn.Linear(1, 1), "b": nn.ReLU()})
    assert list(md.keys()) == ["a", "b"] and "a" in md and list(md.state_dict()) == ["a.weight", "a.bias"]
    pl = nn.ParameterList([ng.zeros(2), nn.Parameter(ng.ones(1))])
    assert all(isinstance(p, nn.Parameter) for p in pl) and list(pl.state_dict()) == ["0", "1"]
    pd = nn.ParameterDict({"x": ng.zeros(2)})
    pd["y"] = ng.ones(3)
    assert list(pd.state_dict()) == ["x", "y"] and isinstance(pd["y"], nn.Parameter)


def test_sequential_ordereddict_names():
    from collections import OrderedDict
    seq = nn.Sequential(OrderedDict([("conv", nn.Conv2d(1, 2, 3)), ("act", nn.ReLU())]))
    assert list(seq.state_dict()) == ["conv.weight", "conv.bias"]
    assert seq.conv is seq[0]


def test_layer_errors():
    with pytest.raises(ValueError, match="divisible by groups"):
        nn.Conv2d(3, 4, 3, groups=2)
    with pytest.raises(ValueError, match="padding_mode"):
        nn.Conv2d(3, 4, 3, padding_mode="mirror")
    with pytest.raises(ValueError, match="expected 4D input"):
        nn.BatchNorm2d(3)(ng.randn(2, 3))
    with pytest.raises(ValueError, match="dropout probability"):
        nn.Dropout(1.5)
    with pytest.raises(ValueError, match="num_channels"):
        nn.GroupNorm(3, 4)


def test_buffer_assignment_and_none_bias():
    m = nn.Linear(2, 2, bias=False)
    assert m.bias is None and list(m.state_dict()) == ["weight"]
    bn = nn.BatchNorm1d(2)
    bn.running_mean = ng.ones(2)  # reassigning a buffer keeps it a buffer
    assert "running_mean" in bn._buffers and float(bn.state_dict()["running_mean"].sum()) == 2


def test_buffer_marker():
    m = nn.Module()
    m.b = nn.Buffer(ng.zeros(2))
    m.c = nn.Buffer(ng.ones(1), persistent=False)
    assert type(m.b) is ng.Tensor
    assert list(m.state_dict()) == ["b"] and [n for n, _ in m.named_buffers()] == ["b", "c"]
    m.double()
    assert m.b.dtype == ng.float64 and m.c.dtype == ng.float64


def test_load_state_dict_assign():
    m = nn.Linear(2, 3)
    w, b = ng.ones(3, 2, dtype=ng.float64), ng.zeros(3, dtype=ng.float64)
    m.load_state_dict({"weight": w, "bias": b}, assign=True)
    assert isinstance(m.weight, nn.Parameter) and m.weight.requires_grad
    assert m.weight.data_ptr() == w.data_ptr() and m.weight.dtype == ng.float64
    bn = nn.BatchNorm1d(2)
    rm = ng.full((2,), 3.0)
    sd = dict(bn.state_dict(), running_mean=rm)
    bn.load_state_dict(sd, assign=True)
    assert bn.running_mean is rm
