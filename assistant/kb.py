"""Indexing: files → documents → sections → vectors and BM25 tokens, written into the configured store.

Each document is cleaned and split on its own (nothing is learned across documents), so adding or
removing one file touches only its own sections; only sections whose embed text changed are embedded
again. Where the sections live is the store's business (assistant/store: FAISS segments in the KB
folder, or Milvus).
"""
from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import faiss
import numpy as np

from .components.embedding import Embedder, choose_backend, get_embedder, resolve_model, truncate
from .components.onnx_export import EXPORT_VERSION
from .config import Settings
from .errors import BiganError
from .ingest.clean import clean_text, front_matter, report_origin
from .ingest.loaders import READER_VERSION, LoadError, load_document
from .ingest.sections import SPLIT_VERSION, Section, split_sections
from .store import FORMAT_VERSION, DocumentWrite, Store, open_store
from .store.base import kb_terms, text_key
from .store.faiss_store import FaissSnapshot, current_generation
from .text.chinese import to_simplified
from .text.segment import Segmenter, coined_terms, segmenter_for

# Exact search up to here: one query against 50k × 768 floats takes ~10 ms on 2 cores (100k: 20 ms). Above, IVF
# (bench/bench_scale.py measures both, and IVF's recall against exact search).
EXACT_MAX = 50_000
IVF_NPROBE = 64

@dataclass
class IndexReport:
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)
    sections: int = 0
    embedded: int = 0
    rebuilt: str = ""

    def summary(self) -> str:
        return (
            f"added {len(self.added)}, updated {len(self.updated)}, removed {len(self.removed)}, "
            f"unchanged {len(self.unchanged)}, failed {len(self.failed)}; "
            f"{self.sections} sections, {self.embedded} embedded"
        )


def embed_text(section: Section) -> str:
    """What the dense model sees: the title and heading path give a passage its context."""
    return "\n".join(part for part in (to_simplified(section.title), to_simplified(section.heading), section.text_s) if part)


def bm25_tokens(section: Section, segmenter: Segmenter) -> list[str]:
    """Title and heading path are searchable words too: a question may name the document or the part."""
    return segmenter.tokenize("\n".join((to_simplified(section.title), to_simplified(section.heading), section.text_s)))


def _doc_id(source: str) -> str:
    return hashlib.sha1(source.encode()).hexdigest()[:16]


class KnowledgeBase(FaissSnapshot):
    """The live generation of a FAISS-store KB, read-only (Workspace and Searcher work on any store)."""

    @classmethod
    def load(cls, root: Path) -> "KnowledgeBase":
        snapshot = FaissSnapshot.load(root)
        return cls(snapshot.root, snapshot.folder, snapshot.meta)


def _scan(paths: Iterable[Path]) -> tuple[list[Path], list[Path]]:
    """Files to index, and the folders scanned (a vanished file under one of them was removed)."""
    files: list[Path] = []
    folders: list[Path] = []
    for path in paths:
        path = path.expanduser()
        if not path.exists():
            raise BiganError(f"no such file or folder: {path}")
        if path.is_dir():
            folders.append(path.resolve())
            files.extend(
                p for p in sorted(path.rglob("*"))
                if p.is_file() and not any(part.startswith(".") for part in p.relative_to(path).parts)
            )
        else:
            files.append(path)
    return [f.resolve() for f in files], folders


