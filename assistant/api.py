"""The OpenAI-compatible API under /v1: a thin shell over the service layer, for tools that speak the
OpenAI chat API (Open WebUI, Dify, LobeChat, Cherry Studio, bots, scripts).

- GET /v1/models: `bigan` (answers from the KB, with citations) and `bigan-draft` (drafting; `genre`,
  `length`, `points` as extra body fields).
- POST /v1/chat/completions, plain or streamed (SSE ending `data: [DONE]`); the completion, and the
  last chunk of a stream, carry `citations`.
- POST /v1/search (retrieval) and GET /v1/documents (the KB's documents).

With keys set (BIGAN_API_KEYS) every call needs `Authorization: Bearer <key>`. Every error is an
OpenAI-style body `{"error": {"message", "type", "param", "code"}}`; no traceback is ever sent.
Documents are named by file name only, as the web app shows them: no server path leaves the server.
"""
from __future__ import annotations

import json
import logging
import secrets
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Literal

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.concurrency import run_in_threadpool

from .answer import Answer, Citation
from .draft import GENRES, Draft
from .errors import BiganError
from .service import Citations, Done, Event, Failed, Service, TextDelta

ASK_MODEL = "bigan"
DRAFT_MODEL = "bigan-draft"
MODELS = {
    ASK_MODEL: "问答：只依据知识库回答，带引用 [n]",
    DRAFT_MODEL: f"起草：按本单位文风起草；请求体可带 genre（{'、'.join(GENRES)}）、length（字数）、points（要点）",
}
MAX_SEARCH_K = 50
log = logging.getLogger(__name__)


class ApiError(Exception):
    """An error the API answers with an OpenAI-style body."""

    def __init__(self, status: int, message: str, type_: str = "invalid_request_error", param: str | None = None,
                 code: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.body = {"error": {"message": message, "type": type_, "param": param, "code": code}}


def error_response(exc: ApiError) -> JSONResponse:
    return JSONResponse(exc.body, status_code=exc.status)


# --- request bodies ----------------------------------------------------------------------------


class TextPart(BaseModel):
    model_config = ConfigDict(extra="allow")
    type: Literal["text"]
    text: str


class Message(BaseModel):
    model_config = ConfigDict(extra="allow")  # name, tool_calls … are accepted and ignored
    role: Literal["system", "developer", "user", "assistant", "tool"]
    content: str | list[TextPart] | None = None

    @property
    def text(self) -> str:
        if isinstance(self.content, list):
            return "".join(part.text for part in self.content)
        return self.content or ""


class ChatRequest(BaseModel):
    model_config = ConfigDict(extra="allow")  # temperature, max_tokens, user … are accepted and ignored
    model: str
    messages: list[Message]
    stream: bool = False
    # bigan-draft's own fields
    genre: str = "讲话稿"
    length: int | None = Field(None, description="characters")
    points: str = ""


class SearchRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    query: str
    k: int = Field(5, ge=1, le=MAX_SEARCH_K)


def _parse(model: type[BaseModel], body: bytes) -> BaseModel:
    try:
        data = json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ApiError(400, f"the request body is not valid JSON ({exc})") from None
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        param = ".".join(str(part) for part in first["loc"]) or None
        raise ApiError(400, f"{param}: {first['msg']}" if param else first["msg"], param=param) from None


# --- the router --------------------------------------------------------------------------------


def install(app: FastAPI, service: Service) -> None:
    """Add the /v1 routes over `service` to `app`."""
    settings = service.settings
    keys = settings.api_key_list
    limit = settings.api_max_request_kb * 1024

    async def authorize(request: Request) -> None:
        if not keys:
            return
        scheme, _, given = request.headers.get("authorization", "").partition(" ")
        # Every key is compared, in constant time, so the timing tells nothing about any of them.
        matched = [secrets.compare_digest(given.strip().encode(), key.encode()) for key in keys]
        if scheme.lower() != "bearer" or not any(matched):
            raise ApiError(401, "Incorrect API key provided; send 'Authorization: Bearer <key>' with a key from BIGAN_API_KEYS.",
                           code="invalid_api_key")

    async def body(request: Request) -> bytes:
        declared = request.headers.get("content-length")
        if declared and declared.isdigit() and int(declared) > limit:
            raise _too_large(limit)
        chunks, size = [], 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise _too_large(limit)
            chunks.append(chunk)
        return b"".join(chunks)

    router = APIRouter(prefix="/v1", dependencies=[Depends(authorize)])

    @router.get("/models")
    async def list_models() -> dict:
        return {"object": "list", "data": [_model(name) for name in MODELS]}

    @router.get("/models/{name}")
    async def get_model(name: str) -> dict:
        if name not in MODELS:
            raise _unknown_model(name)
        return _model(name)

    @router.post("/chat/completions")
    async def chat_completions(request: Request):
        req = _parse(ChatRequest, await body(request))
        events = _chat_events(service, req)
        if req.stream:
            first = await run_in_threadpool(_first_event, events)
            if isinstance(first, Failed):  # nothing sent yet: a plain error response
                raise _failure(first)
            return StreamingResponse(_sse(req.model, first, events), media_type="text/event-stream",
                                     headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})
        text, cited, result = await run_in_threadpool(_collect, events)
        return _completion(req.model, text, cited, result)

    @router.post("/search")
    async def search(request: Request) -> dict:
        req = _parse(SearchRequest, await body(request))
        try:
            hits = await run_in_threadpool(service.search, req.query, req.k)
        except BiganError as exc:
            raise ApiError(400, service.public(str(exc)), param="query") from None
        return {"object": "list", "data": [
            {"rank": n, "score": round(h.score, 6), "source": Path(h.section.source).name, "title": h.section.title,
             "heading": h.section.label, "text": h.section.text, "document_id": h.section.doc_id}
            for n, h in enumerate(hits, start=1)
        ]}

    @router.get("/documents")
    async def documents() -> dict:
        try:
            rows = await run_in_threadpool(service.documents)
        except BiganError as exc:
            raise ApiError(503, service.public(str(exc)), type_="server_error") from None
        return {"object": "list", "data": [
            {"id": r["id"], "name": r["name"], "title": r["title"], "sections": r["sections"], "chars": r["chars"],
             "added": r["added"]}
            for r in rows
        ]}

    app.include_router(router)

    @app.exception_handler(ApiError)
    async def api_error(_: Request, exc: ApiError) -> JSONResponse:
        return error_response(exc)

    @app.exception_handler(Exception)
    async def unexpected(_: Request, exc: Exception) -> JSONResponse:
        # A bug, not the request: logged here, and the client gets an error body, never a traceback.
        log.error("unexpected error in the API", exc_info=exc)
        return error_response(ApiError(500, "internal error; see the server log", type_="server_error"))


