"""What a question says about where to look: the document it names, and the part it points at.

Hand-written: 公文 piles hold near-identical documents (one report a year) that only their names tell
apart, and questions point at structure ("第二部分讲什么", "第三条") that no retriever reads.
"""
from __future__ import annotations

import math
import re
from collections.abc import Callable
from pathlib import Path

from .ingest.clean import WORK_REPORT
from .ingest.sections import Section
from .text.chinese import match_key, to_simplified
from .text.segment import NAME_END, PLACE_UNITS, tokenize

# From this score a question names the document, and its name's words leave the passage search
# (set on the real-documents dev set).
_NAMED = 0.5
# One document is named when it scores this (a long title is named by its distinctive words alone) and the
# next-best under half of it.
_NAMES_ONE = 0.3
_CLEARLY = 0.5
_YEAR_RE = re.compile(r"(?<!\d)(?:19|20)\d{2}(?!\d)")
REVIEWS_LAST_YEAR = WORK_REPORT  # delivered early in year N, it reports on N-1
# What the 国务院 issues is what a question calls 全国's ("2018年全国城镇新增就业…").
_NATIONAL_BODY, _NATIONAL = "国务院", "全国"
_OWNER_RE = re.compile(rf"^[\u4e00-\u9fff]{{2,}}{NAME_END}$")
# How people shorten a university named for its place: 浙江大学 → 浙大, 北京师范大学 → 北师大 / 北京师大
# (a discipline's 财经大学 is 山东财经大学's, not "财大").
_UNIVERSITY_RE = re.compile(r"^([\u4e00-\u9fff]{2})(师范)?大学$")
_DISCIPLINES = frozenset(
    "财经 理工 农业 医科 工业 科技 交通 政法 民族 体育 艺术 石油 电子 林业 海洋 矿业 传媒 邮电 电力 水利 中医 药科 音乐 美术 外语 经贸 商业 工商 外国".split()
)


def _stem(owner: str) -> str:
    """"海拉尔区" -> "海拉尔": a question names a place without its unit."""
    return owner[:-1] if owner[-1] in PLACE_UNITS and len(owner) > 2 else owner


def short_names(word: str) -> list[str]:
    """The short forms of a name word that a question may use for it (none for most words)."""
    m = _UNIVERSITY_RE.match(word)
    if not m or m.group(1) in _DISCIPLINES:
        return []
    place = m.group(1)
    return [place[0] + "师大", place + "师大"] if m.group(2) else [place[0] + "大"]


