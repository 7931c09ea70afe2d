"""Prompt templates (text files, loaded by name) and token-budget packing.

The templates and style guides ship inside the package (the repository's `prompts/` folder, installed
as `assistant.prompt_files`). A file of the same name in `prompts_dir` (BIGAN_PROMPTS_DIR) replaces
the shipped one, so an office can reword one prompt and keep the rest as they come with upgrades.

Templates use {name} placeholders (LangChain's f-string PromptTemplate). Budgets are counted with
tiktoken: no endpoint tells us its tokenizer, and cl100k overestimates Chinese slightly, which errs
on the safe side.

Passages are data, never instructions. Each request fences them with tags carrying a fresh random
token, and angle brackets in passage text, titles and headings are replaced by their full-width
forms, so a document can neither close its fence nor open a forged one.
"""
from __future__ import annotations

import secrets
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage
from langchain_core.prompts import PromptTemplate

from .config import Settings
from .errors import BiganError
from .retrieve import Hit
from .text.tokens import count_tokens

PACKAGED_PROMPTS = "assistant.prompt_files"
SAFETY_MARGIN = 256
MESSAGE_OVERHEAD = 8  # role markers and separators per message
_DATA_ESCAPES = str.maketrans({"<": "＜", ">": "＞"})
_ATTRIBUTE_ESCAPES = str.maketrans({"<": "＜", ">": "＞", '"': "＂", "\n": " ", "\r": " "})


def new_fence() -> str:
    """A token for one request's data tags; a document cannot know it in advance."""
    return secrets.token_hex(4)


def quote_data(text: str) -> str:
    """Passage text with nothing that could read as a tag."""
    return text.translate(_DATA_ESCAPES)


def quote_attribute(text: str) -> str:
    """A title, heading or file name that stays inside its quoted attribute on the tag's line."""
    return text.translate(_ATTRIBUTE_ESCAPES)


def template_text(settings: Settings, name: str) -> str:
    """The text of template `name` (e.g. "qa_system", "style/讲话稿"): the override if there is one, else the shipped one."""
    file_name = f"{name}.txt"
    if settings.prompts_dir is not None:
        folder = Path(settings.prompts_dir)
        if not folder.is_dir():
            raise BiganError(f"the prompts folder {folder} (BIGAN_PROMPTS_DIR) does not exist")
        if (folder / file_name).is_file():
            return (folder / file_name).read_text(encoding="utf-8")
    packaged = resources.files(PACKAGED_PROMPTS).joinpath(*file_name.split("/"))
    if not packaged.is_file():
        raise BiganError(f"prompt template {file_name} is missing")
    return packaged.read_text(encoding="utf-8")


def load_prompt(settings: Settings, name: str) -> PromptTemplate:
    return PromptTemplate.from_template(template_text(settings, name))


def render(settings: Settings, name: str, **values: object) -> str:
    return load_prompt(settings, name).format(**values).strip()


def message_tokens(messages: list[BaseMessage], encoding: str = "cl100k_base") -> int:
    return sum(count_tokens(str(m.content), encoding) + MESSAGE_OVERHEAD for m in messages)


def history_messages(history: list[dict]) -> list[BaseMessage]:
    return [HumanMessage(h["content"]) if h["role"] == "user" else AIMessage(h["content"]) for h in history]


@dataclass
class Packed:
    hits: list[Hit]
    blocks: list[str]
    history: list[dict]


def pack(
    settings: Settings,
    fixed: list[BaseMessage],
    hits: list[Hit],
    history: list[dict],
    template: str,
    fence: str,
) -> Packed:
    """Fit passages (best first) and history (newest first) into the context window.

    Passages are rendered with `template` inside tags marked with `fence`, their text quoted.

    budget = window − max output − fixed messages (system, question) − history − margin. Oldest
    history turns are dropped first, as long as that lets at least one passage in.
    """
    fixed_tokens = message_tokens(fixed, settings.token_encoding)
    available = settings.llm_context_window - settings.llm_max_tokens - fixed_tokens - SAFETY_MARGIN
    if available <= 0:
        raise BiganError(
            f"the context window ({settings.llm_context_window} tokens) is too small for the prompt and "
            f"{settings.llm_max_tokens} output tokens; raise BIGAN_LLM_CONTEXT_WINDOW or lower BIGAN_LLM_MAX_TOKENS"
        )
    blocks = [
        render(
            settings, template, fence=fence, n=n, source=quote_attribute(h.section.source), title=quote_attribute(h.section.title),
            heading=quote_attribute(h.section.label), text=quote_data(h.section.text),
        )
        for n, h in enumerate(hits, start=1)
    ]
    costs = [count_tokens(b, settings.token_encoding) for b in blocks]
    kept_history = list(history)

    def history_cost() -> int:
        return message_tokens(history_messages(kept_history), settings.token_encoding)

    while kept_history and costs and history_cost() + costs[0] > available:
        kept_history = kept_history[2:] if len(kept_history) > 1 else []
    budget = available - history_cost()
    used, kept = 0, 0
    for cost in costs:
        if used + cost > budget:
            break
        used += cost
        kept += 1
    return Packed(hits[:kept], blocks[:kept], kept_history)


def system_message(settings: Settings, name: str, **values: object) -> SystemMessage:
    return SystemMessage(render(settings, name, **values))
