"""A misbehaving model endpoint: every fault ends in time with one clear line, secrets never shown.

The library is driven against the loopback stub for each fault; the `bigan` command runs as a
subprocess for a few end-to-end checks and in-process for the rest (same code, no start-up cost).
"""
import logging
import os
import subprocess
import sys
import time

import pytest
from langchain_core.messages import HumanMessage

from assistant import cli
from assistant.components.llm import CUT_MARK, LLMError, Redactor, get_llm, url_secrets
from assistant.text.tokens import count_tokens

from .conftest import ROOT, llm_settings
from .llm_stub import Reply

SECRET = "sk-test-SECRET-0123456789"
PASSWORD = "pw-SECRET-9876"
QUERY_TOKEN = "qt-SECRET-5555"
HUGE = "很长的回复。" * 300_000  # 5.4 MB of UTF-8


def _llm(tmp_path, stub, **overrides):
    return get_llm(llm_settings(tmp_path, stub, **overrides))


def _run(llm) -> tuple[str, LLMError | None, float]:
    """The pieces the reader saw, the error, and the seconds it took."""
    pieces, error, start = [], None, time.monotonic()
    try:
        for piece in llm.stream([HumanMessage("问题")]):
            pieces.append(piece)
    except LLMError as exc:
        error = exc
    return "".join(pieces), error, time.monotonic() - start


@pytest.mark.parametrize(
    "status,fragment,attempts",
    [
        (400, "拒绝了请求（400）", 1),
        (401, "拒绝了 API 密钥（401）；请检查 BIGAN_LLM_API_KEY", 1),
        (403, "无权使用模型 qwen-stub（403）", 1),
        (404, "找不到模型“qwen-stub”或接口（404）；请检查 BIGAN_LLM_MODEL", 1),
        (429, "正在限流（429），已重试 2 次仍未成功", 3),
        (500, "内部出错（500）；请查看服务端日志", 1),
        (502, "网关出错（502），已重试 2 次仍未成功", 3),
        (503, "暂时不可用（503），已重试 2 次仍未成功", 3),
        (504, "网关等待超时（504），已重试 2 次仍未成功", 3),
    ],
)
def test_each_status_has_its_message_and_only_transient_ones_are_retried(tmp_path, stub, status, fragment, attempts):
    stub.default = Reply(status=status)
    text, error, _ = _run(_llm(tmp_path, stub, llm_max_retries=2))
    assert text == "" and fragment in str(error) and "\n" not in str(error)
    assert len(stub.requests) == attempts


def test_a_retry_after_beyond_the_deadline_is_not_waited_for(tmp_path, stub):
    stub.default = Reply(status=429, headers={"Retry-After": "3600"})
    _, error, seconds = _run(_llm(tmp_path, stub, llm_max_retries=2, llm_timeout=1, llm_deadline=2))
    assert "正在限流（429）" in str(error) and seconds < 1 and len(stub.requests) == 1


def test_retries_of_a_refused_connection_stop_at_the_deadline(tmp_path, stub):
    llm = _llm(tmp_path, stub, llm_base_url="http://127.0.0.1:9/v1", llm_max_retries=20, llm_timeout=1, llm_deadline=2)
    _, error, seconds = _run(llm)
    assert "无法连接模型服务 http://127.0.0.1:9/v1，已重试" in str(error) and seconds < 2.5


@pytest.mark.parametrize(
    "reply",
    [
        Reply(raw=b"this is not json"),
        Reply(raw=b"<html><body>502 Bad Gateway</body></html>", headers={"Content-Type": "text/html"}),
        Reply(raw=b"data: {not json\n\n", headers={"Content-Type": "text/event-stream"}),
        Reply(raw=b"\xff\xfe\x00garbage\n\n", headers={"Content-Type": "text/event-stream"}),
    ],
    ids=["text", "html", "sse-not-json", "binary"],
)
def test_garbage_is_explained(tmp_path, stub, reply):
    stub.default = reply
    text, error, _ = _run(_llm(tmp_path, stub))
    assert text == "" and "回复无法解析，不是 OpenAI 兼容格式" in str(error) and "BIGAN_LLM_BASE_URL" in str(error)


