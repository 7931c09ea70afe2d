"""The one service every shell uses: the web app, the command line and the /v1 API.

Ask, draft, search, the KB (list, show, add, remove, rebuild), evaluate and export, over the
shared workspace or a demo session's private copy. A *served* service (web app, API) also applies
the server-side limits, keeps the KB read-only in the demo and redacts what it shows; the command
line's owner gets none of that. Answers and drafts stream as typed events.
"""
from __future__ import annotations

import logging
import re
import secrets
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from .answer import Answer, Citation, ask_stream
from .components.llm import LLM, LLMError, get_llm
from .config import Settings
from .draft import Draft, DraftRequest, draft_stream, prompt_preview
from .errors import BiganError
from .evaluate import Report, evaluate_items, load_items
from .export import split_title, to_docx, to_markdown
from .ingest.sections import Section
from .kb import IndexReport
from .retrieve import Hit, Searcher
from .workspace import RunFolder, Sessions, Workspace, remove_older_than

log = logging.getLogger(__name__)

MIN_DRAFT_CHARS = 50
# A draft file is removed once the web app has handed it out; this catches one whose request was cut off.
DRAFT_TTL_S = 600
# Folders the app used in the system temp folder before it had a folder of its own.
LEGACY_TEMP = ("bigan-session-*", "bigan-draft-*")
# The directories of an absolute path (the file or folder name after them is kept); not the
# slashes of a URL (after ':' or '/') or of text like 党组/党委.
_DIRS_RE = re.compile(r"(?<![\w.:/~-])~?/(?:[^\s/\"'<>|:：，。；、（）()]+/)+")
FROM_SETTINGS = object()  # Service(llm=…) left out: the model the settings configure
Session = dict  # a shell's per-user state; the service keeps the key of its private KB copy in it


def strip_paths(message: str) -> str:
    """The message with the folders of every absolute path removed (`/srv/kb/a.docx` → `a.docx`)."""
    return _DIRS_RE.sub("", message)


# --- what a stream yields ----------------------------------------------------------------------


@dataclass
class TextDelta:
    """The next piece of the answer or draft, to append to what was shown."""

    text: str


@dataclass
class Citations:
    """The passages the finished text cites (an answer) or drew on (a draft), numbered as in the text."""

    items: list[Citation]


@dataclass
class Done:
    result: Answer | Draft


@dataclass
class Failed:
    """A failure as a one-line message fit to show; the stream ends with it. `by_model`: the chat
    model failed (unreachable, cut off, …), not the request."""

    message: str
    by_model: bool = False


Event = TextDelta | Citations | Done | Failed


@dataclass
class StatusFacts:
    """What the status line says: who answers, and which retrieval model runs how."""

    llm_model: str | None  # None: offline
    llm_where: str  # endpoint for display; empty in the demo
    embedding_model: str
    embedding_backend: str


