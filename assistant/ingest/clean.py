"""Strip page furniture from one document and find its real title.

Hand-written: main-content extractors (trafilatura, used by the HTML loader) work on markup, while
offices also hold plain text pasted from sites that wrap 公文 in advert banners, contact lines,
breadcrumbs, metadata lines and reposting notices, and PDFs with running headers. Each rule here
describes a kind of furniture, never a corpus's words, and looks at this document alone: a line
that other documents share (a heading such as "一、总体要求", a repeated policy paragraph) is
content, so one document's sections never depend on the others.
"""
from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field

from ..text.chinese import MEASURE_UNITS, match_key, to_simplified
from ..text.segment import PLACE_UNITS

_URL_RE = re.compile(r"(?:https?://|www\.)[^\s\u4e00-\u9fff，。]+", re.I)
_SENTENCE_PUNCT = "。！？；!?"
_PAGE_BREAK = "\f"

_PAGE_NUMBER = r"^[-—–]*\s*\d+\s*[-—–]*$"
_PAGE_NUMBER_RE = re.compile(_PAGE_NUMBER)
# Each pattern is one kind of furniture, matched on the Simplified form of a short line.
_CHROME = [
    re.compile(p, re.I)
    for p in (
        r"qq|微信|公众号|二维码|扫码|加群|客服|咨询电话|联系电话|联系方式|邮箱|e-?mail|\d{3,4}-\d{7,8}|1[3-9]\d{9}",
        r"订阅立享|立即订阅|会员群|会员资料|会员材料|开通会员|成为会员|会员专享|vip|免费领取|免费下载|点击下载|下载地址|"
        r"^下载|立即购买|限时优惠|充值|倒卖|举报.*赠送",
        r"版权|转载|原创投稿|系原创|原创文章|投稿|仅供学习|仅供参考|禁止外传|请勿照搬|照搬照抄|如有侵权|未经授权|"
        r"整理[，,、]|本站|本网",
        r"当前位置|您的位置|首页\s*[>＞»]|[>＞»]\s*$|^\s*[>＞»]",
        r"上一篇|下一篇|相关阅读|推荐阅读|相关文章|相关报道|相关链接|热门文章|点击查看|阅读全文|返回顶部|分享到|收藏本文"
        r"|打印本页|关闭窗口|【\s*字[号体]|字[号体]\s*[：:]|^分享[：:]?$|^【?\s*(打印|关闭|收藏|返回)",
        rf"{_PAGE_NUMBER}|^第\s*\d+\s*页|^共\s*\d+\s*页",
        r"icp备|公网安备|网站标识码|网站地图|网站声明|网站简介|联系我们|请输入.{0,6}关键[词字]|^简体|繁体版|无障碍|适老化|"
        r"大家都在搜|^我要找错|^：?找错|主办[：:]?.{0,20}承办|技术支持[：:]",
        r"^【[^】]{1,20}】$",
    )
]
_CHROME_MAX_LEN = 60
# Article metadata of a web page ("发布时间：… 来源：… 点击数：…", "索引号：…"): one line, several fields.
_META_FIELD_RE = re.compile(
    r"(发布时间|发布日期|发文日期|成文日期|发布者|发布机构|发布单位|信息来源|文章来源|来源|作者|编辑|责任编辑|审核|"
    r"点击数|点击量|点击率|浏览次数|浏览量|查看次数|阅读次数|阅读量|访问量|索引号|主题分类|体裁分类|时间)\s*[：:]"
)
# After one of these near the end, the rest of a page is a list of links to other articles.
_TAIL_LINKS_RE = re.compile(r"^(相关报道|相关阅读|推荐阅读|相关文章|相关链接|相关新闻|延伸阅读|热点推荐)[：:]?$")
_SALUTATION_RE = re.compile(r"^(同志们|各位[\u4e00-\u9fff]{0,8}|尊敬的[\u4e00-\u9fff、，,]{0,30}|敬爱的[\u4e00-\u9fff]{1,10})[：:！!]\s*$")
_GENRE = (
    "讲话|致辞|发言|报告|材料|总结|汇报|意见|方案|通知|通报|决定|决议|规划|计划|要点|述职|述廉|点评|心得|体会|讲稿|党课|"
    "主持词|调研|纪要|办法|规定|条例|细则|规则|规范|标准|制度|章程|准则|大纲|公报|公告|名单|目录|思路|安排|措施|批复|函|请示"
)
_GENRE_RE = re.compile(_GENRE)
_GENRE_END_RE = re.compile(rf"(?:{_GENRE})(?:[（(][^）)]{{1,12}}[）)])?(?:稿)?$")
_HEADING_START_RE = re.compile(
    r"^([一二三四五六七八九十]+、|[（(][一二三四五六七八九十]+[）)]|\d{1,2}[.．、](?!\d)|第[一二三四五六七八九十百零〇\d]+[篇编章节条部])"
)
# Lines around a title that are not the title: a subtitle or occasion, a date, a 文号, an attachment
# label, a news dateline, the addressees, a speaker's name and office.
_NOT_TITLE = [
    re.compile(p)
    for p in (
        r"^[—－\-–~～]{1,2}",
        r"^[（(]?\s*[\d〇零一二三四五六七八九十]{2,4}\s*年[\d〇零一二三四五六七八九十\s]{1,3}月([\d〇零一二三四五六七八九十\s]{1,3}日)?.{0,20}[）)]?$",
        r"^\s*\d{4}[-./]\d{1,2}([-./]\d{1,2})?",
        r"[〔\[［(（]\s*\d{4}\s*[〕\]］)）]\s*\d+\s*号",
        r"^附件\s*[\d一二三四五六七八九十]*\s*[：:]?$|^[\u4e00-\u9fff]{1,3}\s*\d{1,2}$",
        r"^(新华社|人民网|新华网|中新社).{0,20}电",
        r"[：:]$",
        r"\S\s{2,}\S|[\u4e00-\u9fff]{2,}\s[\u4e00-\u9fff]{2,4}$",
    )
]
_LETTER_SPACED_RE = re.compile(r"(?:[\u4e00-\u9fff][ \t\u3000]+)+[\u4e00-\u9fff]")
_TITLE_MAX = 80
# OCR reads the numeral 一 as a dash: "第-篇", "第—章" in a heading, and in running text a hyphen (or two)
# after a Chinese character and before a measure word or a word that opens with 一 ("作为-名科员",
# "取得了-定的进步", "我- -生"). A real hyphen there joins two terms ("著者-出版年"), never a measure word.
_OCR_ONE_RE = re.compile(r"^第[-—－–](?=[篇编章节条部])")
_OCR_ONE_WORD_RE = re.compile(r"(?<=[\u4e00-\u9fff，,。；;：:])[-－](?:\s*[-－])*(?=[个名位定切直些样般致起生项次步批种件条份贯律旦])")
_TITLE_TAIL_RE = re.compile(r"^[（(][^（）()]{1,15}[）)]$")
_BREADCRUMB_RE = re.compile(r"当前位置|您的位置|您现在的位置|首页\s*[>＞»]")
_WRAP_MIN = 20
# A line that opens on a decimal figure and its unit ("20.94 万人，性别比为…"), on the unit of a figure ending
# the line above ("…R&D 就业人员 35.58" / "万人，其中女性…") or on the punctuation after a clause carries on
# the sentence above it: PDFs of statistics break lines there, and such a line is never a heading.
_FIGURE_LINE_RE = re.compile(rf"^\d+[.．]\d+[\s\u3000]*[{MEASURE_UNITS}]")
_FIGURE_END_RE = re.compile(r"\d[.．]\d+$")
_CONTINUING_PUNCT = "，,；;、。）)”"
_BREAKING_PUNCT = ("，", "、")  # a sentence never ends on a comma: the line after one goes on with it
_TITLE_PARTS = 3
_HEAD_LINES = 12
_TAIL_NAV_MAX = 4
_RUNNING_HEADER_MIN = 3


