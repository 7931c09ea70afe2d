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
    queries.write_text("疫情防控期间派出多少支突击队\n\n三級責任抓目標\n书记交流讲党课\n", encoding="utf-8")
    result = bigan("search", "--batch", str(queries), "-k", "2", "--json", kb_dir=sample_kb_dir)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 3
    batches = [json.loads(line) for line in lines]
    assert all(len(b) == 2 for b in batches)
    assert batches[0][0]["source"] == "001_58fd5961e537d1e9.txt"
    assert batches[1][0]["source"] == "004_1cbbaef2f0fcc76e.txt" and batches[2][0]["source"] == "003_5b479df242e3a196.txt"


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
    assert result.returncode == 1, result.stderr  # the good file went in; the run still says something failed
    assert "added 1, updated 0, removed 0, unchanged 0, failed 1" in result.stdout
    assert "bad.docx" in result.stderr.splitlines()[-1] and "Traceback" not in result.stderr
    again = bigan("index", str(folder), kb_dir=tmp_path / "kb")
    assert "added 0, updated 0, removed 0, unchanged 1, failed 1" in again.stdout
    (folder / "bad.docx").unlink()
    assert bigan("index", str(folder), kb_dir=tmp_path / "kb").returncode == 0


def test_docs_show_and_remove(tmp_path, corpus_copy):
    kb = tmp_path / "kb"
    assert bigan("index", str(corpus_copy), kb_dir=kb).returncode == 0
    docs = json.loads(bigan("docs", "--json", kb_dir=kb).stdout)
    assert sorted(d["title"] for d in docs) == ["在X系统党建工作座谈会上的讲话", "经验材料：以党建引领XX事业高质量发展"]
    assert all({"source", "title", "sections", "chars", "added", "id"} <= d.keys() and d["sections"] > 0 for d in docs)
    speech = next(d for d in docs if d["source"].endswith("000_d6b92f23921d179d.txt"))

    for ref in ("000_d6b92f23921d179d.txt", speech["source"], speech["id"]):
        shown = json.loads(bigan("show", ref, "--json", kb_dir=kb).stdout)
        assert len(shown["sections"]) == speech["sections"]
    assert shown["sections"][1]["heading_path"][0] == "一、紧扣标准要求，务求党建达标"
    assert all("page" not in s for s in shown["sections"])  # a text file has no pages
    assert "一、紧扣标准要求" in bigan("show", "000_d6b92f23921d179d.txt", kb_dir=kb).stdout

    assert_one_line_error(bigan("remove", "nothing.txt", speech["id"], kb_dir=kb), "nothing.txt")
    assert len(json.loads(bigan("docs", "--json", kb_dir=kb).stdout)) == 2  # an unknown name removes nothing
    assert bigan("remove", speech["id"], kb_dir=kb).returncode == 0
    assert [d["id"] for d in json.loads(bigan("docs", "--json", kb_dir=kb).stdout)] != [speech["id"]]
    hits = json.loads(bigan("search", "党建达标", "-k", "5", "--json", kb_dir=kb).stdout)
    assert all(h["doc_id"] != speech["id"] for h in hits)


def test_shell_answers_queries(sample_kb_dir):
    result = bigan("shell", "-k", "1", kb_dir=sample_kb_dir, input_text="三会一课\n\n")
    assert result.returncode == 0 and "[1] " in result.stdout


def test_ask_json_offline(sample_kb_dir, tmp_path):
    history = tmp_path / "history.json"
    history.write_text(json.dumps([
        {"role": "user", "content": "疫情防控期间派出了多少支机关党员突击队"},
        {"role": "assistant", "content": "45支。"},
    ], ensure_ascii=False), encoding="utf-8")
    result = bigan("ask", "那选派培训了多少名驻企防疫联络员呢？", "--history", str(history), "--json", kb_dir=sample_kb_dir)
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["mode"] == "extractive" and data["query"].startswith("疫情防控期间")
    assert {"n", "source", "title", "heading", "text"} <= data["citations"][0].keys()
    assert "离线模式" in result.stderr


