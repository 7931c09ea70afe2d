"""Grounded Q&A: follow-ups made standalone, passages retrieved and packed, answered with citations.

With an LLM the answer streams from the model; without one it is extractive, nothing invented: the
sentences of the top passages that best match the question, each cited; for a list question the lead
and the numbered items one a line; for "那第二条呢？" the second item just given, with what the source
says about it; "知识库中没有找到" and the nearest documents when the best sentence is not about the
question. Sentence choice and list structure are hand-written: they follow how 公文 number their points
(一是…二是…, 一要…, 一、…), which no library models. The off-topic check is a small logistic model over
measures of the sentence and the question, fitted by bench/fit_gate.py (assistant/gate.json).
"""
from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
from langchain_core.messages import HumanMessage

from .components.llm import LLM
from .config import Settings
from .errors import BiganError
from .ingest.sections import Section
from .prompts import history_messages, new_fence, pack, render, system_message
from .retrieve import Hit, Searcher
from .signals import REVIEWS_LAST_YEAR
from .text.segment import is_everyday, is_fragment, is_term, proper_names, tokenize
from .text.chinese import (
    SYNONYMS, arabic_years, chinese_numeral, content_bigrams, expand_synonyms, is_traditional, item_marker, match_key,
    split_sentences, split_sentences_bracketed, strip_item_marker, synonyms_in, to_simplified, to_traditional,
)

