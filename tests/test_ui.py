"""The web app's logic without a browser: status line, demo limits, citation rendering."""
import re

import gradio as gr
import pytest

from assistant.answer import Citation
from assistant.errors import BiganError
from assistant.evaluate import Report
from assistant.service import Service, strip_paths
from assistant.ui import build_app, chat_text, citations_html, eval_markdown, md_text, status_line

from .conftest import llm_settings, make_settings


def test_offline_status_says_how_to_connect(sample_kb_dir):
    status = status_line(Service(make_settings(sample_kb_dir, llm_provider="none"), served=True))
    assert "离线模式" in status and "BIGAN_LLM_BASE_URL" in status and "onnx-int8" in status


def test_demo_hides_endpoint_and_paths(sample_kb_dir, stub):
    app = Service(llm_settings(sample_kb_dir, stub, demo=True), served=True)
    assert "qwen-stub" in status_line(app) and stub.base_url not in status_line(app)
    message = app.public(f"cannot reach {stub.base_url}; KB in {sample_kb_dir.resolve()}/x")
    assert stub.base_url not in message and str(sample_kb_dir.resolve()) not in message
    local = Service(llm_settings(sample_kb_dir, stub), served=True)
    assert stub.base_url in status_line(local)


def test_demo_uploads_go_to_a_session_copy(sample_kb_dir):
    app = Service(make_settings(sample_kb_dir, demo=True), served=True)
    session: dict = {}
    private = app.writable(session)
    assert private is not app.shared and app.workspace(session) is private and app.writable(session) is private
    assert private.root.exists() and private.root.is_relative_to(app.run.path) and not private.root.is_relative_to(sample_kb_dir)
    assert app.workspace({}) is app.shared  # another session reads the shared KB
    with pytest.raises(BiganError, match="只读"):
        app.shared.add_files([])
    off = Service(make_settings(sample_kb_dir, demo=True, demo_uploads="off"), served=True)
    with pytest.raises(BiganError, match="不接受上传"):
        off.writable({})


def test_citations_are_escaped_and_the_used_sentences_marked():
    c = Citation(1, "/srv/kb/002.txt", "在全市<b>基层</b>党建工作会上的讲话", "一、总体要求", "要压实责任。今天天气很好。")
    html = citations_html([c], "必须压实责任[1]")
    assert "&lt;b&gt;" in html and "<b>" not in html
    assert "<mark>要压实责任。</mark>" in html and "<mark>今天天气很好。</mark>" not in html
    assert "002.txt" in html and "/srv/kb" not in html


def test_the_app_builds(sample_kb_dir):
    assert isinstance(build_app(make_settings(sample_kb_dir)), gr.Blocks)


EVIL = '<img src=x onerror="alert(1)"> <script>alert(2)</script> **粗** [链](http://e.x/) ![图](http://e.x/i.png) $$x$$ a&amp;b'


def test_document_text_is_shown_as_text_never_markup():
    shown = md_text(EVIL)
    assert re.sub(r"\\(.)", r"\1", shown) == EVIL  # what the reader sees is exactly the text
    assert not re.search(r"(?<!\\)[<>*\[\]()!$&:]", shown)  # no mark left for Markdown, HTML or an autolink
    assert "<" not in chat_text(EVIL) and "&lt;img" in chat_text(EVIL)
    c = Citation(1, "/srv/kb/<img src=x onerror=alert(3)>.txt", EVIL, EVIL, EVIL + "。要压实责任。")
    panel = citations_html([c], "要压实责任[1]")
    assert "<img" not in panel and "<script" not in panel and panel.count("&lt;img") == 4

    report = Report(10)
    report.by_kind[EVIL].add(None)
    report.overall.add(None)
    report.misses.append({"question": EVIL, "expected_source": EVIL, "rank": None,
                          "first": {"source": f"/srv/{EVIL}", "heading": EVIL, "text": EVIL}})
    markdown = eval_markdown(report)
    assert not re.search(r"(?<!\\)[<>*\[\]!$]", markdown)  # every mark in the texts is escaped
    assert "| overall | 1 |" in markdown and "不在前 10" in markdown


def test_messages_never_show_a_server_folder():
    assert strip_paths("无法读取 /tmp/gradio/ab12/坏文件.docx：不是有效的 docx") == "无法读取 坏文件.docx：不是有效的 docx"
    assert strip_paths("no knowledge base in /srv/bigan/index; build one") == "no knowledge base in index; build one"
    assert strip_paths("~/corpus/a.txt:3: not valid JSON") == "a.txt:3: not valid JSON"
    kept = "连不上 http://127.0.0.1:11434/v1 ，党组/党委各 1/3"
    assert strip_paths(kept) == kept
