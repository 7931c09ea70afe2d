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
    """Question items `{"question", "gold", "kind"?, "source"?}` and conversations `{"turns": [{"user", "gold"}, …]}`."""
    if not path.is_file():
        raise BiganError(f"no such file: {path}")
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except UnicodeDecodeError:
        raise BiganError(f"{path}: not UTF-8 text; the question file must be JSON Lines in UTF-8") from None
    items = []
    for n, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except json.JSONDecodeError as exc:
            raise BiganError(f"{path}:{n}: not valid JSON ({exc.msg})") from exc
        if not isinstance(item, dict) or not _well_formed(item):
            raise BiganError(
                f'{path}:{n}: each line needs "question" and "gold", or "turns": [{{"user": …, "gold": …}}, …]'
            )
        items.append(item)
    if not items:
        raise BiganError(f"{path}: no questions in the file")
    return items


def question_items(items: list[dict]) -> list[dict]:
    """The single-question items (conversations left out)."""
    return [item for item in items if "turns" not in item]


def _well_formed(item: dict) -> bool:
    if "turns" in item:
        turns = item["turns"]
        return isinstance(turns, list) and bool(turns) and all(
            isinstance(t, dict) and isinstance(t.get("user"), str) and isinstance(t.get("gold"), str) for t in turns
        )
    return isinstance(item.get("question"), str) and isinstance(item.get("gold"), str)


@dataclass
class Scores:
    k: int = 10
    n: int = 0
    at1: int = 0
    at5: int = 0
    atk: int = 0
    rr: float = 0.0

    def add(self, rank: int | None) -> None:
        self.n += 1
        self.at1 += rank == 1
        self.at5 += rank is not None and rank <= 5
        self.atk += rank is not None and rank <= self.k
        self.rr += 1 / rank if rank and rank <= 10 else 0.0

    def as_dict(self) -> dict:
        n = max(self.n, 1)
        scores = {"n": self.n, "recall@1": self.at1 / n, "recall@5": self.at5 / n, "mrr@10": self.rr / n}
        if self.k not in (1, 5):
            scores[f"recall@{self.k}"] = self.atk / n
        return scores


@dataclass
class Report:
    k: int = 10
    overall: Scores = field(init=False)
    by_kind: dict[str, Scores] = field(init=False)
    misses: list[dict] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.overall = Scores(self.k)
        self.by_kind = defaultdict(lambda: Scores(self.k))

    def add(self, item: dict, question: str, kind: str, hits: list) -> None:
        rank = first_hit_rank(item["gold"], [h.section.text for h in hits[: max(self.k, 10)]])
        self.overall.add(rank)
        self.by_kind[kind].add(rank)
        if rank != 1:
            top = hits[0].section if hits else None
            self.misses.append({
                "question": question,
                "expected_source": item.get("source", ""),
                "rank": rank,
                "first": {"source": top.source, "heading": top.heading, "text": top.text[:80]} if top else None,
            })

    def as_dict(self) -> dict:
        return {
            "k": self.k,
            "overall": self.overall.as_dict(),
            "by_kind": {k: v.as_dict() for k, v in sorted(self.by_kind.items())},
            "misses": self.misses,
        }

    def as_text(self) -> str:
        """The report as a Markdown table plus the misses, for the terminal and the web app."""
        columns = [c for c in self.overall.as_dict() if c != "n"]
        lines = ["| kind | n | " + " | ".join(columns) + " |", "| --- " * (len(columns) + 2) + "|"]
        rows = [*sorted(self.by_kind.items()), ("overall", self.overall)] if len(self.by_kind) > 1 else [("overall", self.overall)]
        for kind, scores in rows:
            d = scores.as_dict()
            lines.append(f"| {kind} | {d['n']} | " + " | ".join(f"{d[c]:.3f}" for c in columns) + " |")
        if self.misses:
            lines += ["", f"misses ({len(self.misses)}, not first):"]
            for miss in self.misses:
                first = miss["first"]
                found = f"{Path(first['source']).name} · {first['heading']} · {first['text'][:40]}…" if first else "nothing"
                rank = f"rank {miss['rank']}" if miss["rank"] else f"not in top {max(self.k, 10)}"
                lines.append(f"- {miss['question']} (expected {miss['expected_source'] or 'any'}; {rank}); first: {found}")
        return "\n".join(lines)


def first_hit_rank(gold: str, passages: list[str]) -> int | None:
    return next((n for n, text in enumerate(passages, start=1) if is_hit(gold, text)), None)


def evaluate(search_many, items: list[dict], k: int = 10) -> Report:
    """Question items only. `search_many(questions, k)` returns, per question, hits best first."""
    report = Report(k)
    results = search_many([item["question"] for item in items], max(k, 10))
    for item, hits in zip(items, results):
        report.add(item, item["question"], item.get("kind", "all"), hits)
    return report


def evaluate_items(searcher, items: list[dict], k: int = 10, llm=None) -> Report:
    """Question items in one batch; conversations turn by turn, each follow-up made standalone from
    the conversation so far (by the model when one is configured), as the chat does."""
    from .answer import extractive_answer, standalone_question

    report = evaluate(searcher.search_many, question_items(items), k)
    for item in (i for i in items if "turns" in i):
        history: list[dict] = []
        for turn in item["turns"]:
            query = standalone_question(turn["user"], history, llm, searcher.settings)
            hits = searcher.search(query, max(k, 10))
            report.add(turn | {"source": turn.get("source", item.get("source", ""))}, turn["user"], item.get("kind", "conversation"), hits)
            # The reply in the history is the extractive answer: retrieval is measured, not generation.
            history += [{"role": "user", "content": turn["user"]}, {"role": "assistant", "content": extractive_answer(query, hits)[0]}]
    return report
