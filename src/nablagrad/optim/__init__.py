"""Optimizers (``nablagrad.optim``) and learning-rate schedules (``nablagrad.optim.lr_scheduler``),
with PyTorch's names, defaults and update rules."""
from .optimizer import Optimizer
from .sgd import SGD
from .adam import Adam, AdamW
from .adagrad import Adagrad
from .rmsprop import RMSprop
from .adamax import Adamax
from .nadam import NAdam
from .radam import RAdam
from .lbfgs import LBFGS

__all__ = ["Optimizer", "SGD", "Adam", "AdamW", "Adagrad", "RMSprop", "Adamax", "NAdam", "RAdam",
           "LBFGS"]

from . import lr_scheduler, swa_utils  # noqa: E402
