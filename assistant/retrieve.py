"""Hybrid search: dense (FAISS inner product) and BM25 (segmented Simplified text), fused by weighted RRF."""
from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from pydantic import ConfigDict

from .components.embedding import Embedder, get_embedder, resolve_model, truncate
from .config import Settings
from .errors import BiganError
from .ingest.sections import Section
from .kb import KnowledgeBase
from .text.chinese import to_simplified
from .text.segment import tokenize


@dataclass
class Hit:
    section: Section
    score: float
    dense_rank: int | None = None
    bm25_rank: int | None = None

    def to_dict(self) -> dict:
        s = self.section
        return {
            "text": s.text,
            "source": s.source,
            "title": s.title,
            "heading": s.heading,
            "score": round(self.score, 6),
            "doc_id": s.doc_id,
            "position": s.position,
            "kind": s.kind,
            "dense_rank": self.dense_rank,
            "bm25_rank": self.bm25_rank,
        }

    def to_document(self) -> Document:
        data = self.to_dict()
        return Document(page_content=data.pop("text"), metadata=data)


_YEAR_RE = re.compile(r"(?<!\d)(?:19|20)\d{2}(?!\d)")


class DocumentNames:
    """Which documents a question names: by words of their title or file name, or by a year.

    Several documents often say nearly the same thing (two years' plans, one report per year); only
    the name tells them apart. Words found in every document's name (e.g. 报告 in a pile of reports)
    name none of them, so each word counts by its rarity among the names.
    """

    def __init__(self, documents: dict[str, dict]):
        self.tokens = {d: set(tokenize(to_simplified(_name_text(e)))) for d, e in documents.items()}
        self.years = {d: set(_YEAR_RE.findall(_name_text(e))) for d, e in documents.items()}
        df: dict[str, int] = {}
        for tokens in self.tokens.values():
            for t in tokens:
                df[t] = df.get(t, 0) + 1
        n = len(documents)
        self.idf = {t: math.log(n / c) for t, c in df.items()}

    def scores(self, query: str) -> dict[str, float]:
        """doc id → how strongly the question names it, 0..1."""
        words = {t for t in tokenize(query) if len(t) >= 2}
        years = set(_YEAR_RE.findall(query))
        named = {d: sum(self.idf[t] for t in words & tokens) for d, tokens in self.tokens.items()}
        top = max(named.values(), default=0.0)
        return {
            d: ((named[d] / top if top > 0 else 0.0) + (1.0 if years & self.years[d] else 0.0)) / (2 if years else 1)
            for d in self.tokens
        }


def _name_text(entry: dict) -> str:
    return " ".join((entry.get("title", ""), Path(entry["name"]).stem, entry.get("label", "")))


class Searcher:
    """A loaded KB plus the embedding model that built it."""

    def __init__(self, kb: KnowledgeBase, embedder: Embedder, settings: Settings):
        self.kb = kb
        self.embedder = embedder
        self.settings = settings
        self.names = DocumentNames(kb.documents)

    @classmethod
    def open(cls, settings: Settings, root: Path | None = None) -> "Searcher":
        kb = KnowledgeBase.load(root or settings.kb_dir)
        _, fingerprint = resolve_model(settings)
        built_with = kb.manifest["embedding"]
        if built_with["fingerprint"] != fingerprint:
            raise BiganError(
                f"the knowledge base was built with embedding model '{built_with['model']}' but "
                f"'{settings.embedding_model}' is configured; run `bigan index` to rebuild it"
            )
        return cls(kb, get_embedder(settings), settings)

    def search(self, query: str, k: int = 5) -> list[Hit]:
        return self.search_many([query], k)[0]

    def search_many(self, queries: list[str], k: int = 5) -> list[list[Hit]]:
        simplified = [to_simplified(q).strip() for q in queries]
        if any(not q for q in simplified):
            raise BiganError("the query is empty")
        if k < 1:
            raise BiganError("k must be at least 1")
        if not self.kb.sections:
            return [[] for _ in queries]
        vectors = truncate(self.embedder.encode_queries(simplified), self.kb.index.d)
        return [self._fuse(q, v, k) for q, v in zip(simplified, vectors)]

    def _fuse(self, query: str, vector: np.ndarray, k: int) -> list[Hit]:
        """Convex combination of min-max normalised cosine and max-normalised BM25 over both candidate lists.

        Rank fusion (RRF) was measured too and lost: it discards how far ahead a strong BM25 match is
        (docs/benchmarks.md).
        """
        n = min(self.settings.candidates, len(self.kb.sections))
        scores, ids = self.kb.index.search(vector.reshape(1, -1), n)
        dense = {int(i): float(sc) for i, sc in zip(ids[0], scores[0]) if i >= 0}
        lexical: dict[int, float] = {}
        tokens = tokenize(query)
        if tokens and self.kb.bm25 is not None:
            docs, bm_scores = self.kb.bm25.retrieve([tokens], k=n, show_progress=False)
            lexical = {int(d): float(sc) for d, sc in zip(docs[0], bm_scores[0]) if sc > 0}
        for i in lexical.keys() - dense.keys():
            dense[i] = float(self.kb.index.reconstruct(i) @ vector)
        low, high = min(dense.values()), max(dense.values())
        top_bm25 = max(lexical.values(), default=0.0)
        alpha = self.settings.dense_weight
        named = self.names.scores(query)
        lift = self.settings.doc_weight
        dense_rank = {i: r for r, i in enumerate(sorted(dense, key=lambda i: -dense[i]), start=1)}
        bm25_rank = {i: r for r, i in enumerate(sorted(lexical, key=lambda i: -lexical[i]), start=1)}
        hits = []
        for i, cosine in dense.items():
            d = (cosine - low) / (high - low) if high > low else 1.0
            b = lexical.get(i, 0.0) / top_bm25 if top_bm25 else 0.0
            section = self.kb.sections[i]
            score = alpha * d + (1 - alpha) * b + lift * named.get(section.doc_id, 0.0)
            hits.append(Hit(section, score, dense_rank[i], bm25_rank.get(i)))
        return sorted(hits, key=lambda h: -h.score)[:k]


class HybridRetriever(BaseRetriever):
    """The same search as a LangChain retriever, for chains and agents."""

    model_config = ConfigDict(arbitrary_types_allowed=True)
    searcher: Searcher
    k: int = 5

    def _get_relevant_documents(self, query: str, *, run_manager: CallbackManagerForRetrieverRun) -> list[Document]:
        return [hit.to_document() for hit in self.searcher.search(query, self.k)]