@dataclass
class CleanDoc:
    title: str
    paragraphs: list[str]
    pages: list[int] = field(default_factory=list)  # page of each paragraph (1-based); empty without pages
    dropped: list[str] = field(default_factory=list)


def repair_ocr(line: str) -> str:
    """The line with OCR's dash for the numeral 一 read as 一 ("第-章", "作为-名科员")."""
    return _OCR_ONE_WORD_RE.sub("一", _OCR_ONE_RE.sub("第一", line))


def is_salutation(line: str) -> bool:
    return bool(_SALUTATION_RE.match(to_simplified(line.strip())))


def is_heading_line(line: str) -> bool:
    return bool(_HEADING_START_RE.match(to_simplified(line.strip())))


def _squeeze(line: str) -> str:
    """'政 府 工 作 报 告' -> '政府工作报告': a letter-spaced line loses its spaces (other lines keep theirs)."""
    line = line.strip()
    return re.sub(r"[\s\u3000]+", "", line) if _LETTER_SPACED_RE.fullmatch(line) else line


def _is_chrome(line: str) -> bool:
    simple = to_simplified(line)
    if is_heading_line(simple):  # a numbered 公文 heading is content whatever words it holds
        return False
    if len(simple) <= _CHROME_MAX_LEN and any(p.search(simple) for p in _CHROME):
        return True
    fields = _META_FIELD_RE.findall(simple)
    return len(fields) >= 2 or (bool(fields) and len(simple) <= 40 and _META_FIELD_RE.match(simple) is not None
                                and not any(ch in simple for ch in _SENTENCE_PUNCT))


