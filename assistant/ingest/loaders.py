"""Read documents into text: the entry point the knowledge base calls for every file.

Each file is checked against size limits, then parsed by its format's reader in a child process
with a time and memory limit (sandbox.py), so one hostile or broken file fails alone with a
one-line Chinese reason instead of hanging, exhausting memory or aborting a batch.
"""
from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

from . import limits
from .formats.base import PAGE_BREAK, LoadedDoc, LoadError
from .formats.text import decode_bytes
from .sandbox import run_limited

__all__ = ["PAGE_BREAK", "READER_VERSION", "SUPPORTED", "LoadError", "LoadedDoc", "decode_bytes", "load_document", "load_text"]

# Raised whenever a reader's output changes, so the knowledge base reads its files again.
READER_VERSION = 2
SUPPORTED = {".txt", ".md", ".docx", ".doc", ".wps", ".pdf", ".html", ".htm", ".csv"}


def load_document(path: Path) -> LoadedDoc:
    """The text and format-stated title of one file, or LoadError with a one-line reason."""
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED:
        raise LoadError(f"不支持的文件类型“{suffix or path.name}”（支持：{'、'.join(sorted(SUPPORTED))}）")
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise LoadError(f"无法读取文件：{exc.strerror or '系统错误'}") from exc
    limits.check_size(size)
    if size == 0:
        raise LoadError("文件是空的")
    fields = run_limited(f"{__name__}:_load_in_child", str(path), suffix,
                         time_limit=limits.TIME_LIMIT_S, memory_limit=limits.MEMORY_LIMIT_BYTES)
    return LoadedDoc(**fields)


def load_text(path: Path) -> str:
    """The text of one file (see load_document)."""
    return load_document(path).text


def _load_in_child(path: str, suffix: str) -> dict[str, str]:
    from .formats import csv, docx, html, office, pdf, text

    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise LoadError(f"无法读取文件：{exc.strerror or '系统错误'}") from exc
    limits.check_size(len(data))  # it may have grown since stat()
    if not data.strip():
        raise LoadError("文件是空的")
    if suffix in {".doc", ".wps"}:
        loaded = office.read_office(data, suffix)
    else:
        reader = {".docx": docx.read_docx, ".pdf": pdf.read_pdf, ".html": html.read_html, ".htm": html.read_html,
                  ".csv": csv.read_csv}.get(suffix, text.read_text)
        loaded = reader(data)
    if not loaded.text.strip():
        raise LoadError("文件中没有文字内容")
    return asdict(loaded)
