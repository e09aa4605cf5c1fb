"""Sequence models of the curriculum: recurrent networks, attention, transformers and word
embeddings (notes 000 §4–5, 002, 003, 004 §5 and §12)."""
