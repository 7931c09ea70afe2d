"""Q&A: the offline extractive path on the real KB, and the LLM path against the loopback stub."""
import re
from dataclasses import replace

import pytest

from assistant.answer import NOT_FOUND, ask, ask_stream, extractive_answer, is_follow_up, standalone_question
from assistant.components.llm import get_llm
from assistant.errors import BiganError
from assistant.evaluate import is_hit
from assistant.ingest.sections import Section
from assistant.retrieve import Hit, Searcher
from assistant.text.chinese import match_key, to_simplified
from assistant.text.tokens import count_tokens

from .conftest import llm_settings, make_settings
from .llm_stub import Reply


@pytest.fixture(scope="module")
def offline(sample_kb_dir):
    return make_settings(sample_kb_dir)


def test_extractive_answer_quotes_the_passage_with_citations(searcher, offline):
    answer = ask("党组成员至少要联系几个支部", [], searcher, offline, None)
    assert answer.mode == "extractive"
    assert is_hit("黨組(黨委)成員至少要聯繫1個支部", answer.answer)
    assert re.search(r"\[1\]", answer.answer)
    assert answer.citations[0].n == 1 and answer.citations[0].source == "001_58fd5961e537d1e9.txt"
    # Nothing invented: every sentence of the answer is a sentence of a cited passage (in the asker's script).
    cited = match_key("".join(c.text for c in answer.citations))
    for sentence in re.split(r"\[\d+\]", answer.answer):
        assert match_key(sentence) in cited
    assert "黨" in answer.citations[0].text and to_simplified(answer.answer) == answer.answer


def test_a_traditional_question_gets_a_traditional_answer(searcher, offline):
    answer = ask("黨組書記多久召開一次黨組會", [], searcher, offline, None)
    assert "每月召開一次黨組會" in answer.answer
    assert "每月召开一次党组会" in answer.citations[0].text  # the source as written


def test_citations_are_numbered_from_one_in_order_of_use():
    noise = Hit(Section("d0", "a.txt", "甲", [], 0, "今年天气很好。"), 2.0)
    holds = Hit(Section("d1", "b.txt", "乙", [], 0, "党组成员至少要联系1个支部。"), 1.0)
    text, citations = extractive_answer("党组成员至少要联系几个支部", [noise, holds])
    assert text == "党组成员至少要联系1个支部。[1]" and [(c.n, c.source) for c in citations] == [(1, "b.txt")]


def test_a_clause_list_in_brackets_stays_one_sentence():
    # "；" inside （…） joins one item's parallel clauses; cut there, the answer loses the women's mark.
    rule = Hit(Section("d0", "a.doc", "体能测评标准", ["三、纵跳摸高"], 0,
                       "三、纵跳摸高，（达标：男子组≥2.65米；女子组≥2.30米）\n场地要求：通常在室内场地测试。"), 1.0)
    text, _ = extractive_answer("纵跳摸高男女的达标高度分别是多少", [rule])
    assert "2.65米" in text and "2.30米" in text


def test_a_year_asked_prefers_the_passage_of_that_year():
    # A report of year N reviews year N-1 under a heading naming it; the same sentence in another year's
    # report holds another figure.
    later = Hit(Section("d0", "2016.txt", "海拉尔区2016年政府工作报告", ["一、2015年工作回顾"], 0,
                        "全年地区生产总值完成287.9亿元，同比增长8.1%。"), 1.0)
    asked = Hit(Section("d1", "2014.txt", "海拉尔区2014年政府工作报告", ["一、2013年工作回顾"], 0,
                        "全年地区生产总值完成253.7亿元，同比增长10.1%。"), 0.9)
    text, citations = extractive_answer("海拉尔区2013年的GDP完成了多少", [later, asked])
    assert "253.7亿元" in text and "287.9" not in text and citations[0].source == "2014.txt"


def test_meaning_picks_the_sentence_when_the_question_uses_other_words():
    from assistant.answer import _select

    passage = Hit(Section("d0", "r.txt", "政府工作报告", [], 0,
                          "减免小规模纳税人增值税，免征公共交通运输服务增值税。"
                          "落实好小规模纳税人增值税起征点从月销售额3万元提高到10万元等政策。"), 1.0)
    question = "小规模企业免征增值税的门槛怎么定"  # 门槛: the document says 起征点

    def similarity(cosines):
        return lambda q, sentences: [cosines["起征点" in s] for s in sentences]

    # The words favour the sentence that repeats 免征; the embedding clearly prefers the one that answers.
    assert "10万元" in _select(question, [passage], None, similarity({True: 0.65, False: 0.45}))[2].text
    # Without the embedding's view, the words decide.
    assert _select(question, [passage], None, None)[2].text.startswith("减免")


def test_a_question_after_a_time_or_a_figure_gets_a_sentence_that_gives_one():
    rules = Hit(Section("d0", "办法.pdf", "本科生毕业论文工作管理办法", [], 0,
                        "第二十三条 在指导教师同意答辩的前提下，学生向答辩委员会提交毕业论文，答辩安排由学院确定。"
                        "第二十四条 答辩时间一般为每年 6 月上旬。"), 1.0)
    text, _ = extractive_answer("毕业论文答辩一般安排在什么时候", [rules])
    assert text.startswith("第二十四条") and "6 月上旬" in text
    limits = Hit(Section("d0", "办法.pdf", "本科生毕业论文工作管理办法", [], 0,
                         "指导教师应当具有讲师以上职称，指导学生毕业论文要认真负责。"
                         "每个指导教师指导学生一般不超过 5 个。"), 1.0)
    text, _ = extractive_answer("一个指导教师最多指导几名学生的毕业论文", [limits])
    assert text.startswith("每个指导教师") and "5 个" in text
    # A rule says when it takes effect in a clause of its own, with no date in it.
    effect = Hit(Section("d0", "办法.pdf", "本科生毕业论文工作管理办法", [], 0,
                         "第十三条 指导教师填写任务书，在毕业论文课程开始时发给学生。第四十二条 本办法自发布之日起实施。"), 1.0)
    text, _ = extractive_answer("毕业论文工作管理办法从什么时候开始执行", [effect])
    assert text.startswith("第四十二条")


def test_an_answer_of_another_kind_or_year_than_asked_is_no_answer():
    from assistant.answer import _answers, _Match

    rules = [Hit(Section("d0", "a.docx", "武汉大学硕士学位论文撰写评审及答辩的有关规定", [], 0, ""), 1.0)]
    exam = [("笔试分为行政职业能力测验和申论两科。", 0)]
    assert not _answers("公务员考试的报名费是多少钱", exam, _Match(), rules)  # a count of subjects is no fee
    mortality = [("2021 年，深圳市 5 岁以下儿童死亡率为 1.36‰。", 0)]
    assert not _answers("深圳女性平均预期寿命是多少岁", mortality, _Match(), rules)  # an age bracket is no age
    assert _answers("深圳女性平均预期寿命是多少岁", [("女性平均预期寿命为 84.5 岁。", 0)], _Match(), rules)
    committee = [("（二）论文答辩委员会由5人组成。", 0)]
    assert _answers("武汉大学硕士学位论文答辩委员会由几人组成", committee, _Match(), rules)
    assert not _answers("武汉大学博士学位论文答辩委员会由几人组成", committee, _Match(), rules)  # the 硕士 rules say it
    # A rate asked is given by its name, a 公文 word for it, or its stem and a share; not by another thing's rate.
    towns = [("城镇化率为58.02%，比上年提高0.64个百分点。", 0)]
    assert not _answers("宜春2022年城镇登记失业率是多少", towns, _Match(), rules)
    assert _answers("宜春2022年城镇化率是多少", towns, _Match(), rules)
    assert _answers("2022年GDP增长率是多少", [("全年地区生产总值增长8.9%。", 0)], _Match(), rules)
    assert _answers("中小学生近视率是多少", [("中小学生视力不良率为52.1%。", 0)], _Match(), rules)
    assert not _answers("论文查重，重复率不能超过多少", [("答辩评分占总成绩比例不应低于 30%。", 0)], _Match(), rules)
    holiday = [("延长全国春节假期，推迟开学、灵活复工、错峰出行。", 0)]
    assert not _answers("今年清明节放假怎么安排", holiday, _Match(), rules)  # each holiday is a notice of its own
    assert _answers("春节假期延长了吗", holiday, _Match(), rules)
    income = [("城镇居民人均可支配收入42038元，农村居民人均可支配收入20366元。", 0)]
    assert _answers("农村居民人均可支配收入是多少", income, _Match(), rules)
    assert not _answers("新录用的公务员试用期是多长时间", [("2022年度考试录用公务员笔试。", 0)], _Match(), rules)  # a year is no duration
    assert _answers("要等多久才能再跑一次", [("1000米可在90分钟后重测1次。", 0)], _Match(), rules)
    assert _answers("答辩至少占总成绩的几成", [("答辩评分占总成绩比例不应低于 30%。", 0)], _Match(), rules)
    assert not _answers("体能测试需要交多少考试费", [("地点：上饶市公安局政治部A327（广信大道118号）", 0)], _Match(), rules)
    assert not _answers("毕业论文正文最少要多少字", [("所引文献序号用小四号、以上角标形式置于方括号中", 0)], _Match(), rules)
    assert _answers("论文题目一般不能超过多少字", [("一般不能超过 25 个汉字", 0)], _Match(), rules)
    assert _answers("2021年有多少女性免费筛查了乳腺癌", [("为 26.86 万名女性进行乳腺癌免费筛查", 0)], _Match(), rules)  # 免费 asks no fee
    # A count asked in a measure word is given in it or its kin; a share may be given in words.
    assert not _answers("深圳2021年办理离婚登记的有多少对", [("深圳市城镇新增登记失业人数 7.62 万人。", 0)], _Match(), rules)
    assert _answers("2013年收回了几辆公务车", [("封存超标车辆12台。", 0)], _Match(), rules)
    assert _answers("有多少名机关党员干部下沉社区", [("3700餘名機關黨員幹部下沉社區。", 0)], _Match(), rules)
    assert _answers("拆掉了多少台小锅炉", [("关停单烧锅炉133座。", 0)], _Match(), rules)
    assert _answers("排队等公屋的有多少户", [("新增保障性住房在册轮候户数 7.79 万。", 0)], _Match(), rules)
    assert not _answers("办理离婚登记的有多少对", [("新增保障性住房在册轮候户数 7.79 万。", 0)], _Match(), rules)
    assert not _answers("行测一共有多少道题", exam, _Match(), rules)  # two subjects are no count of questions
    assert _answers("申论一共几道题", [("申论共5道题。", 0)], _Match(), rules)
    assert _answers("金川集团在世界500强里排第几", [("排名由369位上升到235位。", 0)], _Match(), rules)
    assert _answers("旅游收入多少人民币", [("实现旅游综合收入24.3亿元人民币。", 0)], _Match(), rules)
    assert _answers("欠企业的钱年底前要还掉多少", [("对拖欠企业的款项年底前要清偿一半以上。", 0)], _Match(), rules)
    assert _answers("今年发的文件要砍掉多少", [("坚决把文件压减三分之一以上。", 0)], _Match(), rules)
    assert _answers("要开展第几次全国人口普查", [("开展第七次全国人口普查。", 0)], _Match(), rules)
    # A rate is given as a share, however the question goes on after it; a life span in years of age.
    assert not _answers("浙大本科毕业论文查重率不能超过多少", [("论文题目一般不能超过 25 个汉字。", 0)], _Match(), rules)
    assert _answers("城镇化率比上年提高了多少", [("常住人口城镇化率比2021年提高0.64个百分点。", 0)], _Match(), rules)
    assert _answers("婴儿死亡率是多少", [("全市婴儿死亡率为 1.1‰。", 0)], _Match(), rules)
    assert not _answers("深圳女性平均预期寿命是多少", [("深圳市领取最低生活保障金人数为 0.30 万人。", 0)], _Match(), rules)
    # The figure comes from the sentence that matched best, not from a neighbour added beside it…
    jobs = [("全年城镇新增就业人口4.33万人，城镇失业人员再就业1.64万人。", 0), ("常住人口城镇化率为58.02%。", 0)]
    assert not _answers("宜春城镇登记失业率是多少", jobs, _Match(jobs[0][0]), rules)
    assert _answers("宜春城镇化率是多少", jobs, _Match(jobs[1][0]), rules)
    # …unless the best is the lead of a list whose items give it.
    targets = [("主要预期目标是：", 0), ("城镇调查失业率5.5%左右。", 0)]
    assert _answers("失业率的目标是多少", targets, _Match(targets[0][0]), rules, as_list=True)
    assert not _answers("宜春市2023年社会消费品零售总额是多少", [("全年社会消费品零售总额1131.0亿元。", 0)], _Match(year_fit=-1), rules)


