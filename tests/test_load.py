"""Slow model replies do not starve other users: bench/bench_load.py on a small load, its figures checked."""
import json
import subprocess
import sys

from .conftest import ROOT


def test_trickling_answers_do_not_starve_other_users(sample_kb_dir):
    command = [sys.executable, str(ROOT / "bench" / "bench_load.py"), "--kb", str(sample_kb_dir), "--slow", "4",
               "--users", "2", "--questions", "3", "--llm-timeout", "10", "--json"]
    run = subprocess.run(command, capture_output=True, text=True, timeout=600, cwd=ROOT)
    assert run.returncode == 0, run.stderr[-3000:]
    result = json.loads(run.stdout.splitlines()[-1])
    loaded, baseline = result["loaded"], result["baseline"]
    assert loaded["slow_open_at_start"] == 4 and loaded["slow_open_at_end"] == 4  # all four trickled throughout
    assert baseline["failed"] == 0 and loaded["failed"] == 0  # everyone else was answered
    assert loaded["p95"] <= 2 * baseline["p95"], result
