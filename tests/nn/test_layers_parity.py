"""Every nablagrad.nn layer against its torch.nn twin: same state_dict keys/shapes, and with the
torch weights copied in, the same outputs, input gradients and parameter gradients (float64)."""
import numpy as np
import pytest
import torch

import nablagrad as ng
import nablagrad.nn as nn

TN = torch.nn


def to_ng(t):
    return ng.tensor(t.detach().numpy().copy())


def copy_state(ours, theirs):
    """Copy torch's state_dict into ours after checking keys, shapes and dtypes agree."""
    tsd, osd = theirs.state_dict(), ours.state_dict()
    assert list(osd.keys()) == list(tsd.keys())
    for k in tsd:
        assert tuple(osd[k].shape) == tuple(tsd[k].shape), k
        assert str(osd[k].dtype).split(".")[1] == str(tsd[k].dtype).split(".")[1], k
    res = ours.load_state_dict({k: to_ng(v) for k, v in tsd.items()})
    assert res.missing_keys == [] and res.unexpected_keys == []


def close(a, b, atol=1e-10, rtol=1e-7):
    np.testing.assert_allclose(np.asarray(a.detach().numpy() if hasattr(a, "detach") and
                                          isinstance(a, torch.Tensor) else a._data),
                               b.detach().numpy(), atol=atol, rtol=rtol)


def check(ours, theirs, *inputs, train_steps=1, seed=0):
    """inputs: numpy arrays (float → differentiable float64, int → index tensors)."""
    ours.double()
    theirs.double()
    copy_state(ours, theirs)
    for _ in range(train_steps):
        ng_in = [ng.tensor(x, requires_grad=x.dtype.kind == "f") for x in inputs]
        th_in = [torch.tensor(x, requires_grad=x.dtype.kind == "f") for x in inputs]
        out, ref = ours(*ng_in), theirs(*th_in)
        if isinstance(ref, tuple):
            out, ref = out[0], ref[0]
        close(out, ref)
        g = np.random.default_rng(seed).standard_normal(tuple(ref.shape))
        if ref.requires_grad:
            ours.zero_grad()
            theirs.zero_grad()
            out.backward(ng.tensor(g))
            ref.backward(torch.tensor(g))
            for a, b in zip(ng_in, th_in):
                if b.grad is not None:
                    close(a.grad, b.grad)
            tparams = dict(theirs.named_parameters())
            for name, p in ours.named_parameters():
                close(p.grad, tparams[name].grad)
        for (k, b), (tk, tb) in zip(ours.state_dict().items(), theirs.state_dict().items()):
            close(b, tb)


R = np.random.default_rng(0)


def x(*shape):
    return R.standard_normal(shape)