def test_a_comparison_year_is_not_the_year_a_sentence_reports():
    from assistant.answer import _asked_years, _sentences, _year_fit

    bulletin = Hit(Section("d0", "宜春市2022年统计公报.html", "宜春市2022年国民经济和社会发展统计公报", [], 0,
                           "年末全市常住人口496.97万人，比2021年减少0.14万人。2021年全市常住人口497.11万人。"), 1.0)
    compared, reported = _sentences([bulletin])
    asked = _asked_years("宜春2022年末常住人口是多少")
    assert _year_fit(compared, [bulletin], asked) == 1  # "比2021年" compares; the bulletin is of 2022
    assert _year_fit(reported, [bulletin], asked) == -1
    report = Hit(Section("d1", "海拉尔区2012年政府工作报告.txt", "政府工作报告", [], 0, "全年接待国内外旅游人数达到309.5万人次。"), 1.0)
    tourists = _sentences([report])[0]
    assert _year_fit(tourists, [report], _asked_years("2011年海拉尔接待了多少游客")) == 1  # a report of 2012 reviews 2011
    assert _year_fit(tourists, [report], _asked_years("2014年海拉尔接待了多少游客")) == -1
    # A year that names the document is the document's: a 2012 report answers "2012年政府工作报告中…",
    # and no document answers "2013年政府工作报告中…".
    assert _year_fit(tourists, [report], _asked_years("海拉尔区2012年政府工作报告中旅游人数较2010年增长多少")) == 1
    assert _year_fit(tourists, [report], _asked_years("海拉尔区2013年政府工作报告中旅游人数是多少")) == -1
    # Rules counted ("八项规定") are no document: the 2014 report reviews what was done under them in 2013.
    cars = Hit(Section("d2", "海拉尔区2014年政府工作报告.txt", "政府工作报告", ["一、2013年工作回顾"], 0, "封存超标车辆12台。"), 1.0)
    assert _year_fit(_sentences([cars])[0], [cars], _asked_years("海拉尔2013年落实八项规定，封了几辆车")) == 1


def test_words_that_name_the_document_do_not_pick_its_sentence():
    # The question names the rules it asks about; a sentence citing the rules' own form by name shares those
    # words but does not answer.
    rules = Hit(Section("d0", "武汉大学本科生毕业论文工作管理办法.pdf", "武汉大学本科生毕业论文工作管理办法", [], 0,
                        "评阅教师填写《武汉大学本科生毕业论文评阅表》。答辩评分占总成绩比例不应低于 30%。"), 1.0)
    text, _ = extractive_answer("武汉大学本科生毕业论文总成绩里答辩评分占多少", [rules])
    assert text.startswith("答辩评分") and "30%" in text


def test_a_list_question_gets_the_items_and_a_follow_up_gets_the_item_asked_for(searcher, offline):
    question = "区直机关党建工作对照新时代要求还存在哪些差距"
    first = ask(question, [], searcher, offline, None)
    lines = first.answer.splitlines()
    assert [line[:2] for line in lines[1:]] == ["一是", "二是", "三是"]
    history = [{"role": "user", "content": question}, {"role": "assistant", "content": first.answer}]
    second = ask("那第二条呢？", history, searcher, offline, None)
    assert second.answer.startswith("二是部分党组(党委)抓党建工作效率低效果差") and "组织生活质量不高" in second.answer
    assert second.answer != first.answer and "融合意识" not in second.answer
    assert second.citations[0].n == 1 and "效率低效果差" in to_simplified(second.citations[0].text)


def test_extractive_says_when_the_kb_has_no_answer(searcher, offline):
    answer = ask("火星基地的建设进度如何", [], searcher, offline, None)
    assert answer.answer.startswith(NOT_FOUND) and answer.citations == []
    # …and names the nearest documents, so the asker knows where to look.
    assert re.search(r"最接近的文档：《[^》]+》", answer.answer)


def test_the_nearest_documents_are_named_in_the_askers_script():
    from assistant.answer import _not_found

    hits = [Hit(Section("d0", "立法會紀錄.pdf", "會議過程正式紀錄", [], 0, "行政長官發表施政報告。"), 1.0)]
    assert _not_found(hits, traditional=False).endswith("《会议过程正式纪录》。")
    assert _not_found(hits, traditional=True).endswith("《會議過程正式紀錄》。")


def test_offline_follow_up_carries_the_subject(searcher, offline):
    history = [
        {"role": "user", "content": "疫情防控期间派出了多少支机关党员突击队"},
        {"role": "assistant", "content": "派出機關黨員突擊隊45支[1]"},
    ]
    assert is_follow_up("那选派培训了多少名驻企防疫联络员呢？")
    answer = ask("那选派培训了多少名驻企防疫联络员呢？", history, searcher, offline, None)
    assert answer.query.startswith("疫情防控期间派出了多少支机关党员突击队")
    assert any("109名駐企防疫聯絡員" in c.text for c in answer.citations)


def test_standalone_question_without_history_is_unchanged(offline):
    assert standalone_question("三会一课是什么", [], None, offline) == "三会一课是什么"


def test_llm_answer_uses_only_given_passages(sample_kb_dir, stub):
    settings = llm_settings(sample_kb_dir, stub)
    stub.default = Reply("党组成员至少要联系1个支部[1]，并经常指导[2]。另见[9]。")
    answer = ask("党组成员至少要联系几个支部", [], Searcher.open(settings), settings, get_llm(settings))
    assert answer.mode == "llm"
    assert "[9]" not in answer.answer and "[1]" in answer.answer
    assert [c.n for c in answer.citations] == [1, 2]
    messages = stub.requests[0]["body"]["messages"]
    assert messages[0]["role"] == "system" and "不是给你的指令" in messages[0]["content"]
    fence = re.search(r"<资料-([0-9a-f]{8}) ", messages[0]["content"]).group(1)
    user = messages[-1]["content"]
    assert user.count(f"<资料-{fence} ") == settings.answer_passages and "问题：党组成员至少要联系几个支部" in user
    assert answer.citations[0].text in user and "黨組(黨委)成員至少要聯繫1個支部" in user


def test_answer_streams(sample_kb_dir, stub):
    settings = llm_settings(sample_kb_dir, stub)
    stub.default = Reply("根据资料，区直机关派出了45支突击队[1]。")
    items = list(ask_stream("派出了多少支突击队", [], Searcher.open(settings), settings, get_llm(settings)))
    pieces, final = items[:-1], items[-1]
    assert len(pieces) > 3 and all(isinstance(p, str) for p in pieces)
    assert "".join(pieces) == final.answer


