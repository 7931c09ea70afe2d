"""The knowledge base on disk: sections, their vectors (FAISS) and a BM25 index, with a manifest.

Layout of the KB folder: `CURRENT` names the live generation folder; each `gen-*` folder holds
manifest.json, sections.jsonl, vectors.faiss, bm25/, terms.txt and docs/<doc_id>.txt (the
extracted text, so re-cleaning never needs the original file). A build writes a new generation and
then swaps CURRENT atomically, so a crash or a reader mid-build always sees a whole KB.
"""
from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import time
from collections.abc import Callable, Iterable
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path

import bm25s
import faiss
import numpy as np

from .components.embedding import choose_backend, get_embedder, resolve_model, truncate
from .components.onnx_export import EXPORT_VERSION
from .config import Settings
from .errors import BiganError, KBMissingError
from .ingest.clean import clean_text, front_matter
from .ingest.loaders import READER_VERSION, LoadError, load_document
from .ingest.sections import Section, split_sections
from .text.chinese import to_simplified
from .text.segment import add_terms, coined_terms, tokenize

# 2: sections carry page and continued; titles come from the file format and the document alone.
FORMAT_VERSION = 2
_KEEP_GENERATIONS = 2
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


def bm25_tokens(section: Section) -> list[str]:
    """Title and heading path are searchable words too: a question may name the document or the part."""
    return tokenize("\n".join((to_simplified(section.title), to_simplified(section.heading), section.text_s)))


def _text_key(text: str) -> str:
    return hashlib.sha1(text.encode()).hexdigest()


def _doc_id(source: str) -> str:
    return hashlib.sha1(source.encode()).hexdigest()[:16]


class KnowledgeBase:
    """A loaded, read-only generation of the KB."""

    def __init__(self, folder: Path, manifest: dict, sections: list[Section], index: faiss.Index, bm25: bm25s.BM25 | None):
        self.folder = folder
        self.manifest = manifest
        self.sections = sections
        self.index = index
        self.bm25 = bm25
        add_terms(manifest.get("terms", []))

    @property
    def documents(self) -> dict[str, dict]:
        return self.manifest["documents"]

    def doc_text(self, doc_id: str) -> str:
        return (self.folder / "docs" / f"{doc_id}.txt").read_text(encoding="utf-8")

    def resolve(self, ref: str) -> str:
        """The doc id of a document named by its id, its file name or its path (as indexed or as given)."""
        if ref in self.documents:
            return ref
        as_path = str(Path(ref).expanduser().resolve())
        matches = [d for d, e in self.documents.items() if ref in (e["source"], e["name"]) or e["source"] == as_path]
        if not matches:
            raise BiganError(f"no document '{ref}' in the knowledge base; `bigan docs` lists them")
        if len(matches) > 1:
            raise BiganError(f"'{ref}' names {len(matches)} documents; give its path or id (`bigan docs`)")
        return matches[0]

    def document_sections(self, doc_id: str) -> list[Section]:
        return [s for s in self.sections if s.doc_id == doc_id]

    def vectors(self) -> np.ndarray:
        if self.index.ntotal == 0:
            return np.zeros((0, self.index.d), dtype=np.float32)
        return self.index.reconstruct_n(0, self.index.ntotal)

    @classmethod
    def load(cls, root: Path, any_format: bool = False) -> "KnowledgeBase":
        """The live generation; `any_format` also opens an older format (to rebuild it from its texts)."""
        folder = current_generation(root)
        if folder is None:
            raise KBMissingError(f"no knowledge base in {root}; build one with `bigan index [PATH ...]`")
        manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
        if manifest.get("format_version") != FORMAT_VERSION and not any_format:
            raise KBMissingError(f"the knowledge base in {root} has an old format; rebuild it with `bigan index`")
        with open(folder / "sections.jsonl", encoding="utf-8") as f:
            sections = [Section(**json.loads(line)) for line in f]
        index = faiss.read_index(str(folder / "vectors.faiss"))
        bm25 = bm25s.BM25.load(str(folder / "bm25")) if (folder / "bm25").exists() else None
        return cls(folder, manifest, sections, index, bm25)


