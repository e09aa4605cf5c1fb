"""Vision Transformer (ViT): an image as a sequence of patches read by a transformer encoder.

A. Dosovitskiy et al., "An Image is Worth 16x16 Words: Transformers for Image Recognition at
Scale", ICLR 2021 (notes 001 L520–524, 002 L403, 004 §12.5). For an image x of shape (C, H, W)
cut into N = (H/P)(W/P) patches of P×P pixels:

    z⁰ = [x_class; x_p¹E; …; x_pᴺE] + E_pos      E ∈ ℝ^{(P²C)×D}, E_pos ∈ ℝ^{(N+1)×D}
    a^l = z^{l-1} + MSA(LN(z^{l-1}))                 pre-norm multi-head self-attention
    z^l = a^l + MLP(LN(a^l))                         MLP: Linear-GELU-Linear
    logits = LN(z^L_0) W_head                        the class token's final state

The patch embedding x_pⁱE is a Conv2d with kernel = stride = P (one linear map per patch, no
overlap), x_class is a learned token, E_pos learned position embeddings (one per token).

Init as in the paper's code: position embeddings ~ N(0, 0.02²) truncated to ±2σ, class token 0,
every Linear weight Xavier-uniform with zero bias (so the layers copied by TransformerEncoder do
not start identical), the head zero (logits start at 0, the loss at log(num_classes)).
"""
from ... import nn
from ...ops.creation import zeros
from ...ops.shape import cat
from ...nn import init
from .cnn import check_images


class VisionTransformer(nn.Module):
    """ViT for square images: ``patch_embed`` (Conv2d, kernel = stride = ``patch_size``),
    ``class_token`` (1, 1, D), ``pos_embed`` (1, N+1, D), ``encoder`` (``depth`` pre-norm
    ``nn.TransformerEncoderLayer`` with GELU and a final LayerNorm), ``head`` (D → classes).
    Input (B, C, image_size, image_size); output logits (B, num_classes)."""

    def __init__(self, image_size=28, patch_size=7, in_channels=1, num_classes=10,
                 embed_dim=64, depth=4, num_heads=4, mlp_ratio=2.0, dropout=0.0):
        super().__init__()
        if image_size % patch_size:
            raise ValueError(f"VisionTransformer: image_size ({image_size}) must be divisible by "
                             f"patch_size ({patch_size})")
        self.image_size, self.in_channels = image_size, in_channels
        self.num_patches = (image_size // patch_size) ** 2
        self.patch_embed = nn.Conv2d(in_channels, embed_dim, patch_size, stride=patch_size)
        self.class_token = nn.Parameter(zeros(1, 1, embed_dim))
        self.pos_embed = nn.Parameter(zeros(1, self.num_patches + 1, embed_dim))
        self.dropout = nn.Dropout(dropout)
        layer = nn.TransformerEncoderLayer(embed_dim, num_heads, int(embed_dim * mlp_ratio),
                                           dropout, activation="gelu", batch_first=True,
                                           norm_first=True)
        self.encoder = nn.TransformerEncoder(layer, depth, norm=nn.LayerNorm(embed_dim))
        self.head = nn.Linear(embed_dim, num_classes)
        self.reset_parameters()

    def reset_parameters(self):
        init.trunc_normal_(self.pos_embed, std=0.02, a=-0.04, b=0.04)
        init.zeros_(self.class_token)
        for name, p in self.encoder.named_parameters():
            if p.ndim == 2:      # attention in/out projections and MLP weights
                init.xavier_uniform_(p)
            elif "norm" not in name:
                init.zeros_(p)   # their biases
        init.zeros_(self.head.weight)
        init.zeros_(self.head.bias)

    def embed(self, x):
        """Patch tokens with the class token prepended and positions added: (B, N+1, D)."""
        check_images("VisionTransformer", x, self.in_channels, self.image_size)
        tokens = self.patch_embed(x).flatten(2).transpose(1, 2)          # (B, N, D)
        cls = self.class_token.expand(x.shape[0], -1, -1)
        return self.dropout(cat([cls, tokens], dim=1) + self.pos_embed)

    def forward(self, x):
        return self.head(self.encoder(self.embed(x))[:, 0])
