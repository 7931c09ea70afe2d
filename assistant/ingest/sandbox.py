"""Run one parser call in a child process with a time limit and an address-space limit.

Parsers of untrusted files can loop, recurse or allocate without bound; a child that is killed at
its deadline, and whose allocations fail past its memory cap, is the one reliable bound.

Children fork from a small server process (`python -m assistant.ingest.sandbox`) that has already
imported the parsers: a fork costs milliseconds, and the server is a fresh interpreter, so it is
safe when the caller has threads (the web app) or a large heap (the embedding model), and it
never re-runs the caller's main script the way multiprocessing's forkserver does.

Frames on the server's stdout, JSON so that a child subverted by a hostile file cannot run code
in the caller by what it sends: ["pid", n] when a child starts, then the child's ["extend", s]*
and ["ok", value] or ["error", message], then ["exit", status] from the server.
"""
from __future__ import annotations

import atexit
import gc
import importlib
import logging
import os
import json
import resource
import select
import signal
import struct
import subprocess
import sys
import threading
import time
import warnings
from typing import Any

from .formats.base import LoadError

_PRELOAD = ["assistant.ingest.formats." + name for name in ("text", "html", "docx", "pdf", "csv", "office")]
_HEADER = struct.Struct("!I")
_CRASHED = "解析该文件时程序异常退出（可能是内存不足或文件损坏）"
_OUT_OF_MEMORY = "文件内容过大，解析时超出内存上限，已跳过"
_EXIT_WAIT_S = 10.0  # after a kill, how long the server may take to report the exit
_channel: int | None = None  # in a child: the fd its frames go to


def extend_deadline(seconds: float) -> None:
    """Ask for more time before slow work whose size is now known (OCR of N pages); no-op outside a child."""
    if _channel is not None:
        _write_frame(_channel, ("extend", seconds))
        _raise_soft_limit(resource.RLIMIT_CPU, _cpu_seconds(seconds))


class _Broken(Exception):
    """The server's stream can no longer be trusted; the message is the user's reason."""