def document_rows(kb: KnowledgeBase) -> list[dict]:
    """Every document, newest first, as the CLI and the web app list them."""
    return [
        {"id": doc_id, "source": e["source"], "name": e["name"], "title": e.get("title", ""),
         "sections": e.get("sections", 0), "chars": e.get("chars", 0), "size": e["size"], "added": e["added"]}
        for doc_id, e in sorted(kb.documents.items(), key=lambda item: item[1]["added"], reverse=True)
    ]


def current_generation(root: Path) -> Path | None:
    pointer = root / "CURRENT"
    if not pointer.exists():
        return None
    folder = root / pointer.read_text().strip()
    return folder if (folder / "manifest.json").exists() else None


@contextmanager
def _writer_lock(root: Path):
    root.mkdir(parents=True, exist_ok=True)
    with open(root / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


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
) -> IndexReport:
    """Index `add` (files or folders) into the KB at `root`, drop the doc ids in `remove`.

    `force` re-splits every document and rewrites both indexes even when nothing changed.
    Only sections whose text changed are embedded again; the vectors of removed or changed
    documents are not carried into the new generation.
    """
    _, fingerprint = resolve_model(settings)
    backend, _ = choose_backend(settings, fingerprint)
    # Vectors are reused only when the same weights, backend and width would produce them again.
    vector_key = {
        "fingerprint": fingerprint, "backend": backend, "dimension_setting": settings.embedding_dim,
        # A new int8 export computes other vectors from the same weights.
        "backend_version": EXPORT_VERSION if backend == "onnx-int8" else 0,
    }
    files, folders = _scan(add)
    chunking = {"tokens": settings.chunk_tokens, "min_tokens": settings.min_chunk_tokens, "encoding": settings.token_encoding}
    report = IndexReport()
    with _writer_lock(root):
        old = _load_any(root)
        built_with = old.manifest["embedding"] if old else {}
        previous = old if old and all(built_with.get(k) == v for k, v in vector_key.items()) else None
        if old and previous is None:
            # Texts of the old KB are reused; its vectors come from another model or backend and are dropped.
            report.rebuilt = (
                f"KB was built with {built_with['model']} ({built_with.get('backend', 'torch-fp32')}); "
                f"re-embedding everything with {settings.embedding_model} ({backend})"
            )
            log(report.rebuilt)
        docs, texts = _update_documents(old, files, folders, set(remove), report)
        unchanged = not (report.added or report.updated or report.removed or report.rebuilt)
        same_format = old is not None and old.manifest.get("format_version") == FORMAT_VERSION
        if old and unchanged and same_format and old.manifest["chunking"] == chunking and not force:
            report.sections = len(old.sections)
            return report  # nothing changed: the live generation stays as it is

        sections = _split_all(docs, texts, settings)
        vectors = _vectors_for(sections, previous, settings, report, log, progress)
        terms = sorted(coined_terms(s.text_s for s in sections))
        add_terms(terms)
        manifest = {
            "format_version": FORMAT_VERSION,
            "embedding": {"model": settings.embedding_model, **vector_key, "dimension": vectors.shape[1]},
            "chunking": chunking,
            "built": time.strftime("%Y-%m-%d %H:%M:%S"),
            "terms": terms,
            "documents": docs,
        }
        _write_generation(root, manifest, sections, vectors, texts)
    return report


