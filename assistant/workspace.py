"""A knowledge base that changes while it is searched: what the web app works on.

Readers hold a view of the KB from its store; with the FAISS store a build writes the next generation
beside it and the pointer swaps atomically (store/faiss_store.py), so a question asked during indexing
sees the old KB or the new one, never a half-built one. Writers queue on the KB's lock. Listing and
showing documents need only the view, not the embedding model.

Also the web app's housekeeping: a folder each server process owns for its temporary files
(RunFolder; a dead process's folder is removed by the next start) and the private KB copies of
demo sessions, deleted once idle (Sessions).
"""
from __future__ import annotations

import fcntl
import os
import secrets
import shutil
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from .components.embedding import Embedder
from .config import Settings
from .errors import BiganError
from .ingest.sections import Section
from .kb import IndexReport, build
from .retrieve import Hit, Searcher
from .store import Store, StoreReader, open_store, resolve
from .store.faiss_store import FaissStore, current_generation

UPLOADS = "uploads"
_REPLACED = ".replaced"  # files an upload replaced, kept until the new version has been indexed
_RUN_PREFIX = "run-"
_LOCK = ".lock"
_UNLOCKED_GRACE_S = 60  # a run folder younger than this may be one whose owner has not locked it yet


@dataclass
class DocumentRow:
    doc_id: str
    title: str
    name: str
    sections: int
    size: int
    added: str
    uploaded: bool


