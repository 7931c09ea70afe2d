import csv
import io
import re
import shutil
import zipfile
from pathlib import Path

import pytest
from docx import Document
from docx.enum.text import WD_ALIGN_PARAGRAPH
from pypdf import PdfReader, PdfWriter

from assistant.ingest.formats import ocr, office
from assistant.ingest.loaders import PAGE_BREAK, LoadedDoc, LoadError, load_document, load_text

SAMPLE = "在全市基层党建工作会上的讲话\n同志们：\n今天我们召开会议，部署下半年工作。\n"
TRADITIONAL = "在區直系統機關黨委書記述職評議會上的講話\n同志們：\n今天我們召開述職評議會。\n"


@pytest.mark.parametrize(
    "text,encoding",
    [
        (SAMPLE, "utf-8"),
        (SAMPLE, "utf-8-sig"),
        (SAMPLE, "utf-16"),
        (SAMPLE, "gbk"),
        (SAMPLE, "gb18030"),
        (TRADITIONAL, "big5"),
        (TRADITIONAL, "utf-16-le"),
    ],
)
def test_text_encodings_are_detected(tmp_path, text, encoding):
    path = tmp_path / "doc.txt"
    path.write_bytes(text.encode(encoding))
    assert load_text(path).strip() == text.strip()


def test_markdown_is_read_as_text(tmp_path):
    path = tmp_path / "note.md"
    path.write_text("# 标题\n\n一、正文。\n", encoding="utf-8")
    assert "一、正文。" in load_text(path)


def test_docx_paragraphs_and_tables_in_order(tmp_path):
    document = Document()
    document.add_paragraph("关于加强机关党建工作的报告")
    table = document.add_table(rows=2, cols=2)
    table.cell(0, 0).text = "支部"
    table.cell(0, 1).text = "党员人数"
    table.cell(1, 0).text = "机关支部"
    table.cell(1, 1).text = "42"
    document.add_paragraph("一、基本情况。全局共有党员42名。")
    path = tmp_path / "report.docx"
    document.save(path)
    text = load_text(path)
    assert text.index("关于加强") < text.index("机关支部\t42") < text.index("一、基本情况")


def _pdf_with_text(words: str) -> bytes:
    """A one-page PDF whose text layer says `words` (ASCII, standard Helvetica font)."""
    stream = f"BT /F1 24 Tf 72 720 Td ({words}) Tj ET".encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for n, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % n + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


def test_pdf_text_layer(tmp_path):
    path = tmp_path / "speech.pdf"
    path.write_bytes(_pdf_with_text("Work report 2020"))
    assert "Work report 2020" in load_text(path)


def test_pdf_without_text_layer_is_explained(tmp_path):
    path = tmp_path / "scan.pdf"
    path.write_bytes(_pdf_with_text(""))
    with pytest.raises(LoadError, match="没有文字层"):
        load_text(path)


def test_html_keeps_article_and_drops_page_chrome(tmp_path):
    html = """<html><head><title>t</title><script>var ad=1;</script></head><body>
    <nav>首页 &gt; 讲话致辞</nav><article><h1>在机关党建工作会议上的讲话</h1>
    <p>同志们：</p><p>这次会议的主要任务是部署工作。</p></article><footer>版权所有</footer></body></html>"""
    path = tmp_path / "page.html"
    path.write_text(html, encoding="utf-8")
    text = load_text(path)
    assert "这次会议的主要任务是部署工作。" in text and "在机关党建工作会议上的讲话" in text
    assert "var ad" not in text and "首页" not in text and "版权所有" not in text


@pytest.mark.parametrize(
    "name,data,reason",
    [
        ("empty.txt", b"", "空"),
        ("blank.txt", b"  \n\n", "空"),
        ("image.png", b"\x89PNG\r\n", "不支持"),
        ("old.docx", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100, "旧版 Word"),
        ("broken.docx", b"this is not a zip archive", "不是有效的 .docx"),
        ("broken.pdf", b"%PDF-1.4 garbage", "不是有效的 PDF"),
        ("binary.txt", bytes(range(256)) * 4, "二进制"),
    ],
)
def test_unreadable_files_get_a_reason(tmp_path, name, data, reason):
    path = tmp_path / name
    path.write_bytes(data)
    with pytest.raises(LoadError, match=reason):
        load_text(path)