NOT_FOUND = "知识库中没有找到相关内容。"
# "第三条", "第三步", "第八件实事", "第三种情况": the Nth point of a list.
_ORDINAL_RE = re.compile(r"第([一二三四五六七八九十\d]{1,3})(?:条|点|项|个|部分|方面|步|件|种)")
_FOLLOW_UP_RE = re.compile(
    rf"^(那|那么|这|这个|该|其|它|上述|还有|另外|此外|具体)|呢[？?]?$|{_ORDINAL_RE.pattern}|这个|那个|他们|它们|上面"
)
_CITATION_RE = re.compile(r"\[(\d{1,2})\]")
# "有个考生打电话问，", "群众来电咨询：", "有位家长问我们：", "主任讲话稿要用：": who asked (or for what), then the question.
_RELAY_RE = re.compile(
    r"^(?P<who>[^，,。？?！!：:\s]{0,16}?)(?:"
    r"(?:打来?电话|来电|来信|留言)(?:(?:问|咨询|反映|询问|说)(?:我们|我|一下)?[，,：:]?|[，,：:])"
    r"|(?:问|咨询|反映|询问)(?:我们|我|一下)?[，,：:]|让我查(?:一下)?[，,：:]?|[要急]用[，,：:])\s*"
)
_ASKER_OPENING_RE = re.compile(r"^(?:有(?:个|位|一个|一位|人)?|一(?:个|位|名))")
# Question words match any passage that asks or counts; they say nothing about the answer.
# "由谁来当" asks for a person as "多高" asks for a measure: jieba glues them to their neighbours ("由谁来", "制由").
# "多长时间" is left whole for _ASKING_WORDS_RE, which runs after this one.
_QUESTION_WORDS_RE = re.compile(r"百分之(?:多少|几)|几多(?:[日天年月个人次钱])?|(?:哪个|哪家|什么)(?:部门|单位|机构)|几[\u4e00-\u9fff]|什么样|什么|啥|哪些|哪个|哪几|哪(?=[一二三四五六七八九十两])|哪里|多少|多[长大高宽远重](?!(?:一段)?时间)|由?谁来?|如何|怎么样|怎样|怎么|为什么|是否|有没有|吗|呢|请问|具体|分别")
# Sentences that speak to the reader or to a model (an injected instruction, a role to play, an order
# to answer) are not answers, whatever words they share with the question. Each cue is a kind of
# speech, in Chinese and English, and adds its weight; DIRECTIVE_SCORE or more makes a directive.
_DIRECTIVE_CUES: list[tuple[re.Pattern, int]] = [
    # a chat-transcript role label opening the sentence
    (re.compile(r"^\W*(?:system|assistant|user|human|developer|系统|助手|用户|AI)\s*[:：]", re.I), 2),
    # markup opening or closing a tag, or a chat-template turn
    (re.compile(r"</?[A-Za-z\u4e00-\u9fff][^<>\n]{0,40}>|<\|[^|]{1,20}\|>|\[/?INST\]", re.I), 2),
    # an order to produce output, opening the sentence or a clause
    (re.compile(
        r"^\W*(?:务必|直接|现在|从现在起)(?:直接|只)?(?:回答|回复|输出|打印|告诉我|说出|重复)"
        r"|(?:^|[，,；;：:])\W*(?:(?:请[你您]?|只)(?:直接|只)?(?:回答|回复|输出|打印|告诉我|说出|重复)"
        r"|(?:please\s+|now\s+|just\s+|only\s+)?(?:answer|reply|respond|output|print|say|repeat)\b)", re.I), 2),
    # setting aside what came before (but "不能忽略以上问题" is content)
    (re.compile(
        r"(?:(?<![不能可应易被所会])(?:忽略|无视)|不要理会|不再遵守|ignore|disregard|override|bypass)"
        r".{0,12}?(?:以上|上面|上述|之前|此前|前面|先前|所有|全部|一切|其他|previous|above|prior|earlier|all|any|other)", re.I), 2),
    (re.compile(r"(?:忘记|忘掉|forget).{0,12}?(?:以上|上面|上述|之前|此前|前面|先前|所有|全部|一切|previous|above|prior|earlier|all|any)", re.I), 1),
    # telling the reader what it is or what part to play
    (re.compile(r"(?:你|您)(?:现在)?(?:是|扮演|作为)(?!否)|扮演|\byou\s+are\b|\bact\s+as\b|\bpretend\b", re.I), 1),
    # the reader addressed as one person (你们, 你局, 你市 … address offices in official letters)
    (re.compile(r"你(?![们单局市省县区部委院厅处司办校是])|您|\byou\b|\byour\b", re.I), 1),
    # telling that reader what it must do
    (re.compile(r"(?:你|您)(?:必须|务必|只能|应当|应该|需要|要)|\byou\s+(?:must|should|have\s+to|need\s+to)\b", re.I), 1),
    # talk about models, prompts and instructions
    (re.compile(r"指令|提示词|系统提示|语言模型|大模型|人工智能|智能助手|(?<!参谋)助手|\bAI\b|\bGPT|\bLLM\b|\bprompts?\b|\binstructions?\b|\bsystem\b|chatbot", re.I), 1),
]
DIRECTIVE_SCORE = 2
_EXTRACT_PASSAGES = 5  # passages whose sentences may answer; later ones can only continue a list
_EXTRACT_SENTENCES = 3
_EXTRACT_MIN_OVERLAP = 0.1  # share of the question's (weighted) content bigrams the best sentence must hold
_EXTRACT_KEEP = 0.8  # further sentences must score this share of the best one
_RANK_PRIOR = 0.4  # weight of the passage's retrieval score beside the sentence's own overlap
_COSINE_WEIGHT = 1.0  # weight of the question-to-sentence cosine (relative to the best)
_LEAD_GAP = 2  # sentences that may stand between a list's lead and its first item
_ANNOUNCE_GAP = 4  # sentences after the best one, in its passage, that may announce "我讲四点意见"
_ELABORATION = 2  # sentences of explanation given with an item asked about
_ITEM_BODY = 8  # sentences of an item searched for those that speak to the question
_ITEM_MATCH = 0.5  # share of an item's bigrams a sentence must hold to be that item
_ECHO = 0.8  # cosine of two words' embeddings above which one says the other
_FAR = 0.40  # question-to-sentence cosine below which a sentence is not close in meaning
_AGREE_RANK = 2  # dense and BM25 agree on the top passage when both rank it this high
_CAP = 3  # counts of missing words the gate reads: past a few, more tell nothing new
# The gate that tells an answer from a near miss: a logistic model over what `_gate_features` measures, fitted
# by bench/fit_gate.py on the tuning question sets (hand thresholds, tuned set by set, stopped carrying over
# to fresh questions). It answers when the odds, weighted as fitted, favour an answer.
_GATE = json.loads(Path(__file__).with_name("gate.json").read_text(encoding="utf-8"))
# Words that ask when, how much or for which part, point at what was spoken of ("这份", "那个") or give a
# verb its direction ("带进去"), whatever the subject: a passage need not hold them.
_ASKING_WORDS_RE = re.compile(
    r"[这那该本此](?:份|个|篇|次|项|条|场)|(?:进|出|上|下|回)[去来]"
    r"|哪一?年|哪一?天|哪一?部分|什么时候|何时|多久|多长(?:一段)?时间|[每一]个?(?:月|年(?!级)|天|周)|[上下这]个?(?:月|星期|礼拜)|[上下这]周|里头|最少|至少|最多|至多|大概|大约|大致|差不多|左右|几月|几日|几点|号码|上一?年|当年|今年|去年|明年|一共|总共|共有|实际|标题|内容|构成|组成"
    r"|提出|提到|规定|要求|情况|时候|讲了?什么|第[一二三四五六七八九十\d]+(?:部分|方面|项|条|点|个)"
    # what a drafter needs it for ("讲话稿要引原话", "述职报告里要写", "统计表要填")
    r"|(?:讲话稿?|发言稿|稿子|材料|述职报告|总结|汇报|报表|统计表|表格)[里中上]?(?:要|得|需要|准备)?(?:引用?|用|写|提|填|放)(?:一下|一句|进去)?|原话|原文|原句"
)
_NEAREST_DOCUMENTS = 3
# "八十多", "十几": a figure put roughly in words.
_ROUGH_FIGURE_RE = re.compile(r"[一二两三四五六七八九]*[十百千万][一二三四五六七八九]?[多余来几]")
# A year the question names: a report of year N reviews N-1 under a heading that names it, so the
# sentence, its headings or its document's title must name it for the passage to be about that year;
# a sentence that names only other years, or stands in a document of another year, is about another year.
_YEAR_RE = re.compile(r"(?<!\d)((?:19|20)\d{2})年")
_OWN_YEAR_RE = re.compile(r"(?<![\d比较是与于])((?:19|20)\d{2})年")  # not "比2021年减少": a comparison is not the year reported
# "八项规定", "28条规定" are rules counted, not a document's title ("2013年落实八项规定" asks about 2013's work).
_DOCUMENT_YEAR_RE = re.compile(r"((?:19|20)\d{2})年度?[^，。？?、\s]{0,12}?(?:报告|公报|通知|大纲|办法|(?<![项条])规定|规则|名单|目录|纪要|方案)")
_CITED_RE = re.compile(r"《[^《》]*(?:《[^《》]*》[^《》]*)*》|(?:19|20)\d{2}年第[\d一二三四五六七八九十]+号")
_TITLE_YEAR_RE = re.compile(r"(?<!\d)((?:19|20)\d{2})(?!\d)")  # file names write "2026_甘肃省_…"
_YEAR_BONUS = 0.3
# What the question asks for: a quantity ("多少", "几成", "多久") is answered by a sentence that gives a
# figure, a time ("什么时候") by one that names a month, a part of one or a term; such sentences come first,
# and a question after a quantity that no answer sentence gives is not answered.
# "几月(份)答辩" asks a month, a time; "几个月" is the count.
_ASKS_QUANTITY_RE = re.compile(r"多少|几多|(?<!哪)几[年个项条天日人次倍名家所户万亿千百十种位点成周篇科分元岁]|百分之几|多[长大高宽远久重]")
# A title or a document number cited ("《…规定》", "人社部发〔2011〕48号") names no office, day or time of its own.
_CITED_NAME_RE = re.compile(r"[\u4e00-\u9fff]{0,8}[〔\[［(（]\s*(?:19|20)\d{2}\s*[〕\]］)）]\s*\d+\s*号|" + _CITED_RE.pattern)
# Numbers that name, date or order rather than count: a document number ("学位[2010]9号") or title, a date or an
# hour ("5月22日上午9时"), a meeting's term and session ("十三届全国人大三次会议") and an article ("第二十三条");
# a sentence holding only these gives no figure.
_NOT_A_FIGURE_RE = re.compile(
    _CITED_NAME_RE.pattern + r"|\d{1,2}\s*月\s*\d{1,2}\s*[日号]|\d{1,2}\s*[时点](?:\s*\d{1,2}\s*分)?(?![\d.])"
    r"|[\d一二三四五六七八九十]+届[\u4e00-\u9fff]{0,8}?[\d一二三四五六七八九十]+(?:次|中)(?:会议|全会|全体会议)"
    r"|第\s*[\d一二三四五六七八九十百]+\s*[条章节款项次届号批]"
)
_QUANTITY_RE = re.compile(
    r"(?<![\d.])(?!(?:19|20)\d{2}年)\d"  # a figure that is not a year (公文 write figures in Arabic digits)…
    r"|(?<![第一二两三四五六七八九十百千万“\"])[一二两三四五六七八九十百千万]+(?:个|项|条|次|名|人|天|年|月|倍|成|元|种|类|部分|科|篇|周|小时|分钟|位|所|家|户|亿|万|届|批)"  # …or a small count in words, not a quoted name (“八项规定”)
    r"|一半|过半|半数|[一二三四五六七八九十百千万\d]+分之[一二三四五六七八九十\d]+"  # …or a share in words ("清偿一半以上", "压减三分之一")
)
# Some questions name the kind of figure: money is given in 元, a length of text in 字, a duration in time
# units, an age in 岁, a share as a percentage (a count of exam subjects answers none of them).
_ASKED_UNITS: list[tuple[re.Pattern, re.Pattern]] = [
    (re.compile(r"第几"), re.compile(r"第[一二三四五六七八九十百千\d]+|\d+\s*[位名]")),  # an ordinal or a rank ("排名…235位")
    # A telephone or hotline asked for is given as its number ("12319城市管理服务热线"), not as the office to call.
    (re.compile(r"(?:电话|热线)(?:号码)?(?:是|为)?(?:多少|几号)|(?:哪个|什么|啥)(?:电话|热线|号码)|(?:咨询|联系|报名|举报|投诉)(?:电话|热线)(?![问说])"),
     re.compile(r"(?<![\d.])\d{5,}(?![\d.])|\d{3,4}[-－—]\d{7,8}")),
    # Money in any currency a bulletin counts in ("出口2.7亿美元", "港币"); "多少万元" asks money too.
    (re.compile(r"多少钱|多少[万亿千百]*(?:美|港|欧)?元|多少港币|多少资金|多少经费|[交缴付收]多少[^，,。？?]{0,4}费|多少[^，,。？?]{0,3}费用?[？?]?$|费用?(?:是|为|要)?多少"),
     re.compile(r"\d[\d.,]*\s*[万亿千百]*(?:美|港|欧)?元|[一二两三四五六七八九十百千万亿]+(?:美|港|欧)?元|港币")),
    # A score ("合格分数线多少分") is given in 分; "多少分钟" asks a duration and "百分之多少" a share.
    (re.compile(r"(?:多少|(?<!哪)几)分(?![钟之])|(?:分数线|分数|得分|满分)[^，,。？?]{0,4}?(?:多少|几)"),
     re.compile(r"\d+(?:\.\d+)?\s*分(?![钟之])|满分")),
    (re.compile(r"多久|多长时间|时长|多少天|(?<!哪)几天|多少年|(?<!哪)几年|(?<!哪)几个月|多少个月|多少小时|几小时|多少分钟"),
     re.compile(r"(?<![\d.])(?!(?:19|20)\d{2}年)[\d一二两三四五六七八九十半每]+(?:个)?(?:年|月|周|天|日|季度|小时|分钟|秒|学期|学年)")),  # 每月: "多久一次"
    (re.compile(r"多少字|几个字|字数"), re.compile(r"\d[\d.]*万?(?:个)?(?:汉)?字|[一二两三四五六七八九十百千万]+(?:个)?(?:汉)?字")),
    # An age bracket ("5岁以下儿童", "0-17岁户籍人口") names whom a figure is about, not an age.
    (re.compile(r"多少岁|几岁|多大年龄|寿命[^，,。？?]{0,4}?多少"), re.compile(r"(?<![\d\-－~～])(?<![\d一二三四五六七八九十][至到])[\d一二三四五六七八九十]+(?:周)?岁(?!以[下上内]|及以[上下]|[至到~～\-－])")),
    (re.compile(r"几成|百分之几|占多少|多大比例|(?:比例|比重|率)[^，,。？?]{0,6}?(?:多少|多大|多高|几)"),
     re.compile(r"\d[\d.]*\s*[%％‰]|[一二三四五六七八九十]成|分之|\d+[:：]\d+|百分点")),
    # A count in a measure word of things ("多少对", "几辆") is given in that word or its kin (个 goes with most):
    # "7.62万人" counts no couples. 项 and 条, which count a list's items, are left out (a list answers them), and
    # so is a word the measure word opens (多少家庭, 多少名额, 多少人民币).
    *(
        # "3700余名"; "轮候户数 7.79 万"; "前一个月", "3个百分点" give a time or a share, not a count of things.
        (re.compile(rf"(?:多少|(?<!哪)几)[万亿千百]?[{asked}](?![庭额单置象民路])"),  # "多少万人" counts people too
         re.compile(rf"[\d一二两三四五六七八九十百千万亿](?:\s*[余多])?\s*[{given}](?!月|小时|工作日|星期|季度|百分点)|[{given}]数"))
        for asked, given in (
            *((kin, kin) for kin in ("人名位个", "对", "只头匹", "户", "辆台架艘座栋套张件个", "所家户个", "篇", "株棵", "吨", "亩", "道题")),
            ("起", "起宗例件"),  # events (火灾多少起) are counted in 起, 宗, 例 or 件 ("调解案件2710例")
        )
    ),
]
# A rate asked ("失业率是多少") is given by its name or its stem and a share ("增长8.9%"), not by another's rate.
_RATE_RE = re.compile(r"[\u4e00-\u9fff]{2}(?:率|强度)")  # "研发经费投入强度" is a share of GDP, a rate of its own
_PLAIN_RATES = frozenset({"比率", "效率", "概率", "频率"})  # words of speech, not the rate of one thing
_SHARE_AFTER = r"[^，。；,;]{0,6}?(?:\d+(?:\.\d+)?\s*[%％‰]|百分之|个百分点)"
# "几点休会" asks the hour; "讲了几点", "几点意见" count a speech's points (a list).
_ASKS_CLOCK_RE = re.compile(r"(?<![讲提谈有分哪了])几点钟?(?![意要建体做经措内原看认启考希说注共])")
_ASKS_TIME_RE = re.compile(r"什么时候|什么时间|何时|哪一?天|几月|几号|哪个月|哪一?年|" + _ASKS_CLOCK_RE.pattern)
_TIME_RE = re.compile(
    r"\d{1,2}月|[一二三四五六七八九十]{1,3}月|[上中下]旬|月[底初末]|年[底初末]|季度|[上下]半年|学期|寒假|暑假|明年|今年|\d{1,2}日"
    r"|[上下]午|晚上|\d{1,2}[时点](?:\d{1,2}分|[正半整])?|\d{1,2}[:：]\d{2}"  # an hour of the day
    r"|自.{0,14}?起(?:施行|实施|执行|生效)"  # a rule's own clause on when it takes effect ("本办法自发布之日起施行")
)
# A place ("在哪里举行") is given as a notice gives it: "地点：…", an address, a venue.
_ASKS_PLACE_RE = re.compile(r"哪里|哪儿|什么地方|何地|什么地点|在哪")
_PLACE_RE = re.compile(r"地点|地址|场所|会场|考场|考点|田径场|体育馆|体育场|(?:路|街|大道)\d+号|校区|大楼|报告厅|礼堂")
# Who delivered or wrote the document ("报告是谁作的") is said at its head: an office, then a name, ending
# the signature line or followed by what the person delivered ("国务院总理李克强关于政府工作的报告").
_ASKS_SPEAKER_RE = re.compile(r"谁(?:作|做|讲|写|起草|发表|签发|主持)|(?:作者|报告人|讲话人|发言人|起草人)是|是谁的(?:讲话|报告)")
_SPEAKER_RE = re.compile(r"(?:区长|市长|省长|县长|州长|旗长|主席|书记|主任|总理|部长|厅长|局长|校长|院长|行政长官)(?:[\u4e00-\u9fff]{2,4}$|[\u4e00-\u9fff]{2,3}(?:关于|所?作))")
# A role ("在单位是什么职务", "是干什么的") is given where the writer or a body's member is named by it: 思想汇报 and
# 述职报告 say "作为一名科员", "本人担任…", rules "主席必须是教授".
# Where one works ("在单位是什么职务") is part of asking the role, not a thing the documents must name.
_ASKS_ROLE_RE = re.compile(
    r"(?:在(?:单位|公司|学校|机关|部门|科室|厂)里?[是干做当任]{0,2})?"
    r"(?:(?:什么|啥|哪个?|何)(?:职务|岗位|职称|职位|职级|身份)|干什么的|做什么工作|是做什么的|担任什么)"
)
_ROLE_RE = re.compile(r"作为一名|身为|担任|现任|任职|职务|职称|科员|科长|处长|局长|主任|教授|讲师|研究员|工程师|干部|经理|会计|秘书")
# "学了哪些党内规章", "按哪个国家标准": which texts are named by their titles, 《…》.
_ASKS_TITLE_RE = re.compile(r"哪(?:些|几?[部份个本项条])(?:党内|国家|行业)?(?:规章|法规|条例|标准|书|书籍|著作|教材|法律|党规)")
_TITLE_RE = re.compile(r"《[^《》]{2,}》")
# "可以…吗", "行不行": whether something is allowed is answered by the rule that allows or forbids it.
_ASKS_RULE_RE = re.compile(
    r"行不行|可不可以|能不能|让不让|准不准|允不允许|是否(?:可以|允许|能|准)|(?:可以|能|准|让|允许)[^，,。？?]{0,12}吗|是不是就?不"
)
_RULE_RE = re.compile(r"不得|禁止|严禁|不准|不允许|不可以?|不能|无效|不提倡|不予|允许|方可|必须|一律|只能|可以")
# Some askings narrow a soft type to what every answer must say: a day asked ("哪天考") is given as a day
# ("7月12日"), an office asked ("哪个部门负责") by an office's name, and any time asked by some word of time
# ("两年内", a year in a table); a sentence with none (the signature line "上饶市公安局政治部") answers none of them.
_ASKS_DAY_RE = re.compile(r"哪一?天|哪一?日|几月几[日号]|几号(?!字)|什么日子|什么日期|具体日期")
_DAY_RE = re.compile(
    r"\d{1,2}\s*月\s*\d{1,2}\s*[日号]|(?<![\d.])\d{1,2}\s*[日号](?![\d字楼])|[一二三四五六七八九十]{1,3}月[一二三四五六七八九十]{1,3}日"
    r"|[上中下]旬|月[底初末]|星期|周[一二三四五六日末]|当天|次日"
)
_ASKS_BODY_RE = re.compile(r"(?:哪个|哪家|哪一个|什么|啥|哪些)(?:部门|单位|机构|机关)")
_BODY_RE = re.compile(r"局|厅|委员会|委|办公室|办事处|政府|中心|机关|部门|单位|机构|(?<![全内外局干西东南北中])部(?![分署])|学院|研究生院|窗口|街道|社区|派出所|法院|检察院|银行|公司|协会|工会|妇联")
# Where to turn ("向哪个部门申请复核", "由哪个单位负责") is said in a sentence of the rule, not by the notice's bare
# signature line, which names only who issued it.
_ASKS_TURN_TO_RE = re.compile(r"(?:向|找|到|去|由|归)(?:哪个|哪家|哪一个|什么|啥)(?:部门|单位|机构|机关)")
_BODY_IN_SENTENCE_RE = re.compile(r"^(?![\u4e00-\u9fff（）()]{2,24}$).*?(?:" + _BODY_RE.pattern + ")")
_TIME_WORD_RE = re.compile(r"\d|[年月日天时期前后内起旬季周早晚]")
# A bound asked ("最少要写多少字", "最多带几个") is given as the rule gives one: a floor ("不得少于3万字",
# "25mm以上") or a ceiling ("不超过5个"); the title's ceiling ("不能超过25个汉字") is no floor of the main text.
_ASKS_FLOOR_RE = re.compile(r"最少|至少|起码|下限")
_FLOOR_RE = re.compile(r"少于|低于|小于|短于|不足|至少|最少|最低|以上|≥|起码")
_ASKS_CEILING_RE = re.compile(r"最多|(?<![降提增达升减调])至多|最长|最高(?:能|可)|上限")
_CEILING_RE = re.compile(r"超过|多于|高于|大于|长于|以内|以下|最多|至多|最高|最长|≤|上限|封顶|限额")
# A year asked ("哪一年建成") is given as a year ("2027年", "明年", "十五五"), not by "前期" or "每天"; a price per
# unit ("每斤多少钱") in that unit ("元/斤", "每斤"), not by a total in 亿元.
_ASKS_YEAR_RE = re.compile(r"哪一?年(?![级度])|什么年份|几几年")
_YEAR_GIVEN_RE = re.compile(r"(?:19|20)\d{2}|[今明去后前]年|年[底内末初]|\d+年|[一二三四五六七八九十两]年[内后]|[十]?[一二三四五六七八九]五")
_PER_UNIT_PRICES = ("斤", "公斤|千克", "吨", "亩", "平方米|平米|㎡", "度|千瓦时", "升", "立方米|方|m³")
# A website asked ("在哪个网站报名") is given by its address or its name ("江西人事考试网"), not by a venue.
_ASKS_SITE_RE = re.compile(r"(?:哪个|哪些|什么|啥|哪)(?:网站|网址|网页|官网)|网址(?:是|为)?(?:多少|什么|啥)")
_SITE_RE = re.compile(r"https?://|www\.|\.(?:cn|com|org|net)\b|网")
_MUST_GIVE = (
    (_ASKS_DAY_RE, _DAY_RE), (_ASKS_BODY_RE, _BODY_RE), (_ASKS_TIME_RE, _TIME_WORD_RE),
    (_ASKS_FLOOR_RE, _FLOOR_RE), (_ASKS_CEILING_RE, _CEILING_RE), (_ASKS_SITE_RE, _SITE_RE),
    (_ASKS_TURN_TO_RE, _BODY_IN_SENTENCE_RE), (_ASKS_YEAR_RE, _YEAR_GIVEN_RE),
    *((re.compile(rf"每(?:{unit})[^，,。？?]{{0,4}}(?:多少|几)"), re.compile(rf"(?:/|每|一)(?:{unit})|(?:{unit})[产均]")) for unit in _PER_UNIT_PRICES),
)
# Said in words as often as not: they rank an answer but never rule one out (beyond _MUST_GIVE).
_SOFT_TYPES = (_TIME_RE, _PLACE_RE, _RULE_RE, _ROLE_RE, _TITLE_RE, _BODY_RE)
_TYPE_BONUS = 0.2
_LEAD_PENALTY = 0.2
# Pairs 公文 and rules keep apart, whose members share most words with each other: a question after one is
# not answered by a sentence or document about another (博士 rules differ from 硕士 rules; 东北师范大学 is
# not 西北师范大学; a 农村 figure stands beside the 城镇 one in the same sentence; an exam's 笔试 rules are
# not its 面试's, nor a 结婚 count a 离婚 one).
_CONTRASTS: tuple[tuple[str, ...], ...] = (
    ("博士", "硕士", "学士", "本科", "专科"),
    ("东北", "西北", "华北", "华东", "华南", "华中", "西南", "东南"),
    ("城镇", "农村"),
    ("上半年", "下半年"),
    ("笔试", "面试"),
    ("男性", "女性"),
    ("结婚", "离婚"),
    # A 放假通知 sets each holiday apart; word embeddings take 清明节 for 春节.
    ("元旦", "春节", "清明", "劳动节", "端午", "中秋", "国庆"),
    # Maternity leave is not paternity leave, whatever a region calls the latter ("|" joins one member's names).
    ("产假", "陪产假|侍产假|护理假"),
)
_HEADING_SHARE = 0.5
# A field line of a notice ("2、地点：…", "时间：…"): its heading says whose field it is.
_FIELD_RE = re.compile(r"^\W*(?:\d{1,2}[、.．]|[（(][一二三四五六七八九十\d]{1,2}[)）])?\s*(?P<label>[\u4e00-\u9fff]{2,6})[：:]")
_FIELD_PENALTY = 0.2
_END_MARKS = "。；;！？!?：:"
_LEAD_MARKS = ("：", ":")  # a line ending in a colon announces what follows
# "还存在差距：一是……。" — a list's first item after the lead's colon, split off so the list can be found.
_COLON_ITEM_RE = re.compile(
    r"(?<=[：:])(?=\s*(?:[一二三四五六七八九十]{1,3}[是要、]|第[一二三四五六七八九十]{1,3}[，,、]|[（(][一二三四五六七八九十\d]{1,3}[）)]|\d{1,2}[.．、]))"
)
# "六保" is an abbreviation of 公文 that the text may spell out only as its items, "保居民就业、保基本民生、…":
# a numeral and the character each item opens with (not a measure word: "四大工程", "三项原则" are named, not spelled).
_ABBREVIATION_RE = re.compile(r"([两二三四五六七八九十])([^\W\d_一二三四五六七八九十两个项条大点种方名位次年月日天周件类批所家人])")
_WIDE = 20  # passages searched offline: the top ones answer, the rest let a list run on to its end
_POINTS_RE = re.compile(r"(?:讲|谈|强调|提)(?:以下|如下)?([几两一二三四五六七八九十\d]+)点")
_PART_LOOKUP = 5  # passages searched for each announced part missing from the answer's passages
_LIST_RUN = 3  # passages after each of the best ones where a list they open may run on
# "几个方面" asks for a list; "几个人", "几个月" ask for a count.
# What one hands in or must meet comes as a list however it is asked ("要交啥材料", "需要什么条件").
_LIST_QUESTION_RE = re.compile(
    r"哪些|哪几|哪[一二三四五六七八九十两]|几(?:[点项条种大方]|个(?![人月年天小]))|分别|包括"
    r"|(?:什么|啥)(?:材料|资料|证件|证明|手续|条件|东西)"
)