class Workspace:
    def __init__(
        self, settings: Settings, root: Path | None = None, read_only: bool = False, embedder: Embedder | None = None
    ) -> None:
        self.settings = settings
        self.root = Path(root or settings.kb_dir)
        self.read_only = read_only
        self.store: Store = open_store(settings, self.root)
        self._embedder = embedder
        self._view: StoreReader | None = None
        self._view_version: str | None = None
        self._searcher: Searcher | None = None
        self._lock = threading.Lock()
        self._write_lock = threading.Lock()  # file staging below happens outside the KB's own lock

    @classmethod
    def copy_of(cls, source: "Workspace", target: Path) -> "Workspace":
        """A private, writable copy of another workspace's live KB (for one demo session).

        FAISS segments never change once written, so the copy links their files instead of copying them.
        A Milvus KB lives in a database that sessions would share: no private copies there.
        """
        if not isinstance(source.store, FaissStore):
            raise BiganError("Milvus 存储不支持演示会话的私有知识库；请设置 BIGAN_DEMO_UPLOADS=off 或改用 faiss 存储")
        if current_generation(source.root) is None:
            raise BiganError("没有可复制的知识库")
        snapshot = source.store.read()
        live = snapshot.folder
        target.mkdir(parents=True, exist_ok=True)
        shutil.copytree(live, target / live.name)
        for entry in snapshot.meta["segments"]:
            shutil.copytree(source.root / "segments" / entry["name"], target / "segments" / entry["name"], copy_function=_link)
        (target / "CURRENT").write_text(live.name + "\n")
        return cls(source.settings, target, embedder=source._embedder)

    @property
    def view(self) -> StoreReader:
        """The KB as committed now, without the embedding model (listing, showing, resolving)."""
        version = self.store.version()
        with self._lock:
            if self._view is None or version != self._view_version:
                self._view = self.store.read()
                self._view_version = version
            return self._view

    @property
    def searcher(self) -> Searcher:
        """The searcher over the live KB, reopened when another build has changed it (the model is kept)."""
        view = self.view
        with self._lock:
            if self._searcher is None or self._searcher.kb is not view:
                embedder = self._embedder or (self._searcher.embedder if self._searcher else None)
                self._searcher = Searcher.over(view, self.settings, embedder)
            return self._searcher

    def documents(self) -> list[DocumentRow]:
        uploads = (self.root / UPLOADS).resolve()
        return [
            DocumentRow(doc_id, e.get("title", ""), e["name"], e.get("sections", 0), e["size"], e["added"],
                        Path(e["source"]).resolve().is_relative_to(uploads))
            for doc_id, e in sorted(self.view.documents.items(), key=lambda item: item[1]["added"], reverse=True)
        ]

    def resolve(self, ref: str) -> str:
        """The id of the document named by its id, file name or path (a BiganError if none or several)."""
        return resolve(self.view.documents, ref)

    def document(self, doc_id: str) -> dict:
        """The table entry of one document: source, name, title, sections, size, chars, added."""
        return self.view.documents[doc_id]

    def document_sections(self, doc_id: str) -> list[Section]:
        return self.view.document_sections(doc_id)

    def index(self, paths: list[Path], log: Callable[[str], None] | None = None, progress: bool = False) -> IndexReport:
        """Add or update files and folders where they are (the command line's `bigan index`)."""
        self._check_writable()
        with self._write_lock:
            return build(self.root, self.settings, add=paths, log=log or (lambda _: None), progress=progress, **self._target)

    def remove(self, doc_ids: list[str], log: Callable[[str], None] | None = None) -> IndexReport:
        self._check_writable()
        with self._write_lock:
            return build(self.root, self.settings, remove=doc_ids, log=log or (lambda _: None), **self._target)

    def add_files(self, files: list[Path], progress: bool = False) -> IndexReport:
        """Copy uploaded files into the KB's own folder and index them (an upload's temp file does not last).

        All or nothing per file: a file that fails to index is not kept, and one that replaced an
        earlier upload of the same name puts that one back; if the build itself fails, the folder
        is as it was before the batch.
        """
        self._check_writable()
        folder = self.root / UPLOADS
        replaced = self.root / _REPLACED
        with self._write_lock:
            folder.mkdir(parents=True, exist_ok=True)
            staged: list[tuple[Path, Path | None]] = []  # (where the upload went, the file it replaced)
            try:
                for file in files:
                    target = folder / Path(file).name
                    backup = None
                    if target.exists():
                        replaced.mkdir(exist_ok=True)
                        backup = replaced / f"{secrets.token_hex(8)}-{target.name}"
                        os.replace(target, backup)
                    staged.append((target, backup))
                    shutil.copyfile(file, target)
                report = build(self.root, self.settings, add=[t for t, _ in staged], progress=progress, **self._target)
            except BaseException:
                for target, backup in staged:
                    _restore(target, backup)
                raise
            failed = {Path(source).resolve() for source, _ in report.failed}
            for target, backup in staged:
                if target.resolve() in failed:
                    _restore(target, backup)
                elif backup is not None:
                    backup.unlink(missing_ok=True)
        return report

    def delete(self, doc_id: str) -> IndexReport:
        self._check_writable()
        row = next((d for d in self.documents() if d.doc_id == doc_id), None)
        if row is None:
            raise BiganError("知识库中没有这个文档（可能已被删除），请刷新列表")
        with self._write_lock:
            report = build(self.root, self.settings, remove=[doc_id], **self._target)
            if row.uploaded:
                (self.root / UPLOADS / row.name).unlink(missing_ok=True)
        return report

    def rebuild(self, progress: bool = False) -> IndexReport:
        """Re-read the documents whose files still exist, re-split everything, rewrite both indexes."""
        self._check_writable()
        sources = [Path(e["source"]) for e in self.view.documents.values()]
        with self._write_lock:
            return build(self.root, self.settings, add=[p for p in sources if p.exists()], progress=progress, force=True, **self._target)

    @property
    def _target(self) -> dict:
        """What a build of this workspace writes with: its store, and its model if it was given one."""
        return {"store": self.store, "embedder": self._embedder}

    def search(self, query: str, k: int = 10) -> list[Hit]:
        return self.searcher.search(query, k)

    def _check_writable(self) -> None:
        if self.read_only:
            raise BiganError("演示版的示例知识库是只读的")


def _link(source: str, target: str) -> None:
    """Segment files never change: a session's copy links them (a copy where links fail)."""
    try:
        os.link(source, target)
    except OSError:
        shutil.copy2(source, target)