# --- format-stated titles, structure and the real sample documents ---------------------------------

REALDOCS = Path(__file__).parents[2] / "shared" / "realdocs"


def _docx_path(tmp_path, build) -> Path:
    document = Document()
    build(document)
    path = tmp_path / "doc.docx"
    document.save(path)
    return path


def test_docx_title_from_title_style(tmp_path):
    path = _docx_path(tmp_path, lambda d: (d.add_paragraph("附件1"), d.add_heading("关于开展调研的通知", level=0),
                                            d.add_paragraph("各单位：")))
    assert load_document(path).title == "关于开展调研的通知"


def test_docx_title_from_centred_bold_paragraphs(tmp_path):
    def build(document):
        document.add_paragraph("附件2")
        for part in ("江西省人民政府外事办公室", "2022年招考外语类公务员考试大纲"):
            paragraph = document.add_paragraph()
            paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
            paragraph.add_run(part).bold = True
        document.add_paragraph("一、考试目的")

    assert load_document(_docx_path(tmp_path, build)).title == "江西省人民政府外事办公室2022年招考外语类公务员考试大纲"


def test_docx_without_a_marked_title_has_none(tmp_path):
    path = _docx_path(tmp_path, lambda d: (d.add_paragraph("思想汇报"), d.add_paragraph("敬爱的党组织：")))
    assert load_document(path).title == ""


def test_docx_with_a_relationship_to_a_missing_part_is_read(tmp_path):
    """WPS Office writes an image relationship whose target ("../NULL") is not in the package."""
    path = _docx_path(tmp_path, lambda d: d.add_paragraph("一、考试性质。公共科目笔试。"))
    with zipfile.ZipFile(path) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    rels = "word/_rels/document.xml.rels"
    members[rels] = members[rels].replace(
        b"</Relationships>",
        b'<Relationship Id="rId99" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/image"'
        b' Target="../NULL"/></Relationships>',
    )
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    assert "一、考试性质。公共科目笔试。" in load_text(path)


def _html(tmp_path, body: str, title: str = "") -> Path:
    path = tmp_path / "page.html"
    path.write_text(f"<html><head><meta charset='utf-8'><title>{title}</title></head><body>{body}</body></html>",
                    encoding="utf-8")
    return path


_FILLER = "<p>全市上下坚持稳中求进工作总基调，扎实推进高质量发展，经济运行总体平稳、稳中有进。</p>" * 4


def test_html_title_drops_site_and_column_suffix(tmp_path):
    path = _html(tmp_path, "<div class='nav'>首页</div><div class='article'>" + _FILLER + "</div>",
                 title="关于2023年工作情况的报告--党政办-某某中学")
    assert load_document(path).title == "关于2023年工作情况的报告"
    path = _html(tmp_path, _FILLER, title="宜春市2022年国民经济和社会发展统计公报 _ 中国宜春")
    assert load_document(path).title == "宜春市2022年国民经济和社会发展统计公报"


def test_html_structure_numbers_and_tables(tmp_path):
    body = (
        "<ul class='menu'><li><a href='/'>首页</a></li><li><a href='/x'>政务公开</a></li></ul>"
        "<div class='content'><h1>宜春市统计公报</h1>"
        "<p>一、综合</p><p>全年生产总值同比增长<span>12</span>\n<span>.5%</span>，"
        "<font>规模以上</font>\n<font>工业</font>增加值稳步提高。</p>"
        "<p>（一）农业</p><p>1. 粮食播种面积921.58万亩，比上年增加0.99万亩，粮食总产量73.71亿斤。</p>"
        "<table><tr><td>产品名称</td><td>产量</td></tr><tr><td>饮料酒</td><td>15767</td></tr></table>"
        + _FILLER + "</div><div class='footer'>版权所有 网站标识码</div>"
    )
    text = load_text(_html(tmp_path, body, title="宜春市统计公报 _ 中国宜春"))
    lines = text.split("\n")
    assert "一、综合" in lines and "（一）农业" in lines
    assert "全年生产总值同比增长12.5%，规模以上工业增加值稳步提高。" in lines
    assert "产品名称\t产量" in lines and "饮料酒\t15767" in lines


