"""The embedded store: FAISS vectors and BM25 term counts in the KB folder, written in segments.

Layout: `CURRENT` names the live generation `gen-*`, whose manifest.json lists the live segments and,
for each, the documents deleted from it since it was written. A segment (`segments/seg-*`) is written
once and never changed: documents.json (their table entries), sections.jsonl, vectors.faiss, bm25.npz +
vocab.json (term counts per section) and docs/<doc_id>.txt (the extracted text, so re-splitting never
needs the original file).

A write adds one segment holding the new documents and marks the replaced or removed ones deleted: it
costs what it adds, not what the KB holds. To keep the number of segments small, the write also
absorbs the newest segments into its own while they are not much larger than it (as Lucene merges),
up to SEGMENT_MAX sections, so no write ever reads or rewrites every vector of a large KB. The new
generation is written beside the live one and CURRENT swaps atomically: a reader (or a crash) sees
the whole old KB or the whole new one.

BM25 scores use the statistics of all live sections (document frequency, average length), summed over
the segments at query time, so a section scores as it would in one index built over the whole KB
(bm25s's Lucene variant); bm25s itself cannot add or remove rows, hence these few lines.
"""
from __future__ import annotations

import json
import math
import os
import shutil
import threading
import weakref
from collections import Counter
from collections.abc import Iterable
from contextlib import AbstractContextManager
from dataclasses import asdict
from functools import cached_property
from pathlib import Path

import faiss
import numpy as np
from scipy import sparse

from ..config import Settings
from ..errors import KBMissingError
from ..ingest.sections import Section
from .base import FORMAT_VERSION, DocumentsView, DocumentWrite, Key, file_lock, kb_terms, text_key

_KEEP_GENERATIONS = 2
# A segment grows by merging up to here (exact search over 50k × 768 floats takes ~10 ms on 2 cores).
SEGMENT_MAX = 50_000
# The newest segment absorbs the one before it while that one is at most this many times its size.
MERGE_RATIO = 2
# A segment with more than this share of its sections deleted is rewritten by the next write.
COMPACT_DELETED = 0.5
BM25_K1, BM25_B = 1.5, 0.75


def current_generation(root: Path) -> Path | None:
    pointer = root / "CURRENT"
    if not pointer.exists():
        return None
    folder = root / pointer.read_text().strip()
    return folder if (folder / "manifest.json").exists() else None


def _embed_text(section: Section) -> str:
    from ..kb import embed_text  # what the model saw decides whether a vector can be reused

    return embed_text(section)


class Segment:
    """One immutable segment; its documents table is read at once, the rest when first searched."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.documents: dict[str, dict] = json.loads((folder / "documents.json").read_text(encoding="utf-8"))
        self.rows = sum(e["sections"] for e in self.documents.values())
        self._lock = threading.Lock()

    @cached_property
    def sections(self) -> list[Section]:
        with open(self.folder / "sections.jsonl", encoding="utf-8") as f:
            return [Section(**json.loads(line)) for line in f]

    @cached_property
    def doc_ids(self) -> np.ndarray:
        return np.array([s.doc_id for s in self.sections], dtype=object)

    @cached_property
    def index(self) -> faiss.Index:
        return faiss.read_index(str(self.folder / "vectors.faiss"))

    @cached_property
    def terms(self) -> tuple[sparse.csc_matrix, dict[str, int], np.ndarray]:
        """Term counts (sections × vocabulary, by column), the vocabulary, and each section's length."""
        with np.load(self.folder / "bm25.npz") as f:
            counts = sparse.csr_matrix((f["data"], f["indices"], f["indptr"]), shape=tuple(f["shape"]))
        vocab = json.loads((self.folder / "vocab.json").read_text(encoding="utf-8"))
        lengths = np.asarray(counts.sum(axis=1), dtype=np.float32).ravel()
        return counts.tocsc(), {t: i for i, t in enumerate(vocab)}, lengths

    def counts_csr(self) -> tuple[sparse.csr_matrix, list[str]]:
        with np.load(self.folder / "bm25.npz") as f:
            counts = sparse.csr_matrix((f["data"], f["indices"], f["indptr"]), shape=tuple(f["shape"]))
        return counts, json.loads((self.folder / "vocab.json").read_text(encoding="utf-8"))

    def vectors_at(self, rows: list[int]) -> np.ndarray:
        """Some rows' vectors, read through a memory map (only their pages come from disk)."""
        mapped = faiss.read_index(str(self.folder / "vectors.faiss"), faiss.IO_FLAG_MMAP)
        return np.stack([mapped.reconstruct(int(r)) for r in rows]) if rows else np.zeros((0, mapped.d), np.float32)

    def row_numbers(self, doc_ids: set[str]) -> list[int]:
        """Rows of these documents, from the table alone (each document's sections are contiguous)."""
        rows, start = [], 0
        for doc_id, entry in self.documents.items():
            if doc_id in doc_ids:
                rows.extend(range(start, start + entry["sections"]))
            start += entry["sections"]
        return rows


