"""Graph layers against dense-adjacency formulas written in torch (float64, outputs and the
gradients of inputs and parameters), the notes' permutation property (relabel the nodes ⇒ node
outputs are relabelled the same way, graph readouts unchanged) for every layer, gradcheck and
gradgradcheck of small layers, GAT attention rows summing to 1, and input errors."""
import numpy as np
import pytest
import torch

import nablagrad as ng
from nablagrad.autograd import gradcheck, gradgradcheck
from nablagrad.models.graph import (GAT, GCN, GIN, GATConv, GCNConv, GINConv, GraphSAGE,
                                    MessagePassing, SAGEConv, SparseFeatures, gcn_norm, gin_mlp,
                                    global_add_pool, global_max_pool, global_mean_pool, scatter,
                                    softmax)

N, F_IN = 7, 4


def random_graph(rng, n=N, p=0.35, directed=False, isolated=True):
    """Edges j → i without duplicates or self-loops; node n-1 is isolated when ``isolated``."""
    a = rng.random((n, n)) < p
    np.fill_diagonal(a, False)
    if not directed:
        a = a | a.T
    if isolated:
        a[n - 1, :] = a[:, n - 1] = False
    dst, src = np.nonzero(a)
    order = rng.permutation(src.size)  # edge order must not matter
    return np.stack([src[order], dst[order]]).astype(np.int64)


def dense_adj(ei, n, weight=None):
    """A[i, j] = weight of edge j → i."""
    a = np.zeros((n, n))
    np.add.at(a, (ei[1], ei[0]), 1.0 if weight is None else weight)
    return torch.from_numpy(a)


def t(x):
    return torch.from_numpy(x.detach().numpy().copy()).requires_grad_(True)


def ng64(x):
    return ng.tensor(x).requires_grad_(True)


def check_grads(ng_params, t_params, atol=1e-10):
    for (name, p), q in zip(ng_params, t_params):
        assert p.grad is not None, name
        np.testing.assert_allclose(p.grad.numpy(), q.grad.numpy(), atol=atol, rtol=1e-8,
                                   err_msg=name)


def permuted(rng, x, ei):
    """(perm, x[perm], edges relabelled): new node k is old node perm[k]."""
    perm = rng.permutation(x.shape[0])
    inv = np.argsort(perm)
    return perm, x[ng.tensor(perm)], ng.tensor(inv[ei])


# ----------------------------------------------------------------------------- aggregation
@pytest.mark.parametrize("reduce", ["sum", "mean", "max", "min"])
def test_scatter_and_message_passing_match_dense_reference(rng, reduce):
    ei = random_graph(rng, directed=True)
    x = rng.standard_normal((N, F_IN))
    a = dense_adj(ei, N).numpy() > 0
    if reduce in ("sum", "mean"):
        want = a.astype(float) @ x
        if reduce == "mean":
            want /= np.maximum(a.sum(1, keepdims=True), 1)
    else:
        fill = -np.inf if reduce == "max" else np.inf
        cand = np.where(a[:, :, None], x[None], fill)
        want = cand.max(1) if reduce == "max" else cand.min(1)
        want[~a.any(1)] = 0.0  # no in-edges: 0
    mp = MessagePassing(aggr=reduce)
    xt = ng64(x)
    out = mp.propagate(ng.tensor(ei), xt)
    np.testing.assert_allclose(out.detach().numpy(), want, atol=1e-12)
    direct = scatter(xt.index_select(0, ng.tensor(ei[0])), ng.tensor(ei[1]), N, reduce)
    np.testing.assert_allclose(direct.detach().numpy(), want, atol=1e-12)
    # gradient against torch's dense formula
    xr = torch.from_numpy(x).requires_grad_(True)
    at = torch.from_numpy(a.astype(float))
    if reduce in ("sum", "mean"):
        ref = at @ xr
        if reduce == "mean":
            ref = ref / at.sum(1, keepdim=True).clamp(min=1)
    else:
        big = torch.where(at.bool()[:, :, None], xr[None], torch.tensor(float("inf")
                                                                        if reduce == "min"
                                                                        else -float("inf")))
        ref = big.amax(1) if reduce == "max" else big.amin(1)
        ref = torch.where(at.bool().any(1, keepdim=True), ref, torch.zeros(()))
    w = rng.standard_normal(want.shape)
    (out * ng.tensor(w)).sum().backward()
    (ref * torch.from_numpy(w)).sum().backward()
    np.testing.assert_allclose(xt.grad.numpy(), xr.grad.numpy(), atol=1e-12)


