"""Offline answers (no LLM) on the question sets with expected keywords, sample KB and real documents.

    .venv/bin/python bench/bench_offline_answers.py [--kb index] [--real-kb DIR] [--half SET|both|all] [--show]

Per half and KB: the share of answers citing the passage that holds the answer, the share containing
every expected keyword (in the question's script), the share in the question's script, and the
off-topic questions answered "没有找到". --real-kb is a KB of ../shared/realdocs (bench_realdocs.py --kb
builds one); without it the real-document questions are skipped. SET is a name of
tests/test_offline_answers.py's SETS or REAL_ONLY_SETS (dev, heldout, dev2, dev3, heldout2, …).
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from common import ROOT, machine_line

from assistant.config import Settings  # noqa: E402
from assistant.retrieve import Searcher  # noqa: E402
from tests.test_offline_answers import REAL_ONLY_SETS, SETS, load, run_items, summary  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--kb", default=str(ROOT / "index"), help="KB of the sample corpus")
    parser.add_argument("--real-kb", help="KB of ../shared/realdocs")
    parser.add_argument("--half", default="both", choices=[*SETS, *REAL_ONLY_SETS, "both", "all"])
    parser.add_argument("--show", action="store_true", help="print every question with its answer")
    args = parser.parse_args()
    print(machine_line())
    sets = SETS | REAL_ONLY_SETS
    halves = {"both": ["dev", "heldout"], "all": list(sets)}.get(args.half, [args.half])
    kbs = {"sample": Path(args.kb)} | ({"realdocs": Path(args.real_kb)} if args.real_kb else {})
    for kb, folder in kbs.items():
        settings = Settings(kb_dir=folder)
        searcher = Searcher.open(settings)
        for half in halves:
            items = load(sets[half], kb)
            if not items:
                continue
            started = time.perf_counter()
            rows = run_items(searcher, settings, items)
            seconds = (time.perf_counter() - started) / max(len(rows), 1)
            print(f"{kb:8} {half:7}", json.dumps(summary(rows), ensure_ascii=False), f"{seconds:.2f} s/question")
            if args.show:
                for row in rows:
                    flags = "".join(k[0] for k in ("cited", "keywords", "script", "off_topic_ok") if row.get(k) is False)
                    print(f"  [{flags or 'ok'}] {row['question']}\n      {row['answer'][:300]}")


if __name__ == "__main__":
    main()