def _is_body(line: str) -> bool:
    simple = to_simplified(line)
    return is_salutation(line) or is_heading_line(line) or (len(simple) >= 40 and any(ch in simple for ch in _SENTENCE_PUNCT))


def _title_like(line: str) -> bool:
    simple = to_simplified(_squeeze(line))
    return (
        4 <= len(simple) <= _TITLE_MAX
        and simple[-1] not in _SENTENCE_PUNCT + "，,"
        and not any(ch in simple for ch in "。！？；")
        and not is_heading_line(simple)
        and not is_salutation(simple)
        and not any(p.search(simple) for p in _NOT_TITLE)
    )


def _paragraphs(text: str) -> list[tuple[str, int]]:
    """Non-blank lines with their page (form feeds separate pages), hard-wrapped lines joined."""
    lines: list[tuple[str, int]] = []
    for page, page_text in enumerate(text.split(_PAGE_BREAK), start=1):
        lines.extend((line.strip(), page) for line in page_text.split("\n") if line.strip())
    return _unwrap(lines)


def _unwrap(lines: list[tuple[str, int]]) -> list[tuple[str, int]]:
    """Join lines that a PDF or a fixed-width export broke mid-sentence.

    A text is hard-wrapped when many of its lines share one length; then a line of about that length
    that does not end a sentence continues on the next, unless the next starts a heading. In any text a
    line opening on a figure and its unit, on a comma or semicolon, or on the unit of a figure ending the line
    above, continues that line, as does a line after one that ends on a comma.
    """
    long = [len(line) for line, _ in lines if len(line) >= _WRAP_MIN and "\t" not in line]
    width = Counter(long).most_common(1)[0][0] if long else 0
    wrapped = bool(long) and sum(abs(n - width) <= 1 for n in long) >= max(8, 0.3 * len(lines))
    joined: list[tuple[str, int]] = []
    last = ""  # the last physical line of the paragraph being joined
    para = -1  # where that paragraph is in `joined`
    for line, page in lines:
        if joined and _PAGE_NUMBER_RE.match(line):
            joined.append((line, page))  # a page number between the halves of a sentence: dropped as chrome later
            continue
        broken = (wrapped and len(last) >= width - 2) or (
            (_FIGURE_LINE_RE.match(line) or line[0] in _CONTINUING_PUNCT or last.endswith(_BREAKING_PUNCT)
             or _FIGURE_END_RE.search(last) and line[0] in MEASURE_UNITS)
            and not is_heading_line(last) and not _is_chrome(last)  # furniture joined to content would outlive its removal
        )
        if (joined and broken and last[-1] not in _SENTENCE_PUNCT + "：:" and "\t" not in last + line
                and not is_heading_line(line) and not is_salutation(line)):  # table rows (tab-separated) stand alone
            joined[para] = (joined[para][0] + line, joined[para][1])
        else:
            joined.append((line, page))
            para = len(joined) - 1
        last = line
    return joined