def test_segment_softmax_sums_to_one_per_group(rng):
    index = ng.tensor(np.array([0, 2, 2, 0, 2, 3]))
    s = ng64(rng.standard_normal((6, 2)) * 30)  # large scores: the max shift keeps it finite
    a = softmax(s, index, 5).detach().numpy()
    sums = np.zeros((5, 2))
    np.add.at(sums, index.numpy(), a)
    np.testing.assert_allclose(sums[[0, 2, 3]], 1.0)
    assert gradcheck(lambda v: softmax(v, index, 5), (ng64(rng.standard_normal((6, 2))),))
    assert gradgradcheck(lambda v: softmax(v, index, 5), (ng64(rng.standard_normal((6, 2))),))


def test_global_pools_match_numpy(rng):
    x = rng.standard_normal((9, 3))
    batch = np.array([0, 0, 1, 1, 1, 1, 2, 2, 2])
    xt, bt = ng.tensor(x), ng.tensor(batch)
    for pool, fn in ((global_add_pool, np.sum), (global_mean_pool, np.mean),
                     (global_max_pool, np.max)):
        want = np.stack([fn(x[batch == g], axis=0) for g in range(3)])
        np.testing.assert_allclose(pool(xt, bt).numpy(), want, atol=1e-12)
        np.testing.assert_allclose(pool(xt).numpy(), fn(x, axis=0, keepdims=True), atol=1e-12)
    assert global_add_pool(xt, bt, size=5).shape == (5, 3)


# ----------------------------------------------------------------------------- GCN
@pytest.mark.parametrize("directed,weighted", [(False, False), (True, False), (False, True)])
def test_gcnconv_matches_dense_formula(rng, directed, weighted):
    ei = random_graph(rng, directed=directed)
    x = rng.standard_normal((N, F_IN))
    w = rng.random(ei.shape[1]) + 0.5 if weighted else None
    conv = GCNConv(F_IN, 3).double()
    xt = ng64(x)
    out = conv(xt, ng.tensor(ei), None if w is None else ng.tensor(w))
    # torch: Â = D̃^-1/2 (A + I) D̃^-1/2, D̃_ii = Σ_j Ã_ij; out = Â X Wᵀ + b
    a_tilde = dense_adj(ei, N, w) + torch.eye(N, dtype=torch.float64)
    d = a_tilde.sum(1).pow(-0.5)
    a_hat = d[:, None] * a_tilde * d[None, :]
    xr, wr, br = torch.from_numpy(x).requires_grad_(True), t(conv.weight), t(conv.bias)
    ref = a_hat @ xr @ wr.T + br
    np.testing.assert_allclose(out.detach().numpy(), ref.detach().numpy(), atol=1e-12)
    g = rng.standard_normal(ref.shape)
    (out * ng.tensor(g)).sum().backward()
    (ref * torch.from_numpy(g)).sum().backward()
    check_grads([("x", xt), ("weight", conv.weight), ("bias", conv.bias)], [xr, wr, br])


def test_gcn_norm_isolated_node_without_self_loops_gets_zero(rng):
    ei = ng.tensor(np.array([[0, 1], [1, 0]]))
    _, w = gcn_norm(ei, 3, add_loops=False, dtype=ng.float64)
    np.testing.assert_allclose(w.numpy(), [1.0, 1.0])
    conv = GCNConv(2, 2, add_self_loops=False).double()
    out = conv(ng.ones(3, 2, dtype=ng.float64), ei)
    np.testing.assert_allclose(out[2].detach().numpy(), 0.0)  # zero bias, no edges


def test_gcnconv_cache_is_reused_for_the_same_graph_only(rng):
    conv = GCNConv(F_IN, 2, cached=True).double()
    x = ng.tensor(rng.standard_normal((N, F_IN)))
    ei1, ei2 = ng.tensor(random_graph(rng)), ng.tensor(random_graph(rng))
    fresh = GCNConv(F_IN, 2).double()
    fresh.load_state_dict(conv.state_dict())
    out1 = conv(x, ei1)
    cached_graph = conv._cache[1]
    assert conv(x, ei1) is not None and conv._cache[1] is cached_graph  # reused
    np.testing.assert_allclose(conv(x, ei2).detach().numpy(), fresh(x, ei2).detach().numpy())
    assert conv._cache[1] is not cached_graph  # another graph: recomputed
    np.testing.assert_allclose(out1.detach().numpy(), fresh(x, ei1).detach().numpy())


