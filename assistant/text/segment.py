"""Word segmentation for BM25 (jieba), with a knowledge base's own coined terms added.

Official writing coins terms (“一强三创”, “三会一课”, “两个维护”) that jieba splits apart; they are
learned from the quoted phrases of the corpus itself rather than from a fixed list. Each knowledge
base segments with its own `jieba.Tokenizer` holding its own terms: jieba's global dictionary would
let one KB's (or one demo session's) terms change another's BM25, and keep deleted documents' terms.
"""
from __future__ import annotations

import logging
import re
import threading
from collections.abc import Iterable
from functools import lru_cache

import jieba
import jieba.posseg

from .chinese import GENRE_SYNONYMS

jieba.setLogLevel(logging.WARNING)

_QUOTED_RE = re.compile(r"[“\"「『]([\u4e00-\u9fff0-9一-龥]{2,10})[”\"」』]")
_TOKEN_RE = re.compile(r"[\u4e00-\u9fffA-Za-z0-9%]")
_TERM_FREQ = 2000
# jieba tags a place or body by its full name, but also 东西 or 长跑 as places: only a name that ends as
# an administrative unit or an institution does is taken for one.
_NAME_TAGS = ("ns", "nt")
PLACE_UNITS = "省市县区州盟旗"  # what a place's name ends in: 宜春市, 海拉尔区
NAME_END = rf"(?:[{PLACE_UNITS}]|大学|学院)"
_NAME_END_RE = re.compile(NAME_END + "$")
# What names a thing or an activity: a noun, a set phrase ("生产总值", "评分标准", "引体向上").
_TERM_TAGS = frozenset({"n", "vn", "l", "i"})
_NEGATION_RE = re.compile("[不没未无非]")
_ACRONYM_RE = re.compile(r"[a-z]{2,}[a-z\d&]*")  # "GDP" as match_key lower-cases it
# Words this frequent in jieba's general-language dictionary, when they name no thing (希望, 开始, 整个, 彻底),
# frame a question rather than say what it is about; a frequent noun (医院, 工资) still names its topic.
_EVERYDAY_FREQ = 4000
_NOUN_TAG_RE = re.compile("^(?:n|vn|l|i|j)")
# Characters that do grammar's work (an auxiliary, a demonstrative, a particle, 里 after a place): a "word"
# holding one that jieba's dictionary lacks, or lists only at its floor (改要, 没给: entries of 3), is two
# characters glued across a boundary, not a name or a term.
_FUNCTION_CHARS_RE = re.compile("[要给那这些把被让将着了过也都就还又再才么呢吗吧里]")
# A negation or a degree word opening a "word" jieba's dictionary lacks says how things stand for the asker
# ("没领", "很差"), not what the documents must name.
_SPEECH_OPENING_RE = re.compile("^[没不未很太挺]")
# The asker's own person and family ("我妈", "我能", "老父亲") and the authorities of a level named by where they
# sit ("区里", "省里"): the documents speak of neither in these words.
_ASKER_RE = re.compile("^[我你您咱]")
_KIN_RE = re.compile("^(?:老?(?:父亲|母亲|爸爸?|妈妈?)|老父|老母|老伴|老公|老婆|太太|爱人|媳妇|丈夫|妻子|儿子|女儿|孙子|孙女|爷爷|奶奶|外公|外婆|姥姥|姥爷)$")
_LEVEL_RE = re.compile(f"^[{PLACE_UNITS}乡镇村]里$")
_RARE_FREQ = 3
_lock = threading.RLock()


def coined_terms(texts: Iterable[str]) -> set[str]:
    """Short quoted phrases: in this genre they are slogans and named programmes."""
    return {m.group(1) for text in texts for m in _QUOTED_RE.finditer(text)}


@lru_cache(maxsize=1)
def _base() -> jieba.Tokenizer:
    """jieba's dictionary, loaded once; every segmenter starts from a copy of it."""
    tokenizer = jieba.Tokenizer()
    tokenizer.initialize()
    return tokenizer


