"""What Bigan needs from a store of sections: a write that adds and removes whole documents, and a
reader that lists documents, shows one, and answers dense and BM25 queries whose candidates the
searcher fuses (retrieve.py).

A KB records what built it (`meta`: the embedding fingerprint, backend, dimension and normalisation,
the section budget, the store); a reader whose meta does not match the configured model refuses to
open instead of mixing vector spaces.
"""
from __future__ import annotations

import fcntl
import hashlib
from collections.abc import Hashable, Iterable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Protocol

import numpy as np

from ..config import Settings
from ..errors import BiganError
from ..ingest.sections import Section
from ..text.segment import Segmenter, segmenter_for

# 3: documents written in segments (FAISS) or rows (Milvus); BM25 tokens stored per section.
FORMAT_VERSION = 3

Key = Hashable  # a section's handle inside one reader


@dataclass
class DocumentWrite:
    """One document as a write puts it into the store: its table entry, extracted text and sections."""

    doc_id: str
    entry: dict
    text: str
    sections: list[Section]
    vectors: np.ndarray  # one unit-length row per section
    tokens: list[list[str]]  # BM25 tokens per section


class StoreReader(Protocol):
    """A consistent view of one KB for listing and searching."""

    meta: dict
    documents: dict[str, dict]  # doc id -> entry (source, name, title, sections, chars, size, added, ...)
    segmenter: Segmenter  # the KB's own jieba dictionary

    @property
    def dimension(self) -> int: ...

    def section_count(self) -> int: ...

    def doc_text(self, doc_id: str) -> str: ...

    def document_sections(self, doc_id: str) -> list[Section]: ...

    def dense(self, vector: np.ndarray, n: int) -> dict[Key, float]:
        """The n nearest sections by inner product."""

    def lexical(self, tokens: list[str], n: int) -> dict[Key, float]:
        """The n best sections by BM25 over the KB's statistics; only positive scores."""

    def similarity(self, keys: Iterable[Key], vector: np.ndarray) -> dict[Key, float]:
        """Inner product of `vector` with the given sections' vectors."""

    def sections_of(self, keys: Iterable[Key]) -> dict[Key, Section]: ...


class Store(Protocol):
    """One KB in one backend: opened by settings, written under a writer lock."""

    settings: Settings
    root: Path  # the KB folder (the FAISS store's files; the Milvus store's lock and default Lite database)

    def exists(self) -> bool: ...

    def version(self) -> str:
        """Changes whenever a write commits (a reader compares it to know it is stale)."""

    def read(self) -> StoreReader:
        """The KB as it is now (KBMissingError when there is none)."""

    def writer_lock(self) -> AbstractContextManager: ...

    def meta(self) -> dict | None:
        """The KB's meta as committed, or None when there is no KB (under the writer lock)."""

    def document_texts(self) -> tuple[dict[str, dict], dict[str, str]]:
        """Every document's entry and extracted text (to re-split them; also from an older format)."""

    def vectors_of(self, doc_ids: Iterable[str]) -> dict[str, np.ndarray]:
        """embed-text key -> vector over the given documents' sections (reused when they are re-split)."""

    def write(self, meta: dict, docs: list[DocumentWrite], remove: Iterable[str], replace_all: bool = False) -> None:
        """Commit: `docs` replace their earlier versions, `remove` go; with `replace_all`, nothing else stays."""


@contextmanager
def file_lock(path: Path) -> Iterator[None]:
    """Writers of one KB on this machine queue on an flock of `path` (released if the writer dies)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def text_key(text: str) -> str:
    return hashlib.sha1(text.encode()).hexdigest()


def check_meta(meta: dict, model: str, fingerprint: str, where: str) -> None:
    """Refuse a KB built by another model (`model` names the one asking): its vectors live in another space."""
    if meta.get("format_version") != FORMAT_VERSION:
        raise BiganError(f"the knowledge base in {where} has an old format; rebuild it with `bigan index`")
    built_with = meta["embedding"]
    if built_with["fingerprint"] != fingerprint:
        raise BiganError(
            f"the knowledge base was built with embedding model '{built_with['model']}' but "
            f"'{model}' is in use; run `bigan index` to rebuild it"
        )


def resolve(documents: dict[str, dict], ref: str) -> str:
    """The doc id of a document named by its id, its file name or its path (as indexed or as given)."""
    if ref in documents:
        return ref
    as_path = str(Path(ref).expanduser().resolve())
    matches = [d for d, e in documents.items() if ref in (e["source"], e["name"]) or e["source"] == as_path]
    if not matches:
        raise BiganError(f"no document '{ref}' in the knowledge base; `bigan docs` lists them")
    if len(matches) > 1:
        raise BiganError(f"'{ref}' names {len(matches)} documents; give its path or id (`bigan docs`)")
    return matches[0]


def kb_terms(documents: dict[str, dict]) -> frozenset[str]:
    """The KB's coined terms: each document's own, as recorded when it was added."""
    return frozenset(t for e in documents.values() for t in e.get("terms", ()))


class DocumentsView:
    """What every store's reader answers from its meta and documents table alone (no vectors, no model)."""

    meta: dict
    documents: dict[str, dict]

    @property
    def dimension(self) -> int:
        return int(self.meta["embedding"]["dimension"])

    @cached_property
    def segmenter(self) -> Segmenter:
        return segmenter_for(kb_terms(self.documents))

    def section_count(self) -> int:
        return sum(e["sections"] for e in self.documents.values())

    def resolve(self, ref: str) -> str:
        return resolve(self.documents, ref)