@dataclass
class Citation:
    n: int
    source: str
    title: str
    heading: str
    text: str


@dataclass
class Answer:
    answer: str
    mode: str  # "llm" or "extractive"
    query: str
    citations: list[Citation] = field(default_factory=list)

    def to_dict(self) -> dict:
        return asdict(self)


def citation(n: int, hit: Hit) -> Citation:
    s = hit.section
    return Citation(n, s.source, s.title, s.label, s.text)


def validate_history(history: list[dict]) -> list[dict]:
    for turn in history:
        if not isinstance(turn, dict) or turn.get("role") not in ("user", "assistant") or not isinstance(turn.get("content"), str):
            raise BiganError('history must be a list of {"role": "user"|"assistant", "content": "..."}')
    return history


def is_follow_up(question: str) -> bool:
    return len(question.strip()) <= 8 or bool(_FOLLOW_UP_RE.search(question.strip()))


def without_relay(question: str) -> str:
    """The question a clerk passes on ("有个甘肃的家长打电话问，孩子考上本科了…") without who asked and how:
    the words would be sought in the documents. Where the asker is from ("甘肃的") stays: it says which apply."""
    relay = _RELAY_RE.match(question)
    if not relay:
        return question
    whose, _, _ = relay.group("who").rpartition("的")
    return f"{_ASKER_OPENING_RE.sub('', whose)} {question[relay.end():]}".strip()


