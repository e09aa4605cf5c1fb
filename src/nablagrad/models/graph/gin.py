"""Graph Isomorphism Network (K. Xu, W. Hu, J. Leskovec, S. Jegelka, "How Powerful are Graph
Neural Networks?", ICLR 2019; notes 000 "GCN: Improvement").

    x'_i = MLP((1 + ε) · x_i + Σ_{j ∈ N(i)} x_j)

Sum aggregation (injective on multisets, unlike mean or max) followed by an MLP makes the layer
as discriminative as the Weisfeiler–Lehman test; ε is a fixed number or, with ``train_eps``, a
learned scalar (dL/dε = Σ_i ⟨dL/dh_i, x_i⟩ with h_i the MLP input). Graph-level tasks read out
with a sum over the nodes (``global_add_pool``).
"""
from ... import nn
from ...ops.creation import tensor
from ...nn import Parameter
from ...nn import functional as F
from .message_passing import MessagePassing, check_edge_index
from .sparse import SparseFeatures, dropout, linear


class GINConv(MessagePassing):
    """x'_i = nn((1 + eps) · x_i + Σ_{j ∈ N(i)} x_j); ``eps`` is a Parameter if ``train_eps``
    (else a buffer)."""

    def __init__(self, nn, eps=0.0, train_eps=False):
        super().__init__(aggr="sum")
        self.nn = nn
        value = tensor([float(eps)])
        if train_eps:
            self.eps = Parameter(value)
        else:
            self.register_buffer("eps", value)

    def forward(self, x, edge_index):
        first = self.nn[0] if isinstance(self.nn, nn.Sequential) and len(self.nn) else None
        if isinstance(first, nn.Linear) and (isinstance(x, SparseFeatures)
                                             or first.out_features < first.in_features):
            # the MLP's first Linear commutes with (1 + ε)x_i + Σ x_j: apply it first and
            # aggregate the narrower vectors (same result, less work)
            check_edge_index(edge_index, x.shape[0], "GINConv")
            h = linear(x, first.weight)
            out = (1 + self.eps.to(h.dtype)) * h + self.aggregate(
                h.index_select(0, edge_index[0]), edge_index[1], h.shape[0])
            out = out if first.bias is None else out + first.bias
            return self.nn[1:](out)
        return self.propagate(edge_index, x.to_dense() if isinstance(x, SparseFeatures) else x)

    def update(self, aggr_out, x):
        return self.nn((1 + self.eps.to(x.dtype)) * x + aggr_out)

    def extra_repr(self):
        return f"train_eps={isinstance(self.eps, Parameter)}"


def gin_mlp(in_channels, hidden_channels, out_channels):
    """Linear → ReLU → Linear (the paper's MLP also has a BatchNorm1d after the first Linear)."""
    return nn.Sequential(nn.Linear(in_channels, hidden_channels), nn.ReLU(),
                         nn.Linear(hidden_channels, out_channels))


class GIN(nn.Module):
    """Two-layer node classifier with learnable ε: dropout → GINConv(MLP) → ReLU → dropout →
    GINConv(MLP) (logits)."""

    def __init__(self, in_channels, hidden_channels=16, num_classes=7, dropout=0.5):
        super().__init__()
        self.dropout = dropout
        self.conv1 = GINConv(gin_mlp(in_channels, hidden_channels, hidden_channels), train_eps=True)
        self.conv2 = GINConv(gin_mlp(hidden_channels, hidden_channels, num_classes),
                             train_eps=True)

    def forward(self, x, edge_index):
        x = dropout(x, self.dropout, self.training)
        x = F.relu(self.conv1(x, edge_index))
        x = F.dropout(x, self.dropout, self.training)
        return self.conv2(x, edge_index)
