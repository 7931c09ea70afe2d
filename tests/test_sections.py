import re

import pytest

from assistant.ingest.clean import clean_text
from assistant.ingest.loaders import load_text
from assistant.ingest.sections import heading_of, item_label, marker_type, split_sections
from assistant.text.chinese import split_sentences
from assistant.text.tokens import count_tokens

from .conftest import CORPUS

BUDGET, MIN_TOKENS = 320, 48


@pytest.fixture(scope="module")
def docs():
    return {p.name: clean_text(load_text(p)) for p in sorted(CORPUS.iterdir())}


@pytest.fixture(scope="module")
def sections(docs):
    return {name: split_sections(doc, name[:3], name, BUDGET, MIN_TOKENS) for name, doc in docs.items()}


def test_marker_levels():
    assert marker_type("一、紧扣标准要求") == "cn"
    assert marker_type("（一）抓好新时代党建工作") == "paren_cn"
    assert marker_type("(二)突出一个重点") == "paren_cn"
    assert marker_type("1.充分認識政治建設") == "num"
    assert marker_type("（1）具体措施") == "paren_num"
    assert marker_type("第一，提高认识") == "di"
    assert marker_type("2020年，是全面建成小康社会决胜之年") is None
    assert marker_type("2.5亿元资金") is None
    assert marker_type("1.2 主体部分") == "dec"
    assert marker_type("2.4.4 作者简历") == "dec3"
    # A statistics PDF breaks "…其中女性 / 20.94 万人，性别比为 82.62。": a figure, not heading 20.94.
    assert marker_type("20.94 万人，性别比为 82.62。") is None


def test_heading_is_first_sentence_of_an_inline_heading():
    assert heading_of("一、紧扣标准要求，务求党建达标。我们深刻认识到……") == "一、紧扣标准要求，务求党建达标"
    assert heading_of("三、三位一体抓基础、党建工作有保障") == "三、三位一体抓基础、党建工作有保障"
    assert item_label("二是流程对标。") == "二是流程对标"
    assert item_label("一要通读原文原著。") == "一要通读原文原著"
    assert item_label("是不是这样。") is None


def test_nested_heading_path(sections):
    paths = [s.heading_path for s in sections["003_5b479df242e3a196.txt"]]
    assert [
        "一、提高政治站位，切实增强抓好新时代党建工作的责任感和使命感",
        "（一）抓好新时代党建工作是贯彻全面从严治党的政治要求",
    ] in paths
    assert any(p[:2] == ["二、把握关键要领，奋力开创新时代XX党建工作新局面", "（二）突出一个重点，切实筑牢XX机关绝对忠诚之魂"] and p[-1] == "二要严肃党内生活" for p in paths)


def test_traditional_sections_keep_their_script_and_get_a_simplified_copy(sections):
    secs = sections["001_58fd5961e537d1e9.txt"]
    target = next(s for s in secs if "1.充分認識政治建設的極端重要性" in s.heading_path)
    assert target.heading_path[0] == "一、堅持高站位,以着眼全局的戰略思維推進機關黨建"
    assert "黨政機關首先是政治機關" in target.text
    assert "党政机关首先是政治机关" in target.text_s
    assert target.title.startswith("在區直系統")


def test_inline_items_extend_the_heading_path(sections):
    paths = [s.heading for s in sections["000_d6b92f23921d179d.txt"]]
    assert "一、紧扣标准要求，务求党建达标 > 二是流程对标" in paths


def test_salutation_preamble_and_closing(sections):
    secs = sections["002_6ced87f26916ac27.txt"]
    assert secs[0].kind == "preamble" and secs[0].text.startswith("同志们：\n在全市疫情防控")
    assert secs[-1].kind == "closing" and secs[-1].text.startswith("同志们，求木之长者") and secs[-1].heading_path == []


def test_sections_cover_the_document_exactly(docs, sections):
    for name, doc in docs.items():
        # A continued section repeats its heading line first; without it the sections are the document.
        joined = re.sub(r"\s", "", "".join(s.text.split("\n", 1)[1] if s.continued else s.text for s in sections[name]))
        assert joined == re.sub(r"\s", "", "".join(doc.paragraphs)), name


def test_budget_respected_and_never_mid_sentence(docs, sections):
    for name, secs in sections.items():
        paragraphs = docs[name].paragraphs
        for s in secs:
            last_line = s.text.split("\n")[-1]
            ends_sentence = s.text.rstrip()[-1] in "。！？；;!?”’」』）)】》"
            assert ends_sentence or any(p.endswith(last_line) for p in paragraphs), (name, s.text[-20:])
            longest = max(count_tokens(x) for x in split_sentences(s.text))
            assert count_tokens(s.text) <= max(BUDGET, longest) + 2 * MIN_TOKENS, (name, s.heading)


def test_no_tiny_fragments(sections):
    for name, secs in sections.items():
        assert all(count_tokens(s.text) >= MIN_TOKENS for s in secs), name


