"""Drafting in the house style: exemplars from the KB, a style guide per genre, and the model.

Without a model the result is a 素材包 (material pack): the genre's skeleton plus the most relevant
exemplar headings and paragraphs, each cited. Drafts longer than one reply are written outline
first, then part by part.
"""
from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field

from langchain_core.messages import BaseMessage, HumanMessage

from .answer import Citation, citation
from .components.llm import LLM
from .config import Settings
from .errors import BiganError
from .prompts import SAFETY_MARGIN, message_tokens, new_fence, pack, render, system_message
from .retrieve import Hit, Searcher
from .text.chinese import content_bigrams, match_key, split_sentences, to_simplified

# Default length in characters, and words that steer retrieval towards exemplars of the genre.
GENRES: dict[str, tuple[int, str]] = {
    "讲话稿": (3000, "讲话 同志们 意见"),
    "经验材料": (2500, "经验 做法 成效 机制"),
    "述职评议点评": (2000, "述职评议 成绩 问题 差距 要求"),
    "提纲": (800, "提纲 标题"),
    "段落": (400, "一是 二是 三是"),
    "开头": (300, "会议 主要任务 同志们"),
    "结尾": (300, "同志们 让我们 提供坚强保证"),
}
_KIND_OF_GENRE = {"开头": "preamble", "结尾": "closing"}
_PART_RE = re.compile(r"^\s*([一二三四五六七八九十]+、.*)$", re.M)
_TOKENS_PER_CHAR = 1.3  # cl100k tokens per character of the sample corpus (measured: 1.28)
EXEMPLARS = 6
_DUPLICATE_SHARE = 0.8  # share of the shorter passage's content bigrams that makes two passages one


@dataclass
class DraftRequest:
    request: str
    genre: str = "讲话稿"
    length: int | None = None  # characters
    points: str = ""  # what the text must cover, in the user's words

    def __post_init__(self) -> None:
        self.request = self.request.strip()
        self.points = self.points.strip()
        if not self.request:
            raise BiganError("the drafting request is empty; say the topic and occasion")
        if self.genre not in GENRES:
            raise BiganError(f"unknown genre '{self.genre}'; choose one of: {'、'.join(GENRES)}")
        if self.length is not None and self.length < 50:
            raise BiganError("length is in characters and must be at least 50")

    @property
    def chars(self) -> int:
        return self.length or GENRES[self.genre][0]

    @property
    def topic(self) -> str:
        """What retrieval looks for: the request and the points to cover."""
        return f"{self.request} {self.points}".strip()


@dataclass
class Draft:
    text: str
    mode: str  # "llm" or "material"
    genre: str
    exemplars: list[Citation] = field(default_factory=list)
    outline: str = ""

    def to_dict(self) -> dict:
        return asdict(self)


def find_exemplars(searcher: Searcher, req: DraftRequest, k: int = EXEMPLARS) -> list[Hit]:
    """Exemplars by topic and by genre; openings and closings come from those parts of speeches."""
    by_topic = searcher.search(req.topic, k)
    by_genre = searcher.search(f"{req.topic} {GENRES[req.genre][1]}", searcher.settings.candidates)
    kind = _KIND_OF_GENRE.get(req.genre)
    if kind:
        by_genre = [h for h in by_genre if h.section.kind == kind] or by_genre
        by_topic = [h for h in by_topic if h.section.kind == kind]
    seen: set[tuple[str, int]] = set()
    merged = []
    for hit in [x for pair in zip(by_genre, by_topic) for x in pair] + by_genre + by_topic:
        key = (hit.section.doc_id, hit.section.position)
        if key not in seen:
            seen.add(key)
            merged.append(hit)
    return merged[:k]


def _citations(hits: list[Hit]) -> list[Citation]:
    return [citation(n, h) for n, h in enumerate(hits, start=1)]


def style_guide(settings: Settings, genre: str) -> str:
    return render(settings, f"style/{genre}")


def _near_duplicate(a: str, b: str) -> bool:
    """One passage inside the other, or most of their content bigrams shared (a speech filed twice, a
    heading repeated where a long part was split)."""
    if a in b or b in a:
        return True
    x, y = content_bigrams(a), content_bigrams(b)
    return bool(x and y) and len(x & y) / min(len(x), len(y)) >= _DUPLICATE_SHARE


def _body(hit: Hit) -> str:
    """The passage without the heading line it opens with (the pack names each passage's heading path)."""
    lines = hit.section.text.strip().split("\n")
    headings = {match_key(h) for h in hit.section.heading_path}
    while lines and match_key(lines[0]).rstrip("。") in headings:
        lines.pop(0)
    return "\n".join(lines).strip()


def _trim(text: str, budget: int) -> str:
    """The text cut at the last sentence end within `budget` characters ("" when not even one sentence fits)."""
    kept = ""
    for sentence in split_sentences(text):
        if len(kept) + len(sentence) > budget:
            break
        kept += sentence
    return kept.strip()