class Segmenter:
    """One jieba.Tokenizer with its own user terms (the main dictionary is copied, not shared)."""

    def __init__(self, terms: Iterable[str] = ()) -> None:
        base = _base()
        self._tokenizer = jieba.Tokenizer()
        with _lock:
            self._tokenizer.FREQ = dict(base.FREQ)
            self._tokenizer.total = base.total
            self._tokenizer.initialized = True
        self.terms: set[str] = set()
        self.add_terms(terms)

    def add_terms(self, terms: Iterable[str]) -> None:
        for term in terms:
            if term not in self.terms:
                self._tokenizer.add_word(term, freq=_TERM_FREQ)
                self.terms.add(term)

    def tokenize(self, text: str) -> list[str]:
        """Search-mode segmentation of Simplified text, with punctuation and spaces dropped."""
        return [w.lower() for w in self._tokenizer.cut_for_search(text) if _TOKEN_RE.search(w)]


@lru_cache(maxsize=1)
def _tagger() -> jieba.posseg.POSTokenizer:
    return jieba.posseg.POSTokenizer(_base())


def is_term(word: str) -> bool:
    """Whether the word names a measure or a thing: a Latin acronym ("GDP", "CPI"), or a word of three characters
    or more that jieba's dictionary holds as the name of a thing (not a count like "第三种", a name, or a phrase
    with a negation like "不能自己", which says what one does)."""
    if _ACRONYM_RE.fullmatch(word):
        return True
    if len(word) < 3 or not _base().FREQ.get(word) or _NEGATION_RE.search(word):
        return False
    return {p.flag for p in _tagger().cut(word)} <= _TERM_TAGS


def is_everyday(word: str) -> bool:
    """Whether the word is one of everyday speech that says how a thing is asked, not which thing: frequent in
    general Chinese and no noun ("希望", "开始", "彻底"; not "医院"), a pronoun however rare ("那天", "每月",
    "该校": it points at what the question or the document names), the asker's own person or family ("我妈",
    "老父亲") or a level's authorities ("区里")."""
    if _KIN_RE.match(word) or _LEVEL_RE.match(word):
        return True
    flags = [p.flag for p in _tagger().cut(word)]
    if flags and (all(f == "r" for f in flags) or (flags[0] == "r" and _ASKER_RE.match(word))):
        return True
    if (_base().FREQ.get(word) or 0) < _EVERYDAY_FREQ:
        return False
    return not any(_NOUN_TAG_RE.match(f) for f in flags)


def is_fragment(word: str) -> bool:
    """Whether the "word" is a piece of segmentation, not a word: unknown to jieba's dictionary (or at its floor)
    and holding a function character ("改要" of 棚改要完成, "没给" of 怎么没给, "那笔" of 那笔费) or opening with a
    negation or a degree word ("没领", "很差")."""
    glued = _FUNCTION_CHARS_RE.search(word) or _SPEECH_OPENING_RE.match(word)
    return (_base().FREQ.get(word) or 0) <= _RARE_FREQ and bool(glued)


def proper_names(text: str) -> set[str]:
    """The places and bodies a text names in full ("兰州市", "西北师范大学")."""
    return {p.word for p in _tagger().cut(text) if p.flag in _NAME_TAGS and len(p.word) > 2 and _NAME_END_RE.search(p.word)}


@lru_cache(maxsize=64)
def segmenter_for(terms: frozenset[str]) -> Segmenter:
    """The segmenter for a KB with these terms; KBs with the same terms (a demo session's copy) share one,
    which is safe because a segmenter is never changed once a KB uses it."""
    return Segmenter(terms)


_default: Segmenter | None = None


def _default_segmenter() -> Segmenter:
    """jieba's dictionary and the genre's short forms, which it glues to a neighbour ("参加国" + "考行测")."""
    global _default
    with _lock:
        if _default is None:
            _default = Segmenter(GENRE_SYNONYMS)
    return _default


def add_terms(terms: Iterable[str]) -> None:
    """Teach the default segmenter (the one outside any KB) some terms."""
    _default_segmenter().add_terms(terms)


def tokenize(text: str) -> list[str]:
    """Segmentation outside any KB (jieba's dictionary plus terms given to add_terms)."""
    return _default_segmenter().tokenize(text)
