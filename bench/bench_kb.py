"""Index throughput, search latency and dev-set recall of the knowledge base, on this machine.

    .venv/bin/python bench/bench_kb.py [--corpus corpus] [--repeat 3]

Builds a fresh KB from the corpus in a temporary folder (every section embedded), then times
the full query path (T→S, segmentation, query embedding, FAISS, BM25, fusion) per question.
"""
from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from common import DEVSET, PRECISION, ROOT, gemm_peak, machine_line, model_flops_per_token, peak_rss_mb, percentile

from assistant.config import Settings  # noqa: E402
from assistant.evaluate import evaluate_items, load_items, question_items  # noqa: E402
from assistant.components.embedding import resolve_model  # noqa: E402
from assistant.kb import KnowledgeBase, build, embed_text  # noqa: E402
from assistant.retrieve import Searcher  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--corpus", default=str(ROOT / "corpus"))
    parser.add_argument("--devset", default=str(DEVSET))
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--gemm-size", type=int, default=2048, help="matrix size for the measured arithmetic peak")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(kb_dir=Path(tmp))
        started = time.perf_counter()
        report = build(settings.kb_dir, settings, add=[Path(args.corpus)])
        build_s = time.perf_counter() - started
        kb = KnowledgeBase.load(settings.kb_dir)
        searcher = Searcher.open(settings)
        tokenizer = searcher.embedder.tokenizer
        model_tokens = sum(len(tokenizer(embed_text(s))["input_ids"]) for s in kb.sections)

        items = load_items(Path(args.devset))
        questions = [item["question"] for item in question_items(items)]
        searcher.search(questions[0])  # warm-up
        embed_ms, search_ms = [], []
        for _ in range(args.repeat):
            for q in questions:
                t = time.perf_counter()
                searcher.embedder.encode_query(q)
                embed_ms.append((time.perf_counter() - t) * 1000)
                t = time.perf_counter()
                searcher.search(q, 5)
                search_ms.append((time.perf_counter() - t) * 1000)
        quality = evaluate_items(searcher, items).as_dict()["overall"]

    peak_mb = peak_rss_mb()
    backend = searcher.embedder.backend
    per_section = model_flops_per_token(Path(resolve_model(settings)[0]), model_tokens / report.sections) * model_tokens / report.sections
    achieved = per_section * report.sections / build_s / 1e9
    peak = gemm_peak(PRECISION[backend], args.gemm_size)
    print(machine_line())
    print(f"embedding backend: {backend}; model FLOPs per section ≈ {per_section / 1e9:.1f} GFLOP; measured {PRECISION[backend]} GEMM peak {peak:.0f} G/s")
    print("| corpus | documents | sections | model tokens | build s (incl. model load) | sections/s | tokens/s | GFLOP/s (of peak) | peak RSS MB |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    print(
        f"| {Path(args.corpus).name} | {len(report.added)} | {report.sections} | {model_tokens} | {build_s:.1f} | "
        f"{report.sections / build_s:.2f} | {model_tokens / build_s:.0f} | {achieved:.0f} ({achieved / peak:.0%}) | {peak_mb:.0f} |"
    )
    print()
    print("| measure | p50 ms | p95 ms | n |")
    print("| --- | --- | --- | --- |")
    print(f"| query embedding | {statistics.median(embed_ms):.1f} | {percentile(embed_ms, 0.95):.1f} | {len(embed_ms)} |")
    print(f"| full search (k=5) | {statistics.median(search_ms):.1f} | {percentile(search_ms, 0.95):.1f} | {len(search_ms)} |")
    print()
    print(f"dev set: recall@1 {quality['recall@1']:.3f}, recall@5 {quality['recall@5']:.3f}, MRR@10 {quality['mrr@10']:.3f} (n={quality['n']})")


if __name__ == "__main__":
    main()
