"""Split a cleaned 公文 into sections along its own structure.

Hand-written: generic splitters cut by length and do not know that 一、 / （一） / 1. / （1） /
第X and inline 一是…二是… form a hierarchy, which is what people search and cite by.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from ..text.chinese import split_sentences, to_simplified
from ..text.tokens import count_tokens
from .clean import CleanDoc, is_salutation

_NUM = "一二三四五六七八九十百"
_MARKERS = [
    ("cn", re.compile(rf"^[{_NUM}]+、")),
    ("paren_cn", re.compile(rf"^[（(][{_NUM}]+[）)]")),
    ("num", re.compile(r"^\d{1,2}[.．、](?!\d)")),
    ("paren_num", re.compile(r"^[（(]\d{1,2}[）)]")),
    ("di", re.compile(rf"^第[{_NUM}]+(?:[，,、：:]|部分|章|节)")),
]
_ITEM_RE = re.compile(rf"^[{_NUM}]+[是要]")
_CLOSING_RE = re.compile(r"^同志们[，,！!]")
_HEADING_MAX = 60
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
    paragraphs: list[str] = field(default_factory=list)


def marker_type(line: str) -> str | None:
    simple = to_simplified(line)
    return next((name for name, pattern in _MARKERS if pattern.match(simple)), None)


def heading_of(line: str) -> str:
    """A heading line's heading: the whole line, or its first sentence when body text follows."""
    first = split_sentences(line)[0].strip()
    text = first.rstrip("。！？；!?;：:，, ")
    return text if len(text) <= _HEADING_MAX else text[:_HEADING_MAX] + "…"


def item_label(sentence: str) -> str | None:
    """'一是主动学标。' -> '一是主动学标' for inline enumerations."""
    if not _ITEM_RE.match(to_simplified(sentence)):
        return None
    label = sentence.strip().rstrip("。！？；!?;")
    if len(label) > _ITEM_MAX:
        label = re.split(r"[，,：:]", label)[0][:_ITEM_MAX]
    return label


def _blocks(paragraphs: list[str]) -> list[_Block]:
    stack: list[tuple[str, str]] = []
    blocks = [_Block((), "preamble")]
    for para in paragraphs:
        kind = marker_type(para)
        if kind:
            names = [name for name, _ in stack]
            if kind in names:
                stack = stack[: names.index(kind)]
            stack.append((kind, heading_of(para)))
            blocks.append(_Block(tuple(h for _, h in stack), "body"))
        elif stack and _CLOSING_RE.match(to_simplified(para)):
            stack = []
            blocks.append(_Block((), "closing"))
        blocks[-1].paragraphs.append(para)
    return [b for b in blocks if b.paragraphs]


def _tokens(paragraphs: list[str], encoding: str) -> int:
    return count_tokens("\n".join(paragraphs), encoding)


def _merge_tiny(blocks: list[_Block], min_tokens: int, encoding: str) -> list[_Block]:
    """A heading with no body, or a lone salutation, joins the block it introduces."""
    merged: list[_Block] = []
    pending: _Block | None = None
    for block in blocks:
        if pending is not None:
            block = _Block(block.path, block.kind, pending.paragraphs + block.paragraphs)
            pending = None
        if _tokens(block.paragraphs, encoding) < min_tokens:
            pending = block
            continue
        merged.append(block)
    if pending is not None:
        if merged:
            merged[-1].paragraphs.extend(pending.paragraphs)
        else:
            merged.append(pending)
    return merged


def _merge_small_chunks(chunks: list[list], min_tokens: int) -> list[list]:
    """A fragment under `min_tokens` joins the chunk after it (the last one joins the one before)."""
    merged: list[list] = []
    carry: list = []
    for chunk in chunks:
        chunk = carry + chunk
        carry = []
        if sum(u[3] for u in chunk) < min_tokens:
            carry = chunk
        else:
            merged.append(chunk)
    if carry:
        if merged:
            merged[-1].extend(carry)
        else:
            merged.append(carry)
    return merged


def _pack(paragraphs: list[str], budget: int, min_tokens: int, encoding: str) -> list[tuple[str, str | None]]:
    """Greedy packing of whole sentences up to `budget` tokens; prefers to break before 一是/二是."""
    units: list[tuple[str, bool, str | None, int]] = []
    for para in paragraphs:
        for i, sentence in enumerate(split_sentences(para)):
            units.append((sentence, i == 0, item_label(sentence), count_tokens(sentence, encoding)))
    chunks: list[list[tuple[str, bool, str | None, int]]] = [[]]
    used = 0
    for unit in units:
        _, _, label, tokens = unit
        if chunks[-1] and (used + tokens > budget or (label and used >= budget // 2)):
            chunks.append([])
            used = 0
        chunks[-1].append(unit)
        used += tokens
    chunks = _merge_small_chunks(chunks, min_tokens)
    out = []
    for chunk in chunks:
        text = "".join(("\n" if starts and n else "") + sentence for n, (sentence, starts, _, _) in enumerate(chunk))
        out.append((text, chunk[0][2]))
    return out


def split_sections(
    doc: CleanDoc,
    doc_id: str,
    source: str,
    budget: int = 320,
    min_tokens: int = 48,
    encoding: str = "cl100k_base",
) -> list[Section]:
    sections: list[Section] = []
    for block in _merge_tiny(_blocks(doc.paragraphs), min_tokens, encoding):
        for text, label in _pack(block.paragraphs, budget, min_tokens, encoding):
            path = list(block.path) + ([label] if label and not is_salutation(text) else [])
            sections.append(
                Section(doc_id, source, doc.title, path, len(sections), text, block.kind)
            )
    return sections
