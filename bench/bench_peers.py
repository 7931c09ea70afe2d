"""Bigan against two common LangChain pipelines, same embedding model, same dev set, one run.

    .venv/bin/python bench/bench_peers.py [--corpus corpus] [--devset tests/data/devset.jsonl] [--plot docs/recall_per_pipeline.png]

- LangChain tutorial: raw files (TextLoader), RecursiveCharacterTextSplitter 500/50, dense FAISS only.
- Langchain-Chatchat style: raw files, Chatchat's Chinese recursive separators (paragraph, line,
  。！？, ；, ，) as regexes at 250/50, BM25 over jieba search-mode tokens + dense FAISS, combined by
  LangChain's EnsembleRetriever with equal weights (Chatchat's "ensemble" search).
- Bigan: cleaning, 公文 sections, T/S handling, convex BM25 + dense fusion (a fresh KB).

All three embed with Bigan's embedder (the default model and backend, the model's own query and
document prompts). Peers have no conversation handling, so each turn of a conversation item is
asked on its own; Bigan answers conversations as `bigan eval` does.
"""
from __future__ import annotations

import argparse
import tempfile
import time
import warnings
from pathlib import Path
from types import SimpleNamespace

from common import DEVSET, ROOT, machine_line

import jieba  # noqa: E402
from langchain_community.document_loaders import TextLoader  # noqa: E402
from langchain_community.retrievers import BM25Retriever  # noqa: E402
from langchain_community.vectorstores import FAISS  # noqa: E402
from langchain_text_splitters import RecursiveCharacterTextSplitter  # noqa: E402

from assistant.components.embedding import get_embedder  # noqa: E402
from assistant.config import Settings  # noqa: E402
from assistant.evaluate import evaluate, evaluate_items, load_items, question_items  # noqa: E402
from assistant.kb import build  # noqa: E402
from assistant.retrieve import Searcher  # noqa: E402

warnings.filterwarnings("ignore", category=DeprecationWarning)
CHATCHAT_SEPARATORS = ["\n\n", "\n", "。|！|？", r"\.\s|\!\s|\?\s", "；|;\s", "，|,\s"]
DEPTH = 10


def raw_documents(corpus: Path):
    return [doc for path in sorted(corpus.glob("*.txt")) for doc in TextLoader(str(path), autodetect_encoding=True).load()]


def tutorial(corpus: Path, embedder):
    splitter = RecursiveCharacterTextSplitter(chunk_size=500, chunk_overlap=50)
    chunks = splitter.split_documents(raw_documents(corpus))
    store = FAISS.from_documents(chunks, embedder)
    return len(chunks), lambda q: store.similarity_search(q, k=DEPTH)


def chatchat(corpus: Path, embedder):
    splitter = RecursiveCharacterTextSplitter(
        chunk_size=250, chunk_overlap=50, separators=CHATCHAT_SEPARATORS, is_separator_regex=True, keep_separator=True
    )
    chunks = splitter.split_documents(raw_documents(corpus))
    from langchain_classic.retrievers import EnsembleRetriever

    bm25 = BM25Retriever.from_documents(chunks, preprocess_func=jieba.lcut_for_search, k=DEPTH)
    dense = FAISS.from_documents(chunks, embedder).as_retriever(search_kwargs={"k": DEPTH})
    ensemble = EnsembleRetriever(retrievers=[bm25, dense], weights=[0.5, 0.5])
    return len(chunks), lambda q: ensemble.invoke(q)[:DEPTH]


def as_hits(docs) -> list:
    return [SimpleNamespace(section=SimpleNamespace(text=d.page_content, source=d.metadata.get("source", ""), heading="")) for d in docs]


def flattened(items: list[dict]) -> list[dict]:
    """Conversation turns as standalone questions, for pipelines without conversation handling."""
    out = question_items(items)
    for item in items:
        for turn in item.get("turns", []):
            out.append({"question": turn["user"], "gold": turn["gold"], "kind": item.get("kind", "conversation")})
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--corpus", default=str(ROOT / "corpus"))
    parser.add_argument("--devset", default=str(DEVSET))
    parser.add_argument("--plot", default=str(ROOT / "docs" / "recall_per_pipeline.png"))
    args = parser.parse_args()
    corpus = Path(args.corpus)
    items = load_items(Path(args.devset))

    rows = {}
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(kb_dir=Path(tmp))
        embedder = get_embedder(settings)
        started = time.perf_counter()
        report = build(settings.kb_dir, settings, add=[corpus])
        bigan_report = evaluate_items(Searcher.open(settings), items)
        rows["Bigan"] = (report.sections, time.perf_counter() - started, bigan_report.as_dict())
        for name, make in (("LangChain tutorial", tutorial), ("Chatchat-style", chatchat)):
            started = time.perf_counter()
            chunks, search = make(corpus, embedder)
            peer = evaluate(lambda qs, k: [as_hits(search(q)) for q in qs], flattened(items))
            rows[name] = (chunks, time.perf_counter() - started, peer.as_dict())

    print(machine_line())
    print(f"embedding: {settings.embedding_model} ({embedder.backend}); dev set: {len(flattened(items))} questions\n")
    print("| pipeline | chunks | build + eval s | R@1 | R@5 | MRR@10 | Bigan R@1 ratio | Bigan MRR ratio |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    ours = rows["Bigan"][2]["overall"]
    for name, (chunks, seconds, report) in rows.items():
        o = report["overall"]
        ratio_1 = ours["recall@1"] / o["recall@1"] if o["recall@1"] else float("inf")
        ratio_mrr = ours["mrr@10"] / o["mrr@10"] if o["mrr@10"] else float("inf")
        print(f"| {name} | {chunks} | {seconds:.1f} | {o['recall@1']:.3f} | {o['recall@5']:.3f} | {o['mrr@10']:.3f} | {ratio_1:.2f}× | {ratio_mrr:.2f}× |")
    kinds = sorted(rows["Bigan"][2]["by_kind"])
    print("\nrecall@1 by kind:\n")
    print("| pipeline | " + " | ".join(kinds) + " |")
    print("| --- " * (len(kinds) + 1) + "|")
    for name, (_, _, report) in rows.items():
        print(f"| {name} | " + " | ".join(f"{report['by_kind'].get(k, {}).get('recall@1', 0):.3f}" for k in kinds) + " |")
    if args.plot:
        plot(rows, Path(args.plot))
        print(f"\nplot: {args.plot}")


def plot(rows: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    metrics = ["recall@1", "recall@5", "mrr@10"]
    fig, ax = plt.subplots(figsize=(7, 3.8))
    width = 0.8 / len(rows)
    for n, (name, (_, _, report)) in enumerate(rows.items()):
        values = [report["overall"][m] for m in metrics]
        bars = ax.bar([i + n * width for i in range(len(metrics))], values, width, label=name)
        ax.bar_label(bars, fmt="%.2f", fontsize=8)
    ax.set_xticks([i + width * (len(rows) - 1) / 2 for i in range(len(metrics))], metrics)
    ax.set_ylim(0, 1.1)
    ax.set_title("Dev-set retrieval, same embedding model")
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)


if __name__ == "__main__":
    main()
