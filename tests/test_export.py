import re
import shutil
import statistics
import subprocess
from pathlib import Path

import pytest
from docx import Document
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.shared import Mm, Pt

from assistant.errors import BiganError
from assistant.export import (
    CHAR_PITCH_PT,
    CHARS_PER_LINE,
    FONTS,
    LINE_PITCH_PT,
    LINES_PER_PAGE,
    arabic_date,
    split_title,
    to_docx,
    to_markdown,
)

TEXT = "一、总体要求\n（一）指导思想\n坚持以党建引领发展。\n\n二、主要任务\n推进“三会一课”规范化。"
FOUR_PAGES = Path(__file__).parent / "data" / "export" / "four_pages.md"
TITLE = "关于加强和改进机关党的建设工作的实施意见"
W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
CITATION = re.compile(r"[\[［【]\d+[\]］】]")


def test_markdown_keeps_the_hierarchy():
    md = to_markdown("关于加强机关党建的实施意见", TEXT)
    assert md.splitlines()[0] == "# 关于加强机关党建的实施意见"
    assert "## 一、总体要求" in md and "### （一）指导思想" in md and "\n坚持以党建引领发展。\n" in md


def test_markdown_drops_citation_marks_and_a_repeated_title():
    md = to_markdown("关于加强机关党建的实施意见", "关于加强机关党建的实施意见\n" + TEXT.replace("发展。", "发展[1][2]。"))
    assert md.count("关于加强机关党建的实施意见") == 1 and "[1]" not in md and "发展。" in md


def _east_asia(style_or_run) -> str:
    return style_or_run.element.rPr.rFonts.get(f"{W}eastAsia")


def test_docx_is_laid_out_as_gongwen(tmp_path):
    # The grid was 28 × 28 before; GB/T 9704-2012 says 22 lines of 28 characters.
    doc = Document(str(to_docx("关于加强机关党建的实施意见", TEXT, tmp_path / "d.docx")))
    section = doc.sections[0]
    for measured, mm in ((section.page_width, 210), (section.page_height, 297), (section.top_margin, 37),
                         (section.bottom_margin, 35), (section.left_margin, 28), (section.right_margin, 26)):
        assert abs(measured - Mm(mm)) < Mm(0.1)
    grid = section._sectPr.find(f"{W}docGrid")
    pitch_pt = int(grid.get(f"{W}linePitch")) / 20
    assert LINES_PER_PAGE == 22 and CHARS_PER_LINE == 28
    assert Mm(225).pt - 1 < pitch_pt * LINES_PER_PAGE <= Mm(225).pt  # 22 lines fill the 225 mm type area
    char_pitch = 16 + int(grid.get(f"{W}charSpace")) / 4096  # counted from Normal's size, 三号
    assert doc.styles["Normal"].font.size == Pt(16)
    assert Mm(156).pt - 0.5 < char_pitch * CHARS_PER_LINE <= Mm(156).pt  # 28 characters fill 156 mm
    assert grid.get(f"{W}type") == "linesAndChars"
    by_text = {p.text: p for p in doc.paragraphs if p.text}
    expected = {
        "关于加强机关党建的实施意见": ("公文标题", 22, "方正小标宋简体"),
        "一、总体要求": ("公文一级标题", 16, "黑体"),
        "（一）指导思想": ("公文二级标题", 16, "楷体_GB2312"),
        "坚持以党建引领发展。": ("公文正文", 16, "仿宋_GB2312"),
    }
    for text, (style, size, font) in expected.items():
        paragraph = by_text[text]
        assert paragraph.style.name == style and paragraph.style.font.size == Pt(size)
        assert _east_asia(paragraph.style) == font
        assert paragraph.style.element.rPr.rFonts.get(f"{W}ascii") == "Times New Roman"
    body = by_text["坚持以党建引领发展。"].style.paragraph_format
    assert body.alignment == WD_ALIGN_PARAGRAPH.JUSTIFY
    indent = by_text["坚持以党建引领发展。"].style.element.pPr.find(f"{W}ind")
    assert indent.get(f"{W}firstLineChars") == "200"  # two characters, whatever the grid's pitch
    assert Pt(2 * CHAR_PITCH_PT) - Pt(1) < body.first_line_indent <= Pt(2 * CHAR_PITCH_PT)


