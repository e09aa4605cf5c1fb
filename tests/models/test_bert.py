"""BERT masking (the 15% / 80-10-10 proportions over many tokens), the MLM loss (only selected
positions count) and weight tying, and the model against a torch twin (float64 logits and
gradients, post- and pre-norm)."""
import numpy as np
import pytest
import torch
import torch.nn as tnn
from torch.nn.attention import SDPBackend, sdpa_kernel
import torch.nn.functional as TF

import nablagrad as ng
from nablagrad.data.mlm import IGNORE_INDEX, mask_tokens
from nablagrad.models.sequence import BERT
from nablagrad.nn import functional as F

SPECIAL = (0, 1, 2, 3)          # [PAD] [UNK] [CLS] [SEP]
MASK = 4

# ---------------------------------------------------------------- masking


def test_mask_tokens_proportions_over_many_tokens():
    rng = np.random.default_rng(0)
    ids = rng.integers(0, 100, size=(400, 500))            # 200,000 tokens, ~5% special
    ids[:, 0], ids[:, -1] = 2, 3
    inputs, labels = mask_tokens(ng.tensor(ids), 100, MASK, SPECIAL,
                                 generator=ng.Generator().manual_seed(1))
    x, y = inputs.numpy(), labels.numpy()
    special = np.isin(ids, SPECIAL + (MASK,))
    selected = y != IGNORE_INDEX
    assert not (selected & special).any()                   # specials are never selected
    np.testing.assert_array_equal(y[selected], ids[selected])
    np.testing.assert_array_equal(x[~selected], ids[~selected])   # the rest is untouched
    n = selected.sum()
    assert abs(n / (~special).sum() - 0.15) < 0.005         # 15% of the non-special tokens
    masked = x[selected] == MASK
    kept = x[selected] == ids[selected]
    changed = ~masked & ~kept                               # replaced by a random token
    # a random draw equals the original 1/95 of the time: 10% random → 9.9% changed
    assert abs(masked.mean() - 0.80) < 0.01
    assert abs(changed.mean() - 0.10 * 94 / 95) < 0.006
    assert abs(kept.mean() - (0.10 + 0.10 / 95)) < 0.006
    assert not np.isin(x[selected][changed], SPECIAL + (MASK,)).any()
    assert x[selected][changed].min() >= 5 and x[selected][changed].max() < 100


def test_mask_tokens_is_seeded_and_checks_its_arguments():
    ids = np.arange(5, 105).reshape(4, 25)
    a = mask_tokens(ids, 105, MASK, SPECIAL, generator=ng.Generator().manual_seed(3))
    b = mask_tokens(ids, 105, MASK, SPECIAL, generator=ng.Generator().manual_seed(3))
    for s, t in zip(a, b):
        np.testing.assert_array_equal(s.numpy(), t.numpy())
        assert s.dtype == ng.int64 and s.shape == (4, 25)
    with pytest.raises(ValueError, match="mlm_probability"):
        mask_tokens(ids, 105, MASK, mlm_probability=1.5)
    with pytest.raises(ValueError, match="sum <= 1"):
        mask_tokens(ids, 105, MASK, mask_fraction=0.8, random_fraction=0.3)
    with pytest.raises(TypeError, match="integer token ids"):
        mask_tokens(ids.astype(float), 105, MASK)


# ---------------------------------------------------------------- torch twin (test only)


class TBERT(tnn.Module):
    def __init__(self, vocab_size, max_len, d_model, nhead, num_layers, dim_feedforward,
                 type_vocab_size=0, pad_id=None, norm_first=False):
        super().__init__()
        self.tok_embed = tnn.Embedding(vocab_size, d_model, padding_idx=pad_id)
        self.pos_embed = tnn.Embedding(max_len, d_model)
        self.seg_embed = tnn.Embedding(type_vocab_size, d_model) if type_vocab_size else None
        self.embed_norm = tnn.LayerNorm(d_model)
        layer = tnn.TransformerEncoderLayer(d_model, nhead, dim_feedforward, 0.0,
                                            activation="gelu", batch_first=True,
                                            norm_first=norm_first)
        self.encoder = tnn.TransformerEncoder(layer, num_layers, enable_nested_tensor=False,
                                              norm=tnn.LayerNorm(d_model) if norm_first else None)
        self.mlm_dense = tnn.Linear(d_model, d_model)
        self.mlm_norm = tnn.LayerNorm(d_model)
        self.mlm_decoder = tnn.Linear(d_model, vocab_size)
        self.mlm_decoder.weight = self.tok_embed.weight

    def forward(self, ids, seg=None, pad=None):
        h = self.tok_embed(ids) + self.pos_embed(torch.arange(ids.shape[1]))
        if self.seg_embed is not None:
            h = h + self.seg_embed(seg)
        h = self.encoder(self.embed_norm(h), src_key_padding_mask=pad)
        return self.mlm_decoder(self.mlm_norm(TF.gelu(self.mlm_dense(h))))