def _running_headers(lines: list[tuple[str, int]]) -> set[str]:
    """Short lines that recur at the top or bottom of several pages (running headers and footers).

    Without page breaks (text extracted from a PDF earlier) a header is a short dated line that
    recurs many times; table cells recur too, but not with a date in them.
    """
    by_page: dict[int, list[str]] = {}
    for line, page in lines:
        by_page.setdefault(page, []).append(line)
    if len(by_page) > 1:
        edges = [line for page_lines in by_page.values() for line in page_lines[:2] + page_lines[-2:]]
        threshold = max(_RUNNING_HEADER_MIN, len(by_page) // 3)
    else:
        edges = [line for line, _ in lines if re.search(r"\d{4}\s*年", line) and len(line) <= 30]
        threshold = 5
    counts = Counter(match_key(line) for line in edges if len(line) <= 40 and not is_heading_line(line))
    return {key for key, n in counts.items() if n >= threshold and not is_salutation(key)}


def _tidy_title(title: str) -> str:
    """No spaces between digits and Chinese ('2021 年'), and an opening quote that OCR read as '"' restored."""
    title = re.sub(r"(?<=\d)\s+(?=[\u4e00-\u9fff])|(?<=[\u4e00-\u9fff])\s+(?=\d)", "", title)
    return re.sub(r'"([^"”]+”)', r"“\1", title)


def _find_title(kept: list[str], origin: list[int], anchors: set[int]) -> tuple[int, int] | None:
    """(first, end) of the title lines among the head of the document, or None.

    The first title-like line that names a genre wins, else the first title-like line; a title
    broken over lines ("江西省人民政府外事办公室" / "2022年招考…考试大纲") is joined when nothing was
    dropped between its lines (`origin` holds each kept line's place in the text).
    """
    def adjacent(i: int) -> bool:
        return i + 1 < len(origin) and origin[i + 1] == origin[i] + 1

    body_start = next((i for i, line in enumerate(kept) if _is_body(line)), len(kept))
    head = range(min(body_start, _HEAD_LINES))
    candidates = [i for i in head if _title_like(kept[i])]
    anchored = [i for i in range(min(len(kept), 2 * _HEAD_LINES)) if i in anchors and _title_like(kept[i])]
    if anchored:
        return anchored[0], anchored[0] + 1
    named = [i for i in candidates if _GENRE_RE.search(to_simplified(kept[i]))]
    # Without a genre word a short line is more likely a table header or a label than a title.
    plain = [i for i in candidates if len(kept[i]) >= 8]
    if not named and not plain:
        return None
    first = named[0] if named else plain[0]
    # The issuer or subject on the line above ("山东财经大学本科毕业论文（设计）" / "参考文献规范格式").
    while (first - 1 in candidates and adjacent(first - 1) and not _GENRE_END_RE.search(to_simplified(kept[first - 1]))
           and not kept[first - 1].endswith("文件") and len("".join(kept[first - 1:first + 1])) <= _TITLE_MAX):
        first -= 1
    end = first + 1
    # A line that does not end in a genre word continues onto the next title-like line when that completes it.
    while (end - first < _TITLE_PARTS and end in candidates and adjacent(end - 1)
           and not _GENRE_END_RE.search(to_simplified(_squeeze(kept[end - 1])))
           and len(_squeeze("".join(kept[first:end + 1]))) <= _TITLE_MAX):
        end += 1
    if end - first > 1 and not _GENRE_RE.search(to_simplified("".join(kept[first:end]))):
        end = first + 1
    return first, end


def clean_text(text: str, title_hint: str = "", fallback_title: str = "") -> CleanDoc:
    """Drop furniture, find the title, keep every line of content with its page.

    `title_hint` is the title the file format states (an HTML heading, a .docx Title paragraph, PDF
    metadata); it wins when plausible, and its line is not repeated in the body.
    """
    lines = _paragraphs(text)
    headers = _running_headers(lines)
    kept: list[str] = []
    pages: list[int] = []
    origin: list[int] = []
    dropped: list[str] = []
    # On a page printed from a site the article's title sits below the breadcrumb and above its metadata.
    anchors: set[int] = set()
    after_breadcrumb = False
    for n, (line, page) in enumerate(lines):
        without_urls = _URL_RE.sub("", line).strip()
        key = match_key(without_urls)
        if not key or _is_chrome(without_urls) or key in headers or (kept and key == match_key(kept[-1])):
            dropped.append(line)
            if _META_FIELD_RE.search(to_simplified(line)) and origin and origin[-1] == n - 1:
                anchors.add(len(kept) - 1)
            after_breadcrumb = bool(_BREADCRUMB_RE.search(to_simplified(line)))
            continue
        if after_breadcrumb:
            anchors.add(len(kept))
            after_breadcrumb = False
        kept.append(repair_ocr(_squeeze(without_urls)))
        pages.append(page)
        origin.append(n)
    kept, pages, tail = _cut_tail_links(kept, pages)
    origin = origin[: len(kept)]
    dropped.extend(tail)

    hint = _tidy_title(_squeeze(title_hint)) if title_hint and _title_like(title_hint) else ""
    if hint:
        # The hint's own line in the text, and anything short above it near the top, is the page's furniture.
        at = next((i for i, line in enumerate(kept) if match_key(line) == match_key(hint)), None)
        span = (at, at + 1) if at is not None else None
        head = at if at is not None and at < _HEAD_LINES else -1
    else:
        span = _find_title(kept, origin, anchors)
        head = span[0] if span else -1
    if span is not None:
        # "（2024年）", "（试行）" on the line below belong to the title.
        if span[1] < len(kept) and _TITLE_TAIL_RE.match(kept[span[1]]) and origin[span[1]] == origin[span[1] - 1] + 1:
            span = (span[0], span[1] + 1)
        found = _tidy_title("".join(kept[span[0]:span[1]]))
        title = found if not hint or len(found) > len(hint) else hint
        drop = set(range(*span))
    else:
        title, drop = hint or fallback_title, set()
    # In a 公文 nothing but furniture precedes the title; a long paragraph there is still kept.
    drop |= {i for i in range(max(head, 0)) if len(kept[i]) < 40 and not _is_body(kept[i])}
    title_key = match_key(title)
    body = [(p, pg) for i, (p, pg) in enumerate(zip(kept, pages)) if i not in drop and match_key(p) != title_key]
    dropped.extend(kept[i] for i in sorted(drop))

    while body and len(body[-1][0]) <= _TAIL_NAV_MAX and not any(c.isdigit() for c in body[-1][0]) and not is_heading_line(body[-1][0]):
        dropped.append(body.pop()[0])
    paged = len(set(pages)) > 1 or _PAGE_BREAK in text
    return CleanDoc(title=title, paragraphs=[p for p, _ in body], pages=[pg for _, pg in body] if paged else [], dropped=dropped)


def front_matter(doc: CleanDoc, most: int = 3) -> list[str]:
    """Short lines between the title and the body: subtitle or occasion, date, 文号, speaker."""
    lines = []
    for para in doc.paragraphs[:most]:
        if _is_body(para) or len(para) >= 60:
            break
        lines.append(para)
    return lines


# A 政府工作报告 opens "我代表国务院，向大会报告政府工作" and first reviews the year before it ("一、2018年
# 工作回顾"): a bare 工作报告.txt with no title or date line is still named by its kind, who delivers it and when.
WORK_REPORT = "政府工作报告"
_DELIVERS_RE = re.compile(r"我代表([\u4e00-\u9fff]{2,16}?)[，,]?向(?:大会|会议)(?:作)?(?:政府)?(?:工作)?报告")
_REVIEW_HEADING_RE = re.compile(r"^[一1][、.．]\s*((?:19|20)\d{2})年\S{0,8}?工作回顾")


def report_origin(doc: CleanDoc, most: int = 12) -> list[str]:
    """A work report's kind, who delivers it and the year it is delivered, as name words (none for
    other documents)."""
    words: list[str] = []
    for para in doc.paragraphs[:most]:
        simple = to_simplified(para.strip())
        if not words and (m := _DELIVERS_RE.search(simple)):
            body = m.group(1)
            words = [WORK_REPORT, body] if len(re.sub(rf"[{PLACE_UNITS}]?(?:人民)?政府$", "", body)) >= 2 else [WORK_REPORT]
        elif words and (m := _REVIEW_HEADING_RE.match(simple)):
            return words + [f"{int(m.group(1)) + 1}年"]
    return words


def _cut_tail_links(kept: list[str], pages: list[int]) -> tuple[list[str], list[int], list[str]]:
    """A 'related articles' marker in the last part of a page and the short link lines after it."""
    for i in range(len(kept) - 1, max(-1, int(len(kept) * 0.7) - 1), -1):
        if _TAIL_LINKS_RE.match(to_simplified(kept[i])) and all(len(line) <= 60 for line in kept[i + 1:]):
            return kept[:i], pages[:i], kept[i:]
    return kept, pages, []
