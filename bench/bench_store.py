"""What one write and one query cost as a KB grows, on both stores.

For each size (sections) a KB is grown from synthetic documents of 50 sections, then one more
document is added (timed, several times) and queries are timed through the searcher's fusion (dense +
BM25 candidates, document names, part pointers). The sections are synthetic: Zipf-distributed words
from a 20k-word vocabulary and random unit vectors, written straight into the store (the real model
would take hours to embed 100k sections on CPU; the query vector is random too, so the time is the
store's and the fusion's, without the model's ~30 ms per question).

    python bench/bench_store.py --sizes 1000 10000 100000 --milvus-sizes 1000 10000
    python bench/bench_store.py --segments-of index   # Milvus's per-segment BM25 statistics vs recall
"""
from __future__ import annotations

import argparse
import json
import platform
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from assistant.components.embedding import Embedder  # noqa: E402
from assistant.config import Settings  # noqa: E402
from assistant.ingest.sections import Section  # noqa: E402
from assistant.retrieve import Searcher  # noqa: E402
from assistant.store import DocumentWrite, FORMAT_VERSION, open_store  # noqa: E402

DIM = 768
PER_DOC = 50
WORDS = [f"词{i:05d}" for i in range(20_000)]


class RandomEmbedder(Embedder):
    backend = "random"
    fingerprint = "random:0"
    dimension = DIM
    tokenizer = None

    def __init__(self, seed: int = 0) -> None:
        self.rng = np.random.default_rng(seed)

    def _encode(self, texts, kind, progress):
        v = self.rng.normal(size=(len(texts), DIM)).astype(np.float32)
        return v / np.linalg.norm(v, axis=1, keepdims=True)