def standalone_question(question: str, history: list[dict], llm: LLM | None, settings: Settings) -> str:
    """The question with the conversation folded in, so that it retrieves on its own."""
    asked = [h["content"] for h in history if h["role"] == "user"]
    if not asked:
        return question
    if llm is not None:
        transcript = "\n".join(f"{'用户' if h['role'] == 'user' else '助手'}：{h['content'][:300]}" for h in history[-6:])
        rewritten = llm.complete([HumanMessage(render(settings, "rewrite", history=transcript, question=question))])
        return rewritten.strip().splitlines()[0].strip() if rewritten.strip() else question
    if not is_follow_up(question):
        return question
    # Offline: carry the subject of the last self-contained question into this one.
    subject = next((q for q in reversed(asked) if not is_follow_up(q)), asked[-1])
    return f"{subject} {question}"


def directive_score(sentence: str) -> int:
    """How much a sentence reads as speech to the reader or to a model rather than as content."""
    return sum(weight for cue, weight in _DIRECTIVE_CUES if cue.search(sentence))


SearchMany = Callable[[list[str], int], list[list[Hit]]]


@dataclass
class _Sentence:
    text: str
    key: str  # Simplified, no whitespace, no end mark
    hit: int  # index of the passage it comes from
    rank: int  # the best-ranked passage that holds it (a repeated heading is in several)
    doc: str
    order: tuple[int, int]  # (passage position in its document, sentence index in the passage)
    heading: bool
    marker: tuple[str, int] | None


def _sentences(hits: list[Hit]) -> list[_Sentence]:
    """Every sentence of the passages once (a long part split in two repeats its heading line), directives left out."""
    seen: dict[tuple[str, str], _Sentence] = {}
    # In document order, so that a repeated heading is kept where its part begins.
    for n, hit in sorted(enumerate(hits), key=lambda x: (x[1].section.doc_id, x[1].section.position)):
        section = hit.section
        headings = {match_key(h).rstrip(_END_MARKS) for h in section.heading_path}
        clauses = (c for whole in split_sentences_bracketed(section.text) for c in _COLON_ITEM_RE.split(whole))
        for i, sentence in enumerate(clauses):
            key = match_key(sentence).rstrip(_END_MARKS)  # a heading line may end in 。 or not
            if (section.doc_id, key) in seen:
                seen[section.doc_id, key].rank = min(seen[section.doc_id, key].rank, n)
            elif key and directive_score(sentence) < DIRECTIVE_SCORE:
                seen[section.doc_id, key] = _Sentence(
                    sentence.strip(), key, n, n, section.doc_id, (section.position, i), key in headings, item_marker(sentence)
                )
    return list(seen.values())


def _in_context(s: _Sentence, hits: list[Hit]) -> str:
    """The sentence with the title and headings it stands under: "全年地区生产总值完成253.7亿元" is about
    海拉尔区 in 2013 only under 《海拉尔区2014年政府工作报告》 "一、2013年工作回顾"."""
    section = hits[s.rank].section
    return " ".join(dict.fromkeys([section.title, *section.heading_path, s.text]))


def _weights(wanted: set[str], hits: list[Hit]) -> dict[str, float]:
    """Inverse passage frequency of each wanted bigram among the passages: what every passage shares says little."""
    keys = [content_bigrams(h.section.text) for h in hits]
    return {b: math.log(1 + len(keys) / (1 + sum(b in k for k in keys))) for b in wanted}


def _following(pool: list[_Sentence], start: _Sentence) -> list[_Sentence]:
    """The sentences after `start` in its document, as far as the passages at hand run on without a gap."""
    same = sorted((s for s in pool if s.doc == start.doc), key=lambda s: s.order)
    i = same.index(start)
    out = []
    for prev, s in zip(same[i:], same[i + 1 :]):
        if s.order[0] - prev.order[0] > 1:
            break
        out.append(s)
    return out


def _items(pool: list[_Sentence], lead: _Sentence) -> list[_Sentence]:
    """The numbered items (一是…二是…, 一要…, （一）…) of the list `lead` opens, the opening line of each
    (what follows an opening line explains it and is given when that item is asked about)."""
    after = _following(pool, lead)
    # The list starts within a couple of sentences of its lead ("还存在一定差距。一是…").
    first = next((s for s in after[: _LEAD_GAP + 1] if s.marker and s.marker[1] == 1), None)
    if first is None:
        return []
    kind, items = first.marker[0], [first]
    for s in after[after.index(first) + 1 :]:
        if s.marker == (kind, len(items) + 1):
            items.append(s)
        elif s.heading or s.marker == (kind, 1):
            break  # the next part, or another list
    return items if len(items) > 1 else []


def _nth_item(pool: list[_Sentence], hits: list[Hit], lead: _Sentence, n: int, search_many: SearchMany | None) -> list[_Sentence]:
    """The nth item of the list `lead` opens: its opening line and what it says next. An item not among the
    passages is looked up by the document's title, the lead, the first item and the number (retrieval lifts
    the item a query points at); found passages are added to `hits`."""
    first = next((s for s in _following(pool, lead)[: _LEAD_GAP + 1] if s.marker and s.marker[1] == 1), None)
    if first is None:
        return []

    def nth(pool: list[_Sentence]) -> list[_Sentence]:
        later = sorted((s for s in pool if s.doc == lead.doc and s.order >= first.order), key=lambda s: s.order)
        item = next((s for s in later if s.marker == (first.marker[0], n)), None)
        return [item, *_elaboration(pool, item)] if item else []

    found = nth(pool)
    if not found and search_many is not None:
        query = f"{hits[lead.hit].section.title} {lead.text} {first.text} 第{n}点"
        hits.extend(h for h in search_many([query], _PART_LOOKUP)[0] if h.section.doc_id == lead.doc and h not in hits)
        found = nth(_sentences(hits))
    return found


