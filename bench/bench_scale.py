"""Search latency, memory and recall as the KB grows to 1k, 10k, 100k and 1M sections.

    .venv/bin/python bench/bench_scale.py [--kb index] [--sizes 1000,10000,100000,1000000] [--plot docs/latency_vs_kb_size.png]

Embedding 1M sections is out of reach on 2 cores (about a day at 12 sections/s), so the large KBs
are synthetic, built like this:
- The real sample KB (`make kb`) is always included, with its real vectors, so the dev questions
  keep their gold passages and recall is measured among the distractors.
- Every other section is 4–8 sentences drawn at random (seeded) from all sentences of the sample
  corpus. Each distinct sentence is embedded once with the real model (document prompt); a
  section's vector is the re-normalised mean of its sentences' vectors, and its BM25 tokens are
  the concatenation of its sentences' jieba tokens.
- The query path is the real one: T→S, segmentation, query embedding, FAISS, BM25, fusion.
The KB is a real FAISS-store KB in a temporary folder, written as `bigan index` writes a large one:
writes of at most faiss_store.SEGMENT_MAX sections, each a segment searched exactly (IVF only for a
segment larger than kb.EXACT_MAX); the dense candidates' recall@10 against one exact index over all
vectors is reported at every size.
"""
from __future__ import annotations

import argparse
import gc
import statistics
import tempfile
import time
from pathlib import Path

from common import DEVSET, ROOT, machine_line, percentile

import faiss  # noqa: E402
import numpy as np  # noqa: E402

from assistant.config import Settings  # noqa: E402
from assistant.evaluate import evaluate_items, load_items, question_items  # noqa: E402
from assistant.ingest.sections import Section  # noqa: E402
from assistant.kb import EXACT_MAX, KnowledgeBase  # noqa: E402
from assistant.retrieve import Searcher  # noqa: E402
from assistant.store import DocumentWrite, open_store  # noqa: E402
from assistant.store.faiss_store import SEGMENT_MAX  # noqa: E402
from assistant.text.chinese import split_sentences  # noqa: E402

CHUNK = 50_000


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def sentence_pool(kb: KnowledgeBase, embedder) -> tuple[list[str], np.ndarray, list[list[str]]]:
    sentences = sorted({s.strip() for section in kb.sections for s in split_sentences(section.text_s) if len(s.strip()) >= 6})
    vectors = embedder.encode_documents(sentences)
    return sentences, vectors, [kb.segmenter.tokenize(s) for s in sentences]


def synthetic(n: int, pool: tuple, rng: np.random.Generator) -> tuple[list[Section], np.ndarray, list[list[str]]]:
    sentences, vectors, tokens = pool
    lengths = rng.integers(4, 9, size=n)
    sections, out, corpus_tokens = [], np.zeros((n, vectors.shape[1]), dtype=np.float32), []
    for start in range(0, n, CHUNK):
        stop = min(n, start + CHUNK)
        picks = rng.integers(0, len(sentences), size=(stop - start, 8))
        mask = np.arange(8)[None, :] < lengths[start:stop, None]
        summed = (vectors[picks] * mask[..., None]).sum(axis=1)
        out[start:stop] = summed / np.linalg.norm(summed, axis=1, keepdims=True)
        for row, length in zip(picks, lengths[start:stop]):
            chosen = row[:length]
            text = "".join(sentences[i] for i in chosen)
            sections.append(Section("", "synthetic.txt", "合成段落", [], len(sections), text, "body", text))
            corpus_tokens.append([t for i in chosen for t in tokens[i]])
    return sections, out, corpus_tokens


def _synthetic_docs(sections: list[Section], vectors: np.ndarray, tokens: list[list[str]], per_doc: int = 1000):
    """The synthetic sections as documents of `per_doc` sections (the store writes whole documents)."""
    for start in range(0, len(sections), per_doc):
        doc_id = f"synthetic{start // per_doc:06d}"
        part = sections[start:start + per_doc]
        for s in part:
            s.doc_id, s.source = doc_id, f"{doc_id}.txt"
        entry = {"source": f"/synthetic/{doc_id}.txt", "name": f"{doc_id}.txt", "sha256": doc_id, "size": 1,
                 "title": "合成段落", "added": "", "updated": "", "sections": len(part), "chars": 0, "label": "", "terms": []}
        yield DocumentWrite(doc_id, entry, "", part, vectors[start:start + per_doc], tokens[start:start + per_doc])


