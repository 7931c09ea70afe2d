"""Old binary Word (.doc) and WPS (.wps) files, converted to .docx by LibreOffice when it is installed.

No maintained Python library reads these formats; LibreOffice does, as a separate program run
headless with a private profile (a running LibreOffice or a shared profile would block it).
"""
from __future__ import annotations

import os
import resource
import shutil
import signal
import subprocess
import tempfile
from pathlib import Path

from ..sandbox import extend_deadline
from .base import LoadedDoc, LoadError

CONVERT_TIMEOUT_S = 60.0


def read_office(data: bytes, suffix: str) -> LoadedDoc:
    from .docx import is_encrypted_office, read_docx

    if is_encrypted_office(data):
        raise LoadError(f"{suffix} 文件已加密（设有打开密码）；请在 Word/WPS 中取消密码后另存为 .docx 再上传")
    return read_docx(convert_to_docx(data, suffix))


def convert_to_docx(data: bytes, suffix: str) -> bytes:
    soffice = shutil.which("soffice") or shutil.which("libreoffice")
    if soffice is None:
        raise LoadError(f"无法直接读取 {suffix} 文件：本机未安装 LibreOffice；请用 Word 或 WPS 打开，“另存为” .docx 后再上传")
    extend_deadline(CONVERT_TIMEOUT_S)
    with tempfile.TemporaryDirectory(prefix="bigan-office-") as folder:
        work = Path(folder)
        source = work / f"input{suffix}"
        source.write_bytes(data)
        command = [
            soffice, f"-env:UserInstallation={(work / 'profile').as_uri()}", "--headless", "--norestore",
            "--nolockcheck", "--convert-to", "docx", "--outdir", str(work), str(source),
        ]
        # Its own session, so that a timeout kills LibreOffice's helper processes too.
        process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                   stderr=subprocess.DEVNULL, start_new_session=True, preexec_fn=_lift_memory_limit)
        try:
            process.wait(timeout=CONVERT_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
            raise LoadError(f"用 LibreOffice 转换 {suffix} 文件超时；请用 Word 或 WPS 另存为 .docx 后再上传") from None
        converted = work / "input.docx"
        if not converted.is_file():
            raise LoadError(f"LibreOffice 无法转换该 {suffix} 文件（可能已损坏）；请用 Word 或 WPS 另存为 .docx 后再上传")
        return converted.read_bytes()


def _lift_memory_limit() -> None:
    """LibreOffice maps far more address space than a parser; the sandbox's soft cap would break it."""
    _, hard = resource.getrlimit(resource.RLIMIT_AS)
    resource.setrlimit(resource.RLIMIT_AS, (hard, hard))