def test_positions_are_document_order(sections):
    for secs in sections.values():
        assert [s.position for s in secs] == list(range(len(secs)))


def _split(text: str):
    return split_sections(clean_text(text), "d", "s", BUDGET, min_tokens=1)


def test_a_higher_level_closes_lower_ones_even_when_its_first_sibling_was_never_seen():
    body = "这是一段足够长的正文内容，用来说明本部分的具体工作安排和要求。"
    secs = _split(f"政府工作报告\n（九）坚持依法全面履行政府职能\n{body}\n二、2018年经济社会发展总体要求\n{body}\n（一）稳增长\n{body}")
    assert [s.heading_path for s in secs][-2:] == [["二、2018年经济社会发展总体要求"], ["二、2018年经济社会发展总体要求", "（一）稳增长"]]


def test_a_third_level_decimal_heading_opens_a_section_under_its_parent_and_closes_a_bracketed_item():
    body = "这是一段足够长的正文内容，用来说明本部分的具体格式和编写要求，供撰写时参照执行。"
    secs = _split(f"论文编写规则\n2.4 结尾部分\n2.4.1 参考文献\n{body}\n（5）个人著者，其姓全部著录\n{body}\n2.4.2 附录\n{body}")
    assert [s.heading_path for s in secs][-1] == ["2.4 结尾部分", "2.4.2 附录"]


def test_chapter_and_article_on_one_line_are_split_and_articles_are_body_text():
    text = ("学校规划管理办法\n第一章\n总 则\n第一条　为加强学校规划管理，根据有关规定，制定本办法。\n"
            "第二章　规划建设　　第八条　学校建设应当符合总体规划，履行报批程序。\n第九条　新建项目应当先规划后建设。")
    secs = _split(text)
    paths = [s.heading_path for s in secs]
    assert paths == [["第一章 总则"], ["第二章　规划建设"]]  # the chapter is the heading, not the article
    assert "第八条　学校建设应当符合总体规划" in secs[1].text and "第九条" in secs[1].text
    assert "第一条　为加强学校规划管理" in secs[0].text
    assert item_label("第八条　学校建设应当符合总体规划。") == "第八条"  # a section that starts with an article is named by it


def test_sections_keep_their_page():
    text = "关于印发工作方案的通知\n一、总体要求。全面加强机关党的建设，提高工作质量。\f二、主要任务。抓好支部标准化建设，落实三会一课制度。"
    secs = _split(text)
    assert [(s.heading_path[0][:2], s.page) for s in secs] == [("一、", 1), ("二、", 2)]


def test_short_items_are_filed_where_they_belong():
    text = ("学校管理办法\n第二章 工作目的\n第二条 毕业论文是本科教学计划中独立设置的一门必修课程，培养学生以下几方面的能力，具体要求如下所列各项：\n"
            "（一）培养学生综合运用专业基本理论的能力；培养学生独立提出问题、分析问题、解决问题的能力，提高学生的创新意识和实践能力；\n"
            "（二）培养学生严肃认真的科学态度；\n（三）培养学生获取信息的能力；\n（四）培养学生书面表达能力。\n"
            "第三章 工作组织\n第三条 学院是毕业论文工作组织和实施的主体，提倡各学院分专业成立由系主任牵头的毕业论文课程组，开展毕业论文教学工作。")
    secs = split_sections(clean_text(text), "d", "s", BUDGET, MIN_TOKENS)
    by_text = {s.text.split("\n")[0][:4]: s.heading_path for s in secs}
    assert by_text["（二）培"] == ["第二章 工作目的"]  # two short siblings joined: under their parent, not under （三）
    assert all("（四）" not in s.text for s in secs if s.heading_path[:1] == ["第三章 工作组织"])
    assert by_text["第三章 "] == ["第三章 工作组织"]


def test_a_numbered_line_that_is_one_long_sentence_is_an_item_not_the_heading_of_what_follows():
    text = ("普通高等学校本科专业目录\n说明：\n1.本目录是在原目录基础上增补近年批准增设的目录外新专业而形成的。\n"
            "3.专业目录中涉及国家安全、特殊行业等专业由国家控制布点，称为国家控制布点专业，在专业代码后加“K”表示。\n"
            "13 经济学类 020109T 数字经济 经济学 四年 2018\n14 财政学类 020201K 财政学 经济学 四年\n")
    secs = _split(text)
    row = next(s for s in secs if "数字经济" in s.text)
    assert not any(h.startswith("3.") for h in row.heading_path)
    # A heading on its own line, with no full stop, still heads the text below it.
    secs = _split("工作方案\n（一）坚持以习近平新时代中国特色社会主义思想为指导全面加强机关党的建设\n这是一段足够长的正文内容，用来说明本部分的具体工作安排和要求。")
    assert secs[-1].heading_path == ["（一）坚持以习近平新时代中国特色社会主义思想为指导全面加强机关党的建设"]
