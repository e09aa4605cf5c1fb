"""Data: file formats and dataset finding (``nablagrad.data``)."""
from .idx import read_idx
from .find import find_dataset_file
