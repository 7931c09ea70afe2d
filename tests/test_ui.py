"""The web app's logic without a browser: status line, demo limits, citation rendering, the page's
language, and the conversation a browser keeps."""
import json
import re

import gradio as gr
import pytest
from starlette.testclient import TestClient

from assistant.answer import Citation
from assistant.draft import DraftRequest
from assistant.errors import BiganError
from assistant.evaluate import Report, load_items
from assistant.service import Service, strip_paths
from assistant.ui import (
    SAVED_GROUPS, SAVED_MESSAGES, WEB, ChinesePage, build_app, chat_messages, chat_text, cited_group, citations_html,
    eval_markdown, md_text, mount_options, new_record, restored, saved_copy, sources_html, status_line, zh_error,
)
from assistant.workspace import Workspace

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
    assert "| 总体 | 1 |" in markdown and "不在前 10" in markdown


def test_messages_never_show_a_server_folder():
    assert strip_paths("无法读取 /tmp/gradio/ab12/坏文件.docx：不是有效的 docx") == "无法读取 坏文件.docx：不是有效的 docx"
    assert strip_paths("no knowledge base in /srv/bigan/index; build one") == "no knowledge base in index; build one"
    assert strip_paths("~/corpus/a.txt:3: not valid JSON") == "a.txt:3: not valid JSON"
    kept = "连不上 http://127.0.0.1:11434/v1 ，党组/党委各 1/3"
    assert strip_paths(kept) == kept


# --- a Chinese-only page ----------------------------------------------------------------------------------------


def _library_errors(tmp_path, sample_kb_dir) -> list[str]:
    """Messages the library raises (written for the command line) that a page user can cause."""
    messages = []
    bad = {"坏.jsonl": "not json\n", "缺.jsonl": '{"question": "三会一课"}\n', "空.jsonl": "\n", "码.jsonl": "党".encode("gbk")}
    for name, content in bad.items():
        path = tmp_path / name
        path.write_bytes(content if isinstance(content, bytes) else content.encode())
        with pytest.raises(BiganError) as caught:
            load_items(path)
        messages.append(str(caught.value))
    with pytest.raises(BiganError) as caught:
        load_items(tmp_path / "没有.jsonl")
    messages.append(str(caught.value))
    workspace = Workspace(make_settings(sample_kb_dir))
    with pytest.raises(BiganError) as caught:
        workspace.resolve("没有这个文档.txt")
    messages.append(str(caught.value))
    for request, genre, length in (("", "讲话稿", None), ("讲话", "童话", None), ("讲话", "讲话稿", 10)):
        with pytest.raises(BiganError) as caught:
            DraftRequest(request, genre, length)
        messages.append(str(caught.value))
    with pytest.raises(BiganError) as caught:
        Workspace(make_settings(tmp_path / "无")).documents()
    messages.append(str(caught.value))
    return messages


def test_library_errors_reach_the_page_in_chinese(tmp_path, sample_kb_dir):
    for message in _library_errors(tmp_path, sample_kb_dir):
        shown = zh_error(strip_paths(message))
        latin = re.sub(r"\S+\.(?:jsonl|txt)|question|gold|turns|JSON|UTF-8", "", shown)
        assert re.search(r"[\u4e00-\u9fff]", shown) and not re.search(r"[A-Za-z]{2,}", latin), (message, shown)
    assert zh_error("connection reset by peer") == zh_error("something else entirely")  # a general Chinese line
    assert zh_error("无法读取 a.docx：不是有效的 docx") == "无法读取 a.docx：不是有效的 docx"


def test_eval_report_is_in_chinese():
    report = Report(10)
    report.by_kind["numeric"].add(1)
    report.overall.add(1)
    markdown = eval_markdown(report)
    assert markdown.startswith("| 类别 | 题数 |") and "| 总体 | 1 |" in markdown
    assert not re.search(r"\b(?:kind|overall|n)\b", markdown)


def test_the_page_tells_gradio_it_is_chinese():
    page = b'<!doctype html>\n<html\n\tlang="en"\n>\n\t<head>\n\t\t<meta charset="utf-8" />'

    async def app(scope, receive, send):
        html_page = scope["path"] == "/"
        body = page if html_page else b'{"head": "<head>"}'
        kind = b"text/html; charset=utf-8" if html_page else b"application/json"
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", kind), (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})

    client = TestClient(ChinesePage(app))
    served = client.get("/")
    assert served.text.index("<head><script>") < served.text.index("<meta")  # before anything of Gradio's
    assert 'Navigator.prototype' in served.text and 'lang="zh-CN"' in served.text and 'lang="en"' not in served.text
    assert int(served.headers["content-length"]) == len(served.content)
    assert client.get("/config").json() == {"head": "<head>"}  # only pages are touched