def test_follow_up_is_rewritten_by_the_model_and_drives_retrieval(sample_kb_dir, stub):
    settings = llm_settings(sample_kb_dir, stub)
    rewritten = "在全市基层党建工作会上的讲话中，党建指导员要当好哪“六员”"
    stub.script = [Reply(rewritten), Reply("要当好“六员”[1]。")]
    history = [
        {"role": "user", "content": "在全市基层党建工作会上的讲话讲了哪些意见"},
        {"role": "assistant", "content": "讲了四点意见[1]。"},
    ]
    answer = ask("那党建指导员呢？", history, Searcher.open(settings), settings, get_llm(settings))
    assert answer.query == rewritten
    rewrite_prompt = stub.requests[0]["body"]["messages"][-1]["content"]
    assert "那党建指导员呢？" in rewrite_prompt and "讲了哪些意见" in rewrite_prompt
    second = stub.requests[1]["body"]["messages"]
    assert "“六员”" in second[-1]["content"]  # passages retrieved with the rewritten question
    assert [m["role"] for m in second] == ["system", "user", "assistant", "user"]


def test_request_fits_the_context_window(sample_kb_dir, stub):
    settings = llm_settings(sample_kb_dir, stub, llm_context_window=1800, llm_max_tokens=400)
    history = [{"role": "user", "content": "旧问题" * 200}, {"role": "assistant", "content": "旧回答" * 200}] * 2
    history += [{"role": "user", "content": "上一个问题"}, {"role": "assistant", "content": "上一个回答"}]
    ask("党建指导员要当好哪六员", history, Searcher.open(settings), settings, get_llm(settings))
    messages = stub.requests[-1]["body"]["messages"]
    tokens = sum(count_tokens(m["content"]) + 8 for m in messages)
    assert tokens <= settings.llm_context_window - settings.llm_max_tokens
    assert 1 <= len(re.findall(r"<资料-[0-9a-f]{8} ", messages[-1]["content"])) < settings.answer_passages
    contents = [m["content"] for m in messages]
    assert "上一个问题" in contents and "旧问题" * 200 not in contents  # oldest history dropped first


def test_bad_input(searcher, offline):
    with pytest.raises(BiganError, match="empty"):
        ask("  ", [], searcher, offline, None)
    with pytest.raises(BiganError, match="history"):
        ask("问题", [{"role": "bot", "content": "x"}], searcher, offline, None)


def test_extractive_answers_on_the_dev_set(searcher, offline):
    from assistant.evaluate import load_items, question_items

    from .conftest import DATA

    items = question_items(load_items(DATA / "devset.jsonl"))
    answers = [ask(item["question"], [], searcher, offline, None).answer for item in items]
    found = sum(is_hit(item["gold"], text) for item, text in zip(items, answers))
    assert found / len(items) >= 0.85
    off_topic = ["今年的高考录取分数线是多少", "如何申请出国护照", "股票市场行情怎么样", "明天天气怎么样"]
    assert all(ask(q, [], searcher, offline, None).answer.startswith(NOT_FOUND) for q in off_topic)


def test_an_answer_from_another_document_than_the_one_named_is_not_given(tmp_path):
    from assistant.kb import build

    settings = make_settings(tmp_path / "kb")
    docs = tmp_path / "docs"
    docs.mkdir()
    for name, body in {
        "山东财经大学本科毕业论文（设计）参考文献规范格式": "参考文献在正文中用方括号标注序号。",
        "武汉大学本科生毕业论文工作管理办法": "毕业论文的字数人文社科类专业一般不应少于1万字。",
        "浙江大学本科生毕业论文编写规则": "论文题目一般不能超过25个汉字。",
        "海拉尔区政府工作报告": "全年接待国内外旅游人数达到309.5万人次。",
    }.items():
        (docs / f"{name}.txt").write_text(f"{name}\n{body}\n", encoding="utf-8")
    build(settings.kb_dir, settings, add=[docs])
    searcher = Searcher.open(settings)
    asked = ask("武汉大学本科毕业论文正文字数最少要多少字", [], searcher, settings, None)
    assert "1万字" in asked.answer
    # Named, the document answers even where another one's sentence shares more of the question's words.
    named = ask("浙江大学本科生毕业论文的论文题目字数一般不能超过多少", [], searcher, settings, None)
    assert "25个汉字" in named.answer and named.citations[0].source.startswith("浙江大学")
    other = ask("山东财经大学本科毕业论文正文字数最少要多少字", [], searcher, settings, None)
    assert other.answer.startswith(NOT_FOUND) and not other.citations


def test_a_sentence_in_other_words_that_gives_the_figure_asked_can_answer():
    from assistant.answer import _select

    bulletin = Hit(Section("d0", "万载县2015年统计公报.html", "万载县2015年国民经济和社会发展统计公报", [], 0,
                           "（万载县统计局）全年粮食播种面积稳定。全年共出栏生猪427246头，比上年减少0.9%。"), 1.0)
    question = "万载县2015年一年卖出去的肥猪有多少头"  # 卖出去的肥猪: the bulletin says 出栏生猪, no word in common

    def similarity(q, sentences):
        return [0.7 if "生猪" in s else 0.4 for s in sentences]

    assert "427246头" in _select(question, [bulletin], None, similarity)[2].text


def test_a_place_asked_gets_the_sentence_that_gives_one_not_the_lead():
    notice = Hit(Section("d0", "上饶市2019年度考录人民警察体能测评通知.doc", "上饶市2019年度考录人民警察体能测评通知", [], 0,
                         "根据考务工作的安排，2019年度上饶市录用人民警察体能测试的具体安排如下："
                         "1、时间：2019年7月13日。2、地点：上饶师范学院田径场（志敏大道401号）。"), 1.0)
    text, _ = extractive_answer("2019年上饶市录用人民警察体能测试在哪里举行", [notice])
    assert "上饶师范学院田径场" in text and "如下" not in text


def test_an_item_asked_about_is_answered_by_its_sentences_that_speak_to_the_question():
    speech = Hit(Section("d0", "讲话.txt", "在机关党建工作会议上的讲话", [], 0,
                         "一要用硬功，抓好书记交流讲党课。书记交流讲党课是市局党委精心设计的一项重要举措。"
                         "各单位要提高认识，严格按照要求进度完成讲课任务。对效果不好的单位要全部进行补课，"
                         "对敷衍了事、屡教不改的单位，要启动问责程序。二要用实功，抓好支部建设。"), 1.0)

    def similarity(q, sentences):
        return [0.6 if s.startswith("一要") else 0.5 for s in sentences]  # the item's opening line is nearest in meaning

    from assistant.answer import _select

    units = _select("书记交流讲党课中敷衍了事、屡教不改的单位怎么处理", [speech], None, similarity)[0]
    assert any("启动问责程序" in text for text, _ in units)


class _WordVectors:
    """An embedder whose vectors are given per word (a unit vector per meaning, the first word found in a
    text decides; a text with none means nothing), for judging answers."""

    def __init__(self, meanings: dict[str, int], size: int = 8):
        self.meanings, self.size = meanings, size

    def encode_documents(self, texts):
        import numpy as np

        out = np.zeros((len(texts), self.size), dtype="float32")
        for i, text in enumerate(texts):
            meaning = next((m for w, m in self.meanings.items() if w in text), None)
            if meaning is not None:
                out[i, meaning] = 1.0
        return out


def test_a_word_the_answer_says_in_other_terms_is_not_missing():
    from types import SimpleNamespace

    from assistant.answer import _ECHO, _echoes

    searcher = SimpleNamespace(embedder=_WordVectors({"城里": 0, "城镇": 0, "仰卧起坐": 1, "纵跳摸高": 2}))
    whole, parts = _echoes(searcher, ["城里"], "城镇居民人均可支配收入完成20251元")
    assert whole[0] >= _ECHO and parts[0] >= _ECHO
    whole, parts = _echoes(searcher, ["仰卧起坐"], "三、纵跳摸高（达标：男子组≥2.65米）")
    assert parts[0] < _ECHO
    # A part of the word says it only where parts may.
    searcher = SimpleNamespace(embedder=_WordVectors({"工作餐": 0, "工作": 0}))
    whole, parts = _echoes(searcher, ["工作餐"], "公务员工作应当具备的基本能力")
    assert parts[0] >= _ECHO and whole[0] < _ECHO


def test_a_sentence_sharing_no_word_with_the_question_is_judged_by_its_own_meaning():
    from types import SimpleNamespace

    import numpy as np

    from assistant.answer import _Match, _relevant

    # The question is near the title (meaning 0), the rule on authors' names is not (meaning 1).
    searcher = SimpleNamespace(embedder=_WordVectors({"毕业论文": 0, "作者": 1}))
    rules = [Hit(Section("d0", "山东财经大学本科毕业论文参考文献规范格式.docx", "山东财经大学本科毕业论文参考文献规范格式", [], 0,
                         "作者姓名：只有3位及以内作者的，其姓名全部列上。"), 1.0)]
    asked = np.eye(8, dtype="float32")[0]
    sentence = "作者姓名：只有3位及以内作者的，其姓名全部列上。"
    under_title = _Match(sentence, f"山东财经大学本科毕业论文参考文献规范格式 {sentence}", overlap=0.0)
    assert not _relevant(searcher, "山东财经大学本科毕业论文正文字数最少要多少字", asked, under_title, rules)


