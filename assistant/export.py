"""Drafts out of the app: Markdown, and .docx laid out as a 公文 page (GB/T 9704-2012).

python-docx writes the file; the 公文 rules (the 22 × 28 grid, margins, fonts per heading level,
outer page numbers, 版头 and 落款) are ours because no library knows them.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path

from docx import Document
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_LINE_SPACING
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Mm, Pt, RGBColor

from .errors import BiganError
from .ingest.sections import marker_type
from .text.chinese import CN_DIGITS, SPELLED_DIGIT, chinese_numeral, split_sentences

# 二号 = 22 pt, 三号 = 16 pt, 四号 = 14 pt (Chinese type sizes).
TITLE_PT, BODY_PT, PAGE_NUMBER_PT = 22, 16, 14
LINES_PER_PAGE, CHARS_PER_LINE = 22, 28
# Type area 156 mm × 225 mm: top 37, bottom 35, left 28, right 26 on A4.
MARGINS_MM = {"top": 37, "bottom": 35, "left": 28, "right": 26}
TYPE_AREA_MM = (156, 225)
# Rounded down (whole twips, 1/4096 pt) so that 22 lines and 28 characters fit the type area.
LINE_PITCH_TWIPS = math.floor(Mm(TYPE_AREA_MM[1]).pt * 20 / LINES_PER_PAGE)  # 579 = 28.95 pt
LINE_PITCH_PT = LINE_PITCH_TWIPS / 20
# The grid's character pitch is the Normal style's size (三号) plus charSpace, in 1/4096 pt: 156 mm / 28
# = 15.79 pt, a little under 三号, so charSpace is negative (as in Word's own 公文 templates).
CHAR_SPACE = math.floor((Mm(TYPE_AREA_MM[0]).pt / CHARS_PER_LINE - BODY_PT) * 4096)  # -848
CHAR_PITCH_PT = BODY_PT + CHAR_SPACE / 4096
# LibreOffice gives a character wider than a cell (which it rounds down to 15.73 pt) two cells, 14 a
# line; at 98 % width (15.68 pt) it takes one. Word fits each character to its cell either way.
CHAR_SCALE = 98
CHAR_WIDTH_PT = BODY_PT * CHAR_SCALE / 100

# The standard's fonts, written into the document whatever this server has: the reader's Word has them.
FONTS = {
    "title": "方正小标宋简体",
    "issuer": "方正小标宋简体",
    "body": "仿宋_GB2312",
    "level1": "黑体",
    "level2": "楷体_GB2312",
    "level3": "仿宋_GB2312",
    "page_number": "宋体",
}
LATIN_FONT = "Times New Roman"
RED = RGBColor(0xFF, 0x00, 0x00)
ISSUER_MAX_PT = 36  # 小初; the standard leaves the size to the issuer, a line must hold it
SEPARATOR_GAP_MM = 4  # 红色分隔线 4 mm under the 文号
NUMBER_GAP_MM = 7  # the 一字线 of the page number 7 mm under the type area

# Paragraph styles by role: (style name, font role, size, alignment, first-line indent in characters, bold).
_STYLES = {
    "title": ("公文标题", "title", TITLE_PT, WD_ALIGN_PARAGRAPH.CENTER, 0, False),
    "body": ("公文正文", "body", BODY_PT, WD_ALIGN_PARAGRAPH.JUSTIFY, 2, False),
    "addressee": ("公文主送机关", "body", BODY_PT, WD_ALIGN_PARAGRAPH.JUSTIFY, 0, False),
    "chapter": ("公文章标题", "level1", BODY_PT, WD_ALIGN_PARAGRAPH.CENTER, 0, False),
    "level1": ("公文一级标题", "level1", BODY_PT, WD_ALIGN_PARAGRAPH.JUSTIFY, 2, False),
    "level2": ("公文二级标题", "level2", BODY_PT, WD_ALIGN_PARAGRAPH.JUSTIFY, 2, False),
    "level3": ("公文三级标题", "level3", BODY_PT, WD_ALIGN_PARAGRAPH.JUSTIFY, 2, True),
    "number": ("公文发文字号", "body", BODY_PT, WD_ALIGN_PARAGRAPH.CENTER, 0, False),
    "signature": ("公文落款", "body", BODY_PT, WD_ALIGN_PARAGRAPH.RIGHT, 0, False),
}
# 第一层 一、 黑体, 第二层 （一） 楷体, 第三层 1. 仿宋 bold, 第四层 （1） as body text; 第X章 centred.
_ROLE_OF_MARKER = {
    "pian": "chapter", "bian": "chapter", "zhang": "chapter", "jie": "chapter",
    "cn": "level1", "di": "level1", "paren_cn": "level2", "num": "level3", "dec": "level3", "dec3": "level3",
}
_ROLE_OF_MD_DEPTH = {1: "level1", 2: "level1", 3: "level2", 4: "level3"}
_HEADING_MAX = 60  # a marked line longer than this is body text that starts with a marker
_LEAD_MAX = 40  # "（一）压实责任。局党组……": the first sentence is set as the heading, the rest as body

_NUMBERS = r"\d+(?:\s*[-–,，、]\s*\d+)*"  # 1 / 1-3 / 1, 2
_CITATION_RE = re.compile(rf"\s*(?:\[\^?{_NUMBERS}\]|［{_NUMBERS}］|【{_NUMBERS}】)")
_MD_HEADING_RE = re.compile(r"^(#{1,6})\s+(.*?)\s*#*$")
_MD_BULLET_RE = re.compile(r"^(?:[-*+•·]|\d+[)）])\s+")
_MD_RULE_RE = re.compile(r"^(?:[-*_]\s*){3,}$")
_MD_TABLE_RULE_RE = re.compile(r"^\|?[\s:|-]*-[\s:|-]*\|?$")
_MD_INLINE = [
    (re.compile(r"!\[[^\]]*\]\([^)]*\)"), ""),  # images
    (re.compile(r"\[([^\]]+)\]\([^)]*\)"), r"\1"),  # links keep their text
    (re.compile(r"</?[A-Za-z][^>]*>"), ""),  # HTML tags
    (re.compile(r"(\*\*|__)(.+?)\1"), r"\2"),
    (re.compile(r"(?<![*\w])\*(?!\s)(.+?)(?<!\s)\*(?!\*)"), r"\1"),
    (re.compile(r"~~(.+?)~~"), r"\1"),
    (re.compile(r"`([^`]*)`"), r"\1"),
]
_NOT_IN_TITLE = "。！？；!?;：:"  # a sentence or an addressee, not a title


# Child order of w:pPr and w:rPr in the schema; Word refuses a file whose properties are out of order.
_PPR_ORDER = ("w:pStyle", "w:keepNext", "w:keepLines", "w:pageBreakBefore", "w:framePr", "w:widowControl",
              "w:numPr", "w:suppressLineNumbers", "w:pBdr", "w:shd", "w:tabs", "w:suppressAutoHyphens",
              "w:kinsoku", "w:wordWrap", "w:overflowPunct", "w:topLinePunct", "w:autoSpaceDE", "w:autoSpaceDN",
              "w:bidi", "w:adjustRightInd", "w:snapToGrid", "w:spacing", "w:ind", "w:contextualSpacing",
              "w:mirrorIndents", "w:suppressOverlap", "w:jc", "w:textDirection", "w:textAlignment",
              "w:textboxTightWrap", "w:outlineLvl", "w:divId", "w:cnfStyle", "w:rPr", "w:sectPr", "w:pPrChange")
_RPR_ORDER = ("w:rStyle", "w:rFonts", "w:b", "w:bCs", "w:i", "w:iCs", "w:caps", "w:smallCaps", "w:strike",
              "w:dstrike", "w:outline", "w:shadow", "w:emboss", "w:imprint", "w:noProof", "w:snapToGrid",
              "w:vanish", "w:webHidden", "w:color", "w:spacing", "w:w", "w:kern", "w:position", "w:sz",
              "w:szCs", "w:highlight", "w:u", "w:effect", "w:bdr", "w:shd", "w:fitText", "w:vertAlign",
              "w:rtl", "w:cs", "w:em", "w:lang", "w:eastAsianLayout", "w:specVanish", "w:oMath")


@dataclass
class _Block:
    role: str
    text: str
    lead: str = ""  # a heading run that opens a body paragraph
    lead_role: str = ""


def to_markdown(title: str, text: str) -> str:
    """The draft as Markdown: 一、 headings become ##, （一） headings ###, the rest stays as written
    but for [n] marks and a first line repeating the title."""
    lines = [f"# {title}", ""] if title else []
    paragraphs = _paragraphs(_CITATION_RE.sub("", text))
    if paragraphs and title and _same(paragraphs[0].lstrip("# "), title):
        paragraphs = paragraphs[1:]
    for paragraph in paragraphs:
        role = _role(paragraph)
        prefix = {"level1": "## ", "level2": "### "}.get(role, "")
        lines += [prefix + paragraph, ""]
    return "\n".join(lines).rstrip() + "\n"


def split_title(text: str) -> tuple[str, str]:
    """(title, rest): the first non-empty line as title when it looks like one, else ("", text).

    A title is a Markdown `# ` heading, or a short line that is no sentence, salutation or marked heading.
    """
    lines = text.splitlines()
    first = next((i for i, line in enumerate(lines) if line.strip()), None)
    if first is None:
        return "", text
    line = lines[first].strip()
    rest = "\n".join(lines[first + 1:]).strip("\n")
    heading = re.match(r"^#\s+(.*?)\s*#*$", line)
    if heading:
        return _clean_inline(heading.group(1)), rest
    if line.startswith("#") or _MD_BULLET_RE.match(line):
        return "", text
    candidate = _clean_inline(line)
    if (0 < len(candidate) <= _HEADING_MAX and not marker_type(candidate)
            and not any(mark in candidate for mark in _NOT_IN_TITLE)):
        return candidate, rest
    return "", text


def to_docx(title: str, text: str, path: Path, *, issuer: str = "", number: str = "", signer: str = "",
            date: str = "") -> Path:
    """Write `text` (plain text or Markdown) to `path` as a 公文 and return the path.

    issuer (发文机关标志), number (发文字号), signer (发文机关署名) and date (成文日期) are set where the
    standard puts them when given. [n] citation marks go; a first line repeating the title goes; with no
    title, a leading Markdown `# ` heading becomes it.
    """
    title = _clean_inline(title.strip())
    if not title and re.match(r"^\s*#\s", text):
        title, text = split_title(text)
    blocks = _blocks(text)
    if blocks and title and _same(blocks[0].text, title):
        blocks = blocks[1:]
    if not (title or blocks):
        raise BiganError("没有可导出的内容")
    if blocks and _is_addressee(blocks[0].text):
        blocks[0].role = "addressee"

    doc = Document()
    _page_setup(doc)
    _define_styles(doc)
    if issuer:
        _masthead(doc, issuer.strip(), number.strip())
    elif number:
        _add(doc, "number", number.strip())
    if title:
        doc.add_paragraph(title, style=_STYLES["title"][0])
        _add(doc, "body", "")  # 标题下空一行
    for block in blocks:
        _add_block(doc, block)
    if signer or date:
        _signature(doc, signer.strip(), arabic_date(date.strip()) if date else "")
    _page_numbers(doc)
    try:
        doc.save(str(path))
    except OSError as e:
        raise BiganError(f"无法写入 {path}：{e.strerror or e}") from e
    return path


def arabic_date(date: str) -> str:
    """成文日期 in Arabic numerals, 年月日 in full and no leading zeros (二〇二四年五月六日, 2024-05-06
    → 2024年5月6日); anything else as given."""
    iso = re.fullmatch(r"(\d{4})\s*[-./年]\s*(\d{1,2})\s*[-./月]\s*(\d{1,2})\s*日?", date)
    if iso:
        return f"{int(iso[1])}年{int(iso[2])}月{int(iso[3])}日"
    day = "[一二三四五六七八九十]{1,3}"
    cn = re.fullmatch(rf"({SPELLED_DIGIT}{{4}})年({day})月({day})日", date)
    if cn:
        year = "".join(CN_DIGITS[c] for c in cn[1])
        return f"{year}年{chinese_numeral(cn[2])}月{chinese_numeral(cn[3])}日"
    return date


# ----- text to blocks -----

def _paragraphs(text: str) -> list[str]:
    return [p.strip() for p in re.split(r"\n+", text) if p.strip()]


def _role(paragraph: str) -> str:
    return _ROLE_OF_MARKER.get(marker_type(paragraph) or "", "body") if len(paragraph) <= _HEADING_MAX else "body"


def _clean_inline(text: str) -> str:
    text = _CITATION_RE.sub("", text)
    for pattern, replacement in _MD_INLINE:
        text = pattern.sub(replacement, text)
    return text.strip()


def _same(a: str, b: str) -> bool:
    return re.sub(r"[\s《》]", "", a) == re.sub(r"[\s《》]", "", b)


def _blocks(text: str) -> list[_Block]:
    """Each non-empty line a paragraph, Markdown marks taken off (a 公文 has none), roles from 公文 markers."""
    blocks = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("```") or _MD_RULE_RE.match(line):
            continue
        if line.startswith("|"):
            if _MD_TABLE_RULE_RE.match(line):
                continue
            line = "　".join(cell.strip() for cell in line.strip("|").split("|"))
        line = re.sub(r"^(?:>\s?)+", "", line)
        md_heading = _MD_HEADING_RE.match(line)
        if md_heading:
            content = _clean_inline(md_heading.group(2))
            if content:
                role = _ROLE_OF_MARKER.get(marker_type(content) or "") or _ROLE_OF_MD_DEPTH.get(len(md_heading.group(1)), "body")
                blocks.append(_Block(role, content))
            continue
        content = _clean_inline(_MD_BULLET_RE.sub("", line))
        if content:
            blocks.append(_block(content))
    return blocks


def _is_addressee(line: str) -> bool:
    """主送机关 or a salutation ("各区县人民政府：", "同志们："): set flush left (居左顶格)."""
    return line.endswith(("：", ":")) and len(line) <= _HEADING_MAX and not any(m in line[:-1] for m in "。！？；!?;")


def _block(paragraph: str) -> _Block:
    role = _ROLE_OF_MARKER.get(marker_type(paragraph) or "")
    if not role:
        return _Block("body", paragraph)
    sentences = split_sentences(paragraph)
    if len(sentences) == 1 and len(paragraph) <= _HEADING_MAX:
        return _Block(role, paragraph)
    lead = sentences[0]
    if role != "chapter" and len(lead) <= _LEAD_MAX and len(sentences) > 1:
        return _Block("body", paragraph[len(lead):], lead=lead, lead_role=role)
    return _Block("body", paragraph)


# ----- the document -----

def _page_setup(doc: Document) -> None:
    section = doc.sections[0]
    section.page_width, section.page_height = Mm(210), Mm(297)
    section.top_margin, section.bottom_margin = Mm(MARGINS_MM["top"]), Mm(MARGINS_MM["bottom"])
    section.left_margin, section.right_margin = Mm(MARGINS_MM["left"]), Mm(MARGINS_MM["right"])
    # Where the footer's line ends; its 一字线 runs about half a 四号 above that, 7 mm under the type area.
    section.footer_distance = Mm(MARGINS_MM["bottom"] - NUMBER_GAP_MM) - Pt(PAGE_NUMBER_PT / 2)
    # The document grid holds Word and LibreOffice to 22 lines of 28 characters: line pitch in twips,
    # character pitch as what it adds to the Normal style's font size (三号), in 1/4096 pt.
    grid = section._sectPr.find(qn("w:docGrid"))
    if grid is None:
        grid = OxmlElement("w:docGrid")
        section._sectPr.append(grid)
    grid.set(qn("w:type"), "linesAndChars")
    grid.set(qn("w:linePitch"), str(LINE_PITCH_TWIPS))
    grid.set(qn("w:charSpace"), str(CHAR_SPACE))
    doc.settings.odd_and_even_pages_header_footer = True
    settings = doc.settings.element
    lang = settings.find(qn("w:themeFontLang"))
    if lang is not None:
        lang.set(qn("w:eastAsia"), "zh-CN")


def _define_styles(doc: Document) -> None:
    # Defaults and Normal carry the body font: the grid's character pitch is counted from Normal's size.
    defaults = doc.styles.element.find(qn("w:docDefaults"))
    r_pr = defaults.find(qn("w:rPrDefault")).find(qn("w:rPr"))
    _set_run_fonts(r_pr, FONTS["body"], BODY_PT)
    r_pr.find(qn("w:lang")).set(qn("w:eastAsia"), "zh-CN")
    p_pr = defaults.find(qn("w:pPrDefault")).find(qn("w:pPr"))
    _on_grid(p_pr)
    normal = doc.styles["Normal"]
    _set_run_fonts(normal.element.get_or_add_rPr(), FONTS["body"], BODY_PT)
    _child(normal.element.get_or_add_rPr(), "w:w").set(qn("w:val"), str(CHAR_SCALE))
    _on_grid(normal.element.get_or_add_pPr())
    for key, (name, role, size, align, indent_chars, bold) in _STYLES.items():
        style = doc.styles.add_style(name, 1)  # 1 = paragraph style
        style.base_style = normal
        _set_run_fonts(style.element.get_or_add_rPr(), FONTS[role], size)
        style.font.bold = bold
        style.paragraph_format.alignment = align
        if indent_chars:
            _indent(style.element.get_or_add_pPr(), first_line=indent_chars)
        if key == "title":
            # 二号 is wider than a grid cell: off the grid, at its own width (20 a line), one line pitch high.
            _child(style.element.get_or_add_rPr(), "w:w").set(qn("w:val"), "100")
            _off_grid(style.element.get_or_add_pPr())
        if key == "signature":
            # Off the grid, the date's digits keep their half width, so its place can be counted.
            _off_grid(style.element.get_or_add_pPr())


def _child(parent, tag: str):
    """`parent`'s `tag` child, made in its schema position if missing."""
    found = parent.find(qn(tag))
    if found is not None:
        return found
    order = _PPR_ORDER if parent.tag == qn("w:pPr") else _RPR_ORDER
    element = OxmlElement(tag)
    parent.insert_element_before(element, *order[order.index(tag) + 1:])
    return element