def test_ask_against_the_stub_streams_and_cites(sample_kb_dir, stub):
    from .llm_stub import Reply

    stub.default = Reply("党组成员至少要联系1个支部[1]。")
    env_kb = {"BIGAN_LLM_BASE_URL": stub.base_url, "BIGAN_LLM_MODEL": "qwen-stub", "BIGAN_LLM_API_KEY": "sk-cli-SECRET"}
    result = subprocess.run(
        [sys.executable, "-m", "assistant", "ask", "党组成员至少要联系几个支部"], capture_output=True, text=True, cwd=ROOT,
        env={**os.environ, "BIGAN_KB_DIR": str(sample_kb_dir), **env_kb}, timeout=600,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("党组成员至少要联系1个支部[1]。") and "\n[1] " in result.stdout
    assert "模型：qwen-stub" in result.stderr and "sk-cli-SECRET" not in result.stdout + result.stderr


def test_ask_with_unreachable_llm_is_one_line(sample_kb_dir):
    env = {**os.environ, "BIGAN_KB_DIR": str(sample_kb_dir), "BIGAN_LLM_BASE_URL": "http://127.0.0.1:9/v1",
           "BIGAN_LLM_MODEL": "m", "BIGAN_LLM_MAX_RETRIES": "0"}
    result = subprocess.run([sys.executable, "-m", "assistant", "ask", "三会一课"], capture_output=True, text=True, cwd=ROOT, env=env, timeout=600)
    assert_one_line_error(result, "无法连接模型服务")


def test_draft_show_prompt_json(sample_kb_dir):
    result = bigan("draft", "机关党建经验材料", "--genre", "经验材料", "--show-prompt", "--json", kb_dir=sample_kb_dir)
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert {"messages", "exemplars", "tokens", "budget"} <= data.keys() and data["tokens"] <= data["budget"]
    assert {"text", "source", "title", "heading", "score"} <= data["exemplars"][0].keys()


def test_draft_offline_material_pack(sample_kb_dir):
    result = bigan("draft", "作风建设推进会讲话", "--genre", "结尾", kb_dir=sample_kb_dir)
    assert result.returncode == 0 and result.stdout.startswith("【素材包】结尾")


def test_draft_unknown_genre(sample_kb_dir):
    assert_one_line_error(bigan("draft", "主题", "--genre", "诗歌", kb_dir=sample_kb_dir), "unknown genre")


def test_chat_keeps_the_conversation(sample_kb_dir):
    session = "疫情防控期间派出了多少支机关党员突击队\n那选派培训了多少名驻企防疫联络员呢？\n\n"
    result = bigan("chat", kb_dir=sample_kb_dir, input_text=session)
    assert result.returncode == 0, result.stderr
    # Asked in Simplified, answered in Simplified although the source is Traditional (issue 15).
    assert "突击队45支" in result.stdout and "109名驻企防疫联络员" in result.stdout


def test_eval_reports_recall_and_misses(sample_kb_dir, tmp_path):
    devset = ROOT / "tests" / "data" / "devset.jsonl"
    result = bigan("eval", str(devset), "--json", kb_dir=sample_kb_dir)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["overall"]["n"] == 70 and report["overall"]["recall@1"] >= 0.85
    assert {"conversation", "t2s"} <= set(report["by_kind"]) and report["misses"]
    text = bigan("eval", str(devset), "-k", "3", kb_dir=sample_kb_dir).stdout
    assert "| overall | 70 |" in text and "recall@3" in text and "misses" in text
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"question": "缺少答案"}\n', encoding="utf-8")
    assert_one_line_error(bigan("eval", str(bad), kb_dir=sample_kb_dir), "bad.jsonl:1")


def test_export_writes_a_gongwen_docx(tmp_path):
    from docx import Document

    draft = tmp_path / "通知.md"
    draft.write_text("# 关于加强机关党建工作的通知\n\n各支部：\n\n一、总体要求\n\n要压实责任[1]。\n", encoding="utf-8")
    out = tmp_path / "通知.docx"
    result = bigan("export", str(draft), "-o", str(out), "--issuer", "中共XX市委办公室", "--number", "X办发〔2024〕5号",
                   "--signer", "中共XX市委办公室", "--date", "二〇二四年五月六日")
    assert result.returncode == 0, result.stderr
    texts = [p.text for p in Document(str(out)).paragraphs if p.text]
    assert texts[:3] == ["中共XX市委办公室", "X办发〔2024〕5号", "关于加强机关党建工作的通知"]
    assert "要压实责任。" in texts and texts[-1] == "2024年5月6日"
    titled = bigan("export", str(draft), "-o", str(tmp_path / "b.docx"), "--title", "另定的标题")
    assert titled.returncode == 0 and [p.text for p in Document(str(tmp_path / "b.docx")).paragraphs if p.text][0] == "另定的标题"


def test_export_user_errors(tmp_path):
    good = tmp_path / "a.md"
    good.write_text("正文。\n", encoding="utf-8")
    assert_one_line_error(bigan("export", str(tmp_path / "none.md"), "-o", str(tmp_path / "x.docx")), "no such file")
    assert_one_line_error(bigan("export", str(good), "-o", str(tmp_path / "x.pdf")), ".docx")
    assert_one_line_error(bigan("export", str(good), "-o", str(tmp_path / "no" / "x.docx")), "no such folder")
    gbk = tmp_path / "gbk.md"
    gbk.write_bytes("关于加强机关党建工作的通知".encode("gbk"))
    assert_one_line_error(bigan("export", str(gbk), "-o", str(tmp_path / "x.docx")), "UTF-8")
    empty = tmp_path / "empty.md"
    empty.write_text("", encoding="utf-8")
    assert_one_line_error(bigan("export", str(empty), "-o", str(tmp_path / "x.docx")), "没有可导出的内容")
    assert not (tmp_path / "x.docx").exists()
