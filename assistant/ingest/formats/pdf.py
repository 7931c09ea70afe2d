"""PDF: text per page (pages joined by a form feed), OCR for pages without a text layer, the title.

PDFium (pypdfium2) reads the text layer (10× faster than pypdf on the samples, same text) and
renders pages for OCR. Hand-written: joining lines that the layout wrapped inside a paragraph,
which needs each line's position, and choosing a title from metadata or font sizes.
"""
from __future__ import annotations

import ctypes
import math
import re

import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c

from .. import limits
from ..sandbox import extend_deadline
from . import ocr
from .base import PAGE_BREAK, LoadedDoc, LoadError
from .text import check_language

_SENTENCE_END = "。！？；：:!?;"
_HEADING_RE = re.compile(r"^\s*([一二三四五六七八九十]+、|[（(][一二三四五六七八九十\d]+[）)]|\d{1,2}(\.\d{1,2})*[.．、\s]|第[一二三四五六七八九十百零〇\d]+[编章节条])")
_META_JUNK_RE = re.compile(r"^(microsoft (word|powerpoint|excel) - |untitled|无标题)|\.(docx?|wps|pdf|txt|xlsx?|pptx?|html?)$", re.I)
_OCR_LONG_SIDE = 1700  # pixels: 144 dpi on A4, enough for 五号 text and twice as fast as 200 dpi
_OCR_MAX_SCALE = 3.0
_LABEL_RE = re.compile(r"^(附件|附表|附录)\s*[\d一二三四五六七八九十]*[：:]?$")
_JUNK_CHECK_MIN = 40  # characters: shorter pages (a page number, a caption) are not judged
_TITLE_SIZE_RATIO = 1.2  # the title's type against the page's median line
Line = tuple[str, float, float]  # text, left, right (page units)


def read_pdf(data: bytes) -> LoadedDoc:
    limits.check_flate_streams(data)
    try:
        pdf = pdfium.PdfDocument(data)
    except pdfium.PdfiumError as exc:
        if getattr(exc, "err_code", None) == pdfium_c.FPDF_ERR_PASSWORD:
            raise LoadError("PDF 已加密，需要密码才能打开；请先去除密码再上传") from exc
        raise LoadError("不是有效的 PDF 文件（可能已损坏）") from exc
    try:
        return _read(pdf)
    except (LoadError, MemoryError):
        raise
    except Exception as exc:  # PDFium reports damage inside pages as exceptions of several types
        raise LoadError("不是有效的 PDF 文件（可能已损坏）") from exc
    finally:
        pdf.close()


def _read(pdf: pdfium.PdfDocument) -> LoadedDoc:
    count = len(pdf)
    if count == 0:
        raise LoadError("不是有效的 PDF 文件（没有页面）")
    if count > limits.MAX_PDF_PAGES:
        raise LoadError(f"PDF 页数过多（{count} 页，上限 {limits.MAX_PDF_PAGES} 页）")
    pages: list[str] = []
    scanned: list[int] = []
    for index in range(count):
        page = pdf[index]
        text = _unwrap(_text_lines(page))
        # No text layer, or one whose fonts map glyphs to the wrong characters: the page is read as an image.
        if (not text and pdfium_c.FPDFPage_CountObjects(page.raw) > 0) or not _is_language(text):
            scanned.append(index)
            text = ""
        pages.append(text)
    if scanned:
        _ocr_pages(pdf, scanned, pages, has_text=any(p.strip() for p in pages))
    text = PAGE_BREAK.join(pages)
    if not text.strip():
        raise LoadError("PDF 中没有文字（没有文字层，OCR 也没有识别出文字）")
    check_language(text)
    return LoadedDoc(text=text, title=_title(pdf))


def _text_lines(page: pdfium.PdfPage) -> list[Line]:
    """The page's text layer as lines with the x of their first and last visible character."""
    textpage = page.get_textpage()
    count = textpage.count_chars()
    text = textpage.get_text_range(0, count)
    lines: list[Line] = []
    start = 0
    for raw in text.split("\n"):
        end = start + len(raw)
        visible = [i for i in range(start, min(end, count)) if not text[i].isspace()]
        if visible:
            lines.append((raw.strip(), textpage.get_charbox(visible[0])[0], textpage.get_charbox(visible[-1])[2]))
        start = end + 1
    return lines