# ----------------------------------------------------------------------------- GraphSAGE
@pytest.mark.parametrize("aggr", ["mean", "sum", "max"])
@pytest.mark.parametrize("out_channels", [3, 6])  # narrower: projected before aggregating
def test_sageconv_matches_dense_formula(rng, aggr, out_channels):
    ei = random_graph(rng)
    x = rng.standard_normal((N, F_IN))
    conv = SAGEConv(F_IN, out_channels, aggr=aggr, normalize=aggr == "sum").double()
    xt = ng64(x)
    out = conv(xt, ng.tensor(ei))
    a = dense_adj(ei, N)
    xr = torch.from_numpy(x).requires_grad_(True)
    wl, bl, wr = t(conv.lin_l.weight), t(conv.lin_l.bias), t(conv.lin_r.weight)
    if aggr == "max":
        big = torch.where(a.bool()[:, :, None], xr[None], torch.tensor(-float("inf")))
        agg = torch.where(a.bool().any(1, keepdim=True), big.amax(1), torch.zeros(()))
    else:
        agg = a @ xr
        if aggr == "mean":
            agg = agg / a.sum(1, keepdim=True).clamp(min=1)
    ref = agg @ wl.T + bl + xr @ wr.T
    if aggr == "sum":
        ref = torch.nn.functional.normalize(ref, dim=-1)
    np.testing.assert_allclose(out.detach().numpy(), ref.detach().numpy(), atol=1e-12)
    g = rng.standard_normal(ref.shape)
    (out * ng.tensor(g)).sum().backward()
    (ref * torch.from_numpy(g)).sum().backward()
    check_grads([("x", xt), ("lin_l.weight", conv.lin_l.weight), ("lin_l.bias", conv.lin_l.bias),
                 ("lin_r.weight", conv.lin_r.weight)], [xr, wl, bl, wr])


# ----------------------------------------------------------------------------- GIN
@pytest.mark.parametrize("hidden", [5, 2])  # narrower: first Linear applied before aggregating
def test_ginconv_matches_dense_formula(rng, hidden):
    ei = random_graph(rng)
    x = rng.standard_normal((N, F_IN))
    conv = GINConv(gin_mlp(F_IN, hidden, 3), eps=0.3, train_eps=True).double()
    xt = ng64(x)
    out = conv(xt, ng.tensor(ei))
    a = dense_adj(ei, N)
    xr = torch.from_numpy(x).requires_grad_(True)
    eps = t(conv.eps)
    w1, b1, w2, b2 = (t(p) for p in (conv.nn[0].weight, conv.nn[0].bias, conv.nn[2].weight,
                                     conv.nn[2].bias))
    h = (1 + eps) * xr + a @ xr
    ref = torch.relu(h @ w1.T + b1) @ w2.T + b2
    np.testing.assert_allclose(out.detach().numpy(), ref.detach().numpy(), atol=1e-12)
    g = rng.standard_normal(ref.shape)
    (out * ng.tensor(g)).sum().backward()
    (ref * torch.from_numpy(g)).sum().backward()
    check_grads([("x", xt), ("eps", conv.eps), ("w1", conv.nn[0].weight),
                 ("w2", conv.nn[2].weight)], [xr, eps, w1, w2])
    assert "eps" in dict(GINConv(gin_mlp(2, 2, 2)).named_buffers())  # fixed eps: a buffer


# ----------------------------------------------------------------------------- GAT
def gat_dense(conv, xr, ei, n, params):
    """Dense GAT in torch: e_ij = LeakyReLU(a_srcᵀ z_j + a_dstᵀ z_i) on (A + I)'s entries,
    α = row softmax, out_i = Σ_j α_ij z_j (concat or mean over heads) + b."""
    w, a_src, a_dst, b = params
    h, c = conv.heads, conv.out_channels
    z = (xr @ w.T).reshape(n, h, c)
    s_src, s_dst = (z * a_src).sum(-1), (z * a_dst).sum(-1)        # (n, h)
    e = torch.nn.functional.leaky_relu(s_dst[:, None, :] + s_src[None, :, :], 0.2)  # (i, j, h)
    mask = (dense_adj(ei, n) + torch.eye(n, dtype=torch.float64)).bool()
    e = e.masked_fill(~mask[:, :, None], -float("inf"))
    alpha = torch.softmax(e, dim=1)
    out = torch.einsum("ijh,jhc->ihc", alpha, z)
    out = out.reshape(n, h * c) if conv.concat else out.mean(1)
    return out + b, alpha


