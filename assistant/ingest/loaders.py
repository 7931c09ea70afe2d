"""Read .txt/.md/.docx/.pdf/.html files into plain text, detecting Chinese encodings."""
from __future__ import annotations

import codecs
import io
import re
import zipfile
from pathlib import Path

from ..errors import BiganError

SUPPORTED = {".txt", ".md", ".docx", ".pdf", ".html", ".htm"}


class LoadError(BiganError):
    """One file could not be read; the message says why."""


def load_text(path: Path) -> str:
    """Return the text of one file, or raise LoadError with a one-line reason."""
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED:
        raise LoadError(f"unsupported file type '{suffix or path.name}' (supported: {', '.join(sorted(SUPPORTED))})")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise LoadError(f"cannot read file: {exc.strerror or exc}") from exc
    if not data.strip():
        raise LoadError("file is empty")
    reader = {".docx": _docx, ".pdf": _pdf, ".html": _html, ".htm": _html}.get(suffix, decode_bytes)
    text = reader(data)
    if not text.strip():
        raise LoadError("no text found in file")
    return text.replace("\r\n", "\n").replace("\r", "\n")


def decode_bytes(data: bytes) -> str:
    """Decode text in any common Chinese encoding: BOMs first, then strict UTF-8, then a guess."""
    for bom, encoding in ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16")):
        if data.startswith(bom):
            return data.decode(encoding)
    if b"\x00" in data:
        # Text has no NUL bytes except as UTF-16 (the high byte of ASCII characters).
        text = _as_utf16(data)
        if text is None:
            raise LoadError("looks like a binary file, not text")
        return text
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    candidates = []
    for encoding in ("gb18030", "big5"):
        try:
            candidates.append((_common_han_share(data.decode(encoding)), encoding))
        except UnicodeDecodeError:
            continue
    if not candidates:
        raise LoadError("unknown text encoding (tried UTF-8, UTF-16, GB18030, Big5)")
    return data.decode(max(candidates)[1])


def _as_utf16(data: bytes) -> str | None:
    """UTF-16 without a BOM, if the bytes decode to plausible text in either byte order."""
    for encoding in ("utf-16-le", "utf-16-be"):
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        printable_ascii = sum(ch.isascii() and (ch.isprintable() or ch in "\n\r\t") for ch in text)
        if _common_han_share(text) > 0.3 or printable_ascii == len(text):
            return text
    return None


# The 500 most frequent characters of modern Chinese cover ~75% of running text in both scripts;
# a wrong GBK/Big5 guess produces rare characters instead.
_COMMON = set(
    "的一是在不了有和人这中大为上个国我以要他时来用们生到作地于出就分对成会可主发年动同工也能下过子说产种面而方后多定行学法所民得经十三之进着等部度家电力里如水化高自二理起小物现实加量都两体制机当使点从业本去把性好应开它合还因由其些然前外天政四日那社义事平形相全表间样与关各重新线内数正心反你明看原又么利比或但质气第向道命此变条只没结解问意建月公无系军很情者最立代想已通并提直题党程展五果料象员革位入常文总次品式活设及管特件长求老头基资边流路级少图山统接知较将组见计别她手角期根论运农指几九区强放决西被干做必战先回则任取据处队南给色光门即保治北造百规热领七海口东导器压志世金增争济阶油思术极交受联什认六共权收证改清己美再采转更单风切打白教速花带安场身车例真务具万每目至达走积示议声报斗完类八离华名确才科张信马节话米整空元况今集温传土许步群广石记需段研界拉林律叫且究观越织装影算低持音众书布复容儿须际商非验连断深难近矿千周委素技备半办青省列习响约支般史感劳便团往酸历市克何除消构府称太准精值号率族维划选标写存候毛亲快效斯院查江型眼王按格养易置派层片始却专状育厂京识适属圆包火住调满县局照参红细引听该铁价严龙飞"
    "黨這為們會來個時對說國學發經過後動實現進機關"
)


def _common_han_share(text: str) -> float:
    han = [ch for ch in text if "\u4e00" <= ch <= "\u9fff"]
    return sum(ch in _COMMON for ch in han) / len(han) if han else 0.0


def _docx(data: bytes) -> str:
    if data.startswith(b"\xd0\xcf\x11\xe0"):
        raise LoadError("this is an old Word .doc file renamed .docx; open it in Word/WPS and save as .docx")
    if not zipfile.is_zipfile(io.BytesIO(data)):
        raise LoadError("not a valid .docx file (corrupt or not a Word document)")
    from docx import Document
    from docx.table import Table
    from docx.text.paragraph import Paragraph

    try:
        document = Document(io.BytesIO(data))
    except Exception as exc:  # python-docx raises many types for broken packages
        raise LoadError(f"not a valid .docx file ({exc.__class__.__name__})") from exc
    lines: list[str] = []
    for block in document.element.body.iterchildren():
        tag = block.tag.rsplit("}", 1)[-1]
        if tag == "p":
            lines.append(Paragraph(block, document).text)
        elif tag == "tbl":
            for row in Table(block, document).rows:
                cells = [c.text.strip() for c in row.cells]
                lines.append(" | ".join(dict.fromkeys(c for c in cells if c)))
    return "\n".join(lines)


def _pdf(data: bytes) -> str:
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(io.BytesIO(data))
        text = "\n".join(page.extract_text() or "" for page in reader.pages)
    except (PdfReadError, ValueError, KeyError) as exc:
        raise LoadError(f"not a valid PDF file ({exc.__class__.__name__})") from exc
    if not text.strip():
        raise LoadError("the PDF has no text layer (a scan?); run OCR first")
    return text


_BLOCK_TAGS = "p div li h1 h2 h3 h4 h5 h6 tr br section article".split()


def _html(data: bytes) -> str:
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(data, "html.parser")
    for tag in soup(["script", "style", "noscript", "nav", "header", "footer", "aside", "form", "iframe"]):
        tag.decompose()
    body = soup.find("article") or soup.find("main") or soup.body or soup
    for tag in body.find_all(_BLOCK_TAGS):
        tag.insert_after("\n")
    return re.sub(r"\n\s*\n+", "\n", body.get_text())
