"""Hybrid search: dense (inner product) and BM25 (segmented Simplified text) candidates from the store, fused
here by a weighted sum, lifted where the question names a document or points at a part (signals.py).

The fusion is Bigan's own for every store: Milvus's rankers (RRF, weighted) see only ranks or raw scores,
and its BM25 statistics are per segment (docs/benchmarks.md)."""
from __future__ import annotations

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
from .signals import DocumentNames, opens_part, part_markers
from .store import Store, StoreReader, check_meta, open_store
from .text.chinese import to_simplified


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


class Searcher:
    """A read view of the KB (any store) plus the embedding model that built it."""

    def __init__(self, kb: StoreReader, embedder: Embedder, settings: Settings):
        self.kb = kb
        self.embedder = embedder
        self.settings = settings
        self.names = DocumentNames(kb.documents, kb.segmenter.tokenize)

    @classmethod
    def open(
        cls, settings: Settings, root: Path | None = None, embedder: Embedder | None = None, store: Store | None = None
    ) -> "Searcher":
        """The KB at `root` (default kb_dir) in the configured store; `embedder` instead of the configured model."""
        return cls.over((store or open_store(settings, root)).read(), settings, embedder)

    @classmethod
    def over(cls, kb: StoreReader, settings: Settings, embedder: Embedder | None = None) -> "Searcher":
        """A searcher over a view already read, once its KB is known to come from this model."""
        if embedder is not None:
            model, fingerprint = embedder.fingerprint, embedder.fingerprint
        else:
            model, fingerprint = settings.embedding_model, resolve_model(settings)[1]
        check_meta(kb.meta, model, fingerprint, str(settings.kb_dir))
        return cls(kb, embedder or get_embedder(settings), settings)

    def search(self, query: str, k: int = 5) -> list[Hit]:
        return self.search_many([query], k)[0]

    def search_many(self, queries: list[str], k: int = 5) -> list[list[Hit]]:
        simplified = [to_simplified(q).strip() for q in queries]
        if any(not q for q in simplified):
            raise BiganError("the query is empty")
        if k < 1:
            raise BiganError("k must be at least 1")
        count = self.kb.section_count()
        if not count:
            return [[] for _ in queries]
        # A question that names a document is searched within it by the rest of its words: the name
        # already chose the document, and in the passages it only matches the report's opening lines.
        named = [self.names.scores(q) for q in simplified]
        asked = [self.names.strip(q, n) for q, n in zip(simplified, named)]
        vectors = truncate(self.embedder.encode_queries(asked), self.kb.dimension)
        n = min(self.settings.candidates, count)
        return [self._fuse(q, a, nm, v, k, n) for q, a, nm, v in zip(simplified, asked, named, vectors)]

    def _fuse(self, query: str, asked: str, named: dict[str, float], vector: np.ndarray, k: int, n: int) -> list[Hit]:
        """Convex combination of min-max normalised cosine and max-normalised BM25 over both candidate lists.

        Rank fusion (RRF) was measured too and lost: it discards how far ahead a strong BM25 match is
        (docs/benchmarks.md).
        """
        dense = self.kb.dense(vector, n)
        tokens = self.kb.segmenter.tokenize(asked)
        lexical = self.kb.lexical(tokens, n) if tokens else {}
        dense.update(self.kb.similarity(lexical.keys() - dense.keys(), vector))
        if not dense:
            return []
        sections = self.kb.sections_of(dense.keys())
        low, high = min(dense.values()), max(dense.values())
        top_bm25 = max(lexical.values(), default=0.0)
        alpha = self.settings.dense_weight
        lift = self.settings.doc_weight
        markers = part_markers(query)
        dense_rank = {i: r for r, i in enumerate(sorted(dense, key=lambda i: -dense[i]), start=1)}
        bm25_rank = {i: r for r, i in enumerate(sorted(lexical, key=lambda i: -lexical[i]), start=1)}
        hits = []
        for i, cosine in dense.items():
            d = (cosine - low) / (high - low) if high > low else 1.0
            b = lexical.get(i, 0.0) / top_bm25 if top_bm25 else 0.0
            section = sections[i]
            structure = named.get(section.doc_id, 0.0) + (1.0 if opens_part(section, markers) else 0.0)
            score = alpha * d + (1 - alpha) * b + lift * structure
            hits.append(Hit(section, score, dense_rank[i], bm25_rank.get(i)))
        return sorted(hits, key=lambda h: -h.score)[:k]


class HybridRetriever(BaseRetriever):
    """The same search as a LangChain retriever, for chains and agents."""

    model_config = ConfigDict(arbitrary_types_allowed=True)
    searcher: Searcher
    k: int = 5

    def _get_relevant_documents(
        self, query: str, *, run_manager: CallbackManagerForRetrieverRun, k: int | None = None
    ) -> list[Document]:
        """`k` given to invoke() overrides the retriever's own, as LangChain's retrievers do."""
        return [hit.to_document() for hit in self.searcher.search(query, k or self.k)]
