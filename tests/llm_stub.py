"""An OpenAI-compatible chat-completions server on 127.0.0.1 that records every request.

Each request takes the next scripted reply (or the default): a status, a content, a finish
reason, a delay. Streaming requests get Server-Sent Events, one chunk per few characters.
Fault modes for the client's error handling: any status (with headers such as Retry-After),
a raw body instead of a completion, a stream without `data: [DONE]`, a stream cut in the middle
of a chunk (close-delimited or chunked transfer), an endless trickle, and huge replies.
"""
from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Reply:
    content: str = "根据资料[1]，这是回答。"
    status: int = 200
    finish_reason: str = "stop"
    delay: float = 0.0
    chunk_delay: float = 0.0  # between streamed chunks, so a client can be seen streaming
    raw: bytes | None = None  # sent as the body instead of a well-formed completion
    headers: dict[str, str] = field(default_factory=dict)  # extra response headers, e.g. Retry-After
    piece_chars: int = 3  # characters per streamed chunk
    done: bool = True  # end the stream with `data: [DONE]`
    cut: bool = False  # after the content, send half a chunk and close the connection
    chunked: bool = False  # HTTP/1.1 chunked transfer (as real servers stream) instead of close-delimited
    endless: bool = False  # repeat the content until the client goes away


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
                try:
                    if reply.status != 200:
                        self._send(reply.status, json.dumps({"error": {"message": "stub error", "type": "stub"}}).encode(), reply.headers)
                    elif reply.raw is not None:
                        self._send(200, reply.raw, reply.headers)
                    elif body.get("stream"):
                        self._stream(body, reply)
                    else:
                        self._send(200, json.dumps(_completion(body, reply)).encode(), reply.headers)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client hung up, as it should on a fault

            def _send(self, status: int, data: bytes, headers: dict[str, str]) -> None:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for name, value in headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)

            def _write(self, data: bytes, reply: Reply) -> None:
                self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data) if reply.chunked else data)
                self.wfile.flush()

            def _stream(self, body: dict, reply: Reply) -> None:
                if reply.chunked:
                    self.protocol_version = "HTTP/1.1"
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                if reply.chunked:
                    self.send_header("Transfer-Encoding", "chunked")
                    self.send_header("Connection", "close")
                self.end_headers()
                step = reply.piece_chars
                pieces = [reply.content[i : i + step] for i in range(0, len(reply.content), step)] or [""]
                n = 0
                while n < len(pieces) or reply.endless:
                    last = n == len(pieces) - 1 and not (reply.endless or reply.cut)
                    chunk = {
                        "id": "stub", "object": "chat.completion.chunk", "created": 0, "model": body.get("model", ""),
                        "choices": [{"index": 0, "delta": {"content": pieces[n % len(pieces)]}, "finish_reason": reply.finish_reason if last else None}],
                    }
                    self._write(f"data: {json.dumps(chunk, ensure_ascii=False)}\n\n".encode(), reply)
                    time.sleep(reply.chunk_delay)
                    n += 1
                if reply.cut:
                    # Half a JSON event, then the connection closes without ending the body.
                    self._write(b'data: {"id": "stub", "object": "chat.completion.chunk", "choices": [{"index": 0, "delta": {"content": "\xe6\x96', reply)
                    self.close_connection = True
                    return
                if reply.done:
                    self._write(b"data: [DONE]\n\n", reply)
                if reply.chunked:
                    self.wfile.write(b"0\r\n\r\n")
                self.close_connection = True

        return Handler


def _completion(body: dict, reply: Reply) -> dict:
    return {
        "id": "stub", "object": "chat.completion", "created": 0, "model": body.get("model", ""),
        "choices": [{"index": 0, "message": {"role": "assistant", "content": reply.content}, "finish_reason": reply.finish_reason}],
        "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
    }