class _Server:
    def __init__(self) -> None:
        root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")])))
        self.process = subprocess.Popen(
            [sys.executable, "-m", "assistant.ingest.sandbox"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env
        )
        self.buffer = b""

    def call(self, target: str, args: list, time_limit: float, memory_limit: int) -> Any:
        assert self.process.stdin is not None
        request = json.dumps([target, args, time_limit, memory_limit]).encode()
        self.process.stdin.write(_HEADER.pack(len(request)) + request)
        self.process.stdin.flush()
        deadline = time.monotonic() + time_limit
        pid = None
        outcome: tuple[str, Any] | None = None
        while True:
            frame = self._read(deadline)
            if frame is None:  # past the deadline: kill the child, then collect its exit frame
                timeout = ("error", f"处理超时（超过 {round(time_limit)} 秒），已跳过该文件")
                if pid is None:  # killed already and still no exit frame: give up on this server
                    raise _Broken(timeout[1])
                _kill_group(pid)
                outcome, pid = outcome or timeout, None
                deadline = time.monotonic() + _EXIT_WAIT_S
                continue
            kind, value = frame
            if kind == "pid":
                pid = value
            elif kind == "extend":
                deadline += value
                time_limit += value
            elif kind == "exit":
                break
            else:
                outcome = outcome or (kind, value)
        if outcome is None:
            outcome = ("error", _CRASHED)
        if outcome[0] == "ok":
            return outcome[1]
        raise LoadError(outcome[1])

    def _read(self, deadline: float) -> tuple[str, Any] | None:
        """One frame, or None at the deadline; a broken stream raises _Broken."""
        assert self.process.stdout is not None
        fd = self.process.stdout.fileno()
        while True:
            if len(self.buffer) >= _HEADER.size:
                (size,) = _HEADER.unpack_from(self.buffer)
                if len(self.buffer) >= _HEADER.size + size:
                    frame = self.buffer[_HEADER.size:_HEADER.size + size]
                    self.buffer = self.buffer[_HEADER.size + size:]
                    try:
                        kind, value = json.loads(frame)
                    except (ValueError, TypeError) as exc:
                        raise _Broken(_CRASHED) from exc
                    return kind, value
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not select.select([fd], [], [], remaining)[0]:
                return None
            chunk = os.read(fd, 1 << 20)
            if not chunk:
                raise _Broken(_CRASHED)
            self.buffer += chunk

    def close(self) -> None:
        self.process.kill()
        self.process.wait()


_server: _Server | None = None
_lock = threading.Lock()


@atexit.register
def _stop_server() -> None:
    if _server is not None:
        _server.close()


def run_limited(target: str, *args: object, time_limit: float, memory_limit: int) -> Any:
    """Call target ("package.module:function") with args in a child; its LoadError is re-raised here,
    and a timeout, crash or memory exhaustion becomes one."""
    global _server
    with _lock:
        if _server is None or _server.process.poll() is not None:
            _server = _Server()
        try:
            return _server.call(target, list(args), time_limit, memory_limit)
        except (_Broken, BrokenPipeError) as exc:
            # Not retried: the file may be what broke it. The next call starts a fresh server.
            _server.close()
            _server = None
            raise LoadError(str(exc) if isinstance(exc, _Broken) else _CRASHED) from None


def _kill_group(pid: int) -> None:
    try:
        os.killpg(pid, signal.SIGKILL)
    except OSError:
        pass


def _write_frame(fd: int, frame: tuple[str, Any]) -> None:
    data = json.dumps(frame).encode()  # ASCII escapes: any str survives, lone surrogates included
    view = memoryview(_HEADER.pack(len(data)) + data)
    while view:
        view = view[os.write(fd, view):]


def _read_exact(stream, size: int) -> bytes | None:
    data = stream.read(size)
    return data if data is not None and len(data) == size else None


def _serve() -> None:
    """The server loop: one request at a time, each in a forked child."""
    channel = os.dup(1)
    os.dup2(2, 1)  # a library that prints must not corrupt the frames
    # Parser warnings about damaged files are noise for a user: the LoadError says what matters.
    logging.getLogger().addHandler(logging.NullHandler())
    warnings.simplefilter("ignore")
    for module in _PRELOAD:
        importlib.import_module(module)
    _warm_up()
    gc.freeze()  # children's collections skip the preloaded objects instead of copying their pages
    requests = sys.stdin.buffer
    while (header := _read_exact(requests, _HEADER.size)) is not None:
        body = _read_exact(requests, _HEADER.unpack(header)[0])
        if body is None:
            break
        target, args, time_limit, memory_limit = json.loads(body)
        pid = os.fork()
        if pid == 0:
            _child(channel, target, args, time_limit, memory_limit)
        _write_frame(channel, ("pid", pid))
        _, status = os.waitpid(pid, 0)
        _write_frame(channel, ("exit", status))


def _warm_up() -> None:
    """Parse one small page once, so that lazy set-up in the parsers (trafilatura's and OpenCC's
    tables) is inherited by every child instead of repeated in each."""
    from .formats import html

    page = "<html><head><title>示例</title></head><body><article><p>一、总体要求。坚持稳中求进工作总基调。</p></article></body></html>"
    html.read_html(page.encode("utf-8"))


def _cpu_seconds(wall_seconds: float) -> int:
    return int(wall_seconds * (os.cpu_count() or 1)) + 1


def _raise_soft_limit(kind: int, amount: int) -> None:
    soft, hard = resource.getrlimit(kind)
    new = amount if soft == resource.RLIM_INFINITY else soft + amount
    resource.setrlimit(kind, (new if hard == resource.RLIM_INFINITY else min(new, hard), hard))


def _child(channel: int, target: str, args: list, time_limit: float, memory_limit: int) -> None:
    global _channel
    _channel = channel
    os.setpgid(0, 0)  # its own process group, so that a timeout kills helpers it started too
    # Soft limits only: a converter it starts (LibreOffice) may raise its own. The CPU limit stops a
    # runaway child even if the caller died and nobody enforces its deadline any more.
    for kind, limit in ((resource.RLIMIT_AS, memory_limit), (resource.RLIMIT_CPU, _cpu_seconds(time_limit) + 5)):
        _, hard = resource.getrlimit(kind)
        resource.setrlimit(kind, (limit if hard == resource.RLIM_INFINITY else min(limit, hard), hard))
    try:
        module, name = target.split(":")
        frame: tuple[str, Any] = ("ok", getattr(importlib.import_module(module), name)(*args))
    except LoadError as exc:
        frame = ("error", str(exc))
    except MemoryError:
        frame = ("error", _OUT_OF_MEMORY)
    except RecursionError:
        frame = ("error", "文件结构嵌套过深，无法解析")
    except Exception:  # noqa: BLE001 - a parser bug on one bad file must not stop a batch
        frame = ("error", "无法解析该文件（格式有误或已损坏）")
    try:
        _write_frame(channel, frame)
    except MemoryError:
        _write_frame(channel, ("error", _OUT_OF_MEMORY))
    except (TypeError, ValueError):  # a result that is not JSON: a bug, reported like a parser failure
        _write_frame(channel, ("error", "无法解析该文件（格式有误或已损坏）"))
    os._exit(0)


if __name__ == "__main__":
    # Run as the importable module, not as __main__: readers call extend_deadline() on that one.
    importlib.import_module("assistant.ingest.sandbox")._serve()
