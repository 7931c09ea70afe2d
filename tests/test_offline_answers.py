"""Offline (no LLM) answers over a question set with expected keywords: do they cite the passage that
holds the answer, say what was asked, follow the conversation, and say so when the KB has nothing?

tests/data/offline_answers.jsonl is the dev half (tuned on); offline_answers_heldout.jsonl the held-out
half; offline_answers_heldout2.jsonl and offline_answers_heldout3.jsonl (user-worded paraphrases, fresh
off-topic questions) held-out sets on the real documents only, each written before the rules it measures
were tuned; offline_answers_dev2/dev3.jsonl real-document sets tuned on in the second round, and
offline_answers_heldout4/heldout5.jsonl held out from it (each written by someone who saw neither the
answer code nor the other sets); offline_answers_heldout6.jsonl, written the same way, held out from the
third round (and tuned on in the fourth), offline_answers_heldout7.jsonl held out from the fourth (tuned on
in the fifth), offline_answers_heldout8.jsonl held out from the fifth (tuned on in the sixth),
offline_answers_heldout9.jsonl held out from the sixth and seventh, offline_answers_heldout10.jsonl written after
the sixth round's changes (tuned on in the seventh), offline_answers_heldout11/heldout12.jsonl held out
from the seventh (tuned on in the eighth), offline_answers_heldout13/heldout14.jsonl held out from the eighth
(tuned on in the ninth), offline_answers_heldout15/heldout16.jsonl held out from the ninth (tuned on in
the tenth), offline_answers_heldout17/heldout18.jsonl held out from the tenth (tuned on in the eleventh),
offline_answers_heldout19/heldout20.jsonl held out from the eleventh (tuned on in the twelfth),
offline_answers_heldout21/heldout22.jsonl held out from the twelfth round's first half (tuned on in its second),
offline_answers_heldout23/heldout24.jsonl held out from its second half (tuned on in the thirteenth),
offline_answers_heldout25/heldout26.jsonl held out from the thirteenth (written before it) and heldout27/heldout28
(written after it, measured at its final code), all four tuned on in the fourteenth, and
offline_answers_heldout29/heldout30.jsonl written before the fourteenth round and measured at its start (then
tuned on), offline_answers_heldout31/heldout32.jsonl held out from it (tuned on in the fifteenth), and
offline_answers_heldout33/heldout34.jsonl held out from the fifteenth (tuned on in the sixteenth), and
offline_answers_heldout35/heldout36.jsonl and heldout37/heldout38.jsonl measured at the sixteenth round's
start (then tuned on), offline_answers_heldout39/heldout40.jsonl held out from it (tuned on in the
seventeenth), offline_answers_heldout41/heldout42.jsonl measured at the seventeenth round's start (then
tuned on), offline_answers_heldout43/heldout44.jsonl held out from its first part (heldout43 tuned on in its
second) and offline_answers_heldout45/heldout46.jsonl, written during it, held out from it (both tuned on in
the eighteenth), offline_answers_heldout47/heldout48/heldout49.jsonl held out from the eighteenth round's
first part (tuned on in its second) and offline_answers_heldout50/heldout51.jsonl held out from its second.
Items with "kb": "realdocs" need a KB of ../shared/realdocs and are measured by
bench/bench_offline_answers.py; this test holds the bars on the sample KB.
"""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from assistant.answer import ask
from assistant.evaluate import is_hit
from assistant.text.chinese import is_traditional, match_key, to_simplified

from .conftest import DATA, make_settings