def test_an_error_event_in_the_stream_is_reported(tmp_path, stub):
    stub.default = Reply(raw=b'data: {"error": {"message": "model overloaded"}}\n\n', headers={"Content-Type": "text/event-stream"})
    _, error, _ = _run(_llm(tmp_path, stub))
    assert "报告错误：model overloaded" in str(error)


@pytest.mark.parametrize("chunked", [False, True], ids=["close-delimited", "chunked"])
def test_a_stream_without_done_is_a_normal_answer(tmp_path, stub, chunked):
    stub.default = Reply("第一句。第二句。", done=False, chunked=chunked)
    assert _run(_llm(tmp_path, stub))[:2] == ("第一句。第二句。", None)


@pytest.mark.parametrize("chunked", [False, True], ids=["close-delimited", "chunked"])
def test_a_stream_cut_mid_chunk_keeps_the_partial_text_marked(tmp_path, stub, chunked):
    stub.default = Reply("第一句。第二句。", cut=True, chunked=chunked)
    text, error, _ = _run(_llm(tmp_path, stub, llm_max_retries=2))
    assert text == "第一句。第二句。" + CUT_MARK
    assert "在回复中途断开了连接，回复不完整" in str(error)
    assert len(stub.requests) == 1  # text was shown: a retry would repeat it


def test_a_trickle_ends_at_the_deadline(tmp_path, stub):
    stub.default = Reply("一点", chunk_delay=0.2, endless=True)
    text, error, seconds = _run(_llm(tmp_path, stub, llm_timeout=1, llm_deadline=2))
    assert "超过总时限 2 秒仍未完成" in str(error) and "BIGAN_LLM_DEADLINE" in str(error)
    assert 1.9 < seconds < 2.5
    assert text.startswith("一点一点") and text.endswith(CUT_MARK)


def test_the_deadline_defaults_to_five_timeouts(tmp_path, stub):
    assert _llm(tmp_path, stub, llm_timeout=2).deadline == 10
    assert _llm(tmp_path, stub, llm_timeout=2, llm_deadline=7).deadline == 7


def test_a_stall_mid_reply_is_reported(tmp_path, stub):
    stub.default = Reply("第一句。第二句。", chunk_delay=1.5)
    text, error, seconds = _run(_llm(tmp_path, stub, llm_timeout=0.5, llm_deadline=5))
    assert text.startswith("第一") and text.endswith(CUT_MARK)
    assert "在回复中途超过 0.5 秒没有新内容" in str(error) and seconds < 1.5


@pytest.mark.parametrize("piece_chars", [4096, len(HUGE)], ids=["many-chunks", "one-chunk"])
def test_a_huge_reply_is_capped(tmp_path, stub, piece_chars):
    stub.default = Reply(HUGE, piece_chars=piece_chars)
    text, error, seconds = _run(_llm(tmp_path, stub, llm_max_tokens=100))
    assert text.endswith(CUT_MARK) and text.startswith("很长的回复。")
    assert 0 < count_tokens(text.removesuffix(CUT_MARK)) <= 3 * 100
    assert "超过输出上限（100 tokens）仍未结束，已截断" in str(error) and seconds < 10


def test_a_reply_stopped_by_the_content_filter_is_said_so(tmp_path, stub):
    stub.default = Reply("部分内容", finish_reason="content_filter")
    text, error, _ = _run(_llm(tmp_path, stub))
    assert text == "部分内容" + CUT_MARK and "content_filter" in str(error)


def _secret_url(stub) -> str:
    return stub.base_url.replace("http://", f"http://bigan:{PASSWORD}@") + f"?api_key={QUERY_TOKEN}"


