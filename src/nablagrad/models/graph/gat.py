"""Graph attention network (P. Veličković et al., "Graph Attention Networks", ICLR 2018; notes
000 "GCN: Improvement": attention over the neighbours).

For each head k, with z_i = W^k x_i (one shared linear map, C features per head):

    e_ij = LeakyReLU_{0.2}(a_srcᵀ z_j + a_dstᵀ z_i)          (= aᵀ[z_i ‖ z_j], a split in two)
    α_ij = exp(e_ij) / Σ_{l ∈ N(i) ∪ {i}} exp(e_il)                 (softmax over i's neighbourhood)
    x'_i = ‖_{k=1..K} Σ_{j ∈ N(i) ∪ {i}} α^k_ij z^k_j   (concat)   or   (1/K) Σ_k ... (average)

plus a bias. Dropout (training only) is applied to the α's, as in the paper. Gradients flow
through z_j (as values and inside e_ij) and through the softmax:
dα_ij/de_il = α_ij (δ_jl − α_il).
"""
from ... import nn
from ...ops.creation import empty
from ...nn import functional as F
from ...nn import init
from .message_passing import MessagePassing, add_self_loops, check_edge_index, softmax
from .sparse import dropout, linear


class GATConv(MessagePassing):
    """Multi-head graph attention. Parameters: ``lin.weight`` (heads·out, in), ``att_src`` and
    ``att_dst`` (1, heads, out), ``bias`` (heads·out if ``concat`` else out); Glorot init.
    ``forward(x, edge_index, return_attention_weights=False)``; with True it also returns
    ``(edge_index, alpha)``, the edges used (self-loops appended) and α of shape (E, heads)."""

    def __init__(self, in_channels, out_channels, heads=1, concat=True, negative_slope=0.2,
                 dropout=0.0, add_self_loops=True, bias=True):
        super().__init__(aggr="sum")
        self.in_channels, self.out_channels, self.heads = in_channels, out_channels, heads
        self.concat, self.negative_slope, self.dropout = concat, negative_slope, dropout
        self.add_self_loops = add_self_loops
        self.lin = nn.Linear(in_channels, heads * out_channels, bias=False)
        self.att_src = nn.Parameter(empty(1, heads, out_channels))
        self.att_dst = nn.Parameter(empty(1, heads, out_channels))
        width = heads * out_channels if concat else out_channels
        self.bias = nn.Parameter(empty(width)) if bias else None
        self.reset_parameters()

    def reset_parameters(self):
        init.xavier_uniform_(self.lin.weight)
        for att in (self.att_src, self.att_dst):
            init.xavier_uniform_(att.reshape(self.heads, self.out_channels).detach())
        if self.bias is not None:
            init.zeros_(self.bias)

    def forward(self, x, edge_index, return_attention_weights=False):
        n = x.shape[0]
        check_edge_index(edge_index, n, "GATConv")
        if self.add_self_loops:
            edge_index, _ = add_self_loops(edge_index, num_nodes=n)
        z = linear(x, self.lin.weight).reshape(n, self.heads, self.out_channels)
        score_src = (z * self.att_src).sum(-1)            # (N, heads): a_srcᵀ z_j
        score_dst = (z * self.att_dst).sum(-1)            # (N, heads): a_dstᵀ z_i
        src, dst = edge_index[0], edge_index[1]
        e = F.leaky_relu(score_src.index_select(0, src) + score_dst.index_select(0, dst),
                         self.negative_slope)
        alpha = softmax(e, dst, n)                        # (E, heads)
        out = self.propagate(edge_index, z, alpha=F.dropout(alpha, self.dropout, self.training))
        out = out.reshape(n, -1) if self.concat else out.mean(dim=1)
        if self.bias is not None:
            out = out + self.bias
        return (out, (edge_index, alpha)) if return_attention_weights else out

    def message(self, x_j, alpha):
        return x_j * alpha.unsqueeze(-1)

    def extra_repr(self):
        return f"{self.in_channels}, {self.out_channels}, heads={self.heads}, concat={self.concat}"


class GAT(nn.Module):
    """The paper's transductive model (Cora): dropout → GATConv(heads × hidden, concat) → ELU →
    dropout → GATConv(1 head, num_classes, average) (logits). Dropout 0.6 on inputs and α."""

    def __init__(self, in_channels, hidden_channels=8, num_classes=7, heads=8, dropout=0.6,
                 out_heads=1):
        super().__init__()
        self.dropout = dropout
        self.conv1 = GATConv(in_channels, hidden_channels, heads=heads, dropout=dropout)
        self.conv2 = GATConv(hidden_channels * heads, num_classes, heads=out_heads, concat=False,
                             dropout=dropout)

    def forward(self, x, edge_index):
        x = dropout(x, self.dropout, self.training)
        x = F.elu(self.conv1(x, edge_index))
        x = F.dropout(x, self.dropout, self.training)
        return self.conv2(x, edge_index)