def test_the_standard_font_names_whatever_is_installed(tmp_path):
    doc = Document(str(to_docx("标题", "一、甲\n（一）乙\n1.丙\n（1）丁\n正文。", tmp_path / "d.docx")))
    names = {p.text: p.style for p in doc.paragraphs if p.text}
    assert _east_asia(names["1.丙"]) == "仿宋_GB2312" and names["1.丙"].font.bold  # level 3: 仿宋 bold
    assert names["（1）丁"].name == "公文正文"  # level 4 is set as body text
    fonts = set(re.findall(r'w:eastAsia="([^"]+)"', doc.styles.element.xml))
    assert not any("Noto" in name for name in fonts)  # the server's fonts are not what the reader has
    assert FONTS["title"] == "方正小标宋简体" and FONTS["page_number"] == "宋体"


def test_page_numbers_at_the_outer_side(tmp_path):
    doc = Document(str(to_docx("标题", TEXT, tmp_path / "d.docx")))
    assert doc.settings.odd_and_even_pages_header_footer  # w:evenAndOddHeaders
    section = doc.sections[0]
    for footer, alignment, side in ((section.footer, WD_ALIGN_PARAGRAPH.RIGHT, "right"),
                                    (section.even_page_footer, WD_ALIGN_PARAGRAPH.LEFT, "left")):
        paragraph = footer.paragraphs[0]
        assert paragraph.alignment == alignment
        assert paragraph._p.pPr.find(f"{W}ind").get(f"{W}{side}") == str(14 * 20)  # one 四号 character in
        xml = paragraph._p.xml
        assert re.search(r"<w:t[^>]*>— </w:t>.*fldCharType=\"begin\".*<w:instrText[^>]*> PAGE </w:instrText>"
                         r".*fldCharType=\"end\".*<w:t[^>]*> —</w:t>", xml, re.S)
        for run in paragraph.runs:
            assert run.font.size == Pt(14) and _east_asia(run) == "宋体" and run.font.name == "宋体"


def test_no_citation_marks_no_repeated_title_no_markdown(tmp_path):
    text = FOUR_PAGES.read_text(encoding="utf-8")
    assert CITATION.search(text) and text.count(TITLE) == 2  # the input has both faults
    doc = Document(str(to_docx("", text, tmp_path / "d.docx")))
    paragraphs = [p for p in doc.paragraphs if p.text]
    assert paragraphs[0].text == TITLE and paragraphs[0].style.name == "公文标题"  # from the `# ` heading
    body = "\n".join(p.text for p in paragraphs)
    assert body.count(TITLE) == 1 and not CITATION.search(body)
    assert not re.search(r"\*\*|^#|^- ", body, re.M)
    assert paragraphs[1].text == "各处室、各直属单位：" and paragraphs[1].style.name == "公文主送机关"  # 居左顶格
    def starting(prefix: str):
        return next(p for p in paragraphs if p.text.startswith(prefix))

    assert starting("二、主要任务").style.name == "公文一级标题"
    assert starting("（一）强化政治机关意识").style.name == "公文二级标题"
    # "1. 加强理论武装。各级党组织……": the heading is set bold in 仿宋, the rest as body text.
    lead, rest = starting("1. 加强理论武装").runs
    assert lead.text == "1. 加强理论武装。" and lead.bold and _east_asia(lead) == "仿宋_GB2312"
    assert rest.text.startswith("各级党组织") and starting("1. 加强理论武装").style.name == "公文正文"