def _restore(target: Path, backup: Path | None) -> None:
    """Undo one staged upload: put back the file it replaced, or remove it."""
    if backup is not None:
        os.replace(backup, target)
    else:
        target.unlink(missing_ok=True)


class RunFolder:
    """A folder under `parent` for one server process's temporary files, locked while the process runs.

    Claiming one removes the folders of earlier runs whose lock is free: their process exited or
    died without cleaning up. Several servers may share `parent`; a live one's folder is never touched.
    """

    def __init__(self, parent: Path) -> None:
        parent.mkdir(parents=True, exist_ok=True)
        self.removed = remove_stale_runs(parent)
        self.path = Path(tempfile.mkdtemp(prefix=_RUN_PREFIX, dir=parent))
        self._lock_file = open(self.path / _LOCK, "w")
        fcntl.flock(self._lock_file, fcntl.LOCK_EX | fcntl.LOCK_NB)

    def close(self) -> None:
        shutil.rmtree(self.path, ignore_errors=True)
        self._lock_file.close()


def remove_stale_runs(parent: Path) -> list[Path]:
    """Remove the run folders under `parent` that no live process holds; return them."""
    removed = []
    for folder in parent.glob(_RUN_PREFIX + "*"):
        if _held(folder):
            continue
        shutil.rmtree(folder, ignore_errors=True)
        removed.append(folder)
    return removed


def _held(folder: Path) -> bool:
    try:
        with open(folder / _LOCK) as lock:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except FileNotFoundError:
        return time.time() - folder.stat().st_mtime < _UNLOCKED_GRACE_S
    except BlockingIOError:
        return True
    return False  # the lock was free (closing the file released it again)


def remove_older_than(folder: Path, age_s: float, pattern: str = "*") -> list[Path]:
    """Remove the entries of `folder` matching `pattern` not modified for `age_s` seconds; return them."""
    cutoff = time.time() - age_s
    removed = []
    for entry in folder.glob(pattern) if folder.is_dir() else ():
        try:
            if entry.lstat().st_mtime >= cutoff:
                continue
        except FileNotFoundError:
            continue
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry, ignore_errors=True)
        else:
            entry.unlink(missing_ok=True)
        removed.append(entry)
    return removed


class Sessions:
    """Private, writable copies of a shared KB, one per browser session (the hosted demo).

    Each lives in its own folder under `folder`; a copy not used for `ttl_s` seconds is deleted by
    sweep(), and a later request from that session sees the shared KB again.
    """

    def __init__(self, shared: Workspace, folder: Path, ttl_s: float) -> None:
        self.shared = shared
        self.folder = folder
        self.ttl_s = ttl_s
        self._open: dict[str, Workspace] = {}
        self._used: dict[str, float] = {}
        self._lock = threading.Lock()

    def get(self, key: str | None) -> Workspace | None:
        """The session's copy, if it has one; asking counts as using it."""
        with self._lock:
            if key not in self._open:
                return None
            self._used[key] = time.monotonic()
            return self._open[key]

    def open(self, key: str) -> Workspace:
        """The session's copy, made now if it has none."""
        with self._lock:
            if key not in self._open:
                self._open[key] = Workspace.copy_of(self.shared, self.folder / key / "kb")
            self._used[key] = time.monotonic()
            return self._open[key]

    def sweep(self, now: float | None = None) -> list[str]:
        """Delete the copies idle longer than the TTL, and any folder no session owns; return their keys."""
        now = time.monotonic() if now is None else now
        with self._lock:
            idle = [key for key, used in self._used.items() if now - used > self.ttl_s]
            for key in idle:
                del self._open[key], self._used[key]
            orphans = [p.name for p in self.folder.glob("*") if p.name not in self._open] if self.folder.is_dir() else []
        for key in {*idle, *orphans}:
            shutil.rmtree(self.folder / key, ignore_errors=True)
        return idle