def _part_headings(hits: list[Hit], lead: _Sentence, search_many: SearchMany | None) -> list[tuple[str, int]]:
    """The part headings (一、…二、…) of the lead's document, in order: the items when a speech announces
    "我讲四点意见" and each point is a part of its own. Parts not among the passages are looked up by the
    document's title and the part's number (retrieval lifts the part a question points at); found
    passages are added to `hits`."""
    def collect(found: list[Hit]) -> None:
        for hit in found:
            path = hit.section.heading_path
            marker = item_marker(path[0]) if hit.section.doc_id == lead.doc and path else None
            if marker and marker[0] == "part" and marker[1] not in parts:
                if hit not in hits:
                    hits.append(hit)
                parts[marker[1]] = (path[0].strip(), hits.index(hit))

    parts: dict[int, tuple[str, int]] = {}
    collect(hits)
    announced = _POINTS_RE.search(lead.key)
    count = chinese_numeral(announced.group(1)) if announced else None
    missing = [n for n in range(1, (count or 0) + 1) if n not in parts]
    if missing and search_many is not None:
        title = hits[lead.hit].section.title
        for found in search_many([f"{title} 第{n}部分" for n in missing], _PART_LOOKUP):
            collect(found)
    run = []
    while len(run) + 1 in parts:
        run.append(parts[len(run) + 1])
    return run if len(run) > 1 and (count is None or len(run) == count) else []


def _elaboration(
    pool: list[_Sentence], item: _Sentence, rank: Callable[[_Sentence], float] | None = None
) -> list[_Sentence]:
    """What a numbered item says after its opening line, up to the next item or heading: its first
    sentences, or with `rank` the ones that rank best (in their order)."""
    body = []
    for s in _following(pool, item)[: _ITEM_BODY if rank else _ELABORATION]:
        if s.marker or s.heading or not s.text.endswith(tuple(_END_MARKS)):
            break  # the next item, a heading, or a line that is no sentence (a signature, a date)
        body.append(s)
    if rank:
        body = sorted(sorted(body, key=rank, reverse=True)[:_ELABORATION], key=lambda s: s.order)
    return body


Similarity = Callable[[str, list[str]], list[float]]


@dataclass
class _Match:
    """The sentence that matched the question best: as written, under its title and headings, the share of
    the question's content it holds, and whether it is about the year asked (1), another year (-1) or either (0)."""
    text: str = ""
    context: str = ""
    overlap: float = 0.0
    year_fit: int = 0


def _asked_type(query: str) -> re.Pattern | None:
    """The pattern a sentence that gives what the question asks for (a figure of a kind, a time, a place, a
    speaker, a role, a title, a rule) matches, if it asks for one."""
    plain = to_simplified(query)
    if _ASKS_CLOCK_RE.search(plain):
        return _TIME_RE
    if _ASKS_QUANTITY_RE.search(plain) or any(asks.search(plain) for asks, _ in _ASKED_UNITS):
        return next((gives for asks, gives in _ASKED_UNITS if asks.search(plain)), _QUANTITY_RE)
    if _ASKS_TIME_RE.search(plain):
        return _TIME_RE
    if _ASKS_SPEAKER_RE.search(plain):
        return _SPEAKER_RE
    if _ASKS_BODY_RE.search(plain):
        return _BODY_RE
    if _ASKS_PLACE_RE.search(plain):
        return _PLACE_RE
    if _ASKS_ROLE_RE.search(plain):
        return _ROLE_RE
    if _ASKS_TITLE_RE.search(plain):
        return _TITLE_RE
    return _RULE_RE if _ASKS_RULE_RE.search(plain) else None


def _is_figure(asks: re.Pattern | None) -> bool:
    """Whether what is asked (_asked_type) is a figure, which an answer must give, not a soft type it may say in words."""
    return asks is not None and asks not in _SOFT_TYPES


def _asks_list(query: str) -> bool:
    """Whether the question asks for a list or for one item of one ("第六条是什么")."""
    return bool(_LIST_QUESTION_RE.search(_ASKS_CLOCK_RE.sub("", query))) or _ordinal(query) is not None


def _spelled_out(query: str) -> dict[str, re.Pattern]:
    """The abbreviations the question names ("六保"), each with the pattern of a text that spells it out."""
    spelled = {}
    for m in _ABBREVIATION_RE.finditer(to_simplified(query)):
        n, head = chinese_numeral(m.group(1).replace("两", "二")), re.escape(m.group(2))
        item = rf"{head}[^、，。；：{head}]{{1,10}}"
        spelled[m.group(0)] = re.compile(rf"{item}(?:[、和及与]{item}){{{n - 1}}}")
    return spelled


def _document_bigrams(section: Section) -> set[str]:
    return content_bigrams(f"{section.title} {Path(section.source).stem}")


@dataclass
class _Years:
    """The years a question names: of what it asks about, and of the document it names ("2016年政府工作报告中…")."""
    data: set[str]
    documents: set[str]


def _asked_years(query: str) -> _Years:
    """Not a year the question compares with ("较2010年下降多少"); a year naming a document is the document's,
    not the figures' (a 2016 report gives 2015's)."""
    plain = to_simplified(query)
    documents = set(_DOCUMENT_YEAR_RE.findall(plain))
    return _Years(set(_OWN_YEAR_RE.findall(plain)) - documents, documents)


def _year_fit(s: _Sentence, hits: list[Hit], years: _Years) -> int:
    """1 when the sentence, its headings or its document name a year asked about, -1 when they name only
    other years or the document is not of the year the question names it by, 0 when no year is named."""
    section = hits[s.rank].section
    document = f"{section.title} {section.source}"
    of = set(_TITLE_YEAR_RE.findall(document))
    if years.documents and of:
        if not years.documents & of:
            return -1  # a document of another year (one whose name gives no year may be of any)
        if not years.data:
            return 1
    if not years.data:
        return 0
    # A year in a document cited (《2012年〈竞争条例〉公告》, "2012年第177号法律公告" read in 2013) is not the year reported.
    named = set(_OWN_YEAR_RE.findall(_CITED_RE.sub("", s.key + "".join(map(match_key, section.heading_path)))))
    if named:
        return 1 if named & years.data else -1
    if REVIEWS_LAST_YEAR in document:
        of |= {str(int(y) - 1) for y in of}
    return (1 if of & years.data else -1) if of else 0


def _firsts(hits: list[Hit]) -> set[int]:
    """The passages each retriever (dense, BM25) ranks first among the hits. Fusion pushes down a passage only
    one of them finds — "12319城市管理服务热线" for "城管热线" (BM25 first, dense 48th), "四周留足空白边缘" for
    "页边距" (dense first, no shared word)."""
    return {
        min(ranked, key=lambda i: ranks[i])
        for ranks in ([h.dense_rank for h in hits], [h.bm25_rank for h in hits])
        if (ranked := [i for i, r in enumerate(ranks) if r is not None])
    }


def _answering(hits: list[Hit]) -> set[int]:
    """The passages whose sentences may answer: the first few by the fused score, and each retriever's first."""
    return set(range(_EXTRACT_PASSAGES)) | _firsts(hits)