# Segments never change once named, so every reader in the process shares one loaded copy.
_loaded: weakref.WeakValueDictionary[str, Segment] = weakref.WeakValueDictionary()
_loaded_lock = threading.Lock()


def _segment(folder: Path) -> Segment:
    with _loaded_lock:
        segment = _loaded.get(str(folder))
        if segment is None:
            segment = _loaded[str(folder)] = Segment(folder)
        return segment


class FaissSnapshot(DocumentsView):
    """One generation of the KB, read-only: what a searcher holds while a writer prepares the next."""

    def __init__(self, root: Path, folder: Path, meta: dict) -> None:
        self.root = root
        self.folder = folder
        self.meta = meta
        self.segments = [_segment(root / "segments" / s["name"]) for s in meta["segments"]]
        self.deleted = [set(s["deleted"]) for s in meta["segments"]]
        self.documents: dict[str, dict] = {}
        self._home: dict[str, int] = {}
        for number, (segment, deleted) in enumerate(zip(self.segments, self.deleted)):
            for doc_id, entry in segment.documents.items():
                if doc_id not in deleted:
                    self.documents[doc_id] = entry
                    self._home[doc_id] = number

    @classmethod
    def load(cls, root: Path) -> "FaissSnapshot":
        folder = current_generation(root)
        if folder is None:
            raise KBMissingError(f"no knowledge base in {root}; build one with `bigan index [PATH ...]`")
        meta = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
        if meta.get("format_version") != FORMAT_VERSION:
            raise KBMissingError(f"the knowledge base in {root} has an old format; rebuild it with `bigan index`")
        return cls(root, folder, meta)

    # Listing and showing: the documents tables only (no vectors, no model).
    def doc_text(self, doc_id: str) -> str:
        return (self.segments[self._home[doc_id]].folder / "docs" / f"{doc_id}.txt").read_text(encoding="utf-8")

    def document_sections(self, doc_id: str) -> list[Section]:
        if doc_id not in self._home:
            return []
        return [s for s in self.segments[self._home[doc_id]].sections if s.doc_id == doc_id]

    # Searching
    def _live(self, number: int) -> np.ndarray:
        """Which rows of segment `number` are live in this generation."""
        deleted = self.deleted[number]
        doc_ids = self.segments[number].doc_ids
        if not deleted:
            return np.ones(len(doc_ids), dtype=bool)
        return ~np.isin(doc_ids, list(deleted))

    @cached_property
    def _masks(self) -> list[np.ndarray]:
        return [self._live(n) for n in range(len(self.segments))]

    def dense(self, vector: np.ndarray, n: int) -> dict[Key, float]:
        found: list[tuple[float, Key]] = []
        query = np.ascontiguousarray(vector.reshape(1, -1), dtype=np.float32)
        for number, (segment, live) in enumerate(zip(self.segments, self._masks)):
            if not live.any():
                continue
            want = min(segment.index.ntotal, n + int((~live).sum()))
            scores, rows = segment.index.search(query, want)
            found += [(float(s), (number, int(r))) for s, r in zip(scores[0], rows[0]) if r >= 0 and live[r]]
        return {key: score for score, key in sorted(found, key=lambda f: -f[0])[:n]}

    @cached_property
    def _bm25_stats(self) -> tuple[int, float]:
        total = count = 0
        for segment, live in zip(self.segments, self._masks):
            total += float(segment.terms[2][live].sum())
            count += int(live.sum())
        return count, (total / count if count else 0.0)

    def lexical(self, tokens: list[str], n: int) -> dict[Key, float]:
        count, average = self._bm25_stats
        if not count or not tokens:
            return {}
        columns = []  # per token: for each segment, (rows, counts) of the live sections holding it
        for token in tokens:
            per_segment, df = [], 0
            for segment, live in zip(self.segments, self._masks):
                counts, vocab, _ = segment.terms
                j = vocab.get(token)
                if j is None:
                    per_segment.append(None)
                    continue
                start, end = counts.indptr[j], counts.indptr[j + 1]
                rows, tf = counts.indices[start:end], counts.data[start:end]
                keep = live[rows]
                per_segment.append((rows[keep], tf[keep]))
                df += int(keep.sum())
            if df:
                columns.append((math.log(1 + (count - df + 0.5) / (df + 0.5)), per_segment))
        found: list[tuple[float, Key]] = []
        for number, segment in enumerate(self.segments):
            lengths = segment.terms[2]
            scores = None
            for idf, per_segment in columns:
                if per_segment[number] is None:
                    continue
                rows, tf = per_segment[number]
                if scores is None:
                    scores = np.zeros(len(lengths), dtype=np.float64)
                # A term's rows are distinct, so adding through the index is exact.
                scores[rows] += idf * tf / (tf + BM25_K1 * (1 - BM25_B + BM25_B * lengths[rows] / average))
            if scores is None:
                continue
            hit = np.flatnonzero(scores > 0)
            if len(hit) > n:
                hit = hit[np.argpartition(-scores[hit], n - 1)[:n]]
            found += [(float(scores[r]), (number, int(r))) for r in hit]
        return {key: score for score, key in sorted(found, key=lambda f: -f[0])[:n]}

    def similarity(self, keys: Iterable[Key], vector: np.ndarray) -> dict[Key, float]:
        return {k: float(self.segments[k[0]].index.reconstruct(k[1]) @ vector) for k in keys}

    def sections_of(self, keys: Iterable[Key]) -> dict[Key, Section]:
        return {k: self.segments[k[0]].sections[k[1]] for k in keys}

    # The whole KB at once, for tools, benchmarks and tests (KnowledgeBase's older interface).
    @cached_property
    def keys(self) -> list[Key]:
        """Every live section's key (what dense, lexical and sections_of speak in), in the order of `sections`."""
        return [(n, int(r)) for n, live in enumerate(self._masks) for r in np.flatnonzero(live)]

    @cached_property
    def sections(self) -> list[Section]:
        """Every live section (as the KB's older interface had them)."""
        return [self.segments[n].sections[r] for n, r in self.keys]

    def vectors(self) -> np.ndarray:
        if not self.keys:
            return np.zeros((0, self.dimension), dtype=np.float32)
        return np.stack([self.segments[n].index.reconstruct(r) for n, r in self.keys])

    @cached_property
    def index(self) -> faiss.Index:
        """One exact index over every live vector, in the order of `sections`."""
        index = faiss.IndexFlatIP(self.dimension)
        index.add(self.vectors())
        return index

    def writes(self, vectors: np.ndarray | None = None) -> list[DocumentWrite]:
        """Every document as a store write (to copy this KB into another store, or with `vectors` in the
        order of `sections` instead of its own: benchmarks of other models)."""
        from ..kb import bm25_tokens

        vectors = self.vectors() if vectors is None else vectors
        rows: dict[str, list[int]] = {}
        for i, section in enumerate(self.sections):
            rows.setdefault(section.doc_id, []).append(i)
        return [
            DocumentWrite(d, self.documents[d], self.doc_text(d), [self.sections[i] for i in r], vectors[r],
                          [bm25_tokens(self.sections[i], self.segmenter) for i in r])
            for d, r in rows.items()
        ]

    @property
    def manifest(self) -> dict:
        return {**self.meta, "documents": self.documents, "terms": sorted(kb_terms(self.documents))}


