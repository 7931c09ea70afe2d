"""The web app's logic without a browser: status line, demo limits, citation rendering."""
import gradio as gr
import pytest

from assistant.answer import Citation
from assistant.errors import BiganError
from assistant.ui import App, build_app, citations_html

from .conftest import llm_settings, make_settings


def test_offline_status_says_how_to_connect(sample_kb_dir):
    status = App(make_settings(sample_kb_dir, llm_provider="none")).status()
    assert "离线模式" in status and "BIGAN_LLM_BASE_URL" in status and "onnx-int8" in status


def test_demo_hides_endpoint_and_paths(sample_kb_dir, stub):
    app = App(llm_settings(sample_kb_dir, stub, demo=True))
    assert "qwen-stub" in app.status() and stub.base_url not in app.status()
    message = app.public(f"cannot reach {stub.base_url}; KB in {sample_kb_dir.resolve()}/x")
    assert stub.base_url not in message and str(sample_kb_dir.resolve()) not in message
    local = App(llm_settings(sample_kb_dir, stub))
    assert stub.base_url in local.status()


def test_demo_uploads_go_to_a_session_copy(sample_kb_dir):
    app = App(make_settings(sample_kb_dir, demo=True))
    session: dict = {}
    private = app.writable(session)
    assert private is not app.shared and app.workspace(session) is private and app.writable(session) is private
    assert session["folder"].exists() and not private.root.is_relative_to(sample_kb_dir)
    with pytest.raises(BiganError, match="read-only"):
        app.shared.add_files([])
    off = App(make_settings(sample_kb_dir, demo=True, demo_uploads="off"))
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
