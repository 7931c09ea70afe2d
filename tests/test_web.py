"""End to end in a real browser: Debian's chromium driven by Playwright, against `bigan serve` on 127.0.0.1.

Two app processes: one offline, one answering through the loopback LLM stub. Screenshots of every
page go to tests/artifacts/. The page is checked as a person meets it on a laptop (1366×768, a
browser set to English): Chinese only, the question box in view, a chat that behaves like one.
"""
from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

import pytest
from docx import Document
from docx.shared import Pt
from playwright.sync_api import Page, expect, sync_playwright

from assistant.export import FONTS

from .conftest import ROOT
from .llm_stub import Reply, StubLLM

ARTIFACTS = ROOT / "tests" / "artifacts"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
LAPTOP = {"width": 1366, "height": 768}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def served(kb_dir: Path, command: tuple[str, ...] = ("-m", "assistant", "serve"), port_variable: str = "BIGAN_SERVER_PORT",
           wait_ready: bool = True, **env: str):
    """Run the app (by default `bigan serve`) on a free port, told by `port_variable`; yield its URL once it
    answers, and with `wait_ready` once its model and KB have loaded (/healthz)."""
    port = _free_port()
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("BIGAN_", "OPENAI_", "GRADIO_SERVER_"))}
    # BROWSER=true: app.py asks to open a browser; here that must be a no-op.
    environ.update({"BIGAN_KB_DIR": str(kb_dir), port_variable: str(port), "BROWSER": "true", **env})
    log = open(kb_dir.parent / f"server-{port}.log", "w")
    process = subprocess.Popen([sys.executable, *command], env=environ, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT)
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + 180
        while True:
            try:
                urllib.request.urlopen(url + ("healthz" if wait_ready else ""), timeout=2)
                break
            except OSError:  # a 503 from /healthz (still loading) is an HTTPError, an OSError
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"the app did not start:\n{Path(log.name).read_text()}")
                time.sleep(0.5)
        yield url, Path(log.name)
    finally:
        process.terminate()
        process.wait(timeout=30)
        log.close()


def _kb_copy(sample_kb_dir: Path, target: Path) -> Path:
    shutil.copytree(sample_kb_dir, target, ignore=shutil.ignore_patterns(".lock"))
    return target


@pytest.fixture(scope="module")
def browser():
    assert Path(CHROMIUM).exists(), "chromium is not installed (apt-get install chromium)"
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        b = p.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
        )
        yield b
        b.close()


@pytest.fixture(scope="module")
def offline_app(sample_kb_dir, tmp_path_factory):
    kb_dir = _kb_copy(sample_kb_dir, tmp_path_factory.mktemp("offline") / "kb")
    with served(kb_dir, BIGAN_LLM_PROVIDER="none") as (url, _):
        yield url


@pytest.fixture(scope="module")
def llm_stub():
    with StubLLM() as stub:
        yield stub


@pytest.fixture(scope="module")
def online_app(sample_kb_dir, tmp_path_factory, llm_stub):
    kb_dir = _kb_copy(sample_kb_dir, tmp_path_factory.mktemp("online") / "kb")
    env = {"BIGAN_LLM_BASE_URL": llm_stub.base_url, "BIGAN_LLM_MODEL": "qwen-stub", "BIGAN_LLM_API_KEY": "sk-web-SECRET", "BIGAN_LLM_MAX_RETRIES": "0"}
    with served(kb_dir, **env) as (url, _):
        yield url


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
    p = context.new_page()
    yield p
    context.close()


@pytest.fixture
def laptop(browser):
    """A page as a person with an English-language browser on a 1366×768 laptop screen meets it."""
    context = browser.new_context(viewport=LAPTOP, locale="en-US")
    p = context.new_page()
    yield p
    context.close()


def _ask(page: Page, text: str) -> None:
    page.fill("#question textarea", text)
    page.click("#send")


def _last_answer(page: Page) -> str:
    bots = page.locator("#chat .bot")
    return bots.nth(bots.count() - 1).inner_text() if bots.count() else ""


