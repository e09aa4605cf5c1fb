"""Graph neural networks (notes 002 "Graph Neural Networks", 004 §12): message passing,
GCN, GraphSAGE, GAT and GIN."""