class DocumentNames:
    """Which documents a question names: by the words of their title or file name, and their year.

    Several documents often say nearly the same thing (two years' plans, one report per year); only
    the name tells them apart. A document is named as far as the question covers its name, each word
    weighted by its rarity among the names: "报告" in a pile of reports names none of them, while
    "海拉尔区2014年政府工作报告" names one. A passing word of a long title names nothing.
    """

    def __init__(self, documents: dict[str, dict], tokenize: Callable[[str], list[str]] = tokenize):
        """`tokenize`: the KB's own segmentation (its coined terms are words of its titles too)."""
        self.tokenize = tokenize
        self.tokens = {d: set(tokenize(to_simplified(_name_text(e)))) for d, e in documents.items()}
        df: dict[str, int] = {}
        for tokens in self.tokens.values():
            for t in tokens:
                df[t] = df.get(t, 0) + 1
        self.idf = {t: math.log(len(documents) / c) for t, c in df.items()}
        # A short form stands for its name only where one name word has it (南京大学 and 南开大学 are both 南大).
        owners: dict[str, set[str]] = {}
        for word in df:
            for short in short_names(word):
                owners.setdefault(short, set()).add(word)
        self.short = {s: next(iter(w)) for s, w in owners.items() if len(w) == 1}
        # A work report is named by the year it reviews too ("海拉尔2013年…" asks the 2014 report), but only
        # where the question names its place and not its own year: a year alone ("2018年全国…") or beside
        # the report's own ("2019年政府工作报告里，2018年…") would pull in any place's report.
        self.reviews = {
            d: (year, str(int(year) - 1)) for d, e in documents.items()
            if REVIEWS_LAST_YEAR in (name := _name_text(e)) and (year := max(_YEAR_RE.findall(name), default=""))
        }
        self.report_words = set(self.tokenize(REVIEWS_LAST_YEAR))
        # Whose document it is: the place or school its name is for ("浙江大学", "海拉尔区", 全国).
        self.owners = {d: {t for t in tokens if _OWNER_RE.match(t)} | (tokens & {_NATIONAL}) for d, tokens in self.tokens.items()}

    def strip(self, query: str, scores: dict[str, float]) -> str:
        """The question less the words of the document it names (itself when it names none)."""
        top = max(scores, key=scores.get, default=None)
        if top is None or scores[top] < _NAMED:
            return query
        words = sorted((t for t in self.tokens[top] if len(t) >= 2), key=len, reverse=True)
        rest = re.sub("|".join(map(re.escape, words)), " ", query).strip() if words else query
        return rest if self.tokenize(rest) else query

    def named(self, query: str) -> str | None:
        """The one document the question names, if it names one well above any other ("山东财经大学…" but
        not "海拉尔区2018年…", which names four reports alike)."""
        scores = self.scores(query)
        ranked = sorted(scores.values(), reverse=True)
        if not ranked or ranked[0] < _NAMES_ONE or (len(ranked) > 1 and ranked[1] >= _CLEARLY * ranked[0]):
            return None
        return max(scores, key=scores.get)

    def scores(self, query: str) -> dict[str, float]:
        """doc id → how far the question names it, 0..1: the share of its name covered, times how
        specific the covered words are against the best-named document."""
        words = self._words(query)
        covered_by = {d: words & tokens for d, tokens in self.tokens.items()}
        for d, (year, reviewed) in self.reviews.items():
            place = {w for w in covered_by[d] - self.report_words if len(w) > 1 and not w.isdigit()}
            if reviewed in words and year not in words and place:
                covered_by[d] = covered_by[d] | {reviewed}
        rarest = math.log(max(len(self.tokens), 1))
        matched = {d: sum(self.idf.get(t, rarest) for t in covered) for d, covered in covered_by.items()}
        best = max(matched.values(), default=0.0)
        if best <= 0:
            return dict.fromkeys(self.tokens, 0.0)
        # Covering a short, common name ("工作报告") says less than covering a long, specific one.
        totals = {d: sum(self.idf[t] for t in tokens) for d, tokens in self.tokens.items()}
        own = {d: min(matched[d] / best * matched[d] / totals[d], 1.0) if totals[d] > 0 else 0.0 for d in self.tokens}
        # Names the question covers by the same words are named alike once one of them is named: the words
        # that tell them apart are not asked, so the shorter name is no better named ("武汉大学硕士学位论文…"
        # names the 印制规定 and the 撰写评审及答辩 rules alike). A word in passing ("年") names none of them.
        keys = {d: frozenset(covered) for d, covered in covered_by.items()}
        alike: dict[frozenset[str], float] = {}
        for d, key in keys.items():
            alike[key] = max(alike.get(key, 0.0), own[d])
        scores = {d: top if (top := alike[key]) >= _NAMES_ONE else own[d] for d, key in keys.items()}
        foreign = self._foreign(words)
        return {d: 0.0 if d in foreign else v for d, v in scores.items()}

    def foreign(self, query: str) -> set[str]:
        """The documents of another place or school than the one the question names (none if it names none)."""
        return self._foreign(self._words(query))

    def unheld_owners(self, query: str, text: str) -> set[str]:
        """The places and schools owning documents that the question names ("宜春…" → 宜春市, "武大" → 武汉大学)
        and the text names by neither their name nor its stem."""
        return {o for o in self._owners_named(self._words(query)) if o not in text and _stem(o) not in text}

    def _owners_named(self, words: set[str]) -> set[str]:
        return {o for owners in self.owners.values() for o in owners if o in words or _stem(o) in words}

    def _foreign(self, words: set[str]) -> set[str]:
        # A question about one place's or school's documents is not about another's, whatever topic words their
        # names share ("浙大论文参考文献…" is not answered by 山东财经大学's 参考文献规范).
        asked = self._owners_named(words)
        return {d for d, owners in self.owners.items() if owners and not owners & asked} if asked else set()

    def _words(self, query: str) -> set[str]:
        """The question's words, with the names its short forms stand for ("浙大" → 浙江大学)."""
        words = set(self.tokenize(query))
        words.update(t for short, word in self.short.items() if short in query for t in self.tokenize(word))
        return words


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
        item = [f"{cn}、", f"（{cn}）", f"({cn})", f"{digit}.", f"{digit}．", f"{cn}是", f"{cn}要"]
        # "第六条" is an article of a rule, or in a speech or report the sixth item of a list ("六是…").
        markers += {
            "部分": [f"{cn}、", f"第{cn}部分"], "章": [f"第{cn}章"], "节": [f"第{cn}节"], "条": [f"第{cn}条", *item],
        }.get(unit, item)
    return tuple(markers)


def opens_part(section: Section, markers: tuple[str, ...]) -> bool:
    """The section holds the heading line of a part the question points at (not only text under it)."""
    text = match_key(section.text)
    return any(match_key(h).startswith(markers) and match_key(h) in text for h in section.heading_path) if markers else False


def _name_text(entry: dict) -> str:
    """Title, file name, the years of its front matter (a report's "——2014年2月19日在…") and a work
    report's origin (who delivers it, when)."""
    name = " ".join([
        entry.get("title", ""), Path(entry["name"]).stem, *_YEAR_RE.findall(entry.get("label", "")), entry.get("origin", ""),
    ])
    return f"{name} {_NATIONAL}" if _NATIONAL_BODY in name else name