def test_a_numbered_line_ending_in_a_colon_opens_the_list_under_it():
    rules = [
        Hit(Section("d0", "规定.docx", "硕士学位论文答辩的有关规定", ["六、答辩的其它事项"], 0,
                    "（四）同一组答辩委员会，在同一天答辩人数不宜超过6人。\n（五）硕士学位申请人须提供给答辩委员会的材料："), 1.0),
        Hit(Section("d0", "规定.docx", "硕士学位论文答辩的有关规定", ["六、答辩的其它事项", "（五）硕士学位申请人须提供给答辩委员会的材料"], 1,
                    "1.研究生课程学习成绩单（1份）；\n2.硕士学位论文（5本）；\n3.答辩委员会表决票（5份）。"), 0.9),
    ]
    for question in ("硕士答辩时申请人要给答辩委员会交哪些材料", "硕士答辩要交啥材料给答辩委员会"):
        text, _ = extractive_answer(question, rules)
        assert "成绩单" in text and "5本" in text and "表决票" in text, question


def test_a_decimal_numbered_part_is_answered_by_what_it_goes_on_to_say():
    rules = [Hit(Section("d0", "编写规则.pdf", "浙江大学本科生毕业论文（设计）编写规则", ["2.4 结尾部分"], 30,
                         "2.4.3 索引\n根据需要可以编排分类索引，关键词索引等。\n2.4.4 作者简历\n"
                         "包括教育经历、工作经历、攻读学位期间发表的论文和完成的工作等。\n3 书脊格式示例"), 1.0)]
    text, _ = extractive_answer("浙大本科毕业论文的作者简历要写哪些内容", rules)
    assert "教育经历" in text and "索引" not in text


def test_an_everyday_word_finds_the_word_the_documents_use():
    from assistant.answer import _select, _unseen_words

    def passage(text, score):
        return Hit(Section("d0", "统计公报.html", "宜春市2022年国民经济和社会发展统计公报", [], 0, text), score)

    hits = [passage("全年规模以上工业增加值增长6.1%。", 1.0), passage("全年居民消费价格（CPI）同比上涨2.1%。", 0.8)]
    # No word in common and meaning that cannot tell them apart: only the genre's vocabulary links 物价 to 居民消费价格.
    flat = lambda q, sentences: [0.5] * len(sentences)  # noqa: E731
    assert "上涨2.1%" in _select("2022年物价涨了多少", hits, None, flat)[2].text
    income = [passage("城镇居民人均可支配收入完成20251元。", 1.0)]
    assert _unseen_words("城里居民人均可支配收入是多少", income) == []


def test_a_synonym_counts_only_where_the_sentence_holds_it_whole():
    from assistant.answer import _select

    rules = Hit(Section("d0", "参考文献规范.docx", "参考文献规范格式", [], 0, "1 学术期刊 [序号] 作者. 文献题名[J]. 2019: 12-15。"), 1.0)
    # 查重 brings in 学术不端; "学术期刊" shares its first two characters and says nothing of it.
    flat = lambda q, sentences: [0.5] * len(sentences)  # noqa: E731
    assert _select("论文查重率要求是多少", [rules], None, flat)[2].overlap == 0


def test_who_delivered_a_report_is_answered_by_its_signature_line():
    from assistant.answer import _select

    def report(year, position, text, score):
        return Hit(Section(f"d{year}", f"海拉尔区{year}年政府工作报告.txt", "政府工作报告", [], position, text), score)

    hits = [
        report(2019, 18, "在此，我代表区人民政府，向全区各族干部群众表示衷心的感谢！", 1.0),
        report(2014, 0, "——2014年2月19日在海拉尔区人民代表大会上\n海拉尔区人民政府区长　　杜联合\n各位代表：", 0.9),
        report(2019, 0, "——2019年3月4日在海拉尔区人民代表大会上\n呼伦贝尔市海拉尔区人民政府代区长  萨国文\n各位代表：", 0.1),
    ]
    # The 2019 report's opening ranks last, below the passage that speaks of 代表 and 报告 in its words.
    units = _select("海拉尔2019年的政府工作报告是谁作的", hits, None, None)[0]
    assert [text for text, _ in units] == ["呼伦贝尔市海拉尔区人民政府代区长  萨国文"]


def test_the_genres_short_forms_and_plain_words_reach_the_documents_words():
    from assistant.text.chinese import synonyms_in

    assert "棚户区改造" in synonyms_in("2013年棚改面积多少")
    assert "行政职业能力测验" in synonyms_in("国考行测考多长时间")
    assert {"户籍", "迁入"} <= set(synonyms_in("一年把户口迁进来的有多少人"))
    assert {"日均", "新设"} <= set(synonyms_in("平均一天新注册多少家企业"))
    assert "能力" in synonyms_in("申论主要看哪些本事")
    assert {"老旧小区", "供热"} <= set(synonyms_in("老小区暖气不热打算怎么改"))
    assert "公厕" in synonyms_in("今年新盖几个公共卫生间") and "公厕" in synonyms_in("新建几座环保厕所")


def test_a_field_line_answers_under_the_heading_the_question_asks_about():
    from assistant.answer import _select

    def part(position, heading, text, score):
        section = Section("d0", "2019年度录用人民警察体能测试的通知.doc", "体能测试的通知", [heading], position, f"{heading}\n{text}")
        return Hit(section, score)

    hits = [
        part(2, "二、领取体能测试准考证的时间和地点", "1、时间：7月11日\n2、地点：市公安局政治部A327", 1.0),
        part(1, "一、体能测试的时间和地点", "1、时间：7月13日\n2、地点：师范学院田径场", 0.98),
    ]
    # Both lines read "地点：…" and mean alike to the model, and their passages rank alike; only the heading
    # says whose place it is.
    def similarity(q, sentences):
        return [0.3 if s.startswith(("一、", "二、")) else 0.5 for s in sentences]

    assert "田径场" in _select("体能测试在哪里考", hits, None, similarity)[2].text
    ticket = " ".join(text for text, _ in _select("体能测试准考证在哪里领", hits, None, similarity)[0])
    assert "政治部" in ticket and "田径场" not in ticket


def test_a_sentence_under_the_other_member_of_a_pair_gives_way_to_one_under_the_member_asked():
    from assistant.answer import _select

    hits = [
        Hit(Section("zju", "zju.pdf", "浙江大学本科生毕业论文编写规则", [], 0,
                    "论文在打印和印刷时需纸张的四周留足空白边缘，每一面的上方和左侧分别留25mm以上间隙。"), 1.0),
        Hit(Section("whu", "whu.docx", "武汉大学硕士学位论文印制规定", [], 0, "论文在印制时，纸张四周应分别留出25mm以上的空白边缘。"), 0.9),
    ]
    # The 本科 rule shares more of the words, but the question asks about 硕士 theses.
    units, _, _ = _select("硕士论文打印的时候纸张四周要留多少空白", hits)
    assert units and all(hits[n].section.doc_id == "whu" for _, n in units)


def test_a_place_named_in_full_that_no_passage_holds_is_not_answered():
    from types import SimpleNamespace

    import numpy as np

    from assistant.answer import _Match, _relevant

    searcher = SimpleNamespace(embedder=_WordVectors({"常住人口": 0}))
    bulletin = [Hit(Section("d0", "宜春市2022年统计公报.txt", "宜春市2022年国民经济和社会发展统计公报", [], 0,
                            "年末全市常住人口496.97万人。"), 1.0)]
    asked = np.eye(8, dtype="float32")[0]
    sentence = "年末全市常住人口496.97万人。"
    matched = _Match(sentence, f"宜春市2022年国民经济和社会发展统计公报 {sentence}", overlap=0.5)
    assert _relevant(searcher, "宜春市常住人口有多少", asked, matched, bulletin)
    assert not _relevant(searcher, "兰州市常住人口有多少", asked, matched, bulletin)
    assert not _relevant(searcher, "西北师范大学的常住人口有多少", asked, matched, bulletin)


def test_a_thing_asked_by_its_name_that_no_passage_holds_is_not_answered_however_close_the_sentence():
    from types import SimpleNamespace

    import numpy as np

    from assistant.answer import _Match, _relevant

    # The sentence is as close as can be (cosine 1): only the missing term tells the question is off the KB.
    searcher = SimpleNamespace(embedder=_WordVectors({"达标": 0, "仰卧起坐": 1, "引体向上": 2, "纵跳摸高": 3}))
    rules = [Hit(Section("d0", "体能测评标准.docx", "公安机关录用人民警察体能测评标准", ["三、纵跳摸高"], 3,
                         "达标：男子组≥2.65米；女子组≥2.30米。受测者指甲不得超过指尖0.3厘米。"), 1.0)]
    asked = np.eye(8, dtype="float32")[0]
    sentence = "达标：男子组≥2.65米；女子组≥2.30米。"
    matched = _Match(sentence, f"公安机关录用人民警察体能测评标准 三、纵跳摸高 {sentence}", overlap=0.3)
    assert _relevant(searcher, "人民警察体能测评纵跳摸高的达标标准是多少", asked, matched, rules)
    assert not _relevant(searcher, "人民警察体能测评引体向上的达标标准是多少", asked, matched, rules)
    # So is a measure named by its acronym that no passage holds nor spells out.
    assert not _relevant(searcher, "人民警察体能测评BMI的达标标准是多少", asked, matched, rules)
    # A plain word for the passage's own ("手指甲" for 指甲) is no missing thing.
    assert _relevant(searcher, "人民警察体能测评的时候手指甲能留多长", asked, matched, rules)


def test_a_held_word_with_a_modifier_before_it_is_held_but_one_with_another_head_is_not():
    from assistant.answer import _unseen_words

    bulletin = [Hit(Section("d0", "公报.txt", "统计公报", [], 0, "受测者指甲不得超过指尖0.3厘米。商品零售价格上涨1.2%。"), 1.0)]
    assert _unseen_words("手指甲能留几厘米", bulletin) == []
    assert _unseen_words("商品房销售面积多少", bulletin) == ["商品房", "销售", "面积"]

