"""Embedding backends side by side in one run: throughput, query latency, recall, distance from the CPU's limit.

    .venv/bin/python bench/bench_embed.py [--kb index] [--repeat 3] [--onnx-dir DIR ...]

Every backend, each in a fresh process, embeds the same sections of the built KB (`make kb`) and
answers the dev set with the same BM25 index and fusion; only the vectors differ. Matryoshka
truncation (512/256/128) is scored for each backend. `--onnx-dir` adds another int8 export (say an
older one) as a row of its own; cosine to fp32 is given as the mean and the worst section. The
arithmetic limit is measured, not looked up: the best GEMM rate torch reaches on this machine in
fp32, bf16 and int8 (common.gemm_peak).
"""
from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import DEVSET, PRECISION, ROOT, gemm_peak, machine_line, model_flops_per_token, peak_rss_mb, percentile

import numpy as np  # noqa: E402

from assistant.components.embedding import load_embedder, resolve_model, truncate  # noqa: E402
from assistant.components.onnx_export import exported_dir, is_exported  # noqa: E402
from assistant.config import Settings  # noqa: E402
from assistant.evaluate import evaluate_items, load_items, question_items  # noqa: E402
from assistant.kb import KnowledgeBase, embed_text  # noqa: E402
from assistant.retrieve import Searcher  # noqa: E402
from assistant.store import open_store  # noqa: E402


def searcher_with(kb: KnowledgeBase, vectors: np.ndarray, embedder, settings: Settings) -> Searcher:
    """The same KB with another backend's vectors, written to a scratch store."""
    store = open_store(settings.model_copy(update={"kb_dir": Path(tempfile.mkdtemp(prefix="bench-embed-"))}))
    meta = {**kb.meta, "embedding": {**kb.meta["embedding"], "fingerprint": embedder.fingerprint, "dimension": vectors.shape[1]}}
    with store.writer_lock():
        store.write(meta, kb.writes(np.ascontiguousarray(vectors, dtype=np.float32)), [])
    return Searcher(store.read(), embedder, settings)


