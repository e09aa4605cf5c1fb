"""Graph convolutional network (T. Kipf, M. Welling, "Semi-Supervised Classification with Graph
Convolutional Networks", ICLR 2017; notes 002 "Graph Neural Networks", ERRATA X12).

    H' = D̃^{-1/2} Ã D̃^{-1/2} H W + b,     Ã = A + I,  D̃_ii = Σ_j Ã_ij

i.e. for every node i, x'_i = Σ_{j ∈ N(i) ∪ {i}} â_ij W x_j + b with â_ij = w_ji / √(d̃_i d̃_j)
(w_ji = 1 without edge weights). As message passing: m_ji = â_ij (W x_j), summed at i.
Gradients: dL/dH = Âᵀ (dL/dH') Wᵀ (Â is symmetric for undirected graphs),
dL/dW = Hᵀ Âᵀ dL/dH'. The normalised adjacency depends only on the graph: with ``cached=True``
it is computed once and reused while the same ``edge_index`` tensor is passed (transductive
learning on one graph, as in the paper).

The model of the paper: Z = softmax(Â ReLU(Â X W⁰) W¹) with dropout on the inputs of both
layers, hidden 16, weight decay 5·10⁻⁴ on W⁰ (the softmax lives in ``F.cross_entropy``).
"""
from ... import nn
from ...backend import get_default_dtype
from ...ops.creation import empty, ones
from ...ops.elementwise import where
from ...nn import functional as F
from ...nn import init
from .message_passing import MessagePassing, add_self_loops, check_edge_index, scatter
from .sparse import dropout, linear


def gcn_norm(edge_index, num_nodes, edge_weight=None, add_loops=True, dtype=None):
    """The edges of Ã (self-loops added when ``add_loops``) and their weights
    â_ij = w_ji / √(d̃_i d̃_j), with d̃_i = Σ_{edges into i} w (nodes of degree 0 get 0)."""
    if edge_weight is None:
        edge_weight = ones(edge_index.shape[1], dtype=dtype or get_default_dtype())
    if add_loops:
        edge_index, edge_weight = add_self_loops(edge_index, edge_weight, 1.0, num_nodes)
    src, dst = edge_index[0], edge_index[1]
    deg = scatter(edge_weight, dst, num_nodes, "sum")
    has = deg > 0
    inv_sqrt = where(has, deg, 1.0).pow(-0.5) * has  # safe gradient at degree 0
    return edge_index, inv_sqrt.index_select(0, src) * edge_weight * inv_sqrt.index_select(0, dst)


class GCNConv(MessagePassing):
    """x'_i = Σ_{j ∈ N(i) ∪ {i}} â_ij W x_j + b (Kipf & Welling). ``weight`` is (out, in) like
    ``nn.Linear``; Glorot-uniform init, zero bias (as the paper's code)."""

    def __init__(self, in_channels, out_channels, cached=False, add_self_loops=True,
                 normalize=True, bias=True):
        super().__init__(aggr="sum")
        self.in_channels, self.out_channels = in_channels, out_channels
        self.cached, self.add_self_loops, self.normalize = cached, add_self_loops, normalize
        self.weight = nn.Parameter(empty(out_channels, in_channels))
        self.bias = nn.Parameter(empty(out_channels)) if bias else None
        self._cache = None
        self.reset_parameters()

    def reset_parameters(self):
        init.xavier_uniform_(self.weight)
        if self.bias is not None:
            init.zeros_(self.bias)
        self._cache = None

    def _graph(self, edge_index, num_nodes, edge_weight, dtype):
        key = (edge_index._version, num_nodes, dtype)
        if self.cached and edge_weight is None and self._cache is not None:
            (owner, *rest), graph = self._cache
            if owner is edge_index and tuple(rest) == key:
                return graph
        check_edge_index(edge_index, num_nodes, "GCNConv")
        if self.normalize:
            graph = gcn_norm(edge_index, num_nodes, edge_weight, self.add_self_loops, dtype)
        else:
            graph = (edge_index, edge_weight)
        if self.cached and edge_weight is None:
            self._cache = ((edge_index,) + key, graph)
        return graph

    def forward(self, x, edge_index, edge_weight=None):
        ei, w = self._graph(edge_index, x.shape[0], edge_weight, x.dtype)
        out = self.propagate(ei, linear(x, self.weight), edge_weight=w)
        return out if self.bias is None else out + self.bias

    def message(self, x_j, edge_weight=None):
        return x_j if edge_weight is None else x_j * edge_weight.unsqueeze(-1)

    def extra_repr(self):
        return f"{self.in_channels}, {self.out_channels}"


class GCN(nn.Module):
    """Kipf & Welling's two-layer node classifier: dropout → GCNConv → ReLU → dropout → GCNConv,
    returning logits (N, num_classes). Both layers cache Â (one graph, transductive); ``x`` may
    be ``SparseFeatures`` (then the input dropout is the paper's sparse dropout)."""

    def __init__(self, in_channels, hidden_channels=16, num_classes=7, dropout=0.5):
        super().__init__()
        self.dropout = dropout
        self.conv1 = GCNConv(in_channels, hidden_channels, cached=True)
        self.conv2 = GCNConv(hidden_channels, num_classes, cached=True)

    def forward(self, x, edge_index):
        x = dropout(x, self.dropout, self.training)
        x = F.relu(self.conv1(x, edge_index))
        x = F.dropout(x, self.dropout, self.training)
        return self.conv2(x, edge_index)