def pack_passages(req: DraftRequest, hits: list[Hit]) -> list[tuple[Hit, str]]:
    """The exemplars a material pack quotes: no passage twice (near-duplicates neither), in Simplified,
    cut at sentence ends so that together they come to no more than the requested length (the first
    passage gives at least one sentence)."""
    chosen: list[tuple[Hit, str]] = []
    keys: list[str] = []
    budget = req.chars
    for hit in hits:
        body = to_simplified(_body(hit))
        key = match_key(body)
        if not key or any(_near_duplicate(key, k) for k in keys):
            continue
        text = _trim(body, budget) or ("" if chosen else split_sentences(body)[0].strip())
        if not text:
            continue
        keys.append(key)
        chosen.append((hit, text))
        budget -= len(text)
    return chosen


def material_pack(settings: Settings, req: DraftRequest, hits: list[Hit]) -> str:
    """The offline result: skeleton, headings worth borrowing, and paragraphs to adapt, all cited."""
    passages = pack_passages(req, hits)
    headings = []
    for n, (hit, _) in enumerate(passages, start=1):
        for heading in hit.section.heading_path:
            line = f"- {to_simplified(heading)} [{n}]"
            if line not in headings:
                headings.append(line)
    paragraphs = [
        f"[{n}] {to_simplified(h.section.title)} · {to_simplified(h.section.label)} · {h.section.source}\n{text}"
        for n, (h, text) in enumerate(passages, start=1)
    ]
    return "\n\n".join([
        f"【素材包】{req.genre}：{req.request}（约{req.chars}字）" + (f"\n要点：{req.points}" if req.points else ""),
        "一、结构骨架\n" + style_guide(settings, req.genre),
        "二、可借鉴的标题\n" + ("\n".join(headings) or "（知识库中没有带标题的相关段落）"),
        "三、可参考的段落\n" + ("\n\n".join(paragraphs) or "（知识库中没有相关段落）"),
    ])


def _messages(
    settings: Settings, req: DraftRequest, hits: list[Hit], template: str, chars: int | None = None, **extra: str
) -> tuple[list[BaseMessage], list[Hit]]:
    fence = new_fence()
    system = system_message(settings, "draft_system", fence=fence)
    length = f"约{chars or req.chars}字"
    points = req.points or "（无特别指定）"
    values = dict(genre=req.genre, request=req.request, points=points, length=length, style=style_guide(settings, req.genre), **extra)
    packed = pack(settings, [system, HumanMessage(render(settings, template, exemplars="", **values))], hits, [], "exemplar", fence)
    user = HumanMessage(render(settings, template, exemplars="\n\n".join(packed.blocks), **values))
    return [system, user], packed.hits


def prompt_preview(searcher: Searcher, settings: Settings, req: DraftRequest) -> dict:
    """What would be sent for a one-reply draft, without calling any model."""
    messages, used = _messages(settings, req, find_exemplars(searcher, req), "draft_user")
    return {
        "messages": [{"role": "system" if m.type == "system" else "user", "content": m.content} for m in messages],
        "exemplars": [h.to_dict() for h in used],
        "tokens": message_tokens(messages, settings.token_encoding),
        "budget": settings.llm_context_window - settings.llm_max_tokens - SAFETY_MARGIN,
    }


def _needs_parts(settings: Settings, req: DraftRequest) -> bool:
    return req.chars * _TOKENS_PER_CHAR > 0.8 * settings.llm_max_tokens


def draft_stream(searcher: Searcher, settings: Settings, llm: LLM | None, req: DraftRequest) -> Iterator[str | Draft]:
    """Yield the draft piece by piece, then the finished Draft."""
    hits = find_exemplars(searcher, req)
    if llm is None:
        text = material_pack(settings, req, hits)
        yield text
        yield Draft(text, "material", req.genre, _citations([h for h, _ in pack_passages(req, hits)]))
        return
    if not _needs_parts(settings, req):
        messages, used = _messages(settings, req, hits, "draft_user")
        pieces = []
        for piece in llm.stream(messages):
            pieces.append(piece)
            yield piece
        yield Draft("".join(pieces).strip(), "llm", req.genre, _citations(used))
        return

    messages, used = _messages(settings, req, hits, "draft_outline")
    outline = llm.complete(messages).strip()
    parts = _PART_RE.findall(outline)
    if not parts:
        raise BiganError("the model's outline has no numbered parts (一、二、…); try again or ask for a shorter text")
    title = outline.splitlines()[0].strip() if not _PART_RE.match(outline.splitlines()[0]) else ""
    written = [title] if title else []
    if title:
        yield title + "\n\n"
    per_part = max(req.chars // len(parts), 100)
    for part in parts:
        messages, _ = _messages(settings, req, hits, "draft_part", chars=per_part, outline=outline, part=part.strip())
        pieces = []
        for piece in llm.stream(messages):
            pieces.append(piece)
            yield piece
        yield "\n\n"
        written.append("".join(pieces).strip())
    yield Draft("\n\n".join(written), "llm", req.genre, _citations(used), outline)


def draft(searcher: Searcher, settings: Settings, llm: LLM | None, req: DraftRequest) -> Draft:
    *_, result = draft_stream(searcher, settings, llm, req)
    return result