@pytest.mark.parametrize("reply", [Reply(status=401), Reply(status=404), Reply(cut=True), Reply(raw=b"garbage")], ids=["401", "404", "cut", "garbage"])
def test_secrets_are_never_shown_or_logged(tmp_path, stub, caplog, reply):
    caplog.set_level(logging.DEBUG)
    stub.default = reply
    llm = _llm(tmp_path, stub, llm_base_url=_secret_url(stub))
    _, error, _ = _run(llm)
    shown = f"{llm.describe()} {llm.base_url} {error} {caplog.text}"
    assert error is not None and "***@127.0.0.1" in llm.describe() and "api_key=***" in llm.describe()
    for secret in (SECRET, PASSWORD, QUERY_TOKEN):
        assert secret not in shown
    # The query parameters still reach the endpoint, after the path.
    assert stub.requests[0]["path"] == f"/v1/chat/completions?api_key={QUERY_TOKEN}"


@pytest.mark.parametrize(
    "text,hidden",
    [
        ("https://u:p4ss@host/v1", "p4ss"),
        ("https://tok-only-user@host/v1", "tok-only-user"),
        ("http://h/v1?key=abcd1234&x=1", "abcd1234"),
        ("http://h/v1?x=1&token=abcd1234", "abcd1234"),
        ("http://h/v1?access_token=abcd1234", "abcd1234"),
        ("request failed: api_key=abcd1234", "abcd1234"),
        ("Authorization: Bearer abcd1234", "abcd1234"),
    ],
)
def test_redaction_of_urls_and_tokens(text, hidden):
    assert hidden not in Redactor()(text)


def test_url_secrets_are_the_userinfo_and_token_values():
    found = url_secrets("http://me:pw-123@h/v1?key=k-456&model=qwen&session_token=t-789")
    assert {"pw-123", "k-456", "t-789"} <= set(found) and "qwen" not in found


# --- the command --------------------------------------------------------------------------


def _bigan(args: list[str], kb_dir, env: dict[str, str]) -> subprocess.CompletedProcess:
    full_env = {**os.environ, "BIGAN_KB_DIR": str(kb_dir), **env}
    return subprocess.run([sys.executable, "-m", "assistant", *args], capture_output=True, text=True, cwd=ROOT, env=full_env, timeout=300)


def _assert_one_error_line(stderr: str, fragment: str) -> None:
    errors = [line for line in stderr.splitlines() if line.startswith("bigan: error:")]
    assert len(errors) == 1 and fragment in errors[0], stderr
    assert "Traceback" not in stderr


def test_cli_fault_is_one_line_without_secrets(sample_kb_dir, stub):
    stub.default = Reply(status=401)
    env = {"BIGAN_LLM_BASE_URL": _secret_url(stub), "BIGAN_LLM_MODEL": "qwen-stub", "BIGAN_LLM_API_KEY": SECRET}
    result = _bigan(["ask", "党组成员至少要联系几个支部"], sample_kb_dir, env)
    assert result.returncode == 1
    _assert_one_error_line(result.stderr, "拒绝了 API 密钥（401）")
    assert "模型：qwen-stub @ http://***@127.0.0.1" in result.stderr
    for secret in (SECRET, PASSWORD, QUERY_TOKEN):
        assert secret not in result.stdout + result.stderr


def test_cli_cut_stream_prints_the_partial_answer_marked(sample_kb_dir, stub):
    stub.default = Reply("党组成员至少要联系1个支部[1]。", cut=True, chunked=True)
    env = {"BIGAN_LLM_BASE_URL": stub.base_url, "BIGAN_LLM_MODEL": "qwen-stub"}
    result = _bigan(["ask", "党组成员至少要联系几个支部"], sample_kb_dir, env)
    assert result.returncode == 1
    assert result.stdout == "党组成员至少要联系1个支部[1]。" + CUT_MARK + "\n"
    _assert_one_error_line(result.stderr, "在回复中途断开了连接")


