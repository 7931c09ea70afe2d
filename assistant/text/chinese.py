"""Traditional/Simplified conversion and sentence splitting.

Hand-written because no library splits Chinese at 。！？； while keeping closing quotes and
brackets with their sentence, and OpenCC needs a thin cached wrapper.
"""
from __future__ import annotations

import re
from functools import lru_cache

import opencc

_SENTENCE_END = "。！？；!?;"
_CLOSERS = "”’」』）)】》\"'"
_SENTENCE_RE = re.compile(rf"[^{_SENTENCE_END}\n]*(?:[{_SENTENCE_END}]+[{_CLOSERS}]*|\n|$)")
_WHITESPACE_RE = re.compile(r"\s+")


@lru_cache(maxsize=1)
def _t2s() -> opencc.OpenCC:
    return opencc.OpenCC("t2s")


@lru_cache(maxsize=1)
def _s2t() -> opencc.OpenCC:
    return opencc.OpenCC("s2t")


def to_simplified(text: str) -> str:
    return _t2s().convert(text)


def to_traditional(text: str) -> str:
    return _s2t().convert(text)


def is_traditional(text: str) -> bool:
    """True when converting to Simplified changes a noticeable share of the characters."""
    sample = text[:4000]
    han = sum(1 for ch in sample if "\u4e00" <= ch <= "\u9fff")
    if not han:
        return False
    changed = sum(1 for a, b in zip(sample, to_simplified(sample)) if a != b)
    return changed / han > 0.05


def match_key(text: str) -> str:
    """The form two texts are compared in: Simplified, without any whitespace."""
    return _WHITESPACE_RE.sub("", to_simplified(text))


def split_sentences(text: str) -> list[str]:
    """Split at sentence ends (。！？；), keeping each end mark and closing quote with its sentence."""
    return [s for s in _SENTENCE_RE.findall(text) if s.strip()]


_NUMERALS = {c: i for i, c in enumerate("一二三四五六七八九十", start=1)}
_CN = "[一二三四五六七八九十]{1,3}"
MEASURE_UNITS = "万亿千百元人个次户家对吨米岁倍亩名件项%‰"  # what follows a figure: "20.94 万人" is no item 20.94
# How 公文 number the items of a list, at the start of a sentence or line: 一是/一要/一、, 第一，,
# （一）, 1. / 1、, （1）, 首先/其次. The kind keeps separate lists (parts and their 一是 items) apart.
_ITEM_RE = re.compile(
    rf"^[\s“\"]*(?:(?P<is>{_CN})(?P<verb>是|要)|(?P<part>{_CN})、|第(?P<nth>{_CN})[，,、是条]"
    rf"|[（(](?P<paren>{_CN})[）)]|(?P<num>\d{{1,2}})[.．、](?!\d)|[（(](?P<pnum>\d{{1,2}})[）)]|(?P<seq>首先|其次|再次|最后)"
    # "2.4.4 作者简历": a numbered part of a rule's section, its number the last one.
    rf"|\d{{1,2}}(?:[.．]\d{{1,2}})*[.．](?P<dec>\d{{1,2}})[\s\u3000]+(?![{MEASURE_UNITS}])(?=[\u4e00-\u9fff]))"
)
_SEQUENCE = {"首先": 1, "其次": 2, "再次": 3}


def chinese_numeral(text: str) -> int | None:
    """一 … 九十九 as a number; None when the text is not such a numeral."""
    if text.isdigit():
        return int(text)
    if not text or any(c not in _NUMERALS for c in text):
        return None
    if "十" not in text:
        return _NUMERALS[text] if len(text) == 1 else None
    tens, _, ones = text.partition("十")
    return (_NUMERALS.get(tens, 0) if tens else 1) * 10 + (_NUMERALS.get(ones, 0) if ones else 0)


CN_DIGITS = {c: str(i) for i, c in enumerate("〇一二三四五六七八九")} | {"零": "0", "○": "0", "Ｏ": "0", "О": "0"}
SPELLED_DIGIT = f"[{''.join(CN_DIGITS)}]"  # one digit of a year written in characters ("二〇二四")
_SPELLED_YEAR_RE = re.compile(rf"({SPELLED_DIGIT}{{4}})(?=年)")
# "19年政府报告", "宜春22年": a year typed short. Not a span of years ("满10年", "近20年", "10年以上"): those follow a
# word of counting or lasting, or go on with one.
_SHORT_YEAR_RE = re.compile(r"(?<![\d.满近过去后续每第多几个了用花干读任作龄有共计约达超余整长])([0-2]\d)(?=年(?![以内来间龄限代]))")


def arabic_years(text: str) -> str:
    """Years as documents write them: "二零一九年" (dictation) and "19年" (typed short) as "2019年"."""
    text = _SPELLED_YEAR_RE.sub(lambda m: "".join(CN_DIGITS[c] for c in m[1]), text)
    return _SHORT_YEAR_RE.sub(r"20\1", text)


_OPENERS = {"（": "）", "(": ")", "【": "】", "〔": "〕"}


