import os
import socket

import tiktoken.registry

from assistant.text.chinese import (
    arabic_years, is_traditional, item_marker, match_key, split_sentences, strip_item_marker, synonyms_in, to_simplified,
    to_traditional,
)
from assistant.text.segment import add_terms, coined_terms, tokenize
from assistant.text.tokens import count_tokens, get_encoding


def test_traditional_and_simplified_round_trip():
    assert to_simplified("黨組織書記") == "党组织书记"
    assert to_traditional("党组织书记") == "黨組織書記"
    assert is_traditional("在區直系統機關黨委書記抓基層黨建工作責任述職評議會上的講話")
    assert not is_traditional("在全市基层党建工作会上的讲话")


def test_match_key_ignores_script_and_whitespace():
    assert match_key("黨建 工作\n會議") == match_key("党建工作会议")


def test_sentences_keep_end_marks_and_closing_quotes():
    text = "一是主动学标。把“手册”作为读本！二是流程对标；三是阵地达标？最后一句"
    assert split_sentences(text) == ["一是主动学标。", "把“手册”作为读本！", "二是流程对标；", "三是阵地达标？", "最后一句"]
    assert split_sentences("他说：“好。”然后走了。") == ["他说：“好。”", "然后走了。"]


def test_token_counts_come_from_packaged_files(tmp_path, monkeypatch):
    def no_network(*args, **kwargs):
        raise AssertionError("tiktoken tried to reach the network")

    monkeypatch.setattr(socket.socket, "connect", no_network)
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr(tiktoken.registry, "ENCODINGS", {})  # force a real load in this process
    get_encoding.cache_clear()
    assert get_encoding("cl100k_base").encode("hello world") == [15339, 1917]
    assert count_tokens("在全市基层党建工作会上的讲话") == 17
    assert os.listdir(tmp_path)  # tiktoken verified and cached the packaged file where we pointed it
    get_encoding.cache_clear()


def test_coined_terms_are_learned_and_kept_whole():
    terms = coined_terms(["以党建统领“一强三创”行动为抓手，落实“三会一课”制度。"])
    assert terms == {"一强三创", "三会一课"}
    add_terms(terms)
    assert "一强三创" in tokenize("党建统领一强三创行动")


def test_item_markers_name_their_list_and_number():
    assert item_marker("二是流程对标。") == ("是", 2)
    assert item_marker("（三）压实责任") == ("paren", 3)
    assert item_marker("2.4.4 作者简历") == ("dec", 4)  # a numbered part of a rule's section
    assert item_marker("1.2 主体部分") == ("dec", 2)
    assert item_marker("20.94 万人，性别比为 82.62。") is None  # a figure, not item 20.94
    assert item_marker("2.5亿元资金") is None
    assert strip_item_marker("二是流程对标。") == "流程对标。"
    assert strip_item_marker("2.4.4 作者简历") == "作者简历"
    assert strip_item_marker("第一条 为加强管理") == "为加强管理"
    assert strip_item_marker("2.5亿元资金") == "2.5亿元资金"


def test_years_typed_short_or_spelled_out_are_written_as_documents_write_them():
    assert arabic_years("二零一九年海拉尔区政府工作报告") == "2019年海拉尔区政府工作报告"
    assert arabic_years("海拉尔14年报告定的目标") == "海拉尔2014年报告定的目标"
    assert arabic_years("宜春22年末常住人口") == "宜春2022年末常住人口"
    # A span of years stays one.
    for span in ("工作满10年", "近20年来", "10年以上", "用了15年", "2019年"):
        assert arabic_years(span) == span


def test_everyday_words_of_money_waiting_and_new_things_reach_the_documents_words():
    assert "可支配" in synonyms_in("城里居民人均收入到手多少")
    assert "脱贫" in synonyms_in("有多少贫困户摘了穷帽子")
    assert "优良天数" in synonyms_in("一年里空气好的日子有多少")
    assert "轮候" in synonyms_in("排队等公屋的申请有多少宗")
    assert "新增" in synonyms_in("新添了几个5A景区")
    assert "友城" in synonyms_in("和哪个城市结成了友好城市")