def test_cli_trickle_ends_by_the_deadline(sample_kb_dir, stub):
    stub.default = Reply("一点", chunk_delay=0.3, endless=True)
    env = {"BIGAN_LLM_BASE_URL": stub.base_url, "BIGAN_LLM_MODEL": "qwen-stub", "BIGAN_LLM_TIMEOUT": "1", "BIGAN_LLM_DEADLINE": "2"}
    result = _bigan(["ask", "党组成员至少要联系几个支部", "--json"], sample_kb_dir, env)
    assert result.returncode == 1 and result.stdout == ""
    _assert_one_error_line(result.stderr, "超过总时限 2 秒仍未完成")


@pytest.fixture
def run_cli(sample_kb_dir, stub, monkeypatch, capsys):
    """`bigan` in this process against the stub, with short deadlines."""

    def run(*args: str, **overrides) -> tuple[int, str, str]:
        settings = llm_settings(sample_kb_dir, stub, llm_timeout=1, llm_deadline=3, **overrides)
        monkeypatch.setattr(cli, "get_settings", lambda: settings)
        code = cli.main(list(args))
        out, err = capsys.readouterr()
        return code, out, err

    return run


@pytest.mark.parametrize(
    "reply,fragment",
    [
        (Reply(status=429), "正在限流（429）"),
        (Reply(status=500), "内部出错（500）"),
        (Reply(status=503), "暂时不可用（503）"),
        (Reply(raw=b"this is not json"), "回复无法解析"),
        (Reply(HUGE, piece_chars=4096), "超过输出上限"),
        (Reply("一点", chunk_delay=0.3, endless=True), "超过总时限 3 秒"),
    ],
    ids=["429", "500", "503", "garbage", "huge", "trickle"],
)
@pytest.mark.parametrize("command", [["ask", "党组成员至少要联系几个支部"], ["draft", "作风建设会议", "--genre", "结尾"]], ids=["ask", "draft"])
def test_cli_faults_exit_1_with_one_error_line(run_cli, stub, reply, fragment, command):
    stub.default = reply
    code, out, err = run_cli(*command)
    assert code == 1
    _assert_one_error_line(err, fragment)
    assert len(out) < 10_000  # a huge reply is capped, not printed whole


def test_cli_answer_without_done_is_normal(run_cli, stub):
    stub.default = Reply("党组成员至少要联系1个支部[1]。", done=False)
    code, out, err = run_cli("ask", "党组成员至少要联系几个支部")
    assert code == 0 and out.startswith("党组成员至少要联系1个支部[1]。\n[1] ") and "bigan: error" not in err


@pytest.mark.parametrize("data", ["党组成员要联系几个支部\n".encode("gbk"), b"\x89PNG\r\n\x1a\n\x00\xff"], ids=["gbk", "binary"])
def test_cli_non_utf8_history_and_batch_files(tmp_path, sample_kb_dir, data):
    path = tmp_path / "input.txt"
    path.write_bytes(data)
    for args in (["ask", "问题", "--history", str(path)], ["search", "--batch", str(path), "--json"]):
        result = _bigan(args, sample_kb_dir, {})
        assert result.returncode == 1
        _assert_one_error_line(result.stderr, "不是 UTF-8 编码的文本")


def test_cli_history_with_a_bom_is_read(tmp_path, run_cli, stub):
    path = tmp_path / "history.json"
    path.write_text('[{"role": "user", "content": "党组成员要联系支部吗"}, {"role": "assistant", "content": "要[1]。"}]', encoding="utf-8-sig")
    stub.script = [Reply("党组成员至少要联系几个支部"), Reply("至少联系1个支部[1]。")]
    code, out, _ = run_cli("ask", "那至少几个呢？", "--history", str(path))
    assert code == 0 and out.startswith("至少联系1个支部[1]。")
