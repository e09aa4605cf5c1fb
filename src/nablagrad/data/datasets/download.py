"""Downloading dataset files: urllib from the official address, MD5 verified, written
atomically (a temporary file in the target folder, renamed into place by ``os.replace``), so an
interrupted or corrupt download never leaves a file that looks complete."""
from __future__ import annotations

import hashlib
import http.client
import os
import tempfile
import urllib.request

_CHUNK = 1 << 20


def default_folder(dataset: str, root=None) -> str:
    """Where a download of ``dataset`` goes: ``root/dataset``, else ``$NABLAGRAD_DATA/dataset``,
    else ``~/.cache/nablagrad/dataset``."""
    base = root if root is not None else (os.environ.get("NABLAGRAD_DATA")
                                         or os.path.expanduser("~/.cache/nablagrad"))
    return os.path.join(os.fspath(base), dataset)


def md5sum(path) -> str:
    h = hashlib.md5()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(_CHUNK), b""):
            h.update(chunk)
    return h.hexdigest()


def download_url(url: str, path, md5: str | None = None, timeout: float = 60.0) -> str:
    """Fetch ``url`` into ``path``. Raises ``OSError`` on a network error or a body shorter than
    its Content-Length (truncated), ``ValueError`` when the MD5 differs from ``md5``; in every
    failure no file is left at ``path``."""
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=folder, prefix="." + os.path.basename(path) + ".",
                               suffix=".part")
    try:
        h, size = hashlib.md5(), 0
        with os.fdopen(fd, "wb") as out, urllib.request.urlopen(url, timeout=timeout) as resp:
            expected = resp.headers.get("Content-Length")
            try:
                for chunk in iter(lambda: resp.read(_CHUNK), b""):
                    out.write(chunk)
                    h.update(chunk)
                    size += len(chunk)
            except http.client.IncompleteRead as e:
                raise OSError(f"download {url}: truncated, connection closed after "
                              f"{size + len(e.partial)} of {expected} bytes") from None
        if expected is not None and size != int(expected):
            raise OSError(f"download {url}: truncated, got {size} of {expected} bytes")
        if md5 is not None and h.hexdigest() != md5.lower():
            raise ValueError(f"download {url}: checksum mismatch, MD5 {h.hexdigest()} but the "
                             f"official file has {md5} (corrupt or changed download)")
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
    return path


def download_from_mirrors(mirrors, filename: str, path, md5: str | None = None) -> str:
    """Try ``mirror + filename`` for each mirror in turn; the first verified download wins.
    If every mirror fails, ``RuntimeError`` lists each one's error (network, truncation,
    checksum)."""
    errors = []
    for base in mirrors:
        url = base.rstrip("/") + "/" + filename
        try:
            return download_url(url, path, md5)
        except (OSError, ValueError, http.client.HTTPException) as e:
            errors.append(f"{url}: {e}")
    raise RuntimeError(f"could not download {filename}:\n  " + "\n  ".join(errors))
