"""Web pages: the article's text and heading, without the site around it.

trafilatura finds the main content (it kept 公文 headings, paragraphs and table rows and dropped
menus, metadata blocks and footers on the sample pages better than readability-lxml, which keeps
no line structure). Hand-written around it: decoding Chinese pages, whitespace between inline
tags that splits numbers and words, table rows as tab-separated lines, the title, and pages nested
deeper than libxml2 builds a tree for.
"""
from __future__ import annotations

import re
from html.parser import HTMLParser

import trafilatura
from lxml import etree
from lxml import html as lxml_html

from .base import CELL_SEP, LoadedDoc, LoadError
from .text import NOT_TEXT, check_language, decode_bytes, normalise_newlines

_CHARSET_RE = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_-]+)""", re.I)
_XML_DECL_RE = re.compile(r"^\s*<\?xml[^>]*>")
_CJK = "\u3000-\u303f\u3400-\u9fff\uff00-\uffef"
_INLINE = {"span", "font", "b", "strong", "i", "em", "u", "a", "sub", "sup", "small", "big", "ucaptitle", "o:p"}
_SKIP = {"script", "style", "noscript", "template", "head", "nav", "header", "footer", "aside", "form", "iframe", "select"}
_BLOCK = {"p", "div", "li", "tr", "br", "h1", "h2", "h3", "h4", "h5", "h6", "section", "article", "table", "ul", "ol", "dd", "dt", "pre", "blockquote"}
# <title> parts: "文章 | 栏目 | 网站", "文章--栏目-网站", "文章 _ 网站"; a hyphen between digits is a range.
_TITLE_SEPARATORS = re.compile(r"\s*(?:--+|——|\s[-–_|｜]\s|[|｜_]|(?<!\d)-(?!\d))\s*")
_HEAD_LINES = 5
# 政务公开 pages put the article's register entry (索引号、发布机构、发文日期 …) in a table or list
# inside the article, where trafilatura keeps it; a short line with two such labels, or one that
# opens with one, is that block, not text.
_META_LABEL_RE = re.compile(
    r"(索引号|发布机构|发文机关|发文日期|成文日期|发布日期|发布时间|主题分类|体裁分类|主题词|公文种类|发文字号|文号|"
    r"信息来源|文章来源|来源|作者|点击数|点击量|浏览次数|阅读次数|访问量|有效性|生效日期)\s*[：:]"
)
_META_MAX = 120


def read_html(data: bytes) -> LoadedDoc:
    text = _decode(data)
    text = _XML_DECL_RE.sub("", text)
    parser = lxml_html.HTMLParser(remove_comments=True)
    tree = _parse(text, parser)
    if any(error.type_name == "ERR_RESOURCE_LIMIT" for error in parser.error_log):
        # libxml2 stops building the tree 256 levels down and silently drops the rest;
        # a streaming pass reads such a page whole, in time linear in its size.
        return _streamed(text)
    page_title = _page_title(tree)
    headings = [_one_line(h.text_content()) for h in tree.iter("h1", "h2", "h3")]
    _join_inline_whitespace(tree)
    result = trafilatura.bare_extraction(
        tree, include_tables=True, favor_precision=True, include_comments=False, with_metadata=True, deduplicate=False
    )
    lines = _render(result.body) if result is not None and result.body is not None else []
    lines = [line for line in lines if not _is_metadata(line)]
    if not lines:
        lines = _fallback_lines(_parse(text, lxml_html.HTMLParser(remove_comments=True)))
    body = normalise_newlines("\n".join(lines)).strip()
    check_language(body)
    return LoadedDoc(text=body, title=_choose_title(lines, headings, page_title, getattr(result, "sitename", None)))


def _parse(text: str, parser: lxml_html.HTMLParser) -> etree._Element:
    try:
        return lxml_html.document_fromstring(text, parser=parser)
    except (etree.ParserError, ValueError) as exc:
        raise LoadError("不是有效的网页文件（无法解析 HTML）") from exc


def _decode(data: bytes) -> str:
    """The declared charset when it decodes cleanly, else the plain-text detection, else lenient."""
    declared = _CHARSET_RE.search(data[:4096])
    encoding = declared.group(1).decode("ascii").lower() if declared else ""
    if encoding in {"gb2312", "gbk", "x-gbk"}:
        encoding = "gb18030"  # pages labelled GB2312 use GBK characters
    if encoding and not data.startswith((b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode(encoding)
        except (UnicodeDecodeError, LookupError):
            pass
    try:
        return decode_bytes(data)
    except LoadError:
        if not encoding or b"\x00" in data:
            raise
    # A page whose declared charset fails on a few bytes; check_language() rejects one that is mostly junk.
    return data.decode(encoding, errors="replace")


def _join_inline_whitespace(tree: etree._Element) -> None:
    """Drop the line breaks that editors put between inline tags inside Chinese text.

    A browser shows "<span>12</span>\\n<span>.5%</span>" as "12 .5%" and trafilatura keeps that
    space; in Chinese it splits a number or a word ("生产 总值"). Only whitespace containing a
    newline, between inline elements, next to CJK or a split number, is removed.
    """
    for element in tree.iter():
        tail = element.tail
        following = element.getnext()
        if (tail is None or tail.strip() or "\n" not in tail or following is None
                or element.tag not in _INLINE or following.tag not in _INLINE):
            continue
        before, after = element.text_content()[-1:], following.text_content()[:1]
        if re.match(f"[{_CJK}]", before) or re.match(f"[{_CJK}]", after) or (before.isdigit() and after in ".．%％‰") \
                or (before in ".．" and after.isdigit()):
            element.tail = ""


def _render(body: etree._Element) -> list[str]:
    """trafilatura's XML as lines: one per paragraph, heading, list item or table row."""
    lines: list[str] = []
    for block in body:
        if block.tag == "table":
            for row in block.iter("row"):
                cells = [_one_line(_block_text(cell)) for cell in row.iter("cell")]
                lines.append(CELL_SEP.join(dict.fromkeys(c for c in cells if c)))
        elif block.tag == "list":
            lines.extend(_block_text(item).strip() for item in block.iter("item"))
        else:
            lines.append(_block_text(block).strip())
    return [line for line in lines if line]