def _select(
    query: str, hits: list[Hit], search_many: SearchMany | None = None, similarity: Similarity | None = None
) -> tuple[list[tuple[str, int]], bool, _Match]:
    """The answer as (sentence, passage index) units, whether they form a list, and the sentence that matched best.
    `search_many` looks up parts of a document the passages lack (their hits are appended to `hits`);
    `similarity` (question, sentences) → cosines ranks by meaning too where the question is in other words."""
    years = _asked_years(query)
    # The year is matched as a year below, not as characters any figure may share.
    asked_words = content_bigrams(_YEAR_RE.sub("", _QUESTION_WORDS_RE.sub("", query)))
    synonyms = synonyms_in(query)
    wanted = asked_words.union(*map(content_bigrams, synonyms))
    pool = _sentences(hits)
    if not wanted or not pool:
        return [], False, _Match()
    weights = _weights(wanted, hits)
    total = sum(weights.values())
    top = hits[0].score or 1.0
    asks = _asked_type(query)
    figure = _is_figure(asks)
    spelled = _spelled_out(query)

    def spells_out(key: str) -> list[str]:
        return [a for a, pattern in spelled.items() if pattern.search(key)]

    def held(text: str) -> set[str]:
        """The wanted bigrams a text holds: the question's, a synonym's only where the text holds it whole
        ("学术不端" for 查重 is not said by "学术期刊"), and an abbreviation's where the text spells it out."""
        key = match_key(text)
        return (asked_words & content_bigrams(text)).union(
            *(content_bigrams(w) for w in synonyms if w in key), *map(content_bigrams, spells_out(key))
        )

    def overlap(s: _Sentence) -> float:
        return sum(weights[b] for b in held(s.text)) / total

    def own_overlap(s: _Sentence) -> float:
        """The overlap less the words that name the sentence's document: they chose the document, and inside
        it they match whichever sentence cites the document's own name (《武汉大学本科生毕业论文评阅表》)."""
        section = hits[s.rank].section
        asked = wanted - _document_bigrams(section)
        own = asked & held(s.text)
        # Words of the headings it stands under count for less: "地点：…" answers where under "一、体能测试的时间和地点".
        under = (asked - own) & held(" ".join(section.heading_path))
        return (sum(weights[b] for b in own) + _HEADING_SHARE * sum(weights[b] for b in under)) / total

    # "第六条是什么" asks for one item of a list: the list is found as for a list question, then the item is given.
    nth = _ordinal(query)
    asks_list = _asks_list(query)
    # Retrieval lifts the item an ordinal question points at ("六是…"), which can push the list's lead down:
    # its lead is looked for among all the passages.
    answering = _answering(hits)
    window = set(range(_WIDE)) if nth else answering
    # A speaker is named by the signature line at the head of the document, whichever passage ranks first.
    signatures = [s for s in pool if hits[s.rank].section.position == 0 and asks.search(s.key)] if asks is _SPEAKER_RE else []
    # A sentence may answer in other words than the question's ("出栏生猪" for "卖出去的肥猪") where it gives
    # what is asked for (a figure, a time) or nothing in particular is asked; meaning ranks the candidates
    # beside their words. A list question names its lead's words and needs no help.
    # A sentence under the other member of a pair (本科 rules where 硕士 is asked) is no answer, however close.
    candidates = signatures or [
        s for s in pool
        if s.rank in window and (overlap(s) or asks is None or asks.search(s.key))
        and not _contradicts(query, hits[s.rank].section.title + s.text)
    ]
    # A role asked is answered by a sentence that names one, however few of the question's words it shares.
    if asks is _ROLE_RE:
        candidates = [s for s in candidates if asks.search(s.key)] or candidates
    if not candidates:
        return [], False, _Match()
    guess = similarity and not asks_list
    cosines = dict(zip(map(id, candidates), similarity(query, [s.text for s in candidates]))) if guess else {}
    best_cosine = max(cosines.values(), default=0.0)

    def off_heading(s: _Sentence) -> float:
        """The share of a field line's heading words that neither the question, the document's name nor the
        line says: under "二、领取体能测试准考证的时间和地点", "地点：…" is where to collect a ticket, not
        where the test is that "体能测试在哪里" asks."""
        section = hits[s.rank].section
        heading = content_bigrams(section.heading_path[-1])
        said = wanted | _document_bigrams(section) | content_bigrams(s.text)
        return len(heading - said) / len(heading) if heading else 0.0

    # Field lines of one label under several headings ("地点：…" under 一、 and under 二、): the heading that
    # says least that the question does not ask decides.
    fields: dict[str, list[tuple[_Sentence, float]]] = {}
    for s in candidates:
        if (field := _FIELD_RE.match(s.text)) and hits[s.rank].section.heading_path:
            fields.setdefault(field.group("label"), []).append((s, off_heading(s)))
    off = {id(s): share - min(x for _, x in group) for group in fields.values() for s, share in group}

    def score(s: _Sentence) -> float:
        # "哪六保" asks for the items themselves: the sentence that spells them out, not one that names them.
        typed = _TYPE_BONUS if (asks and asks.search(s.key)) or spells_out(s.key) else 0.0
        # "具体安排如下：" announces what follows and answers no question but a list question.
        lead = _LEAD_PENALTY if not asks_list and s.text.endswith(_LEAD_MARKS) else 0.0
        return (
            own_overlap(s) + _RANK_PRIOR * max(hits[s.rank].score, 0.0) / top + _YEAR_BONUS * _year_fit(s, hits, years)
            + typed - lead - _FIELD_PENALTY * off.get(id(s), 0.0)
        )

    def meaning(s: _Sentence) -> float:
        return _COSINE_WEIGHT * (cosines[id(s)] - best_cosine) if id(s) in cosines else 0.0

    # Ordered by words and meaning together; the thresholds below read the word score alone.
    scores = {id(s): score(s) for s in candidates}
    ranked = sorted(candidates, key=lambda s: -(scores[id(s)] + meaning(s)))

    def match(s: _Sentence) -> _Match:
        return _Match(s.text, _in_context(s, hits), overlap(s), _year_fit(s, hits, years))

    # "第六条是什么": the sixth item of the list that one of the best-matching sentences opens.
    for lead in ranked[:_EXTRACT_PASSAGES] if nth else []:
        if scores[id(lead)] < max(_EXTRACT_KEEP * scores[id(ranked[0])], _EXTRACT_MIN_OVERLAP):
            break
        if item := _nth_item(pool, hits, lead, nth, search_many):
            return [(s.text, s.hit) for s in item], False, match(lead)
    # Past the ordinal's lookup its wider window closes again (a signature line may come from any rank).
    scored = [(scores[id(s)], s) for s in ranked if s.rank in answering or not nth]
    # A plain sentence that does not give the figure asked is no answer (_answers): the best one that does is
    # ("江西外办外语口试多久": "时间约15分钟" follows the sentence on where the test is held).
    plain = scored and not (asks_list or scored[0][1].heading or scored[0][1].marker or scored[0][1].text.endswith(_LEAD_MARKS))
    if plain and figure and not asks.search(scored[0][1].key):
        scored.sort(key=lambda x: not asks.search(x[1].key))  # stable: the order by words and meaning stays within each
    if not scored or scored[0][0] < _EXTRACT_MIN_OVERLAP:
        return [], False, _Match()
    best_score, best = scored[0]

    def list_of(s: _Sentence) -> list[_Sentence]:
        """The items of the list the sentence opens, if it opens one (an item's opening line opens a list of
        its own only when it ends in a colon: "（五）……的材料：" then 1. 2. 3.)."""
        return _items(pool, s) if s.heading or not s.marker or s.text.endswith(_LEAD_MARKS) else []

    # A list question is answered by the best sentence that opens a list where the best of all opens none
    # ("为民实事有哪些": the line after the list that names it ranks above the list's lead); "评阅人有几个"
    # asks a figure, which the best sentence gives ("评阅人为2人").
    if asks_list and not nth and not figure and not list_of(best):
        best = next((s for sc, s in scored[1:_EXTRACT_PASSAGES] if sc >= _EXTRACT_KEEP * best_score and list_of(s)), best)
    matched = match(best)
    leads = best.text.endswith(_LEAD_MARKS)
    if best.heading or asks_list or leads:
        items = list_of(best)
        if items:
            lead = [s for s in [best, *_following(pool, best)] if s.order < items[0].order and not s.heading]
            return [(s.text, s.hit) for s in lead + items], True, matched
    if asks_list:
        # "下面，我讲四点意见。": each point is a part of the speech, and the part headings are the answer.
        paragraph = [best, *(s for s in _following(pool, best)[:_ANNOUNCE_GAP] if s.order[0] == best.order[0])]
        announced = next((s for s in paragraph if _POINTS_RE.search(s.key)), None)
        parts = _part_headings(hits, announced, search_many) if announced else []
        if parts:
            return [(announced.text, announced.hit)] + parts, True, matched
    if best.heading or best.marker:
        # A heading or an item's opening line names what follows; the answer is what it goes on to say.
        # A numbered item the splitter filed as a heading ("3、须提供……照片。") still answers when it ends like a
        # sentence, or gives the figure asked ("(7) 最新的資助房屋入息限額訂在每月4萬元，…").
        says = not best.heading or best.text.endswith(("。", "！", "？")) or (figure and bool(asks.search(best.key)))
        own = [best] if says else []
        # The item's sentences that speak to the question ("对敷衍了事……的单位，要启动问责程序" under "一要用硬功").
        body = _elaboration(pool, best, lambda s: score(s) + meaning(s))
        if body or own:
            return [(s.text, s.hit) for s in own + body], False, matched
    # Further sentences only from the same document (a second source's near miss reads as a non sequitur)
    # and sharing a word with the question beyond the document's name (a neighbour scores by its passage
    # alone; "立法会─2013年1月16日" page lines share only the name).
    chosen = [best] + [
        s for sc, s in scored[1:]
        if sc >= _EXTRACT_KEEP * best_score and not s.heading and s.doc == best.doc and own_overlap(s)
    ][: _EXTRACT_SENTENCES - 1]
    chosen.sort(key=lambda s: (s.hit, s.order))
    return [(s.text, s.hit) for s in chosen], False, matched


def _render(units: list[tuple[str, int]], hits: list[Hit], as_list: bool, traditional: bool | None) -> tuple[str, list[Citation]]:
    """Units with citation marks numbered from [1] in order of first use, in the asker's script when given."""
    numbers: dict[int, int] = {}
    pieces = []
    for i, (text, hit) in enumerate(units):
        n = numbers.setdefault(hit, len(numbers) + 1)
        if traditional is not None:
            text = to_traditional(text) if traditional else to_simplified(text)
        last_of_run = as_list or i + 1 == len(units) or units[i + 1][1] != hit
        pieces.append(text + (f"[{n}]" if last_of_run else ""))
    cited = [citation(n, hits[hit]) for hit, n in numbers.items()]
    return ("\n" if as_list else "").join(pieces), cited


def extractive_answer(query: str, hits: list[Hit], traditional: bool | None = None) -> tuple[str, list[Citation]]:
    """The sentences of the passages that answer the query, each cited; for a list, its items one a line.
    `traditional` converts the answer to that script (citations keep the passages as written)."""
    units, as_list, _ = _select(query, hits)
    if not units:
        return NOT_FOUND, []
    return _render(units, hits, as_list, traditional)


def matched_sentences(passage: str, answer: str, threshold: float = 0.5) -> list[tuple[str, bool]]:
    """The passage cut into sentences, each flagged when the answer took from it (shared content bigrams)."""
    said = content_bigrams(_CITATION_RE.sub("", answer))
    out = []
    for sentence in split_sentences(passage):
        own = content_bigrams(sentence)
        out.append((sentence, bool(own) and len(own & said) / len(own) >= threshold))
    return out


def _keep_given_citations(text: str, given: int) -> tuple[str, list[int]]:
    """Drop citation marks that point at no given passage; return the text and the numbers cited."""
    cited: list[int] = []

    def check(match: re.Match) -> str:
        n = int(match.group(1))
        if 1 <= n <= given:
            if n not in cited:
                cited.append(n)
            return match.group(0)
        return ""

    return _CITATION_RE.sub(check, text), sorted(cited)


def _ordinal(question: str) -> int | None:
    """N when the question asks after the Nth point of what was just said ("那第二条呢？")."""
    m = _ORDINAL_RE.search(to_simplified(question))
    return chinese_numeral(m.group(1)) if m else None


