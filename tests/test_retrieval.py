import json

import pytest
from langchain_core.documents import Document

from assistant.errors import BiganError
from assistant.evaluate import evaluate_items, is_hit, load_items
from assistant.ingest.sections import Section
from assistant.retrieve import HybridRetriever

from .conftest import CORPUS, DATA

DEVSET = DATA / "devset.jsonl"


def test_devset_is_well_formed():
    items = load_items(DEVSET)
    assert len(items) >= 40
    kinds = {item["kind"] for item in items}
    assert {"paraphrase", "numeric", "list", "s2t", "t2s", "conversation"} <= kinds
    for item in items:
        text = (CORPUS / item["source"]).read_text(encoding="utf-8")
        for turn in item.get("turns", [item]):
            assert turn["gold"] in text, turn


def test_hit_rule():
    assert is_hit("黨組書記", "坚持党组书记每月召开")
    assert is_hit("党组书记落实机关党建第一责任人责任", "党组书记落实机关 党建第一责任人")  # ≥60% contiguous
    assert not is_hit("党组书记落实机关党建第一责任人责任", "党组书记落实")


def test_recall_on_the_dev_set(searcher):
    report = evaluate_items(searcher, load_items(DEVSET)).as_dict()
    print(json.dumps(report["overall"]))
    assert report["overall"]["recall@1"] >= 0.85, report["misses"]
    assert report["overall"]["recall@5"] >= 0.95, report["misses"]
    assert report["by_kind"]["conversation"]["recall@5"] >= 0.9, report["misses"]


def test_simplified_query_finds_traditional_text(searcher):
    top = searcher.search("疫情防控期间派出机关党员突击队", 1)[0]
    assert top.section.source == "001_58fd5961e537d1e9.txt"
    assert "突擊隊45支" in top.section.text  # shown as written


def test_traditional_query_finds_simplified_text(searcher):
    top = searcher.search("黨建指導員要當好哪“六員”", 1)[0]
    assert "“六员”" in top.section.text and top.section.source == "002_6ced87f26916ac27.txt"


def test_hits_carry_citation_fields(searcher):
    hit = searcher.search("三级责任抓目标", 3)[0].to_dict()
    assert {"text", "source", "title", "heading", "score"} <= hit.keys()
    assert hit["title"] == "经验材料：以党建引领XX事业高质量发展"
    assert hit["heading"].startswith("一、三级责任抓目标")


def test_scores_are_ordered(searcher):
    scores = [h.score for h in searcher.search("基层党建", 10)]
    assert scores == sorted(scores, reverse=True) and len(scores) == 10


def test_empty_query_is_refused(searcher):
    with pytest.raises(BiganError, match="empty"):
        searcher.search("   ")


def test_langchain_retriever(searcher):
    docs = HybridRetriever(searcher=searcher, k=3).invoke("党建指导员的六员")
    assert len(docs) == 3 and all(isinstance(d, Document) for d in docs)
    assert docs[0].metadata["source"] == "002_6ced87f26916ac27.txt"


def test_a_question_names_the_document_by_its_specific_words():
    from assistant.signals import DocumentNames

    docs = {
        f"d{year}": {"title": "政府工作报告", "name": f"海拉尔区{year}年政府工作报告.txt", "label": f"——{year}年2月19日在区人民代表大会上"}
        for year in (2014, 2016)
    }
    docs["plain"] = {"title": "工作报告", "name": "工作报告.txt"}
    names = DocumentNames(docs)
    scores = names.scores("2014年海拉尔区政府工作报告给旅游定了什么目标")
    assert max(scores, key=scores.get) == "d2014" and scores["d2014"] > scores["d2016"] > 0
    assert names.strip("2014年海拉尔区政府工作报告给旅游定了什么目标", scores).endswith("给旅游定了什么目标")
    assert "旅游" in names.strip("2014年海拉尔区政府工作报告给旅游定了什么目标", scores)
    unnamed = names.scores("旅游目标是什么")
    assert names.strip("旅游目标是什么", unnamed) == "旅游目标是什么"