def test_words_of_everyday_speech_and_a_year_run_into_the_next_word_are_not_missing_from_the_passages():
    from assistant.answer import _unseen_words

    report = [Hit(Section("d0", "政府工作报告.txt", "政府工作报告", [], 3, "力争年末，非公经济占国民经济比重达到72%以上。"), 1.0)]
    assert _unseen_words("2014年希望非公经济在整个国民经济里占多大比重", report) == ["2014"]
    notice = [Hit(Section("d0", "体能测评通知.doc", "上饶市2019年度考录人民警察体能测评通知", [], 1, "时间：2019年7月12日，上午7:30"), 1.0)]
    assert _unseen_words("上饶2019年考警察的体能测评几点开始", notice) == []
    # A frequent noun still names the thing asked about.
    assert _unseen_words("2014年希望医院在国民经济里占多大比重", report) == ["2014", "医院"]
    # Two characters jieba glued across a word boundary ("没给" of 怎么没给, "改要" of 棚改要完成) are no word.
    assert _unseen_words("2014年怎么没给非公经济定比重", report) == ["2014"]
    assert _unseen_words("2014年棚改要完成多少户", report) == ["2014", "棚改"]  # 棚改 is a word; "改要" is none
    assert _unseen_words("2014年报告里考非公经济占多大比重", report) == ["2014"]  # "里考" of 报告里考
    # A pronoun, however rare, points at what is named elsewhere ("那天", "该校").
    assert _unseen_words("2014年那天非公经济在该校国民经济里占多大比重", report) == ["2014"]


def test_the_askers_own_situation_is_not_a_thing_the_passages_must_hold():
    from assistant.answer import _unseen_words

    report = [Hit(Section("d0", "政府工作报告.txt", "政府工作报告", [], 3,
                          "为1467位80岁以上低收入老年人发放高龄补贴176万元。认真落实低保家庭大学生入学资助政策。"
                          "继续对困难家庭子女普通高校入学给予资助，录取到专科院校的一次性补助8000元。"
                          "城乡低保数据来自市民政局。"), 1.0)]
    # Their own person, the authorities by level ("区里") and a figure put roughly in words.
    assert _unseen_words("我妈住海拉尔，八十多了，收入又低，区里给老年人发过补贴没有", report) == ["海拉尔"]
    # A household named by what it gets ("低保户", "困难户") where the passages say 家庭; their child and 考上 in plain words.
    assert _unseen_words("我家是低保户，孩子今年考上大学了，有没有入学资助", report) == []
    assert _unseen_words("我家是困难户，孩子被专科录取了，省里一次能补助多少钱", report) == []
    # Asking which office is asking, as "谁" is; how things stand for the asker ("没领", "很差") is no thing named.
    assert _unseen_words("城乡低保数据是哪个部门提供的", report) == []
    assert _unseen_words("房子很差，没领低保，高龄补贴能拿多少", report) == ["房子"]
    # Their family, and "一个月" of a rate asked ("一个月多少钱": the documents write 元/人月).
    assert _unseen_words("老父亲八十多了，高龄补贴一个月多少钱", report) == []
    # Short forms of the genre are words: jieba glued "参加国" and "考行测".
    exam = [Hit(Section("d0", "考试大纲.pdf", "考试录用公务员公共科目笔试考试大纲", [], 1, "行政职业能力测验为客观性试题。"), 1.0)]
    assert _unseen_words("第一次参加国考笔试，考行测那天我得带哪些文具", exam) == ["文具"]


def test_a_question_passed_on_is_asked_without_who_passed_it_on_but_with_where_they_are_from():
    from assistant.answer import without_relay

    assert without_relay("有个甘肃的家长打电话问，孩子考上本科了，一次能补多少钱？") == "甘肃 孩子考上本科了，一次能补多少钱？"
    assert without_relay("一个农民工打电话说失业保险才交了不到一年，怎么保障？") == "失业保险才交了不到一年，怎么保障？"
    assert without_relay("群众来电咨询：宜春低保标准是多少") == "宜春低保标准是多少"
    assert without_relay("领导让我查一下，宜春GDP多少") == "宜春GDP多少"
    # Nothing passed on: a call is what is asked about, or the question has no framing at all.
    assert without_relay("市民打电话投诉怎么处理") == "市民打电话投诉怎么处理"
    assert without_relay("宜春2022年GDP是多少？") == "宜春2022年GDP是多少？"


def test_who_and_how_long_or_high_are_the_asking_not_words_the_passages_must_hold():
    from assistant.answer import _unseen_words

    report = [Hit(Section("d0", "施政报告.txt", "施政报告", [], 2, "政务司司长出任扶贫委员会主席，统筹具体工作。实行通报制，办公室牵头。"), 1.0)]
    # jieba glues "谁" to its neighbours ("由谁来", "制由"): those pieces are no words of the thing asked.
    assert _unseen_words("扶贫委员会主席由谁来当", report) == []
    assert _unseen_words("通报制由谁牵头", report) == []
    summary = [Hit(Section("d0", "思想汇报.docx", "思想汇报", [], 1, "现将我本季度的情况汇报如下。中文摘要一般为300字。"), 1.0)]
    assert _unseen_words("思想汇报汇报的是多长一段时间的情况", summary) == []
    assert _unseen_words("中文摘要写多长", summary) == []


def test_a_figure_asked_for_in_plain_words_that_the_passages_all_hold_is_answered_from_a_less_close_sentence():
    from types import SimpleNamespace

    import numpy as np

    from assistant.answer import _Match, _relevant

    # The passage comes first in both rankings, as retrieval finds it; the gate reads that.
    searcher = SimpleNamespace(embedder=_WordVectors({"最低生活保障": 0}))
    report = [Hit(Section("d0", "海拉尔区2012年政府工作报告.txt", "政府工作报告", ["一、过去一年工作回顾"], 3,
                          "城乡最低生活保障标准逐年提高，城镇年人均提高600元，农村年人均提高200元。"), 1.0, 1, 1)]
    asked = np.zeros(8, dtype="float32")
    asked[0], asked[1] = 0.35, (1 - 0.35**2) ** 0.5  # not close: the question is in everyday words
    sentence = "城乡最低生活保障标准逐年提高，城镇年人均提高600元，农村年人均提高200元。"
    matched = _Match(sentence, f"政府工作报告 一、过去一年工作回顾 {sentence}", overlap=0.2)
    assert _relevant(searcher, "海拉尔城里吃低保的每人提高多少钱", asked, matched, report)
    # Not where a word of the question is missing from every passage.
    assert not _relevant(searcher, "海拉尔城里吃低保的每人交多少公积金", asked, matched, report)

def test_whether_something_is_allowed_is_answered_by_the_rule():
    rules = Hit(Section("d0", "答辩规定.docx", "武汉大学硕士学位论文撰写评审及答辩的有关规定", ["（一）答辩环境要求"], 3,
                        "1.答辩场所应宽敞、明亮，有学术氛围；2.答辩秘书应提前布置答辩现场，准备好茶水和纸笔；"
                        "3.答辩场所内不提倡摆放水果、副食（水果、副食可摆放在休息场所）；"), 1.0)
    text, _ = extractive_answer("硕士答辩现场可以准备点水果吃吗", [rules])
    assert "不提倡摆放水果" in text


def test_words_that_point_at_the_document_are_not_missing_from_the_passages():
    from assistant.answer import _unseen_words

    report = [Hit(Section("d0", "思想汇报.docx", "思想汇报", [], 0, "作为一名科员，我始终坚持高标准、严要求。"), 1.0)]
    assert _unseen_words("这份思想汇报里作者坚持什么标准", report) == ["作者"]


def test_a_year_the_sentence_reports_without_naming_it_is_not_missing():
    from types import SimpleNamespace

    import numpy as np

    from assistant.answer import _Match, _relevant

    searcher = SimpleNamespace(embedder=_WordVectors({"旅游": 0}))
    report = [Hit(Section("d0", "海拉尔区2012年政府工作报告.txt", "政府工作报告", ["一、过去一年工作回顾"], 3,
                          "全年接待国内外旅游人数达到309.5万人次。"), 1.0)]
    asked = np.zeros(8, dtype="float32")
    asked[0], asked[1] = 0.45, (1 - 0.45**2) ** 0.5  # near the sentence, not sure of it
    sentence = "全年接待国内外旅游人数达到309.5万人次。"
    reviewed = _Match(sentence, f"政府工作报告 一、过去一年工作回顾 {sentence}", overlap=0.3, year_fit=1)
    assert _relevant(searcher, "2011年海拉尔接待国内外旅游人数", asked, reviewed, report)
    assert not _relevant(searcher, "2011年海拉尔接待国内外旅游人数", asked, replace(reviewed, year_fit=0), report)


def test_plain_words_of_tests_and_averages_reach_the_documents_words():
    from assistant.answer import _unseen_words

    bulletin = [Hit(Section("d0", "公报.txt", "统计公报", [], 0, "城镇居民人均可支配收入20251元。申论试卷由三部分组成。"), 1.0)]
    assert _unseen_words("城镇居民平均每人可支配收入", bulletin) == []
    assert _unseen_words("申论卷子由几部分组成", bulletin) == []
    unseen = _unseen_words("申论考试能带资料进去吗", bulletin)
    assert "资料" in unseen and "进去" not in unseen
    births = [Hit(Section("d0", "性别数据.pdf", "社会性别统计报告", [], 0, "2021 年，深圳市出生人口性别比为 113.39。"), 1.0)]
    assert _unseen_words("深圳宝宝的男女比例是多少", births) == []


