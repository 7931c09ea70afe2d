import pytest

from assistant.ingest.clean import clean_text
from assistant.ingest.loaders import load_text
from assistant.text.chinese import to_simplified

from .conftest import CORPUS

TITLES = {
    "000_d6b92f23921d179d.txt": "在X系统党建工作座谈会上的讲话",
    "001_58fd5961e537d1e9.txt": "在區直系統機關黨委(直屬黨總支)書記抓基層黨建工作責任述職評議會上的講話",
    "002_6ced87f26916ac27.txt": "在全市基层党建工作会上的讲话",
    "003_5b479df242e3a196.txt": "在机关党建工作会议上的讲话",
    "004_1cbbaef2f0fcc76e.txt": "经验材料：以党建引领XX事业高质量发展",
}
# Chrome seen in the sample corpus (checked in Simplified, so Traditional variants count too).
CHROME = [
    "仅供学习", "禁止外传", "酷乐文行", "自建平台", "不断迭代", "订阅", "打击倒卖", "会员", "QQ",
    "206157060", "当前位置", "文范网", "讲话致辞 >", "领导讲话稿", "版权", "转载", "http", "wenfanwang",
    "原创投稿",
]


@pytest.fixture(scope="module")
def texts() -> dict[str, str]:
    return {name: load_text(CORPUS / name) for name in TITLES}


@pytest.fixture(scope="module")
def cleaned(texts):
    return {name: clean_text(text) for name, text in texts.items()}


def test_every_sample_document_keeps_its_real_title(cleaned):
    assert {name: doc.title for name, doc in cleaned.items()} == TITLES


@pytest.mark.parametrize("name", sorted(TITLES))
def test_no_banner_or_web_chrome_survives(cleaned, name):
    body = to_simplified("\n".join([cleaned[name].title, *cleaned[name].paragraphs]))
    assert [c for c in CHROME if c in body] == []
    assert not body.rstrip().endswith("专题")


def test_repeated_title_kept_once(cleaned):
    doc = cleaned["001_58fd5961e537d1e9.txt"]
    assert all(TITLES["001_58fd5961e537d1e9.txt"] not in p for p in doc.paragraphs)
    assert doc.paragraphs[0] == "同志們:"


def test_placeholders_and_body_are_kept(cleaned, texts):
    doc = cleaned["000_d6b92f23921d179d.txt"]
    assert doc.paragraphs[1].startswith("市X局现有干部职工X人，其中党员X人")
    # Every real paragraph survives verbatim.
    last = "三是强化措施，奋力实现“三个一流”。"
    assert any(p.startswith(last) for p in doc.paragraphs)
    total = sum(len(p) for p in doc.paragraphs)
    assert total > 0.95 * len(texts["000_d6b92f23921d179d.txt"].split("同志们：", 1)[1].replace("\n", ""))


def test_a_document_alone_is_cleaned_without_corpus_statistics(texts):
    doc = clean_text(texts["002_6ced87f26916ac27.txt"])
    assert doc.title == TITLES["002_6ced87f26916ac27.txt"]
    body = "\n".join(doc.paragraphs)
    assert [c for c in CHROME if c in body] == []


def test_site_footer_and_metadata_lines_go_but_shared_headings_and_paragraphs_stay():
    shared = ["一、总体要求", "（一）指导思想", "坚持以人民为中心的发展思想，统筹推进各项工作，确保年度目标任务全面完成。"]
    docs = [
        "\n".join([f"关于第{n}项工作的报告", "发布时间：2017-05-15 来源：办公室 点击数：123", "同志们：",
                   f"第{n}项工作进展顺利，成效明显，群众满意度持续提升。", *shared, "本站资料来自网络收集整理"])
        for n in range(4)
    ]
    for doc in map(clean_text, docs):
        assert doc.paragraphs[0] == "同志们："
        assert all(line in doc.paragraphs for line in shared)  # repetition across documents is not proof of chrome
        assert not any("本站" in p or "点击数" in p for p in doc.paragraphs)


def test_a_numbered_heading_is_never_chrome():
    doc = clean_text("关于论文印制的规定\n一、论文原创性声明（见附件三）\n（三）字体和字号\n论文正文用小四号宋体，行距固定值二十磅，页边距按学校统一要求设置。")
    assert doc.paragraphs[:2] == ["一、论文原创性声明（见附件三）", "（三）字体和字号"]


def test_url_is_removed_inside_a_kept_line():
    doc = clean_text("关于开展调研的通知\n同志们：\n详见 https://example.org/a.html 的安排，请各单位认真落实本次调研任务的要求。")
    assert "example.org" not in doc.paragraphs[1] and "请各单位认真落实" in doc.paragraphs[1]


