"""Load: do a few slow model replies starve everyone else's questions?

    .venv/bin/python bench/bench_load.py [--kb index] [--slow 4] [--users 4] [--questions 3] [--trickle-s 2] [--json]

The app runs as `bigan serve` against a stub OpenAI-compatible endpoint on 127.0.0.1 that answers
at once, except for questions carrying SLOW_MARK: those trickle one token every --trickle-s seconds
until the app's per-answer LLM deadline cuts them. Two phases on the same server: first --users
users ask --questions questions each, concurrently (baseline); then --slow trickling answers are
opened and held, and the same users ask again. Latency is from submit to the whole answer, through
the app's own API (gradio_client, as a browser's requests go through the same queue). Prints p50,
p95 and max of both phases and the loaded/baseline p95 ratio. `--answer-concurrency 4` runs the
old setting (one group of 4 slots) to show the starvation this guards against.
"""
from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from common import ROOT, machine_line, percentile

SLOW_MARK = "（慢速）"
ANSWER = "根据资料[1]，三会一课要按时召开。"
QUESTIONS = ["三会一课怎么落实？", "党组成员要联系几个支部？", "作风建设要营造哪些好风气？", "怎样推进机关党建？"]


class TrickleStub:
    """Chat completions on 127.0.0.1: immediate, or (SLOW_MARK in the request) one token per `trickle_s`."""

    def __init__(self, trickle_s: float) -> None:
        self.trickle_s = trickle_s
        self.slow_open = 0
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _handler(self):
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
                slow = SLOW_MARK in json.dumps(body.get("messages", []), ensure_ascii=False)
                if not body.get("stream"):  # a follow-up rewrite: answer it whole
                    data = json.dumps({"id": "s", "object": "chat.completion", "created": 0, "model": "stub",
                                       "choices": [{"index": 0, "message": {"role": "assistant", "content": "三会一课怎么落实"},
                                                    "finish_reason": "stop"}]}).encode()
                    self.send_response(200)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                    return
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.end_headers()
                try:
                    if slow:
                        with stub._lock:
                            stub.slow_open += 1
                        try:
                            while True:  # until the client gives up
                                self._chunk("慢")
                                time.sleep(stub.trickle_s)
                        finally:
                            with stub._lock:
                                stub.slow_open -= 1
                    for i in range(0, len(ANSWER), 4):
                        self._chunk(ANSWER[i : i + 4])
                    self._chunk("", "stop")
                    self.wfile.write(b"data: [DONE]\n\n")
                    self.wfile.flush()
                except (BrokenPipeError, ConnectionResetError):
                    pass

            def _chunk(self, text: str, finish_reason: str | None = None) -> None:
                chunk = {"id": "s", "object": "chat.completion.chunk", "created": 0, "model": "stub",
                         "choices": [{"index": 0, "delta": {"content": text}, "finish_reason": finish_reason}]}
                self.wfile.write(f"data: {json.dumps(chunk, ensure_ascii=False)}\n\n".encode())
                self.wfile.flush()

        return Handler


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serve(kb: Path, stub: TrickleStub, env: dict[str, str], log: Path) -> tuple[subprocess.Popen, str]:
    port = free_port()
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("BIGAN_", "OPENAI_"))}
    environ.update({"BIGAN_KB_DIR": str(kb), "BIGAN_SERVER_PORT": str(port), "BIGAN_LLM_BASE_URL": stub.base_url,
                    "BIGAN_LLM_MODEL": "stub", "BIGAN_LLM_MAX_RETRIES": "0", **env})
    process = subprocess.Popen([sys.executable, "-m", "assistant", "serve"], env=environ, cwd=ROOT,
                               stdout=open(log, "w"), stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/"
    deadline = time.monotonic() + 300
    while True:
        try:
            urllib.request.urlopen(url + "healthz", timeout=2)  # 503 while the model loads
            return process, url
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                raise RuntimeError(f"the app did not start:\n{log.read_text()[-3000:]}")
            time.sleep(0.5)


def _client(url: str):
    from gradio_client import Client

    return Client(url, verbose=False, analytics_enabled=False)


def ask_all(url: str, users: int, questions: int, timeout: float) -> tuple[list[float], int]:
    """Each user (its own session) asks its questions in turn, all users at once; latencies and failures."""
    clients = [_client(url) for _ in range(users)]

    def user(n: int) -> tuple[list[float], int]:
        times, failed = [], 0
        for q in range(questions):
            started = time.perf_counter()
            try:
                result = clients[n].submit(QUESTIONS[(n + q) % len(QUESTIONS)], "问答", "讲话稿", None, "",
                                           api_name="/respond").result(timeout=timeout)
                answer = "".join(part.get("text", "") for part in result[0][-1]["content"])
                failed += "三会一课要按时召开" not in answer
            except Exception:  # a timeout is the starvation being measured
                failed += 1
            times.append(time.perf_counter() - started)
        return times, failed

    with ThreadPoolExecutor(users) as pool:
        results = list(pool.map(user, range(users)))
    return [t for times, _ in results for t in times], sum(f for _, f in results)


def open_slow(url: str, stub: TrickleStub, n: int, wait_s: float = 60) -> list:
    jobs = [_client(url).submit(f"{SLOW_MARK}三会一课怎么落实？", "问答", "讲话稿", None, "", api_name="/respond") for _ in range(n)]
    deadline = time.monotonic() + wait_s
    while stub.slow_open < n and time.monotonic() < deadline:
        time.sleep(0.2)
    return jobs


def summary(times: list[float]) -> dict:
    return {"n": len(times), "p50": percentile(times, 0.5), "p95": percentile(times, 0.95), "max": max(times)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--kb", default=str(ROOT / "index"))
    parser.add_argument("--slow", type=int, default=4, help="trickling answers held open during the loaded phase")
    parser.add_argument("--users", type=int, default=4)
    parser.add_argument("--questions", type=int, default=3, help="questions per user and phase")
    parser.add_argument("--trickle-s", type=float, default=2.0)
    parser.add_argument("--llm-timeout", type=float, default=10.0, help="BIGAN_LLM_TIMEOUT (between tokens); the deadline is 5x")
    parser.add_argument("--answer-concurrency", type=int, default=0, help="BIGAN_ANSWER_CONCURRENCY (0: the app's default)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    env = {"BIGAN_LLM_TIMEOUT": str(args.llm_timeout)}
    if args.answer_concurrency:
        env["BIGAN_ANSWER_CONCURRENCY"] = str(args.answer_concurrency)
    timeout = 5 * args.llm_timeout + 30
    stub = TrickleStub(args.trickle_s)
    log = Path(os.environ.get("TMPDIR", "/tmp")) / f"bench_load-{os.getpid()}.log"
    process, url = serve(Path(args.kb).resolve(), stub, env, log)
    try:
        ask_all(url, 1, 1, timeout)  # warm-up: first-request costs are not what is measured
        base_times, base_failed = ask_all(url, args.users, args.questions, timeout)
        slow_jobs = open_slow(url, stub, args.slow)
        held = stub.slow_open
        loaded_times, loaded_failed = ask_all(url, args.users, args.questions, timeout)
        still = stub.slow_open
        for job in slow_jobs:
            job.cancel()
    finally:
        process.terminate()
        process.wait(timeout=30)
        stub.close()
        log.unlink(missing_ok=True)
    result = {
        "baseline": {**summary(base_times), "failed": base_failed},
        "loaded": {**summary(loaded_times), "failed": loaded_failed, "slow_open_at_start": held, "slow_open_at_end": still},
        "p95_ratio": percentile(loaded_times, 0.95) / percentile(base_times, 0.95),
        "settings": {**env, "slow": args.slow, "users": args.users, "questions": args.questions, "trickle_s": args.trickle_s},
    }
    if args.json:
        print(json.dumps(result))
        return
    print(machine_line())
    print(f"{args.slow} answers trickling one token per {args.trickle_s} s; {args.users} users × {args.questions} questions per phase; {env}")
    print("\n| phase | questions | failed | p50 s | p95 s | max s |\n| --- | --- | --- | --- | --- | --- |")
    for name, key in (("baseline", "baseline"), (f"with {held} trickling", "loaded")):
        r = result[key]
        print(f"| {name} | {r['n']} | {r['failed']} | {r['p50']:.2f} | {r['p95']:.2f} | {r['max']:.2f} |")
    print(f"\np95 loaded / baseline: {result['p95_ratio']:.2f}; trickling answers still open at the end: {still}")


if __name__ == "__main__":
    main()
