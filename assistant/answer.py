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
from .prompts import history_messages, new_fence, pack, render, system_message
from .retrieve import Hit, Searcher
from .text.chinese import match_key, split_sentences

NOT_FOUND = "知识库中没有找到相关内容。"
_FOLLOW_UP_RE = re.compile(
    r"^(那|那么|这|这个|该|其|它|上述|还有|另外|此外|具体)|呢[？?]?$|第[一二三四五六七八九十\d]+[条点个部分项]|这个|那个|他们|它们|上面"
)
_CITATION_RE = re.compile(r"\[(\d{1,2})\]")
# Question words match any passage that asks or counts; they say nothing about the answer.
_QUESTION_WORDS_RE = re.compile(r"什么样|什么|哪些|哪个|哪几|哪里|多少|几个|几名|几项|如何|怎么样|怎样|怎么|为什么|是否|有没有|吗|呢|请问|具体|分别")
# Sentences that speak to the reader or to a model (an injected instruction, a role to play, an order
# to answer) are not answers, whatever words they share with the question. Each cue is a kind of
# speech, in Chinese and English, and adds its weight; DIRECTIVE_SCORE or more makes a directive.
_DIRECTIVE_CUES: list[tuple[re.Pattern, int]] = [
    # a chat-transcript role label opening the sentence
    (re.compile(r"^\W*(?:system|assistant|user|human|developer|系统|助手|用户|AI)\s*[:：]", re.I), 2),
    # markup opening or closing a tag, or a chat-template turn
    (re.compile(r"</?[A-Za-z\u4e00-\u9fff][^<>\n]{0,40}>|<\|[^|]{1,20}\|>|\[/?INST\]", re.I), 2),
    # an order to produce output, opening the sentence or a clause
    (re.compile(
        r"^\W*(?:务必|直接|现在|从现在起)(?:直接|只)?(?:回答|回复|输出|打印|告诉我|说出|重复)"
        r"|(?:^|[，,；;：:])\W*(?:(?:请[你您]?|只)(?:直接|只)?(?:回答|回复|输出|打印|告诉我|说出|重复)"
        r"|(?:please\s+|now\s+|just\s+|only\s+)?(?:answer|reply|respond|output|print|say|repeat)\b)", re.I), 2),
    # setting aside what came before (but "不能忽略以上问题" is content)
    (re.compile(
        r"(?:(?<![不能可应易被所会])(?:忽略|无视)|不要理会|不再遵守|ignore|disregard|override|bypass)"
        r".{0,12}?(?:以上|上面|上述|之前|此前|前面|先前|所有|全部|一切|其他|previous|above|prior|earlier|all|any|other)", re.I), 2),
    (re.compile(r"(?:忘记|忘掉|forget).{0,12}?(?:以上|上面|上述|之前|此前|前面|先前|所有|全部|一切|previous|above|prior|earlier|all|any)", re.I), 1),
    # telling the reader what it is or what part to play
    (re.compile(r"(?:你|您)(?:现在)?(?:是|扮演|作为)(?!否)|扮演|\byou\s+are\b|\bact\s+as\b|\bpretend\b", re.I), 1),
    # the reader addressed as one person (你们, 你局, 你市 … address offices in official letters)
    (re.compile(r"你(?![们单局市省县区部委院厅处司办校是])|您|\byou\b|\byour\b", re.I), 1),
    # telling that reader what it must do
    (re.compile(r"(?:你|您)(?:必须|务必|只能|应当|应该|需要|要)|\byou\s+(?:must|should|have\s+to|need\s+to)\b", re.I), 1),
    # talk about models, prompts and instructions
    (re.compile(r"指令|提示词|系统提示|语言模型|大模型|人工智能|智能助手|(?<!参谋)助手|\bAI\b|\bGPT|\bLLM\b|\bprompts?\b|\binstructions?\b|\bsystem\b|chatbot", re.I), 1),
]
DIRECTIVE_SCORE = 2
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


def directive_score(sentence: str) -> int:
    """How much a sentence reads as speech to the reader or to a model rather than as content."""
    return sum(weight for cue, weight in _DIRECTIVE_CUES if cue.search(sentence))


def extractive_answer(query: str, hits: list[Hit]) -> tuple[str, list[Citation]]:
    wanted = _bigrams(_QUESTION_WORDS_RE.sub("", query))
    scored = []
    for n, hit in enumerate(hits[:_EXTRACT_PASSAGES], start=1):
        for position, sentence in enumerate(split_sentences(hit.section.text)):
            if directive_score(sentence) >= DIRECTIVE_SCORE:
                continue
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

    fence = new_fence()
    system = system_message(settings, "qa_system", fence=fence)
    question_only = HumanMessage(render(settings, "qa_user", passages="", question=question))
    packed = pack(settings, [system, question_only], hits, history, "passage", fence)
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
