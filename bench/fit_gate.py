"""Fit the offline answers' gate (assistant/gate.json) on the real-document tuning question sets.

    .venv/bin/python bench/fit_gate.py --real-kb DIR [--held-out heldout50,heldout51] [--write]

Every question of tests/test_offline_answers.py's REAL_ONLY_SETS but the held-out ones is answered with the
gate forced open, recording what the gate reads (answer._gate_features) and whether the answer would cite
the passage that holds it. An answerable question that would cite is a positive, an off-topic one a
negative; one that would cite the wrong passage either way teaches the gate nothing and is left out.
Answering an off-topic question is weighted NEGATIVE_WEIGHT times refusing an answerable one. Prints,
per set left out in turn (leave-one-set-out), what the shipped gate and the refitted one would do, then
with --write stores the fit on all sets. DIR is a KB of ../shared/realdocs (bench_realdocs.py --kb).
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
from common import ROOT, machine_line
from sklearn.linear_model import LogisticRegression

import assistant.answer as answer  # noqa: E402
from assistant.config import Settings  # noqa: E402
from assistant.evaluate import is_hit  # noqa: E402
from assistant.retrieve import Searcher  # noqa: E402
from tests.test_offline_answers import REAL_ONLY_SETS, load  # noqa: E402

NEGATIVE_WEIGHT = 4.0
REGULARISATION = 1.0  # scikit-learn's C


def collect(searcher: Searcher, settings: Settings, sets: list[str]) -> list[dict]:
    """One row per single-turn question: its set, whether it is off-topic, the gate's features (None where
    the answer was refused before the gate) and whether the answer cites the gold passage."""
    seen: dict = {}
    original = answer._relevant

    def forced(searcher, query, asked, matched, hits):  # noqa: ANN001 — answer._relevant's signature
        unseen = answer._unseen_words(query, hits)
        seen["features"] = answer._gate_features(searcher, query, asked, matched, hits, unseen)
        # The one rule the gate does not learn: a place named in full that no passage holds.
        seen["named_missing"] = answer._names_missing(query, unseen)
        return True

    answer._relevant = forced
    rows = []
    try:
        for name in sets:
            for item in load(REAL_ONLY_SETS[name], "realdocs"):
                if "turns" in item:
                    continue
                seen.clear()
                reply = answer.ask(item["question"], [], searcher, settings, None)
                off = item.get("kind") == "off-topic"
                rows.append({
                    "set": name, "off": off, "features": seen.get("features"), "named_missing": seen.get("named_missing", False),
                    "cited": not off and any(is_hit(item["gold"], c.text) for c in reply.citations),
                })
    finally:
        answer._relevant = original
    return rows


def fit(rows: list[dict], names: list[str]) -> LogisticRegression:
    train = [r for r in rows if r["features"] and not r["named_missing"] and (r["off"] or r["cited"])]
    x = np.array([[r["features"][n] for n in names] for r in train])
    y = np.array([0 if r["off"] else 1 for r in train])
    model = LogisticRegression(C=REGULARISATION, max_iter=5000)
    model.fit(x, y, sample_weight=np.where(y == 0, NEGATIVE_WEIGHT, 1.0))
    return model


def outcome(rows: list[dict], opens) -> tuple[int, int, int, int]:  # noqa: ANN001 — opens: features → bool
    """(answerable questions cited, answerable, off-topic refused, off-topic) under a gate."""
    def answered(r: dict) -> bool:
        return bool(r["features"]) and not r["named_missing"] and opens(r["features"])

    answerable = [r for r in rows if not r["off"]]
    off = [r for r in rows if r["off"]]
    return (sum(r["cited"] and answered(r) for r in answerable), len(answerable), sum(not answered(r) for r in off), len(off))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--real-kb", required=True, help="KB of ../shared/realdocs")
    parser.add_argument("--held-out", default="heldout50,heldout51", help="sets not fitted on")
    parser.add_argument("--write", action="store_true", help="store the fit in assistant/gate.json")
    args = parser.parse_args()
    print(machine_line())
    held_out = set(args.held_out.split(","))
    sets = [s for s in REAL_ONLY_SETS if s not in held_out]
    settings = Settings(kb_dir=Path(args.real_kb))
    started = time.perf_counter()
    rows = collect(Searcher.open(settings), settings, sets)
    print(f"{len(rows)} questions answered in {time.perf_counter() - started:.0f} s")
    names = list(next(r["features"] for r in rows if r["features"]))  # as answer._gate_features names them

    def shipped_opens(f: dict) -> bool:
        return answer._gate_odds(f) >= 0

    totals = {"shipped": np.zeros(4, int), "refitted": np.zeros(4, int)}
    for name in sets:
        part = [r for r in rows if r["set"] == name]
        model = fit([r for r in rows if r["set"] != name], names)

        def refit_opens(f: dict, model: LogisticRegression = model) -> bool:
            return model.decision_function(np.array([[f[n] for n in names]]))[0] >= 0

        for gate, opens in (("shipped", shipped_opens), ("refitted", refit_opens)):
            got = outcome(part, opens)
            totals[gate] += got
            print(f"{name:10} {gate:8} cited {got[0]}/{got[1]}  off-topic refused {got[2]}/{got[3]}")
    for gate, t in totals.items():
        print(f"{'all':10} {gate:8} cited {t[0]}/{t[1]}  off-topic refused {t[2]}/{t[3]}  (each set left out in turn)")
    model = fit(rows, names)
    fitted = {
        "intercept": round(float(model.intercept_[0]), 4),
        "weights": {n: round(float(w), 4) for n, w in zip(names, model.coef_[0])},
        "fitted_on": sets,
        "negative_weight": NEGATIVE_WEIGHT,
        "leave_one_set_out": {"cited": f"{totals['refitted'][0]}/{totals['refitted'][1]}",
                              "off_topic_refused": f"{totals['refitted'][2]}/{totals['refitted'][3]}"},
    }
    print(json.dumps(fitted, ensure_ascii=False))
    if args.write:
        (ROOT / "assistant" / "gate.json").write_text(json.dumps(fitted, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