def test_an_exams_stages_the_sexes_and_marriage_and_divorce_are_told_apart():
    from assistant.answer import _answers, _Match

    outline = [Hit(Section("d0", "大纲.pdf", "公务员考试录用公共科目笔试考试大纲", [], 0, ""), 1.0)]
    written = [("笔试分为行政职业能力测验和申论两科，满分各100分。", 0)]
    assert _answers("公务员考试笔试满分多少分", written, _Match(), outline)
    assert not _answers("公务员考试面试满分多少分", written, _Match(), outline)
    marriages = [("2021年，深圳市共办理结婚登记7.64万对。", 0)]
    assert _answers("深圳2021年办理结婚登记多少对", marriages, _Match(), outline)
    assert not _answers("深圳2021年办理离婚登记多少对", marriages, _Match(), outline)
    assert not _answers("深圳女性人均预期寿命多少岁", [("男性人均预期寿命为81.2岁。", 0)], _Match(), outline)


def test_how_many_people_asks_for_a_count_not_a_list():
    from assistant.answer import _select

    rules = [
        Hit(Section("d0", "规定.docx", "硕士学位论文答辩的有关规定", ["四、答辩委员会的组成", "（二）答辩委员会由5人组成"], 0,
                    "（二）答辩委员会由5人组成（尽可能有校外专家）。\n聘请的答辩委员会委员含论文评阅人最多1人。"), 1.0),
        Hit(Section("d0", "规定.docx", "硕士学位论文答辩的有关规定", ["六、其它事项", "（六）答辩的一般程序"], 1,
                    "1.评分委员会委员或代表宣布答辩委员会组成名单；\n2.答辩人报告论文的主要内容；"), 0.9),
    ]

    def similarity(query, sentences):  # meaning puts the 5人 rule first
        return [0.63 if "5人" in s else 0.40 for s in sentences]

    units, as_list, _ = _select("答辩委员会一般几个人", rules, None, similarity)
    assert "由5人组成" in units[0][0] and not as_list


def _gansu_report(position: int, path: list[str], text: str, score: float) -> Hit:
    return Hit(Section("d0", "报告.csv", "2026年甘肃省政府工作报告", path, position, text), score)


def test_the_nth_item_is_found_though_retrieval_lifted_items_above_the_lead_that_opens_their_list():
    from assistant.answer import _select

    # Retrieval lifts every sixth item ("六是…", "（六）…") for "第六条"; the list's lead comes sixth.
    hits = [
        _gansu_report(36, [], "投资下行压力加大。\n“十五五”时期的主要目标任务\n“十五五”时期是我国基本实现社会主义现代化的关键时期。", 1.0),
        _gansu_report(43, ["六是人民生活品质明显提升"], "六是人民生活品质明显提升。全体居民人均可支配收入年均增长5%以上。", 0.99),
        *(_gansu_report(70 + n, ["（六）加快推进文旅强省建设"], f"（六）加快推进文旅强省建设\n第{n}项文旅工作。", 0.98 - n / 100) for n in range(3)),
        _gansu_report(38, [], "“十五五”时期，要努力实现以下目标任务：\n一是高质量发展水平明显提升。全省地区生产总值年均增长5%以上。", 0.9),
    ]
    units, _, _ = _select("甘肃“十五五”时期目标任务的第六条是什么", hits)
    assert units and units[0][0] == "六是人民生活品质明显提升。"
    steps = [Hit(Section("d1", "规定.docx", "硕士学位论文答辩的有关规定", [], 0,
                         "答辩的一般程序：\n1.宣布答辩委员会组成名单；\n2.主席宣布答辩开始；\n3.指导教师介绍申请人的学习成绩；"), 1.0)]
    text, _ = extractive_answer("硕士学位论文答辩一般程序的第三步是什么", steps)
    assert text.startswith("3.指导教师介绍申请人的学习成绩")


def test_the_nth_item_asked_for_is_given_and_looked_up_when_the_passages_lack_it():
    from assistant.answer import _select

    hits = [
        _gansu_report(38, [], "“十五五”时期，要努力实现以下目标任务：\n一是高质量发展水平明显提升。全省地区生产总值年均增长5%以上。", 1.0),
        _gansu_report(39, ["二是科技创新能力明显提升"], "二是科技创新能力明显提升。推动科技创新和产业创新深度融合。", 0.8),
    ]
    third = _gansu_report(40, ["三是全面深化改革质效明显提升"], "三是全面深化改革质效明显提升。更好发挥经济体制改革牵引作用。", 0.5)
    asked = []

    def search_many(queries, k):
        asked.extend(queries)
        return [[third] for _ in queries]

    units, as_list, _ = _select("“十五五”目标任务第三条是什么", hits, search_many, None)
    assert units[0][0] == "三是全面深化改革质效明显提升。" and not as_list
    assert "更好发挥经济体制改革牵引作用" in "".join(u for u, _ in units) and "二是" not in "".join(u for u, _ in units)
    assert asked and hits[units[0][1]] is third  # looked up, and cited from the passage that holds it


def test_what_time_asks_the_hour_but_how_many_points_asks_for_a_list():
    from assistant.answer import _TIME_RE, _asked_type, _select

    assert _asked_type("那次会议几点休会的") is _TIME_RE and _asked_type("上午几点钟开始") is _TIME_RE
    assert _asked_type("讲话讲了几点意见") is not _TIME_RE
    record = Hit(Section("d0", "纪录.txt", "立法会会议过程正式纪录", [], 3,
                         "主席：我现在宣布休会。\n立法会遂于下午 1时 25分休会。\n会议结束时共有12名议员在席。"), 1.0)
    units, as_list, _ = _select("立法会会议几点休会", [record])
    assert not as_list and units[0][0] == "立法会遂于下午 1时 25分休会。"
    speech = Hit(Section("d1", "讲话.txt", "在全市工作会议上的讲话", [], 0,
                         "下面，我讲几点意见。\n一是要提高认识。\n二是要压实责任。\n三是要狠抓落实。"), 1.0)
    units, as_list, _ = _select("讲话讲了哪几点意见", [speech])
    assert as_list and [u for u, _ in units][1:] == ["一是要提高认识。", "二是要压实责任。", "三是要狠抓落实。"]


def test_the_passage_either_retriever_ranks_first_may_answer_though_fusion_put_it_lower():
    from assistant.answer import _answering

    others = [Hit(Section(f"d{i}", "r.txt", "政府工作报告", [], i, f"城市管理水平还需提高{i}。"), 1.0 - i / 100, i + 2, i + 2)
              for i in range(7)]
    hotline = Hit(Section("d9", "r.txt", "政府工作报告", [], 9, "优化12319城市管理服务热线。"), 0.9, 48, 1)
    hits = others + [hotline]
    assert _answering(hits) == {0, 1, 2, 3, 4, 7}
    text, _ = extractive_answer("城市管理服务热线是多少", hits)
    assert "12319" in text


def test_the_search_keeps_each_retrievers_first_passage_past_the_passages_taken():
    from assistant.answer import _search

    ranked = [Hit(Section(f"d{i}", "r.txt", "规定", [], i, f"第{i}条。"), 1.0 - i / 100, i + 2, i + 2) for i in range(30)]
    ranked[25] = replace(ranked[25], dense_rank=1, bm25_rank=None)

    class Ranked:
        def search(self, query: str, k: int) -> list[Hit]:
            return ranked[:k]

    assert _search(Ranked(), "页边距", 20, 50) == ranked[:20] + [ranked[25]]


def test_a_year_in_a_document_cited_is_not_the_year_a_sentence_reports():
    record = Hit(Section("d0", "2013年1月16日纪录.txt", "立法会会议过程正式纪录2013年1月16日",
                         ["(1) 《2012年〈竞争条例〉(生效日期)公告》 (2012年第177号法律公告)"], 2,
                         "立法会遂于下午 1时 25分休会。"), 1.0)
    header = Hit(Section("d0", "2013年1月16日纪录.txt", "立法会会议过程正式纪录2013年1月16日", [], 0,
                         "2013年 1月 16日星期三\n上午 11时正会议开始"), 1.0)
    text, _ = extractive_answer("2013年1月16日那次立法会会议几点休会的", [header, record])
    assert text.startswith("立法会遂于下午 1时 25分休会。")


@pytest.mark.parametrize(("question", "text", "answer"), [
    # A role asked is answered by the sentence that names one.
    ("那份预备党员思想汇报里，写汇报的人在单位是什么职务",
     "我自被党组织确定为预备党员以来，在工作中时刻以党员标准严格要求自己。作为一名科员，我始终坚持高标准、严要求，恪尽职守。",
     "作为一名科员"),
    # Which texts were studied is answered by the sentence that names their titles.
    ("思想汇报里说学习了哪些党内规章",
     "我认真学习党的理论知识，积极参加党组织的活动。学习新《党章》和《条例》以及《中国共产党廉洁自律准则》，明确党员的权利和义务。",
     "学习新《党章》"),
])
def test_a_role_or_titles_asked_are_answered_by_the_sentence_that_names_them(question: str, text: str, answer: str):
    report = Hit(Section("d0", "思想汇报.docx", "思想汇报", [], 2, text), 1.0)
    given, _ = extractive_answer(question, [report])
    assert given.startswith(answer)


def test_where_one_works_is_part_of_asking_the_role_and_the_asking_of_a_title_is_no_missing_word():
    from assistant.answer import _unseen_words

    report = [Hit(Section("d0", "思想汇报.docx", "思想汇报", [], 2, "作为一名科员，我始终坚持高标准、严要求。"), 1.0)]
    assert _unseen_words("思想汇报里写汇报的人在单位是干什么岗位的", report) == []
    assert _unseen_words("思想汇报里写汇报的人在医院是干什么岗位的", report) == ["医院"]
    rules = [Hit(Section("d0", "编写规则.pdf", "浙江大学本科生毕业论文（设计）编写规则", [], 5,
                         "参考文献著录格式遵照《信息与文献 参考文献著录规则》GB/T 7714-2015的规定执行。"), 1.0)]
    assert _unseen_words("本科毕业论文参考文献按哪个国家标准来写", rules) == []


