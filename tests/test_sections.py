import re

import pytest

from assistant.ingest.clean import clean_text
from assistant.ingest.loaders import load_text
from assistant.ingest.sections import heading_of, item_label, marker_type, split_sections
from assistant.text.chinese import split_sentences
from assistant.text.tokens import count_tokens

from .conftest import CORPUS

BUDGET, MIN_TOKENS = 320, 48


@pytest.fixture(scope="module")
def docs():
    return {p.name: clean_text(load_text(p)) for p in sorted(CORPUS.iterdir())}


@pytest.fixture(scope="module")
def sections(docs):
    return {name: split_sections(doc, name[:3], name, BUDGET, MIN_TOKENS) for name, doc in docs.items()}


def test_marker_levels():
    assert marker_type("一、紧扣标准要求") == "cn"
    assert marker_type("（一）抓好新时代党建工作") == "paren_cn"
    assert marker_type("(二)突出一个重点") == "paren_cn"
    assert marker_type("1.充分認識政治建設") == "num"
    assert marker_type("（1）具体措施") == "paren_num"
    assert marker_type("第一，提高认识") == "di"
    assert marker_type("2020年，是全面建成小康社会决胜之年") is None
    assert marker_type("2.5亿元资金") is None


def test_heading_is_first_sentence_of_an_inline_heading():
    assert heading_of("一、紧扣标准要求，务求党建达标。我们深刻认识到……") == "一、紧扣标准要求，务求党建达标"
    assert heading_of("三、三位一体抓基础、党建工作有保障") == "三、三位一体抓基础、党建工作有保障"
    assert item_label("二是流程对标。") == "二是流程对标"
    assert item_label("一要通读原文原著。") == "一要通读原文原著"
    assert item_label("是不是这样。") is None


def test_nested_heading_path(sections):
    paths = [s.heading_path for s in sections["003_5b479df242e3a196.txt"]]
    assert [
        "一、提高政治站位，切实增强抓好新时代党建工作的责任感和使命感",
        "（一）抓好新时代党建工作是贯彻全面从严治党的政治要求",
    ] in paths
    assert any(p[:2] == ["二、把握关键要领，奋力开创新时代XX党建工作新局面", "（二）突出一个重点，切实筑牢XX机关绝对忠诚之魂"] and p[-1] == "二要严肃党内生活" for p in paths)


def test_traditional_sections_keep_their_script_and_get_a_simplified_copy(sections):
    secs = sections["001_58fd5961e537d1e9.txt"]
    target = next(s for s in secs if "1.充分認識政治建設的極端重要性" in s.heading_path)
    assert target.heading_path[0] == "一、堅持高站位,以着眼全局的戰略思維推進機關黨建"
    assert "黨政機關首先是政治機關" in target.text
    assert "党政机关首先是政治机关" in target.text_s
    assert target.title.startswith("在區直系統")


def test_inline_items_extend_the_heading_path(sections):
    paths = [s.heading for s in sections["000_d6b92f23921d179d.txt"]]
    assert "一、紧扣标准要求，务求党建达标 > 二是流程对标" in paths


def test_salutation_preamble_and_closing(sections):
    secs = sections["002_6ced87f26916ac27.txt"]
    assert secs[0].kind == "preamble" and secs[0].text.startswith("同志们：\n在全市疫情防控")
    assert secs[-1].kind == "closing" and secs[-1].text.startswith("同志们，求木之长者") and secs[-1].heading_path == []


def test_sections_cover_the_document_exactly(docs, sections):
    for name, doc in docs.items():
        # A continued section repeats its heading line first; without it the sections are the document.
        joined = re.sub(r"\s", "", "".join(s.text.split("\n", 1)[1] if s.continued else s.text for s in sections[name]))
        assert joined == re.sub(r"\s", "", "".join(doc.paragraphs)), name


def test_budget_respected_and_never_mid_sentence(docs, sections):
    for name, secs in sections.items():
        paragraphs = docs[name].paragraphs
        for s in secs:
            last_line = s.text.split("\n")[-1]
            ends_sentence = s.text.rstrip()[-1] in "。！？；;!?”’」』）)】》"
            assert ends_sentence or any(p.endswith(last_line) for p in paragraphs), (name, s.text[-20:])
            longest = max(count_tokens(x) for x in split_sentences(s.text))
            assert count_tokens(s.text) <= max(BUDGET, longest) + 2 * MIN_TOKENS, (name, s.heading)


def test_no_tiny_fragments(sections):
    for name, secs in sections.items():
        assert all(count_tokens(s.text) >= MIN_TOKENS for s in secs), name


def test_positions_are_document_order(sections):
    for secs in sections.values():
        assert [s.position for s in secs] == list(range(len(secs)))