def test_app_py_brings_the_kb_up_to_date_then_serves(laptop, sample_kb_dir, tmp_path):
    """What a hosting platform runs: `python app.py` with the port set the Gradio way. The first
    question, asked as soon as the page is there (the model may still be loading), is answered."""
    kb_dir = _kb_copy(sample_kb_dir, tmp_path / "kb")
    with served(kb_dir, ("app.py",), port_variable="GRADIO_SERVER_PORT", wait_ready=False, BIGAN_LLM_PROVIDER="none") as (url, log):
        laptop.goto(url)
        laptop.fill("#question textarea", "三会一课是怎么落实的？")
        laptop.press("#question textarea", "Enter")
        expect(laptop.locator("#chat .bot").last).to_contain_text("[1]", timeout=120_000)
        assert "出错了" not in _last_answer(laptop)
        expect(laptop.locator("#status")).to_contain_text("离线模式", timeout=30_000)
        laptop.screenshot(path=str(ARTIFACTS / "start.png"), full_page=True)
    assert "unchanged 5" in log.read_text()


def test_offline_answer_with_sources(page, offline_app):
    page.goto(offline_app)
    expect(page.locator("#status")).to_contain_text("离线模式")
    expect(page.locator("#status")).to_contain_text("BIGAN_LLM_BASE_URL")
    _ask(page, "三会一课是怎么落实的？")
    expect(page.locator("#sources details").first).to_be_visible(timeout=60_000)
    assert "[1]" in _last_answer(page) and "三会一课" in _last_answer(page).replace("會", "会").replace("課", "课")
    first = page.locator("#sources details").first
    first.locator("summary").click()
    expect(first.locator(".passage")).to_be_visible()
    expect(first.locator("mark").first).to_be_visible()
    assert "《" in first.locator("summary").inner_text() and first.locator(".heading").inner_text()
    page.screenshot(path=str(ARTIFACTS / "chat-offline.png"), full_page=True)


def test_traditional_source_is_shown_as_written(page, offline_app):
    page.goto(offline_app)
    _ask(page, "區直機關派出了多少支突擊隊？")
    expect(page.locator("#sources details").first).to_be_visible(timeout=60_000)
    # The Traditional document's title and passage keep their script.
    assert "區直系統" in page.locator("#sources").inner_text()


def test_streamed_answer_and_follow_up(page, online_app, llm_stub):
    page.goto(online_app)
    expect(page.locator("#status")).to_contain_text("qwen-stub")
    assert "sk-web-SECRET" not in page.content()
    answer = "党组成员要联系支部、参加组织生活，并落实“三会一课”制度[1]。" * 3
    llm_stub.script = [Reply(answer, chunk_delay=0.05)]
    _ask(page, "三会一课怎么落实？")
    seen = set()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        text = _last_answer(page)
        seen.add(text)
        if text.startswith(answer[:-1]):
            break
        time.sleep(0.05)
    partial = [t for t in seen if t and len(t) < len(answer) - 3]
    assert partial, "the answer appeared all at once, not streamed"
    expect(page.locator("#sources details").first).to_be_visible(timeout=30_000)
    page.screenshot(path=str(ARTIFACTS / "chat-online.png"), full_page=True)

    asked = len(llm_stub.requests)
    llm_stub.script = [Reply("党组成员如何落实三会一课制度的第二条要求"), Reply("第二条是严格党员管理[2]。")]
    _ask(page, "那第二条呢？")
    expect(page.locator("#chat .bot").last).to_contain_text("严格党员管理", timeout=60_000)
    rewrite, second = llm_stub.requests[asked:asked + 2]
    assert "三会一课怎么落实" in rewrite["body"]["messages"][-1]["content"]
    roles = [m["role"] for m in second["body"]["messages"]]
    assert roles[:3] == ["system", "user", "assistant"] and "三会一课怎么落实" in second["body"]["messages"][1]["content"]


def test_regenerate_and_clear(page, online_app, llm_stub):
    page.goto(online_app)
    llm_stub.script = [Reply("第一版回答[1]。")]
    _ask(page, "怎样推进机关党建？")
    expect(page.locator("#chat .bot").last).to_contain_text("第一版回答", timeout=60_000)
    llm_stub.script = [Reply("第二版回答[1]。")]
    page.click("#regenerate")
    expect(page.locator("#chat .bot").last).to_contain_text("第二版回答", timeout=60_000)
    assert page.locator("#chat .user").count() == 1
    page.click("#clear")
    expect(page.locator("#chat .bot")).to_have_count(0)


