"""The chat-model backend, chosen by one setting: an OpenAI-compatible endpoint, or none (offline);
or any LangChain chat model a program passes in (LLM.from_langchain).

A reply is read on a worker thread, so one total deadline holds however the endpoint misbehaves
(slow to connect, slow to start, trickling forever). What arrives is capped at the output limit;
a reply that ends early keeps what was shown, marked with CUT_MARK, and the error says why.
Retries happen only where they can help and only while the deadline allows. Secrets (the API key,
userinfo and token parameters in the URL) never reach messages or logs.
"""
from __future__ import annotations

import logging
import queue
import re
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from urllib.parse import parse_qsl, urlsplit, urlunsplit

import openai
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import BaseMessage
from pydantic import SecretStr

from ..config import Settings, get_settings
from ..errors import BiganError
from ..text.tokens import count_tokens, get_encoding

OFFLINE_NOTE = (
    "离线模式：未配置大模型，以下为检索摘录。"
    "连接模型请设置 BIGAN_LLM_BASE_URL 与 BIGAN_LLM_MODEL（如本地 Ollama: http://127.0.0.1:11434/v1）。"
)
CUT_MARK = "（回复中断）"

# Endpoints count tokens with their own tokenizer; Chinese-first tokenizers fit up to ~2 characters
# in a token where cl100k spends ~1.3 tokens on one, so an honest full-length reply stays under 3x.
_CAP_FACTOR = 3
_CHARS_PER_TOKEN_BOUND = 8  # no tokenizer averages more; bounds the counting work on one giant chunk
_RETRYABLE_STATUS = {429, 502, 503, 504}
_BACKOFF_S = 0.5
_DETAIL_CHARS = 120


class LLMError(BiganError):
    """The model endpoint failed; the message says what went wrong and what to check."""


# --- secrets ---------------------------------------------------------------------------------

_USERINFO_RE = re.compile(r"(\b[a-zA-Z][a-zA-Z0-9+.-]*://)[^/\s@'\"]+@")
_SECRET_NAMES = r"(?:[\w.-]*[-_.])?(?:key|apikey|token|secret|password|passwd|pwd|auth|sig|signature|credentials?)"
# A parameter in a query string or a `name=value` in free text: `?key=…`, `&access_token=…`, `api_key=…`.
_SECRET_PARAM_RE = re.compile(rf"(?i)((?:^|(?<=[?&;\s])){_SECRET_NAMES}=)[^&#\s'\"]+")
_BEARER_RE = re.compile(r"(?i)\bBearer\s+[\w.~+/=-]+")
_SECRET_NAME_RE = re.compile(rf"(?i){_SECRET_NAMES}")


