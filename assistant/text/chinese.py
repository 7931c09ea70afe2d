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


_NUMERALS = {c: i for i, c in enumerate("一二三四五六七八九十", start=1)}
_CN = "[一二三四五六七八九十]{1,3}"
# How 公文 number the items of a list, at the start of a sentence or line: 一是/一要/一、, 第一，,
# （一）, 1. / 1、, （1）, 首先/其次. The kind keeps separate lists (parts and their 一是 items) apart.
_ITEM_RE = re.compile(
    rf"^[\s“\"]*(?:(?P<is>{_CN})(?P<verb>是|要)|(?P<part>{_CN})、|第(?P<nth>{_CN})[，,、是条]"
    rf"|[（(](?P<paren>{_CN})[）)]|(?P<num>\d{{1,2}})[.．、](?!\d)|[（(](?P<pnum>\d{{1,2}})[）)]|(?P<seq>首先|其次|再次|最后))"
)
_SEQUENCE = {"首先": 1, "其次": 2, "再次": 3}


def chinese_numeral(text: str) -> int | None:
    """一 … 九十九 as a number; None when the text is not such a numeral."""
    if text.isdigit():
        return int(text)
    if not text or any(c not in _NUMERALS for c in text):
        return None
    if "十" not in text:
        return _NUMERALS[text] if len(text) == 1 else None
    tens, _, ones = text.partition("十")
    return (_NUMERALS.get(tens, 0) if tens else 1) * 10 + (_NUMERALS.get(ones, 0) if ones else 0)


def item_marker(sentence: str) -> tuple[str, int] | None:
    """The list a sentence opens an item of, and the item's number: ("是", 2) for 二是…, ("、", 3) for 三、…."""
    m = _ITEM_RE.match(to_simplified(sentence))
    if not m:
        return None
    for group in ("is", "part", "nth", "paren", "num", "pnum"):
        if m.group(group):
            n = chinese_numeral(m.group(group))
            kind = m.group("verb") if group == "is" else group
            return (kind, n) if n else None
    seq = m.group("seq")
    return ("seq", _SEQUENCE.get(seq, 0)) if seq else None


_FUNCTION_CHARS = set("的了和与及是在对把被为之等也就都而并，。、；：！？“”《》（）")


def content_bigrams(text: str) -> set[str]:
    """Character bigrams of the text's match key, leaving out those that touch a function word or punctuation."""
    key = match_key(text)
    return {key[i : i + 2] for i in range(len(key) - 1) if not (_FUNCTION_CHARS & set(key[i : i + 2]))}
