"""Split a cleaned 公文 into sections along its own structure.

Hand-written: generic splitters cut by length and do not know that 一、 / （一） / 1. / （1） /
第X and inline 一是…二是… form a hierarchy, which is what people search and cite by.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from ..text.chinese import MEASURE_UNITS, split_sentences, to_simplified
from ..text.tokens import count_tokens
from .clean import CleanDoc, is_salutation

# Raised when a cleaning or splitting rule changes: a KB built before re-splits its stored texts on the next
# index (keeping the vectors of sections whose text is unchanged), so a user gets the new rules without --force.
SPLIT_VERSION = 5
_NUM = "一二三四五六七八九十百零〇"


def _decimal(parts: int) -> re.Pattern:
    """A decimal heading number of `parts` parts and its words: "2.4.4 作者简历", not the figure "20.94 万人"."""
    number = r"[.．]".join([r"\d{1,2}"] * parts)
    return re.compile(rf"^{number}[\s\u3000]+(?![{MEASURE_UNITS}])[\u4e00-\u9fff]")


# Levels of the 公文 hierarchy, outermost first. A document may skip levels or use them in another
# order, so a level's depth comes from the stack of open headings; this order only closes levels
# that a higher one ends ("（九）…" is closed by "二、…" even when "一、" was never seen).
_MARKERS = [
    ("pian", re.compile(rf"^第[{_NUM}\d]+篇")),
    ("bian", re.compile(rf"^第[{_NUM}\d]+编")),
    ("zhang", re.compile(rf"^第[{_NUM}\d]+章")),
    ("jie", re.compile(rf"^第[{_NUM}\d]+节")),
    ("di", re.compile(rf"^第[{_NUM}]+(?:[，,、：:]|部分)")),
    ("cn", re.compile(rf"^[{_NUM}]+、")),
    ("paren_cn", re.compile(rf"^[（(][{_NUM}]+[）)]")),
    ("num", re.compile(r"^\d{1,2}[.．、](?!\d)")),
    ("dec", _decimal(2)),  # 1.2 主体部分
    ("dec3", _decimal(3)),  # 2.4.4 作者简历
    ("paren_num", re.compile(r"^[（(]\d{1,2}[）)]")),
]
_RANK = {name: rank for rank, (name, _) in enumerate(_MARKERS)}
# An article (第X条) is body text under its chapter, not a heading: packing breaks before it.
_ARTICLE_RE = re.compile(rf"^第[{_NUM}\d]+条")
_CHAPTER_ARTICLE_RE = re.compile(rf"^(第[{_NUM}\d]+[篇编章节][\s\u3000]*\S{{1,24}}?)[\s\u3000]+(第[{_NUM}\d]+条.*)$")
_BARE_LEVEL_RE = re.compile(rf"^第[{_NUM}\d]+[篇编章节]$")
_ITEM_RE = re.compile(rf"^[{_NUM}]+[是要]")
_CLOSING_RE = re.compile(r"^同志们[，,！!]")
_HEADING_MAX = 60
_ITEM_LINE = 30  # a numbered line this long that is one whole sentence is an item, not a heading
_ITEM_MAX = 30


@dataclass
class Section:
    doc_id: str
    source: str
    title: str
    heading_path: list[str]
    position: int
    text: str
    kind: str = "body"
    text_s: str = ""
    page: int | None = None
    # The text starts with its heading line, repeated from the section before (a long part split in two).
    continued: bool = False

    def __post_init__(self) -> None:
        if not self.text_s:
            self.text_s = to_simplified(self.text)

    @property
    def heading(self) -> str:
        return " > ".join(self.heading_path)

    @property
    def label(self) -> str:
        """The heading path for display; an opening or closing has none, so it is named."""
        return self.heading or {"preamble": "开头", "closing": "结尾"}.get(self.kind, "正文")


@dataclass
class _Block:
    path: tuple[str, ...]
    kind: str
    paragraphs: list[tuple[str, int | None]] = field(default_factory=list)
    heading_line: str = ""


def marker_type(line: str) -> str | None:
    simple = to_simplified(line.strip())
    return next((name for name, pattern in _MARKERS if pattern.match(simple)), None)


def heading_of(line: str) -> str:
    """A heading line's heading: the whole line, or its first sentence when body text follows."""
    first = split_sentences(line.strip())[0].strip()
    text = first.rstrip("。！？；!?;：:，, ")
    return text if len(text) <= _HEADING_MAX else text[:_HEADING_MAX] + "…"