def _update_documents(
    old: KnowledgeBase | None, files: list[Path], folders: list[Path], remove: set[str], report: IndexReport
) -> tuple[dict[str, dict], dict[str, str]]:
    """The document table and texts after removals and additions; unreadable files keep their old version."""
    docs: dict[str, dict] = dict(old.documents) if old else {}
    texts: dict[str, str] = {d: old.doc_text(d) for d in docs} if old else {}
    for doc_id in list(docs):
        source = Path(docs[doc_id]["source"])
        vanished = any(source.is_relative_to(folder) for folder in folders) and not source.exists()
        if doc_id in remove or vanished:
            report.removed.append(docs[doc_id]["source"])
            del docs[doc_id], texts[doc_id]

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
    return docs, texts


def _split_all(docs: dict[str, dict], texts: dict[str, str], settings: Settings) -> list[Section]:
    """Clean and split every document, each on its own (nothing learned across documents)."""
    sections: list[Section] = []
    for doc_id in sorted(docs, key=lambda d: docs[d]["source"]):
        entry = docs[doc_id]
        cleaned = clean_text(texts[doc_id], entry.get("format_title", ""), fallback_title=Path(entry["name"]).stem)
        doc_sections = split_sections(
            cleaned, doc_id, entry["name"], settings.chunk_tokens, settings.min_chunk_tokens, settings.token_encoding
        )
        entry["title"] = cleaned.title
        entry["sections"] = len(doc_sections)
        entry["chars"] = sum(len(p) for p in cleaned.paragraphs)
        entry["label"] = " ".join(front_matter(cleaned))  # names the document beside its title (year, occasion)
        sections.extend(doc_sections)
    return sections


def _vectors_for(
    sections: list[Section],
    previous: KnowledgeBase | None,
    settings: Settings,
    report: IndexReport,
    log: Callable[[str], None],
    progress: bool,
) -> np.ndarray:
    """Vectors for `sections`, reusing the previous generation's for unchanged embed texts."""
    reusable: dict[str, np.ndarray] = {}
    if previous is not None:
        reusable = {_text_key(embed_text(s)): v for s, v in zip(previous.sections, previous.vectors())}
    keys = [_text_key(embed_text(s)) for s in sections]
    missing = [i for i, key in enumerate(keys) if key not in reusable]
    if previous is not None and not missing:
        dim = int(previous.index.d)
    else:
        embedder = get_embedder(settings)
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
    report.sections = len(sections)
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


def _load_any(root: Path) -> KnowledgeBase | None:
    try:
        return KnowledgeBase.load(root, any_format=True)
    except KBMissingError:
        return None


def _write_generation(root: Path, manifest: dict, sections: list[Section], vectors: np.ndarray, texts: dict[str, str]) -> None:
    for leftover in root.glob(".gen-*.tmp"):  # from a build that crashed
        shutil.rmtree(leftover, ignore_errors=True)
    numbers = [int(p.name.split("-")[1]) for p in root.glob("gen-*") if p.name.split("-")[1].isdigit()]
    name = f"gen-{max(numbers, default=0) + 1:06d}"
    tmp = root / f".{name}.tmp"
    try:
        _write_files(tmp, manifest, sections, vectors, texts)
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
    generations = sorted(p for p in root.glob("gen-*") if p.is_dir() and p.name != name)
    for stale in generations[: -(_KEEP_GENERATIONS - 1)]:
        shutil.rmtree(stale, ignore_errors=True)


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


def _write_files(folder: Path, manifest: dict, sections: list[Section], vectors: np.ndarray, texts: dict[str, str]) -> None:
    (folder / "docs").mkdir(parents=True)
    for doc_id in manifest["documents"]:
        (folder / "docs" / f"{doc_id}.txt").write_text(texts[doc_id], encoding="utf-8")
    with open(folder / "sections.jsonl", "w", encoding="utf-8") as f:
        for section in sections:
            f.write(json.dumps(asdict(section), ensure_ascii=False) + "\n")
    faiss.write_index(vector_index(vectors), str(folder / "vectors.faiss"))
    if sections:
        bm25 = bm25s.BM25()
        bm25.index([bm25_tokens(s) for s in sections], show_progress=False)
        bm25.save(str(folder / "bm25"))
    (folder / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=1), encoding="utf-8")
