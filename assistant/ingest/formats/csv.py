"""CSV exports (scrapers, spreadsheets): long text cells are the document, a title column its title.

The csv module splits the rows; which cells are prose and which column names the document is
decided here, since exports name their columns freely (title, 标题, name …).
"""
from __future__ import annotations

import csv
import io

from .. import limits
from .base import CELL_SEP, LoadedDoc, LoadError
from .text import check_language, decode_bytes, normalise_newlines

_TITLE_COLUMNS = {"title", "标题", "文章标题", "题目", "name", "名称", "文件名称"}
_LONG_CELL = 200  # characters: a cell this long, or with line breaks, is prose rather than a field


def read_csv(data: bytes) -> LoadedDoc:
    text = normalise_newlines(decode_bytes(data))
    csv.field_size_limit(limits.MAX_FILE_BYTES)
    try:
        dialect = csv.Sniffer().sniff(text[:8192].split("\n", 1)[0] or text[:8192], delimiters=",\t;|")
    except csv.Error:
        dialect = csv.excel
    try:
        rows = [row for row in csv.reader(io.StringIO(text), dialect) if any(cell.strip() for cell in row)]
    except csv.Error as exc:
        raise LoadError("不是有效的 CSV 文件（引号或分隔符不成对）") from exc
    if not rows:
        raise LoadError("文件中没有文字内容")
    header = [cell.strip().lower() for cell in rows[0]]
    title_column = next((i for i, name in enumerate(header) if name in _TITLE_COLUMNS), None)
    data_rows = rows[1:] if title_column is not None or _looks_like_header(rows) else rows
    long_columns = sorted({i for row in data_rows for i, cell in enumerate(row) if "\n" in cell.strip() or len(cell) >= _LONG_CELL})
    if not long_columns:
        body = "\n".join(CELL_SEP.join(cell.strip() for cell in row if cell.strip()) for row in rows)
        check_language(body)
        return LoadedDoc(text=body)
    parts: list[str] = []
    for row in data_rows:
        if title_column is not None and len(data_rows) > 1 and title_column < len(row):
            parts.append(row[title_column].strip())
        parts.extend(row[i].strip() for i in long_columns if i < len(row) and row[i].strip())
    body = "\n".join(parts)
    check_language(body)
    title = data_rows[0][title_column].strip() if title_column is not None and title_column < len(data_rows[0]) else ""
    return LoadedDoc(text=body, title=title)


def _looks_like_header(rows: list[list[str]]) -> bool:
    """A first row of short labels above longer values."""
    return len(rows) > 1 and all(len(cell) <= 20 and "\n" not in cell for cell in rows[0]) and any(
        len(cell) > 20 or "\n" in cell for cell in rows[1]
    )