class Service:
    """Bigan's operations for one set of settings.

    `llm` is the chat model (assistant.components.llm.LLM) to use, or None for offline; left out,
    it is built from the settings when first needed. `served` marks a network-facing shell.
    The run folder, demo sessions and drafts folder are made on first use, so the command line
    never touches them.
    """

    def __init__(self, settings: Settings, llm: LLM | None | object = FROM_SETTINGS, *, served: bool = False) -> None:
        self.settings = settings
        self.served = served
        if llm is not FROM_SETTINGS:
            self.__dict__["llm"] = llm  # fills the cached property
        self._stop = threading.Event()
        self._sweeper: threading.Thread | None = None
        self.ready = threading.Event()  # set once the model and the KB are loaded

    # --- shared state ----------------------------------------------------------------------------

    @cached_property
    def llm(self) -> LLM | None:
        return get_llm(self.settings)

    @cached_property
    def shared(self) -> Workspace:
        return Workspace(self.settings, read_only=self.served and self.settings.demo)

    @cached_property
    def run(self) -> RunFolder:
        """This process's own folder for temporary files (session KBs, drafts, the web stack's uploads)."""
        return RunFolder(self.settings.runtime_dir)

    @cached_property
    def drafts(self) -> Path:
        folder = self.run.path / "drafts"
        folder.mkdir(exist_ok=True)
        return folder

    @cached_property
    def sessions(self) -> Sessions:
        return Sessions(self.shared, self.run.path / "sessions", self.settings.session_ttl_s)

    @property
    def uploads_allowed(self) -> bool:
        return not self.settings.demo or self.settings.demo_uploads == "session"

    def load(self) -> None:
        """Load the model and the KB now, not on the first question."""
        self.shared.searcher
        self.llm
        self.ready.set()

    def start(self) -> None:
        """Start sweeping: idle session KBs and forgotten drafts are deleted while the server runs."""
        for pattern in LEGACY_TEMP:
            remove_older_than(Path(tempfile.gettempdir()), self.settings.session_ttl_s, pattern)
        interval = min(60.0, max(0.5, self.settings.session_ttl_s / 4))
        self._sweeper = threading.Thread(target=self._sweep_every, args=(interval,), name="bigan-sweeper", daemon=True)
        self._sweeper.start()

    def _sweep_every(self, interval: float) -> None:
        while not self._stop.wait(interval):
            try:
                self.sweep()
            except OSError:  # a full or read-only disk must not stop the next sweep
                log.exception("sweep failed")

    def sweep(self) -> None:
        self.sessions.sweep()
        remove_older_than(self.drafts, DRAFT_TTL_S)

    def close(self) -> None:
        """Stop sweeping and remove this process's temp folder, if it made one."""
        self._stop.set()
        if self._sweeper is not None:
            self._sweeper.join()
        if "run" in self.__dict__:
            self.run.close()

    def status(self) -> StatusFacts:
        backend = self.shared.searcher.embedder.backend
        if self.llm is None:
            return StatusFacts(None, "", self.settings.embedding_model, backend)
        where = "" if self.settings.demo else (self.llm.base_url or "OpenAI")
        return StatusFacts(self.llm.model, where, self.settings.embedding_model, backend)

    def public(self, message: str) -> str:
        """A message fit to show over the network: no server path; in the demo, no endpoint address either."""
        if not self.served:
            return message
        if self.settings.demo and self.settings.llm_base_url:
            message = message.replace(self.settings.llm_base_url, "…")
        return strip_paths(message)

    # --- sessions ------------------------------------------------------------------------------

    def workspace(self, session: Session | None = None) -> Workspace:
        """The KB a session reads: its private copy while that lives, else the shared one."""
        key = (session or {}).get("key")
        if key is None or "sessions" not in self.__dict__:
            return self.shared
        return self.sessions.get(key) or self.shared

    def writable(self, session: Session | None = None) -> Workspace:
        """The workspace uploads go to: the shared KB, or in the demo a private copy for this session."""
        if not (self.served and self.settings.demo):
            return self.shared
        if not self.uploads_allowed:
            raise BiganError("演示版不接受上传")
        if session is None:
            raise BiganError("演示版的示例知识库是只读的")
        return self.sessions.open(session.setdefault("key", secrets.token_hex(8)))

    # --- limits (served only: the command line's owner may ask anything) ----------------------

    def check_text(self, text: str, what: str = "输入") -> None:
        limit = self.settings.max_question_chars
        if self.served and len(text) > limit:
            raise BiganError(f"{what}过长（{len(text)} 字），请控制在 {limit} 字以内")

    def check_draft(self, request: str, length: int | None, points: str) -> None:
        self.check_text(request)
        self.check_text(points, "要点")
        if self.served and length and not MIN_DRAFT_CHARS <= length <= self.settings.max_draft_chars:
            raise BiganError(f"篇幅应在 {MIN_DRAFT_CHARS} 到 {self.settings.max_draft_chars} 字之间")

    def check_upload(self, count: int) -> None:
        if self.served and count > self.settings.max_upload_files:
            raise BiganError(f"一次最多上传 {self.settings.max_upload_files} 个文件，本次 {count} 个。")

    def check_eval_file(self, file: Path) -> None:
        """The served limits on a question file (the command line reads any size)."""
        if not self.served:
            return
        if not file.is_file():
            raise BiganError("问题文件已不在服务器上，请重新上传")
        size = file.stat().st_size
        if size > self.settings.max_eval_kb * 1024:
            raise BiganError(f"问题文件过大（{size // 1024} KB），请控制在 {self.settings.max_eval_kb} KB 以内")
        with open(file, "rb") as f:
            lines = sum(1 for _ in f)
        if lines > self.settings.max_eval_lines:
            raise BiganError(f"问题文件过长（{lines} 行），请控制在 {self.settings.max_eval_lines} 行以内")

    # --- answers and drafts --------------------------------------------------------------------

    def ask_events(self, question: str, history: list[dict], session: Session | None = None) -> Iterator[Event]:
        """The answer as events: text deltas, then its citations, then Done(Answer); or Failed at any point."""

        def run() -> Iterator[str | Answer]:
            self.check_text(question)
            yield from ask_stream(question, history, self.workspace(session).searcher, self.settings, self.llm)

        return self._events(run(), lambda answer: answer.citations)

    def draft_events(self, request: str, genre: str = "讲话稿", length: int | None = None, points: str = "",
                     session: Session | None = None) -> Iterator[Event]:
        """The draft as events: text deltas, then the passages it drew on, then Done(Draft); or Failed."""

        def run() -> Iterator[str | Draft]:
            self.check_draft(request, length, points)
            req = DraftRequest(request, genre, length, points)
            yield from draft_stream(self.workspace(session).searcher, self.settings, self.llm, req)

        return self._events(run(), lambda draft: draft.exemplars)

    def _events(self, stream: Iterator, cited: Callable) -> Iterator[Event]:
        # answer.py and draft.py yield text pieces and end with the result object.
        try:
            for piece in stream:
                if isinstance(piece, str):
                    if piece:
                        yield TextDelta(piece)
                else:
                    yield Citations(cited(piece))
                    yield Done(piece)
        except BiganError as exc:
            yield Failed(self.public(str(exc)), isinstance(exc, LLMError))

    def ask(self, question: str, history: list[dict], session: Session | None = None) -> Answer:
        """The finished answer; a BiganError if it failed."""
        return _result(self.ask_events(question, history, session))

    def draft(self, request: str, genre: str = "讲话稿", length: int | None = None, points: str = "",
              session: Session | None = None) -> Draft:
        return _result(self.draft_events(request, genre, length, points, session))

    def draft_prompt(self, request: str, genre: str = "讲话稿", length: int | None = None, points: str = "") -> dict:
        """What a one-reply draft would send to the model, without calling one."""
        req = DraftRequest(request, genre, length, points)
        return prompt_preview(self.shared.searcher, self.settings, req)

    # --- retrieval and the KB ------------------------------------------------------------------

    def searcher(self, session: Session | None = None) -> Searcher:
        return self.workspace(session).searcher

    def search(self, query: str, k: int = 10, session: Session | None = None) -> list[Hit]:
        query = (query or "").strip()
        if not query:
            raise BiganError("请输入查询" if self.served else "the query is empty")
        self.check_text(query, "查询")
        return self.workspace(session).search(query, k)

    def search_many(self, queries: list[str], k: int = 10) -> list[list[Hit]]:
        return self.shared.searcher.search_many(queries, k)

    def documents(self, session: Session | None = None) -> list[dict]:
        """Every document, newest first: id, source, name, title, sections, chars, size, added, uploaded."""
        workspace = self.workspace(session)
        rows = []
        for row in workspace.documents():
            entry = workspace.document(row.doc_id)
            rows.append({"id": row.doc_id, "source": entry["source"], "name": row.name, "title": row.title,
                         "sections": row.sections, "chars": entry.get("chars", 0), "size": row.size,
                         "added": row.added, "uploaded": row.uploaded})
        return rows

    def document(self, ref: str, session: Session | None = None) -> tuple[str, dict, list[Section]]:
        """One document named by id, file name or path: its id, manifest entry and sections in order."""
        workspace = self.workspace(session)
        doc_id = workspace.resolve(ref)
        return doc_id, workspace.document(doc_id), workspace.document_sections(doc_id)

    def index(self, paths: list[Path], log: Callable[[str], None] | None = None, progress: bool = False) -> IndexReport:
        """Add or update files and folders where they are, in the shared KB."""
        return self.shared.index(paths, log, progress)

    def remove(self, refs: list[str], log: Callable[[str], None] | None = None) -> IndexReport:
        """Remove documents by id, file name or path; every name is checked before anything goes."""
        doc_ids = [self.shared.resolve(ref) for ref in refs]
        return self.shared.remove(doc_ids, log)

    def add_files(self, files: list[Path], session: Session | None = None, progress: bool = False) -> IndexReport:
        """Uploaded files into the KB the session writes to."""
        self.check_upload(len(files))
        return self.writable(session).add_files(files, progress=progress)

    def delete(self, doc_id: str, session: Session | None = None) -> IndexReport:
        return self.writable(session).delete(doc_id)

    def rebuild(self, session: Session | None = None, progress: bool = False) -> IndexReport:
        return self.writable(session).rebuild(progress=progress)

    def evaluate(self, file: Path, k: int = 10, session: Session | None = None) -> Report:
        """Retrieval quality on a question file (see assistant.evaluate)."""
        if k < 1:
            raise BiganError("k must be at least 1")
        self.check_eval_file(file)
        items = load_items(file)
        return evaluate_items(self.workspace(session).searcher, items, k, self.llm)

    def export(self, title: str, text: str) -> tuple[Path, Path]:
        """The draft as .docx and .md in a new folder under this process's drafts folder."""
        heading, body = split_title(text)
        if heading:  # a draft that opens with its own title line is titled by it, not by the request
            title, text = heading, body
        folder = Path(tempfile.mkdtemp(dir=self.drafts))
        stem = time.strftime("draft-%Y%m%d-%H%M%S")
        md_path = folder / f"{stem}.md"
        md_path.write_text(to_markdown(title, text), encoding="utf-8")
        return to_docx(title, text, folder / f"{stem}.docx"), md_path

    def export_docx(self, text: str, path: Path, title: str = "", *, issuer: str = "", number: str = "",
                    signer: str = "", date: str = "") -> Path:
        """`text` (plain or Markdown) as a 公文 .docx at `path`; with no title given, the text's first line
        is the title when it looks like one."""
        path = Path(path)
        if path.suffix.lower() != ".docx":
            raise BiganError(f"{path.name}: the output must be a .docx file")
        if not path.parent.is_dir():
            raise BiganError(f"no such folder: {path.parent}")
        if not title.strip():
            title, text = split_title(text)
        return to_docx(title, text, path, issuer=issuer, number=number, signer=signer, date=date)


def _result(events: Iterator[Event]):
    for event in events:
        if isinstance(event, Failed):
            raise BiganError(event.message)
        if isinstance(event, Done):
            return event.result
    raise BiganError("no result")  # the streams always end in Done or Failed
