"""Traditional/Simplified conversion and sentence splitting.

Hand-written because no library splits Chinese at 。！？； while keeping closing quotes and
brackets with their sentence, and OpenCC needs a thin cached wrapper.
"""
from __future__ import annotations

import re
from functools import lru_cache

import opencc

_SENTENCE_END = "。！？；!?;"
_CLOSERS = "”’」』）)】》\"'"
_SENTENCE_RE = re.compile(rf"[^{_SENTENCE_END}\n]*(?:[{_SENTENCE_END}]+[{_CLOSERS}]*|\n|$)")
_WHITESPACE_RE = re.compile(r"\s+")


@lru_cache(maxsize=1)
def _t2s() -> opencc.OpenCC:
    return opencc.OpenCC("t2s")


@lru_cache(maxsize=1)
def _s2t() -> opencc.OpenCC:
    return opencc.OpenCC("s2t")


def to_simplified(text: str) -> str:
    return _t2s().convert(text)


def to_traditional(text: str) -> str:
    return _s2t().convert(text)


def is_traditional(text: str) -> bool:
    """True when converting to Simplified changes a noticeable share of the characters."""
    sample = text[:4000]
    han = sum(1 for ch in sample if "\u4e00" <= ch <= "\u9fff")
    if not han:
        return False
    changed = sum(1 for a, b in zip(sample, to_simplified(sample)) if a != b)
    return changed / han > 0.05


def match_key(text: str) -> str:
    """The form two texts are compared in: Simplified, without any whitespace."""
    return _WHITESPACE_RE.sub("", to_simplified(text))


def split_sentences(text: str) -> list[str]:
    """Split at sentence ends (。！？；), keeping each end mark and closing quote with its sentence."""
    return [s for s in _SENTENCE_RE.findall(text) if s.strip()]
