"""GPT (models/sequence/gpt.py) against a PyTorch twin of the same architecture in float64:
logits, loss and every parameter's gradient; weight tying; causality; the KV cache; the init."""
import math

import numpy as np
import pytest

import nablagrad as ng
from nablagrad.models.sequence.gpt import GPT, GPTConfig, KVCache

torch = pytest.importorskip("torch")
tnn, TF = torch.nn, torch.nn.functional


class TBlock(tnn.Module):
    def __init__(self, c, fused=False):
        super().__init__()
        self.n_head, self.fused = c.n_head, fused
        self.ln_1 = tnn.LayerNorm(c.n_embd, bias=c.bias)
        self.attn = tnn.Module()
        self.attn.c_attn = tnn.Linear(c.n_embd, 3 * c.n_embd, bias=c.bias)
        self.attn.c_proj = tnn.Linear(c.n_embd, c.n_embd, bias=c.bias)
        self.ln_2 = tnn.LayerNorm(c.n_embd, bias=c.bias)
        self.mlp = tnn.Module()
        self.mlp.c_fc = tnn.Linear(c.n_embd, 4 * c.n_embd, bias=c.bias)
        self.mlp.c_proj = tnn.Linear(4 * c.n_embd, c.n_embd, bias=c.bias)

    def attend(self, q, k, v):
        """Causal attention of the T new queries, which sit at the last T of S positions."""
        T, S = q.shape[2], k.shape[2]
        mask = torch.ones(T, S, dtype=torch.bool).tril(S - T)
        if self.fused:   # torch's fused kernel (benchmarks); it has no double backward
            return TF.scaled_dot_product_attention(q, k, v, attn_mask=None if T == 1 else mask)
        scores = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])
        return scores.masked_fill(~mask, -math.inf).softmax(-1) @ v

    def forward(self, x, cache=None, layer=0):
        B, T, C = x.shape
        q, k, v = self.attn.c_attn(self.ln_1(x)).split(C, dim=2)
        q, k, v = (t.view(B, T, self.n_head, C // self.n_head).transpose(1, 2) for t in (q, k, v))
        if cache is not None:           # a list of (k, v) per layer
            if cache[layer] is not None:
                k, v = torch.cat([cache[layer][0], k], 2), torch.cat([cache[layer][1], v], 2)
            cache[layer] = (k, v)
        x = x + self.attn.c_proj(self.attend(q, k, v).transpose(1, 2).reshape(B, T, C))
        return x + self.mlp.c_proj(TF.gelu(self.mlp.c_fc(self.ln_2(x)), approximate="tanh"))


class TGPT(tnn.Module):
    def __init__(self, c, fused=False):
        super().__init__()
        self.wte = tnn.Embedding(c.vocab_size, c.n_embd)
        self.wpe = tnn.Embedding(c.block_size, c.n_embd)
        self.h = tnn.ModuleList(TBlock(c, fused) for _ in range(c.n_layer))
        self.ln_f = tnn.LayerNorm(c.n_embd, bias=c.bias)
        self.lm_head = tnn.Linear(c.n_embd, c.vocab_size, bias=False)
        self.lm_head.weight = self.wte.weight

    def forward(self, idx, targets=None, cache=None):
        start = 0 if cache is None or cache[0] is None else cache[0][0].shape[2]
        x = self.wte(idx) + self.wpe(torch.arange(start, start + idx.shape[1]))
        for layer, block in enumerate(self.h):
            x = block(x, cache, layer)
        logits = self.lm_head(self.ln_f(x))
        if targets is None:
            return logits, None
        return logits, TF.cross_entropy(logits.flatten(0, 1), targets.flatten())


CFG = GPTConfig(vocab_size=13, block_size=12, n_layer=2, n_head=2, n_embd=8)


def twins(cfg=CFG, seed=0):
    ng.manual_seed(seed)
    ours = GPT(cfg).double()
    theirs = TGPT(cfg).double()
    theirs.load_state_dict({k: torch.from_numpy(v.numpy().copy())
                            for k, v in ours.state_dict().items()})
    return ours, theirs


def tokens(shape, seed=0, vocab=CFG.vocab_size):
    return np.random.default_rng(seed).integers(0, vocab, shape)


@pytest.mark.parametrize("bias", [True, False])
def test_logits_loss_and_gradients_match_torch(bias):
    cfg = GPTConfig(**{**CFG.__dict__, "bias": bias})
    ours, theirs = twins(cfg)
    idx, tgt = tokens((3, 10)), tokens((3, 10), seed=1)
    logits, loss = ours(ng.tensor(idx), ng.tensor(tgt))
    t_logits, t_loss = theirs(torch.from_numpy(idx), torch.from_numpy(tgt))
    np.testing.assert_allclose(logits.detach().numpy(), t_logits.detach().numpy(), atol=1e-12)
    assert loss.item() == pytest.approx(t_loss.item(), abs=1e-12)
    loss.backward()
    t_loss.backward()
    t_params = dict(theirs.named_parameters())
    for name, p in ours.named_parameters():
        np.testing.assert_allclose(p.grad.numpy(), t_params[name].grad.numpy(), atol=1e-11,
                                   err_msg=name)


def test_double_backward_matches_torch():
    ours, theirs = twins()
    idx, tgt = tokens((2, 6)), tokens((2, 6), seed=1)
    _, loss = ours(ng.tensor(idx), ng.tensor(tgt))
    _, t_loss = theirs(torch.from_numpy(idx), torch.from_numpy(tgt))
    (g,) = ng.autograd.grad(loss, [ours.h[0].mlp.c_fc.weight], create_graph=True)
    (tg,) = torch.autograd.grad(t_loss, [theirs.h[0].mlp.c_fc.weight], create_graph=True)
    (g * g).sum().backward()
    (tg * tg).sum().backward()
    np.testing.assert_allclose(ours.wpe.weight.grad.numpy(), theirs.wpe.weight.grad.numpy(),
                               atol=1e-11)


def test_lm_head_is_tied_to_the_token_embedding():
    model = GPT(CFG)
    assert model.lm_head.weight is model.wte.weight
    params = list(model.parameters())
    assert sum(p is model.wte.weight for p in params) == 1
    _, loss = model(ng.tensor(tokens((2, 5))), ng.tensor(tokens((2, 5), seed=1)))
    loss.backward()
    assert model.wte.weight.grad is model.lm_head.weight.grad


def test_future_tokens_do_not_change_earlier_logits():
    model = GPT(CFG).double()
    idx = tokens((2, 10))
    changed = idx.copy()
    changed[:, 6:] = (changed[:, 6:] + 1) % CFG.vocab_size
    a, _ = model(ng.tensor(idx))
    b, _ = model(ng.tensor(changed))
    np.testing.assert_array_equal(a[:, :6].detach().numpy(), b[:, :6].detach().numpy())
    assert not np.allclose(a[:, 6:].detach().numpy(), b[:, 6:].detach().numpy())


def test_kv_cache_gives_the_logits_of_the_full_context():
    model = GPT(CFG).double().eval()
    idx = ng.tensor(tokens((2, CFG.block_size)))
    full, _ = model(idx)
    cache = model.new_cache()
    assert isinstance(cache, KVCache) and cache.length == 0
    pieces = []
    for a, b in [(0, 5), (5, 6), (6, 9), (9, 10), (10, 12)]:   # a prompt, single tokens, chunks
        logits, _ = model(idx[:, a:b], cache=cache)
        pieces.append(logits)
        assert cache.length == b
    np.testing.assert_allclose(ng.cat(pieces, 1).detach().numpy(), full.detach().numpy(), atol=1e-13)


def test_cached_logits_match_the_torch_twin_with_a_cache():
    ours, theirs = twins()
    idx = tokens((2, 9))
    cache, t_cache = ours.new_cache(), [None] * CFG.n_layer
    for a, b in [(0, 4), (4, 5), (5, 9)]:
        logits, _ = ours(ng.tensor(idx[:, a:b]), cache=cache)
        t_logits, _ = theirs(torch.from_numpy(idx[:, a:b]), cache=t_cache)
        np.testing.assert_allclose(logits.detach().numpy(), t_logits.detach().numpy(),
                                   atol=1e-12)


def test_cache_overflow_and_bad_shapes_raise():
    model = GPT(CFG)
    cache = model.new_cache()
    model(ng.tensor(tokens((1, 10))), cache=cache)
    with pytest.raises(ValueError, match="exceed block_size 12"):
        model(ng.tensor(tokens((1, 3))), cache=cache)
    with pytest.raises(ValueError, match="batch, time"):
        model(ng.tensor(tokens(5)))
    with pytest.raises(ValueError, match="divisible by n_head"):
        GPT(GPTConfig(n_embd=10, n_head=4))


def test_gpt2_init():
    cfg = GPTConfig(vocab_size=50, block_size=64, n_layer=3, n_head=4, n_embd=64)
    ng.manual_seed(0)
    model = GPT(cfg)
    assert model.wte.weight.std().item() == pytest.approx(0.02, rel=0.05)
    assert model.h[0].attn.c_attn.weight.std().item() == pytest.approx(0.02, rel=0.05)
    resid = 0.02 / math.sqrt(2 * cfg.n_layer)
    w = ng.cat([b.mlp.c_proj.weight.flatten() for b in model.h])
    assert w.std().item() == pytest.approx(resid, rel=0.05)
    assert model.h[1].attn.c_proj.bias.abs().max().item() == 0
    assert model.ln_f.weight.min().item() == 1


def test_dropout_only_in_training_mode():
    model = GPT(GPTConfig(**{**CFG.__dict__, "dropout": 0.5}))
    idx = ng.tensor(tokens((2, 8)))
    model.eval()
    a, b = model(idx)[0], model(idx)[0]
    np.testing.assert_array_equal(a.detach().numpy(), b.detach().numpy())
    model.train()
    assert not np.array_equal(model(idx)[0].detach().numpy(), a.detach().numpy())