@pytest.mark.parametrize("heads,concat", [(1, True), (3, True), (2, False)])
def test_gatconv_matches_dense_formula_and_attention_sums_to_one(rng, heads, concat):
    ei = random_graph(rng)
    x = rng.standard_normal((N, F_IN))
    conv = GATConv(F_IN, 2, heads=heads, concat=concat).double()
    xt = ng64(x)
    out, (edges, alpha) = conv(xt, ng.tensor(ei), return_attention_weights=True)
    params = [t(conv.lin.weight), t(conv.att_src), t(conv.att_dst), t(conv.bias)]
    xr = torch.from_numpy(x).requires_grad_(True)
    ref, ref_alpha = gat_dense(conv, xr, ei, N, params)
    np.testing.assert_allclose(out.detach().numpy(), ref.detach().numpy(), atol=1e-12)
    e = edges.numpy()
    np.testing.assert_allclose(alpha.detach().numpy(), ref_alpha.detach().numpy()[e[1], e[0]],
                               atol=1e-12)
    sums = np.zeros((N, heads))
    np.add.at(sums, e[1], alpha.detach().numpy())
    np.testing.assert_allclose(sums, 1.0, atol=1e-12)  # every neighbourhood, incl. self-loop
    g = rng.standard_normal(ref.shape)
    (out * ng.tensor(g)).sum().backward()
    (ref * torch.from_numpy(g)).sum().backward()
    check_grads([("x", xt), ("lin.weight", conv.lin.weight), ("att_src", conv.att_src),
                 ("att_dst", conv.att_dst), ("bias", conv.bias)], [xr, *params])


def test_gat_attention_dropout_only_in_training(rng):
    ei = ng.tensor(random_graph(rng))
    conv = GATConv(F_IN, 2, heads=2, dropout=0.5).double()
    x = ng.tensor(rng.standard_normal((N, F_IN)))
    conv.eval()
    np.testing.assert_allclose(conv(x, ei).detach().numpy(), conv(x, ei).detach().numpy())
    conv.train()
    ng.manual_seed(0)
    assert not np.allclose(conv(x, ei).detach().numpy(), conv.eval()(x, ei).detach().numpy())


# ----------------------------------------------------------------------------- gradcheck
def small_layers():
    ng.manual_seed(1)
    return {
        "gcn": GCNConv(3, 2).double(),
        "sage": SAGEConv(3, 2).double(),
        "sage-wide": SAGEConv(3, 5).double(),
        "gin-narrow": GINConv(gin_mlp(3, 2, 2), train_eps=True).double(),
        "sage-max": SAGEConv(3, 2, aggr="max").double(),
        "gat": GATConv(3, 2, heads=2).double(),
        "gin": GINConv(gin_mlp(3, 4, 2), train_eps=True).double(),
    }


@pytest.mark.parametrize("name", list(small_layers()))
def test_layers_gradcheck_and_gradgradcheck(rng, name):
    layer = small_layers()[name]
    ei = ng.tensor(random_graph(rng, n=5, p=0.5))
    x = ng64(rng.standard_normal((5, 3)))
    fn = lambda v: layer(v, ei)  # noqa: E731
    assert gradcheck(fn, (x,))
    if name not in ("sage-max", "gin", "gin-narrow"):  # max, ReLU: piecewise linear
        assert gradgradcheck(fn, (x,))


# ----------------------------------------------------------------------------- permutations
def all_layers():
    ng.manual_seed(2)
    return [
        MessagePassing(aggr="sum"), MessagePassing(aggr="mean"), MessagePassing(aggr="max"),
        GCNConv(F_IN, 3), SAGEConv(F_IN, 3), SAGEConv(F_IN, 3, aggr="max"),
        GATConv(F_IN, 3, heads=2), GATConv(F_IN, 3, heads=2, concat=False),
        GINConv(gin_mlp(F_IN, 5, 3), train_eps=True),
        GCN(F_IN, 5, 3), GraphSAGE(F_IN, 5, 3), GAT(F_IN, 2, 3, heads=2), GIN(F_IN, 5, 3),
    ]