LAYERS = [
    ("Linear", lambda m: m.Linear(3, 4), lambda: (x(2, 3),)),
    ("Linear_nobias", lambda m: m.Linear(3, 4, bias=False), lambda: (x(2, 5, 3),)),
    ("Bilinear", lambda m: m.Bilinear(3, 2, 4), lambda: (x(5, 3), x(5, 2))),
    ("Identity", lambda m: m.Identity(7), lambda: (x(2, 3),)),
    ("Flatten", lambda m: m.Flatten(), lambda: (x(2, 3, 4),)),
    ("Unflatten", lambda m: m.Unflatten(1, (2, 3)), lambda: (x(2, 6),)),
    ("Sequential", lambda m: m.Sequential(m.Linear(3, 4), m.Tanh(), m.Linear(4, 2)), lambda: (x(2, 3),)),
    ("Conv1d", lambda m: m.Conv1d(2, 4, 3, stride=2, padding=1), lambda: (x(2, 2, 7),)),
    ("Conv2d", lambda m: m.Conv2d(2, 4, 3, padding=1, groups=2), lambda: (x(2, 2, 5, 5),)),
    ("Conv2d_same", lambda m: m.Conv2d(2, 3, (3, 2), padding="same", dilation=2), lambda: (x(1, 2, 6, 5),)),
    ("Conv2d_reflect", lambda m: m.Conv2d(2, 3, 3, padding=1, padding_mode="reflect"), lambda: (x(1, 2, 5, 4),)),
    ("Conv2d_circular", lambda m: m.Conv2d(2, 3, 3, padding=(2, 1), padding_mode="circular"), lambda: (x(1, 2, 5, 4),)),
    ("Conv2d_replicate", lambda m: m.Conv2d(2, 3, 3, stride=2, padding=1, padding_mode="replicate", bias=False), lambda: (x(1, 2, 5, 4),)),
    ("Conv3d", lambda m: m.Conv3d(2, 3, 2, stride=(1, 2, 1)), lambda: (x(1, 2, 3, 4, 3),)),
    ("ConvTranspose1d", lambda m: m.ConvTranspose1d(2, 3, 3, stride=2), lambda: (x(2, 2, 4),)),
    ("ConvTranspose2d", lambda m: m.ConvTranspose2d(2, 4, 3, stride=2, padding=1, output_padding=1, groups=2), lambda: (x(1, 2, 3, 4),)),
    ("MaxPool1d", lambda m: m.MaxPool1d(3, stride=2, padding=1), lambda: (x(2, 3, 7),)),
    ("MaxPool2d", lambda m: m.MaxPool2d(2), lambda: (x(2, 3, 4, 6),)),
    ("MaxPool2d_ceil", lambda m: m.MaxPool2d(3, 2, ceil_mode=True), lambda: (x(1, 2, 6, 6),)),
    ("AvgPool1d", lambda m: m.AvgPool1d(3, 2, padding=1, count_include_pad=False), lambda: (x(2, 3, 7),)),
    ("AvgPool2d", lambda m: m.AvgPool2d(2, padding=1), lambda: (x(2, 3, 4, 5),)),
    ("AdaptiveAvgPool2d", lambda m: m.AdaptiveAvgPool2d((3, None)), lambda: (x(2, 3, 7, 5),)),
    ("AdaptiveMaxPool2d", lambda m: m.AdaptiveMaxPool2d(2), lambda: (x(2, 3, 5, 5),)),
    ("LayerNorm", lambda m: m.LayerNorm((4, 5)), lambda: (x(3, 4, 5),)),
    ("LayerNorm_noaffine", lambda m: m.LayerNorm(5, elementwise_affine=False), lambda: (x(3, 5),)),
    ("GroupNorm", lambda m: m.GroupNorm(2, 4), lambda: (x(3, 4, 5),)),
    ("LocalResponseNorm", lambda m: m.LocalResponseNorm(3), lambda: (x(2, 5, 3, 3),)),
    ("Embedding", lambda m: m.Embedding(10, 3, padding_idx=0), lambda: (np.array([[0, 3, 3], [9, 0, 1]]),)),
    ("RReLU_eval", lambda m: m.RReLU(0.1, 0.3).eval(), lambda: (x(3, 4),)),
    ("Embedding_from_pretrained", lambda m: m.Embedding.from_pretrained(
        (ng.tensor if m is nn else torch.tensor)(np.arange(12.0).reshape(4, 3)), freeze=False,
        padding_idx=1), lambda: (np.array([0, 1, 3, 1]),)),
    ("Dropout_eval", lambda m: m.Dropout(0.3).eval(), lambda: (x(4, 5),)),
    ("Dropout2d_eval", lambda m: m.Dropout2d(0.3).eval(), lambda: (x(2, 3, 4, 4),)),
    ("Upsample_nearest", lambda m: m.Upsample(scale_factor=2), lambda: (x(1, 2, 3, 3),)),
    ("Upsample_bilinear", lambda m: m.Upsample(size=(5, 4), mode="bilinear", align_corners=False), lambda: (x(1, 2, 3, 3),)),
    ("PixelShuffle", lambda m: m.PixelShuffle(2), lambda: (x(1, 8, 2, 3),)),
]

ACTS = [("ReLU", ()), ("ReLU6", ()), ("SELU", ()), ("SiLU", ()), ("Mish", ()), ("Hardsigmoid", ()),
        ("Hardswish", ()), ("Sigmoid", ()), ("Tanh", ()), ("Softsign", ()), ("Tanhshrink", ()),
        ("LogSigmoid", ()), ("LeakyReLU", (0.2,)), ("ELU", (0.7,)), ("CELU", (1.3,)), ("GELU", ()),
        ("GELU", ("tanh",)), ("Hardtanh", (-0.5, 0.8)), ("Softplus", (2.0, 5.0)),
        ("Hardshrink", (0.3,)), ("Softshrink", (0.3,)), ("Threshold", (0.1, -2.0)), ("GLU", (1,)),
        ("Softmax", (1,)), ("LogSoftmax", (-1,)), ("Softmin", (0,)), ("PReLU", ()), ("PReLU", (4,))]
for _name, _args in ACTS:
    LAYERS.append((f"{_name}{_args}", (lambda n, a: lambda m: getattr(m, n)(*a))(_name, _args),
                   lambda: (R.uniform(0.1, 2, (3, 4, 2)) * R.choice([-1, 1], (3, 4, 2)),)))


@pytest.mark.parametrize("name,make,inputs", LAYERS, ids=[l[0] for l in LAYERS])
def test_layer_parity(name, make, inputs):
    torch.manual_seed(0)
    ours, theirs = make(nn), make(TN)
    assert repr(ours) == repr(theirs)
    check(ours, theirs, *inputs())