def _set_run_fonts(r_pr, east_asian: str, size: float, latin: str = LATIN_FONT) -> None:
    """The East Asian slot gets the 公文 font; Latin letters and digits get Times New Roman."""
    fonts = _child(r_pr, "w:rFonts")
    for attr in list(fonts.attrib):
        del fonts.attrib[attr]  # a theme font would win over the names
    for slot in ("ascii", "hAnsi", "cs"):
        fonts.set(qn(f"w:{slot}"), latin)
    fonts.set(qn("w:eastAsia"), east_asian)
    for tag in ("w:sz", "w:szCs"):
        _child(r_pr, tag).set(qn("w:val"), str(round(size * 2)))


def _on_grid(p_pr) -> None:
    """Exact line spacing equal to the grid's pitch, no space between paragraphs, no widow control
    (which would move a line over and leave 21 on a page), and no extra space between Chinese and
    Latin letters or digits (it would push characters off the grid and widen dates)."""
    _child(p_pr, "w:widowControl").set(qn("w:val"), "0")
    for tag in ("w:autoSpaceDE", "w:autoSpaceDN"):
        _child(p_pr, tag).set(qn("w:val"), "0")
    spacing = _child(p_pr, "w:spacing")
    for attr in list(spacing.attrib):
        del spacing.attrib[attr]
    for attr, value in (("before", "0"), ("after", "0"), ("line", str(LINE_PITCH_TWIPS)), ("lineRule", "exact")):
        spacing.set(qn(f"w:{attr}"), value)