_NOTE_RE = re.compile(r"[（(](?:数据来源|數據來源|资料来源|資料來源|来源|來源|注|註)[：:]")


def split_sentences_bracketed(text: str) -> list[str]:
    """split_sentences, but a 。/； inside brackets does not end the sentence: 公文 put one item's parallel
    clauses there ("（达标：男子组≥2.65米；女子组≥2.30米）"), and cutting them apart loses half the item. A
    bracketed note after a sentence ("。（数据来源：市卫健委）") stays with the sentence it annotates."""
    out: list[str] = []
    depth = 0
    for piece in split_sentences(text):
        if (depth > 0 or _NOTE_RE.match(piece)) and out and not out[-1].endswith("\n"):
            out[-1] += piece
        else:
            out.append(piece)
        for ch in piece:
            if ch in _OPENERS:
                depth += 1
            elif ch in _OPENERS.values() and depth:
                depth -= 1
        if piece.endswith("\n"):
            depth = 0  # a bracket left open at a line's end is a typo, not one long item
    return out


# Short forms that 公文 spell out in full, and the full forms: a question may use either. Only common,
# unambiguous ones of the genre (statistics, bodies, offices), not words of any one document.
GENRE_SYNONYMS: dict[str, tuple[str, ...]] = {
    "GDP": ("地区生产总值", "国内生产总值"),
    "CPI": ("居民消费价格",),
    "PPI": ("工业生产者出厂价格",),
    "两会": ("人民代表大会", "政治协商会议"),
    "人大": ("人民代表大会",),
    "政协": ("政治协商会议",),
    "一把手": ("主要负责同志", "主要负责人"),
    "三公经费": ("因公出国", "公务用车", "公务接待"),
    "发改委": ("发展和改革委员会",),
    "国企": ("国有企业",),
    "民企": ("民营企业",),
    "中小微": ("中小微企业",),
    "社保": ("社会保险",),
    "医保": ("医疗保险",),
    "低保": ("最低生活保障",),
    "双创": ("大众创业", "万众创新"),
    "棚改": ("棚户区改造",),
    "规上": ("规模以上",),
    "社零": ("社会消费品零售总额",),
    "固投": ("固定资产投资",),
    "非遗": ("非物质文化遗产",),
    "公积金": ("住房公积金",),
    "行测": ("行政职业能力测验",),
    "国考": ("中央机关", "考试录用公务员"),
    "省考": ("考试录用公务员",),
    "公考": ("考试录用公务员",),
    "人代会": ("人民代表大会",),
    "招警": ("录用人民警察",),
    "体测": ("体能测评", "体能测试"),
    "毕设": ("毕业设计",),
    "考研": ("硕士研究生", "入学考试"),
}