class FaissStore:
    """The embedded store in `root` (default: the kb_dir setting)."""

    def __init__(self, settings: Settings, root: Path | None = None) -> None:
        self.settings = settings
        self.root = Path(root or settings.kb_dir)

    def exists(self) -> bool:
        return current_generation(self.root) is not None

    def version(self) -> str:
        live = current_generation(self.root)
        return live.name if live else ""

    def read(self) -> FaissSnapshot:
        return FaissSnapshot.load(self.root)

    def writer_lock(self) -> AbstractContextManager:
        return file_lock(self.root / ".lock")

    def meta(self) -> dict | None:
        live = current_generation(self.root)
        return json.loads((live / "manifest.json").read_text(encoding="utf-8")) if live else None

    def document_texts(self) -> tuple[dict[str, dict], dict[str, str]]:
        live = current_generation(self.root)
        if live is None:
            return {}, {}
        meta = json.loads((live / "manifest.json").read_text(encoding="utf-8"))
        if meta.get("format_version") != FORMAT_VERSION:
            # An older KB is one folder with every document's text: carried over, never lost.
            docs = meta.get("documents", {})
            return dict(docs), {d: (live / "docs" / f"{d}.txt").read_text(encoding="utf-8") for d in docs}
        snapshot = FaissSnapshot(self.root, live, meta)
        return dict(snapshot.documents), {d: snapshot.doc_text(d) for d in snapshot.documents}

    def vectors_of(self, doc_ids: Iterable[str]) -> dict[str, np.ndarray]:
        meta = self.meta()
        if meta is None:
            return {}
        if meta.get("format_version") != FORMAT_VERSION:
            return _legacy_vectors(current_generation(self.root), set(doc_ids))
        snapshot = FaissSnapshot(self.root, current_generation(self.root), meta)
        wanted = set(doc_ids) & snapshot.documents.keys()
        reusable: dict[str, np.ndarray] = {}
        for number, segment in enumerate(snapshot.segments):
            mine = {d for d in wanted if snapshot._home[d] == number}
            if mine:
                rows = segment.row_numbers(mine)
                for row, vector in zip(rows, segment.vectors_at(rows)):
                    reusable[text_key(_embed_text(segment.sections[row]))] = vector
        return reusable

    def write(self, meta: dict, docs: list[DocumentWrite], remove: Iterable[str], replace_all: bool = False) -> None:
        """Commit one generation: a new segment for `docs` (plus the segments it absorbs), deletions marked."""
        segments_dir = self.root / "segments"
        segments_dir.mkdir(parents=True, exist_ok=True)
        for leftover in [*segments_dir.glob(".seg-*.tmp"), *self.root.glob(".gen-*.tmp")]:  # from a crashed write
            shutil.rmtree(leftover, ignore_errors=True)
        old = self.meta()
        entries = [] if replace_all or old is None or old.get("format_version") != FORMAT_VERSION else old["segments"]
        gone = set(remove) | {d.doc_id for d in docs}
        kept: list[tuple[Segment, set[str]]] = []
        for entry in entries:
            segment = _segment(segments_dir / entry["name"])
            deleted = set(entry["deleted"]) | (gone & segment.documents.keys())
            if deleted < segment.documents.keys():
                kept.append((segment, deleted))

        new_rows = sum(len(d.sections) for d in docs)
        absorbed: list[tuple[Segment, set[str]]] = []
        if docs:
            # Absorb the newest segments while they are not much larger than what is being written.
            while kept:
                segment, deleted = kept[-1]
                live = segment.rows - sum(segment.documents[d]["sections"] for d in deleted)
                if live > MERGE_RATIO * max(new_rows, 1) or live + new_rows > SEGMENT_MAX:
                    break
                absorbed.insert(0, kept.pop())
                new_rows += live
        # Mostly deleted segments are rewritten, on their own, so deletions do not pile up.
        compacted = [(s, d) for s, d in kept if sum(s.documents[x]["sections"] for x in d) > COMPACT_DELETED * s.rows]
        kept = [k for k in kept if k not in compacted]

        number = max([(old or {}).get("next_segment", 0), *(_number(p.name) for p in segments_dir.glob("seg-*"))], default=0) + 1
        written: list[dict] = []
        for segment, deleted in compacted:
            name = f"seg-{number:06d}"
            number += 1
            _write_segment(segments_dir, name, [], [(segment, deleted)])
            written.append({"name": name, "deleted": []})
        if docs or absorbed:
            name = f"seg-{number:06d}"
            number += 1
            _write_segment(segments_dir, name, docs, absorbed)
            written.append({"name": name, "deleted": []})
        _fsync(segments_dir)

        manifest = {
            **meta,
            "format_version": FORMAT_VERSION,
            "store": "faiss",
            "next_segment": number,
            "segments": [{"name": s.folder.name, "deleted": sorted(d)} for s, d in kept] + written,
        }
        _commit(self.root, manifest)


