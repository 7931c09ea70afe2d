"""Helpers shared by the benchmark scripts."""
from __future__ import annotations

import os
import platform
import resource
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DEVSET = ROOT / "tests" / "data" / "devset.jsonl"


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def machine_line() -> str:
    cpu = platform.processor() or "cpu"
    return (
        f"machine: {platform.machine()}, {cpu}, {os.cpu_count()} cores; python {platform.python_version()}; "
        f"date: {time.strftime('%Y-%m-%d')}"
    )