def _said_items(answer: str) -> list[str]:
    """The points of an answer: its numbered lines, else the parts of its first enumeration (A、B和C)."""
    plain = _CITATION_RE.sub("", answer)
    lines = [line.strip() for line in plain.splitlines() if item_marker(line)]
    if len(lines) > 1:
        return lines
    first = split_sentences(plain)[0] if plain.strip() else ""
    parts = [p for p in re.split(r"[、，,；;]|以及|和|及", first) if len(match_key(p)) >= 2]
    return parts if len(parts) > 2 else []


def _item_answer(item: str, hits: list[Hit]) -> list[tuple[str, int]]:
    """The item as the passages word it, with what they say about it next."""
    wanted = content_bigrams(item)
    pool = _sentences(hits)
    if not wanted or not pool:
        return []
    share, found = max(((len(wanted & content_bigrams(s.text)) / len(wanted), s) for s in pool), key=lambda x: (x[0], bool(x[1].marker)))
    if share < _ITEM_MATCH:
        return []
    return [(s.text, s.hit) for s in [found, *_elaboration(pool, found)]]


def _answer_offline(
    question: str, history: list[dict], searcher: Searcher, settings: Settings
) -> tuple[str, str, list[Citation]]:
    """The extractive answer: (query, text, citations)."""
    traditional = is_traditional(question)
    question = arabic_years(without_relay(question))
    n = _ordinal(question)
    said = next((h["content"] for h in reversed(history) if h["role"] == "assistant"), "")
    items = _said_items(said) if n and said else []
    if n and 1 <= n <= len(items):
        asked = [h["content"] for h in history if h["role"] == "user"]
        subject = next((q for q in reversed(asked) if not is_follow_up(q)), asked[-1] if asked else "")
        item = strip_item_marker(items[n - 1])
        query = f"{subject} {item}".strip()
        hits = searcher.search(query, max(settings.answer_passages, _WIDE))
        units = _item_answer(items[n - 1], hits)
        if units:
            text, cited = _render(units, hits, False, traditional)
            return query, text, cited
    query = standalone_question(question, history, None, settings)
    hits = _search(searcher, expand_synonyms(query), max(settings.answer_passages, _WIDE), settings.candidates)
    # A question that names one document is answered from it or not at all: another document's answer misleads.
    # One that names a place or school is not answered from another's documents.
    named = searcher.names.named(to_simplified(query))
    foreign = searcher.names.foreign(to_simplified(query))
    found = [h for h in hits if h.section.doc_id == named] if named else [h for h in hits if h.section.doc_id not in foreign]
    if _asked_type(query) is _SPEAKER_RE:
        found = found + _openings(searcher, found)
    found = _spelling_out(searcher, found, _spelled_out(query))
    if _asks_list(query):
        found = found + _next_passages(searcher, found)
    asked = searcher.embedder.encode_queries([query])[0]  # once, for choosing the sentence and for judging it
    units, as_list, matched = _select(query, found, searcher.search_many, _similarity(searcher, asked)) if found else ([], False, _Match())
    if (
        not units or not _answers(query, units, matched, found, as_list) or _owner_unheld(searcher, query, found)
        or not _relevant(searcher, query, asked, matched, found)
    ):
        return query, _not_found(hits, traditional), []
    text, cited = _render(units, found, as_list, traditional)
    return query, text, cited


def _search(searcher: Searcher, query: str, k: int, depth: int) -> list[Hit]:
    """The first k passages by the fused score, then each retriever's first where fusion put it lower
    ("四周留足空白边缘" for "页边距": dense first, no word for BM25, fused 23rd)."""
    hits = searcher.search(query, depth)
    return hits[:k] + [hits[i] for i in sorted(_firsts(hits)) if i >= k]


def _openings(searcher: Searcher, hits: list[Hit]) -> list[Hit]:
    """The first passage of each document among the hits that the hits lack (where a speaker is named)."""
    have = {h.section.doc_id for h in hits if h.section.position == 0}
    docs = [d for d in dict.fromkeys(h.section.doc_id for h in hits) if d not in have]
    return [Hit(sections[0], 0.0) for d in docs if (sections := searcher.kb.document_sections(d))]


def _next_passages(searcher: Searcher, hits: list[Hit]) -> list[Hit]:
    """The few passages after each of the best ones that the hits lack: a list's lead ("持续办好为民实事。") may
    end a passage and its items, which the splitter cuts at 一是…, run on through the next ones without a word
    of the question."""
    have = {(h.section.doc_id, h.section.position) for h in hits}
    documents: dict[str, dict[int, Section]] = {}
    out = []
    for hit in hits[:_EXTRACT_PASSAGES]:
        doc = hit.section.doc_id
        if doc not in documents:  # read once per document
            documents[doc] = {s.position: s for s in searcher.kb.document_sections(doc)}
        sections = documents[doc]
        for position in range(hit.section.position + 1, hit.section.position + 1 + _LIST_RUN):
            if (doc, position) not in have and position in sections:
                out.append(Hit(sections[position], 0.0))
                have.add((doc, position))
    return out


def _spelling_out(searcher: Searcher, hits: list[Hit], spelled: dict[str, re.Pattern]) -> list[Hit]:
    """The hits with the passage of their top documents that spells out an abbreviation the question names
    moved up behind the first, where no passage that may answer does: "六保是哪六保" shares no word with
    "保居民就业、保基本民生、…" for retrieval to find it by."""
    def spells(section: Section) -> bool:
        return any(p.search(match_key(section.text)) for p in spelled.values())

    top = hits[:_EXTRACT_PASSAGES]
    if not spelled or any(spells(h.section) for h in top):
        return hits
    docs = dict.fromkeys(h.section.doc_id for h in top)
    spelling = next((s for d in docs for s in searcher.kb.document_sections(d) if spells(s)), None)
    if spelling is None:
        return hits
    rest = [h for h in hits[1:] if (h.section.doc_id, h.section.position) != (spelling.doc_id, spelling.position)]
    return [hits[0], Hit(spelling, hits[0].score), *rest]


def _similarity(searcher: Searcher, asked: np.ndarray) -> Similarity:
    """Cosines of the sentences to the question already embedded as `asked`."""
    def cosines(question: str, sentences: list[str]) -> list[float]:
        return (searcher.embedder.encode_documents(sentences) @ asked).tolist()

    return cosines


def _contradicts(query: str, said: str) -> bool:
    """Whether `said` speaks of the other member of a pair the genre sets apart and not of the one asked."""
    plain, said = to_simplified(query), match_key(said)
    for members in _CONTRASTS:
        asked, spoken = _named(members, plain), _named(members, said)
        if asked and spoken and not asked & spoken:
            return True
    return False


def _named(members: tuple[str, ...], text: str) -> set[str]:
    """The members of a contrast set the text names, by any of a member's names; a name inside a longer one
    (产假 in 侍产假) is not named by it."""
    names = sorted(((name, m) for m in members for name in m.split("|")), key=lambda x: -len(x[0]))
    found: set[str] = set()
    for name, member in names:
        if name in text:
            found.add(member)
            text = text.replace(name, " ")
    return found


def _answers(query: str, units: list[tuple[str, int]], matched: _Match, hits: list[Hit], as_list: bool = False) -> bool:
    """Whether the answer is of the kind asked: not about another year than the one asked ("2023年…" where
    the KB reports 2022), nor about the other member of a pair the genre sets apart (博士 asked, 硕士
    answered), saying the day, office, time, bound or website asked for (_MUST_GIVE), and giving a figure of
    the kind asked where a figure is asked ("报名费是多少钱" answered by a sentence on the exam's two subjects is no answer,
    nor "多少" by a document number or a date); a time or place asked may otherwise be answered in words.
    The figure must come from the sentence that matched best where that sentence is the answer and not the
    lead of a list: a neighbour added for its shared words ("城镇化率为58.02%" beside 新增就业 for
    "失业率是多少") does not make it an answer."""
    if matched.year_fit < 0:
        return False
    if _contradicts(query, "".join(f"{hits[hit].section.title}{text}" for text, hit in units)):
        return False
    plain = to_simplified(query)
    said = [match_key(text) for text, _ in units]
    named_own = [_CITED_NAME_RE.sub(" ", key) for key in said]
    if any(asking.search(plain) and not any(gives.search(key) for key in named_own) for asking, gives in _MUST_GIVE):
        return False
    asks = _asked_type(query)
    if not _is_figure(asks):
        return True
    keys = [match_key(matched.text)] if not as_list and any(text == matched.text for text, _ in units) else said
    if asks is _QUANTITY_RE and not _ASKS_TIME_RE.search(plain):
        keys = [_NOT_A_FIGURE_RE.sub(" ", key) for key in keys]
    rate = _asked_rate(query)
    return any(asks.search(key) and (not rate or _states_rate(rate, key)) for key in keys)


def _asked_rate(query: str) -> str | None:
    """The rate a question asks the figure of ("城镇登记失业率是多少" -> "失业率"): the shortest word that ends in 率
    ("增值税率" is a 税率), else the two characters before 率 or 强度 (jieba leaves "重复率" as 重复 + 率, and
    "投入强度" as 投入 + 强度)."""
    plain = to_simplified(query)
    words = sorted((w for w in tokenize(plain) if len(w) > 1 and w.endswith("率")), key=len)
    if words:
        return None if words[0] in _PLAIN_RATES else words[0]
    found = _RATE_RE.search(plain)
    return found.group(0) if found and found.group(0) not in _PLAIN_RATES else None