def _unwrap(lines: list[Line]) -> str:
    """Lines joined where the layout wrapped a paragraph: a line that reaches the right margin and
    does not end a sentence continues on the next, unless that one is indented or starts a heading.
    Positions make this reliable where line lengths are not (ASCII and digits are narrower)."""
    if not lines:
        return ""
    prose = [line for line in lines if len(line[0]) >= 10]
    if not prose:
        return "\n".join(line[0] for line in lines)
    right_margin = max(right for _, _, right in prose)
    left_margin = min(left for _, left, _ in prose)
    out: list[str] = [lines[0][0]]
    for (previous, p_left, p_right), (line, left, _right) in zip(lines, lines[1:]):
        width = (p_right - p_left) / max(1, len(previous))  # about one character
        continues = (
            p_right >= right_margin - 1.5 * width
            and p_left <= left_margin + 2.5 * width
            and abs(left - left_margin) < 0.5 * width
            and previous[-1] not in _SENTENCE_END
            and "  " not in previous
            and not _HEADING_RE.match(line)
        )
        if continues:
            glue = " " if previous[-1].isascii() and previous[-1].isalnum() and line[0].isascii() and line[0].isalnum() else ""
            out[-1] += glue + line
        else:
            out.append(line)
    return "\n".join(out)


def _is_language(text: str) -> bool:
    if len(text) < _JUNK_CHECK_MIN:
        return True
    try:
        check_language(text)
    except LoadError:
        return False
    return True


def _ocr_pages(pdf: pdfium.PdfDocument, scanned: list[int], pages: list[str], has_text: bool) -> None:
    if not ocr.available():
        if has_text:
            return  # the pages with a usable text layer still count; the others stay empty
        raise LoadError("PDF 没有文字层（可能是扫描件），本机未安装 OCR 组件（rapidocr-onnxruntime），无法识别")
    if len(scanned) > limits.MAX_OCR_PAGES:
        raise LoadError(f"PDF 有 {len(scanned)} 页没有文字层需要 OCR，超过上限 {limits.MAX_OCR_PAGES} 页；请先转成文字版 PDF")
    extend_deadline(limits.OCR_SECONDS_PER_PAGE * len(scanned))
    for index in scanned:
        page = pdf[index]
        width, height = page.get_size()
        scale = min(_OCR_MAX_SCALE, _OCR_LONG_SIDE / max(width, height, 1))
        image = page.render(scale=scale).to_numpy()
        pages[index] = _unwrap(ocr.recognise(image))


def _title(pdf: pdfium.PdfDocument) -> str:
    """Metadata Title when meaningful, else the line in the largest font on page one."""
    title = " ".join((pdf.get_metadata_dict().get("Title") or "").split())
    if title and not _META_JUNK_RE.search(title) and _is_words(title):
        return title
    return _largest_line(pdf[0])


def _is_words(text: str) -> bool:
    han = sum("\u4e00" <= ch <= "\u9fff" for ch in text)
    if han >= 2:
        try:
            check_language(text)
        except LoadError:
            return False
        return True
    return bool(re.fullmatch(r"[A-Za-z][A-Za-z0-9 ,.:;'()&-]{3,}", text)) and " " in text


def _largest_line(page: pdfium.PdfPage) -> str:
    """The line set in the largest type on the page, if clearly larger than the body text."""
    textpage = page.get_textpage()
    count = textpage.count_chars()
    text = textpage.get_text_range(0, count)
    sized: list[tuple[float, str]] = []
    start = 0
    for raw in text.split("\n"):
        end = min(start + len(raw), count)
        sizes = [_type_size(textpage, i) for i in range(start, end) if not text[i].isspace()]
        line = " ".join(raw.split())
        # A page number, a lone character or an attachment label is never the title, however large.
        if sizes and sum("\u4e00" <= ch <= "\u9fff" or ch.isalpha() for ch in line) >= 2 and not _LABEL_RE.match(line):
            sized.append((sum(sizes) / len(sizes), line))
        start = end + 1
    if not sized:
        return ""
    body = sorted(size for size, _ in sized)[len(sized) // 2]
    size, line = max(sized, key=lambda item: item[0])
    return line if size >= _TITLE_SIZE_RATIO * body else ""


def _type_size(textpage: pdfium.PdfTextPage, index: int) -> float:
    """Font size times the text matrix's scale: PDFs often set 1-point type and scale it."""
    matrix = pdfium_c.FS_MATRIX()
    pdfium_c.FPDFText_GetMatrix(textpage.raw, index, ctypes.byref(matrix))
    scale = math.sqrt(abs(matrix.a * matrix.d - matrix.b * matrix.c)) or 1.0
    return pdfium_c.FPDFText_GetFontSize(textpage.raw, index) * scale
