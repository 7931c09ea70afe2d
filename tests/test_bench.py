"""The benchmark scripts run end to end on a tiny input (their figures are not checked: they are timings)."""
import shutil
import subprocess
import sys

import pytest

from .conftest import CORPUS, DATA, ROOT

DOC = "004_1cbbaef2f0fcc76e.txt"


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    folder = tmp_path_factory.mktemp("tiny")
    (folder / "corpus").mkdir()
    shutil.copy(CORPUS / DOC, folder / "corpus" / DOC)
    lines = [line for line in (DATA / "devset.jsonl").read_text(encoding="utf-8").splitlines() if DOC in line]
    (folder / "devset.jsonl").write_text("\n".join(lines[:3]), encoding="utf-8")
    return folder


def run(script: str, *args: str) -> str:
    result = subprocess.run([sys.executable, str(ROOT / "bench" / script), *args], capture_output=True, text=True, timeout=900, cwd=ROOT)
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout


def test_bench_kb(tiny):
    out = run("bench_kb.py", "--corpus", str(tiny / "corpus"), "--devset", str(tiny / "devset.jsonl"), "--repeat", "1", "--gemm-size", "256")
    assert "FLOPs per section" in out and "| corpus | 1 |" in out and "full search" in out


def test_bench_peers(tiny):
    plot = tiny / "peers.png"
    out = run("bench_peers.py", "--corpus", str(tiny / "corpus"), "--devset", str(tiny / "devset.jsonl"), "--plot", str(plot))
    assert "| Bigan |" in out and "| LangChain tutorial |" in out and "| Chatchat-style |" in out
    assert plot.stat().st_size > 1000


def test_bench_scale(sample_kb_dir, tiny):
    plot = tiny / "scale.png"
    out = run("bench_scale.py", "--kb", str(sample_kb_dir), "--devset", str(tiny / "devset.jsonl"), "--sizes", "200,400", "--repeat", "1", "--plot", str(plot))
    assert "| 400 | FlatIP |" in out and plot.stat().st_size > 1000


def test_bench_embed_and_startup(sample_kb_dir, tiny):
    out = run("bench_embed.py", "--kb", str(sample_kb_dir), "--devset", str(tiny / "devset.jsonl"), "--repeat", "1", "--gemm-size", "256")
    assert "| torch-fp32 |" in out and "| onnx-int8 |" in out and "Matryoshka" in out
    out = run("bench_startup.py", "--kb", str(sample_kb_dir), "--runs", "1")
    assert "ready (HTTP 200)" in out


def test_bench_realdocs(tiny):
    out = run("bench_realdocs.py", "--docs", str(tiny / "corpus"), "--devset", str(tiny / "devset.jsonl"))
    assert "sections/s" in out and "characters/s" in out and "titles right:" in out and "| overall | 3 |" in out
