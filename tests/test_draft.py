"""Drafting: the offline material pack on the real KB, and outline-then-parts against the stub."""
import re

import pytest

from assistant.components.llm import get_llm
from assistant.draft import GENRES, DraftRequest, draft, find_exemplars, pack_passages, prompt_preview
from assistant.errors import BiganError
from assistant.ingest.sections import Section
from assistant.retrieve import Hit, Searcher
from assistant.text.chinese import to_simplified

from .conftest import llm_settings, make_settings
from .llm_stub import Reply


@pytest.fixture(scope="module")
def offline(sample_kb_dir):
    return make_settings(sample_kb_dir)


@pytest.mark.parametrize("genre", sorted(GENRES))
def test_every_genre_has_a_style_guide_and_a_material_pack(searcher, offline, genre):
    result = draft(searcher, offline, None, DraftRequest("在全市机关党建工作会议上的讲话，部署下半年工作", genre))
    assert result.mode == "material" and result.text.startswith(f"【素材包】{genre}")
    assert "一、结构骨架" in result.text and "三、可参考的段落" in result.text
    assert result.exemplars and all(f"[{c.n}]" in result.text for c in result.exemplars)


def test_closing_exemplars_are_closings(searcher):
    hits = find_exemplars(searcher, DraftRequest("机关党建工作会议讲话", "结尾"))
    assert hits and hits[0].section.kind == "closing"


def test_speech_skeleton_and_placeholders_in_style_guide(searcher, offline):
    text = draft(searcher, offline, None, DraftRequest("全市基层党建工作会议讲话")).text
    assert "同志们" in text and "在肯定成绩的同时" in text and "X" in text


def test_material_pack_is_simplified_trimmed_and_cites_what_it_quotes(searcher, offline):
    req = DraftRequest("在区直机关党建工作述职评议会上的讲话", "讲话稿", 600)
    result = draft(searcher, offline, None, req)
    quoted = pack_passages(req, find_exemplars(searcher, req))
    assert any("黨" in hit.section.text for hit, _ in quoted)  # a Traditional source…
    paragraphs = result.text.split("三、可参考的段落\n", 1)[1]
    assert to_simplified(paragraphs) == paragraphs  # …quoted in Simplified
    assert sum(len(text) for _, text in quoted) <= req.chars
    assert [c.n for c in result.exemplars] == list(range(1, len(quoted) + 1))
    assert all(f"[{c.n}]" in paragraphs for c in result.exemplars)


def test_material_pack_quotes_a_passage_once():
    text = "要严格落实党组成员联系支部制度。党组成员至少要联系1个支部，每季度到所联系支部调研不少于1次，发现的问题列入清单、限期整改。"
    hits = [
        Hit(Section("d1", "a.txt", "通知", [], 0, text), 3.0),
        Hit(Section("d2", "a副本.txt", "通知", [], 0, "（转载）" + text), 2.0),  # the same text filed twice
        Hit(Section("d1", "a.txt", "通知", [], 0, text), 1.5),
        Hit(Section("d3", "b.txt", "讲话", [], 0, "各党组织要及时解决支部反映的问题。"), 1.0),
    ]
    quoted = pack_passages(DraftRequest("联系支部制度", "段落", 400), hits)
    assert [h.section.source for h, _ in quoted] == ["a.txt", "b.txt"]
    # Trimmed at sentence ends to the length asked for; the first passage gives at least a sentence.
    short = pack_passages(DraftRequest("联系支部制度", "段落", 50), hits)
    assert [t for _, t in short] == ["要严格落实党组成员联系支部制度。", "各党组织要及时解决支部反映的问题。"]
    assert sum(len(t) for _, t in short) <= 50


def test_show_prompt_is_packed_within_budget(searcher, offline):
    preview = prompt_preview(searcher, offline, DraftRequest("机关党建经验材料，突出三级责任", "经验材料"))
    assert [m["role"] for m in preview["messages"]] == ["system", "user"]
    assert "“X”或“XX”占位" in preview["messages"][0]["content"]
    assert preview["exemplars"] and re.search(r"<范文-[0-9a-f]{8} ", preview["messages"][1]["content"])
    assert 0 < preview["tokens"] <= preview["budget"]


def test_long_draft_is_written_outline_first_then_part_by_part(sample_kb_dir, stub):
    settings = llm_settings(sample_kb_dir, stub, llm_max_tokens=800)
    outline = "在全市机关党建工作会议上的讲话\n一、提高政治站位\n（一）要点\n二、压实主体责任\n三、强化督查考核"
    stub.script = [Reply(outline), Reply("一、提高政治站位。正文一。"), Reply("二、压实主体责任。正文二。"), Reply("三、强化督查考核。正文三。")]
    result = draft(Searcher.open(settings), settings, get_llm(settings), DraftRequest("全市机关党建工作会议讲话", "讲话稿", 3000))
    assert len(stub.requests) == 4
    assert "提纲" in stub.requests[0]["body"]["messages"][-1]["content"]
    assert "“二、压实主体责任”这一部分" in stub.requests[2]["body"]["messages"][-1]["content"]
    assert result.outline == outline
    assert result.text.startswith("在全市机关党建工作会议上的讲话") and result.text.index("正文一") < result.text.index("正文三")


def test_short_draft_is_one_request(sample_kb_dir, stub):
    settings = llm_settings(sample_kb_dir, stub)
    stub.default = Reply("同志们，让我们……提供坚强保证！")
    result = draft(Searcher.open(settings), settings, get_llm(settings), DraftRequest("作风建设会议", "结尾"))
    assert len(stub.requests) == 1 and result.mode == "llm" and result.text.startswith("同志们")


@pytest.mark.parametrize("args,message", [(("  ",), "empty"), (("主题", "诗歌"), "unknown genre"), (("主题", "段落", 10), "at least 50")])
def test_bad_requests(args, message):
    with pytest.raises(BiganError, match=message):
        DraftRequest(*args)