def twins(norm_first=False, type_vocab_size=0, pad_id=None):
    ng.manual_seed(0)
    kw = dict(vocab_size=23, max_len=12, d_model=16, nhead=4, num_layers=2, dim_feedforward=32,
              type_vocab_size=type_vocab_size, pad_id=pad_id, norm_first=norm_first)
    model = BERT(dropout=0.0, **kw).double()
    twin = TBERT(**kw).double()
    twin.load_state_dict({k: torch.from_numpy(v.numpy().copy())
                          for k, v in model.state_dict().items()})
    return model, twin


def grads(module):
    return {k: p.grad.numpy() for k, p in module.named_parameters()}


@pytest.mark.parametrize("norm_first", [False, True])
def test_bert_matches_torch_logits_and_gradients(norm_first):
    model, twin = twins(norm_first, type_vocab_size=2, pad_id=0)
    rng = np.random.default_rng(0)
    ids = rng.integers(1, 23, size=(3, 9))
    ids[1, 6:] = 0                                          # padding at the end of row 1
    seg = (np.arange(9) >= 4).astype(np.int64)[None].repeat(3, 0)
    pad = ids == 0
    out = model(ng.tensor(ids), ng.tensor(seg), ng.tensor(pad))
    ref = twin(torch.from_numpy(ids), torch.from_numpy(seg), torch.from_numpy(pad))
    assert out.shape == (3, 9, 23)
    keep = ~pad                                             # torch leaves padded rows unspecified
    np.testing.assert_allclose(out.detach().numpy()[keep], ref.detach().numpy()[keep], atol=1e-10)
    w = rng.standard_normal((3, 9, 23)) * keep[..., None]
    (out * ng.tensor(w)).sum().backward()
    (ref * torch.from_numpy(w)).sum().backward()
    mine, theirs = grads(model), grads(twin)
    assert set(mine) == set(theirs)
    for k in mine:
        np.testing.assert_allclose(mine[k], theirs[k], atol=1e-9, err_msg=k)


def test_bert_double_backward_matches_torch():
    model, twin = twins(norm_first=True)
    ids = np.random.default_rng(1).integers(0, 23, size=(2, 7))
    out = model(ng.tensor(ids))
    with sdpa_kernel(SDPBackend.MATH):   # torch's fused kernels have no double backward
        ref = twin(torch.from_numpy(ids))
    p, q = model.mlm_dense.weight, twin.mlm_dense.weight
    (g,) = ng.autograd.grad(out.pow(2).sum(), p, create_graph=True)
    (h,) = torch.autograd.grad(ref.pow(2).sum(), q, create_graph=True)
    np.testing.assert_allclose(g.detach().numpy(), h.detach().numpy(), atol=1e-9)
    g.pow(2).sum().backward()
    h.pow(2).sum().backward()
    np.testing.assert_allclose(model.tok_embed.weight.grad.numpy(),
                               twin.tok_embed.weight.grad.numpy(), atol=1e-8)


def test_mlm_loss_counts_only_selected_positions():
    model, _ = twins()
    rng = np.random.default_rng(2)
    ids = rng.integers(5, 23, size=(4, 10))
    inputs, labels = mask_tokens(ids, 23, MASK, SPECIAL, mlm_probability=0.3,
                                 generator=ng.Generator().manual_seed(0))
    assert 0 < (labels.numpy() != IGNORE_INDEX).sum() < labels.numel()
    logits = model(inputs)
    full = F.cross_entropy(logits.flatten(0, 1), labels.flatten())   # ignore_index=-100
    loss = model.mlm_loss(inputs, labels)
    np.testing.assert_allclose(loss.item(), full.item(), rtol=1e-12)
    logits.retain_grad()
    F.cross_entropy(logits.flatten(0, 1), labels.flatten()).backward()
    unselected = labels.numpy() == IGNORE_INDEX
    assert np.all(logits.grad.numpy()[unselected] == 0)     # no gradient from them
    assert np.abs(logits.grad.numpy()[~unselected]).sum() > 0


def test_mlm_decoder_is_tied_to_the_token_embedding():
    model, twin = twins()
    assert model.mlm_decoder.weight is model.tok_embed.weight
    names = [n for n, _ in model.named_parameters()]
    assert "mlm_decoder.weight" not in names                 # one Parameter, counted once
    assert model.num_parameters() == sum(p.numel() for p in twin.parameters())
    ids = ng.tensor(np.random.default_rng(3).integers(0, 23, size=(2, 6)))
    model(ids).sum().backward()
    g = model.tok_embed.weight.grad.numpy()
    # the gradient sums both uses: output projection (every row) and input lookup
    assert np.all(np.abs(g).sum(1) > 0)


def test_bert_rejects_bad_inputs():
    model, _ = twins()
    with pytest.raises(ValueError, match=r"BERT: expected input_ids of shape \(batch, seq_len\)"):
        model(ng.tensor([1, 2, 3]))
    with pytest.raises(ValueError, match="exceeds max_len 12"):
        model(ng.zeros(1, 13, dtype=ng.int64))
