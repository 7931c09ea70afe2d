"""A knowledge base that changes while it is searched: what the web app works on.

Readers hold a loaded generation; a build writes the next one beside it and the pointer swaps
atomically (kb.py), so a question asked during indexing sees the old KB or the new one, never a
half-built one. Writers queue on the KB's lock.
"""
from __future__ import annotations

import shutil
import threading
from dataclasses import dataclass
from pathlib import Path

from .config import Settings
from .errors import BiganError
from .kb import IndexReport, build, current_generation
from .retrieve import Hit, Searcher

UPLOADS = "uploads"


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
    def __init__(self, settings: Settings, root: Path | None = None, read_only: bool = False) -> None:
        self.settings = settings
        self.root = Path(root or settings.kb_dir)
        self.read_only = read_only
        self._searcher: Searcher | None = None
        self._loaded: Path | None = None
        self._lock = threading.Lock()

    @classmethod
    def copy_of(cls, source: "Workspace", target: Path) -> "Workspace":
        """A private, writable copy of another workspace's live KB (for one demo session)."""
        live = current_generation(source.root)
        if live is None:
            raise BiganError("there is no knowledge base to copy")
        target.mkdir(parents=True, exist_ok=True)
        shutil.copytree(live, target / live.name)
        (target / "CURRENT").write_text(live.name + "\n")
        return cls(source.settings, target)

    @property
    def searcher(self) -> Searcher:
        """The searcher over the live generation, reloaded when another build has swapped it."""
        live = current_generation(self.root)
        with self._lock:
            if self._searcher is None or live != self._loaded:
                self._searcher = Searcher.open(self.settings, self.root)
                self._loaded = self._searcher.kb.folder
            return self._searcher

    def documents(self) -> list[DocumentRow]:
        kb = self.searcher.kb
        uploads = (self.root / UPLOADS).resolve()
        return [
            DocumentRow(doc_id, e.get("title", ""), e["name"], e.get("sections", 0), e["size"], e["added"],
                        Path(e["source"]).resolve().is_relative_to(uploads))
            for doc_id, e in sorted(kb.documents.items(), key=lambda item: item[1]["added"], reverse=True)
        ]

    def add_files(self, files: list[Path], progress: bool = False) -> IndexReport:
        """Copy uploaded files into the KB's own folder and index them (an upload's temp file does not last)."""
        self._check_writable()
        folder = self.root / UPLOADS
        folder.mkdir(parents=True, exist_ok=True)
        kept = []
        for file in files:
            target = folder / Path(file).name
            shutil.copyfile(file, target)
            kept.append(target)
        report = build(self.root, self.settings, add=kept, progress=progress)
        indexed = {d.name for d in self.documents() if d.uploaded}
        for source, _ in report.failed:  # a new file that failed is not kept; a bad update keeps the old one
            if Path(source).name not in indexed:
                Path(source).unlink(missing_ok=True)
        return report

    def delete(self, doc_id: str) -> IndexReport:
        self._check_writable()
        row = next((d for d in self.documents() if d.doc_id == doc_id), None)
        if row is None:
            raise BiganError("that document is not in the knowledge base")
        report = build(self.root, self.settings, remove=[doc_id])
        if row.uploaded:
            (self.root / UPLOADS / row.name).unlink(missing_ok=True)
        return report

    def rebuild(self, progress: bool = False) -> IndexReport:
        """Re-read the documents whose files still exist, re-split everything, rewrite both indexes."""
        self._check_writable()
        sources = [Path(e["source"]) for e in self.searcher.kb.documents.values()]
        return build(self.root, self.settings, add=[p for p in sources if p.exists()], progress=progress, force=True)

    def search(self, query: str, k: int = 10) -> list[Hit]:
        return self.searcher.search(query, k)

    def _check_writable(self) -> None:
        if self.read_only:
            raise BiganError("the sample knowledge base is read-only in the demo")