def _states_rate(rate: str, text: str) -> bool:
    """Whether the text gives that rate: by name, by a plain word's 公文 term ("近视率" as 视力不良率), or as its stem
    and a share ("增长率" as "增长8.9%"). A rate of another thing (城镇化率 for 失业率) is no answer."""
    suffix = "强度" if rate.endswith("强度") else "率"
    stem = rate[: -len(suffix)]
    names = (stem, *SYNONYMS.get(stem, ()))
    return any(f"{name}{suffix}" in text for name in names) or bool(re.search(re.escape(stem) + _SHARE_AFTER, text))


def _relevant(searcher: Searcher, query: str, asked: np.ndarray, matched: _Match, hits: list[Hit]) -> bool:
    """Whether the sentence that matched the question best answers it: not where the question names in full
    a place or body no passage holds, else as the fitted gate weighs it."""
    unseen = _unseen_words(query, hits)
    return not _names_missing(query, unseen) and _gate_odds(_gate_features(searcher, query, asked, matched, hits, unseen)) >= 0.0


def _names_missing(query: str, unseen: list[str]) -> bool:
    """Whether the question names in full a place or body that no passage holds ("兰州市" where the KB has
    宜春's bulletin): the KB does not cover it, however close the rest of the question comes."""
    return bool(proper_names(to_simplified(query)) & set(unseen))


def _owner_unheld(searcher: Searcher, query: str, hits: list[Hit]) -> bool:
    """Whether the question names a place or school the KB has documents of that no passage names: the passages
    found are another's ("宜春学院…" answered from a list of other schools)."""
    return bool(searcher.names.unheld_owners(to_simplified(query), _passages_key(hits)))


def _passages_key(hits: list[Hit]) -> str:
    """All the passages, with their titles and file names, in the form words are matched in."""
    return "".join(match_key(f"{h.section.title}{h.section.source}{h.section.text}") for h in hits)


def _gate_odds(features: dict[str, float]) -> float:
    """The gate's log-odds that the sentence answers (≥ 0: answer), as weighted in gate.json."""
    return _GATE["intercept"] + sum(w * features[name] for name, w in _GATE["weights"].items())


def _gate_features(
    searcher: Searcher, query: str, asked: np.ndarray, matched: _Match, hits: list[Hit], unseen: list[str]
) -> dict[str, float]:
    """What the gate reads. The fused retrieval score is normalised per query and cannot tell an off-topic
    question from a real one; the raw cosine of question and sentence (alone or under its title and headings,
    the closer) can, with the share of the question's content the sentence holds and whether dense and BM25
    retrieval agree on the top passage. Against them: the question's content words no passage holds (`unseen`:
    "任期" where the KB never speaks of terms of office), counted by how the answer says them — in a word of its
    own ("城里" by 城镇: near-synonyms), only in a part of one ("工作" is no echo of "工作餐"), or not at all —
    and the things asked by their dictionary name (引体向上, 生产总值) or acronym (GDP) that it does not say."""
    sentence, overlap = matched.text, matched.overlap
    # A year the sentence was found to report ("过去一年" in the 2012 report for "2011年") is not missing.
    if matched.year_fit > 0:
        unseen = [w for w in unseen if not _TITLE_YEAR_RE.fullmatch(w)]
    read = searcher.embedder.encode_documents([sentence, matched.context] if overlap else [sentence])
    cosine = float((read @ asked).max())
    whole, parts = _echoes(searcher, unseen, matched.context)
    said = [w >= _ECHO for w in whole]
    by_part = [not s and p >= _ECHO for s, p in zip(said, parts)]
    top = hits[0]
    return {
        "cosine": cosine,
        "overlap": overlap,
        "echoed": min(sum(said), _CAP),
        "echoed_by_part": min(sum(by_part), _CAP),
        "unechoed": min(sum(p < _ECHO for p in parts), _CAP),
        "unechoed_terms": min(sum(p < _ECHO and is_term(w) for w, p in zip(unseen, parts)), _CAP),
        # A sentence not close in meaning that leaves a word unsaid ("火星基地" met by a 红色教育基地): a linear
        # weighing of the two apart lets either pass alone.
        "far_and_missing": float(cosine < _FAR and not all(said)),
        "figure_asked": float(_is_figure(_asked_type(query))),
        "ranks_agree": float(max(top.dense_rank or _WIDE, top.bm25_rank or _WIDE) <= _AGREE_RANK),
        "log_dense_rank": math.log(top.dense_rank or _WIDE),
        "log_bm25_rank": math.log(top.bm25_rank or _WIDE),
        "year_fit": float(matched.year_fit),
    }


def _unseen_words(query: str, hits: list[Hit]) -> list[str]:
    """Content words of the question that no passage (title, file name or text) holds; a short form
    counts as held when the passages spell it out ("GDP" as 地区生产总值), and a word a longer unseen
    word contains is not counted twice, nor one a longer held word contains."""
    text = _passages_key(hits)
    # "什么职务" asks for a role, "哪个国家标准" for a title, as "多少" asks for a figure: the words are the
    # asking, not a thing the KB must hold.
    asked = match_key(query)
    for asking in (_ASKS_ROLE_RE, _ASKS_TITLE_RE, _QUESTION_WORDS_RE, _ASKING_WORDS_RE):
        asked = asking.sub(" ", asked)
    # The year stays a word of its own: "2019年考警察" would otherwise give "年考".
    # Words of everyday speech ("希望", "开始") say how the question is put, not what the KB must hold, and
    # a piece of segmentation ("改要" of 棚改要完成) is no word at all.
    # A figure put roughly in words ("八十多了") tells the asker's case, not a word the passages must hold.
    asked = _ROUGH_FIGURE_RE.sub(" ", asked)
    tokens = [w for w in tokenize(_YEAR_RE.sub(r"\1 ", asked)) if len(w) > 1 and not is_everyday(w) and not is_fragment(w)]
    held = {w for w in tokens if w.lower() in text.lower() or any(full in text for full in SYNONYMS.get(w.upper(), ()))}
    # Nor is a part of a word the passages hold in other terms ("男女" of 男女比例, said as 性别比), nor a held
    # word with one character put before it ("手指甲" where they say 指甲, "新开通" where 开通: a Chinese
    # compound ends in its head, so 商品房 is not said by 商品).
    held |= {w for w in tokens if w[1:] in held}
    # A household named by what it gets ("低保户", "困难户") where the passages say 低保家庭: 户 is the head.
    held |= {w for w in tokens if w.endswith("户") and w[:-1] in text}
    words = [w for w in tokens if w not in held and not any(w in h for h in held)]
    return [w for w in words if not any(w != other and w in other for other in words)]


def _echoes(searcher: Searcher, words: list[str], answer: str) -> tuple[list[float], list[float]]:
    """How closely the answer says each word in other terms: the best cosine of its embedding to a word of the
    answer that is not part of it, and to any word of the answer (a part included). Word embeddings above
    _ECHO are near-synonyms ("城里" and "城镇", "肥猪" and "生猪"); a sibling term ("仰卧起坐" beside "纵跳摸高")
    stays below."""
    own = [w for w in dict.fromkeys(tokenize(match_key(answer))) if len(w) > 1 and not any(c.isdigit() for c in w)]
    if not words or not own:
        return [0.0] * len(words), [0.0] * len(words)
    vectors = searcher.embedder.encode_documents(words + own)
    echoes = vectors[: len(words)] @ vectors[len(words) :].T
    whole = [max((float(e) for o, e in zip(own, row) if o not in w), default=0.0) for w, row in zip(words, echoes)]
    return whole, [float(row.max()) for row in echoes]


def _not_found(hits: list[Hit], traditional: bool) -> str:
    """NOT_FOUND and the titles of the documents that came nearest, all in the asker's script (the titles are
    named here, not cited: the sources panel keeps them as written)."""
    titles = list(dict.fromkeys(h.section.title for h in hits))[:_NEAREST_DOCUMENTS]
    said = (NOT_FOUND + "最接近的文档：" + "、".join(f"《{t}》" for t in titles) + "。") if titles else NOT_FOUND
    return to_traditional(said) if traditional else to_simplified(said)


def ask_stream(
    question: str, history: list[dict], searcher: Searcher, settings: Settings, llm: LLM | None
) -> Iterator[str | Answer]:
    """Yield the answer's text piece by piece, then the finished Answer."""
    question = question.strip()
    if not question:
        raise BiganError("the question is empty")
    history = validate_history(history)
    if llm is None:
        query, text, citations = _answer_offline(question, history, searcher, settings)
        yield text
        yield Answer(text, "extractive", query, citations)
        return
    query = arabic_years(standalone_question(question, history, llm, settings))
    hits = searcher.search(query, settings.answer_passages)

    fence = new_fence()
    system = system_message(settings, "qa_system", fence=fence)
    question_only = HumanMessage(render(settings, "qa_user", passages="", question=question))
    packed = pack(settings, [system, question_only], hits, history, "passage", fence)
    user = HumanMessage(render(settings, "qa_user", passages="\n\n".join(packed.blocks), question=question))
    pieces = []
    for piece in llm.stream([system, *history_messages(packed.history), user]):
        pieces.append(piece)
        yield piece
    text, cited = _keep_given_citations("".join(pieces), len(packed.hits))
    yield Answer(text.strip(), "llm", query, [citation(n, packed.hits[n - 1]) for n in cited])


def ask(question: str, history: list[dict], searcher: Searcher, settings: Settings, llm: LLM | None) -> Answer:
    *_, answer = ask_stream(question, history, searcher, settings, llm)
    return answer