NORMS = [
    ("BatchNorm1d_2d", lambda m: m.BatchNorm1d(3), (4, 3)),
    ("BatchNorm1d_3d", lambda m: m.BatchNorm1d(3, momentum=0.3), (4, 3, 5)),
    ("BatchNorm1d_cma", lambda m: m.BatchNorm1d(3, momentum=None), (4, 3)),
    ("BatchNorm2d", lambda m: m.BatchNorm2d(3), (2, 3, 4, 2)),
    ("BatchNorm2d_noaffine", lambda m: m.BatchNorm2d(3, affine=False), (2, 3, 4, 2)),
    ("BatchNorm2d_nostats", lambda m: m.BatchNorm2d(3, track_running_stats=False), (2, 3, 4, 2)),
    ("InstanceNorm1d", lambda m: m.InstanceNorm1d(3, affine=True, track_running_stats=True), (2, 3, 5)),
    ("InstanceNorm2d", lambda m: m.InstanceNorm2d(3), (2, 3, 4, 4)),
    ("InstanceNorm2d_stats", lambda m: m.InstanceNorm2d(3, track_running_stats=True), (2, 3, 4, 4)),
    ("BatchNorm2d_nobias", lambda m: m.BatchNorm2d(3, bias=False), (2, 3, 4, 2)),
    ("LayerNorm", lambda m: m.LayerNorm(4), (2, 3, 4)),
    ("LayerNorm_nobias", lambda m: m.LayerNorm(4, bias=False), (2, 3, 4)),
    ("GroupNorm_nobias", lambda m: m.GroupNorm(2, 4, bias=False), (2, 4, 3)),
    ("GroupNorm", lambda m: m.GroupNorm(3, 6, affine=False), (2, 6, 3)),
]


@pytest.mark.parametrize("name,make,shape", NORMS, ids=[n[0] for n in NORMS])
def test_norm_train_then_eval(name, make, shape):
    ours, theirs = make(nn), make(TN)
    assert repr(ours) == repr(theirs)
    with torch.no_grad():  # non-trivial affine params
        if getattr(theirs, "weight", None) is not None:
            theirs.weight.uniform_(0.5, 1.5)
        if getattr(theirs, "bias", None) is not None:
            theirs.bias.uniform_(-0.5, 0.5)
    check(ours, theirs, x(*shape), train_steps=3)  # running stats compared after every step
    ours.eval()
    theirs.eval()
    assert not ours.training
    check(ours, theirs, x(*shape), train_steps=2)


LOSSES = [
    ("MSELoss", {}, lambda: (x(3, 4), x(3, 4))),
    ("L1Loss", {}, lambda: (x(3, 4), x(3, 4))),
    ("SmoothL1Loss", {"beta": 0.5}, lambda: (x(3, 4), x(3, 4))),
    ("HuberLoss", {"delta": 0.7}, lambda: (x(3, 4), x(3, 4))),
    ("BCELoss", {}, lambda: (R.uniform(0.05, 0.95, (3, 4)), R.uniform(0, 1, (3, 4)))),
    ("BCEWithLogitsLoss", {}, lambda: (x(3, 4), R.uniform(0, 1, (3, 4)))),
    ("CrossEntropyLoss", {"label_smoothing": 0.1}, lambda: (x(5, 4), R.integers(0, 4, 5))),
    ("CrossEntropyLoss", {"ignore_index": 1}, lambda: (x(5, 4, 2), R.integers(0, 4, (5, 2)))),
    ("NLLLoss", {}, lambda: (x(5, 4), R.integers(0, 4, 5))),
    ("KLDivLoss", {"log_target": True}, lambda: (x(3, 4), x(3, 4))),
    ("GaussianNLLLoss", {"full": True}, lambda: (x(3, 4), x(3, 4), R.uniform(0.5, 2, (3, 4)))),
    ("PoissonNLLLoss", {}, lambda: (x(3, 4), R.uniform(0, 3, (3, 4)))),
    ("PoissonNLLLoss", {"log_input": False, "full": True}, lambda: (R.uniform(0.5, 2, (3, 4)), R.uniform(2, 3, (3, 4)))),
    ("MarginRankingLoss", {"margin": 0.2}, lambda: (x(6), x(6), R.choice([-1.0, 1.0], 6))),
    ("HingeEmbeddingLoss", {"margin": 0.5}, lambda: (x(3, 4), R.choice([-1.0, 1.0], (3, 4)))),
    ("CosineEmbeddingLoss", {"margin": 0.1}, lambda: (x(5, 3), x(5, 3), R.choice([-1.0, 1.0], 5))),
    ("TripletMarginLoss", {"margin": 0.5, "swap": True}, lambda: (x(4, 3), x(4, 3), x(4, 3))),
]
LOSS_CASES = [(n, dict(kw, reduction=r), inp) for n, kw, inp in LOSSES
              for r in ("none", "mean", "sum")]