def test_unreachable_model_is_explained(page, tmp_path, sample_kb_dir):
    kb_dir = _kb_copy(sample_kb_dir, tmp_path / "kb")
    env = {"BIGAN_LLM_BASE_URL": f"http://127.0.0.1:{_free_port()}/v1", "BIGAN_LLM_MODEL": "qwen", "BIGAN_LLM_MAX_RETRIES": "0"}
    with served(kb_dir, **env) as (url, _):
        page.goto(url)
        _ask(page, "三会一课怎么落实？")
        expect(page.locator("#chat .bot").last).to_contain_text("出错了", timeout=60_000)
        assert "Traceback" not in page.content()
        expect(page.locator("#chat .user").last).to_contain_text("三会一课怎么落实")


def test_draft_in_a_genre_and_download_docx(page, online_app, llm_stub, tmp_path):
    page.goto(online_app)
    page.get_by_label("起草").check()
    expect(page.locator("#genre")).to_be_visible()
    page.locator("#genre input").click()
    page.get_by_role("option", name="经验材料").click()
    page.fill("#length input", "400")
    page.fill("#points textarea", "党员积分管理")
    text = "一、坚持高位推动\n（一）压实责任\n局党组把党建工作摆在突出位置，推行党员积分管理[1]。\n二、坚持创新方法\n以“一强三创”为抓手，推动党建与业务深度融合[2]。"
    llm_stub.script = [Reply(text)]
    _ask(page, "市X局机关党建工作经验")
    expect(page.locator("#export-docx")).to_be_visible(timeout=60_000)
    body = llm_stub.requests[-1]["body"]["messages"][-1]["content"]
    assert "经验材料" in body and "党员积分管理" in body and "约400字" in body
    page.screenshot(path=str(ARTIFACTS / "draft.png"), full_page=True)

    with page.expect_download() as download:
        page.click("#export-docx")
    path = tmp_path / "draft.docx"
    download.value.save_as(path)
    doc = Document(str(path))
    styles = {p.text: p.style for p in doc.paragraphs if p.text}
    title = styles["市X局机关党建工作经验"]
    assert title.font.size == Pt(22) and _east_asia(title) in FONTS["title"]
    assert styles["一、坚持高位推动"].name == "公文一级标题" and _east_asia(styles["一、坚持高位推动"]) in FONTS["level1"]
    assert styles["（一）压实责任"].name == "公文二级标题" and _east_asia(styles["（一）压实责任"]) in FONTS["level2"]
    body_style = next(s for t, s in styles.items() if t.startswith("局党组"))
    assert body_style.font.size == Pt(16) and _east_asia(body_style) in FONTS["body"]
    grid = doc.sections[0]._sectPr.find("{http://schemas.openxmlformats.org/wordprocessingml/2006/main}docGrid")
    assert grid is not None and grid.get("{http://schemas.openxmlformats.org/wordprocessingml/2006/main}type") == "linesAndChars"

    with page.expect_download() as download:
        page.click("#export-md")
    markdown = Path(download.value.path()).read_text(encoding="utf-8")
    assert markdown.startswith("# 市X局机关党建工作经验") and "## 一、坚持高位推动" in markdown and "### （一）压实责任" in markdown


def _east_asia(style) -> str:
    fonts = style.element.rPr.rFonts
    return fonts.get("{http://schemas.openxmlformats.org/wordprocessingml/2006/main}eastAsia")


def _probe(page: Page, query: str) -> str:
    page.fill("#probe textarea", query)
    page.click("#probe-button")
    page.wait_for_timeout(300)
    expect(page.locator("#probe-results")).not_to_contain_text("出错了", timeout=30_000)
    page.wait_for_function(
        "q => document.querySelector('#probe-results') && document.querySelector('#probe-results').innerText.includes('1')", arg=query
    )
    return page.locator("#probe-results").inner_text()


