"""The chat-model backend, chosen by one setting: an OpenAI-compatible endpoint, or none (offline)."""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import openai
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import BaseMessage

from ..config import Settings
from ..errors import BiganError

OFFLINE_NOTE = (
    "离线模式：未配置大模型，以下为检索摘录。"
    "连接模型请设置 BIGAN_LLM_BASE_URL 与 BIGAN_LLM_MODEL（如本地 Ollama: http://127.0.0.1:11434/v1）。"
)


class LLMError(BiganError):
    """The model endpoint failed; the message says what went wrong and what to check."""


@dataclass
class LLM:
    """A configured chat model plus what the user should be told about it."""

    chat: BaseChatModel
    model: str
    base_url: str
    max_tokens: int
    context_window: int
    _secret: str

    def describe(self) -> str:
        return f"{self.model} @ {self.base_url or 'OpenAI'}"

    def stream(self, messages: list[BaseMessage]) -> Iterator[str]:
        """Yield the reply piece by piece; raise LLMError on any failure, including a reply cut short."""
        finish = None
        received = False
        try:
            for chunk in self.chat.stream(messages):
                finish = chunk.response_metadata.get("finish_reason") or finish
                if chunk.content:
                    received = True
                    yield str(chunk.content)
        except openai.OpenAIError as exc:
            raise LLMError(self._explain(exc)) from None
        except ValueError as exc:  # a reply the client could not parse
            if "No generation chunks" in str(exc):
                raise LLMError(self._empty()) from None
            raise LLMError(self._redact(f"the model endpoint sent a malformed reply ({exc}); check that {self.base_url} is an OpenAI-compatible /v1 endpoint")) from None
        if not received:
            raise LLMError(self._empty())
        if finish == "length":
            raise LLMError(
                f"the reply was cut off at the output limit ({self.max_tokens} tokens); "
                "raise BIGAN_LLM_MAX_TOKENS or ask for a shorter text"
            )

    def complete(self, messages: list[BaseMessage]) -> str:
        return "".join(self.stream(messages))

    def _empty(self) -> str:
        return (
            f"the model {self.model} returned an empty or unreadable reply; check the model name, that "
            f"{self.base_url or 'the endpoint'} is an OpenAI-compatible /v1 endpoint, and the server's logs"
        )

    def _redact(self, text: str) -> str:
        return text.replace(self._secret, "***") if self._secret else text

    def _explain(self, exc: openai.OpenAIError) -> str:
        where = self.base_url or "the OpenAI API"
        status = getattr(exc, "status_code", "?")
        template = next((text for kind, text in _EXPLANATIONS if isinstance(exc, kind)), _UNREADABLE)
        return self._redact(template.format(where=where, model=self.model, status=status))


# Most specific first: the openai exception classes inherit from one another.
_EXPLANATIONS: list[tuple[type[openai.OpenAIError], str]] = [
    (openai.APITimeoutError, "the model endpoint {where} did not answer in time; check that the server is up and not overloaded, or raise BIGAN_LLM_TIMEOUT"),
    (openai.APIConnectionError, "cannot connect to the model endpoint {where}; check BIGAN_LLM_BASE_URL and that the server is running"),
    (openai.AuthenticationError, "the model endpoint {where} refused the API key (401); check BIGAN_LLM_API_KEY"),
    (openai.PermissionDeniedError, "the API key may not use model {model} (403); check the key's permissions"),
    (openai.NotFoundError, "the endpoint {where} does not know model '{model}' (404); check BIGAN_LLM_MODEL and the base URL"),
    (openai.RateLimitError, "the model endpoint {where} is rate-limiting requests (429) and retries did not help; wait and try again, or check the quota"),
    (openai.InternalServerError, "the model endpoint {where} had a server error ({status}) and retries did not help; check the server's logs"),
    (openai.APIStatusError, "the model endpoint {where} answered {status}; check the model settings"),
]
_UNREADABLE = "the model endpoint {where} sent a reply that could not be read; check that it is OpenAI-compatible"


def get_llm(settings: Settings) -> LLM | None:
    """The configured chat model, or None when Bigan runs offline."""
    match settings.llm_backend:
        case "none":
            return None
        case "openai":
            from langchain_openai import ChatOpenAI

            if not settings.llm_model:
                raise BiganError("an LLM endpoint is configured but no model name; set BIGAN_LLM_MODEL")
            secret = settings.llm_api_key.get_secret_value()
            chat = ChatOpenAI(
                model=settings.llm_model,
                base_url=settings.llm_base_url or None,
                # Local servers (Ollama, vLLM, llama.cpp) accept any key; the client insists on one.
                api_key=secret or "not-needed",
                temperature=settings.llm_temperature,
                timeout=settings.llm_timeout,
                max_retries=settings.llm_max_retries,
                # `max_tokens` is what every OpenAI-compatible server understands.
                extra_body={"max_tokens": settings.llm_max_tokens},
            )
            return LLM(chat, settings.llm_model, settings.llm_base_url, settings.llm_max_tokens, settings.llm_context_window, secret)
        case other:
            raise BiganError(f"unknown BIGAN_LLM_PROVIDER '{other}' (use openai, none or auto)")