# Everyday words a user types and the words 公文 and statistics use for the same thing: a question says
# "城里人", "物价", "游客", "欠的钱", the bulletin "城镇居民", "居民消费价格", "旅游人数", "政府债务". The
# embedding model bridges some of these within a sentence but not within a passage of twenty figures,
# and BM25 bridges none. Genre-wide usage, not the words of any one document.
PLAIN_WORDS: dict[str, tuple[str, ...]] = {
    # people and places
    "城里": ("城镇",), "乡下": ("农村",), "城里人": ("城镇居民",), "乡下人": ("农村居民",), "老百姓": ("居民", "群众"), "老人": ("老年人",), "小孩": ("儿童", "出生"), "孩子": ("子女", "儿童"),
    "宝宝": ("婴儿", "出生"), "新生儿": ("出生",), "住着": ("常住人口",), "住在": ("常住",), "外国人": ("外籍", "境外"),
    "平均每人": ("人均",), "每人": ("人均",), "平均": ("人均", "日均"),
    "男女比例": ("性别比",), "男女比": ("性别比",), "户口": ("户籍",), "迁进": ("迁入",), "迁来": ("迁入",), "迁走": ("迁出",), "警察": ("人民警察",),
    "当兵": ("服兵役", "入伍"), "老师": ("教师",), "岁数": ("年龄",), "年纪": ("年龄",),
    "困难户": ("贫困户", "低保", "困难群众"), "穷困户": ("贫困户",), "摘帽": ("脱贫",), "穷帽子": ("脱贫",), "评委": ("答辩委员会", "评审专家"),
    # money
    "挣钱": ("收入",), "能花": ("可支配",), "花钱": ("支出",), "开销": ("支出",), "花销": ("支出",),
    "欠债": ("债务",), "欠的钱": ("债务",), "欠款": ("债务", "拖欠"), "还掉": ("偿还", "化解"), "还钱": ("偿还", "化解"),
    "借钱": ("贷款", "借款"), "存钱": ("存款",), "少交": ("减税降费", "减轻"), "少缴": ("减税降费", "减轻"),
    "交税": ("税收", "纳税"), "免税": ("免征",), "物价": ("居民消费价格", "价格"), "涨价": ("价格上涨",),
    "房价": ("商品房", "住宅销售价格"), "新房": ("商品房",), "养老金": ("养老保险", "基本养老"),
    "退休金": ("养老金", "基本养老"), "交钱": ("缴费", "费用"),
    "收了多少钱": ("收入",), "赚": ("收入", "利润"),
    # economy
    "经济增长": ("生产总值增长",), "经济增速": ("生产总值增长",), "经济总量": ("生产总值",), "公司": ("企业",),
    "开公司": ("新设企业", "市场主体"), "新注册": ("新设", "新登记"), "平均一天": ("日均",), "平均每天": ("日均",),
    "开店": ("个体工商户", "市场主体"), "工厂": ("工业企业",), "外贸": ("进出口",),
    "买东西": ("消费品零售",), "网购": ("网上零售", "网络零售"), "游客": ("旅游",), "来玩": ("旅游",), "旅游的人": ("旅游人数",),
    "客流量": ("旅客吞吐量", "客运量"), "飞机": ("航空", "航线", "旅客吞吐量"), "火车": ("铁路",), "高铁": ("铁路", "动车"), "修路": ("公路", "道路"),
    "老小区": ("老旧小区",), "新添": ("新增",), "新加": ("新增",), "到手": ("可支配",), "排队": ("轮候",), "友好城市": ("友城",), "暖气": ("供热", "供暖"), "打算": ("计划",), "厕所": ("公厕",), "卫生间": ("公厕",),
    "盖房子": ("建设", "新建"), "种粮": ("粮食",), "种地": ("播种面积", "耕地"), "肥猪": ("生猪",), "养猪": ("生猪",),
    "卖出去": ("出栏", "销售"), "种树": ("造林", "植树"), "好天气": ("空气质量优良", "优良天数"),
    "天气好": ("空气质量优良", "优良天数"), "空气好": ("空气质量优良", "优良天数"), "蓝天": ("空气质量优良", "优良天数"), "日子": ("天数",),
    # services
    "近视": ("视力不良",), "戴眼镜": ("视力不良",), "看病": ("医疗", "就医"), "医院": ("医疗卫生机构",), "医生": ("执业医师", "卫生技术人员"), "病床": ("床位",),
    "上学": ("入学",), "考上": ("录取", "考取"), "上大学": ("高等教育", "高校"), "找工作": ("就业",), "没工作": ("失业",), "打工": ("务工", "农民工"),
    "穷人": ("贫困人口",), "开会": ("会议",), "放假": ("假期", "休假"), "请假": ("假期", "休假"),
    "陪产假": ("侍产假", "护理假"),
    # exams and rules
    "洋文": ("外文",), "幻灯片": ("PPT", "演示"), "内容概要": ("摘要",), "参考资料": ("参考文献", "文献"), "本事": ("能力",), "卷子": ("试卷",), "查重": ("重复率", "学术不端"), "口头考": ("口试",), "题型": ("试题类型",), "考什么题": ("试题类型", "题型"),
    "及格": ("合格", "达标"), "不及格": ("不合格",), "没达标": ("不合格",), "重考": ("重测", "补考"), "再考": ("重测", "补考"),
    "要带": ("携带", "提供"), "最晚": ("截止",), "带资料": ("闭卷", "开卷"), "带书": ("闭卷", "开卷"),
    "翻书": ("闭卷", "开卷"), "上下左右": ("四周",), "四边": ("四周",),
}
SYNONYMS = GENRE_SYNONYMS | PLAIN_WORDS


def synonyms_in(text: str) -> list[str]:
    """The full form of each genre short form, and the 公文 word for each everyday word, the text uses."""
    upper = to_simplified(text).upper()
    return list(dict.fromkeys(full for short, fulls in SYNONYMS.items() if short in upper for full in fulls if full not in upper))


def expand_synonyms(text: str) -> str:
    """The text with synonyms_in(text) appended (for matching only)."""
    extra = synonyms_in(text)
    return " ".join([text, *extra]) if extra else text


def item_marker(sentence: str) -> tuple[str, int] | None:
    """The list a sentence opens an item of, and the item's number: ("是", 2) for 二是…, ("、", 3) for 三、…."""
    m = _ITEM_RE.match(to_simplified(sentence))
    if not m:
        return None
    for group in ("is", "part", "nth", "paren", "num", "pnum", "dec"):
        if m.group(group):
            n = chinese_numeral(m.group(group))
            kind = m.group("verb") if group == "is" else group
            return (kind, n) if n else None
    seq = m.group("seq")
    return ("seq", _SEQUENCE.get(seq, 0)) if seq else None


def strip_item_marker(sentence: str) -> str:
    """The sentence without the marker of the list item it opens ("二是流程对标。" → "流程对标。")."""
    m = _ITEM_RE.match(sentence)
    return sentence[m.end():].lstrip() if m and item_marker(sentence) else sentence


_FUNCTION_CHARS = set("的了和与及是在对把被为之等也就都而并，。、；：！？“”《》（）")


def content_bigrams(text: str) -> set[str]:
    """Character bigrams of the text's match key, leaving out those that touch a function word or punctuation."""
    key = match_key(text)
    return {key[i : i + 2] for i in range(len(key) - 1) if not (_FUNCTION_CHARS & set(key[i : i + 2]))}