def test_an_abbreviation_asked_is_answered_by_the_passage_that_spells_it_out():
    from types import SimpleNamespace

    from assistant.answer import _select, _spelling_out, _spelled_out

    naming = Hit(Section("d0", "报告.txt", "政府工作报告", [], 30, "“六保”是今年“六稳”工作的着力点。守住“六保”底线，就能稳住经济基本盘；"), 1.0)
    spelling = Section("d0", "报告.txt", "政府工作报告", ["二、今年发展主要目标"], 12,
                       "加大“六稳”工作力度，保居民就业、保基本民生、保市场主体、保粮食能源安全、保产业链供应链稳定、保基层运转，"
                       "坚定实施扩大内需战略。")
    other = Hit(Section("d0", "报告.txt", "政府工作报告", [], 31, "今年已过去近5个月。"), 0.9)
    # Retrieval does not find the passage that spells it out: it shares no word with the question.
    searcher = SimpleNamespace(kb=SimpleNamespace(document_sections=lambda doc: [spelling, naming.section, other.section]))
    hits = _spelling_out(searcher, [naming, other], _spelled_out("六保是哪六保"))
    assert [h.section.position for h in hits] == [30, 12, 31]
    units, _, _ = _select("六保是哪六保", hits)
    assert any("保居民就业、保基本民生" in u for u, _ in units)
    assert _spelling_out(searcher, [naming, other], _spelled_out("四大工程是哪四个")) == [naming, other]


def test_a_list_whose_items_begin_in_the_next_passages_is_found_and_given_from_its_lead():
    from types import SimpleNamespace

    from assistant.answer import _next_passages, _select

    heading = "（七）加大保障和改善民生力度"
    lead = Hit(Section("d0", "报告.csv", "政府工作报告", [heading], 75, f"{heading}\n强化社区卫生服务中心能力建设。持续办好为民实事。"), 0.8)
    first = Section("d0", "报告.csv", "政府工作报告", [heading, "一是继续实施强县中增学位工程"], 76,
                    f"{heading}\n一是继续实施“强县中增学位”工程。二是改造建设100个乡镇综合养老服务中心。")
    second = Section("d0", "报告.csv", "政府工作报告", [heading, "三是免费实施白内障复明工程"], 77,
                     f"{heading}\n三是免费实施1万名老年人白内障复明工程。四是开展职工关心关爱活动。")
    after = Hit(Section("d0", "报告.csv", "政府工作报告", [heading], 78,
                        "民生无小事，我们让人民群众从一桩桩为民实事中看到变化、得到实惠。"), 1.0)
    searcher = SimpleNamespace(kb=SimpleNamespace(document_sections=lambda doc: [lead.section, first, second, after.section]))
    # The items share no word with the question: retrieval finds the lead and the line after the list only.
    hits = [after, lead]
    hits += _next_passages(searcher, hits)
    assert [h.section.position for h in hits] == [78, 75, 76, 77]
    units, _, _ = _select("为民实事第三件是什么", hits)
    assert units[0][0] == "三是免费实施1万名老年人白内障复明工程。"
    units, as_list, _ = _select("为民实事有哪些", hits)
    assert as_list and [u for u, _ in units][:2] == ["持续办好为民实事。", "一是继续实施“强县中增学位”工程。"]
    assert len(units) == 5


def test_a_further_sentence_must_share_more_with_the_question_than_the_documents_name():
    from assistant.answer import _select

    record = Hit(Section("d0", "立法会纪录.txt", "立法会会议过程正式纪录", [], 2,
                         "立法会遂于下午 1时 25分休会。\n我们在困立法会 ─ 2013年 1月 16日"), 1.0)
    units, _, _ = _select("立法会会议几点休会", [record])
    assert [u for u, _ in units] == ["立法会遂于下午 1时 25分休会。"]


def test_a_figure_the_closest_sentence_does_not_give_comes_from_the_best_sentence_that_gives_it():
    from assistant.answer import _select

    syllabus = Hit(Section("d0", "大纲.docx", "外语类公务员考试大纲", [], 3,
                           "口译、与考官对话以及对给定的材料简短发表看法、回答问题等。时间约15分钟。"
                           "具体地点为省外办会议室，口试的考试时间为结构化面试结束后下午或次日。"), 1.0)

    def similarity(query, sentences):  # meaning puts the sentence on where and when the test is held first
        return [0.70 if "地点" in s else 0.45 for s in sentences]

    units, _, matched = _select("外语口试考试时间多久", [syllabus], None, similarity)
    assert matched.text == "时间约15分钟。" and units[0][0] == "时间约15分钟。"


def test_a_count_of_things_is_not_answered_by_a_duration_and_a_terse_query_for_a_length_of_time_asks_one():
    from assistant.answer import _answers, _Match

    rules = [Hit(Section("d0", "管理办法.pdf", "武汉大学本科毕业论文工作管理办法", [], 0, ""), 1.0)]
    # "前一个月" is a time, "5个" the count of students asked for.
    assert not _answers("一个老师最多能带几个学生", [("课程开设前一个月应组织指导教师开始选题准备工作。", 0)], _Match(), rules)
    assert _answers("一个老师最多能带几个学生", [("每个指导教师指导学生一般不超过 5 个。", 0)], _Match(), rules)
    # A search-box query that ends in 时长 asks how long, as "多长时间" does.
    assert not _answers("外语专业笔试时长", [("第一阶段为公共科目笔试和外语专业笔试。", 0)], _Match(), rules)
    assert _answers("外语专业笔试时长", [("考试方式为闭卷，考试时长2小时。", 0)], _Match(), rules)


def test_asking_for_a_hotlines_number_is_no_missing_thing():
    from assistant.answer import _unseen_words

    report = [Hit(Section("d0", "政府工作报告.txt", "政府工作报告", [], 3, "优化12319城市管理服务热线。"), 1.0)]
    assert _unseen_words("城市管理服务热线号码是多少", report) == []


def test_a_numbered_line_filed_as_a_heading_answers_when_it_gives_the_figure_asked():
    line = "(7) 最新的资助房屋入息限额订在每月4万元，相信将来居屋的入息限额应可照顾原来合资格申请人士"
    speech = Hit(Section("d0", "施政报告.txt", "行政长官发表施政报告", [line], 4, f"{line}\n委员会将于年中发表公众咨询文件。"), 1.0)
    text, _ = extractive_answer("买资助房的家庭月收入上限定在多少", [speech])
    assert "4万元" in text


def test_a_day_an_office_or_a_time_asked_must_be_said():
    from assistant.answer import _answers, _Match

    notice = [Hit(Section("d0", "通知.doc", "2019年度录用人民警察体能测试的通知", [], 0, ""), 1.0)]
    # "哪天" asks a day: the sentence on what the exam tests gives none; the notice's time line does.
    assert not _answers("公务员笔试具体是哪天考的", [("笔试分为行政职业能力测验和申论两科。", 0)], _Match(), notice)
    assert _answers("体能测试是哪天", [("1、时间：2019年7月12日，上午7:30", 0)], _Match(), notice)
    # "几号字" asks a type size, not a day.
    assert _answers("参考文献表用几号字", [("参考文献表应置于正文后，用5号宋体。", 0)], _Match(), notice)
    # "哪个部门" asks an office: the amount of the allowance names none.
    assert not _answers("育儿补贴要去哪个部门申请", [("育儿家庭每月多了300元补贴。", 0)], _Match(), notice)
    assert _answers("专利数据是哪个部门给的", [("专利数据来自市市监局。", 0)], _Match(), notice)
    # Any time asked: a bare signature line says no time at all; "两年内" does.
    assert not _answers("成绩什么时候公布", [("上饶市公安局政治部", 0)], _Match(), notice)
    assert _answers("收费站打算什么时候基本取消", [("两年内基本取消全国高速公路省界收费站。", 0)], _Match(), notice)


def test_a_number_to_call_is_answered_by_the_number_and_a_count_not_by_a_document_number_a_date_or_a_session():
    from assistant.answer import _answers, _Match

    notice = [Hit(Section("d0", "通知.doc", "体能测试的通知", [], 0, ""), 1.0)]
    assert not _answers("体能测试有问题打哪个电话咨询", [("上饶市公安局政治部", 0)], _Match(), notice)
    assert _answers("城市管理服务热线号码是多少", [("优化12319城市管理服务热线。", 0)], _Match(), notice)
    cited = "根据《关于加强学术规范建设的意见》（学位[2010]9号）的要求，制定本规定。"
    assert not _answers("论文查重复制比要控制在多少以内", [(cited, 0)], _Match(cited), notice)
    opening = "5月22日上午9时，十三届全国人大三次会议在人民大会堂开幕。"
    assert not _answers("国防预算增长多少", [(opening, 0)], _Match(opening), notice)
    # A date asked keeps its date.
    assert _answers("人大会议几月几日开幕", [(opening, 0)], _Match(opening), notice)
    assert _answers("复制比要控制在多少以内", [("复制比不得超过15%。", 0)], _Match("复制比不得超过15%。"), notice)


def test_a_floor_asked_is_not_answered_by_a_ceiling():
    from assistant.answer import _answers, _Match

    rules = [Hit(Section("d0", "编写规则.pdf", "本科生毕业论文编写规则", [], 0, ""), 1.0)]
    title = "论文题目：简明扼要，一般不能超过 25 个汉字。"
    assert not _answers("本科毕业论文正文最少要写多少字", [(title, 0)], _Match(title), rules)
    assert _answers("论文题目最多几个字", [(title, 0)], _Match(title), rules)
    floor = "硕士学位论文正文不得少于3万字。"
    assert _answers("硕士论文正文最少要写多少字", [(floor, 0)], _Match(floor), rules)
    # "降至多少" asks where a rate goes, not a ceiling.
    cut = "下调城镇职工基本养老保险单位缴费比例，各地可降至16%。"
    assert _answers("单位缴费比例各地可降至多少", [(cut, 0)], _Match(cut), rules)