def item_label(sentence: str) -> str | None:
    """'一是主动学标。' -> '一是主动学标' for inline enumerations; '第八条 …' -> '第八条' for articles."""
    simple = to_simplified(sentence.strip())
    article = _ARTICLE_RE.match(simple)
    if article:
        return sentence.strip()[: article.end()]
    if not _ITEM_RE.match(simple):
        return None
    label = sentence.strip().rstrip("。！？；!?;")
    if len(label) > _ITEM_MAX:
        label = re.split(r"[，,：:]", label)[0][:_ITEM_MAX]
    return label


def _normalise(paragraphs: list[str], pages: list[int | None]) -> list[tuple[str, int | None]]:
    """Split "第二章 规划建设 第八条 …" into its chapter heading and its article; join "第一章" / "总则"."""
    out: list[tuple[str, int | None]] = []
    for para, page in zip(paragraphs, pages):
        simple = to_simplified(para)
        if out and _BARE_LEVEL_RE.match(to_simplified(out[-1][0])) and len(para) <= 20 and not marker_type(para):
            out[-1] = (f"{out[-1][0]} {para}", out[-1][1])
            continue
        both = _CHAPTER_ARTICLE_RE.match(simple)
        if both:
            cut = len(both.group(1))
            out += [(para[:cut].strip(), page), (para[cut:].strip(), page)]
            continue
        out.append((para, page))
    return out


def _blocks(paragraphs: list[tuple[str, int | None]]) -> list[_Block]:
    stack: list[tuple[str, str]] = []
    blocks = [_Block((), "preamble")]
    for para, page in paragraphs:
        kind = marker_type(para)
        if kind:
            names = [name for name, _ in stack]
            if kind in names:
                stack = stack[: names.index(kind)]
            while stack and _RANK[stack[-1][0]] > _RANK[kind]:
                stack.pop()
            heading = heading_of(para)
            stack.append((kind, heading))
            blocks.append(_Block(tuple(h for _, h in stack), "body", heading_line=heading))
        elif stack and _CLOSING_RE.match(to_simplified(para)):
            stack = []
            blocks.append(_Block((), "closing"))
        blocks[-1].paragraphs.append((para, page))
        if kind and _is_item_line(para):
            # A numbered line that is one long sentence is an item of a list (a note, a measure), not a heading:
            # what follows is not under it ("3.…在专业代码后加“K”表示。" above the catalogue's table).
            stack.pop()
            blocks.append(_Block(tuple(h for _, h in stack), "body"))
    return [b for b in blocks if b.paragraphs]


def _is_item_line(para: str) -> bool:
    text = para.strip()
    return len(text) >= _ITEM_LINE and text[-1] in "。；;" and len(split_sentences(text)) == 1


def _tokens(paragraphs: list[tuple[str, int | None]], encoding: str) -> int:
    return count_tokens("\n".join(p for p, _ in paragraphs), encoding)


def _common(a: tuple[str, ...], b: tuple[str, ...]) -> tuple[str, ...]:
    n = next((i for i, (x, y) in enumerate(zip(a, b)) if x != y), min(len(a), len(b)))
    return a[:n]


