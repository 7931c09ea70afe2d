"""The service layer every shell uses: typed events, served limits and redaction, an injected model."""
from __future__ import annotations

import pytest
from docx import Document
from langchain_core.language_models.fake_chat_models import FakeListChatModel

from assistant.components.llm import LLM
from assistant.errors import BiganError
from assistant.service import Citations, Done, Failed, Service, TextDelta

from .conftest import llm_settings, make_settings


@pytest.fixture(scope="module")
def offline(sample_kb_dir) -> Service:
    return Service(make_settings(sample_kb_dir, llm_provider="none"))


def test_an_answer_streams_as_typed_events(offline):
    events = list(offline.ask_events("党组成员至少要联系几个支部", []))
    *deltas, cited, done = events
    assert deltas and all(isinstance(e, TextDelta) for e in deltas)
    assert isinstance(cited, Citations) and isinstance(done, Done)
    assert "".join(e.text for e in deltas) == done.result.answer and cited.items == done.result.citations
    assert done.result.mode == "extractive" and "[1]" in done.result.answer


def test_a_draft_streams_its_exemplars(offline):
    *deltas, cited, done = offline.draft_events("作风建设推进会讲话", "结尾")
    assert done.result.mode == "material" and done.result.text.startswith("【素材包】结尾")
    assert cited.items == done.result.exemplars and cited.items


def test_failures_are_an_event_not_an_exception(offline, sample_kb_dir):
    assert list(offline.ask_events("  ", [])) == [Failed("the question is empty")]
    (failed,) = offline.draft_events("主题", "诗歌")
    assert "unknown genre" in failed.message and not failed.by_model
    unreachable = Service(make_settings(sample_kb_dir, llm_base_url="http://127.0.0.1:9/v1", llm_model="m", llm_max_retries=0))
    (failed,) = unreachable.ask_events("三会一课怎么落实", [])
    assert failed.by_model and "无法连接模型服务" in failed.message
    with pytest.raises(BiganError, match="无法连接模型服务"):
        unreachable.ask("三会一课怎么落实", [])


def test_limits_and_redaction_apply_only_when_served(sample_kb_dir):
    settings = make_settings(sample_kb_dir, llm_provider="none", max_question_chars=20, max_draft_chars=500)
    served, owner = Service(settings, served=True), Service(settings)
    long_question = "党组成员至少要联系几个支部" * 2
    (failed,) = served.ask_events(long_question, [])
    assert "输入过长（26 字）" in failed.message
    assert isinstance(list(owner.ask_events(long_question, []))[-1], Done)  # the command line's owner may ask anything
    (failed,) = served.draft_events("机关党建经验", "经验材料", 600)
    assert "篇幅应在 50 到 500 字之间" in failed.message
    with pytest.raises(BiganError, match="查询过长"):
        served.search(long_question)
    message = f"无法读取 {sample_kb_dir.resolve()}/坏文件.docx"
    assert served.public(message) == "无法读取 坏文件.docx" and owner.public(message) == message


def test_the_demo_kb_is_read_only_when_served_only(sample_kb_dir, tmp_path):
    settings = make_settings(sample_kb_dir, demo=True, llm_provider="none", runtime_dir=tmp_path)
    served = Service(settings, served=True)
    with pytest.raises(BiganError, match="只读"):
        served.rebuild()
    session: dict = {}
    assert served.writable(session) is served.workspace(session) is not served.shared
    assert not Service(settings).shared.read_only  # `bigan index` with BIGAN_DEMO=1 (app.py) still builds the KB
    served.close()
    assert not list(tmp_path.iterdir())  # the run folder and the session copy went


def test_an_injected_model_is_used_instead_of_the_configured_one(sample_kb_dir, stub):
    settings = llm_settings(sample_kb_dir, stub)
    fake = LLM.from_langchain(FakeListChatModel(responses=["党组成员至少要联系1个支部[1]。"]), settings)
    answer = Service(settings, fake).ask("党组成员至少要联系几个支部", [])
    assert answer.mode == "llm" and answer.answer == "党组成员至少要联系1个支部[1]。" and len(answer.citations) == 1
    assert Service(settings, None).ask("党组成员至少要联系几个支部", []).mode == "extractive"
    assert stub.requests == []  # the configured endpoint was never asked


def test_documents_and_one_document(offline):
    rows = offline.documents()
    assert len(rows) == 5 and {"id", "source", "name", "title", "sections", "chars", "size", "added"} <= rows[0].keys()
    doc_id, entry, sections = offline.document(rows[0]["name"])
    assert doc_id == rows[0]["id"] and entry["source"] == rows[0]["source"] and len(sections) == rows[0]["sections"]
    with pytest.raises(BiganError):
        offline.document("nothing.txt")


def test_export_takes_the_title_from_the_first_line(offline, tmp_path):
    out = offline.export_docx("关于加强机关党建工作的通知\n\n各支部：\n一、总体要求\n要压实责任。", tmp_path / "通知.docx", date="2024-05-06")
    texts = [p.text for p in Document(str(out)).paragraphs if p.text]
    assert texts[0] == "关于加强机关党建工作的通知" and texts.count("关于加强机关党建工作的通知") == 1
    assert texts[-1] == "2024年5月6日"
    given = offline.export_docx("各支部：\n要压实责任。", tmp_path / "b.docx", "另定的标题")
    assert [p.text for p in Document(str(given)).paragraphs if p.text][0] == "另定的标题"
    with pytest.raises(BiganError, match="must be a .docx"):
        offline.export_docx("正文", tmp_path / "a.pdf")
