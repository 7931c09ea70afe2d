"""Ingestion of real documents Bigan was not written for (../shared/realdocs): titles, nothing lost, no chrome."""
import json
import re
from pathlib import Path

import pytest

from assistant.evaluate import evaluate_items, load_items
from assistant.ingest.clean import clean_text, is_heading_line, repair_ocr
from assistant.ingest.loaders import LoadError, load_document
from assistant.ingest.sections import marker_type, split_sections
from assistant.kb import build
from assistant.retrieve import Searcher
from assistant.text.chinese import match_key

from .conftest import DATA, ROOT, make_settings

REALDOCS = ROOT.parent / "shared" / "realdocs"
TITLES = json.loads((DATA / "realdocs_titles.json").read_text(encoding="utf-8"))
# No title line in the text: the file name is all a reader has (tests/data/realdocs_titles.json, _notes).
UNTITLED = {"工作报告.txt", "2020年国务院政府工作报告（含新闻导语）.txt", "资本论中译本扫描页（无文字层）.pdf"}
# Page furniture of web pages and PDFs, as it is worded across sites.
CHROME = re.compile(r"推荐阅读|相关阅读|相关报道|点击数|点击量|浏览次数|查看次数|发布时间[：:]|文章来源[：:]|当前位置|打印本页|关闭窗口|上一篇|下一篇|【字号")
LEVELS = ["pian", "bian", "zhang", "jie", "di", "cn", "paren_cn", "num", "dec", "dec3", "paren_num"]

pytestmark = pytest.mark.skipif(not REALDOCS.is_dir(), reason="../shared/realdocs is not beside the repository")


@pytest.fixture(scope="module")
def documents() -> dict:
    out = {}
    for path in sorted(REALDOCS.iterdir()):
        if path.name == "SOURCES.md":
            continue
        try:
            loaded = load_document(path)
        except LoadError:
            continue  # which files load, and why others don't, is tested with the loaders
        doc = clean_text(loaded.text, loaded.title, fallback_title=path.stem)
        out[path.name] = (loaded, doc, split_sections(doc, "d", path.name))
    return out


def test_most_real_documents_load(documents):
    assert len(documents) >= 19


def test_every_title_is_the_documents_own(documents):
    wrong = {}
    for name, (_, doc, _) in documents.items():
        want = Path(name).stem if name in UNTITLED else TITLES[name]
        if match_key(doc.title) != match_key(want):
            wrong[name] = doc.title
    assert wrong == {}


def _body(sections) -> str:
    return match_key("".join(s.text.split("\n", 1)[1] if s.continued else s.text for s in sections))


def test_no_heading_and_no_paragraph_is_lost(documents):
    lost = []
    for name, (loaded, doc, sections) in documents.items():
        body = _body(sections)
        for line in re.split(r"[\n\f]", loaded.text):
            key = match_key(repair_ocr(line))  # OCR's "-名" is kept as "一名": repaired, not lost
            content = (len(key) >= 40 and re.search("[。；！？]", key)) or (is_heading_line(line) and len(key) <= 60)
            if content and key not in body and key != match_key(doc.title) and not CHROME.search(key):
                lost.append((name, line.strip()[:40]))
    assert lost == []


def test_sections_hold_no_page_chrome(documents):
    chrome = [(name, m.group()) for name, (_, _, sections) in documents.items() for s in sections
              for m in [CHROME.search(s.text)] if m]
    assert chrome == []


def test_a_higher_level_is_never_nested_under_a_lower(documents):
    nested = []
    for name, (_, _, sections) in documents.items():
        for s in sections:
            ranks = [LEVELS.index(k) for k in map(marker_type, s.heading_path) if k]
            if any(a > b for a, b in zip(ranks, ranks[1:])):
                nested.append((name, s.heading))
    assert len(nested) <= 3, nested


def test_each_government_report_part_holds_its_own_subsections(documents):
    _, _, sections = documents["海拉尔区2014年政府工作报告.txt"]
    paths = {tuple(s.heading_path[:2]) for s in sections}
    assert ("二、2014年工作安排", "（一）狠抓投资和项目建设，全力以赴保增长") in paths
    assert not any(p[0].startswith("（") for p in paths if p)


def test_a_long_part_split_in_two_repeats_its_heading(documents):
    _, _, sections = documents["海拉尔区2016年政府工作报告.txt"]
    continued = [s for s in sections if s.continued]
    assert continued and all(s.text.split("\n", 1)[0] == s.heading_path[len(s.heading_path) - 1 if s.heading_path else 0]
                             or s.text.startswith(s.heading_path[0]) for s in continued[:1])


@pytest.fixture(scope="module")
def real_kb(tmp_path_factory):
    kb_dir = tmp_path_factory.mktemp("real_kb")
    files = [p for p in sorted(REALDOCS.iterdir()) if p.name != "SOURCES.md"]
    report = build(kb_dir, make_settings(kb_dir), add=files)
    return kb_dir, report


def test_real_documents_index_with_reasons_for_any_failure(real_kb):
    _, report = real_kb
    assert len(report.added) >= 24
    assert all(reason and "Traceback" not in reason for _, reason in report.failed)


def test_real_documents_recall(real_kb):
    kb_dir, _ = real_kb
    searcher = Searcher.open(make_settings(kb_dir))
    report = evaluate_items(searcher, load_items(DATA / "realdocs_devset.jsonl")).as_dict()
    overall = report["overall"]
    assert overall["recall@1"] >= 0.75 and overall["recall@5"] >= 0.90, report["by_kind"]
    assert report["by_kind"]["title"]["recall@5"] >= 0.85  # questions that name one of several near-identical reports