def measure(name: str, onnx_dir: Path | None, kb_dir: Path, devset: Path, repeat: int, out: Path) -> None:
    """One backend in this process: embed every section, time the query path, score the dev set."""
    settings = Settings(kb_dir=kb_dir)
    kb = KnowledgeBase.load(kb_dir)
    texts = [embed_text(s) for s in kb.sections]
    items = load_items(devset)
    questions = [item["question"] for item in question_items(items)]
    source, fingerprint = resolve_model(settings)
    t = time.perf_counter()
    embedder = load_embedder(source, fingerprint, name, onnx_dir, settings.embedding_batch_size)
    load_s = time.perf_counter() - t
    t = time.perf_counter()
    vectors = embedder.encode_documents(texts)
    embed_s = time.perf_counter() - t
    searcher = searcher_with(kb, vectors, embedder, settings)
    searcher.search(questions[0])
    query_ms, search_ms = [], []
    for _ in range(repeat):
        for q in questions:
            t = time.perf_counter()
            embedder.encode_query(q)
            query_ms.append((time.perf_counter() - t) * 1000)
            t = time.perf_counter()
            searcher.search(q, 5)
            search_ms.append((time.perf_counter() - t) * 1000)
    quality = {}
    for dim in (0, 512, 256, 128):
        truncated = searcher_with(kb, truncate(vectors, dim), embedder, settings)
        quality[dim] = evaluate_items(truncated, items).as_dict()["overall"]
    result = {
        "load_s": load_s, "embed_s": embed_s, "query_ms": query_ms, "search_ms": search_ms, "quality": quality,
        "tokens": sum(len(embedder.tokenizer(x)["input_ids"]) for x in texts), "peak_rss_mb": peak_rss_mb(),
    }
    np.save(out.with_suffix(".npy"), vectors)
    out.write_text(json.dumps(result))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--kb", default=str(ROOT / "index"))
    parser.add_argument("--devset", default=str(DEVSET))
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--gemm-size", type=int, default=2048, help="matrix size for the measured arithmetic peak")
    parser.add_argument("--onnx-dir", action="append", default=[], help="another int8 export folder to compare")
    parser.add_argument("--backend", help=argparse.SUPPRESS)
    parser.add_argument("--backend-dir", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.backend:
        onnx_dir = Path(args.backend_dir) if args.backend_dir else None
        measure(args.backend, onnx_dir, Path(args.kb), Path(args.devset), args.repeat, Path(args.out))
        return

    settings = Settings(kb_dir=Path(args.kb))
    kb = KnowledgeBase.load(settings.kb_dir)
    source, fingerprint = resolve_model(settings)
    # (label, backend, ONNX folder)
    runs: list[tuple[str, str, Path | None]] = [("torch-fp32", "torch-fp32", None), ("torch-bf16", "torch-bf16", None)]
    current = exported_dir(settings.cache_dir, fingerprint)
    if is_exported(current):
        runs.append(("onnx-int8", "onnx-int8", current))
    else:
        print("onnx-int8 skipped: run `bigan model optimize` first")
    runs += [(f"onnx-int8 ({Path(d).name})", "onnx-int8", Path(d)) for d in args.onnx_dir]

    # Each backend runs in a process of its own, as in use: torch's idle OpenMP threads slow ONNX Runtime down.
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for i, (label, backend, onnx_dir) in enumerate(runs):
            out = Path(tmp) / f"{i}.json"
            command = [sys.executable, __file__, "--backend", backend, "--out", str(out), "--kb", args.kb,
                       "--devset", args.devset, "--repeat", str(args.repeat)]
            if onnx_dir is not None:
                command += ["--backend-dir", str(onnx_dir)]
            subprocess.run(command, check=True)
            results[label] = json.loads(out.read_text()) | {"vectors": np.load(out.with_suffix(".npy")), "backend": backend}

    fp32 = results["torch-fp32"]
    tokens, n = fp32["tokens"], len(kb.sections)
    per_token = model_flops_per_token(Path(source), tokens / n)
    gemm = {kind: gemm_peak(kind, args.gemm_size) for kind in ("fp32", "bf16", "int8")}
    print(machine_line())
    print(f"sample KB: {n} sections, {tokens} model tokens; model FLOPs per section ≈ {per_token * tokens / n / 1e9:.1f} GFLOP")
    print(
        f"measured GEMM peak (torch, {args.gemm_size}²): fp32 {gemm['fp32']:.0f} GFLOP/s, bf16 {gemm['bf16']:.0f} GFLOP/s, "
        f"int8 {gemm['int8']:.0f} GOP/s"
    )
    print()
    print("| backend | load s | sections/s | tokens/s | speed-up vs fp32 | achieved GFLOP/s | of the GEMM peak in its precision | cos vs fp32 mean / min | query p50 ms | search p50 / p95 ms | R@1 | R@5 | MRR@10 | peak RSS MB |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for name, r in results.items():
        achieved = per_token * tokens / r["embed_s"] / 1e9
        cosines = np.sum(r["vectors"] * fp32["vectors"], axis=1)
        q = r["quality"]["0"]
        print(
            f"| {name} | {r['load_s']:.1f} | {n / r['embed_s']:.2f} | {tokens / r['embed_s']:.0f} | "
            f"{fp32['embed_s'] / r['embed_s']:.2f}× | {achieved:.0f} | {achieved / gemm[PRECISION[r['backend']]]:.0%} | "
            f"{cosines.mean():.4f} / {cosines.min():.4f} | {statistics.median(r['query_ms']):.1f} | "
            f"{statistics.median(r['search_ms']):.1f} / {percentile(r['search_ms'], 0.95):.1f} | "
            f"{q['recall@1']:.3f} | {q['recall@5']:.3f} | {q['mrr@10']:.3f} | {r['peak_rss_mb']:.0f} |"
        )
    print()
    print("Matryoshka truncation (documents and queries truncated alike):")
    print("| backend | dimension | index MB per 1M sections | R@1 | R@5 | MRR@10 |")
    print("| --- | --- | --- | --- | --- | --- |")
    for name, r in results.items():
        for dim, q in r["quality"].items():
            width = int(dim) or r["vectors"].shape[1]
            print(f"| {name} | {width} | {width * 4 * 1_000_000 / 2**20:.0f} | {q['recall@1']:.3f} | {q['recall@5']:.3f} | {q['mrr@10']:.3f} |")


if __name__ == "__main__":
    main()
