from docx import Document
from docx.shared import Mm, Pt

from assistant import export
from assistant.export import CHARS_PER_LINE, FONTS, LINES_PER_PAGE, font_for, to_docx, to_markdown

TEXT = "一、总体要求\n（一）指导思想\n坚持以党建引领发展。\n\n二、主要任务\n推进“三会一课”规范化。"
W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"


def test_markdown_keeps_the_hierarchy():
    md = to_markdown("关于加强机关党建的实施意见", TEXT)
    assert md.splitlines()[0] == "# 关于加强机关党建的实施意见"
    assert "## 一、总体要求" in md and "### （一）指导思想" in md and "\n坚持以党建引领发展。\n" in md


def test_docx_is_laid_out_as_gongwen(tmp_path):
    doc = Document(str(to_docx("关于加强机关党建的实施意见", TEXT, tmp_path / "d.docx")))
    section = doc.sections[0]
    for measured, mm in ((section.page_width, 210), (section.page_height, 297), (section.top_margin, 37), (section.left_margin, 28)):
        assert abs(measured - Mm(mm)) < Mm(0.1)
    grid = section._sectPr.find(f"{W}docGrid")
    pitch_pt = int(grid.get(f"{W}linePitch")) / 20
    assert abs(pitch_pt * LINES_PER_PAGE - Mm(225).pt) < 1  # 28 lines fill the 225 mm type area
    assert grid.get(f"{W}type") == "linesAndChars" and int(grid.get(f"{W}charSpace")) < 0  # 28 × 三号 is a little wider than 156 mm
    by_text = {p.text: p for p in doc.paragraphs if p.text}
    expected = {
        "关于加强机关党建的实施意见": ("公文标题", 22, "title"),
        "一、总体要求": ("公文一级标题", 16, "level1"),
        "（一）指导思想": ("公文二级标题", 16, "level2"),
        "坚持以党建引领发展。": ("公文正文", 16, "body"),
    }
    for text, (style, size, role) in expected.items():
        paragraph = by_text[text]
        assert paragraph.style.name == style and paragraph.style.font.size == Pt(size)
        assert paragraph.style.element.rPr.rFonts.get(f"{W}eastAsia") == font_for(role)
    assert by_text["坚持以党建引领发展。"].style.paragraph_format.first_line_indent == Pt(32)  # two characters
    footer = doc.sections[0].footer.paragraphs[0]
    assert footer.text.startswith("— ") and "PAGE" in footer._p.xml
    assert CHARS_PER_LINE == 28


def test_fonts_fall_back_to_installed_ones_by_name(monkeypatch):
    export.installed_fonts.cache_clear()
    monkeypatch.setattr(export, "installed_fonts", lambda: frozenset({"FangSong", "SimHei"}))
    assert font_for("body") == "FangSong" and font_for("level1") == "SimHei"
    monkeypatch.setattr(export, "installed_fonts", lambda: frozenset())
    assert font_for("title") == FONTS["title"][0]  # none installed: the standard's name, for the reader's Word
