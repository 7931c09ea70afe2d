"""Hostile and broken files: each fails alone, quickly, in bounded memory, with a one-line Chinese reason.

Every file is generated here; none is stored in the repository.
"""
import io
import random
import re
import time
import zipfile
import zlib

import pytest
from docx import Document
from pypdf import PdfReader, PdfWriter

from assistant.ingest import limits
from assistant.ingest.loaders import LoadError, load_document, load_text
from assistant.ingest.sandbox import extend_deadline, run_limited
from tests.test_loaders import _pdf_with_text

QUICK_S = 15  # seconds: every hostile file is refused well inside this, even on a busy machine
CJK = re.compile(r"[\u4e00-\u9fff]")


def _docx_bytes(text: str = "一、总体要求。全面加强机关党的建设。") -> bytes:
    document = Document()
    document.add_paragraph(text)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def _zip_with_zeros(inflated: int, declared: int | None = None) -> bytes:
    """A .docx whose document.xml inflates to `inflated` zero bytes (a zip bomb), written in chunks.

    With `declared`, the sizes in the headers are forged to that value after writing."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        with archive.open("word/document.xml", "w", force_zip64=True) as member:
            chunk = b"\0" * (1 << 20)
            for _ in range(inflated >> 20):
                member.write(chunk)
    data = out.getvalue()
    if declared is not None:  # zip64 fields in the local header, 32-bit ones in the central directory
        for width in (8, 4):
            data = data.replace(inflated.to_bytes(width, "little"), declared.to_bytes(width, "little"))
    return data


def _pdf_with_stream(stream: bytes, filters: str = "") -> bytes:
    """A one-page PDF whose content stream is `stream` as stored (compressed when `filters` says so)."""
    base = _pdf_with_text("x")
    body = b"<< /Length %d %s>>\nstream\n" % (len(stream), filters.encode()) + stream + b"\nendstream"
    return re.sub(rb"<< /Length \d+ >>\nstream\n.*?\nendstream", lambda _: body, base, flags=re.S)


def _flate_zeros(size: int) -> bytes:
    packer = zlib.compressobj(9)
    chunk = b"\0" * (1 << 20)
    return b"".join(packer.compress(chunk) for _ in range(size >> 20)) + packer.flush()


def _assert_refused(path, reason: str) -> None:
    start = time.monotonic()
    with pytest.raises(LoadError) as caught:
        load_document(path)
    message = str(caught.value)
    assert time.monotonic() - start < QUICK_S
    assert re.search(reason, message), message
    assert CJK.search(message) and "\n" not in message and str(path.parent) not in message and "Traceback" not in message


def test_zip_bomb_docx_is_refused_before_parsing(tmp_path):
    path = tmp_path / "bomb.docx"
    path.write_bytes(_zip_with_zeros(64 << 20))
    assert path.stat().st_size < 1 << 20
    _assert_refused(path, "压缩炸弹")


def test_docx_with_forged_sizes_is_refused(tmp_path):
    # The directory claims 1 KB; zipfile stops at the claimed size, so the CRC check fails.
    path = tmp_path / "forged.docx"
    path.write_bytes(_zip_with_zeros(16 << 20, declared=1024))
    _assert_refused(path, "不是有效的 .docx|不符|压缩炸弹")


@pytest.mark.parametrize(
    "name,make,reason",
    [
        ("truncated.docx", lambda: _docx_bytes()[:3000], "不是有效的 .docx"),
        ("empty.docx", lambda: b"", "空"),
        ("no-document.docx", lambda: _zip_of({"hello.txt": b"hi"}), "不是有效的 .docx"),
        ("bad-xml.docx", lambda: _replace_member(_docx_bytes(), "word/document.xml", b"<w:document"), "不是有效的 .docx"),
        ("encrypted.docx", lambda: b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + "EncryptedPackage".encode("utf-16-le") + b"\0" * 512, "加密"),
    ],
)
def test_broken_docx_is_refused(tmp_path, name, make, reason):
    path = tmp_path / name
    path.write_bytes(make())
    _assert_refused(path, reason)


def _zip_of(members: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return out.getvalue()


def _replace_member(package: bytes, name: str, data: bytes) -> bytes:
    source = zipfile.ZipFile(io.BytesIO(package))
    return _zip_of({n: data if n == name else source.read(n) for n in source.namelist()})


def _encrypted_pdf(user_password: str) -> bytes:
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(_pdf_with_text("Work report 2020"))))
    writer.encrypt(user_password=user_password, owner_password="owner-secret", algorithm="RC4-128")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


@pytest.mark.parametrize(
    "name,make,reason",
    [
        ("garbage.pdf", lambda: b"%PDF-1.7\n" + random.Random(1).randbytes(20000), "不是有效的 PDF|没有文字"),
        ("truncated.pdf", lambda: _pdf_with_text("Work report 2020")[:60], "不是有效的 PDF|没有文字"),
        ("encrypted.pdf", lambda: _encrypted_pdf("secret"), "加密"),
        ("bomb.pdf", lambda: _pdf_with_stream(_flate_zeros(300 << 20), "/Filter /FlateDecode "), "压缩炸弹"),
        ("many-pages.pdf", lambda: _pdf_with_many_pages(limits.MAX_PDF_PAGES + 1), "页数过多"),
    ],
)
def test_hostile_pdf_is_refused(tmp_path, name, make, reason):
    path = tmp_path / name
    path.write_bytes(make())
    _assert_refused(path, reason)


def _pdf_with_many_pages(count: int) -> bytes:
    writer = PdfWriter()
    for _ in range(count):
        writer.add_blank_page(width=100, height=100)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def test_pdf_encrypted_with_an_empty_password_is_read(tmp_path):
    path = tmp_path / "owner-only.pdf"
    path.write_bytes(_encrypted_pdf(""))
    assert "Work report 2020" in load_text(path)


@pytest.mark.parametrize("name", ["random.html", "random.txt", "random.htm"])
def test_random_bytes_are_not_text(tmp_path, name):
    path = tmp_path / name
    path.write_bytes(random.Random(7).randbytes(300_000))
    _assert_refused(path, "内容不像文本")


def test_mojibake_is_not_text(tmp_path):
    # Random CJK-range code points: decodes cleanly, reads as nothing.
    rng = random.Random(3)
    junk = "".join(chr(rng.randint(0x4E00, 0x9FFF)) for _ in range(5000))
    path = tmp_path / "mojibake.txt"
    path.write_text(junk, encoding="utf-8")
    _assert_refused(path, "内容不像文本")


@pytest.mark.parametrize("name,data", [("blank.md", b"   \n\n\t\n"), ("empty.md", b"")])
def test_blank_markdown_is_refused(tmp_path, name, data):
    path = tmp_path / name
    path.write_bytes(data)
    _assert_refused(path, "空")


def test_deeply_nested_html_is_read_in_linear_time(tmp_path):
    depth = 60_000
    page = ("<html><head><title>嵌套测试</title></head><body>" + "<div>" * depth
            + "<p>一、总体要求。坚持以人民为中心的发展思想。</p>" + "</div>" * depth + "</body></html>")
    path = tmp_path / "deep.html"
    path.write_text(page, encoding="utf-8")
    start = time.monotonic()
    text = load_text(path)
    assert time.monotonic() - start < QUICK_S
    assert "一、总体要求。坚持以人民为中心的发展思想。" in text


def test_deeply_nested_html_without_text_is_refused(tmp_path):
    path = tmp_path / "deep-empty.html"
    path.write_text("<html><body>" + "<span>" * 60_000 + "</body></html>", encoding="utf-8")
    _assert_refused(path, "没有正文|空|没有文字")


def test_oversized_file_is_refused_before_reading(tmp_path):
    path = tmp_path / "huge.txt"
    with path.open("wb") as out:
        out.truncate(limits.MAX_FILE_BYTES + 1)  # sparse: costs no disk
    _assert_refused(path, "文件过大")


def test_good_gbk_text_still_loads(tmp_path):
    text = "关于加强机关党建工作的报告\n一、基本情况\n全局共有党员42名，同比增长12.5%。\n"
    path = tmp_path / "gbk.txt"
    path.write_bytes(text.encode("gbk"))
    assert load_text(path).strip() == text.strip()


def test_a_parser_that_runs_away_is_stopped_at_its_deadline():
    start = time.monotonic()
    with pytest.raises(LoadError, match="超时"):
        run_limited("time:sleep", 30, time_limit=1, memory_limit=limits.MEMORY_LIMIT_BYTES)
    assert time.monotonic() - start < 5


def _slow_but_announced(seconds: float) -> str:
    """Run in the sandbox: asks for more time, as the PDF reader does before OCR, then uses it."""
    extend_deadline(seconds)
    time.sleep(seconds)
    return "done"


def test_a_reader_may_ask_for_more_time():
    assert run_limited("tests.test_hostile_files:_slow_but_announced", 2,
                       time_limit=1, memory_limit=limits.MEMORY_LIMIT_BYTES) == "done"


def test_a_parser_that_allocates_without_bound_is_stopped_at_its_memory_cap():
    with pytest.raises(LoadError, match="内存"):
        run_limited("builtins:bytearray", 3 * 1024**3, time_limit=30, memory_limit=limits.MEMORY_LIMIT_BYTES)


def test_a_crashing_parser_fails_alone():
    with pytest.raises(LoadError, match="异常退出"):
        run_limited("os:abort", time_limit=30, memory_limit=limits.MEMORY_LIMIT_BYTES)
    # The next file is read as usual.
    assert run_limited("operator:add", 1, 2, time_limit=30, memory_limit=limits.MEMORY_LIMIT_BYTES) == 3


def test_one_index_run_over_a_hostile_folder(tmp_path):
    """The issue's scenario end to end: `bigan index` refuses each bad file with its reason and keeps the good one."""
    import json
    import os
    import subprocess
    import sys

    from tests.conftest import ROOT

    folder = tmp_path / "hostile"
    folder.mkdir()
    bad = {
        "bomb.docx": _zip_with_zeros(200 << 20),
        "garbage.pdf": b"%PDF-1.7\n" + random.Random(1).randbytes(20000),
        "encrypted.pdf": _encrypted_pdf("secret"),
        "truncated.docx": _docx_bytes()[:700],
        "empty.docx": b"",
        "junk.html": random.Random(2).randbytes(100_000),
        "junk.txt": random.Random(3).randbytes(100_000),
        "blank.md": b"  \n\n",
        "deep.html": ("<html><body>" + "<div>" * 60_000 + "</body></html>").encode(),
    }
    for name, data in bad.items():
        (folder / name).write_bytes(data)
    good = "关于加强机关党建工作的通知\n各单位：\n一、总体要求。各党支部每季度至少开展一次主题党日活动，由支部书记讲专题党课。\n"
    (folder / "通知.txt").write_bytes(good.encode("gbk"))
    env = dict(os.environ, BIGAN_KB_DIR=str(tmp_path / "kb"))

    def bigan(*args: str, prefix: tuple[str, ...] = ()) -> subprocess.CompletedProcess:
        return subprocess.run([*prefix, sys.executable, "-m", "assistant", *args], capture_output=True, text=True,
                              env=env, cwd=ROOT, timeout=900)

    # A fresh parent process, so the peak it reports is that of this run's process tree alone.
    measure = (sys.executable, "-c", "import resource, subprocess, sys; code = subprocess.run(sys.argv[1:]).returncode; "
               "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, file=sys.stderr); sys.exit(code)")
    result = bigan("index", str(folder), prefix=measure)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert int(result.stderr.splitlines()[-1]) < 3 * 1024 * 1024  # KiB: the whole run stayed under 3 GB
    assert "added 1," in result.stdout and f"failed {len(bad)};" in result.stdout
    failed = [line for line in result.stderr.splitlines() if line.startswith("failed: ")]
    assert sorted(line.split(": ", 2)[1].rsplit("/", 1)[-1] for line in failed) == sorted(bad)
    assert all(CJK.search(line.split(": ", 2)[2]) for line in failed)  # each with its reason

    docs = json.loads(bigan("docs", "--json").stdout)
    assert [d["title"] for d in docs] == ["关于加强机关党建工作的通知"] and docs[0]["sections"] > 0
    hits = json.loads(bigan("search", "主题党日活动多久开展一次", "--json", "-k", "1").stdout)
    assert "每季度至少开展一次主题党日活动" in hits[0]["text"]