def synthetic_doc(number: int, rng: np.random.Generator) -> DocumentWrite:
    doc_id = f"doc{number:08d}"
    ranks = np.minimum(rng.zipf(1.2, size=(PER_DOC, 60)), len(WORDS)) - 1
    tokens = [[WORDS[r] for r in row] for row in ranks]
    sections = [
        Section(doc_id, f"{doc_id}.txt", f"文档{number}", [f"{i + 1}、第{i + 1}部分"], i, "".join(t), text_s="".join(t))
        for i, t in enumerate(tokens)
    ]
    vectors = rng.normal(size=(PER_DOC, DIM)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    entry = {
        "source": f"/synthetic/{doc_id}.txt", "name": f"{doc_id}.txt", "sha256": doc_id, "size": 1, "title": f"文档{number}",
        "added": "2026-01-01 00:00:00", "updated": "", "sections": PER_DOC, "chars": 0, "label": "", "terms": [],
    }
    return DocumentWrite(doc_id, entry, "\n".join(s.text for s in sections), sections, vectors, tokens)


META = {
    "format_version": FORMAT_VERSION,
    "embedding": {"model": "random", "fingerprint": "random:0", "backend": "random", "dimension_setting": 0,
                  "backend_version": 0, "dimension": DIM, "normalised": True},
    "chunking": {}, "built": "",
}


def grow(store, sections: int, rng: np.random.Generator, batch_sections: int) -> int:
    """Write `sections` sections in writes of `batch_sections`; the next document number."""
    number = 0
    while number * PER_DOC < sections:
        docs = [synthetic_doc(number + i, rng) for i in range(min(batch_sections, sections - number * PER_DOC) // PER_DOC)]
        with store.writer_lock():
            store.write({**META, "store": store.settings.store}, docs, [])
        number += len(docs)
    return number


def measure(kind: str, size: int, folder: Path, queries: int, adds: int) -> dict:
    settings = Settings(kb_dir=folder / f"{kind}-{size}", store=kind, candidates=50)
    store = open_store(settings)
    rng = np.random.default_rng(size)
    started = time.perf_counter()
    number = grow(store, size, rng, batch_sections=min(10_000, size))
    grown = time.perf_counter() - started
    add_times = []
    for i in range(adds):
        doc = synthetic_doc(number + i, rng)
        t = time.perf_counter()
        with store.writer_lock():
            store.write({**META, "store": kind}, [doc], [])
        add_times.append(time.perf_counter() - t)
    searcher = Searcher(store.read(), RandomEmbedder(), settings)
    words = np.minimum(rng.zipf(1.2, size=(queries, 6)), len(WORDS)) - 1
    texts = ["".join(WORDS[w] for w in row) for row in words]
    searcher.search(texts[0], 10)  # first query loads the segments
    times = []
    for text in texts:
        t = time.perf_counter()
        searcher.search(text, 10)
        times.append(time.perf_counter() - t)
    times.sort()
    result = {
        "store": kind, "sections": searcher.kb.section_count(), "grow_s": grown,
        "add_median_ms": 1000 * statistics.median(add_times), "add_max_ms": 1000 * max(add_times),
        "p50_ms": 1000 * times[len(times) // 2], "p95_ms": 1000 * times[int(len(times) * 0.95) - 1],
    }
    if kind == "faiss":
        result["segments"] = len(store.read().meta["segments"])
    else:
        from assistant.store.milvus import close_clients

        close_clients()
    shutil.rmtree(settings.kb_dir, ignore_errors=True)
    return result


class MilvusRanked(Searcher):
    """Milvus's own hybrid search (dense + BM25 requests, one of its rankers) in place of Bigan's fusion."""

    ranker = None

    def _fuse(self, query, asked, named, vector, k, n):
        from pymilvus import AnnSearchRequest

        from assistant.retrieve import Hit

        store = self.kb.store
        requests = [AnnSearchRequest([vector.tolist()], "vector", store.dense_params, limit=n)]
        tokens = self.kb.segmenter.tokenize(asked)
        if tokens:
            requests.append(AnnSearchRequest([" ".join(tokens)], "sparse", {"metric_type": "BM25"}, limit=n))
        hits = store.client.hybrid_search(store.sections_name, requests, self.ranker, limit=k, output_fields=["section"])[0]
        return [Hit(Section(**json.loads(h["entity"]["section"])), float(h["distance"])) for h in hits]


def segment_statistics(kb_dir: Path, devset: Path) -> None:
    """Milvus computes BM25 statistics per segment: recall on the dev set when the sample KB is written in
    one go, one document per write, and one per write with a flush after each (every document its own
    sealed segment: the worst case). Vectors come from the FAISS KB in `kb_dir`; queries use the real model."""
    from assistant.evaluate import evaluate_items, load_items
    from assistant.kb import KnowledgeBase
    from assistant.store.milvus import close_clients

    faiss_kb = KnowledgeBase.load(kb_dir)
    settings = Settings(kb_dir=kb_dir)
    faiss_searcher = Searcher.open(settings)
    items = load_items(devset)
    print("| writes | recall@1 | recall@5 |\n|---|---:|---:|")
    overall = evaluate_items(faiss_searcher, items).as_dict()["overall"]
    print(f"| FAISS store | {overall['recall@1']:.3f} | {overall['recall@5']:.3f} |")
    docs = faiss_kb.writes()
    for label, batches, flush in (("one write", [docs], False), ("one per document", [[d] for d in docs], False),
                                  ("one per document, flushed", [[d] for d in docs], True)):
        with tempfile.TemporaryDirectory() as tmp:
            target = Settings(kb_dir=Path(tmp) / "kb", store="milvus")
            store = open_store(target)
            for batch in batches:
                with store.writer_lock():
                    store.write(faiss_kb.meta, batch, [])
                if flush:
                    store.client.flush(store.sections_name)
            searcher = Searcher(store.read(), faiss_searcher.embedder, target)
            overall = evaluate_items(searcher, items).as_dict()["overall"]
            print(f"| Milvus Lite, {label} | {overall['recall@1']:.3f} | {overall['recall@5']:.3f} |", flush=True)
            if len(batches) == 1:
                from pymilvus import RRFRanker, WeightedRanker

                for name, ranker in (("RRF (k=60)", RRFRanker(60)), ("weighted 0.5/0.5", WeightedRanker(0.5, 0.5))):
                    ranked = MilvusRanked(store.read(), faiss_searcher.embedder, target)
                    ranked.ranker = ranker
                    overall = evaluate_items(ranked, items).as_dict()["overall"]
                    print(f"| Milvus Lite, one write, Milvus's hybrid search, {name} | {overall['recall@1']:.3f} | "
                          f"{overall['recall@5']:.3f} |", flush=True)
            close_clients()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="*", default=[1000, 10_000, 100_000])
    parser.add_argument("--milvus-sizes", type=int, nargs="*", default=[1000, 10_000])
    parser.add_argument("--queries", type=int, default=100)
    parser.add_argument("--adds", type=int, default=5)
    parser.add_argument("--segments-of", type=Path, help="a FAISS sample KB: measure Milvus's per-segment BM25 on --devset instead")
    parser.add_argument("--devset", type=Path, default=Path(__file__).resolve().parent.parent / "tests" / "data" / "devset.jsonl")
    args = parser.parse_args()
    if args.segments_of:
        segment_statistics(args.segments_of, args.devset)
        return
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-store-") as tmp:
        for kind, sizes in (("faiss", args.sizes), ("milvus", args.milvus_sizes)):
            for size in sizes:
                rows.append(measure(kind, size, Path(tmp), args.queries, args.adds))
                print(rows[-1], flush=True)
    print(f"\n{platform.processor() or platform.machine()}, {time.strftime('%Y-%m-%d')}; {DIM}-d random vectors, "
          f"{PER_DOC}-section documents, {args.adds} adds, {args.queries} queries\n")
    print("| store | sections | add one document (median / max) | query p50 | query p95 | segments | grow KB |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        print(f"| {r['store']} | {r['sections']:,} | {r['add_median_ms']:.0f} / {r['add_max_ms']:.0f} ms | "
              f"{r['p50_ms']:.1f} ms | {r['p95_ms']:.1f} ms | {r.get('segments', '')} | {r['grow_s']:.0f} s |")


if __name__ == "__main__":
    main()