def build(
    root: Path,
    settings: Settings,
    add: Iterable[Path] = (),
    remove: Iterable[str] = (),
    log: Callable[[str], None] = lambda _: None,
    progress: bool = False,
    force: bool = False,
    store: Store | None = None,
    embedder: Embedder | None = None,
) -> IndexReport:
    """Index `add` (files or folders) into the KB at `root`, drop the doc ids in `remove`.

    Only new and changed documents are split and written; `force`, a new section budget, new cleaning or
    splitting rules (SPLIT_VERSION), a new model or an older KB format re-split every document from its
    stored text. Only sections whose embed text
    changed are embedded again. `embedder`: this model instead of the configured one.
    """
    store = store or open_store(settings, root)
    if embedder is not None:
        fingerprint, backend = embedder.fingerprint, embedder.backend
    else:
        _, fingerprint = resolve_model(settings)
        backend, _ = choose_backend(settings, fingerprint)
    # Vectors are reused only when the same weights, backend and width would produce them again.
    vector_key = {
        "fingerprint": fingerprint, "backend": backend, "dimension_setting": settings.embedding_dim,
        # A new int8 export computes other vectors from the same weights.
        "backend_version": EXPORT_VERSION if backend == "onnx-int8" else 0,
    }
    files, folders = _scan(add)
    chunking = {
        "tokens": settings.chunk_tokens, "min_tokens": settings.min_chunk_tokens, "encoding": settings.token_encoding,
        "rules": SPLIT_VERSION,
    }
    report = IndexReport()
    with store.writer_lock():
        old = store.meta()
        source = store
        if old is None and (other := _other_store(settings, store)) is not None:
            # The KB folder holds a KB of the other store: its documents move over (never silently dropped).
            source, old = other, other.meta()
            log(f"importing the knowledge base of the {old.get('store', 'faiss')} store into the {settings.store} store")
        built_with = old["embedding"] if old else {}
        same_vectors = old is not None and all(built_with.get(k) == v for k, v in vector_key.items())
        if old and not same_vectors:
            # Texts of the old KB are reused; its vectors come from another model or backend and are dropped.
            report.rebuilt = (
                f"KB was built with {built_with['model']} ({built_with.get('backend', 'torch-fp32')}); "
                f"re-embedding everything with {settings.embedding_model} ({backend})"
            )
            log(report.rebuilt)
        resplit = old is not None and (
            force or not same_vectors or old.get("format_version") != FORMAT_VERSION or old.get("chunking") != chunking
            or source is not store
        )
        docs, texts = source.document_texts() if resplit else (dict(store.read().documents) if old else {}, {})
        changed, removed = _update_documents(docs, texts, files, folders, set(remove), report)
        if old is not None and not (resplit or changed or removed):
            report.sections = sum(e["sections"] for e in docs.values())
            return report  # nothing changed: the live KB stays as it is

        to_write = sorted(docs, key=lambda d: docs[d]["source"]) if resplit else sorted(changed, key=lambda d: docs[d]["source"])
        split = {doc_id: _split(docs[doc_id], texts[doc_id], doc_id, settings) for doc_id in to_write}
        # A changed document keeps the vectors of its unchanged sections; a re-split keeps every reusable one.
        previous = source.vectors_of(to_write) if same_vectors else {}
        sections = [s for doc_id in to_write for s in split[doc_id]]
        dim = old["embedding"]["dimension"] if same_vectors else 0
        vectors = _vectors_for(sections, previous, dim, embedder, settings, report, log, progress)
        segmenter = segmenter_for(kb_terms(docs))
        writes, start = [], 0
        for doc_id in to_write:
            n = len(split[doc_id])
            writes.append(DocumentWrite(
                doc_id, docs[doc_id], texts[doc_id], split[doc_id], vectors[start:start + n],
                [bm25_tokens(s, segmenter) for s in split[doc_id]],
            ))
            start += n
        meta = {
            "format_version": FORMAT_VERSION,
            "store": settings.store,
            "embedding": {"model": settings.embedding_model if embedder is None else embedder.fingerprint, **vector_key, "dimension": vectors.shape[1], "normalised": True},
            "chunking": chunking,
            "built": time.strftime("%Y-%m-%d %H:%M:%S"),
        }
        store.write(meta, writes, removed, replace_all=resplit)
        report.sections = sum(e["sections"] for e in docs.values())
    return report


def _other_store(settings: Settings, store: Store) -> Store | None:
    """The KB of the other store kind in the same KB folder, if there is one (Milvus: the local default only)."""
    root = store.root
    if settings.store == "milvus" and current_generation(root) is not None:
        return open_store(settings.model_copy(update={"store": "faiss"}), root)
    if settings.store == "faiss" and not settings.milvus_uri and (root / "milvus.db").is_dir():
        other = open_store(settings.model_copy(update={"store": "milvus"}), root)
        return other if other.meta() is not None else None
    return None


