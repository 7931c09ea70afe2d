"""Strip web chrome from a speech or report and find its real title.

Hand-written: generic boilerplate removers (readability, trafilatura) work on HTML, while these
files are plain text pasted from sites that wrap 公文 in advert banners, contact lines,
breadcrumbs and reposting notices. Rules here describe kinds of chrome, not the sample's words;
lines shared by many documents are learned from the corpus (see `learn_boilerplate`).
"""
from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

from ..text.chinese import match_key, to_simplified

_URL_RE = re.compile(r"(?:https?://|www\.)[^\s\u4e00-\u9fff，。]+", re.I)
_SENTENCE_PUNCT = "。！？；!?"

# Each pattern is one kind of chrome, matched on the Simplified form of a short line.
_CHROME = [
    re.compile(p, re.I)
    for p in (
        r"qq|微信|公众号|二维码|扫码|加群|客服|咨询电话|联系电话|联系方式|邮箱|e-?mail|\d{3,4}-\d{7,8}|1[3-9]\d{9}",
        r"订阅|会员|vip|付费|优惠|限时|免费领取|免费下载|下载|购买|充值|倒卖|举报.*赠送",
        r"版权|转载|原创|投稿|仅供学习|仅供参考|禁止外传|请勿照搬|照搬照抄|侵权|未经授权|整理[，,、]",
        r"当前位置|您的位置|首页\s*[>＞»]|[>＞»]\s*$|^\s*[>＞»]",
        r"上一篇|下一篇|相关阅读|推荐阅读|相关文章|热门文章|点击查看|阅读全文|返回顶部|分享到|收藏本文",
        r"^[-—–]*\s*\d+\s*[-—–]*$|^第\s*\d+\s*页",
        r"^【[^】]{1,20}】$",
    )
]
_CHROME_MAX_LEN = 60
_SALUTATION_RE = re.compile(r"^(同志们|各位[\u4e00-\u9fff]{0,8}|尊敬的[\u4e00-\u9fff、，,]{0,30})[：:！!]\s*$")
_GENRE_RE = re.compile(
    r"讲话|致辞|发言|报告|材料|总结|汇报|意见|方案|通知|决定|规划|述职|点评|心得|体会|讲稿|党课|主持词|调研|纪要|办法|规定|条例|会议|会上|讲座"
)
_HEADING_START_RE = re.compile(r"^([一二三四五六七八九十]+、|[（(][一二三四五六七八九十]+[）)]|\d{1,2}[.．、](?!\d))")
_TAIL_NAV_MAX = 4


@dataclass
class CleanDoc:
    title: str
    paragraphs: list[str]
    dropped: list[str] = field(default_factory=list)


def raw_lines(text: str) -> list[str]:
    return [line.strip() for line in text.split("\n") if line.strip()]


def is_salutation(line: str) -> bool:
    return bool(_SALUTATION_RE.match(to_simplified(line.strip())))


def _looks_like_title(line: str) -> bool:
    simple = to_simplified(line)
    return (
        4 <= len(simple) <= 80
        and simple[-1] not in _SENTENCE_PUNCT + "，,：:"
        and not _HEADING_START_RE.match(simple)
        and not is_salutation(line)
    )


def learn_boilerplate(documents: Iterable[str], min_share: float = 0.05) -> set[str]:
    """Lines repeated across documents (site banners, footers): in at least 2 documents and 5% of them."""
    texts = list(documents)
    df: Counter[str] = Counter()
    for text in texts:
        df.update({match_key(line) for line in raw_lines(_URL_RE.sub("", text)) if len(line) <= 200})
    threshold = max(2, math.ceil(min_share * len(texts)))
    return {
        line
        for line, count in df.items()
        if count >= threshold and line and not is_salutation(line) and not _GENRE_RE.search(line)
    }


def _is_chrome(line: str) -> bool:
    simple = to_simplified(line)
    return len(simple) <= _CHROME_MAX_LEN and any(p.search(simple) for p in _CHROME)


def _is_body(line: str) -> bool:
    simple = to_simplified(line)
    return is_salutation(line) or bool(_HEADING_START_RE.match(simple)) or (
        len(simple) >= 40 and any(ch in simple for ch in _SENTENCE_PUNCT)
    )


def clean_text(text: str, boilerplate: set[str] | None = None, fallback_title: str = "") -> CleanDoc:
    """Drop chrome lines, de-duplicate repeated lines, and split off the title from the body."""
    boilerplate = boilerplate or set()
    kept: list[str] = []
    dropped: list[str] = []
    seen: set[str] = set()
    for line in raw_lines(text):
        without_urls = _URL_RE.sub("", line).strip()
        key = match_key(without_urls)
        if not key or _is_chrome(without_urls) or key in boilerplate or (key in seen and len(key) <= 80):
            dropped.append(line)
            continue
        seen.add(key)
        kept.append(without_urls)

    body_start = next((i for i, line in enumerate(kept) if _is_body(line)), len(kept))
    head = kept[:body_start]
    candidates = [i for i, line in enumerate(head) if _looks_like_title(line)]
    titled = [i for i in candidates if _GENRE_RE.search(to_simplified(head[i]))]
    title_at = titled[0] if titled else (candidates[-1] if candidates else None)
    if title_at is None:
        title, paragraphs = fallback_title, kept
    else:
        # In a 公文 nothing but chrome precedes the title.
        dropped.extend(kept[:title_at])
        title, paragraphs = kept[title_at], kept[title_at + 1 :]

    while paragraphs and len(paragraphs[-1]) <= _TAIL_NAV_MAX and not any(c.isdigit() for c in paragraphs[-1]):
        dropped.append(paragraphs.pop())
    return CleanDoc(title=title, paragraphs=paragraphs, dropped=dropped)