def test_html_in_gbk_with_a_declared_charset(tmp_path):
    path = tmp_path / "gbk.htm"
    page = "<html><head><meta http-equiv='Content-Type' content='text/html; charset=gb2312'></head><body>" + _FILLER
    path.write_bytes((page + "</body></html>").encode("gbk"))
    assert "稳中求进" in load_text(path)


def test_csv_long_cell_is_the_body_and_title_column_the_title(tmp_path):
    report = "各位代表：\n现在，我代表省人民政府，向大会报告工作。\n一、2025年工作回顾\n过去一年，全省经济稳中向好。"
    path = tmp_path / "export.csv"
    with path.open("w", encoding="utf-8-sig", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(["province", "title", "source_url", "full_text"])
        writer.writerow(["甘肃省", "2026年甘肃省政府工作报告", "http://example.invalid/1", report])
    loaded = load_document(path)
    assert loaded.title == "2026年甘肃省政府工作报告"
    assert loaded.text == report


def test_csv_table_rows_become_lines(tmp_path):
    path = tmp_path / "table.csv"
    path.write_text("单位,党员人数\n机关一支部,42\n机关二支部,37\n", encoding="utf-8")
    assert load_text(path).split("\n") == ["单位\t党员人数", "机关一支部\t42", "机关二支部\t37"]


def test_pdf_pages_are_separated_by_form_feeds(tmp_path):
    writer = PdfWriter()
    for words in ("Page one text", "Page two text"):
        writer.append(PdfReader(io.BytesIO(_pdf_with_text(words))))
    writer.add_metadata({"/Title": "Annual Work Report"})
    path = tmp_path / "two.pdf"
    with path.open("wb") as out:
        writer.write(out)
    loaded = load_document(path)
    first, second = loaded.text.split(PAGE_BREAK)
    assert "Page one text" in first and "Page two text" in second
    assert loaded.title == "Annual Work Report"


def test_pdf_file_name_metadata_is_not_a_title(tmp_path):
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(_pdf_with_text("Work report 2020"))))
    writer.add_metadata({"/Title": "Microsoft Word - 2020gzbg.doc"})
    path = tmp_path / "named.pdf"
    with path.open("wb") as out:
        writer.write(out)
    assert load_document(path).title == ""


def test_pdf_page_whose_text_layer_is_mojibake_is_not_kept(tmp_path):
    """A font whose glyphs map to the wrong characters: the page is read as an image instead."""
    path = tmp_path / "mojibake.pdf"
    path.write_bytes(_pdf_with_text("ÑûúåÅßØ¾°" * 12))
    try:
        text = load_text(path)
    except LoadError as exc:  # OCR of those glyphs found no words
        assert "文字" in str(exc) or "不像文本" in str(exc)
    else:
        assert "ˆ" not in text and "¾" not in text


def test_doc_without_libreoffice_says_how_to_convert(monkeypatch):
    monkeypatch.setattr(office.shutil, "which", lambda name: None)
    with pytest.raises(LoadError, match="另存为.*docx"):
        office.convert_to_docx(b"\xd0\xcf\x11\xe0", ".doc")


REAL_TITLES = {
    "万载县2015年国民经济和社会发展统计公报.html": "万载县2015年国民经济和社会发展统计公报",
    "宜春市2022年国民经济和社会发展统计公报 _ 中国宜春.html": "宜春市2022年国民经济和社会发展统计公报",
    "2022年通过普通高等学校师范类专业认证的专业名单.docx": "2022年通过普通高等学校师范类专业认证的专业名单",
    "大纲4：江西省人民政府外事办公室2022年招考外语类公务员考试大纲.docx": "江西省人民政府外事办公室2022年招考外语类公务员考试大纲",
    "武汉大学硕士学位论文印制规定.docx": "武汉大学硕士学位论文印制规定",
    "2026_甘肃省_政府工作报告.csv": "2026年甘肃省政府工作报告",
    "浙江大学本科生毕业论文（设计）编写规则.pdf": "浙江大学本科生毕业论文（设计）编写规则",
    "武汉大学本科生毕业论文(设计)工作管理办法(修订).pdf": "武汉大学本科生毕业论文（设计）工作管理办法（修订）",
}
# What a file needs that a machine may lack, and what the message must then say.
NEEDS = {".doc": (shutil.which("soffice") is not None, "LibreOffice.*另存为"), ".pdf": (ocr.available(), "OCR")}