def test_masthead_and_signature(tmp_path):
    path = to_docx(TITLE, TEXT, tmp_path / "d.docx", issuer="中共某某市某某局委员会文件", number="某党发〔2024〕12号",
                   signer="中共某某市某某局委员会", date="二〇二四年五月六日")
    doc = Document(str(path))
    paragraphs = [p for p in doc.paragraphs if p.text]
    issuer, number, title = paragraphs[:3]
    assert issuer.text == "中共某某市某某局委员会文件" and issuer.style.paragraph_format.alignment == WD_ALIGN_PARAGRAPH.CENTER
    run = issuer.runs[0]
    assert str(run.font.color.rgb) == "FF0000" and _east_asia(run) == "方正小标宋简体"
    assert run.font.size * (len(issuer.text) + 0.5) <= Mm(156)  # one line
    assert abs(issuer.paragraph_format.space_before - Mm(35)) < Mm(3)
    assert number.style.name == "公文发文字号"
    rule = number._p.pPr.find(f"{W}pBdr").find(f"{W}bottom")
    assert rule.get(f"{W}color") == "FF0000" and int(rule.get(f"{W}space")) == round(Mm(4).pt)
    assert title.text == TITLE
    signer, date = paragraphs[-2:]
    assert signer.text == "中共某某市某某局委员会" and date.text == "2024年5月6日"  # Arabic numerals
    assert signer.style.name == date.style.name == "公文落款"
    right = {p.text: int(p._p.pPr.find(f"{W}ind").get(f"{W}rightChars")) / 100 for p in (signer, date)}
    # 署名 two characters from the right; the date starts two characters right of the 署名's start.
    assert right[signer.text] == 2 and right[date.text] + 6 + 2 == right[signer.text] + len(signer.text)  # digits: ½


def test_dates_in_arabic_numerals():
    assert arabic_date("二〇二四年十二月三十一日") == "2024年12月31日"
    assert arabic_date("2024-05-06") == arabic_date("2024.5.6") == arabic_date("2024年05月06日") == "2024年5月6日"
    assert arabic_date("五月上旬") == "五月上旬"


def test_split_title():
    assert split_title("# 关于X的通知\n\n正文。") == ("关于X的通知", "正文。")
    assert split_title("\n关于加强党建的意见\n一、总体要求") == ("关于加强党建的意见", "一、总体要求")
    for text in ("一、总体要求\n正文。", "各区县人民政府：\n正文。", "今年以来，我们抓住机遇。\n正文。", "## 二级\n正文"):
        assert split_title(text) == ("", text)


def test_properties_in_schema_order(tmp_path):
    """Word refuses a file whose paragraph or run properties are out of the schema's order."""
    from assistant.export import _PPR_ORDER, _RPR_ORDER

    path = to_docx(TITLE, FOUR_PAGES.read_text(encoding="utf-8"), tmp_path / "d.docx", issuer="某某局文件",
                   number="某发〔2024〕1号", signer="某某局", date="2024-05-06")
    doc = Document(str(path))
    parts = [doc.element, doc.styles.element] + [f._element for s in doc.sections for f in (s.footer, s.even_page_footer)]
    for part in parts:
        for tag, order in (("pPr", _PPR_ORDER), ("rPr", _RPR_ORDER)):
            for props in part.iter(f"{W}{tag}"):
                if props.getparent().tag == f"{W}pPr" and tag == "rPr":
                    continue  # a paragraph mark's run properties, not written here
                seen = [order.index("w:" + child.tag.split("}")[1]) for child in props]
                assert seen == sorted(seen), props.xml


def test_user_errors_are_one_line_messages(tmp_path):
    with pytest.raises(BiganError, match="没有可导出的内容"):
        to_docx("", "\n  \n", tmp_path / "d.docx")
    with pytest.raises(BiganError, match="无法写入"):
        to_docx("标题", TEXT, tmp_path / "missing" / "d.docx")


# ----- rendered by LibreOffice -----

def _render(docx: Path, folder: Path) -> Path:
    soffice = shutil.which("soffice") or shutil.which("libreoffice")
    if soffice is None:
        pytest.skip("LibreOffice (soffice) is not installed; .ci/run installs libreoffice-writer-nogui")
    subprocess.run([soffice, f"-env:UserInstallation={(folder / 'profile').as_uri()}", "--headless", "--norestore",
                    "--convert-to", "pdf", "--outdir", str(folder), str(docx)],
                   stdin=subprocess.DEVNULL, capture_output=True, timeout=600, check=True)
    return folder / (docx.stem + ".pdf")


