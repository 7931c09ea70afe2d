"""Compare fusion rules on the dev set over one built KB (exact scores over all sections).

    .venv/bin/python bench/tune_fusion.py [KB_DIR [DEVSET]]

DEVSET defaults to the sample corpus's tests/data/devset.jsonl; give tests/data/realdocs_devset.jsonl with a
KB of ../shared/realdocs (bench/bench_realdocs.py --kb DIR builds one).

Prints recall@1/@5 and MRR@10 for dense only, BM25 only, reciprocal-rank fusion and the convex
combination of normalised scores that `retrieve.py` uses, at several weights.
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from assistant.config import Settings  # noqa: E402
from assistant.evaluate import is_hit, load_items, question_items  # noqa: E402
from assistant.retrieve import Searcher  # noqa: E402
from assistant.text.chinese import to_simplified  # noqa: E402


def main() -> None:
    kb_dir = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "index"
    searcher = Searcher.open(Settings(kb_dir=kb_dir))
    kb = searcher.kb
    devset = Path(sys.argv[2]) if len(sys.argv) > 2 else ROOT / "tests" / "data" / "devset.jsonl"
    items = question_items(load_items(devset))
    queries = [to_simplified(item["question"]) for item in items]
    n = len(kb.sections)
    dense = searcher.embedder.encode_queries(queries) @ kb.vectors().T
    bm25 = np.zeros_like(dense)
    position = {key: i for i, key in enumerate(kb.keys)}
    for row, query in enumerate(queries):
        for key, score in kb.lexical(kb.segmenter.tokenize(query), n).items():
            bm25[row, position[key]] = score
    gold = np.array([[is_hit(item["gold"], s.text) for s in kb.sections] for item in items])

    def ranks(scores: np.ndarray) -> np.ndarray:
        return np.argsort(np.argsort(-scores, axis=1), axis=1) + 1

    def show(name: str, scores: np.ndarray) -> None:
        first = np.where(gold, ranks(scores), n + 1).min(axis=1)
        mrr = np.where(first <= 10, 1 / first, 0).mean()
        print(f"| {name} | {np.mean(first == 1):.3f} | {np.mean(first <= 5):.3f} | {mrr:.3f} |")

    print(f"KB: {n} sections; dev set: {len(items)} questions\n")
    print("| rule | recall@1 | recall@5 | MRR@10 |\n| --- | --- | --- | --- |")
    show("dense only", dense)
    show("BM25 only", bm25)
    dense_rank, bm25_rank = ranks(dense), ranks(bm25)
    for k in (10, 60):
        for weight in (1.0, 1.5):
            show(f"RRF k={k}, BM25 weight {weight}", 1 / (k + dense_rank) + weight * (bm25 > 0) / (k + bm25_rank))
    low, high = dense.min(axis=1, keepdims=True), dense.max(axis=1, keepdims=True)
    dense_norm = (dense - low) / (high - low)
    bm25_norm = bm25 / np.maximum(bm25.max(axis=1, keepdims=True), 1e-9)
    for alpha in (0.3, 0.4, 0.5, 0.6, 0.7):
        show(f"convex, dense share {alpha}", alpha * dense_norm + (1 - alpha) * bm25_norm)


if __name__ == "__main__":
    main()