@pytest.fixture(scope="module")
def realdocs() -> dict[str, LoadedDoc | LoadError]:
    if not REALDOCS.is_dir():
        pytest.skip(f"sample documents not found at {REALDOCS}")
    results: dict[str, LoadedDoc | LoadError] = {}
    for path in sorted(REALDOCS.iterdir()):
        if path.name == "SOURCES.md":
            continue
        try:
            results[path.name] = load_document(path)
        except LoadError as exc:
            results[path.name] = exc
    return results


def test_every_real_document_loads(realdocs):
    for name, result in realdocs.items():
        suffix = Path(name).suffix
        if isinstance(result, LoadError):
            tool_present, reason = NEEDS.get(suffix, (True, ""))
            assert not tool_present and re.search(reason, str(result)), f"{name}: {result}"
            continue
        assert len(result.text) >= 200, name
        assert suffix != ".pdf" or result.text.count(PAGE_BREAK) >= 0


def test_real_documents_keep_their_structure(realdocs):
    wanzai = realdocs["万载县2015年国民经济和社会发展统计公报.html"].text.split("\n")
    assert "一、综合" in wanzai and "十二、人口与人民生活" in wanzai and "饮料酒\t千升\t15767\t18.64" in wanzai
    assert not any(chrome in line for line in wanzai for chrome in ("网站标识码", "扫一扫", "当前位置", "无障碍"))
    yichun = realdocs["宜春市2022年国民经济和社会发展统计公报 _ 中国宜春.html"].text
    assert "索引号" not in yichun and "访问量" not in yichun
    wps = realdocs["大纲1：中央机关及其直属机构2022年度考试录用公务员公共科目笔试考试大纲.docx"]
    assert isinstance(wps, LoadedDoc) and "一、" in wps.text
    gender = realdocs["性别数据.pdf"]
    assert isinstance(gender, LoadedDoc) and gender.text.count(PAGE_BREAK) == 12
    gansu = realdocs["2026_甘肃省_政府工作报告.csv"]
    assert isinstance(gansu, LoadedDoc) and "各位代表：" in gansu.text and "https://" not in gansu.text


def test_real_scans_are_read_by_ocr_or_explained(realdocs):
    scan = realdocs["资本论中译本扫描页（无文字层）.pdf"]
    if isinstance(scan, LoadError):
        assert not ocr.available() and "OCR" in str(scan)
        return
    assert scan.text.count(PAGE_BREAK) == 1 and "使用价值" in scan.text


@pytest.mark.parametrize("name,title", sorted(REAL_TITLES.items()))
def test_real_document_titles(realdocs, name, title):
    assert realdocs[name].title == title


def test_html_register_metadata_and_related_links_are_dropped(tmp_path):
    body = (
        "<div class='menu'><a href='/'>首页</a> <a href='/a'>政务公开</a></div><div class='article'>"
        "<table class='meta'><tr><td>索引号：</td><td>014500/2023-00012</td><td>发布机构：</td><td>某某市人民政府办公室</td></tr>"
        "<tr><td>发文日期：</td><td>2023-04-18</td><td>主题分类：</td><td>综合政务</td></tr></table>"
        "<h1>关于做好2023年工作的通知</h1><div class='info'>文章来源：市政府办 发布时间：2023-04-18 点击数：1234</div>"
        "<p>各县（市、区）人民政府：</p><p>一、总体要求</p>" + _FILLER
        + "<div class='related'><h3>推荐阅读</h3><ul><li><a href='/1'>关于印发某某方案的通知</a></li></ul></div>"
        "</div><div class='footer'>主办单位：某某市人民政府 网站标识码：1234</div>"
    )
    loaded = load_document(_html(tmp_path, body, title="关于做好2023年工作的通知_通知公告_某某市人民政府"))
    assert loaded.title == "关于做好2023年工作的通知"
    assert loaded.text.split("\n")[:2] == ["各县（市、区）人民政府：", "一、总体要求"]
    for chrome in ("索引号", "发文日期", "点击数", "推荐阅读", "某某方案", "网站标识码", "首页"):
        assert chrome not in loaded.text