def _is_metadata(line: str) -> bool:
    if len(line) > _META_MAX:
        return False
    labels = set(_META_LABEL_RE.findall(line))
    return len(labels) >= 2 or (bool(labels) and _META_LABEL_RE.match(line) is not None and len(line) <= 40)


def _block_text(element: etree._Element) -> str:
    """Text of one block; <lb/> is a line break."""
    parts: list[str] = []
    for node in element.iter():
        if node is not element and node.tag == "lb":
            parts.append("\n")
        if node.text and node.tag != "lb":
            parts.append(node.text)
        if node is not element and node.tail:
            parts.append(node.tail)
    return "".join(parts)


def _fallback_lines(tree: etree._Element) -> list[str]:
    """The page's own article/main/body text, for short pages trafilatura finds no article in."""
    for element in tree.xpath("//script|//style|//noscript|//nav|//header|//footer|//aside|//form|//iframe"):
        element.drop_tree()
    root = next(iter(tree.xpath("//article") or tree.xpath("//main") or tree.xpath("//body")), tree)
    for element in root.iter(*_BLOCK):
        element.tail = "\n" + (element.tail or "")
    return [line.strip() for line in root.text_content().split("\n")]


def _page_title(tree: etree._Element) -> str:
    title = tree.find(".//title")
    return _one_line(title.text_content()) if title is not None else ""


def _choose_title(lines: list[str], headings: list[str], page_title: str, sitename: str | None) -> str:
    """The article heading in the main text, else the <title> without the site and column names."""
    parts = [p for p in _TITLE_SEPARATORS.split(page_title) if p]
    names = {n for n in (sitename,) if n}
    wanted = [p for p in parts if p not in names and len(p) >= 4] + [h for h in headings if len(h) >= 4]
    for line in lines[:_HEAD_LINES]:
        line = _one_line(line)
        # The heading itself, or it with a little more (a 文号, a 【】 label); never a line that merely mentions a site name.
        if line and any(line == w or (len(w) >= 8 and w in line and len(line) <= len(w) + 12) for w in wanted):
            return line
    if not parts:
        return ""
    in_text = [p for p in parts if p not in names and any(p in line for line in lines[:_HEAD_LINES * 4])]
    return (in_text or [p for p in parts if p not in names] or parts)[0]


def _one_line(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


class _Streamer(HTMLParser):
    """Text of a page in one pass: script, style and page furniture skipped, blocks on their own lines."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.title: list[str] = []
        self.skipping: dict[str, int] = {}
        self.in_title = False

    def handle_starttag(self, tag: str, attrs: list) -> None:
        self.in_title = tag == "title"
        if tag in _SKIP and tag != "head":
            self.skipping[tag] = self.skipping.get(tag, 0) + 1
        if tag in _BLOCK:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag == "title":
            self.in_title = False
        if self.skipping.get(tag):
            self.skipping[tag] -= 1
        if tag in _BLOCK:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if self.in_title:
            self.title.append(data)
        elif not any(self.skipping.values()):
            self.parts.append(data)


def _streamed(text: str) -> LoadedDoc:
    streamer = _Streamer()
    streamer.feed(text)
    streamer.close()
    lines = [_one_line(line) for line in "".join(streamer.parts).split("\n")]
    body = "\n".join(line for line in lines if line)
    if not body:
        raise LoadError(f"{NOT_TEXT}（网页中没有正文）")
    check_language(body)
    parts = [p for p in _TITLE_SEPARATORS.split(_one_line("".join(streamer.title))) if p]
    return LoadedDoc(text=body, title=parts[0] if parts else "")
