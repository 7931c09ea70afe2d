"""Real documents: titles, index throughput and retrieval quality on ../shared/realdocs.

    .venv/bin/python bench/bench_realdocs.py [--docs ../shared/realdocs] [--kb DIR]

Builds a KB of the real documents (every section embedded; with --kb an existing folder is
reused, so a second run embeds only what changed), then reports each document's title against
tests/data/realdocs_titles.json and recall on tests/data/realdocs_devset.jsonl by kind.
"""
from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from common import ROOT, machine_line, peak_rss_mb

from assistant.config import Settings  # noqa: E402
from assistant.evaluate import evaluate_items, load_items  # noqa: E402
from assistant.kb import KnowledgeBase, build  # noqa: E402
from assistant.retrieve import Searcher  # noqa: E402
from assistant.text.chinese import match_key  # noqa: E402

DATA = ROOT / "tests" / "data"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--docs", default=str(ROOT.parent / "shared" / "realdocs"))
    parser.add_argument("--kb", help="KB folder to build into and keep (default: a temporary one)")
    parser.add_argument("--devset", default=str(DATA / "realdocs_devset.jsonl"))
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(kb_dir=Path(args.kb or tmp))
        started = time.perf_counter()
        files = [p for p in sorted(Path(args.docs).iterdir()) if p.name != "SOURCES.md"]  # the folder's README, not a document
        report = build(settings.kb_dir, settings, add=files)
        build_s = time.perf_counter() - started
        kb = KnowledgeBase.load(settings.kb_dir)
        chars = sum(len(s.text) for s in kb.sections)
        quality = evaluate_items(Searcher.open(settings), load_items(Path(args.devset))).as_dict()

    expected = json.loads((DATA / "realdocs_titles.json").read_text(encoding="utf-8"))
    print(machine_line())
    print(f"build: {len(kb.documents)} documents, {report.sections} sections, {chars} characters, "
          f"{report.embedded} embedded in {build_s:.1f} s (incl. loading and model load): "
          f"{report.embedded / build_s:.2f} sections/s, {chars / build_s:.0f} characters/s; peak RSS {peak_rss_mb():.0f} MB")
    for source, reason in report.failed:
        print(f"failed: {Path(source).name}: {reason}")
    right = 0
    for entry in sorted(kb.documents.values(), key=lambda e: e["name"]):
        want = expected.get(entry["name"], "")
        ok = match_key(want) == match_key(entry["title"])
        right += ok
        print(f"{'ok ' if ok else 'BAD'} {entry['name']}: {entry['title']}" + ("" if ok else f"  (want {want})"))
    print(f"titles right: {right}/{len(kb.documents)}")
    print("| kind | n | recall@1 | recall@5 | MRR@10 |")
    print("| --- | --- | --- | --- | --- |")
    for kind, row in sorted(quality["by_kind"].items()) + [("overall", quality["overall"])]:
        print(f"| {kind} | {row['n']} | {row['recall@1']:.3f} | {row['recall@5']:.3f} | {row['mrr@10']:.3f} |")


if __name__ == "__main__":
    main()