@pytest.mark.parametrize("index", range(len(all_layers())))
def test_permuting_nodes_permutes_outputs_and_keeps_readouts(rng, index):
    layer = all_layers()[index].double().eval()
    run = layer.propagate if type(layer) is MessagePassing else layer
    n = 12
    ei = random_graph(rng, n=n, p=0.3)
    x = ng.tensor(rng.standard_normal((n, F_IN)))
    out = (run(ng.tensor(ei), x) if run is not layer else run(x, ng.tensor(ei))).detach()
    perm, xp, eip = permuted(rng, x, ei)
    outp = (run(eip, xp) if run is not layer else run(xp, eip)).detach()
    np.testing.assert_allclose(outp.numpy(), out.detach().numpy()[perm], atol=1e-12)  # equivariant
    for pool in (global_add_pool, global_mean_pool, global_max_pool):          # invariant
        np.testing.assert_allclose(pool(outp).numpy(), pool(out).numpy(), atol=1e-12)
    # two graphs in one batch: relabelling inside each graph leaves both readouts unchanged
    batch = ng.tensor(np.repeat([0, 1], n // 2))
    inside = np.concatenate([rng.permutation(n // 2), n // 2 + rng.permutation(n // 2)])
    ei_two = ei[:, (ei[0] < n // 2) == (ei[1] < n // 2)]  # no edges between the two graphs
    inv = np.argsort(inside)
    a = run(ng.tensor(ei_two), x) if run is not layer else run(x, ng.tensor(ei_two))
    b_in = x[ng.tensor(inside)]
    b = (run(ng.tensor(inv[ei_two]), b_in) if run is not layer
         else run(b_in, ng.tensor(inv[ei_two])))
    np.testing.assert_allclose(global_mean_pool(b.detach(), batch).numpy(),
                               global_mean_pool(a.detach(), batch).numpy(), atol=1e-12)


# ----------------------------------------------------------------------------- sparse features
def sparse_input(rng, n=N, f=6):
    x = rng.standard_normal((n, f)) * (rng.random((n, f)) < 0.3)
    return x, SparseFeatures.from_dense(ng.tensor(x))


@pytest.mark.parametrize("make", [
    lambda: GCN(6, 4, 3), lambda: GraphSAGE(6, 4, 3), lambda: GraphSAGE(6, 4, 3, aggr="max"),
    lambda: GAT(6, 2, 3, heads=2), lambda: GIN(6, 4, 3), lambda: GIN(6, 8, 3)])
def test_sparse_features_give_the_dense_results(rng, make):
    ng.manual_seed(3)
    model = make().double().eval()
    ei = ng.tensor(random_graph(rng))
    x, sx = sparse_input(rng)
    assert sx.nnz == np.count_nonzero(x)
    np.testing.assert_array_equal(sx.to_dense().numpy(), x)
    dense = model(ng.tensor(x), ei)
    dense.sum().backward()
    grads = {k: p.grad.numpy().copy() for k, p in model.named_parameters()}
    model.zero_grad()
    sparse = model(sx, ei)
    sparse.sum().backward()
    np.testing.assert_allclose(sparse.detach().numpy(), dense.detach().numpy(), atol=1e-12)
    for k, p in model.named_parameters():
        np.testing.assert_allclose(p.grad.numpy(), grads[k], atol=1e-12, err_msg=k)


def test_sparse_dropout_drops_only_stored_values(rng):
    from nablagrad.models.graph.sparse import dropout
    x, sx = sparse_input(rng, n=40, f=30)
    ng.manual_seed(0)
    out = dropout(sx, 0.4, True).to_dense().numpy()
    kept = out != 0
    assert not kept[x == 0].any()
    np.testing.assert_allclose(out[kept], x[kept] / 0.6)
    assert 0.45 < kept.sum() / np.count_nonzero(x) < 0.75
    assert dropout(sx, 0.4, False) is sx


# ----------------------------------------------------------------------------- errors
def test_bad_inputs_raise_clear_errors():
    x = ng.randn(3, 2)
    conv = GCNConv(2, 2)
    with pytest.raises(ValueError, match=r"GCNConv: edge_index must be a \(2, E\) tensor"):
        conv(x, ng.tensor([0, 1, 2]))
    with pytest.raises(TypeError, match="must hold integers"):
        conv(x, ng.tensor([[0.0, 1.0], [1.0, 0.0]]))
    with pytest.raises(IndexError, match=r"node ids in \[0, 5\] but there are 3 nodes"):
        SAGEConv(2, 2)(x, ng.tensor([[0, 5], [1, 0]]))
    with pytest.raises(ValueError, match="aggr must be one of"):
        SAGEConv(2, 2, aggr="median")
    with pytest.raises(ValueError, match="one graph id per node"):
        global_mean_pool(x, ng.tensor([0, 1]))