def _off_grid(p_pr) -> None:
    _child(p_pr, "w:snapToGrid").set(qn("w:val"), "0")


def _indent(p_pr, *, first_line: float = 0, left: float = 0, right: float = 0) -> None:
    """Indents in characters: Word reads the *Chars values, LibreOffice the twips, which must not exceed
    its whole cells (it rounds an indent up to the next one)."""
    ind = _child(p_pr, "w:ind")
    for side, chars in (("firstLine", first_line), ("left", left), ("right", right)):
        if chars:
            ind.set(qn(f"w:{side}Chars"), str(round(chars * 100)))
            ind.set(qn(f"w:{side}"), str(math.floor(chars * CHAR_WIDTH_PT * 20)))


def _add(doc: Document, role: str, text: str):
    return doc.add_paragraph(text, style=_STYLES[role][0])


def _add_block(doc: Document, block: _Block) -> None:
    paragraph = _add(doc, block.role, "")
    if block.lead:
        run = paragraph.add_run(block.lead)
        _, font_role, size, _, _, bold = _STYLES[block.lead_role]
        _set_run_fonts(run._r.get_or_add_rPr(), FONTS[font_role], size)
        run.bold = bold or None
    paragraph.add_run(block.text)


def _masthead(doc: Document, issuer: str, number: str) -> None:
    """版头: 发文机关标志 red and centred 35 mm under the top of the type area, 文号 two lines under it,
    the red separator 4 mm under the 文号 as wide as the type area, and two lines to the title."""
    size = min(ISSUER_MAX_PT, math.floor(Mm(TYPE_AREA_MM[0]).pt / (len(issuer) + 0.5)))
    mark = _add(doc, "title", "")
    run = mark.add_run(issuer)
    _set_run_fonts(run._r.get_or_add_rPr(), FONTS["issuer"], size)
    run.font.color.rgb = RED
    p_pr = mark._p.get_or_add_pPr()
    _off_grid(p_pr)
    # 35 mm to the top of the characters, which sit about 0.15 em under the top of their line.
    mark.paragraph_format.space_before = Mm(35) - Pt(0.15 * size)
    mark.paragraph_format.line_spacing_rule = WD_LINE_SPACING.SINGLE
    last = mark
    if number:
        _add(doc, "body", "")
        _add(doc, "body", "")
        last = _add(doc, "number", number)
    rule = OxmlElement("w:bottom")
    _child(last._p.get_or_add_pPr(), "w:pBdr").append(rule)
    for attr, value in (("val", "single"), ("sz", "12"), ("space", str(round(Mm(SEPARATOR_GAP_MM).pt))), ("color", "FF0000")):
        rule.set(qn(f"w:{attr}"), value)
    _add(doc, "body", "")
    _add(doc, "body", "")