def test_knowledge_base_upload_search_delete(page, offline_app, tmp_path):
    docx_file = tmp_path / "智慧党建经验.docx"
    doc = Document()
    doc.add_paragraph("关于智慧党建云平台建设的经验材料")
    doc.add_paragraph("一、搭建智慧党建云平台")
    doc.add_paragraph("我们依托智慧党建云平台，把党员学习、组织生活、积分考核全部搬到线上，实现党建工作全程留痕、实时监督。")
    doc.save(str(docx_file))
    gbk_file = tmp_path / "河长制讲话.txt"
    gbk_file.write_bytes("在全县河长制工作会议上的讲话\n同志们：\n今天召开全县河长制工作会议，主要任务是部署河湖清四乱专项行动，落实县乡村三级河长巡河制度。\n".encode("gbk"))
    broken = tmp_path / "损坏文件.docx"
    broken.write_bytes(b"PK\x03\x04 this is not really a docx file")

    page.goto(offline_app)
    page.get_by_role("tab", name="知识库").click()
    expect(page.locator("#documents")).to_contain_text("000_d6b92f23921d179d.txt", timeout=30_000)
    page.locator("#upload input[type=file]").set_input_files([str(docx_file), str(gbk_file), str(broken)])
    page.wait_for_timeout(1000)
    page.click("#upload-button")
    result = page.locator("#upload-result")
    progress_words = set()  # whatever the progress display shows while the files are indexed
    deadline = time.monotonic() + 120
    while "新增" not in result.inner_text() and time.monotonic() < deadline:
        progress_words |= _english_words(page)
        page.wait_for_timeout(100)
    assert not progress_words, progress_words
    expect(result).to_contain_text("新增：智慧党建经验.docx", timeout=120_000)
    expect(result).to_contain_text("新增：河长制讲话.txt")
    expect(result).to_contain_text("失败：损坏文件.docx")
    assert "Traceback" not in result.inner_text()
    expect(page.locator("#documents")).to_contain_text("河长制讲话.txt")
    expect(page.locator("#documents")).to_contain_text("在全县河长制工作会议上的讲话")
    page.screenshot(path=str(ARTIFACTS / "kb-uploaded.png"), full_page=True)

    assert "在全县河长制工作会议上的讲话" in _probe(page, "河长巡河制度")
    assert "智慧党建云平台" in _probe(page, "智慧党建云平台")
    page.screenshot(path=str(ARTIFACTS / "kb-search.png"), full_page=True)

    page.locator("#doc-choice input").click()
    page.get_by_role("option", name="河长制讲话.txt").click()
    page.click("#delete")
    expect(page.locator("#confirm-text")).to_contain_text("在全县河长制工作会议上的讲话")  # asks first
    page.click("#confirm")
    expect(page.locator("#action-result")).to_contain_text("已删除：河长制讲话.txt", timeout=60_000)
    expect(page.locator("#documents")).not_to_contain_text("河长制讲话.txt")
    assert "在全县河长制工作会议上的讲话" not in _probe(page, "河长巡河制度")
    page.screenshot(path=str(ARTIFACTS / "kb-deleted.png"), full_page=True)


def test_retrieval_evaluation_from_the_kb_page(page, offline_app, tmp_path):
    questions = tmp_path / "我的问题.jsonl"
    questions.write_text(
        '{"question": "党组成员至少要联系几个支部", "gold": "黨組(黨委)成員至少要聯繫1個支部", "kind": "s2t"}\n'
        '{"question": "今年高考分数线", "gold": "这句话不在任何文档里", "kind": "numeric"}\n',
        encoding="utf-8",
    )
    page.goto(offline_app)
    page.get_by_role("tab", name="知识库").click()
    page.locator("#eval-file input[type=file]").set_input_files(str(questions))
    page.wait_for_timeout(1000)
    page.click("#eval-button")
    report = page.locator("#eval-report")
    expect(report).to_contain_text("总体", timeout=60_000)
    expect(report).to_contain_text("今年高考分数线")  # listed among the misses
    assert "recall@1" in report.inner_text()
    page.screenshot(path=str(ARTIFACTS / "kb-eval.png"), full_page=True)


