import json

import pytest

from assistant.errors import BiganError
from assistant.evaluate import evaluate_items, load_items


def _write(tmp_path, lines) -> object:
    path = tmp_path / "q.jsonl"
    path.write_text("\n".join(json.dumps(x, ensure_ascii=False) for x in lines), encoding="utf-8")
    return path


def test_bad_question_files_are_explained(tmp_path):
    with pytest.raises(BiganError, match="no such file"):
        load_items(tmp_path / "missing.jsonl")
    with pytest.raises(BiganError, match=r"q.jsonl:2: each line needs"):
        load_items(_write(tmp_path, [{"question": "a", "gold": "b"}, {"question": "only"}]))
    with pytest.raises(BiganError, match="each line needs"):
        load_items(_write(tmp_path, [{"turns": [{"user": "a"}]}]))
    (tmp_path / "gbk.jsonl").write_bytes('{"question": "党建", "gold": "党建"}'.encode("gbk"))
    with pytest.raises(BiganError, match="not UTF-8"):
        load_items(tmp_path / "gbk.jsonl")


def test_conversation_turns_use_the_history(searcher, tmp_path):
    follow_up = {"turns": [
        {"user": "作风建设要努力营造哪四个好风气", "gold": "“调查研究、深入思考、改革创新、埋头实干”四个好风气"},
        {"user": "那党员用网络社交媒体呢？", "gold": "严格落实党员使用网络社交媒体“九不准”"},
    ]}
    items = load_items(_write(tmp_path, [follow_up, {"question": "高考分数线", "gold": "这句话不在任何文档里", "kind": "numeric"}]))
    report = evaluate_items(searcher, items, k=3)
    d = report.as_dict()
    assert d["by_kind"]["conversation"]["n"] == 2 and d["by_kind"]["conversation"]["recall@5"] == 1.0
    assert d["overall"]["n"] == 3 and "recall@3" in d["overall"]
    miss = next(m for m in d["misses"] if m["question"] == "高考分数线")
    assert miss["rank"] is None and miss["first"]["source"]
    assert "高考分数线" in report.as_text() and "| overall | 3 |" in report.as_text()