def _update_documents(
    docs: dict[str, dict], texts: dict[str, str], files: list[Path], folders: list[Path], remove: set[str], report: IndexReport
) -> tuple[set[str], set[str]]:
    """Apply removals and additions to the document table (in place); return the ids (re)read and removed.

    Unreadable files keep their old version."""
    removed: set[str] = set()
    for doc_id in list(docs):
        source = Path(docs[doc_id]["source"])
        vanished = any(source.is_relative_to(folder) for folder in folders) and not source.exists()
        if doc_id in remove or vanished:
            report.removed.append(docs[doc_id]["source"])
            removed.add(doc_id)
            del docs[doc_id]
            texts.pop(doc_id, None)

    changed: set[str] = set()
    for path in files:
        source = str(path)
        doc_id = _doc_id(source)
        try:
            data = path.read_bytes()
        except OSError as exc:
            report.failed.append((source, f"cannot read file: {exc.strerror or exc}"))
            continue
        sha = hashlib.sha256(data).hexdigest()
        if doc_id in docs and docs[doc_id]["sha256"] == sha and docs[doc_id].get("reader") == READER_VERSION:
            report.unchanged.append(source)
            continue
        try:
            loaded = load_document(path)
        except LoadError as exc:
            report.failed.append((source, str(exc)))
            continue
        if not clean_text(loaded.text, loaded.title).paragraphs:  # a document with no section is no document
            report.failed.append((source, "除标题和网页杂项外没有正文，未加入知识库"))
            continue
        now = time.strftime("%Y-%m-%d %H:%M:%S")
        (report.updated if doc_id in docs else report.added).append(source)
        added = docs.get(doc_id, {}).get("added", now)
        docs[doc_id] = {
            "source": source, "name": path.name, "sha256": sha, "size": len(data), "added": added, "updated": now,
            "format_title": loaded.title, "reader": READER_VERSION,
        }
        texts[doc_id] = loaded.text
        changed.add(doc_id)
        removed.discard(doc_id)
    return changed, removed


def _split(entry: dict, text: str, doc_id: str, settings: Settings) -> list[Section]:
    """Clean and split one document on its own; its table entry gets title, counts and coined terms."""
    cleaned = clean_text(text, entry.get("format_title", ""), fallback_title=Path(entry["name"]).stem)
    sections = split_sections(
        cleaned, doc_id, entry["name"], settings.chunk_tokens, settings.min_chunk_tokens, settings.token_encoding
    )
    entry["title"] = cleaned.title
    entry["sections"] = len(sections)
    entry["chars"] = sum(len(p) for p in cleaned.paragraphs)
    entry["label"] = " ".join(front_matter(cleaned))  # names the document beside its title (year, occasion)
    entry["origin"] = " ".join(report_origin(cleaned))
    entry["terms"] = sorted(coined_terms(s.text_s for s in sections))
    return sections


def _vectors_for(
    sections: list[Section],
    reusable: dict[str, np.ndarray],
    dim: int,
    embedder: Embedder | None,
    settings: Settings,
    report: IndexReport,
    log: Callable[[str], None],
    progress: bool,
) -> np.ndarray:
    """Vectors for `sections`, reusing earlier ones for unchanged embed texts; `dim` 0: not known yet."""
    keys = [text_key(embed_text(s)) for s in sections]
    missing = [i for i, key in enumerate(keys) if key not in reusable]
    if missing or not dim:
        embedder = embedder or get_embedder(settings)
        dim = min(embedder.dimension, settings.embedding_dim or embedder.dimension)
    vectors = np.zeros((len(sections), dim), dtype=np.float32)
    for i, key in enumerate(keys):
        if key in reusable:
            vectors[i] = reusable[key]
    if missing:
        log(f"embedding {len(missing)} sections ({embedder.backend})")
        fresh = embedder.encode_documents([embed_text(sections[i]) for i in missing], progress=progress)
        vectors[missing] = truncate(fresh, settings.embedding_dim)
    report.embedded = len(missing)
    return vectors


def vector_index(vectors: np.ndarray) -> faiss.Index:
    """Inner-product index over normalised vectors: exact up to EXACT_MAX, inverted lists (IVF) above."""
    n, dim = vectors.shape
    if n <= EXACT_MAX:
        index = faiss.IndexFlatIP(dim)
        index.add(vectors)
        return index
    nlist = int(4 * np.sqrt(n))
    index = faiss.IndexIVFFlat(faiss.IndexFlatIP(dim), dim, nlist, faiss.METRIC_INNER_PRODUCT)
    sample = np.random.default_rng(0).choice(n, size=min(n, 64 * nlist), replace=False)
    index.train(vectors[np.sort(sample)])
    index.add(vectors)
    index.nprobe = IVF_NPROBE
    index.make_direct_map()  # fusion looks up vectors of BM25-only candidates by id
    return index


__all__ = ["FORMAT_VERSION", "IndexReport", "KnowledgeBase", "build", "current_generation", "embed_text"]