def test_mount_options_make_the_page_chinese():
    options = mount_options()
    strings = json.loads((WEB / "zh-CN.json").read_text(encoding="utf-8"))
    assert options["footer_links"] == []  # no English footer
    assert options["i18n"].translations_dict == {"zh-CN": strings["gradio"]}
    assert all(re.search(r"[\u4e00-\u9fff]", v) for v in [*strings["gradio"].values(), *strings["labels"].values()])
    assert "BIGAN_ZH" not in options["js"] and json.dumps(strings["labels"], ensure_ascii=False) in options["js"]
    assert any(m.cls is ChinesePage for m in options["app_kwargs"]["middleware"])


# --- the conversation a browser keeps -------------------------------------------------------------------------


def _exchange(record: dict, question: str, answer: str, citations: list[Citation]) -> dict:
    at = len(record["messages"]) + 1
    return {"messages": record["messages"] + [{"role": "user", "text": question}, {"role": "assistant", "text": answer}],
            "groups": record["groups"] + [cited_group(citations, answer, at)]}


def test_answers_link_their_marks_to_their_own_sources():
    c1 = Citation(1, "/srv/kb/001.txt", "讲话", "一、总体要求", "要压实责任。")
    c2 = Citation(2, "/srv/kb/002.txt", "材料", "二、主要做法", "推行积分管理。")
    record = _exchange(new_record(), "怎么做？", "压实责任[1]，积分管理[2]，见[2023]。<b>", [c1, c2])
    record = _exchange(record, "还有呢？", "只有[1]。", [c1])
    shown = chat_messages(record)
    assert shown[1]["content"] == ('压实责任<a href="#cite-1-1">[1]</a>，积分管理<a href="#cite-1-2">[2]</a>，'
                                   "见[2023]。&lt;b&gt;")
    assert shown[3]["content"] == '只有<a href="#cite-3-1">[1]</a>。'
    panel = sources_html(record)
    assert 'id="cite-1-2"' in panel and 'id="cite-3-1"' in panel
    assert '<div class="cite-group" id="group-1" hidden>' in panel and '<div class="cite-group" id="group-3">' in panel
    assert "/srv/kb" not in json.dumps(saved_copy(record, []), ensure_ascii=False)  # the browser gets file names only


def test_a_kept_conversation_comes_back_and_nothing_else():
    c1 = Citation(1, "/srv/kb/001.txt", "讲话", "一、总体要求", "要压实责任。")
    record = _exchange(new_record(), "怎么做？", "压实责任[1]。", [c1])
    turns = [{"role": "user", "content": "怎么做？"}, {"role": "assistant", "content": "压实责任[1]。"}]
    assert restored(json.loads(json.dumps(saved_copy(record, turns)))) == (
        {"messages": record["messages"], "groups": [record["groups"][0] | {}]}, turns
    )
    tampered = {"messages": [{"role": "system", "text": "x"}, {"role": "user", "text": 3}, {"role": "user", "text": "问"}],
                "groups": [{"at": 0, "answer": "a", "citations": []}, {"at": "x"}], "turns": [{"role": "tool", "content": "x"}]}
    assert restored(tampered) == ({"messages": [{"role": "user", "text": "问"}], "groups": []}, [])
    assert restored(None) == (new_record(), []) and restored("garbage") == (new_record(), [])


def test_the_browser_keeps_a_bounded_conversation():
    c1 = Citation(1, "001.txt", "讲话", "一、", "要压实责任。")
    record = new_record()
    for i in range(SAVED_MESSAGES):  # twice as many messages as are kept
        record = _exchange(record, f"问{i}", f"答{i}[1]", [c1])
    kept, _ = restored(saved_copy(record, []))
    assert len(kept["messages"]) == SAVED_MESSAGES and len(kept["groups"]) <= SAVED_GROUPS
    assert kept["messages"][-1]["text"] == f"答{SAVED_MESSAGES - 1}[1]"
    assert all(kept["messages"][g["at"]]["text"] == g["answer"] for g in kept["groups"])  # groups still point at their answers
