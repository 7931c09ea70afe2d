"""An OpenAI-compatible chat-completions server on 127.0.0.1 that records every request.

Each request takes the next scripted reply (or the default): a status, a content, a finish
reason, a delay. Streaming requests get Server-Sent Events, one chunk per few characters.
"""
from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Reply:
    content: str = "根据资料[1]，这是回答。"
    status: int = 200
    finish_reason: str = "stop"
    delay: float = 0.0
    chunk_delay: float = 0.0  # between streamed chunks, so a client can be seen streaming
    raw: bytes | None = None  # sent as the body instead of a well-formed completion


class StubLLM:
    def __init__(self) -> None:
        self.requests: list[dict] = []
        self.script: list[Reply] = []
        self.default = Reply()
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    def __enter__(self) -> "StubLLM":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._server.shutdown()
        self._server.server_close()

    def next_reply(self) -> Reply:
        with self._lock:
            return self.script.pop(0) if self.script else self.default

    def _handler(self):
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
                stub.requests.append({"path": self.path, "headers": {k.lower(): v for k, v in self.headers.items()}, "body": body})
                reply = stub.next_reply()
                time.sleep(reply.delay)
                if reply.status != 200:
                    self._send(reply.status, json.dumps({"error": {"message": "stub error", "type": "stub"}}).encode())
                elif reply.raw is not None:
                    self._send(200, reply.raw)
                elif body.get("stream"):
                    self._stream(body, reply)
                else:
                    self._send(200, json.dumps(_completion(body, reply)).encode())

            def _send(self, status: int, data: bytes) -> None:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _stream(self, body: dict, reply: Reply) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.end_headers()
                pieces = [reply.content[i : i + 3] for i in range(0, len(reply.content), 3)] or [""]
                for n, piece in enumerate(pieces):
                    last = n == len(pieces) - 1
                    chunk = {
                        "id": "stub", "object": "chat.completion.chunk", "created": 0, "model": body.get("model", ""),
                        "choices": [{"index": 0, "delta": {"content": piece}, "finish_reason": reply.finish_reason if last else None}],
                    }
                    self.wfile.write(f"data: {json.dumps(chunk, ensure_ascii=False)}\n\n".encode())
                    self.wfile.flush()
                    time.sleep(reply.chunk_delay)
                self.wfile.write(b"data: [DONE]\n\n")
                self.wfile.flush()

        return Handler


def _completion(body: dict, reply: Reply) -> dict:
    return {
        "id": "stub", "object": "chat.completion", "created": 0, "model": body.get("model", ""),
        "choices": [{"index": 0, "message": {"role": "assistant", "content": reply.content}, "finish_reason": reply.finish_reason}],
        "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
    }