class Redactor:
    """Masks secrets in text: the given ones, URL userinfo, token-like query values, bearer tokens."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self.secrets: set[str] = set()
        self.add(secrets)

    def add(self, secrets: Iterable[str]) -> None:
        # Very short values (a local server's dummy key) would mask ordinary words and protect nothing.
        self.secrets.update(s for s in secrets if len(s) >= 4)

    def __call__(self, text: str) -> str:
        for secret in sorted(self.secrets, key=len, reverse=True):
            text = text.replace(secret, "***")
        text = _USERINFO_RE.sub(r"\1***@", text)
        text = _SECRET_PARAM_RE.sub(r"\1***", text)
        return _BEARER_RE.sub("Bearer ***", text)


def url_secrets(url: str) -> list[str]:
    """The secret parts of a URL: userinfo, its password, and values of token-like query parameters."""
    parts = urlsplit(url)
    found = [v for k, v in parse_qsl(parts.query) if _SECRET_NAME_RE.fullmatch(k)]
    if "@" in parts.netloc:
        userinfo = parts.netloc.rsplit("@", 1)[0]
        found += [userinfo, parts.password or userinfo]
    return found


class _RedactLogs(logging.Filter):
    """Rewrites records of the HTTP and OpenAI clients, which log request URLs."""

    def __init__(self) -> None:
        super().__init__()
        self.redact = Redactor()

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg, record.args = self.redact(record.getMessage()), None
        return True


_LOG_FILTER = _RedactLogs()
for _name in ("httpx2", "httpx", "openai._base_client"):
    logging.getLogger(_name).addFilter(_LOG_FILTER)


# --- failures --------------------------------------------------------------------------------

_MESSAGES = {
    "connect": "无法连接模型服务 {where}{retried}；请检查 BIGAN_LLM_BASE_URL 是否正确、服务是否已启动",
    "timeout": "模型服务 {where} 在 {timeout:g} 秒内没有响应；请检查服务是否运行、是否过载，或调大 BIGAN_LLM_TIMEOUT",
    "stall": "模型服务 {where} 在回复中途超过 {timeout:g} 秒没有新内容，回复不完整；请检查服务是否过载，或调大 BIGAN_LLM_TIMEOUT",
    "deadline": "模型回复超过总时限 {deadline:g} 秒仍未完成，已中止；请检查服务是否过载，或调大 BIGAN_LLM_DEADLINE",
    "cut": "模型服务 {where} 在回复中途断开了连接，回复不完整；请重试，并查看服务端日志",
    "cap": "模型回复超过输出上限（{max_tokens} tokens）仍未结束，已截断；请检查模型服务是否遵守 max_tokens 参数",
    "length": "回复达到输出上限（{max_tokens} tokens）被截断；请调大 BIGAN_LLM_MAX_TOKENS，或要求写短一些",
    "content_filter": "模型服务按内容策略中止了回复（content_filter）；请换一种说法再试",
    "empty": "模型 {model} 返回了空回复；请检查 BIGAN_LLM_MODEL 与服务端日志",
    "unreadable": "模型服务 {where} 的回复无法解析，不是 OpenAI 兼容格式{detail}；请检查 BIGAN_LLM_BASE_URL 是否指向 OpenAI 兼容的 /v1 接口",
    "reported": "模型服务 {where} 报告错误：{detail}；请查看服务端日志",
    "failed": "模型 {model}（{where}）调用出错：{detail}；请检查模型服务与该模型的配置",
    400: "模型服务 {where} 拒绝了请求（400）；请检查 BIGAN_LLM_MODEL、BIGAN_LLM_MAX_TOKENS 与 BIGAN_LLM_CONTEXT_WINDOW 是否适合该模型",
    401: "模型服务 {where} 拒绝了 API 密钥（401）；请检查 BIGAN_LLM_API_KEY",
    403: "API 密钥无权使用模型 {model}（403）；请检查密钥的权限、余额或账户状态",
    404: "模型服务 {where} 找不到模型“{model}”或接口（404）；请检查 BIGAN_LLM_MODEL，以及 BIGAN_LLM_BASE_URL 是否以 /v1 结尾",
    429: "模型服务 {where} 正在限流（429）{retried}；请稍后再试，或检查账户额度",
    500: "模型服务 {where} 内部出错（500）；请查看服务端日志",
    502: "模型服务 {where} 的网关出错（502）{retried}；请检查模型服务是否在运行",
    503: "模型服务 {where} 暂时不可用（503）{retried}；服务可能正在加载模型或已过载，请稍后再试",
    504: "模型服务 {where} 的网关等待超时（504）{retried}；服务可能已过载，请稍后再试",
    "status": "模型服务 {where} 返回错误（{status}）；请检查 BIGAN_LLM_BASE_URL、BIGAN_LLM_MODEL 与服务端日志",
}


class _Failure(Exception):
    """One attempt failed; `kind` is a key of _MESSAGES."""

    def __init__(self, kind: str | int, detail: str = "", status: int | None = None, retry_after: float | None = None) -> None:
        super().__init__(kind)
        self.kind, self.detail, self.status, self.retry_after = kind, detail, status, retry_after

    @property
    def retryable(self) -> bool:
        return self.kind == "connect" or self.kind in _RETRYABLE_STATUS


def _retry_after(exc: openai.APIStatusError) -> float | None:
    value = exc.response.headers.get("retry-after")
    if value is None:
        return None
    try:
        return max(float(value), 0.0)
    except ValueError:
        try:
            return max(parsedate_to_datetime(value).timestamp() - time.time(), 0.0)
        except (TypeError, ValueError):
            return None


def _classify(exc: Exception, received: bool) -> _Failure:
    """What an exception from the client means, given whether any reply had arrived."""
    if isinstance(exc, openai.APITimeoutError):
        return _Failure("stall" if received else "timeout")
    if isinstance(exc, openai.APIConnectionError):
        return _Failure("cut" if received else "connect")
    if isinstance(exc, openai.APIStatusError):
        status = exc.status_code
        kind = status if status in _MESSAGES else "status"
        return _Failure(kind, status=status, retry_after=_retry_after(exc) if status in _RETRYABLE_STATUS else None)
    if isinstance(exc, openai.APIError):  # an error event inside the stream
        return _Failure("reported", detail=str(exc.message))
    if received and isinstance(exc, UnicodeDecodeError):  # a multi-byte character left half-sent
        return _Failure("cut")
    if "No generation chunks" in str(exc):  # not one event could be read from the body
        return _Failure("unreadable")
    return _Failure("unreadable", detail=f"（{type(exc).__name__}）")


# --- the model -------------------------------------------------------------------------------


@dataclass
class LLM:
    """A configured chat model plus what the user should be told about it."""

    chat: BaseChatModel
    model: str
    base_url: str  # for display: userinfo and token parameters masked
    max_tokens: int
    context_window: int
    timeout: float  # seconds to connect, for the first token, and between tokens
    deadline: float  # seconds for one whole reply, retries included
    max_retries: int
    encoding: str
    redact: Redactor
    # Through ChatOpenAI to an OpenAI-compatible endpoint: per-read timeouts are passed on, every
    # complete reply ends with a finish reason (so one without was cut), and errors are the openai
    # client's. Other LangChain chat models get none of these assumptions.
    openai_compatible: bool = True

    @classmethod
    def from_langchain(cls, chat: BaseChatModel, settings: Settings | None = None, model: str | None = None) -> LLM:
        """Bigan's model over any LangChain chat model (ChatOllama, ChatTongyi, ChatOpenAI, …).

        The deadline, retries, output cap and token encoding come from `settings` (the configured
        ones by default); the model keeps its own client settings. Its secret fields are masked in
        messages and logs like the configured key.
        """
        from langchain_openai.chat_models.base import BaseChatOpenAI

        settings = settings or get_settings()
        secrets = [v.get_secret_value() for v in vars(chat).values() if isinstance(v, SecretStr)]
        endpoint = next((str(v) for a in ("openai_api_base", "base_url") if (v := getattr(chat, a, None))), "")
        secrets += url_secrets(endpoint)
        redact = Redactor(secrets)
        _LOG_FILTER.redact.add(redact.secrets)
        name = model or next(
            (v for a in ("model_name", "model", "model_id") if isinstance(v := getattr(chat, a, None), str) and v),
            type(chat).__name__,
        )
        return cls.limited(chat, name, redact(endpoint) or type(chat).__name__, settings, redact,
                           openai_compatible=isinstance(chat, BaseChatOpenAI))

    @classmethod
    def limited(cls, chat: BaseChatModel, name: str, base_url: str, settings: Settings, redact: Redactor,
                openai_compatible: bool = True) -> LLM:
        """`chat` with the output cap, context window, timeouts, retries and encoding the settings give every model."""
        return cls(
            chat, name, base_url, settings.llm_max_tokens, settings.llm_context_window, settings.llm_timeout,
            settings.llm_deadline or 5 * settings.llm_timeout, settings.llm_max_retries, settings.token_encoding,
            redact, openai_compatible=openai_compatible,
        )

    def describe(self) -> str:
        return f"{self.model} @ {self.base_url or 'OpenAI'}"

    def stream(self, messages: list[BaseMessage]) -> Iterator[str]:
        """Yield the reply piece by piece; raise LLMError on any failure.

        A failure after text was yielded yields CUT_MARK first, so the partial text reads as such.
        """
        deadline = time.monotonic() + self.deadline
        shown = False
        retried = 0
        while True:
            try:
                for piece in self._attempt(messages, deadline):
                    shown = True
                    yield piece
                return
            except _Failure as failure:
                wait = failure.retry_after if failure.retry_after is not None else _BACKOFF_S * 2**retried
                if failure.retryable and not shown and retried < self.max_retries and time.monotonic() + wait < deadline:
                    time.sleep(wait)
                    retried += 1
                    continue
                if shown:
                    yield CUT_MARK
                raise LLMError(self._explain(failure, retried)) from None

    def complete(self, messages: list[BaseMessage]) -> str:
        return "".join(self.stream(messages))

    def _attempt(self, messages: list[BaseMessage], deadline: float) -> Iterator[str]:
        """One request, read on a worker thread while this thread keeps the deadline and the cap."""
        events: queue.Queue = queue.Queue()
        stop = threading.Event()
        # The worker outlives a missed deadline by at most one read; keep that read short.
        read_timeout = max(min(self.timeout, deadline - time.monotonic()), 0.05)
        threading.Thread(target=self._pump, args=(messages, read_timeout, events, stop), daemon=True).start()
        cap, used = self.max_tokens * _CAP_FACTOR, 0
        received, finish = False, None
        try:
            while True:
                try:
                    kind, item = events.get(timeout=max(deadline - time.monotonic(), 0))
                except queue.Empty:
                    raise _Failure("deadline") from None
                if kind == "error":
                    if self.openai_compatible or isinstance(item, openai.OpenAIError):
                        raise _classify(item, received)
                    raise _Failure("failed", detail=f"{type(item).__name__}: {item}")
                if kind == "end":
                    break
                received = True
                metadata = item.response_metadata
                finish = (metadata.get("finish_reason") if self.openai_compatible else _finish_reason(metadata)) or finish
                text = str(item.content)[: cap * _CHARS_PER_TOKEN_BOUND] if item.content else ""
                if not text:
                    continue
                cost = count_tokens(text, self.encoding)
                if used + cost > cap:
                    head = self._head(text, cap - used)
                    if head:
                        yield head
                    raise _Failure("cap")
                used += cost
                yield text
        finally:
            stop.set()
        if used == 0:
            raise _Failure("empty")
        if finish is None and self.openai_compatible:  # the body ended without a finish reason: the connection was cut
            raise _Failure("cut")
        if finish in ("length", "content_filter"):
            raise _Failure(finish)

    def _pump(self, messages: list[BaseMessage], read_timeout: float, events: queue.Queue, stop: threading.Event) -> None:
        stream = self.chat.stream(messages, **({"timeout": read_timeout} if self.openai_compatible else {}))
        try:
            for chunk in stream:
                if stop.is_set():
                    return
                events.put(("chunk", chunk))
            events.put(("end", None))
        except Exception as exc:  # any failure, however odd, is explained by the reading thread
            events.put(("error", exc))
        finally:
            stream.close()  # closes the HTTP response, so an abandoned reply stops arriving

    def _head(self, text: str, tokens: int) -> str:
        """The first `tokens` tokens of text, without a half character at the end."""
        encoding = get_encoding(self.encoding)
        head = encoding.encode(text, disallowed_special=())[: max(tokens, 0)]
        return encoding.decode_bytes(head).decode("utf-8", "ignore")

    def _explain(self, failure: _Failure, retried: int) -> str:
        detail = " ".join(self.redact(failure.detail).split())[:_DETAIL_CHARS]
        text = _MESSAGES[failure.kind].format(
            where=self.base_url or "OpenAI 官方接口",
            model=self.model,
            status=failure.status,
            timeout=self.timeout,
            deadline=self.deadline,
            max_tokens=self.max_tokens,
            retried=f"，已重试 {retried} 次仍未成功" if retried else "",
            detail=detail,
        )
        return " ".join(self.redact(text).split())


# How other LangChain chat models name the reason a reply ended, and their words for our two cases.
_FINISH_KEYS = ("finish_reason", "stop_reason", "done_reason")
_FINISH_WORDS = {"max_tokens": "length", "MAX_TOKENS": "length", "SAFETY": "content_filter"}


def _finish_reason(metadata: dict) -> str | None:
    reason = next((metadata[key] for key in _FINISH_KEYS if metadata.get(key)), None)
    return _FINISH_WORDS.get(reason, reason) if isinstance(reason, str) else reason


def _split_query(url: str) -> tuple[str, dict[str, str]]:
    """The URL without its query, and the query as parameters: the client appends paths to the base URL."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(query="", fragment="")), dict(parse_qsl(parts.query))


