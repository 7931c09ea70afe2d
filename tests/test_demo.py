"""The served app's housekeeping and limits, in process over HTTP: what a client other than the page can do.

Two servers on 127.0.0.1: a hosted demo with uploads off, and one with session uploads and small
limits. Requests go through gradio_client (as any script could) and plain HTTP.
"""
from __future__ import annotations

import os
import socket
import threading
import time
from pathlib import Path

import httpx
import pytest
from gradio_client import Client, handle_file
from gradio_client.exceptions import AppError

from assistant.server import launch
from assistant.workspace import RunFolder, Sessions, Workspace

from .conftest import make_settings


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _serve(settings):
    """Launch the app the way `bigan serve` does (without blocking); return its URL, its temp folder, a closer."""
    saved = os.environ.pop("GRADIO_TEMP_DIR", None)
    port = _free_port()
    server = launch(settings, port=port, block=False)
    gradio_dir = Path(os.environ["GRADIO_TEMP_DIR"])

    def close() -> None:
        server.close()
        os.environ.pop("GRADIO_TEMP_DIR", None)
        if saved is not None:
            os.environ["GRADIO_TEMP_DIR"] = saved

    return f"http://127.0.0.1:{port}/", gradio_dir, close


def _files_under(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*") if p.is_file()] if folder.exists() else []


@pytest.fixture(scope="module")
def closed_demo(sample_kb_dir, tmp_path_factory):
    runtime = tmp_path_factory.mktemp("runtime-closed")
    settings = make_settings(sample_kb_dir, demo=True, demo_uploads="off", llm_provider="none", runtime_dir=runtime)
    url, gradio_dir, close = _serve(settings)
    yield url, gradio_dir, runtime
    close()


@pytest.fixture(scope="module")
def open_demo(sample_kb_dir, tmp_path_factory):
    runtime = tmp_path_factory.mktemp("runtime-open")
    settings = make_settings(
        sample_kb_dir, demo=True, llm_provider="none", runtime_dir=runtime, session_ttl_s=2, max_eval_lines=3, max_eval_kb=1,
    )
    url, gradio_dir, close = _serve(settings)
    yield url, gradio_dir, runtime
    close()


def test_the_server_owns_one_temp_folder_and_sweeps(closed_demo):
    url, gradio_dir, runtime = closed_demo
    (run,) = runtime.glob("run-*")
    assert gradio_dir.parent == run  # Gradio's uploads and copies live in the server's own folder
    assert any(t.name == "bigan-sweeper" and t.is_alive() for t in threading.enumerate())


def test_uploads_off_are_refused_over_http(closed_demo):
    url, gradio_dir, _ = closed_demo
    before = _files_under(gradio_dir)
    response = httpx.post(url + "gradio_api/upload", files={"files": ("x.txt", "同志们：".encode(), "text/plain")})
    assert response.status_code == 403 and _files_under(gradio_dir) == before
    names = Client(url, verbose=False, analytics_enabled=False).view_api(return_format="dict", print_info=False)["named_endpoints"]
    assert "/do_probe" in names and not {"/do_upload", "/do_eval", "/do_delete", "/do_rebuild"} & set(names)


def test_every_input_is_limited_on_the_server(closed_demo, sample_kb_dir):
    url, _, _ = closed_demo
    client = Client(url, verbose=False, analytics_enabled=False)
    probe = client.predict("党" * 2001, api_name="/do_probe")
    assert "查询过长" in str(probe)
    assert "请输入查询" in str(client.predict("  ", api_name="/do_probe"))

    def ask(message: str, mode: str = "问答", length: float | None = None, points: str = "") -> str:
        result = client.predict(message, mode, "讲话稿", length, points, api_name="/respond")
        return "".join(part["text"] for part in result[0][-1]["content"])

    assert "输入过长" in ask("党" * 2001)
    assert "要点过长" in ask("市X局机关党建工作经验", "起草", None, "要" * 2001)
    assert "篇幅应在" in ask("市X局机关党建工作经验", "起草", 10**7)
    with pytest.raises(AppError):
        ask("三会一课怎么落实", "删库")
    assert str(sample_kb_dir) not in ask("三会一课怎么落实")


def test_draft_files_have_neutral_names_and_do_not_stay(closed_demo):
    url, gradio_dir, runtime = closed_demo
    client = Client(url, verbose=False, analytics_enabled=False, download_files=False)
    result = client.predict("市X局机关党建工作经验", "起草", "经验材料", None, "", api_name="/respond")
    for update in result[3:5]:  # the two download buttons (the history State is not in the API)
        path = Path(update["value"]["path"])
        assert path.is_relative_to(gradio_dir) and path.name.startswith("draft-")
        assert httpx.get(url + f"gradio_api/file={path}").status_code == 200
    (run,) = runtime.glob("run-*")
    assert _files_under(run / "drafts") == []  # our copy went once Gradio had its own


def test_session_uploads_are_cleaned_up_and_expire(open_demo, tmp_path):
    url, gradio_dir, runtime = open_demo
    client = Client(url, verbose=False, analytics_enabled=False)
    note = tmp_path / "河长制讲话.txt"
    note.write_text("在全县河长制工作会议上的讲话\n同志们：\n落实县乡村三级河长巡河制度，开展河湖清四乱专项行动。\n", encoding="utf-8")
    broken = tmp_path / "坏文件.docx"
    broken.write_bytes(b"PK\x03\x04 not a docx")
    result, table, _, _ = client.predict([handle_file(str(note)), handle_file(str(broken))], api_name="/do_upload")
    assert "新增：河长制讲话" in result and "失败：坏文件" in result and "/" not in result.split("失败")[1]
    assert "河长制讲话.txt" in str(table)
    uploaded = [p for p in _files_under(gradio_dir) if p.name in (note.name, broken.name)]
    assert not uploaded  # Gradio's temp copies go once indexed
    (run,) = runtime.glob("run-*")
    (private,) = (run / "sessions").glob("*")
    assert not list(private.glob("kb/uploads/坏文件*")) and list(private.glob("kb/uploads/河长制讲话.txt"))

    deadline = time.monotonic() + 20
    while private.exists() and time.monotonic() < deadline:
        time.sleep(0.5)
    assert not private.exists()  # idle past BIGAN_SESSION_TTL_S: deleted by the sweeper
    table, _ = client.predict(api_name="/listing")
    assert "河长制讲话.txt" not in str(table)  # the session reads the shared KB again


def test_evaluation_file_limits(open_demo, tmp_path):
    url, _, _ = open_demo
    client = Client(url, verbose=False, analytics_enabled=False)
    long_file = tmp_path / "问题.jsonl"
    long_file.write_text('{"question": "三会一课", "gold": "三会一课"}\n' * 4, encoding="utf-8")
    report, _ = client.predict(handle_file(str(long_file)), api_name="/do_eval")
    assert "问题文件过长（4 行）" in report
    big_file = tmp_path / "大.jsonl"
    big_file.write_text('{"question": "' + "党" * 600 + '", "gold": "x"}\n', encoding="utf-8")
    report, _ = client.predict(handle_file(str(big_file)), api_name="/do_eval")
    assert "问题文件过大" in report
    bad = tmp_path / "坏.jsonl"
    bad.write_text("not json\n", encoding="utf-8")
    report, _ = client.predict(handle_file(str(bad)), api_name="/do_eval")
    assert "出错了：坏\\.jsonl" in report and "/" not in report  # Markdown-escaped, no folder


def test_a_new_run_removes_folders_of_dead_runs(tmp_path):
    live = RunFolder(tmp_path)
    dead = tmp_path / "run-dead"
    (dead / "sessions" / "abc").mkdir(parents=True)
    (dead / ".lock").touch()
    fresh = RunFolder(tmp_path)
    assert fresh.removed == [dead] and not dead.exists() and live.path.exists()
    fresh.close()
    live.close()
    assert not list(tmp_path.iterdir())


def test_sessions_expire_after_ttl(sample_kb_dir, tmp_path):
    shared = Workspace(make_settings(sample_kb_dir), read_only=True)
    sessions = Sessions(shared, tmp_path, ttl_s=60)
    copy = sessions.open("a1")
    assert sessions.get("a1") is copy and copy.root.exists() and sessions.get("b2") is None
    (tmp_path / "stray").mkdir()  # a copy that failed halfway: no session owns it
    assert sessions.sweep(time.monotonic() + 30) == [] and not (tmp_path / "stray").exists()
    assert sessions.sweep(time.monotonic() + 61) == ["a1"]
    assert sessions.get("a1") is None and not (tmp_path / "a1").exists()