def _pages(pdf: Path) -> list[dict]:
    """Each page's text lines: (bottom y from the top, [(left, right, top, char)]), and its size, in pt."""
    import pypdfium2 as pdfium

    pages = []
    for page in pdfium.PdfDocument(str(pdf)):
        width, height = page.get_size()
        text = page.get_textpage()
        chars = []
        for k in range(text.count_chars()):
            char = text.get_text_range(k, 1)
            if char.strip():
                left, bottom, right, _ = text.get_charbox(k, loose=True)  # loose: one bottom per line
                chars.append((height - bottom, (left, right, height - text.get_charbox(k)[3], char)))
        lines: list[list] = []
        for y, char in sorted(chars):
            if lines and y - lines[-1][0][-1] <= 3:
                lines[-1][0].append(y)
                lines[-1][1].append(char)
            else:
                lines.append([[y], [char]])
        pages.append({"width": width, "height": height,
                      "lines": [(statistics.median(ys), sorted(line)) for ys, line in lines]})
    return pages


def test_rendered_pages_hold_22_lines_of_28_characters(tmp_path):
    text = FOUR_PAGES.read_text(encoding="utf-8")
    to_docx("", text, tmp_path / "plain.docx")
    pages = _pages(_render(tmp_path / "plain.docx", tmp_path))
    assert len(pages) >= 4
    left, right = Mm(28).pt, Mm(210 - 26).pt
    top, bottom = Mm(37).pt, Mm(297 - 35).pt
    full_lines = []
    for number, page in enumerate(pages, 1):
        assert abs(page["width"] - Mm(210).pt) < 1 and abs(page["height"] - Mm(297).pt) < 1  # A4
        body = [(y, chars) for y, chars in page["lines"] if y <= bottom + 2]
        footer = [(y, chars) for y, chars in page["lines"] if y > bottom + 2]
        assert top < body[0][0] <= top + LINE_PITCH_PT + 1  # the first line sits in the type area's first row
        if number < len(pages):
            # Blank lines show no text: count the rows the page's lines span.
            rows = round((body[-1][0] - body[0][0]) / LINE_PITCH_PT) + 1
            assert abs(rows - LINES_PER_PAGE) <= 1, (number, rows)
            # Every line one row of the grid's pitch (a glyph box's bottom varies a little by font); the
            # title's 二号 glyphs sit lower in their row.
            steps = [b[0] - a[0] for a, b in zip(body, body[1:])][number == 1:]
            assert all(abs(step / round(step / LINE_PITCH_PT) - LINE_PITCH_PT) < 1 for step in steps), steps
            assert abs(sum(steps) / sum(round(step / LINE_PITCH_PT) for step in steps) - LINE_PITCH_PT) < 0.2
        full_lines += [chars for _, chars in body if abs(chars[0][0] - left) < 2 and chars[-1][1] > right - CHAR_PITCH_PT / 2
                       and "".join(c[3] for c in chars) != TITLE]
        # "— N —" at the outer side, one character in: odd pages right, even pages left.
        (_, chars), = footer
        assert "".join(c[3] for c in chars) == f"—{number}—"
        if number % 2:
            assert chars[0][0] > page["width"] / 2 and abs(chars[-1][1] - (right - 14)) < 3
        else:
            assert chars[-1][1] < page["width"] / 2 and abs(chars[0][0] - (left + 14)) < 3
        dash_top = chars[0][2]
        assert abs(dash_top - bottom - Mm(7).pt) < Mm(1.5).pt  # 一字线 7 mm under the type area
    counts = [len(chars) for chars in full_lines]
    assert len(counts) >= 30
    assert abs(statistics.median(counts) - CHARS_PER_LINE) <= 1 and all(abs(c - CHARS_PER_LINE) <= 1 for c in counts), counts
    rendered = "".join(c[3] for page in pages for _, chars in page["lines"] for c in chars)
    assert rendered.count(TITLE) == 1 and not CITATION.search(rendered)
