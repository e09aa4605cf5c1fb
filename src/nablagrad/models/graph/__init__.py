"""Graph neural networks (notes 002 "Graph Neural Networks", 000 "GCN: Improvement"): message
passing with sum/mean/max aggregation and graph readouts, GCN, GraphSAGE, GAT and GIN."""
from .message_passing import (MessagePassing, add_self_loops, degree, global_add_pool,
                              global_max_pool, global_mean_pool, remove_self_loops, scatter,
                              softmax)
from .sparse import SparseFeatures
from .gcn import GCN, GCNConv, gcn_norm
from .sage import GraphSAGE, SAGEConv
from .gat import GAT, GATConv
from .gin import GIN, GINConv, gin_mlp

__all__ = ["MessagePassing", "add_self_loops", "degree", "global_add_pool", "global_max_pool",
           "global_mean_pool", "remove_self_loops", "scatter", "softmax", "SparseFeatures",
           "GCN", "GCNConv", "gcn_norm", "GraphSAGE", "SAGEConv", "GAT", "GATConv", "GIN",
           "GINConv", "gin_mlp"]
