"""Cold start: seconds from `bigan serve` to a page that answers, with a built KB.

    .venv/bin/python bench/bench_startup.py [--kb index] [--runs 3]

The port opens first and the embedding model and the KB load beside it (server.py): the first
HTTP 200 is the page; the script then also times one search through the web app's own API, which
waits for the model if it is still loading, so that column is the time to a page that answers.
"""
from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from common import ROOT, machine_line


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def one_start(kb: Path) -> tuple[float, float]:
    port = free_port()
    env = {**os.environ, "BIGAN_KB_DIR": str(kb), "BIGAN_SERVER_PORT": str(port), "BIGAN_LLM_PROVIDER": "none"}
    started = time.perf_counter()
    process = subprocess.Popen([sys.executable, "-m", "assistant", "serve"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=1)
                break
            except OSError:
                if process.poll() is not None:
                    raise RuntimeError("the app exited during start")
                time.sleep(0.1)
        ready = time.perf_counter() - started
        from gradio_client import Client

        client = Client(f"http://127.0.0.1:{port}/", verbose=False)
        t = time.perf_counter()
        client.predict("三会一课怎么落实", api_name="/do_probe")
        return ready, time.perf_counter() - t
    finally:
        process.terminate()
        process.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--kb", default=str(ROOT / "index"))
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    results = [one_start(Path(args.kb)) for _ in range(args.runs)]
    print(machine_line())
    print("| runs | ready (HTTP 200) s, median | max | first search via the app's API s, median |")
    print("| --- | --- | --- | --- |")
    ready = [r[0] for r in results]
    print(f"| {len(results)} | {statistics.median(ready):.1f} | {max(ready):.1f} | {statistics.median(r[1] for r in results):.2f} |")


if __name__ == "__main__":
    main()