LOSS_CASES.append(("KLDivLoss", {"reduction": "batchmean"}, lambda: (x(3, 4), R.uniform(0.1, 1, (3, 4)))))


@pytest.mark.parametrize("name,kw,inputs", LOSS_CASES,
                         ids=[f"{n}-{i}" for i, (n, _, _) in enumerate(LOSS_CASES)])
def test_loss_parity(name, kw, inputs):
    args = inputs()
    const = {"MarginRankingLoss": 2, "HingeEmbeddingLoss": 1, "CosineEmbeddingLoss": 2,
             "BCELoss": 1, "BCEWithLogitsLoss": 1, "KLDivLoss": 1, "GaussianNLLLoss": 1,
             "PoissonNLLLoss": 1}.get(name)
    ours, theirs = getattr(nn, name)(**kw), getattr(TN, name)(**kw)
    ng_in = [ng.tensor(a, requires_grad=a.dtype.kind == "f" and i != const) for i, a in enumerate(args)]
    th_in = [torch.tensor(a, requires_grad=a.dtype.kind == "f" and i != const) for i, a in enumerate(args)]
    out, ref = ours(*ng_in), theirs(*th_in)
    close(out, ref)
    g = np.random.default_rng(1).standard_normal(tuple(ref.shape))
    out.backward(ng.tensor(g))
    ref.backward(torch.tensor(g))
    for a, b in zip(ng_in, th_in):
        if b.grad is not None:
            close(a.grad, b.grad)


def test_weighted_losses_parity():
    w = R.uniform(0.5, 2, 4)
    inp, tgt = x(5, 4), R.integers(0, 4, 5)
    for cls in ("CrossEntropyLoss", "NLLLoss"):
        ours, theirs = getattr(nn, cls)(weight=ng.tensor(w)), getattr(TN, cls)(weight=torch.tensor(w))
        assert list(ours.state_dict()) == list(theirs.state_dict()) == ["weight"]
        close(ours(ng.tensor(inp), ng.tensor(tgt)), theirs(torch.tensor(inp), torch.tensor(tgt)))
    pw = R.uniform(0.5, 2, 4)
    ours = nn.BCEWithLogitsLoss(pos_weight=ng.tensor(pw))
    theirs = TN.BCEWithLogitsLoss(pos_weight=torch.tensor(pw))
    t = R.uniform(0, 1, (5, 4))
    close(ours(ng.tensor(inp), ng.tensor(t)), theirs(torch.tensor(inp), torch.tensor(t)))


def test_swish_learnable_beta():
    """Swish(β) = x·σ(βx): output and both gradients against the same formula in torch."""
    m = nn.Swish(beta=1.5).double()
    assert [n for n, _ in m.named_parameters()] == ["beta"]
    xv = x(3, 4)
    xn, xt = ng.tensor(xv, requires_grad=True), torch.tensor(xv, requires_grad=True)
    bt = torch.tensor(1.5, dtype=torch.float64, requires_grad=True)
    out, ref = m(xn), xt * torch.sigmoid(bt * xt)
    close(out, ref)
    out.sum().backward()
    ref.sum().backward()
    close(xn.grad, xt.grad)
    close(m.beta.grad, bt.grad)
    close(nn.Swish().double()(ng.tensor(xv)), TN.SiLU()(torch.tensor(xv)))


def test_dropout_train_statistics():
    ng.manual_seed(0)
    m = nn.Dropout(0.25)
    y = m(ng.ones(200, 200))._data
    np.testing.assert_allclose(np.unique(y), [0.0, 1 / 0.75], rtol=1e-6)
    assert abs((y == 0).mean() - 0.25) < 0.01
    m2 = nn.Dropout2d(0.5)
    y2 = m2(ng.ones(50, 40, 3, 3))._data
    per_channel = y2.reshape(50, 40, 9)
    assert np.all((per_channel == per_channel[..., :1]))  # whole channels dropped together
    assert abs((per_channel[..., 0] == 0).mean() - 0.5) < 0.05


def test_conv_transpose_output_size():
    ours = nn.ConvTranspose2d(2, 3, 3, stride=2, padding=1).double()
    theirs = TN.ConvTranspose2d(2, 3, 3, stride=2, padding=1).double()
    copy_state(ours, theirs)
    xv = x(1, 2, 4, 4)
    out = ours(ng.tensor(xv), output_size=[8, 8])
    ref = theirs(torch.tensor(xv), output_size=[8, 8])
    assert tuple(out.shape) == tuple(ref.shape) == (1, 3, 8, 8)
    close(out, ref)
    with pytest.raises(ValueError, match="output size"):
        ours(ng.tensor(xv), output_size=[12, 12])
