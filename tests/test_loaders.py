import pytest
from docx import Document

from assistant.ingest.loaders import LoadError, load_text

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
    assert text.index("关于加强") < text.index("机关支部 | 42") < text.index("一、基本情况")


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
    with pytest.raises(LoadError, match="text layer"):
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
        ("empty.txt", b"", "empty"),
        ("blank.txt", b"  \n\n", "empty"),
        ("image.png", b"\x89PNG\r\n", "unsupported"),
        ("old.docx", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100, r"old Word \.doc"),
        ("broken.docx", b"this is not a zip archive", "not a valid .docx"),
        ("broken.pdf", b"%PDF-1.4 garbage", "not a valid PDF"),
        ("binary.txt", bytes(range(256)) * 4, "binary"),
    ],
)
def test_unreadable_files_get_a_reason(tmp_path, name, data, reason):
    path = tmp_path / name
    path.write_bytes(data)
    with pytest.raises(LoadError, match=reason):
        load_text(path)