def test_the_one_document_a_question_names():
    from assistant.signals import DocumentNames

    docs = {
        f"d{year}": {"title": "政府工作报告", "name": f"海拉尔区{year}年政府工作报告.txt"} for year in (2014, 2016)
    } | {"refs": {"title": "山东财经大学本科毕业论文（设计）参考文献规范格式", "name": "参考文献规范格式.docx"}}
    names = DocumentNames(docs)
    assert names.named("山东财经大学本科毕业论文正文最少多少字") == "refs"
    assert names.named("海拉尔区的旅游收入是多少") is None  # both reports alike
    assert names.named("旅游收入是多少") is None


def test_a_university_is_named_by_its_short_form():
    from assistant.signals import DocumentNames, short_names

    assert short_names("浙江大学") == ["浙大"] and short_names("北京师范大学") == ["北师大", "北京师大"]
    assert short_names("财经大学") == [] and short_names("大学") == []  # a discipline is no place
    docs = {
        "zju": {"title": "浙江大学本科生毕业论文（设计）编写规则", "name": "编写规则.pdf"},
        "whu": {"title": "武汉大学本科生毕业论文（设计）工作管理办法", "name": "管理办法.pdf"},
        "nju": {"title": "南京大学学位授予细则", "name": "细则.pdf"},
        "nku": {"title": "南开大学学位授予细则", "name": "细则2.pdf"},
    }
    names = DocumentNames(docs)
    short, full = names.scores("浙大毕业论文题目最长几个字"), names.scores("浙江大学毕业论文题目最长几个字")
    assert max(short, key=short.get) == "zju" and short["zju"] == full["zju"]
    # 南大 could be either: it names neither.
    assert names.scores("南大的学位授予细则") == names.scores("的学位授予细则")


def test_names_the_question_covers_by_the_same_words_are_named_alike():
    from assistant.signals import DocumentNames

    docs = {
        "print": {"title": "武汉大学硕士学位论文印制规定", "name": "印制规定.docx"},
        "defence": {"title": "武汉大学硕士学位论文撰写评审及答辩的有关规定", "name": "有关规定.docx"},
        "refs": {"title": "山东财经大学本科毕业论文参考文献规范格式", "name": "参考文献.docx"},
    }
    names = DocumentNames(docs)
    # The question says nothing of printing or of defence: the shorter name is no better named.
    scores = names.scores("武汉大学硕士学位论文正文最少要写多少字")
    assert scores["print"] == scores["defence"] > scores["refs"]
    assert names.named("武汉大学硕士学位论文正文最少要写多少字") is None
    assert names.named("武汉大学硕士学位论文印制用什么纸") == "print"


def test_a_work_report_is_named_by_the_year_it_reviews_beside_its_place():
    from assistant.signals import DocumentNames

    docs = {f"d{year}": {"title": "政府工作报告", "name": f"海拉尔区{year}年政府工作报告.txt"} for year in (2012, 2014, 2019)}
    docs["national"] = {"title": "政府工作报告", "name": "工作报告.txt"}
    names = DocumentNames(docs)
    # Delivered early in 2014, the 2014 report reviews 2013.
    assert names.named("海拉尔2013年收回了几辆公务车") == "d2014"
    assert names.named("海拉尔2011年新进驻了哪些银行") == "d2012"
    # A year alone names no place's report, nor does it beside the report's own year.
    assert names.named("2018年全国农村贫困人口减少了多少") is None
    assert names.scores("2019年政府工作报告里2018年新增多少公里高铁") == names.scores("2019年政府工作报告里新增多少公里高铁")


def test_a_report_the_guowuyuan_delivers_is_the_national_one():
    from assistant.signals import DocumentNames

    docs = {f"d{year}": {"title": "政府工作报告", "name": f"海拉尔区{year}年政府工作报告.txt"} for year in (2012, 2014, 2019)}
    docs["gansu"] = {"title": "2026年甘肃省政府工作报告", "name": "甘肃.csv"}
    docs["stats"] = {"title": "宜春市2022年国民经济和社会发展统计公报", "name": "宜春.html"}
    # Its file and first line say neither place nor year: the KB read them from its opening and first part.
    docs["national"] = {"title": "工作报告", "name": "工作报告.txt", "origin": "政府工作报告 国务院 2019年"}
    names = DocumentNames(docs)
    assert names.named("2018年全国城镇新增就业多少人") == "national"
    scores = names.scores("2019年政府工作报告定的经济增长目标是多少")
    assert scores["national"] == scores["d2019"] > scores["d2014"]