HOSTILE = (
    '<img src=x class="xss-probe" onerror="window.__xss=1">关于治理机关食堂餐饮浪费的通知<b class="xss-probe">粗</b>\n'
    '一、<img src=x class="xss-probe" onerror="window.__xss=2">机关食堂餐饮浪费治理\n'
    '各单位要把机关食堂餐饮浪费治理摆上日程<script>window.__xss=3</script>，**按需取餐**，'
    '[光盘行动](http://example.invalid/)，![图](http://example.invalid/i.png)，$$x^2$$。\n'
)


def test_markup_in_a_document_stays_text(page, offline_app, tmp_path):
    """A document carrying HTML and Markdown: every page that shows its text shows it as text."""
    hostile = tmp_path / "餐饮浪费<img src=x class=xss-probe onerror=window.__xss=4>.txt"
    hostile.write_text(HOSTILE, encoding="utf-8")
    page.goto(offline_app)
    page.get_by_role("tab", name="知识库").click()
    page.locator("#upload input[type=file]").set_input_files(str(hostile))
    page.wait_for_timeout(1000)
    page.click("#upload-button")
    expect(page.locator("#upload-result")).to_contain_text("新增：", timeout=120_000)
    expect(page.locator("#documents")).to_contain_text("餐饮浪费")
    page.locator("#doc-choice input").click()
    expect(page.get_by_role("option", name=re.compile("餐饮浪费"))).to_be_visible()
    page.keyboard.press("Escape")
    assert "餐饮浪费" in _probe(page, "机关食堂餐饮浪费治理")
    page.screenshot(path=str(ARTIFACTS / "kb-hostile.png"), full_page=True)

    page.get_by_role("tab", name="对话").click()
    _ask(page, "机关食堂餐饮浪费治理怎么摆上日程？")
    expect(page.locator("#sources details").first).to_be_visible(timeout=60_000)
    page.locator("#sources details summary").first.click()
    expect(page.locator("#sources")).to_contain_text("<img src=x")  # the markup is there, as text
    page.screenshot(path=str(ARTIFACTS / "chat-hostile.png"), full_page=True)
    assert page.evaluate("window.__xss") is None  # no script or handler from the document ran
    assert page.locator(".xss-probe").count() == 0  # no element from the document was created
    assert page.locator("#chat strong, #chat a[href*='example.invalid'], #chat img[src*='example.invalid']").count() == 0


# --- the page as a person meets it: Chinese only, a chat that behaves like one --------------------------------

# Every visible text and every label a screen reader or a tooltip gives, except what documents, answers and
# the user wrote (their language is theirs) and code (setting names, addresses).
VISIBLE_TEXT_JS = """() => {
  const DATA = "#chat [data-testid=bot], #chat [data-testid=user], #sources .cite, #documents tbody, #documents .body-cell, "
    + "#probe-results tbody, #probe-results .body-cell, code";
  const shown = (el) => {
    const box = el.getBoundingClientRect(), style = getComputedStyle(el);
    return box.width > 0 && box.height > 0 && style.visibility !== "hidden" && style.display !== "none";
  };
  const out = [document.title];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let text = walker.nextNode(); text; text = walker.nextNode()) {
    const el = text.parentElement;
    if (el && !["SCRIPT", "STYLE", "NOSCRIPT"].includes(el.tagName) && !el.closest(DATA) && shown(el)) out.push(text.data);
  }
  for (const el of document.querySelectorAll("*")) {
    if (!shown(el)) continue;
    for (const name of ["title", "aria-label", "placeholder", "alt"]) {
      let value = el.getAttribute(name);
      if (!value) continue;
      if (el.closest(DATA) || el.matches("textarea, input")) value = value.replace(el.textContent.trim(), "").replace(el.value || "", "");
      out.push(value);
    }
  }
  return out.join("\\n");
}"""
# Latin letters the page may show: names of formats, measures, keys and products, not English prose.
LATIN_ALLOWED = {"Word", "Markdown", "JSON", "Lines", "KB", "MB", "Shift", "Bigan", "Ollama", "OpenAI"}
# Identifiers and measures (onnx-int8, BM25, recall@5, 127.0.0.1) and file names are not words.
_NOT_WORDS_RE = re.compile(r"\S*\d\S*|\S*\.(?:txt|md|docx?|wps|pdf|html?|csv|jsonl?)\b|[@#]\S+")