def test_title_falls_back_to_file_name():
    doc = clean_text("今年以来，我们认真落实各项部署，取得了明显成效，群众满意度不断提升。", fallback_title="2020年工作总结")
    assert doc.title == "2020年工作总结"


def test_a_work_report_with_no_title_line_is_named_by_who_delivers_it_and_when():
    from assistant.ingest.clean import report_origin

    national = clean_text(
        "各位代表：\n现在，我代表国务院，向大会报告政府工作，请予审议。\n一、2018年工作回顾\n"
        "过去一年是全面贯彻党的十九大精神开局之年。国内生产总值增长6.6%。\n", fallback_title="工作报告",
    )
    assert report_origin(national) == ["政府工作报告", "国务院", "2019年"]
    # "区政府" names no place; a report reviewing "过去一年" gives no year.
    local = clean_text("各位代表：\n现在，我代表区政府向大会作工作报告，请予审议。\n一、过去一年工作回顾\n全年地区生产总值完成198.5亿元。\n")
    assert report_origin(local) == ["政府工作报告"]
    # A unit's summary opening with a review is not delivered to a congress.
    summary = clean_text("各位领导：\n一、2018年工作回顾\n全年完成任务。\n")
    assert report_origin(summary) == []


def test_a_line_opening_on_a_figure_or_a_semicolon_carries_on_the_unended_line_above():
    # Not hard-wrapped to one width: the lines break where the PDF's layout did.
    doc = clean_text(
        "2021 年，深圳市户籍迁入人口 38.24 万人，其中女性\n20.94 万人，性别比为 82.62。\n"
        "2021 年，深圳市常住人口出生率为 10.37‰，死亡率为\n0.77‰\n；出生人口性别比为 113.39。\n"
        "2021 年，深圳市规模以上工业企业 R&D 就业人员 35.58\n万人，其中女性 9.74 万人。\n"
        "1 人口特征\n（女=100）\n3 岁以下 29.80 113.47\n", fallback_title="性别数据",
    )
    assert "2021 年，深圳市户籍迁入人口 38.24 万人，其中女性20.94 万人，性别比为 82.62。" in doc.paragraphs
    assert "2021 年，深圳市常住人口出生率为 10.37‰，死亡率为0.77‰；出生人口性别比为 113.39。" in doc.paragraphs
    assert "2021 年，深圳市规模以上工业企业 R&D 就业人员 35.58万人，其中女性 9.74 万人。" in doc.paragraphs
    # A page number between the halves is neither where the sentence starts nor what keeps them apart.
    paged = clean_text("全市婴儿死亡率为 1.1‰，其中男婴为\n5\n；出生人口性别比为 113.39。\n", fallback_title="性别数据")
    assert paged.paragraphs == ["全市婴儿死亡率为 1.1‰，其中男婴为；出生人口性别比为 113.39。"]
    # A whole number and a word is a numbered heading or a table row, and stays on its own line.
    assert "1 人口特征" in doc.paragraphs and "3 岁以下 29.80 113.47" in doc.paragraphs


def test_a_line_ending_on_a_comma_goes_on_in_the_next_unless_a_heading_follows():
    doc = clean_text(
        "2021 年，深圳市共有公务员（含参照管理）5.00 万人，\n其中女性 1.25 万人，占比 24.9%。\n"
        "包括时钟数据恢复（CDR）、锁相环（PLL）、\n千兆位收发器块（GXB）。\n"
        "目标如下，\n二、主要任务\n", fallback_title="性别数据",
    )
    assert "2021 年，深圳市共有公务员（含参照管理）5.00 万人，其中女性 1.25 万人，占比 24.9%。" in doc.paragraphs
    assert "包括时钟数据恢复（CDR）、锁相环（PLL）、千兆位收发器块（GXB）。" in doc.paragraphs
    assert "二、主要任务" in doc.paragraphs


def test_ocr_dash_for_the_numeral_one_is_read_as_one_but_a_real_hyphen_stays():
    doc = clean_text(
        "思想汇报\n作为-名科员，我在工作中取得了-定的进步，这是我- -生追求的目标。\n"
        "第-章 总则\n参考文献采用著者-出版年制，航线为北京-上海，时间为2019-2020年。\n", fallback_title="思想汇报",
    )
    assert "作为一名科员，我在工作中取得了一定的进步，这是我一生追求的目标。" in doc.paragraphs
    assert "第一章 总则" in doc.paragraphs
    assert "参考文献采用著者-出版年制，航线为北京-上海，时间为2019-2020年。" in doc.paragraphs
