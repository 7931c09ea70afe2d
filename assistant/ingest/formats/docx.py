"""Word .docx: paragraphs and table rows in document order, and the title the document marks.

python-docx reads the package; hand-written around it: the zip is checked and the package
repaired before python-docx sees it (WPS Office writes relationships to parts that do not exist,
such as an image whose target is "../NULL", and python-docx refuses the whole file for that).
"""
from __future__ import annotations

import io
import posixpath
import zipfile

from docx import Document
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.table import Table
from docx.text.paragraph import Paragraph
from lxml import etree

from ..limits import check_zip, read_member
from .base import CELL_SEP, LoadedDoc, LoadError

OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_INVALID = "不是有效的 .docx 文件（可能已损坏）"
_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
_RELS_NS = "{http://schemas.openxmlformats.org/package/2006/relationships}"
_TITLE_STYLES = {"title", "标题"}
_TITLE_SEARCH = 8  # non-empty paragraphs from the top in which a centred bold title may stand
_TITLE_LINES = 3
_TITLE_POINTS = 18.0  # 小二 and up: larger than any 公文 body text (三号, 16 pt)
_SAFE_XML = etree.XMLParser(resolve_entities=False, no_network=True)


def is_encrypted_office(data: bytes) -> bool:
    """An OOXML file with an open password is an OLE container holding an "EncryptedPackage" stream."""
    return data.startswith(OLE_MAGIC) and "EncryptedPackage".encode("utf-16-le") in data


def read_docx(data: bytes) -> LoadedDoc:
    if is_encrypted_office(data):
        raise LoadError("文件已加密（设有打开密码）；请在 Word/WPS 中取消密码后另存为 .docx 再上传")
    if data.startswith(OLE_MAGIC):
        from .office import convert_to_docx

        try:
            data = convert_to_docx(data, ".doc")
        except LoadError as exc:
            raise LoadError(f"这是旧版 Word（.doc）文件，扩展名却是 .docx；{exc}") from exc
    archive = check_zip(data, ".docx")
    names = set(archive.namelist())
    if "word/document.xml" not in names or "[Content_Types].xml" not in names:
        raise LoadError(_INVALID)
    try:
        return _content(Document(io.BytesIO(_repaired(archive, names) or data)))
    except (LoadError, MemoryError):
        raise
    except Exception as exc:  # python-docx and lxml raise many types for broken packages
        raise LoadError(_INVALID) from exc


def _repaired(archive: zipfile.ZipFile, names: set[str]) -> bytes | None:
    """The package with relationships to missing parts marked external, or None when none are missing."""
    fixed: dict[str, bytes] = {}
    for name in names:
        if not name.endswith(".rels"):
            continue
        rels = etree.fromstring(read_member(archive, name), _SAFE_XML)
        base = posixpath.dirname(posixpath.dirname(name))  # word/_rels/document.xml.rels -> word
        broken = [
            rel for rel in rels.iter(f"{_RELS_NS}Relationship")
            if rel.get("TargetMode") != "External"
            and posixpath.normpath(posixpath.join(base, rel.get("Target", ""))).lstrip("/") not in names
        ]
        for rel in broken:
            rel.set("TargetMode", "External")
        if broken:
            fixed[name] = etree.tostring(rels, xml_declaration=True, encoding="UTF-8", standalone=True)
    if not fixed:
        return None
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as repaired:
        for info in archive.infolist():
            repaired.writestr(info.filename, fixed.get(info.filename) or read_member(archive, info.filename))
    return out.getvalue()


def _content(document) -> LoadedDoc:
    lines: list[str] = []
    title = ""
    candidates: list[Paragraph] = []
    blocks = list(document.element.body.iterchildren())
    while blocks:
        block = blocks.pop(0)
        if block.tag == f"{_W}sdt":  # a content control: its blocks stand in its place
            content = block.find(f"{_W}sdtContent")
            blocks[:0] = list(content) if content is not None else []
        elif block.tag == f"{_W}p":
            paragraph = Paragraph(block, document)
            text = paragraph.text
            lines.append(text)
            if text.strip() and len(candidates) < _TITLE_SEARCH:
                candidates.append(paragraph)
        elif block.tag == f"{_W}tbl":
            for row in Table(block, document).rows:
                cells = [cell.text.strip() for cell in row.cells]
                lines.append(CELL_SEP.join(dict.fromkeys(c for c in cells if c)))
    styled = [p for p in candidates if _style_name(p) in _TITLE_STYLES][:1]
    if not styled:
        styled = _centred_heading(candidates)
    title = "".join(" ".join(p.text.split()) for p in styled)
    return LoadedDoc(text="\n".join(lines), title=title)


def _centred_heading(paragraphs: list[Paragraph]) -> list[Paragraph]:
    """The first centred paragraph set in bold or in large type, with the ones right after it set
    the same way (a long 公文 title is broken over two or three lines)."""
    marks = [(_centred(p), _emphasis(p)) for p in paragraphs]
    start = next((i for i, (centred, emphasis) in enumerate(marks) if centred and emphasis), None)
    if start is None:
        return []
    end = start + 1
    while end < len(paragraphs) and end - start < _TITLE_LINES and marks[end] == marks[start]:
        end += 1
    return paragraphs[start:end]


def _style_name(paragraph: Paragraph) -> str:
    style = paragraph.style
    return (style.name or "").strip().lower() if style is not None else ""


def _centred(paragraph: Paragraph) -> bool:
    alignment = paragraph.alignment
    if alignment is None and paragraph.style is not None:
        alignment = paragraph.style.paragraph_format.alignment
    return alignment == WD_ALIGN_PARAGRAPH.CENTER


def _emphasis(paragraph: Paragraph) -> tuple[bool, float] | None:
    """(bold, size in points) when every run is bold or the type is title-sized, else None.

    公文 titles are set in 小标宋 at 二号 (22 pt), a heavy face that Word does not mark bold."""
    style_font = paragraph.style.font if paragraph.style is not None else None
    runs = [run for run in paragraph.runs if run.text.strip()]
    if not runs:
        return None
    bold = all(run.bold or (run.bold is None and style_font is not None and style_font.bold) for run in runs)
    sizes = [run.font.size or (style_font.size if style_font is not None else None) for run in runs]
    size = max((s.pt for s in sizes if s is not None), default=0.0)
    return (bold, size) if bold or size >= _TITLE_POINTS else None