def test_an_age_bracket_gives_no_age():
    from assistant.answer import _answers, _Match

    data = [Hit(Section("d0", "性别数据.pdf", "深圳市社会性别统计", [], 0, ""), 1.0)]
    bracket = "2021 年，深圳市 0-17 岁户籍人口 168.37 万人。"
    assert not _answers("深圳2021年女性平均初婚年龄是多少岁", [(bracket, 0)], _Match(bracket), data)
    assert _answers("甘肃打算让老百姓平均能活到多少岁", [("人均预期寿命达到78岁。", 0)], _Match("人均预期寿命达到78岁。"), data)
    age = "女性平均初婚年龄为29.5岁。"
    assert _answers("深圳2021年女性平均初婚年龄是多少岁", [(age, 0)], _Match(age), data)


def test_which_office_gave_the_data_is_answered_by_the_note_on_its_source():
    report = Hit(Section("d0", "性别数据.pdf", "深圳市社会性别统计报告", ["指标解释"], 9,
                         "9.住院分娩率：指报告期末，辖区内常住人口住院分娩活产数与活产数之比。（数据来源：市卫健委）\n"
                         "10.孕产妇死亡率：指报告期内每10万名孕产妇中的死亡人数。（数据来源：市卫健委）"), 1.0)
    text, _ = extractive_answer("住院分娩率的数据是哪个部门提供的", [report])
    assert "住院分娩" in text and "市卫健委" in text


def test_what_a_drafter_needs_the_answer_for_and_a_rough_asking_are_not_missing_words():
    from assistant.answer import _unseen_words, without_relay

    bulletin = [Hit(Section("d0", "公报.html", "宜春市2022年国民经济和社会发展统计公报", [], 3,
                            "全年城镇居民人均可支配收入42038元，农村居民人均可支配收入20366元，城乡居民收入比2.06:1。"), 1.0)]
    question = without_relay("主任讲话稿要用：宜春城里人和乡下人的收入大概差几倍？")
    assert question == "宜春城里人和乡下人的收入大概差几倍？"
    assert _unseen_words(question, bulletin) == []


def test_maternity_leave_is_not_answered_by_paternity_leave():
    from assistant.answer import _answers, _Match

    record = [Hit(Section("d0", "施政报告.txt", "会议过程正式纪录", [], 0, ""), 1.0)]
    paternity = "劳工顾问委员会支持立法订立3天有薪男士侍产假。"
    assert not _answers("女职工产假是多少天", [(paternity, 0)], _Match(paternity), record)
    assert _answers("香港爸爸可以放几天有薪陪产假", [(paternity, 0)], _Match(paternity), record)


def test_money_in_any_currency_a_score_a_count_in_ten_thousands_and_a_website_must_be_given_as_asked():
    from assistant.answer import _answers, _Match

    bulletin = [Hit(Section("d0", "公报.html", "统计公报", [], 0, ""), 1.0)]
    row = "烟花鞭炮 万箱 1575 6.42"
    exports = "全年共出口2.7亿美元，同比增长13.3%。"
    assert not _answers("烟花鞭炮出口额是多少美元", [(row, 0)], _Match(row), bulletin)
    assert _answers("全年出口多少美元", [(exports, 0)], _Match(exports), bulletin)
    assert _answers("全年出口是多少钱", [(exports, 0)], _Match(exports), bulletin)
    # "多少分" asks a score: the subjects of an exam give none, its full mark does.
    subjects = "公共科目笔试分为行政职业能力测验和申论两科。"
    assert not _answers("笔试合格分数线一般是多少分", [(subjects, 0)], _Match(subjects), bulletin)
    assert _answers("申论满分多少分", [("申论满分100分。", 0)], _Match("申论满分100分。"), bulletin)
    assert _answers("行测考多少分钟", [("考试时限120分钟。", 0)], _Match("考试时限120分钟。"), bulletin)
    # "多少万人" counts people: a rate of them is no count.
    rate = "常住人口城镇化率由52.23%提高到58.08%。"
    assert not _answers("年末常住人口是多少万人", [(rate, 0)], _Match(rate), bulletin)
    assert _answers("户籍人口有多少万人", [("户籍人口630.94万人。", 0)], _Match("户籍人口630.94万人。"), bulletin)
    # A website asked is given by its name or address, not by a venue.
    venue = "具体地点为省外办会议室。"
    assert not _answers("是在哪个网站报名的", [(venue, 0)], _Match(venue), bulletin)
    assert _answers("在哪个网站报名", [("报名网站为江西人事考试网。", 0)], _Match("报名网站为江西人事考试网。"), bulletin)


def test_where_to_turn_is_not_answered_by_the_signature_line():
    from assistant.answer import _answers, _Match

    notice = [Hit(Section("d0", "通知.doc", "体能测评通知", [], 0, ""), 1.0)]
    signature = "上饶市公安局政治部"
    assert not _answers("成绩有异议向哪个部门申请复核", [(signature, 0)], _Match(signature), notice)
    assert _answers("这个通知是哪个单位发的", [(signature, 0)], _Match(signature), notice)
    rule = "本条例由武汉大学教务部负责解释。"
    assert _answers("管理办法由哪个部门负责解释", [(rule, 0)], _Match(rule), notice)


def test_which_month_asks_a_time_events_are_counted_and_a_cited_document_names_no_office():
    from assistant.answer import _asked_type, _answers, _Match, _TIME_RE

    assert _asked_type("本科毕业论文一般几月份答辩") is _TIME_RE
    rules = [Hit(Section("d0", "规定.doc", "管理办法", [], 0, ""), 1.0)]
    bulletin = "全市共有规上文化企业286家，实现营业收入182.89亿元。"
    assert not _answers("全市一共发生了多少起火灾", [(bulletin, 0)], _Match(bulletin), rules)
    assert _answers("全年发生多少起安全事故", [("全年发生安全事故12起。", 0)], _Match("全年发生安全事故12起。"), rules)
    cases = "2021年，深圳市婚姻家庭纠纷调解案件2710例。"
    assert _answers("2021年一共调解了多少起婚姻家庭纠纷", [(cases, 0)], _Match(cases), rules)
    cited = "体能测评按照《公安机关录用人民警察体能测评项目和标准（暂行）》（人社部发〔2011〕48号附件）组织实施。"
    assert not _answers("考生受伤医疗费用由哪个部门承担", [(cited, 0)], _Match(cited), rules)
    assert _answers("体能测评由哪个部门组织", [("体能测评由市公安局政治部组织实施。", 0)], _Match("体能测评由市公安局政治部组织实施。"), rules)


def test_what_a_drafter_wants_the_words_for_and_a_share_asked_in_words_are_no_missing_words():
    from assistant.answer import _unseen_words

    report = [Hit(Section("d0", "报告.txt", "政府工作报告", [], 3, "我们没有提出全年经济增速具体目标，空气质量优良天数比例94.2%。"), 1.0)]
    assert _unseen_words("为啥没提出经济增速具体目标 讲话稿要引原话", report) == []
    assert _unseen_words("述职报告里要写 经济增速目标", report) == []
    assert _unseen_words("一年里头空气质量优良天数占到百分之多少", report) == []
    # "从多少提到多少" (raised to) and "报告里提到" (mentioned) are the asking.
    assert _unseen_words("优良天数比例从多少提到多少", report) == []


def test_an_intensity_asked_is_a_rate_of_its_own():
    from assistant.answer import _answers, _Match

    bulletin = [Hit(Section("d0", "公报.html", "统计公报", [], 0, ""), 1.0)]
    gdp = "全年实现地区生产总值3473.12亿元，同比增长5.3%。"
    assert not _answers("全社会研发经费投入强度是多少，占GDP百分之几", [(gdp, 0)], _Match(gdp), bulletin)
    rd = "研究与试验发展经费投入强度为1.5%。"
    assert _answers("全社会研发经费投入强度是多少，占GDP百分之几", [(rd, 0)], _Match(rd), bulletin)


def test_a_year_a_price_per_unit_and_a_cap_asked_must_be_given():
    from assistant.answer import _answers, _Match

    report = [Hit(Section("d0", "报告.csv", "政府工作报告", [], 0, ""), 1.0)]
    works = "开工建设平凉机场，推进兰州铁路枢纽等项目前期取得实质性进展。"
    assert not _answers("平凉机场预计哪一年能建成通航", [(works, 0)], _Match(works), report)
    assert _answers("贫困人口要在哪一年全部脱贫", [("到2020年全部脱贫。", 0)], _Match("到2020年全部脱贫。"), report)
    price = "提高稻谷最低收购价，增加产粮大县奖励。"
    assert not _answers("稻谷最低收购价每斤多少钱", [(price, 0)], _Match(price), report)
    assert _answers("稻谷最低收购价每斤多少钱", [("稻谷最低收购价每斤1.3元。", 0)], _Match("稻谷最低收购价每斤1.3元。"), report)
    assert _answers("小麦每亩产量多少公斤", [("小麦亩产450公斤。", 0)], _Match("小麦亩产450公斤。"), report)
    pension = "企业退休人员养老金年人均提高2556元。"
    assert not _answers("职工疗休养每人每年的费用上限是多少", [(pension, 0)], _Match(pension), report)
    cap = "资助房屋入息限额订在每月4万元。"
    assert _answers("买资助房屋家庭月收入上限是多少", [(cap, 0)], _Match(cap), report)