def _width_chars(text: str) -> float:
    """Width in characters: an ASCII character (a digit of the date) is half of one."""
    return sum(0.5 if ch.isascii() else 1 for ch in text)


def _signature(doc: Document, signer: str, date: str) -> None:
    """落款 (不加盖印章): a blank line under the text, the 署名 right-indented two characters, the 成文日期
    under it starting two characters further right, itself at least two characters from the right edge."""
    _add(doc, "body", "")
    date_right = max(2.0, _width_chars(signer) - _width_chars(date)) if signer else 2.0
    if signer:
        signer_right = date_right + _width_chars(date) + 2 - _width_chars(signer) if date else 2.0
        paragraph = _add(doc, "signature", signer)
        _indent(paragraph._p.get_or_add_pPr(), right=signer_right)
    if date:
        paragraph = _add(doc, "signature", date)
        _indent(paragraph._p.get_or_add_pPr(), right=date_right)


def _page_numbers(doc: Document) -> None:
    """"— N —" in 四号 半角宋体 at the outer side, one character in: odd pages right, even pages left."""
    section = doc.sections[0]
    for footer, align, side in ((section.footer, WD_ALIGN_PARAGRAPH.RIGHT, "right"),
                                (section.even_page_footer, WD_ALIGN_PARAGRAPH.LEFT, "left")):
        footer.is_linked_to_previous = False
        paragraph = footer.paragraphs[0]
        paragraph.alignment = align
        p_pr = paragraph._p.get_or_add_pPr()
        _off_grid(p_pr)
        _child(p_pr, "w:ind").set(qn(f"w:{side}"), str(PAGE_NUMBER_PT * 20))  # 空一字 of the number's size
        paragraph.paragraph_format.line_spacing_rule = WD_LINE_SPACING.SINGLE
        field = [("t", "— "), ("fldChar", "begin"), ("instrText", " PAGE "), ("fldChar", "separate"),
                 ("t", "1"), ("fldChar", "end"), ("t", " —")]
        for tag, value in field:
            run = paragraph.add_run()
            _set_run_fonts(run._r.get_or_add_rPr(), FONTS["page_number"], PAGE_NUMBER_PT, latin=FONTS["page_number"])
            element = OxmlElement(f"w:{tag}")
            if tag == "fldChar":
                element.set(qn("w:fldCharType"), value)
            else:
                element.text = value
                element.set(qn("xml:space"), "preserve")
            run._r.append(element)
