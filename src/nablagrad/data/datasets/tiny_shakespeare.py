"""Tiny Shakespeare: 40,000 lines of Shakespeare (1,115,394 characters, 65 distinct), the usual
corpus for character-level language models (Karpathy's char-rnn).

The file is found in the usual order (``root``, ``$NABLAGRAD_DATA``, ``~/.cache/nablagrad``),
else downloaded from the char-rnn repository with its MD5 checked. The split used throughout the
curriculum: the first 90% of the characters train, the last 10% validate.
"""
from __future__ import annotations

import os

import numpy as np

from ..._tensor import Tensor
from ..find import find_dataset_file
from .download import default_folder, download_url

URL = "https://raw.githubusercontent.com/karpathy/char-rnn/master/data/tinyshakespeare/input.txt"
MD5 = "6fb458f1232090904fb40fe944165e91"
FOLDER = "tinyshakespeare"
TRAIN_FRACTION = 0.9


def tiny_shakespeare_text(root=None, download=False) -> str:
    """The whole corpus as one string."""
    try:
        path = find_dataset_file(FOLDER, ["input.txt"], root)
    except FileNotFoundError:
        if not download:
            raise
        path = download_url(URL, os.path.join(default_folder(FOLDER, root), "input.txt"), MD5)
    with open(path, encoding="utf-8") as f:
        text = f.read()
    if not text:
        raise ValueError(f"tiny shakespeare: {path} is empty")
    return text


def split_text(text: str, train_fraction: float = TRAIN_FRACTION) -> tuple[str, str]:
    """(train, validation): the first ``train_fraction`` of the characters, then the rest."""
    cut = int(len(text) * train_fraction)
    return text[:cut], text[cut:]


class CharVocab:
    """The characters of a text, sorted, as token ids 0..V-1."""

    def __init__(self, chars):
        self.itos = sorted(set(chars))
        self.stoi = {c: i for i, c in enumerate(self.itos)}

    def __len__(self):
        return len(self.itos)

    def encode(self, text: str) -> Tensor:
        """int64 tensor of the ids of ``text``; an unknown character raises a KeyError naming it."""
        try:
            ids = np.fromiter((self.stoi[c] for c in text), dtype=np.int64, count=len(text))
        except KeyError as e:
            raise KeyError(f"CharVocab.encode: character {e.args[0]!r} is not in the vocabulary "
                           f"of {len(self)} characters") from None
        return Tensor._make(ids)

    def decode(self, ids) -> str:
        """The text of a sequence of ids (a tensor on any device, an array or a list)."""
        if isinstance(ids, Tensor):
            ids = ids.tolist()
        return "".join(self.itos[int(i)] for i in ids)
