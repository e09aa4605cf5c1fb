"""GraphSAGE with the mean aggregator (W. Hamilton, R. Ying, J. Leskovec, "Inductive
Representation Learning on Large Graphs", NeurIPS 2017; notes 000 "GCN: Improvement").

    x'_i = W_1 x_i + W_2 · mean_{j ∈ N(i)} x_j + b        (optionally x'_i ← x'_i / ‖x'_i‖₂)

This is the paper's h_i = σ(Wᵀ[h_i, AGG({h_j})]) with the concatenation split into a root
weight W_1 and a neighbour weight W_2, and it is also the notes' (000) mean-aggregation graph
conv H' = σ(D⁻¹ A H Wᵀ + H Bᵀ) (ERRATA X12 gives it its own name: this layer). Gradients:
dL/dx_j gets W_2ᵀ dL/dx'_i / |N(i)| from each out-neighbour i, plus W_1ᵀ dL/dx'_j.
The aggregator can also be "sum" or "max" (the paper's pooling aggregator applies an MLP first).
"""
from ... import nn
from ...nn import functional as F
from .message_passing import MessagePassing
from .sparse import SparseFeatures, dropout, linear


class SAGEConv(MessagePassing):
    """x'_i = lin_l(⊕_{j ∈ N(i)} x_j) + lin_r(x_i); ``lin_l`` has the bias, ``lin_r`` none
    (dropped when ``root_weight=False``); ``normalize`` L2-normalises the output rows. ``x`` may
    be dense or ``SparseFeatures``."""

    def __init__(self, in_channels, out_channels, aggr="mean", normalize=False, root_weight=True,
                 bias=True):
        super().__init__(aggr=aggr)
        self.in_channels, self.out_channels = in_channels, out_channels
        self.normalize, self.root_weight = normalize, root_weight
        self.lin_l = nn.Linear(in_channels, out_channels, bias=bias)
        self.lin_r = nn.Linear(in_channels, out_channels, bias=False) if root_weight else None

    def forward(self, x, edge_index):
        if self.aggr in ("sum", "mean") and (isinstance(x, SparseFeatures)
                                             or self.out_channels < self.in_channels):
            # sum and mean commute with the linear map: lin_l(⊕ x_j) = ⊕ (W_l x_j) + b_l,
            # so project first and aggregate the narrower vectors
            out = self.propagate(edge_index, linear(x, self.lin_l.weight))
            if self.lin_l.bias is not None:
                out = out + self.lin_l.bias
        else:
            dense = x.to_dense() if isinstance(x, SparseFeatures) else x
            out = self.lin_l(self.propagate(edge_index, dense))
        if self.lin_r is not None:
            out = out + linear(x, self.lin_r.weight)
        return F.normalize(out, p=2.0, dim=-1) if self.normalize else out

    def extra_repr(self):
        return f"{self.in_channels}, {self.out_channels}, aggr={self.aggr!r}"


class GraphSAGE(nn.Module):
    """Two-layer node classifier: dropout → SAGEConv → ReLU → dropout → SAGEConv (logits)."""

    def __init__(self, in_channels, hidden_channels=16, num_classes=7, dropout=0.5, aggr="mean"):
        super().__init__()
        self.dropout = dropout
        self.conv1 = SAGEConv(in_channels, hidden_channels, aggr=aggr)
        self.conv2 = SAGEConv(hidden_channels, num_classes, aggr=aggr)

    def forward(self, x, edge_index):
        x = dropout(x, self.dropout, self.training)
        x = F.relu(self.conv1(x, edge_index))
        x = F.dropout(x, self.dropout, self.training)
        return self.conv2(x, edge_index)
