"""What `bigan serve` runs: one FastAPI app on one port, the OpenAI-compatible API under `/v1`
(api.py) and the web app (Gradio) mounted at `/`, both over one service.

The port opens at once and the model and the KB load beside it; a question asked meanwhile waits
for them (Workspace.searcher's lock) instead of failing.
"""
from __future__ import annotations

import ipaddress
import logging
import os
import socket
import sys
import threading
import time
import webbrowser
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import gradio as gr
import uvicorn
from fastapi import FastAPI
from starlette.middleware import Middleware
from starlette.responses import JSONResponse, PlainTextResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from . import api, ui
from .components.llm import LLM
from .config import Settings
from .errors import BiganError
from .service import FROM_SETTINGS, Service

log = logging.getLogger(__name__)

_START_TIMEOUT_S = 60


class RefuseUploads:
    """ASGI middleware for uploads off: Gradio's upload route answers 403 and stores nothing."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].rstrip("/").endswith("/gradio_api/upload"):
            await PlainTextResponse("上传已关闭", status_code=403)(scope, receive, send)
            return
        await self.app(scope, receive, send)


def create_app(service: Service, serve_api: bool = True) -> FastAPI:
    """The ASGI app: the web app at `/` and, with `serve_api`, the /v1 API, over `service` (started,
    loaded and closed by the app's lifespan)."""
    settings = service.settings
    # A missing or outdated KB is a one-line error before the port opens (listing needs no model); this
    # also makes the shared workspace here, before any request thread could race to make it.
    service.shared.documents()
    # Gradio's uploads and handed-out copies go in this server's own folder, removed with it (or by the
    # next start if this process dies), and the paths in its file responses say nothing about this host.
    os.environ.setdefault("GRADIO_TEMP_DIR", str(service.run.path / "gradio"))
    blocks = ui.build_app(settings, service)
    blocks.queue(default_concurrency_limit=settings.queue_concurrency, max_size=64)
    # Gradio runs at most this many events at once, whatever each group allows (what launch(max_threads=) sets).
    blocks.max_threads = settings.answer_concurrency + settings.queue_concurrency + 8
    blocks._queue.max_thread_count = blocks.max_threads

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        service.start()
        threading.Thread(target=_load, args=(service,), name="bigan-load", daemon=True).start()
        try:
            yield
        finally:
            service.close()

    middleware = [] if service.uploads_allowed else [Middleware(RefuseUploads)]
    # No generated API docs: they would load their scripts from the internet.
    app = FastAPI(lifespan=lifespan, middleware=middleware, docs_url=None, redoc_url=None, openapi_url=None)
    @app.get("/healthz", include_in_schema=False)
    def healthz() -> JSONResponse:
        """For hosting platforms' health checks and scripts: 200 once a question is answered without waiting."""
        ready = service.ready.is_set()
        return JSONResponse({"status": "ready" if ready else "loading"}, status_code=200 if ready else 503)

    if serve_api:
        api.install(app, service)
    return gr.mount_gradio_app(
        app, blocks, "/",
        max_file_size=f"{settings.max_upload_mb}mb",
        allowed_paths=[str(service.drafts)],
        show_error=False,
        ssr_mode=False,
        **ui.mount_options(),
    )


def is_loopback(host: str) -> bool:
    """Whether every address `host` stands for is this machine's own (127.0.0.0/8, ::1)."""
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(host, None)
    except OSError:
        return False
    return bool(infos) and all(ipaddress.ip_address(info[4][0]).is_loopback for info in infos)


def _load(service: Service) -> None:
    try:
        service.load()
    except BiganError as exc:  # the page shows it on the next question; the log says it once, in one line
        log.error("loading the knowledge base failed: %s", exc)


def api_refusal(settings: Settings, host: str) -> str | None:
    """Why the /v1 API must not be served on `host`, or None: beyond this machine it needs keys, else anyone
    on the network could use the KB and the model. The web app is served either way (a hosted demo)."""
    if not settings.api_key_list and not is_loopback(host):
        return (
            f"the /v1 API is not served on {host}: no keys are set. Set BIGAN_API_KEYS (comma-separated) to serve it, "
            "or listen on 127.0.0.1; the web app is served"
        )
    return None


class Server:
    """A running server: `url`, and close() to stop it (the lifespan removes its temp folder)."""

    def __init__(self, server: uvicorn.Server, thread: threading.Thread, url: str) -> None:
        self._server = server
        self._thread = thread
        self.url = url

    def close(self) -> None:
        self._server.should_exit = True
        self._thread.join()


def launch(settings: Settings, host: str | None = None, port: int | None = None, open_browser: bool = False,
           block: bool = True, llm: LLM | None | object = FROM_SETTINGS) -> Server:
    """Serve the app; with `block` False, return once it answers (the caller closes it)."""
    host = host or settings.server_host
    port = port or settings.server_port
    refusal = api_refusal(settings, host)
    if refusal:
        print(f"bigan: {refusal}", file=sys.stderr, flush=True)
    service = Service(settings, llm, served=True)
    # Bound here, so that a taken port is a one-line error before anything else starts.
    try:
        sock = socket.create_server((host, port), family=socket.AF_INET6 if ":" in host else socket.AF_INET)
    except OSError as exc:
        raise BiganError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    try:
        app = create_app(service, serve_api=refusal is None)
    except BaseException:
        sock.close()
        service.close()
        raise
    config = uvicorn.Config(app, log_level="warning", timeout_graceful_shutdown=5)
    server = uvicorn.Server(config)
    url = f"http://{'127.0.0.1' if host in ('0.0.0.0', '::') else host}:{port}/"
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name="bigan-server", daemon=True)
    handle = Server(server, thread, url)
    if block:
        # In the main thread uvicorn handles SIGINT/SIGTERM itself: the lifespan closes and the temp folder goes.
        print(f"笔杆子 Bigan: {url}", flush=True)
        if open_browser:
            threading.Thread(target=_open_when_started, args=(server, url), daemon=True).start()
        server.run(sockets=[sock])
        return handle
    thread.start()
    deadline = time.monotonic() + _START_TIMEOUT_S
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            handle.close()
            raise BiganError("the server did not start")
        time.sleep(0.05)
    return handle


def _open_when_started(server: uvicorn.Server, url: str) -> None:
    while not server.started and not server.should_exit:
        time.sleep(0.1)
    if server.started:
        webbrowser.open(url)
