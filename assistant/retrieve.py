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
from .text.chinese import match_key, to_simplified
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


# A question covering this share of a document's name names it (measured on the real-documents dev set).
_NAMED = 0.5
_YEAR_RE = re.compile(r"(?<!\d)(?:19|20)\d{2}(?!\d)")


class DocumentNames:
    """Which documents a question names: by the words of their title or file name, and their year.

    Several documents often say nearly the same thing (two years' plans, one report per year); only
    the name tells them apart. A document is named as far as the question covers its name, each word
    weighted by its rarity among the names: "报告" in a pile of reports names none of them, while
    "海拉尔区2014年政府工作报告" names one. A passing word of a long title names nothing.
    """

    def __init__(self, documents: dict[str, dict]):
        self.tokens = {d: set(tokenize(to_simplified(_name_text(e)))) for d, e in documents.items()}
        df: dict[str, int] = {}
        for tokens in self.tokens.values():
            for t in tokens:
                df[t] = df.get(t, 0) + 1
        self.idf = {t: math.log(len(documents) / c) for t, c in df.items()}

    def strip(self, query: str, scores: dict[str, float]) -> str:
        """The question less the words of the document it names (itself when it names none)."""
        top = max(scores, key=scores.get, default=None)
        if top is None or scores[top] < _NAMED:
            return query
        words = sorted((t for t in self.tokens[top] if len(t) >= 2), key=len, reverse=True)
        rest = re.sub("|".join(map(re.escape, words)), " ", query).strip() if words else query
        return rest if tokenize(rest) else query

    def scores(self, query: str) -> dict[str, float]:
        """doc id → how far the question names it, 0..1: the share of its name covered, times how
        specific the covered words are against the best-named document."""
        words = set(tokenize(query))
        matched = {d: sum(self.idf[t] for t in words & tokens) for d, tokens in self.tokens.items()}
        best = max(matched.values(), default=0.0)
        if best <= 0:
            return dict.fromkeys(self.tokens, 0.0)
        # Covering a short, common name ("工作报告") says less than covering a long, specific one.
        totals = {d: sum(self.idf[t] for t in tokens) for d, tokens in self.tokens.items()}
        return {d: matched[d] / best * matched[d] / totals[d] if totals[d] > 0 else 0.0 for d in self.tokens}


_CN_DIGITS = "零一二三四五六七八九"
_PART_RE = re.compile(r"第([一二三四五六七八九十]{1,3}|\d{1,2})个?(部分|章|节|条|项|点|方面)")


def _chinese_number(number: str) -> str:
    """'12' -> '十二': headings number their parts in Chinese."""
    if not number.isdigit():
        return number
    n = int(number)
    tens, ones = divmod(n, 10)
    return ((_CN_DIGITS[tens] if tens > 1 else "") + "十" if tens else "") + (_CN_DIGITS[ones] if ones or not tens else "")


def part_markers(query: str) -> tuple[str, ...]:
    """How the headings a question points at begin: "第二部分" -> "二、", "第三条" -> "第三条", "第一项" -> "一、"/"（一）"/"1."."""
    markers: list[str] = []
    for number, unit in _PART_RE.findall(query):
        cn = _chinese_number(number)
        digit = number if number.isdigit() else str(_CN_DIGITS.index(cn)) if cn in _CN_DIGITS else cn
        markers += {
            "部分": [f"{cn}、", f"第{cn}部分"],
            "章": [f"第{cn}章"], "节": [f"第{cn}节"], "条": [f"第{cn}条"],
        }.get(unit, [f"{cn}、", f"（{cn}）", f"({cn})", f"{digit}.", f"{digit}．", f"{cn}是", f"{cn}要"])
    return tuple(markers)


def opens_part(section: Section, markers: tuple[str, ...]) -> bool:
    """The section holds the heading line of a part the question points at (not only text under it)."""
    text = match_key(section.text)
    return any(match_key(h).startswith(markers) and match_key(h) in text for h in section.heading_path) if markers else False


def _name_text(entry: dict) -> str:
    """Title, file name and the years of its front matter (a report's "——2014年2月19日在…")."""
    return " ".join([entry.get("title", ""), Path(entry["name"]).stem, *_YEAR_RE.findall(entry.get("label", ""))])


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
        # A question that names a document is searched within it by the rest of its words: the name
        # already chose the document, and in the passages it only matches the report's opening lines.
        named = [self.names.scores(q) for q in simplified]
        asked = [self.names.strip(q, n) for q, n in zip(simplified, named)]
        vectors = truncate(self.embedder.encode_queries(asked), self.kb.index.d)
        return [self._fuse(q, a, n, v, k) for q, a, n, v in zip(simplified, asked, named, vectors)]

    def _fuse(self, query: str, asked: str, named: dict[str, float], vector: np.ndarray, k: int) -> list[Hit]:
        """Convex combination of min-max normalised cosine and max-normalised BM25 over both candidate lists.

        Rank fusion (RRF) was measured too and lost: it discards how far ahead a strong BM25 match is
        (docs/benchmarks.md).
        """
        n = min(self.settings.candidates, len(self.kb.sections))
        scores, ids = self.kb.index.search(vector.reshape(1, -1), n)
        dense = {int(i): float(sc) for i, sc in zip(ids[0], scores[0]) if i >= 0}
        lexical: dict[int, float] = {}
        tokens = tokenize(asked)
        if tokens and self.kb.bm25 is not None:
            docs, bm_scores = self.kb.bm25.retrieve([tokens], k=n, show_progress=False)
            lexical = {int(d): float(sc) for d, sc in zip(docs[0], bm_scores[0]) if sc > 0}
        for i in lexical.keys() - dense.keys():
            dense[i] = float(self.kb.index.reconstruct(i) @ vector)
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
            section = self.kb.sections[i]
            structure = named.get(section.doc_id, 0.0) + (1.0 if opens_part(section, markers) else 0.0)
            score = alpha * d + (1 - alpha) * b + lift * structure
            hits.append(Hit(section, score, dense_rank[i], bm25_rank.get(i)))
        return sorted(hits, key=lambda h: -h.score)[:k]


class HybridRetriever(BaseRetriever):
    """The same search as a LangChain retriever, for chains and agents."""

    model_config = ConfigDict(arbitrary_types_allowed=True)
    searcher: Searcher
    k: int = 5

    def _get_relevant_documents(self, query: str, *, run_manager: CallbackManagerForRetrieverRun) -> list[Document]:
        return [hit.to_document() for hit in self.searcher.search(query, self.k)]