def get_llm(settings: Settings) -> LLM | None:
    """The configured chat model, or None when Bigan runs offline."""
    match settings.llm_backend:
        case "none":
            return None
        case "openai":
            from langchain_openai import ChatOpenAI

            if not settings.llm_model:
                raise BiganError("已配置模型服务但没有模型名称；请设置 BIGAN_LLM_MODEL")
            secret = settings.llm_api_key.get_secret_value()
            redact = Redactor([secret, *url_secrets(settings.llm_base_url)])
            _LOG_FILTER.redact.add(redact.secrets)
            base_url, query = _split_query(settings.llm_base_url)
            chat = ChatOpenAI(
                model=settings.llm_model,
                base_url=base_url or None,
                default_query=query or None,
                # Local servers (Ollama, vLLM, llama.cpp) accept any key; the client insists on one.
                api_key=secret or "not-needed",
                temperature=settings.llm_temperature,
                timeout=settings.llm_timeout,
                max_retries=0,  # LLM.stream retries, within the reply's deadline
                # `max_tokens` is what every OpenAI-compatible server understands.
                extra_body={"max_tokens": settings.llm_max_tokens},
            )
            return LLM.limited(chat, settings.llm_model, redact(settings.llm_base_url), settings, redact)
        case other:
            raise BiganError(f"未知的 BIGAN_LLM_PROVIDER“{other}”；可选 openai、none 或 auto")
