"""Training helpers: the ``fit``/``evaluate`` loop, callbacks, training checkpoints, metrics,
truncated backpropagation through time (``tbptt_step``), and plots (``nablagrad.train.plots``, needs matplotlib)."""
from .callbacks import (Callback, EarlyStopping, BestCheckpoint, LRScheduler, GradientClipping,
                        TerminateOnNaN, JSONLLogger)
from .checkpoint import save_checkpoint, load_checkpoint
from .metrics import (accuracy, top_k_accuracy, confusion_matrix, precision, recall, f1_score,
                      Accuracy, ConfusionMatrix, Mean)
from . import plots  # noqa: F401  (matplotlib is imported when a plot is drawn)
from .loop import fit, evaluate, Trainer, default_prepare_batch, format_record
from .tbptt import detach_state, tbptt_chunks, tbptt_step
