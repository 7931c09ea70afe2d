"""Where sections, vectors and BM25 live: `faiss` (embedded, the default) or `milvus`, by the `store` setting."""
from __future__ import annotations

from pathlib import Path

from ..config import Settings
from ..errors import BiganError
from .base import FORMAT_VERSION, DocumentWrite, Store, StoreReader, check_meta, resolve
from .faiss_store import FaissStore

STORES = ("faiss", "milvus")


def open_store(settings: Settings, root: Path | None = None) -> Store:
    """The store the settings name, for the KB at `root` (default: kb_dir)."""
    match settings.store:
        case "faiss":
            return FaissStore(settings, root)
        case "milvus":
            from .milvus import MilvusStore  # pymilvus is an optional extra

            return MilvusStore(settings, root)
        case other:
            raise BiganError(f"unknown store '{other}'; BIGAN_STORE is one of {', '.join(STORES)}")


__all__ = ["FORMAT_VERSION", "DocumentWrite", "Store", "StoreReader", "check_meta", "open_store", "resolve"]