def measure(size: int, kb: KnowledgeBase, pool: tuple, searcher_embedder, settings: Settings, items: list[dict], repeat: int) -> dict:
    rng = np.random.default_rng(size)
    extra = max(0, size - len(kb.sections))
    base = rss_mb()
    started = time.perf_counter()
    fake_sections, fake_vectors, fake_tokens = synthetic(extra, pool, rng)
    real_vectors = kb.vectors()
    docs = kb.writes(real_vectors) + list(_synthetic_docs(fake_sections, fake_vectors, fake_tokens))
    folder = tempfile.TemporaryDirectory(prefix="bench-scale-")
    big_settings = settings.model_copy(update={"kb_dir": Path(folder.name)})
    store = open_store(big_settings)
    batch: list[DocumentWrite] = []
    for doc in docs + [None]:
        if doc is None or sum(len(d.sections) for d in batch) + len(doc.sections) > SEGMENT_MAX:
            with store.writer_lock():
                store.write(kb.meta, batch, [])
            batch = []
        if doc is not None:
            batch.append(doc)
    vectors = np.vstack([real_vectors, fake_vectors])
    del fake_vectors, fake_tokens, docs
    build_s = time.perf_counter() - started
    searcher = Searcher.open(big_settings, embedder=searcher_embedder)
    kinds = sorted({type(seg.index).__name__.replace("Index", "") for seg in searcher.kb.segments})
    count = len(searcher.kb.segments)
    index_name = "+".join(kinds) + (f" ×{count}" if count > 1 else "")
    questions = [item["question"] for item in question_items(items)]
    searcher.search(questions[0])
    search_ms = []
    for _ in range(repeat):
        for q in questions:
            t = time.perf_counter()
            searcher.search(q, 5)
            search_ms.append((time.perf_counter() - t) * 1000)
    memory = rss_mb() - base
    quality = evaluate_items(searcher, items).as_dict()["overall"]

    query_vectors = searcher_embedder.encode_queries(questions)
    exact = faiss.IndexFlatIP(vectors.shape[1])
    exact.add(vectors)
    _, truth = exact.search(query_vectors, 10)
    found = [searcher.kb.sections_of(searcher.kb.dense(v, 10)).values() for v in query_vectors]
    texts = [s.text for s in kb.sections] + [s.text for s in fake_sections]
    ann_recall = float(np.mean([len({s.text for s in f} & {texts[i] for i in t}) / 10 for f, t in zip(found, truth)]))
    result = {
        "size": searcher.kb.section_count(), "index": index_name, "build_s": build_s,
        "p50": statistics.median(search_ms), "p95": percentile(search_ms, 0.95), "rss_mb": memory,
        "vectors_mb": vectors.nbytes / 2**20, "ann_recall": ann_recall, **quality,
    }
    del searcher, vectors, exact, store
    folder.cleanup()
    gc.collect()
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--kb", default=str(ROOT / "index"))
    parser.add_argument("--devset", default=str(DEVSET))
    parser.add_argument("--sizes", default="1000,10000,100000,1000000")
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--plot", default=str(ROOT / "docs" / "latency_vs_kb_size.png"))
    args = parser.parse_args()

    settings = Settings(kb_dir=Path(args.kb))
    base = Searcher.open(settings)
    items = load_items(Path(args.devset))
    started = time.perf_counter()
    pool = sentence_pool(base.kb, base.embedder)
    print(machine_line())
    print(
        f"embedding: {settings.embedding_model} ({base.embedder.backend}); sentence pool: {len(pool[0])} sentences "
        f"embedded in {time.perf_counter() - started:.0f} s; exact search up to {EXACT_MAX} sections\n"
    )
    print("| sections | FAISS index (per segment) | build s (synthetic) | search p50 ms | search p95 ms | added RSS MB | vectors MB | ANN recall@10 vs exact | dev R@1 | dev R@5 | dev MRR@10 |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    rows = []
    for size in (int(s) for s in args.sizes.split(",")):
        r = measure(size, base.kb, pool, base.embedder, settings, items, args.repeat)
        rows.append(r)
        print(
            f"| {r['size']:,} | {r['index']} | {r['build_s']:.1f} | {r['p50']:.1f} | {r['p95']:.1f} | {r['rss_mb']:.0f} | "
            f"{r['vectors_mb']:.0f} | {r['ann_recall']:.3f} | {r['recall@1']:.3f} | {r['recall@5']:.3f} | {r['mrr@10']:.3f} |",
            flush=True,
        )
    if args.plot:
        plot(rows, Path(args.plot))
        print(f"\nplot: {args.plot}")


def plot(rows: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sizes = [r["size"] for r in rows]
    fig, ax = plt.subplots(figsize=(7, 3.8))
    ax.plot(sizes, [r["p50"] for r in rows], "o-", label="search p50")
    ax.plot(sizes, [r["p95"] for r in rows], "s--", label="search p95")
    for r in rows:
        ax.annotate(r["index"], (r["size"], r["p95"]), textcoords="offset points", xytext=(0, 6), fontsize=8, ha="center")
    ax.set_xscale("log")
    ax.set_xlabel("sections in the KB")
    ax.set_ylabel("ms per query (full path)")
    ax.set_title("Search latency vs KB size (2-core CPU)")
    ax.legend()
    ax.grid(True, alpha=0.3)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)


if __name__ == "__main__":
    main()
