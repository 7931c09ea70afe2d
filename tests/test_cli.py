"""The `bigan` command as a user runs it: a real subprocess."""
import json
import os
import subprocess
import sys

import pytest

from .conftest import CORPUS, ROOT


def bigan(*args: str, kb_dir=None, input_text=None) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    if kb_dir is not None:
        env["BIGAN_KB_DIR"] = str(kb_dir)
    return subprocess.run(
        [sys.executable, "-m", "assistant", *args], capture_output=True, text=True, env=env, cwd=ROOT, input=input_text, timeout=600
    )


def assert_one_line_error(result: subprocess.CompletedProcess, fragment: str) -> None:
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert lines[-1].startswith("bigan: error:") and fragment in lines[-1]
    assert "Traceback" not in result.stderr


def test_search_json(sample_kb_dir):
    result = bigan("search", "党建指导员要当好哪六员", "-k", "3", "--json", kb_dir=sample_kb_dir)
    assert result.returncode == 0, result.stderr
    hits = json.loads(result.stdout)
    assert len(hits) == 3
    assert {"text", "source", "title", "heading", "score"} <= hits[0].keys()
    assert hits[0]["source"] == "002_6ced87f26916ac27.txt" and "六员" in hits[0]["text"]
    assert hits[0]["score"] >= hits[1]["score"] >= hits[2]["score"]


def test_search_batch_keeps_order(sample_kb_dir, tmp_path):
    queries = tmp_path / "queries.txt"
    queries.write_text("疫情防控期间派出多少支突击队\n\n三級責任抓目標\n机关党委配齐了几名党务干部\n", encoding="utf-8")
    result = bigan("search", "--batch", str(queries), "-k", "2", "--json", kb_dir=sample_kb_dir)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 3
    batches = [json.loads(line) for line in lines]
    assert all(len(b) == 2 for b in batches)
    assert batches[0][0]["source"] == "001_58fd5961e537d1e9.txt"
    assert batches[1][0]["source"] == batches[2][0]["source"] == "004_1cbbaef2f0fcc76e.txt"


def test_search_plain_output(sample_kb_dir):
    result = bigan("search", "三会一课", "-k", "1", kb_dir=sample_kb_dir)
    assert result.returncode == 0 and result.stdout.startswith("[1] ")


@pytest.mark.parametrize("query", ["", "   "])
def test_empty_query(sample_kb_dir, query):
    assert_one_line_error(bigan("search", query, kb_dir=sample_kb_dir), "empty")


def test_search_without_kb(tmp_path):
    assert_one_line_error(bigan("search", "党建", kb_dir=tmp_path / "nothing"), "no knowledge base")


def test_index_unknown_path(tmp_path):
    assert_one_line_error(bigan("index", str(tmp_path / "missing"), kb_dir=tmp_path / "kb"), "no such file or folder")


def test_batch_file_missing(sample_kb_dir, tmp_path):
    assert_one_line_error(bigan("search", "--batch", str(tmp_path / "none.txt"), "--json", kb_dir=sample_kb_dir), "no such file")


def test_index_reports_and_continues(tmp_path):
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "speech.txt").write_bytes((CORPUS / "004_1cbbaef2f0fcc76e.txt").read_bytes())
    (folder / "bad.docx").write_bytes(b"garbage")
    result = bigan("index", str(folder), kb_dir=tmp_path / "kb")
    assert result.returncode == 0, result.stderr
    assert "added 1, updated 0, removed 0, unchanged 0, failed 1" in result.stdout
    assert "bad.docx" in result.stderr and "Traceback" not in result.stderr
    again = bigan("index", str(folder), kb_dir=tmp_path / "kb")
    assert "added 0, updated 0, removed 0, unchanged 1, failed 1" in again.stdout


def test_shell_answers_queries(sample_kb_dir):
    result = bigan("shell", "-k", "1", kb_dir=sample_kb_dir, input_text="三会一课\n\n")
    assert result.returncode == 0 and "[1] " in result.stdout


def test_app_brings_kb_up_to_date_then_searches(sample_kb_dir):
    result = subprocess.run(
        [sys.executable, "app.py"], capture_output=True, text=True, cwd=ROOT, input="三会一课\n\n", timeout=600,
        env={**os.environ, "BIGAN_KB_DIR": str(sample_kb_dir)},
    )
    assert result.returncode == 0, result.stderr
    assert "unchanged 5" in result.stdout and "[1] " in result.stdout
