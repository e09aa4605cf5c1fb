"""Data (``nablagrad.data``, the ``torch.utils.data`` equivalent): datasets, samplers, the
``DataLoader``, file formats and dataset finding."""
from .idx import read_idx
from .find import find_dataset_file
from .dataset import (Dataset, IterableDataset, TensorDataset, Subset, ConcatDataset,
                      random_split)
from .sampler import (Sampler, SequentialSampler, RandomSampler, SubsetRandomSampler,
                      WeightedRandomSampler, BatchSampler)
from .dataloader import DataLoader, default_collate, default_convert
from . import transforms, datasets
