"""Drafts out of the app: Markdown, and .docx laid out as a 公文 page (GB/T 9704-2012).

python-docx writes the file; the 公文 rules (fonts per level, the 28 × 28 grid, margins, page
numbers) are ours because no library knows them.
"""
from __future__ import annotations

import re
import shutil
import subprocess
from functools import lru_cache
from pathlib import Path

from docx import Document
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_LINE_SPACING
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Mm, Pt

from .ingest.sections import marker_type

# 二号 = 22 pt, 三号 = 16 pt, 四号 = 14 pt (Chinese type sizes).
TITLE_PT, BODY_PT, PAGE_NUMBER_PT = 22, 16, 14
LINES_PER_PAGE, CHARS_PER_LINE = 28, 28
# Type area 156 mm × 225 mm: top 37, bottom 35, left 28, right 26 on A4.
MARGINS_MM = {"top": 37, "bottom": 35, "left": 28, "right": 26}
TYPE_AREA_MM = (156, 225)

# Each role's font in order of preference; the first one installed here is used, else the first named.
FONTS = {
    "title": ("方正小标宋简体", "方正小标宋_GBK", "FZXiaoBiaoSong-B05S", "华文中宋", "宋体", "Noto Serif CJK SC"),
    "body": ("仿宋_GB2312", "仿宋", "FangSong", "STFangsong", "Noto Serif CJK SC"),
    "level1": ("黑体", "SimHei", "STHeiti", "Noto Sans CJK SC"),
    "level2": ("楷体_GB2312", "楷体", "KaiTi", "STKaiti", "Noto Serif CJK SC"),
    "page_number": ("宋体", "SimSun", "Noto Serif CJK SC"),
}
_LEVEL_OF_MARKER = {"cn": "level1", "di": "level1", "paren_cn": "level2"}


@lru_cache(maxsize=1)
def installed_fonts() -> frozenset[str]:
    if not shutil.which("fc-list"):
        return frozenset()
    out = subprocess.run(["fc-list", ":", "family"], capture_output=True, text=True, check=False).stdout
    return frozenset(name.strip() for line in out.splitlines() for name in line.split(","))


def font_for(role: str) -> str:
    names = FONTS[role]
    return next((n for n in names if n in installed_fonts()), names[0])


def to_markdown(title: str, text: str) -> str:
    """The draft as Markdown: 一、 headings become ##, （一） headings ###, the rest stays as written."""
    lines = [f"# {title}", ""] if title else []
    for paragraph in _paragraphs(text):
        role = _role(paragraph)
        prefix = {"level1": "## ", "level2": "### "}.get(role, "")
        lines += [prefix + paragraph, ""]
    return "\n".join(lines).rstrip() + "\n"


def to_docx(title: str, text: str, path: Path) -> Path:
    """Write the draft to `path` as a 公文 page and return the path."""
    doc = Document()
    _page_setup(doc)
    _define_styles(doc)
    if title:
        doc.add_paragraph(title, style="公文标题")
        doc.add_paragraph("", style="公文正文")
    for paragraph in _paragraphs(text):
        doc.add_paragraph(paragraph, style={"level1": "公文一级标题", "level2": "公文二级标题"}.get(_role(paragraph), "公文正文"))
    _page_numbers(doc)
    doc.save(str(path))
    return path


def _paragraphs(text: str) -> list[str]:
    return [p.strip() for p in re.split(r"\n+", text) if p.strip()]


def _role(paragraph: str) -> str:
    return _LEVEL_OF_MARKER.get(marker_type(paragraph) or "", "body") if len(paragraph) <= 60 else "body"


def _page_setup(doc: Document) -> None:
    section = doc.sections[0]
    section.page_width, section.page_height = Mm(210), Mm(297)
    section.top_margin, section.bottom_margin = Mm(MARGINS_MM["top"]), Mm(MARGINS_MM["bottom"])
    section.left_margin, section.right_margin = Mm(MARGINS_MM["left"]), Mm(MARGINS_MM["right"])
    # Word's document grid holds the page to 28 lines of 28 characters.
    grid = section._sectPr.find(qn("w:docGrid"))
    if grid is None:
        grid = OxmlElement("w:docGrid")
        section._sectPr.append(grid)
    grid.set(qn("w:type"), "linesAndChars")
    grid.set(qn("w:linePitch"), str(round(_line_pitch_pt() * 20)))
    # charSpace: extra width per character over the font size, in 1/4096 pt.
    char_pitch = Mm(TYPE_AREA_MM[0]).pt / CHARS_PER_LINE
    grid.set(qn("w:charSpace"), str(round((char_pitch - BODY_PT) * 4096)))


def _line_pitch_pt() -> float:
    return Mm(TYPE_AREA_MM[1]).pt / LINES_PER_PAGE


def _define_styles(doc: Document) -> None:
    specs = [
        ("公文标题", "title", TITLE_PT, WD_ALIGN_PARAGRAPH.CENTER, 0),
        ("公文正文", "body", BODY_PT, WD_ALIGN_PARAGRAPH.JUSTIFY, 2),
        ("公文一级标题", "level1", BODY_PT, WD_ALIGN_PARAGRAPH.LEFT, 2),
        ("公文二级标题", "level2", BODY_PT, WD_ALIGN_PARAGRAPH.LEFT, 2),
    ]
    for name, role, size, align, indent_chars in specs:
        style = doc.styles.add_style(name, 1)  # 1 = paragraph style
        style.base_style = doc.styles["Normal"]
        _set_font(style.font, font_for(role), size)
        fmt = style.paragraph_format
        fmt.alignment = align
        fmt.space_before = fmt.space_after = Pt(0)
        fmt.line_spacing_rule = WD_LINE_SPACING.EXACTLY
        fmt.line_spacing = Pt(_line_pitch_pt() * (1.5 if role == "title" else 1))
        fmt.first_line_indent = Pt(size * indent_chars) if indent_chars else None


def _set_font(font, name: str, size: float) -> None:
    font.name = name
    font.size = Pt(size)
    fonts = font.element.rPr.get_or_add_rFonts()
    for attr in ("w:eastAsia", "w:ascii", "w:hAnsi"):
        fonts.set(qn(attr), name)


def _page_numbers(doc: Document) -> None:
    """"— 1 —" centred in the footer, 四号 宋体."""
    footer = doc.sections[0].footer.paragraphs[0]
    footer.alignment = WD_ALIGN_PARAGRAPH.CENTER
    left, number, right = footer.add_run("— "), footer.add_run(), footer.add_run(" —")
    for run in (left, number, right):
        _set_font(run.font, font_for("page_number"), PAGE_NUMBER_PT)
    for tag, value in (("w:fldChar", "begin"), ("w:instrText", "PAGE"), ("w:fldChar", "end")):
        element = OxmlElement(tag)
        if tag == "w:fldChar":
            element.set(qn("w:fldCharType"), value)
        else:
            element.text = value
        number._r.append(element)
