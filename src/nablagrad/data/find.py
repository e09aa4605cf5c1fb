"""Where datasets are looked for, in order (DESIGN.md, Data): an explicit ``root``,
``$NABLAGRAD_DATA``, the user cache ``~/.cache/nablagrad``, then well-known system folders."""
from __future__ import annotations

import os

SYSTEM_FOLDERS = {"fashion-mnist": ["/usr/share/datasets/fashion-mnist"]}


def find_dataset_file(dataset: str, filenames, root=None) -> str:
    """The first existing path among the candidate folders for any of ``filenames``."""
    candidates = []
    if root is not None:
        candidates += [os.path.join(root, dataset), root]
    env = os.environ.get("NABLAGRAD_DATA")
    if env:
        candidates += [os.path.join(env, dataset), env]
    candidates.append(os.path.join(os.path.expanduser("~/.cache/nablagrad"), dataset))
    candidates += SYSTEM_FOLDERS.get(dataset, [])
    for folder in candidates:
        for name in filenames:
            path = os.path.join(folder, name)
            if os.path.isfile(path):
                return path
    raise FileNotFoundError(
        f"{dataset}: none of {list(filenames)} found in {candidates}. Pass root=, set "
        "$NABLAGRAD_DATA, or install it (Debian: apt-get install dataset-fashion-mnist)")
