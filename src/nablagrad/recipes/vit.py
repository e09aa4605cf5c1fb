"""A small Vision Transformer on Fashion-MNIST (Dosovitskiy et al. 2021, "An Image is Worth 16x16
Words"): 28×28 images cut into 7×7 patches by a strided conv, a class token, learned position
embeddings, pre-norm transformer blocks with GELU, and a linear head on the class token
(notes 004 §12.5). Trained with AdamW and a one-cycle schedule (linear-cosine warmup to the peak
learning rate, then cosine decay), as transformers need a warmup.

    z⁰ = [x_class; x_p¹E; …; x_pᴺE] + E_pos,  z^l = Block(z^{l-1}),  logits = LN(z^L_0) W_head
"""
from dataclasses import dataclass

from ..models.vision import VisionTransformer
from .classify import ClassifierConfig, classifier_recipe


@dataclass
class Config(ClassifierConfig):
    epochs: int = 20
    optimizer: str = "adamw"
    lr: float = 2e-3                # the one-cycle peak
    weight_decay: float = 0.05
    schedule: str = "onecycle"
    patch_size: int = 7
    embed_dim: int = 64
    depth: int = 4
    num_heads: int = 4
    mlp_ratio: float = 2.0
    dropout: float = 0.0


def build(cfg):
    return VisionTransformer(patch_size=cfg.patch_size, embed_dim=cfg.embed_dim, depth=cfg.depth,
                             num_heads=cfg.num_heads, mlp_ratio=cfg.mlp_ratio,
                             dropout=cfg.dropout)


RECIPE = classifier_recipe("vit", "Vision Transformer (7×7 patches, 4 blocks) on Fashion-MNIST",
                           "test accuracy >= 90%", Config, build,
                           quick=dict(embed_dim=32, depth=2, num_heads=2))