def _legacy_vectors(folder: Path, doc_ids: set[str]) -> dict[str, np.ndarray]:
    """The vectors of a KB of the previous format (one folder), so moving to segments embeds nothing."""
    try:
        with open(folder / "sections.jsonl", encoding="utf-8") as f:
            sections = [Section(**json.loads(line)) for line in f]
        index = faiss.read_index(str(folder / "vectors.faiss"), faiss.IO_FLAG_MMAP)
    except (OSError, RuntimeError, TypeError, ValueError):
        return {}
    return {
        text_key(_embed_text(s)): index.reconstruct(i) for i, s in enumerate(sections) if s.doc_id in doc_ids
    } if index.ntotal == len(sections) else {}


def _number(name: str) -> int:
    digits = name.split("-", 1)[1]
    return int(digits) if digits.isdigit() else 0


def _write_segment(parent: Path, name: str, docs: list[DocumentWrite], carried: list[tuple[Segment, set[str]]]) -> None:
    """Write a segment: the live rows of `carried` segments (their vectors and counts copied as they are),
    then `docs`. Written under a temporary name and renamed whole."""
    tmp = parent / f".{name}.tmp"
    try:
        (tmp / "docs").mkdir(parents=True)
        documents: dict[str, dict] = {}
        sections: list[Section] = []
        vectors: list[np.ndarray] = []
        counts: list[tuple[np.ndarray, np.ndarray, np.ndarray, int]] = []  # (values, rows, columns, row count)
        vocab: dict[str, int] = {}
        for segment, deleted in carried:
            live_docs = [d for d in segment.documents if d not in deleted]
            rows = segment.row_numbers(set(live_docs))
            for doc_id in live_docs:
                documents[doc_id] = segment.documents[doc_id]
                _link(segment.folder / "docs" / f"{doc_id}.txt", tmp / "docs" / f"{doc_id}.txt")
            sections += [segment.sections[r] for r in rows]
            vectors.append(segment.vectors_at(rows))
            matrix, words = segment.counts_csr()
            columns = np.array([vocab.setdefault(w, len(vocab)) for w in words], dtype=np.int64)
            part = matrix[rows].tocoo()
            counts.append((part.data, part.row.astype(np.int64), columns[part.col], len(rows)))
        for doc in docs:
            documents[doc.doc_id] = doc.entry
            (tmp / "docs" / f"{doc.doc_id}.txt").write_text(doc.text, encoding="utf-8")
            sections += doc.sections
            vectors.append(np.asarray(doc.vectors, dtype=np.float32))
            data, row_ids, cols = [], [], []
            for r, tokens in enumerate(doc.tokens):
                for token, c in Counter(tokens).items():
                    data.append(c)
                    row_ids.append(r)
                    cols.append(vocab.setdefault(token, len(vocab)))
            counts.append((np.array(data, np.float32), np.array(row_ids, np.int64), np.array(cols, np.int64), len(doc.sections)))
        matrix = _stack_counts(counts, len(vocab))
        np.savez(tmp / "bm25.npz", data=matrix.data, indices=matrix.indices, indptr=matrix.indptr, shape=np.array(matrix.shape))
        (tmp / "vocab.json").write_text(json.dumps(list(vocab), ensure_ascii=False), encoding="utf-8")
        with open(tmp / "sections.jsonl", "w", encoding="utf-8") as f:
            for section in sections:
                f.write(json.dumps(asdict(section), ensure_ascii=False) + "\n")
        from ..kb import vector_index  # exact below EXACT_MAX, as the KB has always chosen

        faiss.write_index(vector_index(np.concatenate(vectors) if vectors else np.zeros((0, 1), np.float32)), str(tmp / "vectors.faiss"))
        (tmp / "documents.json").write_text(json.dumps(documents, ensure_ascii=False), encoding="utf-8")
        _fsync_tree(tmp)
        tmp.rename(parent / name)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _stack_counts(parts: list[tuple[np.ndarray, np.ndarray, np.ndarray, int]], width: int) -> sparse.csr_matrix:
    data, rows, cols, offset = [], [], [], 0
    for d, r, c, n in parts:
        data.append(d)
        rows.append(r + offset)
        cols.append(c)
        offset += n
    if not parts:
        return sparse.csr_matrix((0, width), dtype=np.float32)
    return sparse.csr_matrix(
        (np.concatenate(data).astype(np.float32), (np.concatenate(rows), np.concatenate(cols))), shape=(offset, width)
    )