def _english_words(page: Page, also_allowed: set[str] = frozenset()) -> set[str]:
    text = _NOT_WORDS_RE.sub(" ", page.evaluate(VISIBLE_TEXT_JS))
    return {w for w in re.findall(r"[A-Za-z]{2,}", text) if w not in LATIN_ALLOWED | also_allowed}


def _in_view(page: Page, selector: str) -> bool:
    box = page.locator(selector).bounding_box()
    return box is not None and box["y"] >= 0 and box["y"] + box["height"] <= LAPTOP["height"]


def _contrast(page: Page, selector: str) -> float:
    """WCAG contrast ratio between an element's text colour and its background."""
    colours = page.evaluate(
        "s => { const st = getComputedStyle(document.querySelector(s)); return [st.color, st.backgroundColor]; }", selector
    )

    def luminance(css: str) -> float:
        r, g, b = (int(v) / 255 for v in re.findall(r"[\d.]+", css)[:3])
        return sum(w * (c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4) for w, c in zip((0.2126, 0.7152, 0.0722), (r, g, b)))

    light, dark = sorted((luminance(c) for c in colours), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def test_page_fits_a_laptop_and_is_chinese_only(laptop, offline_app):
    laptop.goto(offline_app)
    expect(laptop.locator("#status")).to_contain_text("离线模式", timeout=60_000)
    assert _in_view(laptop, "#question textarea") and _in_view(laptop, "#send")
    assert laptop.evaluate("document.documentElement.lang") == "zh-CN"
    found = {"对话": _english_words(laptop)}
    laptop.screenshot(path=str(ARTIFACTS / "laptop-chat.png"))
    laptop.get_by_label("起草").check()
    expect(laptop.locator("#genre")).to_be_visible()
    assert _in_view(laptop, "#question textarea") and _in_view(laptop, "#send")
    found["起草"] = _english_words(laptop)
    laptop.screenshot(path=str(ARTIFACTS / "laptop-draft.png"))
    laptop.get_by_role("tab", name="知识库").click()
    expect(laptop.locator("#documents")).to_contain_text("000_d6b92f23921d179d.txt", timeout=30_000)
    found["知识库"] = _english_words(laptop)
    laptop.screenshot(path=str(ARTIFACTS / "laptop-kb.png"), full_page=True)
    assert not any(found.values()), found


def test_enter_sends_and_each_mark_opens_its_source(laptop, offline_app):
    laptop.goto(offline_app)
    box = laptop.locator("#question textarea")
    box.fill("三会一课")
    box.press("Shift+Enter")  # a new line, not a send
    box.press_sequentially("是怎么落实的？")
    assert laptop.locator("#chat .user").count() == 0 and box.input_value() == "三会一课\n是怎么落实的？"
    box.press("Enter")
    expect(laptop.locator("#sources details").first).to_be_attached(timeout=60_000)
    expect(box).to_have_value("")
    mark = laptop.locator('#chat .bot a[href^="#cite-"]').first
    expect(mark).to_have_text(re.compile(r"\[\d+\]"))
    n = mark.inner_text().strip("[]")
    mark.click()
    opened = laptop.locator("#sources details[open]")
    expect(opened).to_have_count(1)
    expect(opened.locator("summary")).to_contain_text(f"[{n}]")
    expect(opened.locator(".passage")).to_be_in_viewport()
    assert len(laptop.context.pages) == 1  # the mark scrolled the panel; it opened nothing
    assert not _english_words(laptop), _english_words(laptop)
    laptop.screenshot(path=str(ARTIFACTS / "laptop-answer.png"))


def test_conversation_is_kept_across_a_reload_until_a_new_one(laptop, offline_app):
    laptop.goto(offline_app)
    _ask(laptop, "党组成员至少要联系几个支部？")
    expect(laptop.locator("#chat .bot a[href^='#cite-']").first).to_be_visible(timeout=60_000)
    answer, panel = _last_answer(laptop), laptop.locator("#sources").inner_text()
    laptop.reload()
    expect(laptop.locator("#chat .bot")).to_have_count(1, timeout=30_000)
    assert _last_answer(laptop) == answer and laptop.locator("#sources").inner_text() == panel
    expect(laptop.locator("#chat .user")).to_contain_text("党组成员至少要联系几个支部？")
    laptop.locator("#chat .bot a[href^='#cite-']").first.click()
    expect(laptop.locator("#sources details[open]")).to_have_count(1)
    laptop.screenshot(path=str(ARTIFACTS / "laptop-reloaded.png"))
    laptop.click("#clear")  # 新对话
    expect(laptop.locator("#chat .bot")).to_have_count(0)
    laptop.reload()
    expect(laptop.locator("#status")).to_contain_text("离线模式", timeout=30_000)
    laptop.wait_for_timeout(1000)  # time for a saved conversation to come back, if one were still kept
    expect(laptop.locator("#chat .bot")).to_have_count(0)


def test_highlights_are_readable_in_light_and_dark(laptop, offline_app):
    for theme in ("light", "dark"):
        laptop.goto(f"{offline_app}?__theme={theme}")
        _ask(laptop, "三会一课是怎么落实的？")
        assert laptop.evaluate("document.querySelector('.dark') !== null") == (theme == "dark")
        expect(laptop.locator("#chat .bot a[href^='#cite-']").first).to_be_visible(timeout=60_000)
        laptop.locator("#chat .bot a[href^='#cite-']").first.click()
        expect(laptop.locator("#sources details[open] mark").first).to_be_visible()
        assert _contrast(laptop, "#sources details[open] mark") >= 4.5, theme
        laptop.screenshot(path=str(ARTIFACTS / f"laptop-highlight-{theme}.png"))
        laptop.click("#clear")


def test_stop_ends_a_streaming_answer(laptop, online_app, llm_stub):
    laptop.goto(online_app)
    expect(laptop.locator("#status")).to_contain_text("qwen-stub", timeout=60_000)
    expect(laptop.locator("#stop")).to_be_hidden()
    long_answer = "党组成员要联系支部、参加组织生活，并落实“三会一课”制度[1]。" * 20
    llm_stub.script = [Reply(long_answer, chunk_delay=0.1, piece_chars=2)]
    _ask(laptop, "三会一课怎么落实？")
    expect(laptop.locator("#stop")).to_be_visible(timeout=30_000)
    expect(laptop.locator("#send")).to_be_hidden()
    expect(laptop.locator("#chat .bot").last).to_contain_text("党组成员", timeout=30_000)
    streaming_words = _english_words(laptop, {"qwen", "stub"})
    laptop.screenshot(path=str(ARTIFACTS / "laptop-streaming.png"))
    laptop.click("#stop")
    expect(laptop.locator("#send")).to_be_visible(timeout=10_000)
    expect(laptop.locator("#stop")).to_be_hidden()
    expect(laptop.locator("#chat .bot").last).to_contain_text("（已停止）")
    stopped = _last_answer(laptop)
    laptop.wait_for_timeout(1500)
    assert _last_answer(laptop) == stopped and len(stopped) < len(long_answer)  # no more text came
    assert not streaming_words, streaming_words
    llm_stub.script = [Reply("第二个回答[1]。")]
    _ask(laptop, "党员积分管理怎么做？")
    expect(laptop.locator("#chat .bot").last).to_contain_text("第二个回答", timeout=60_000)
    expect(laptop.locator("#chat .bot")).to_have_count(2)


def test_a_file_too_large_is_refused_in_chinese(laptop, offline_app, tmp_path):
    big = tmp_path / "超大文件.txt"
    big.write_bytes("同志们：".encode() * (21 * 1024 * 1024 // 12 + 1))  # past the 20 MB default
    laptop.goto(offline_app)
    laptop.get_by_role("tab", name="知识库").click()
    laptop.locator("#upload input[type=file]").set_input_files(str(big))
    expect(laptop.get_by_text(re.compile(r"文件超过 20(\.0)? MB 的上限"))).to_be_visible(timeout=30_000)
    assert not _english_words(laptop), _english_words(laptop)
    laptop.screenshot(path=str(ARTIFACTS / "laptop-too-large.png"))