def _merge_tiny(blocks: list[_Block], min_tokens: int, encoding: str) -> list[_Block]:
    """A block too small to stand alone joins a neighbour, and the result is filed where both belong.

    A heading with no body, or a lone salutation, joins the block it introduces. Any other short block
    joins the neighbour it shares more of its heading path with ("（四）…；" before "第三章" joins the
    items before it), and the joined block is filed under what both are under.
    """
    merged: list[_Block] = []
    pending: _Block | None = None
    for block in blocks:
        if pending is not None:
            heading_only = len(pending.paragraphs) == 1 and (marker_type(pending.paragraphs[0][0]) or is_salutation(pending.paragraphs[0][0]))
            introduces = block.path[: len(pending.path)] == pending.path and (heading_only or block.path == pending.path)
            back = _common(merged[-1].path, pending.path) if merged else None
            ahead = _common(pending.path, block.path)
            if not introduces and back is not None and len(back) > len(ahead):
                merged[-1] = _Block(back, merged[-1].kind, merged[-1].paragraphs + pending.paragraphs, merged[-1].heading_line)
            else:
                block = _Block(block.path if introduces else ahead, block.kind, pending.paragraphs + block.paragraphs,
                               block.heading_line if introduces else "")
            pending = None
        if _tokens(block.paragraphs, encoding) < min_tokens:
            pending = block
            continue
        merged.append(block)
    if pending is not None:
        if merged:
            last = merged[-1]
            merged[-1] = _Block(_common(last.path, pending.path), last.kind, last.paragraphs + pending.paragraphs,
                                last.heading_line)
        else:
            merged.append(pending)
    return merged


@dataclass
class _Unit:
    sentence: str
    starts_paragraph: bool
    label: str | None
    tokens: int
    page: int | None


def _merge_small_chunks(chunks: list[list[_Unit]], min_tokens: int) -> list[list[_Unit]]:
    """A fragment under `min_tokens` joins the chunk after it (the last one joins the one before)."""
    merged: list[list[_Unit]] = []
    carry: list[_Unit] = []
    for chunk in chunks:
        chunk = carry + chunk
        carry = []
        if sum(u.tokens for u in chunk) < min_tokens:
            carry = chunk
        else:
            merged.append(chunk)
    if carry:
        if merged:
            merged[-1].extend(carry)
        else:
            merged.append(carry)
    return merged


def _pack(paragraphs: list[tuple[str, int | None]], budget: int, min_tokens: int, encoding: str) -> list[list[_Unit]]:
    """Greedy packing of whole sentences up to `budget` tokens; prefers to break before 一是/二是 and 第X条."""
    units = [
        _Unit(sentence, i == 0, item_label(sentence), count_tokens(sentence, encoding), page)
        for para, page in paragraphs
        for i, sentence in enumerate(split_sentences(para))
    ]
    chunks: list[list[_Unit]] = [[]]
    used = 0
    for unit in units:
        if chunks[-1] and (used + unit.tokens > budget or (unit.label and used >= budget // 2)):
            chunks.append([])
            used = 0
        chunks[-1].append(unit)
        used += unit.tokens
    return _merge_small_chunks(chunks, min_tokens)


def split_sections(
    doc: CleanDoc,
    doc_id: str,
    source: str,
    budget: int = 320,
    min_tokens: int = 48,
    encoding: str = "cl100k_base",
) -> list[Section]:
    sections: list[Section] = []
    pages = doc.pages or [None] * len(doc.paragraphs)
    for block in _merge_tiny(_blocks(_normalise(doc.paragraphs, pages)), min_tokens, encoding):
        for n, chunk in enumerate(_pack(block.paragraphs, budget, min_tokens, encoding)):
            text = "".join(("\n" if u.starts_paragraph and i else "") + u.sentence for i, u in enumerate(chunk))
            label = chunk[0].label
            path = list(block.path) + ([label] if label and not is_salutation(text) else [])
            # A later part of a long heading's body still says which heading it is under, for the reader and the model.
            continued = n > 0 and bool(block.heading_line) and not text.startswith(block.heading_line)
            if continued:
                text = f"{block.heading_line}\n{text}"
            sections.append(
                Section(doc_id, source, doc.title, path, len(sections), text, block.kind, page=chunk[0].page, continued=continued)
            )
    return sections