def _link(source: Path, target: Path) -> None:
    """A carried document's text: a hard link (segments never change), a copy where links fail."""
    try:
        os.link(source, target)
    except OSError:
        shutil.copyfile(source, target)


def _commit(root: Path, manifest: dict) -> None:
    """Write the generation's manifest beside the live one, then swap CURRENT; old ones are collected."""
    numbers = [_number(p.name) for p in root.glob("gen-*")]
    name = f"gen-{max(numbers, default=0) + 1:06d}"
    tmp = root / f".{name}.tmp"
    try:
        tmp.mkdir()
        (tmp / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=1), encoding="utf-8")
        _fsync_tree(tmp)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    tmp.rename(root / name)
    pointer = root / ".CURRENT.tmp"
    pointer.write_text(name + "\n")
    _fsync(pointer)
    # The new generation's files and name are on disk before CURRENT names it: a power cut cannot leave
    # CURRENT pointing at a folder whose files were never written.
    _fsync(root)
    os.replace(pointer, root / "CURRENT")
    _fsync(root)
    _collect(root, name)


def _collect(root: Path, live: str) -> None:
    """Remove generations older than the last _KEEP_GENERATIONS and segments none of those uses.

    The previous generation stays whole: a reader that loaded it a moment ago can still read its texts."""
    generations = sorted((p for p in root.glob("gen-*") if p.is_dir()), key=lambda p: _number(p.name))
    for stale in generations[:-_KEEP_GENERATIONS]:
        shutil.rmtree(stale, ignore_errors=True)
    used: set[str] = set()
    for folder in generations[-_KEEP_GENERATIONS:]:
        try:
            meta = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        used |= {s["name"] for s in meta.get("segments", [])}
    for segment in (root / "segments").glob("seg-*"):
        if segment.name not in used:
            shutil.rmtree(segment, ignore_errors=True)


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_tree(folder: Path) -> None:
    for path in sorted(folder.rglob("*"), key=lambda p: -len(p.parts)):  # files before their folders
        _fsync(path)
    _fsync(folder)
