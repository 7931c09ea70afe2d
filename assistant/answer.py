"""Grounded Q&A: follow-ups made standalone, passages retrieved and packed, answered with citations.

With an LLM the answer streams from the model; without one it is extractive: the sentences of
the top passages that best match the question, in order, each cited, nothing invented.
"""
from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field

from langchain_core.messages import HumanMessage

from .components.llm import LLM
from .config import Settings
from .errors import BiganError
from .prompts import history_messages, pack, render, system_message
from .retrieve import Hit, Searcher
from .text.chinese import match_key, split_sentences

NOT_FOUND = "知识库中没有找到相关内容。"
_FOLLOW_UP_RE = re.compile(
    r"^(那|那么|这|这个|该|其|它|上述|还有|另外|此外|具体)|呢[？?]?$|第[一二三四五六七八九十\d]+[条点个部分项]|这个|那个|他们|它们|上面"
)
_CITATION_RE = re.compile(r"\[(\d{1,2})\]")
# Question words match any passage that asks or counts; they say nothing about the answer.
_QUESTION_WORDS_RE = re.compile(r"什么样|什么|哪些|哪个|哪几|哪里|多少|几个|几名|几项|如何|怎么样|怎样|怎么|为什么|是否|有没有|吗|呢|请问|具体|分别")
_EXTRACT_PASSAGES = 3
_EXTRACT_SENTENCES = 4
_EXTRACT_MIN_OVERLAP = 0.25


@dataclass
class Citation:
    n: int
    source: str
    title: str
    heading: str
    text: str


@dataclass
class Answer:
    answer: str
    mode: str  # "llm" or "extractive"
    query: str
    citations: list[Citation] = field(default_factory=list)

    def to_dict(self) -> dict:
        return asdict(self)


def citation(n: int, hit: Hit) -> Citation:
    s = hit.section
    return Citation(n, s.source, s.title, s.label, s.text)


def validate_history(history: list[dict]) -> list[dict]:
    for turn in history:
        if not isinstance(turn, dict) or turn.get("role") not in ("user", "assistant") or not isinstance(turn.get("content"), str):
            raise BiganError('history must be a list of {"role": "user"|"assistant", "content": "..."}')
    return history


def is_follow_up(question: str) -> bool:
    return len(question.strip()) <= 8 or bool(_FOLLOW_UP_RE.search(question.strip()))


def standalone_question(question: str, history: list[dict], llm: LLM | None, settings: Settings) -> str:
    """The question with the conversation folded in, so that it retrieves on its own."""
    asked = [h["content"] for h in history if h["role"] == "user"]
    if not asked:
        return question
    if llm is not None:
        transcript = "\n".join(f"{'用户' if h['role'] == 'user' else '助手'}：{h['content'][:300]}" for h in history[-6:])
        rewritten = llm.complete([HumanMessage(render(settings, "rewrite", history=transcript, question=question))])
        return rewritten.strip().splitlines()[0].strip() if rewritten.strip() else question
    if not is_follow_up(question):
        return question
    # Offline: carry the subject of the last self-contained question into this one.
    subject = next((q for q in reversed(asked) if not is_follow_up(q)), asked[-1])
    return f"{subject} {question}"


_FUNCTION_CHARS = set("的了和与及是在对把被为之等也就都而并，。、；：！？“”《》（）")


def _bigrams(text: str) -> set[str]:
    """Character bigrams, leaving out those that touch a function word or punctuation."""
    key = match_key(text)
    return {key[i : i + 2] for i in range(len(key) - 1) if not (_FUNCTION_CHARS & set(key[i : i + 2]))}


def extractive_answer(query: str, hits: list[Hit]) -> tuple[str, list[Citation]]:
    wanted = _bigrams(_QUESTION_WORDS_RE.sub("", query))
    scored = []
    for n, hit in enumerate(hits[:_EXTRACT_PASSAGES], start=1):
        for position, sentence in enumerate(split_sentences(hit.section.text)):
            overlap = len(wanted & _bigrams(sentence)) / max(len(wanted), 1)
            if overlap >= _EXTRACT_MIN_OVERLAP:
                scored.append((overlap, n, position, sentence.strip()))
    chosen = sorted(sorted(scored, reverse=True)[:_EXTRACT_SENTENCES], key=lambda s: (s[1], s[2]))
    if not chosen:
        return NOT_FOUND, []
    text = "".join(f"{sentence}[{n}]" for _, n, _, sentence in chosen)
    cited = sorted({n for _, n, _, _ in chosen})
    return text, [citation(n, hits[n - 1]) for n in cited]


def matched_sentences(passage: str, answer: str, threshold: float = 0.5) -> list[tuple[str, bool]]:
    """The passage cut into sentences, each flagged when the answer took from it (shared content bigrams)."""
    said = _bigrams(_CITATION_RE.sub("", answer))
    out = []
    for sentence in split_sentences(passage):
        own = _bigrams(sentence)
        out.append((sentence, bool(own) and len(own & said) / len(own) >= threshold))
    return out


def _keep_given_citations(text: str, given: int) -> tuple[str, list[int]]:
    """Drop citation marks that point at no given passage; return the text and the numbers cited."""
    cited: list[int] = []

    def check(match: re.Match) -> str:
        n = int(match.group(1))
        if 1 <= n <= given:
            if n not in cited:
                cited.append(n)
            return match.group(0)
        return ""

    return _CITATION_RE.sub(check, text), sorted(cited)


def ask_stream(
    question: str, history: list[dict], searcher: Searcher, settings: Settings, llm: LLM | None
) -> Iterator[str | Answer]:
    """Yield the answer's text piece by piece, then the finished Answer."""
    question = question.strip()
    if not question:
        raise BiganError("the question is empty")
    history = validate_history(history)
    query = standalone_question(question, history, llm, settings)
    hits = searcher.search(query, settings.answer_passages)
    if llm is None:
        text, citations = extractive_answer(query, hits)
        yield text
        yield Answer(text, "extractive", query, citations)
        return

    system = system_message(settings, "qa_system")
    packed = pack(settings, [system, HumanMessage(render(settings, "qa_user", passages="", question=question))], hits, history, "passage")
    user = HumanMessage(render(settings, "qa_user", passages="\n\n".join(packed.blocks), question=question))
    pieces = []
    for piece in llm.stream([system, *history_messages(packed.history), user]):
        pieces.append(piece)
        yield piece
    text, cited = _keep_given_citations("".join(pieces), len(packed.hits))
    yield Answer(text.strip(), "llm", query, [citation(n, packed.hits[n - 1]) for n in cited])


def ask(question: str, history: list[dict], searcher: Searcher, settings: Settings, llm: LLM | None) -> Answer:
    *_, answer = ask_stream(question, history, searcher, settings, llm)
    return answer
