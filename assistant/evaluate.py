"""Retrieval quality: the hit rule and recall@k / MRR over a question set."""
from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field
from difflib import SequenceMatcher
from pathlib import Path

from .errors import BiganError
from .text.chinese import match_key

COVERAGE = 0.6


def is_hit(gold: str, passage: str) -> bool:
    """Gold inside the passage (both Simplified, no whitespace), or their longest common run ≥ 60% of gold."""
    g, p = match_key(gold), match_key(passage)
    if not g:
        return False
    if g in p:
        return True
    match = SequenceMatcher(None, g, p, autojunk=False).find_longest_match(0, len(g), 0, len(p))
    return match.size >= COVERAGE * len(g)


def load_items(path: Path) -> list[dict]:
    if not path.is_file():
        raise BiganError(f"no such file: {path}")
    items = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except json.JSONDecodeError as exc:
            raise BiganError(f"{path}:{n}: not valid JSON ({exc.msg})") from exc
        if not ("question" in item and "gold" in item):
            raise BiganError(f"{path}:{n}: each line needs \"question\" and \"gold\"")
        items.append(item)
    return items


@dataclass
class Scores:
    n: int = 0
    at1: int = 0
    at5: int = 0
    rr: float = 0.0

    def add(self, rank: int | None) -> None:
        self.n += 1
        self.at1 += rank == 1
        self.at5 += rank is not None and rank <= 5
        self.rr += 1 / rank if rank else 0.0

    def as_dict(self) -> dict:
        n = max(self.n, 1)
        return {"n": self.n, "recall@1": self.at1 / n, "recall@5": self.at5 / n, "mrr@10": self.rr / n}


@dataclass
class Report:
    overall: Scores = field(default_factory=Scores)
    by_kind: dict[str, Scores] = field(default_factory=lambda: defaultdict(Scores))
    misses: list[dict] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {
            "overall": self.overall.as_dict(),
            "by_kind": {k: v.as_dict() for k, v in sorted(self.by_kind.items())},
            "misses": self.misses,
        }


def first_hit_rank(gold: str, passages: list[str]) -> int | None:
    return next((n for n, text in enumerate(passages, start=1) if is_hit(gold, text)), None)


def evaluate(search_many, items: list[dict], k: int = 10) -> Report:
    """`search_many(questions, k)` returns, per question, passages best first (objects with .section.text)."""
    report = Report()
    results = search_many([item["question"] for item in items], max(k, 10))
    for item, hits in zip(items, results):
        rank = first_hit_rank(item["gold"], [h.section.text for h in hits[:10]])
        report.overall.add(rank)
        report.by_kind[item.get("kind", "all")].add(rank)
        if rank != 1:
            top = hits[0].section if hits else None
            report.misses.append({
                "question": item["question"],
                "expected_source": item.get("source", ""),
                "rank": rank,
                "first": {"source": top.source, "heading": top.heading, "text": top.text[:80]} if top else None,
            })
    return report