def test_a_question_naming_a_place_or_school_is_not_about_anothers_documents():
    from assistant.signals import DocumentNames

    docs = {
        "zju": {"title": "浙江大学本科生毕业论文（设计）编写规则", "name": "浙大.pdf"},
        "sdufe": {"title": "山东财经大学本科毕业论文（设计）参考文献规范格式", "name": "山财.docx"},
        "wanzai": {"title": "万载县2015年国民经济和社会发展统计公报", "name": "万载.html"},
        "gansu": {"title": "2026年甘肃省政府工作报告", "name": "甘肃.csv"},
        "national": {"title": "工作报告", "name": "工作报告.txt", "origin": "政府工作报告 国务院 2019年"},
        "police": {"title": "公安机关录用人民警察体能测评标准及实施规范", "name": "附件3.doc"},
    }
    names = DocumentNames(docs)
    # The other school's rules share the topic word of the question, and are still not about 浙大.
    assert names.foreign("浙大论文参考文献作者有五六个人要全写上吗") == {"sdufe", "wanzai", "gansu", "national"}
    assert names.scores("浙大论文参考文献作者有五六个人要全写上吗")["sdufe"] == 0.0
    assert names.foreign("万载森林覆盖率多少") == {"zju", "sdufe", "gansu", "national"}
    assert names.foreign("2018年全国城镇新增就业多少人") == {"zju", "sdufe", "wanzai", "gansu"}
    # Naming none, or a place no document is for, rules none out.
    assert names.foreign("参考文献作者超过三位怎么写") == set()
    assert names.foreign("兰州市2022年地区生产总值是多少") == set()


def test_a_question_pointing_at_a_part_finds_its_heading():
    from assistant.signals import opens_part, part_markers

    assert part_markers("报告第二部分讲什么") == ("二、", "第二部分")
    # An article, or the twelfth item of a list.
    assert part_markers("第12条怎么规定")[0] == "第十二条" and "十二是" in part_markers("第12条怎么规定")
    assert "（三）" in part_markers("第三项是什么") and "3." in part_markers("第三项是什么")
    opening = Section("d", "s", "t", ["二、2014年工作安排"], 0, "二、2014年工作安排\n（一）狠抓投资……")
    under = Section("d", "s", "t", ["二、2014年工作安排", "（二）加快产业转型"], 1, "（二）加快产业转型……")
    assert opens_part(opening, part_markers("第二部分")) and not opens_part(under, part_markers("第二部分"))
    assert not opens_part(opening, part_markers("第三部分"))


def test_a_place_or_school_the_question_names_must_be_named_by_the_passages_found():
    from assistant.signals import DocumentNames

    docs = {
        "stats": {"title": "宜春市2022年国民经济和社会发展统计公报", "name": "宜春.html"},
        "list": {"title": "2022年通过普通高等学校师范类专业认证的专业名单", "name": "名单.docx"},
        "whu": {"title": "武汉大学本科生毕业论文（设计）工作管理办法", "name": "管理办法.pdf"},
    }
    names = DocumentNames(docs)
    other_schools = "311宜宾学院学前教育本科有条件通过"
    assert names.unheld_owners("宜春学院2022年有哪些师范专业通过了认证", other_schools) == {"宜春市"}
    assert names.unheld_owners("宜春2022年粮食产量多少", "宜春市2022年国民经济和社会发展统计公报全年粮食产量") == set()
    assert names.unheld_owners("武大本科毕业论文几月答辩", "武汉大学本科生毕业论文（设计）工作管理办法答辩时间") == set()
    assert names.unheld_owners("师范认证名单里有几所学院", other_schools) == set()
