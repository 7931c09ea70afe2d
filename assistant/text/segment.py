"""Word segmentation for BM25 (jieba), with the knowledge base's own coined terms added.

Official writing coins terms (“一强三创”, “三会一课”, “两个维护”) that jieba splits apart; they are
learned from the quoted phrases of the corpus itself rather than from a fixed list.
"""
from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from functools import lru_cache

import jieba

jieba.setLogLevel(logging.WARNING)

_QUOTED_RE = re.compile(r"[“\"「『]([\u4e00-\u9fff0-9一-龥]{2,10})[”\"」』]")
_TOKEN_RE = re.compile(r"[\u4e00-\u9fffA-Za-z0-9%]")
_added: set[str] = set()


def coined_terms(texts: Iterable[str]) -> set[str]:
    """Short quoted phrases: in this genre they are slogans and named programmes."""
    return {m.group(1) for text in texts for m in _QUOTED_RE.finditer(text)}


def add_terms(terms: Iterable[str]) -> None:
    new = [t for t in terms if t not in _added]
    if not new:
        return
    _tokenizer()
    for term in new:
        jieba.add_word(term, freq=2000)
        _added.add(term)


@lru_cache(maxsize=1)
def _tokenizer() -> jieba.Tokenizer:
    jieba.initialize()
    return jieba.dt


def tokenize(text: str) -> list[str]:
    """Search-mode segmentation of Simplified text, with punctuation and spaces dropped."""
    _tokenizer()
    return [w.lower() for w in jieba.cut_for_search(text) if _TOKEN_RE.search(w)]