def _model(name: str) -> dict:
    return {"id": name, "object": "model", "created": 0, "owned_by": "bigan", "description": MODELS[name]}


def _unknown_model(name: str) -> ApiError:
    return ApiError(404, f"The model '{name}' does not exist; use one of: {', '.join(MODELS)}", param="model",
                    code="model_not_found")


def _too_large(limit: int) -> ApiError:
    return ApiError(413, f"the request body is larger than {limit // 1024} KB (BIGAN_API_MAX_REQUEST_KB)",
                    code="request_too_large")


def _failure(failed: Failed) -> ApiError:
    if failed.by_model:
        return ApiError(502, failed.message, type_="server_error", code="model_error")
    return ApiError(400, failed.message, param="messages")


def _chat_events(service: Service, req: ChatRequest) -> Iterator[Event]:
    """The service's events for this request; a malformed conversation is an ApiError before any work."""
    if req.model not in MODELS:
        raise _unknown_model(req.model)
    limit = service.settings.api_max_messages
    if not req.messages:
        raise ApiError(400, "messages must hold at least one message", param="messages", code="empty_messages")
    if len(req.messages) > limit:
        raise ApiError(400, f"too many messages ({len(req.messages)}); at most {limit} (BIGAN_API_MAX_MESSAGES)",
                       param="messages")
    # The client's system messages are accepted but not followed: Bigan's own instructions keep
    # answers to the KB and its citations.
    turns = [m for m in req.messages if m.role in ("user", "assistant")]
    if not turns or turns[-1].role != "user":
        raise ApiError(400, "the last message must be the user's", param="messages")
    question = turns[-1].text
    if not question.strip():
        raise ApiError(400, "the last user message is empty", param="messages")
    if req.model == DRAFT_MODEL:
        return service.draft_events(question, req.genre, req.length, req.points)
    history = [{"role": m.role, "content": m.text} for m in turns[:-1]]
    return service.ask_events(question, history)


def _first_event(events: Iterator[Event]) -> Event:
    return next(events)


def _collect(events: Iterator[Event]) -> tuple[str, list[Citation], Answer | Draft]:
    cited: list[Citation] = []
    for event in events:
        match event:
            case Citations(items):
                cited = items
            case Done(result):
                text = result.answer if isinstance(result, Answer) else result.text
                return text, cited, result
            case Failed():
                raise _failure(event)
    raise ApiError(500, "the answer ended without a result", type_="server_error")


def _citation(c: Citation) -> dict:
    return {"index": c.n, "source": Path(c.source).name, "title": c.title, "heading_path": c.heading, "text": c.text}


def _extra(cited: list[Citation], result: Answer | Draft) -> dict:
    """What Bigan adds to a completion: the citations, and how the text was made."""
    extra = {"citations": [_citation(c) for c in cited], "bigan": {"mode": result.mode}}
    if isinstance(result, Answer):
        extra["bigan"]["query"] = result.query
    return extra


def _completion(model: str, text: str, cited: list[Citation], result: Answer | Draft) -> dict:
    return {
        "id": f"chatcmpl-{secrets.token_hex(12)}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
        **_extra(cited, result),
    }


def _sse(model: str, first: Event, events: Iterator[Event]) -> Iterator[str]:
    """The events as chat.completion.chunk Server-Sent Events, ending `data: [DONE]`.

    A failure after text went out is an `error` event (what OpenAI's clients raise on), then [DONE].
    """
    head = {"id": f"chatcmpl-{secrets.token_hex(12)}", "object": "chat.completion.chunk", "created": int(time.time()), "model": model}

    def chunk(delta: dict, finish: str | None = None, **extra) -> str:
        data = {**head, "choices": [{"index": 0, "delta": delta, "finish_reason": finish}], **extra}
        return f"data: {json.dumps(data, ensure_ascii=False)}\n\n"

    yield chunk({"role": "assistant", "content": ""})
    cited: list[Citation] = []
    for event in _chain(first, events):
        match event:
            case TextDelta(text):
                yield chunk({"content": text})
            case Citations(items):
                cited = items
            case Done(result):
                yield chunk({}, "stop", **_extra(cited, result))
            case Failed():
                yield f"data: {json.dumps(_failure(event).body, ensure_ascii=False)}\n\n"
                break
    yield "data: [DONE]\n\n"


def _chain(first: Event, rest: Iterator[Event]) -> Iterator[Event]:
    yield first
    yield from rest