SETS = {"dev": DATA / "offline_answers.jsonl", "heldout": DATA / "offline_answers_heldout.jsonl"}
REAL_ONLY_SETS = {
    "dev2": DATA / "offline_answers_dev2.jsonl",
    "dev3": DATA / "offline_answers_dev3.jsonl",
    "heldout2": DATA / "offline_answers_heldout2.jsonl",
    "heldout3": DATA / "offline_answers_heldout3.jsonl",
    "heldout4": DATA / "offline_answers_heldout4.jsonl",
    "heldout5": DATA / "offline_answers_heldout5.jsonl",
    "heldout6": DATA / "offline_answers_heldout6.jsonl",
    "heldout7": DATA / "offline_answers_heldout7.jsonl",
    "heldout8": DATA / "offline_answers_heldout8.jsonl",
    "heldout9": DATA / "offline_answers_heldout9.jsonl",
    "heldout10": DATA / "offline_answers_heldout10.jsonl",
    "heldout11": DATA / "offline_answers_heldout11.jsonl",
    "heldout12": DATA / "offline_answers_heldout12.jsonl",
    "heldout13": DATA / "offline_answers_heldout13.jsonl",
    "heldout14": DATA / "offline_answers_heldout14.jsonl",
    "heldout15": DATA / "offline_answers_heldout15.jsonl",
    "heldout16": DATA / "offline_answers_heldout16.jsonl",
    "heldout17": DATA / "offline_answers_heldout17.jsonl",
    "heldout18": DATA / "offline_answers_heldout18.jsonl",
    "heldout19": DATA / "offline_answers_heldout19.jsonl",
    "heldout20": DATA / "offline_answers_heldout20.jsonl",
    "heldout21": DATA / "offline_answers_heldout21.jsonl",
    "heldout22": DATA / "offline_answers_heldout22.jsonl",
    "heldout23": DATA / "offline_answers_heldout23.jsonl",
    "heldout24": DATA / "offline_answers_heldout24.jsonl",
    "heldout25": DATA / "offline_answers_heldout25.jsonl",
    "heldout26": DATA / "offline_answers_heldout26.jsonl",
    "heldout27": DATA / "offline_answers_heldout27.jsonl",
    "heldout28": DATA / "offline_answers_heldout28.jsonl",
    "heldout29": DATA / "offline_answers_heldout29.jsonl",
    "heldout30": DATA / "offline_answers_heldout30.jsonl",
    "heldout31": DATA / "offline_answers_heldout31.jsonl",
    "heldout32": DATA / "offline_answers_heldout32.jsonl",
    "heldout33": DATA / "offline_answers_heldout33.jsonl",
    "heldout34": DATA / "offline_answers_heldout34.jsonl",
    "heldout35": DATA / "offline_answers_heldout35.jsonl",
    "heldout36": DATA / "offline_answers_heldout36.jsonl",
    "heldout37": DATA / "offline_answers_heldout37.jsonl",
    "heldout38": DATA / "offline_answers_heldout38.jsonl",
    "heldout39": DATA / "offline_answers_heldout39.jsonl",
    "heldout40": DATA / "offline_answers_heldout40.jsonl",
    "heldout41": DATA / "offline_answers_heldout41.jsonl",
    "heldout42": DATA / "offline_answers_heldout42.jsonl",
    "heldout43": DATA / "offline_answers_heldout43.jsonl",
    "heldout44": DATA / "offline_answers_heldout44.jsonl",
    "heldout45": DATA / "offline_answers_heldout45.jsonl",
    "heldout46": DATA / "offline_answers_heldout46.jsonl",
    "heldout47": DATA / "offline_answers_heldout47.jsonl",
    "heldout48": DATA / "offline_answers_heldout48.jsonl",
    "heldout49": DATA / "offline_answers_heldout49.jsonl",
    "heldout50": DATA / "offline_answers_heldout50.jsonl",
    "heldout51": DATA / "offline_answers_heldout51.jsonl",
}
NOT_FOUND_MARK = "没有找到"


def load(path: Path, kb: str) -> list[dict]:
    items = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [item for item in items if item.get("kb", "sample") == kb]


def _plain(text: str) -> str:
    return re.sub(r"\[\d+\]|\s+", "", text)


def _says(answer: str, keyword: str, question: str) -> bool:
    """A keyword counts as written in the question's script: a Simplified question needs Simplified words
    (a keyword copied from a Traditional source is expected in Simplified); spacing is not compared."""
    if is_traditional(question):
        return match_key(keyword) in match_key(_plain(answer))
    return to_simplified(_plain(keyword)) in _plain(answer)


def run_items(searcher, settings, items: list[dict]) -> list[dict]:
    """Ask every question (conversations turn by turn) offline; one result row per question asked."""
    rows = []
    for item in items:
        history: list[dict] = []
        for turn in item.get("turns", [item]):
            question = turn.get("user", turn.get("question"))
            answer = ask(question, history, searcher, settings, None)
            history += [{"role": "user", "content": question}, {"role": "assistant", "content": answer.answer}]
            row = {"question": question, "kind": item.get("kind", ""), "answer": answer.answer, "query": answer.query}
            if item.get("kind") == "off-topic":
                row["off_topic_ok"] = NOT_FOUND_MARK in answer.answer and not answer.citations
            else:
                row["cited"] = any(is_hit(turn["gold"], c.text) for c in answer.citations)
                row["keywords"] = all(_says(answer.answer, k, question) for k in turn["keywords"]) and not any(
                    _says(answer.answer, k, question) for k in turn.get("absent", [])
                )
                body = _plain(answer.answer)
                row["script"] = is_traditional(body) if is_traditional(question) else body == to_simplified(body)
                row["numbers"] = [c.n for c in answer.citations]
            rows.append(row)
    return rows


def summary(rows: list[dict]) -> dict:
    answerable = [r for r in rows if "cited" in r]
    off_topic = [r for r in rows if "off_topic_ok" in r]
    n = max(len(answerable), 1)
    return {
        "questions": len(answerable),
        "citation": round(sum(r["cited"] for r in answerable) / n, 3),
        "keywords": round(sum(r["keywords"] for r in answerable) / n, 3),
        "script": round(sum(r["script"] for r in answerable) / n, 3),
        "off_topic": f"{sum(r['off_topic_ok'] for r in off_topic)}/{len(off_topic)}",
    }


@pytest.fixture(scope="module")
def offline(sample_kb_dir):
    return make_settings(sample_kb_dir)


@pytest.mark.parametrize("half", sorted(SETS))
def test_offline_answers_on_the_sample_kb(searcher, offline, half):
    rows = run_items(searcher, offline, load(SETS[half], "sample"))
    scores = summary(rows)
    print(half, json.dumps(scores, ensure_ascii=False))
    misses = [r for r in rows if not r.get("cited", True) or not r.get("keywords", True) or not r.get("off_topic_ok", True)]
    assert scores["citation"] >= 0.90, misses
    assert scores["keywords"] >= 0.80, misses
    assert all(r["off_topic_ok"] for r in rows if "off_topic_ok" in r), misses
    assert scores["script"] == 1.0, [r for r in rows if not r.get("script", True)]
    # Citations are numbered from [1] in the order they are first used.
    assert all(r["numbers"] == list(range(1, len(r["numbers"]) + 1)) for r in rows if "numbers" in r)
