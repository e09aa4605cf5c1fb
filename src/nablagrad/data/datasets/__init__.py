"""Datasets with files found locally (root, $NABLAGRAD_DATA, ~/.cache/nablagrad, system folders)
or downloaded from their official addresses with checksums verified."""
from .mnist import MNIST, FashionMNIST, KMNIST
from .cifar import CIFAR10, CIFAR100
from .download import download_url, md5sum
from .toy2d import linearly_separable
from .tiny_shakespeare import CharVocab, split_text, tiny_shakespeare_text
from .sequence_tasks import SequenceTask, count_zeros, sentiment, sentiment_label
from .transduction import Seq2SeqVocab, TransductionDataset, transduction_pairs, transduction_splits
from .cora import Cora
