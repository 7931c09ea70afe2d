"""Bounds checked before any parser sees a file, so that a hostile file costs seconds and bounded memory.

Constants rather than settings: they protect the process, and no real 公文 comes near them.
"""
from __future__ import annotations

import io
import zipfile
import zlib

from .formats.base import LoadError

MAX_FILE_BYTES = 64 * 1024 * 1024
# A child process parses each file; past these it is stopped and the file is reported as failed.
TIME_LIMIT_S = 60.0
MEMORY_LIMIT_BYTES = 2 * 1024**3  # address space of the child, libraries included
# .docx and other zip packages: real ones inflate 5–30×; a zip bomb inflates thousands of times.
MAX_ZIP_MEMBERS = 5000
MAX_ZIP_UNCOMPRESSED = 256 * 1024 * 1024
MAX_ZIP_RATIO = 100
ZIP_RATIO_FLOOR = 8 * 1024 * 1024  # small packages may have any ratio: inflating them costs nothing
# PDF: page count, and every Flate stream's inflated size (one and all together), measured by
# inflating into a discarded buffer before a parser allocates anything.
MAX_PDF_PAGES = 2000
MAX_PDF_STREAM_BYTES = 256 * 1024 * 1024
MAX_PDF_INFLATED_TOTAL = 1024 * 1024**2
# OCR is slow (seconds a page), so it has its own page cap and time allowance.
MAX_OCR_PAGES = 30
OCR_SECONDS_PER_PAGE = 45.0  # an allowance, not an estimate: 6–20 s a page measured on a busy 2-core machine

_MB = 1024 * 1024


def check_size(size: int) -> None:
    if size > MAX_FILE_BYTES:
        raise LoadError(f"文件过大（{size / _MB:.0f} MB，上限 {MAX_FILE_BYTES // _MB} MB）")


def check_zip(data: bytes, kind: str) -> zipfile.ZipFile:
    """Open a zip package after checking its directory: member count, total size and ratio.

    The sizes in the central directory can lie, so `read_member` also stops at the stated size.
    """
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        members = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, EOFError, OSError) as exc:
        raise LoadError(f"不是有效的 {kind} 文件（可能已损坏）") from exc
    total = sum(m.file_size for m in members)
    if len(members) > MAX_ZIP_MEMBERS or total > MAX_ZIP_UNCOMPRESSED or (
        total > ZIP_RATIO_FLOOR and total > MAX_ZIP_RATIO * max(1, len(data))
    ):
        raise LoadError(f"{kind} 文件解压后异常巨大（{total / _MB:.0f} MB），疑似压缩炸弹，已拒绝")
    return archive


def read_member(archive: zipfile.ZipFile, name: str) -> bytes:
    """One member, read no further than its declared size (a forged directory cannot inflate more)."""
    info = archive.getinfo(name)
    with archive.open(info) as member:
        data = member.read(info.file_size + 1)
    if len(data) > info.file_size:
        raise LoadError("压缩包内的文件大小与目录不符，疑似被篡改，已拒绝")
    return data


def check_flate_streams(pdf: bytes) -> None:
    """Inflate every Flate stream into a discarded buffer and refuse a decompression bomb.

    Streams are found by their keywords, not by parsing: a bomb has to sit between "stream" and
    "endstream" whatever its dictionary says, and this finds it in linear time.
    """
    total = 0
    start = 0
    while (at := pdf.find(b"stream", start)) != -1:
        body = at + len(b"stream")
        start = body
        if pdf[at - 3:at] == b"end":
            continue
        body += 2 if pdf[body:body + 2] == b"\r\n" else 1
        end = pdf.find(b"endstream", body)
        if end == -1:
            end = len(pdf)
        start = end
        inflated = _inflated_size(pdf[body:end], MAX_PDF_STREAM_BYTES + 1)
        total += inflated
        if inflated > MAX_PDF_STREAM_BYTES or total > MAX_PDF_INFLATED_TOTAL:
            raise LoadError("PDF 中的数据流解压后异常巨大，疑似压缩炸弹，已拒绝")


def _inflated_size(raw: bytes, cap: int) -> int:
    """Bytes a zlib stream inflates to, counted in chunks up to `cap`; 0 for anything not zlib."""
    inflater = zlib.decompressobj()
    size = 0
    chunk = raw
    try:
        while chunk and size < cap:
            size += len(inflater.decompress(chunk, 1 << 20))
            chunk = inflater.unconsumed_tail
    except zlib.error:
        return size
    return size
