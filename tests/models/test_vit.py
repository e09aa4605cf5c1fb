"""VisionTransformer against a torch twin: same state_dict keys, float64 logits and parameter
gradients (and a double backward) equal to PyTorch's; shapes, init and input errors."""
import numpy as np
import pytest
import torch
import torch.nn as tnn
from torch.nn.attention import SDPBackend, sdpa_kernel

import nablagrad as ng
from nablagrad.models.vision import VisionTransformer


class TViT(tnn.Module):
    def __init__(self, image_size=28, patch_size=7, in_channels=1, num_classes=10, embed_dim=64,
                 depth=4, num_heads=4, mlp_ratio=2.0):
        super().__init__()
        n = (image_size // patch_size) ** 2
        self.patch_embed = tnn.Conv2d(in_channels, embed_dim, patch_size, stride=patch_size)
        self.class_token = tnn.Parameter(torch.zeros(1, 1, embed_dim))
        self.pos_embed = tnn.Parameter(torch.zeros(1, n + 1, embed_dim))
        layer = tnn.TransformerEncoderLayer(embed_dim, num_heads, int(embed_dim * mlp_ratio), 0.0,
                                            activation="gelu", batch_first=True, norm_first=True)
        self.encoder = tnn.TransformerEncoder(layer, depth, norm=tnn.LayerNorm(embed_dim),
                                              enable_nested_tensor=False)
        self.head = tnn.Linear(embed_dim, num_classes)

    def forward(self, x):
        tokens = self.patch_embed(x).flatten(2).transpose(1, 2)
        z = torch.cat([self.class_token.expand(x.shape[0], -1, -1), tokens], 1) + self.pos_embed
        return self.head(self.encoder(z)[:, 0])


KW = dict(image_size=12, patch_size=4, in_channels=2, num_classes=5, embed_dim=8, depth=2,
          num_heads=2, mlp_ratio=2.0)


def twins():
    ng.manual_seed(0)
    model = VisionTransformer(**KW).double()
    twin = TViT(**KW).double()
    state = model.state_dict()
    assert set(state) == set(twin.state_dict())
    # the head starts at zero: give it weights so gradients reach the encoder
    for name in ("head.weight", "head.bias"):
        state[name] = ng.tensor(np.random.default_rng(1).standard_normal(tuple(state[name].shape)))
    model.load_state_dict(state)
    twin.load_state_dict({k: torch.from_numpy(v.numpy().copy()) for k, v in state.items()})
    return model, twin


def test_vit_matches_torch_logits_and_gradients():
    model, twin = twins()
    x = np.random.default_rng(2).standard_normal((3, 2, 12, 12))
    out, ref = model(ng.tensor(x)), twin(torch.from_numpy(x))
    assert out.shape == (3, 5)
    np.testing.assert_allclose(out.detach().numpy(), ref.detach().numpy(), atol=1e-10)
    w = np.random.default_rng(3).standard_normal((3, 5))
    (out * ng.tensor(w)).sum().backward()
    (ref * torch.from_numpy(w)).sum().backward()
    theirs = dict(twin.named_parameters())
    for name, p in model.named_parameters():
        np.testing.assert_allclose(p.grad.numpy(), theirs[name].grad.numpy(), atol=1e-9,
                                   err_msg=name)


def test_vit_double_backward_matches_torch():
    model, twin = twins()
    x = np.random.default_rng(4).standard_normal((2, 2, 12, 12))
    out = model(ng.tensor(x))
    with sdpa_kernel(SDPBackend.MATH):   # torch's fused kernels have no double backward
        ref = twin(torch.from_numpy(x))
    (g,) = ng.autograd.grad(out.pow(2).sum(), model.pos_embed, create_graph=True)
    (h,) = torch.autograd.grad(ref.pow(2).sum(), twin.pos_embed, create_graph=True)
    np.testing.assert_allclose(g.detach().numpy(), h.detach().numpy(), atol=1e-9)
    g.pow(2).sum().backward()
    h.pow(2).sum().backward()
    np.testing.assert_allclose(model.patch_embed.weight.grad.numpy(),
                               twin.patch_embed.weight.grad.numpy(), atol=1e-8)


def test_vit_init_and_shapes():
    ng.manual_seed(0)
    model = VisionTransformer()                  # 28×28, 7×7 patches: 16 patches + class token
    assert tuple(model.pos_embed.shape) == (1, 17, 64)
    assert float(model.pos_embed.abs().max()) <= 0.04 and float(model.pos_embed.std()) > 0.01
    assert float(model.class_token.abs().sum()) == 0 and float(model.head.weight.abs().sum()) == 0
    layers = model.encoder.layers
    assert not np.allclose(layers[0].linear1.weight.detach().numpy(),
                           layers[1].linear1.weight.detach().numpy())
    logits = model(ng.randn(2, 1, 28, 28))
    assert logits.shape == (2, 10) and float(logits.detach().abs().max()) == 0   # zero head


def test_vit_rejects_bad_shapes():
    with pytest.raises(ValueError, match="divisible by patch_size"):
        VisionTransformer(image_size=28, patch_size=5)
    with pytest.raises(ValueError, match=r"VisionTransformer: expected images of shape "
                                         r"\(N, 1, 28, 28\), got \(2, 1, 32, 32\)"):
        VisionTransformer()(ng.randn(2, 1, 32, 32))
