"""The model backend against a real OpenAI-compatible server on 127.0.0.1, failure modes included."""
import logging

import pytest
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage, HumanMessage
from pydantic import SecretStr

from assistant.components.llm import LLM, LLMError, get_llm
from assistant.config import Settings
from assistant.errors import BiganError

from .conftest import llm_settings
from .llm_stub import Reply

SECRET = "sk-test-SECRET-0123456789"


def _llm(tmp_path, stub, **overrides):
    return get_llm(llm_settings(tmp_path, stub, **overrides))


def test_backend_is_chosen_by_settings(tmp_path, stub, monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    assert get_llm(Settings(kb_dir=tmp_path)) is None
    assert get_llm(Settings(kb_dir=tmp_path, llm_provider="none", llm_base_url=stub.base_url)) is None
    with pytest.raises(BiganError, match="BIGAN_LLM_MODEL"):
        get_llm(Settings(kb_dir=tmp_path, llm_base_url=stub.base_url))
    with pytest.raises(BiganError, match="未知的 BIGAN_LLM_PROVIDER"):
        get_llm(Settings(kb_dir=tmp_path, llm_provider="magic"))


def test_openai_variables_are_honoured_when_ours_are_absent(tmp_path, stub, monkeypatch):
    monkeypatch.setenv("OPENAI_BASE_URL", stub.base_url)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-from-openai-env")
    settings = Settings(kb_dir=tmp_path, llm_model="m")
    assert settings.llm_backend == "openai" and settings.llm_base_url == stub.base_url
    get_llm(settings).complete([HumanMessage("你好")])
    assert stub.requests[0]["headers"]["authorization"] == "Bearer sk-from-openai-env"
    monkeypatch.setenv("BIGAN_LLM_BASE_URL", "http://127.0.0.1:1/v1")
    assert Settings(kb_dir=tmp_path).llm_base_url == "http://127.0.0.1:1/v1"


def test_streams_pieces_and_sends_the_settings(tmp_path, stub):
    stub.default = Reply("第一句。第二句。")
    llm = _llm(tmp_path, stub, llm_temperature=0.1, llm_max_tokens=321)
    pieces = list(llm.stream([HumanMessage("问题")]))
    assert len(pieces) > 1 and "".join(pieces) == "第一句。第二句。"
    body = stub.requests[0]["body"]
    assert body["stream"] is True and body["model"] == "qwen-stub" and body["max_tokens"] == 321 and body["temperature"] == 0.1


@pytest.mark.parametrize(
    "reply,expected",
    [
        (Reply(status=401), "拒绝了 API 密钥（401）"),
        (Reply(status=404), "找不到模型"),
        (Reply(status=429), "正在限流（429）"),
        (Reply(status=500), "内部出错（500）"),
        (Reply(status=503), "暂时不可用（503）"),
        (Reply(raw=b"this is not json"), "无法解析"),
        (Reply(content=""), "空回复"),
        (Reply(content="写到一半", finish_reason="length"), "达到输出上限"),
    ],
)
def test_failures_are_explained_without_the_key(tmp_path, stub, caplog, reply, expected):
    stub.default = reply
    caplog.set_level(logging.DEBUG)
    with pytest.raises(LLMError, match=expected) as info:
        _llm(tmp_path, stub).complete([HumanMessage("问题")])
    assert SECRET not in str(info.value)
    assert SECRET not in caplog.text


def test_refused_connection(tmp_path, stub):
    llm = get_llm(llm_settings(tmp_path, stub, llm_base_url="http://127.0.0.1:9/v1"))
    with pytest.raises(LLMError, match="无法连接模型服务"):
        llm.complete([HumanMessage("问题")])


def test_timeout(tmp_path, stub):
    stub.default = Reply(delay=2.0)
    with pytest.raises(LLMError, match="秒内没有响应"):
        _llm(tmp_path, stub, llm_timeout=0.5).complete([HumanMessage("问题")])


def test_transient_failures_are_retried(tmp_path, stub):
    stub.script = [Reply(status=429), Reply(status=503)]
    stub.default = Reply("好的。")
    assert _llm(tmp_path, stub, llm_max_retries=2).complete([HumanMessage("问题")]) == "好的。"
    assert len(stub.requests) == 3


# --- a LangChain chat model passed in ---------------------------------------------------------


class _FailingChat(GenericFakeChatModel):
    """A chat model whose backend fails with its own exception, naming its key."""

    api_key: SecretStr = SecretStr(SECRET)

    def _stream(self, *args, **kwargs):
        raise RuntimeError(f"backend exploded (key {SECRET})")


def test_a_langchain_chat_model_can_be_passed_in(tmp_path):
    # No finish reason and no timeout parameter: both are assumed only of OpenAI-compatible endpoints.
    chat = GenericFakeChatModel(messages=iter([AIMessage("一是 压实 责任。 二是 健全 制度。")]))
    llm = LLM.from_langchain(chat, Settings(kb_dir=tmp_path), model="本地模型")
    pieces = list(llm.stream([HumanMessage("问题")]))
    assert len(pieces) > 1 and "".join(pieces) == "一是 压实 责任。 二是 健全 制度。"
    assert not llm.openai_compatible and llm.describe() == "本地模型 @ GenericFakeChatModel"


def test_a_passed_in_model_failing_is_explained_without_its_key(tmp_path, caplog):
    caplog.set_level(logging.DEBUG)
    llm = LLM.from_langchain(_FailingChat(messages=iter([])), Settings(kb_dir=tmp_path, llm_max_retries=0))
    with pytest.raises(LLMError, match="调用出错：RuntimeError") as info:
        llm.complete([HumanMessage("问题")])
    assert SECRET not in str(info.value) and SECRET not in caplog.text


def test_a_passed_in_chat_openai_keeps_the_endpoint_checks(tmp_path, stub):
    from langchain_openai import ChatOpenAI

    chat = ChatOpenAI(model="qwen-stub", base_url=stub.base_url, api_key=SECRET, max_retries=0)
    llm = LLM.from_langchain(chat, Settings(kb_dir=tmp_path, llm_max_retries=0))
    assert llm.openai_compatible and llm.model == "qwen-stub" and llm.base_url == stub.base_url
    stub.default = Reply("好的。")
    assert llm.complete([HumanMessage("问题")]) == "好的。"
    stub.default = Reply(status=401)
    with pytest.raises(LLMError, match="拒绝了 API 密钥（401）") as info:
        llm.complete([HumanMessage("问题")])
    assert SECRET not in str(info.value)
