"""Neural-network building blocks (``nablagrad.nn``): Module, Parameter, layers, losses, init."""
from . import functional  # noqa: F401
from . import init  # noqa: F401
from . import utils  # noqa: F401
from .parameter import Parameter, Buffer
from .module import Module
from .container import Sequential, ModuleList, ModuleDict, ParameterList, ParameterDict
from .linear import Identity, Linear, Bilinear, Flatten, Unflatten
from .conv import Conv1d, Conv2d, Conv3d, ConvTranspose1d, ConvTranspose2d
from .pooling import MaxPool1d, MaxPool2d, AvgPool1d, AvgPool2d, AdaptiveAvgPool2d, AdaptiveMaxPool2d
from .normalization import (BatchNorm1d, BatchNorm2d, LayerNorm, GroupNorm, InstanceNorm1d,
                            InstanceNorm2d, LocalResponseNorm)
from .dropout import Dropout, Dropout1d, Dropout2d
from .sparse import Embedding
from .activation import (ReLU, ReLU6, SELU, SiLU, Mish, Hardsigmoid, Hardswish, Sigmoid, Tanh,
                         Softsign, Tanhshrink, LogSigmoid, LeakyReLU, ELU, CELU, GELU, Hardtanh,
                         Softplus, Hardshrink, Softshrink, Threshold, RReLU, GLU, Softmax, LogSoftmax,
                         Softmin, PReLU, Swish)
from .upsampling import Upsample, PixelShuffle
from .loss import (MSELoss, L1Loss, SmoothL1Loss, HuberLoss, BCELoss, BCEWithLogitsLoss,
                   CrossEntropyLoss, NLLLoss, KLDivLoss, GaussianNLLLoss, PoissonNLLLoss,
                   MarginRankingLoss, HingeEmbeddingLoss, CosineEmbeddingLoss, TripletMarginLoss)
from .attention_scores import (DotScore, ScaledDotScore, GeneralScore, AdditiveScore, CosineScore,
                               attend)
from .attention import MultiheadAttention
from .rnn import RNNBase, RNN, LSTM, GRU, RNNCell, LSTMCell, GRUCell
from .transformer import (TransformerEncoderLayer, TransformerDecoderLayer, TransformerEncoder,
                          TransformerDecoder, Transformer)
from .positional import (SinusoidalPositionalEncoding, LearnedPositionalEmbedding, RotaryEmbedding,
                         sinusoidal_positional_encoding, rotary_cos_sin, apply_rotary_emb)
