"""The Gradio web app: a thin shell over the service layer (service.py), in Chinese.

Two tabs: 对话 (问答 and 起草 in one chat) and 知识库 (upload, list, delete, rebuild, retrieval
test). Every handler turns a user-caused error into a readable message in Chinese; none shows a
traceback or a server path.

Whatever a document or a user wrote is shown as text, never as markup: the chat renders no
Markdown and gets escaped HTML, Markdown outputs get every ASCII punctuation mark escaped, the
sources panel is built with html.escape, and the tables show strings as they are.

The page is Chinese whatever the browser's language (ChinesePage, web/zh-CN.json), behaves like
a chat (web/page.js: Enter sends, [n] opens its source) and keeps the conversation in the
browser's storage across reloads.
"""
from __future__ import annotations

import html
import json
import logging
import os
import re
import secrets
import shutil
from dataclasses import asdict
from functools import lru_cache
from pathlib import Path


import gradio as gr
from starlette.datastructures import MutableHeaders
from starlette.middleware import Middleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .answer import Citation, matched_sentences
from .config import Settings
from .draft import GENRES
from .errors import BiganError
from .evaluate import Report
from .ingest.loaders import SUPPORTED
from .service import Citations, Done, Failed, Service, TextDelta

log = logging.getLogger(__name__)

MODES = ("问答", "起草")
WEB = Path(__file__).resolve().parent / "web"
# What a browser keeps of a conversation (local storage holds a few MB).
SAVED_MESSAGES = 100
SAVED_GROUPS = 20
_CITE_MARK_RE = re.compile(r"\[(\d{1,2})\]")
_CJK_RE = re.compile(r"[\u4e00-\u9fff]")
_MD_PUNCT_RE = re.compile(r"([!-/:-@\[-`{-~])")
SOURCES_HINT = "<p>回答引用的原文会显示在这里；点击回答中的 [1]、[2] 可直接打开对应原文。</p>"
STOPPED = "（已停止）"
PLACEHOLDERS = {
    "问答": "输入问题，回车发送，Shift+回车换行",
    "起草": "输入主题与场合，如“在全市基层党建工作推进会上的讲话”；回车发送",
}
# System fonts only: a theme's web fonts would be fetched from the internet.
THEME = gr.themes.Default(
    font=["PingFang SC", "Microsoft YaHei", "Noto Sans CJK SC", "sans-serif"],
    font_mono=["Consolas", "Noto Sans Mono CJK SC", "monospace"],
)

# English messages of the library (written for the command line) as the web app says them.
_ZH_ERRORS: list[tuple[re.Pattern, str]] = [
    (re.compile(r"^(.+?):(\d+): not valid JSON \(.*\)$"), r"\1 第 \2 行不是有效的 JSON"),
    (re.compile(r"^(.+?):(\d+): each line needs .*$"), r"\1 第 \2 行缺少 question 与 gold（或 turns）"),
    (re.compile(r"^(.+?): no questions in the file$"), r"\1 里没有问题"),
    (re.compile(r"^(.+?): not UTF-8 text.*$"), r"\1 不是 UTF-8 编码的文本，请另存为 UTF-8 后重试"),
    (re.compile(r"^no such file(?: or folder)?: (.+)$"), r"找不到文件：\1"),
    (re.compile(r"^no knowledge base in .*$"), "还没有知识库：请先上传文件，或由管理员建立索引"),
    (re.compile(r"^the knowledge base .*old format.*$"), "知识库格式已过时，请由管理员重建索引"),
    (re.compile(r"^the knowledge base was built with embedding model '(.+)' but '(.+)' is configured.*$"),
     r"知识库由检索模型 \1 建成，与当前配置的 \2 不一致，请由管理员重建索引"),
    (re.compile(r"^no document '(.+)' in the knowledge base.*$"), r"知识库中没有文档“\1”"),
    (re.compile(r"^the (?:question|query) is empty$"), "请输入问题"),
    (re.compile(r"^the drafting request is empty.*$"), "请写明起草的主题与场合"),
    (re.compile(r"^unknown genre '(.+)'.*$"), r"没有“\1”这种体裁"),
    (re.compile(r"^length is in characters and must be at least (\d+)$"), r"篇幅至少 \1 字"),
    (re.compile(r"^the model's outline has no numbered parts.*$"), "模型给出的提纲没有编号的部分（一、二、……），请重试或缩短篇幅"),
    (re.compile(r"^history must be .*$"), "对话记录格式不正确，请开始新对话"),
]


def zh_error(message: str) -> str:
    """A library error as the page shows it: in Chinese. One with no known translation is logged and
    replaced by a general message, so no English reaches the page."""
    for pattern, chinese in _ZH_ERRORS:
        if pattern.match(message):
            return pattern.sub(chinese, message)
    if _CJK_RE.search(message):
        return message
    log.warning("no Chinese for the error message: %s", message)
    return "操作没有完成，请稍后重试；如果一再出现，请联系管理员"


class ChinesePage:
    """ASGI middleware: the page's first script makes the browser report Chinese, so Gradio's own
    strings come from its zh-CN locale whatever the browser's language (Gradio has no setting for it)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "GET":
            await self.app(scope, receive, send)
            return
        start: Message | None = None
        body: list[bytes] = []

        async def rewrite(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                if MutableHeaders(raw=message["headers"]).get("content-type", "").startswith("text/html"):
                    start = message  # held until the whole page is here
                    return
            elif message["type"] == "http.response.body" and start is not None:
                body.append(message.get("body", b""))
                if message.get("more_body"):
                    return
                page = _chinese_page(b"".join(body))
                MutableHeaders(raw=start["headers"])["content-length"] = str(len(page))
                await send(start)
                await send({"type": "http.response.body", "body": page})
                return
            await send(message)

        await self.app(scope, receive, rewrite)


def _chinese_page(page: bytes) -> bytes:
    script = b"<script>" + _asset("locale.js").encode() + b"</script>"
    return page.replace(b"<head>", b"<head>" + script, 1).replace(b'lang="en"', b'lang="zh-CN"', 1)


@lru_cache(maxsize=None)
def _asset(name: str) -> str:
    return (WEB / name).read_text(encoding="utf-8")


def mount_options() -> dict:
    """The page's look and language (theme, css, js, i18n, footer, middleware) as gr.mount_gradio_app
    takes them: the server mounts the app with these and nothing else of its own."""
    strings = json.loads(_asset("zh-CN.json"))
    return {
        "theme": THEME,
        "css": _asset("page.css"),
        "js": _asset("page.js").replace("BIGAN_ZH", json.dumps(strings, ensure_ascii=False)),
        # Gradio's zh-CN locale lacks some strings; these fill them in.
        "i18n": gr.I18n(**{"zh-CN": strings["gradio"]}),
        # No footer: its links (API page, Gradio, settings) are in English and not for this page's users.
        "footer_links": [],
        "app_kwargs": {"middleware": [Middleware(ChinesePage)]},
    }


def md_text(text: str) -> str:
    """`text` to show literally in a Markdown component: with every ASCII punctuation mark escaped,
    neither Markdown nor HTML nor an autolink in it takes effect."""
    return _MD_PUNCT_RE.sub(r"\\\1", text)


def chat_text(text: str) -> str:
    """`text` for the chat, which renders no Markdown but would still render HTML."""
    return html.escape(text, quote=False)


def status_line(service: Service) -> str:
    """The status line: who answers (or how to connect a model), and the retrieval model."""
    facts = service.status()
    retrieval = f"检索模型 {facts.embedding_model}（{facts.embedding_backend}）"
    if facts.llm_model is None:
        return (
            f"**离线模式**：未连接大模型，问答给出知识库原文摘录，起草给出素材包。"
            f"连接模型：设置 `BIGAN_LLM_BASE_URL` 与 `BIGAN_LLM_MODEL`（如本地 Ollama 的 `http://127.0.0.1:11434/v1`）后重启。"
            f" · {retrieval}"
        )
    where = f" @ {facts.llm_where}" if facts.llm_where else ""
    return f"**在线**：由 `{facts.llm_model}`{where} 回答 · {retrieval}"


def _discard(upload: Path) -> None:
    """Remove an uploaded temp file, and the folder Gradio made for it if that is now empty."""
    upload.unlink(missing_ok=True)
    try:
        upload.parent.rmdir()
    except OSError:
        pass


def citations_html(citations: list[Citation], answer: str, group: int | None = None) -> str:
    """The passages an answer cites, each a closed <details> with the sentences the answer used marked.
    `group` (the answer's place in the conversation) makes the ids unique: cite-<group>-<n>."""
    if not citations:
        return "<p>（本次回答没有引用）</p>"
    prefix = "cite-" if group is None else f"cite-{group}-"
    blocks = []
    for c in citations:
        passage = "".join(
            f"<mark>{html.escape(s)}</mark>" if hit else html.escape(s) for s, hit in matched_sentences(c.text, answer)
        )
        blocks.append(
            f'<details class="cite" id="{prefix}{c.n}"><summary>[{c.n}] 《{html.escape(c.title)}》 · {html.escape(Path(c.source).name)}</summary>'
            f'<div class="heading">{html.escape(c.heading)}</div><div class="passage">{passage}</div></details>'
        )
    return "\n".join(blocks)


def eval_markdown(report: Report) -> str:
    """The evaluation report as Markdown (scores table, then the misses), every question and passage escaped."""
    data = report.as_dict()
    columns = [c for c in data["overall"] if c != "n"]
    lines = ["| 类别 | 题数 | " + " | ".join(columns) + " |", "| --- " * (len(columns) + 2) + "|"]
    rows = [*data["by_kind"].items(), ("总体", data["overall"])] if len(data["by_kind"]) > 1 else [("总体", data["overall"])]
    for kind, scores in rows:
        lines.append(f"| {md_text(kind)} | {scores['n']} | " + " | ".join(f"{scores[c]:.3f}" for c in columns) + " |")
    if data["misses"]:
        lines += ["", f"未排第一的问题（{len(data['misses'])}）："]
        for miss in data["misses"]:
            first = miss["first"]
            found = f"{Path(first['source']).name} · {first['heading']} · {first['text'][:40]}…" if first else "无"
            rank = f"排第 {miss['rank']}" if miss["rank"] else f"不在前 {max(report.k, 10)}"
            expected = Path(miss["expected_source"]).name or "任意"
            lines.append(f"- {md_text(miss['question'])}（应来自 {md_text(expected)}；{rank}）；排第一的是：{md_text(found)}")
    return "\n".join(lines)


# --- the conversation: what the chat shows, the sources panel and the browser keep are drawn from one record


def new_record() -> dict:
    """A conversation: its messages as written (role, text) and, per answer, the passages it cites."""
    return {"messages": [], "groups": []}


def linked(text: str, group: dict | None) -> str:
    """An answer for the chat: escaped, each [n] it cites a link to that passage in the sources panel."""
    shown = chat_text(text)
    if not group:
        return shown
    cited = {c["n"] for c in group["citations"]}
    at = group["at"]
    return _CITE_MARK_RE.sub(
        lambda m: f'<a href="#cite-{at}-{m[1]}">[{m[1]}]</a>' if int(m[1]) in cited else m[0], shown
    )


def chat_messages(record: dict) -> list[dict]:
    groups = {g["at"]: g for g in record["groups"]}
    return [
        {"role": m["role"], "content": linked(m["text"], groups.get(i)) if m["role"] == "assistant" else chat_text(m["text"])}
        for i, m in enumerate(record["messages"])
    ]


def sources_html(record: dict) -> str:
    """Every answer's passages, one group each; the latest shows, page.js shows another on a click on its [n]."""
    if not record["groups"]:
        return SOURCES_HINT
    last = record["groups"][-1]["at"]
    return "\n".join(
        f'<div class="cite-group" id="group-{g["at"]}"{"" if g["at"] == last else " hidden"}>'
        + citations_html([Citation(**c) for c in g["citations"]], g["answer"], g["at"])
        + "</div>"
        for g in record["groups"]
    )


def cited_group(citations: list[Citation], answer: str, at: int) -> dict:
    """The passages the answer at message `at` cites, as the record keeps them (the file name only:
    the browser keeps a copy, and server paths stay on the server)."""
    return {"at": at, "answer": answer,
            "citations": [asdict(c) | {"source": Path(c.source).name} for c in citations]}


def saved_copy(record: dict, turns: list) -> dict:
    """What the browser keeps: the record and the turns follow-ups use, the oldest dropped past the limits."""
    messages = record["messages"][-SAVED_MESSAGES:]
    dropped = len(record["messages"]) - len(messages)
    groups = [g | {"at": g["at"] - dropped} for g in record["groups"] if g["at"] >= dropped][-SAVED_GROUPS:]
    return {"messages": messages, "groups": groups, "turns": turns[-SAVED_MESSAGES:]}


def restored(saved: object) -> tuple[dict, list]:
    """The record and turns a browser kept, checked item by item (anything malformed is left out)."""
    record, turns = new_record(), []
    if not isinstance(saved, dict):
        return record, turns

    def items(key: str) -> list:
        value = saved.get(key)
        return value if isinstance(value, list) else []

    for m in items("messages"):
        if isinstance(m, dict) and m.get("role") in ("user", "assistant") and isinstance(m.get("text"), str):
            record["messages"].append({"role": m["role"], "text": m["text"]})
    fields = {"n": int, "source": str, "title": str, "heading": str, "text": str}
    for g in items("groups"):
        try:
            citations = [{k: t(c[k]) for k, t in fields.items()} for c in g["citations"]]
            at, answer = int(g["at"]), str(g["answer"])
        except (KeyError, TypeError, ValueError):
            continue
        if 0 <= at < len(record["messages"]) and record["messages"][at]["role"] == "assistant":
            record["groups"].append({"at": at, "answer": answer, "citations": citations})
    for t in items("turns"):
        if isinstance(t, dict) and t.get("role") in ("user", "assistant") and isinstance(t.get("content"), str):
            turns.append({"role": t["role"], "content": t["content"]})
    return record, turns


def _text_of(content: object) -> str:
    """A chat message's text as Gradio hands it back (a string or a list of parts), unescaped."""
    if isinstance(content, list):
        content = "".join(part.get("text", "") for part in content if isinstance(part, dict))
    return html.unescape(re.sub(r"<[^>]*>", "", str(content or "")))


def _browser_secret(settings: Settings) -> str:
    """The key the browser's copy of a conversation is sealed with: one per installation, kept in the
    cache folder so a conversation outlives a server restart; a fresh one if that folder is read-only."""
    path = settings.cache_dir / "browser-state.key"
    key = secrets.token_hex(16)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "w") as f:
            f.write(key)
    except FileExistsError:
        return path.read_text().strip() or key
    except OSError:
        pass
    return key


def build_app(settings: Settings, app: Service | None = None) -> gr.Blocks:
    """The page's Blocks over `app` (a served Service; one is made from the settings if none is given)."""
    app = app or Service(settings, served=True)
    # Gradio's own copies (uploads, files handed out) go after a session's lifetime, as session KBs do.
    delete_cache = (min(600, settings.session_ttl_s), settings.session_ttl_s)
    # analytics_enabled: an intranet app phones no one (set here, not in the environment of the whole process).
    with gr.Blocks(title="笔杆子 Bigan", delete_cache=delete_cache, analytics_enabled=False) as blocks:
        with gr.Row(elem_id="header"):
            gr.Markdown("# 笔杆子 · 公文材料写作助手", elem_id="title")
            status = gr.Markdown("正在加载检索模型与知识库…", elem_id="status")
        session = gr.State({})
        with gr.Tabs():
            with gr.Tab("对话", id="chat-tab"):
                load_saved, saved, restored_outputs = _chat_tab(app, session)
            with gr.Tab("知识库", id="kb-tab"):
                listing, listing_outputs = _kb_tab(app, session)
        blocks.load(lambda: status_line(app), outputs=status, api_visibility="private")
        blocks.load(listing, session, listing_outputs)
        blocks.load(load_saved, saved, restored_outputs, api_visibility="private")
    return blocks


def _chat_tab(app: Service, session: gr.State) -> tuple:
    """Build the chat page; return how to restore the conversation the browser kept: function, input, outputs."""
    settings = app.settings
    history = gr.State([])  # the turns follow-ups are resolved against
    record = gr.State(new_record())
    saved = gr.BrowserState({}, storage_key="bigan-conversation", secret=_browser_secret(settings))
    with gr.Row(equal_height=False):
        with gr.Column(scale=3):
            # No Markdown: answers and drafts are shown exactly as written (see chat_text, linked).
            chat = gr.Chatbot(
                label="对话", show_label=False, buttons=["copy", "copy_all"],
                render_markdown=False, latex_delimiters=[], elem_id="chat",
            )
            with gr.Row(visible=False, elem_id="draft-options") as draft_options:
                genre = gr.Dropdown(list(GENRES), value="讲话稿", label="体裁", elem_id="genre", scale=1)
                # Bounds are checked by the service, where the message can be in Chinese.
                length = gr.Number(value=None, label="篇幅（字，留空按体裁默认）", precision=0, elem_id="length", scale=1)
                points = gr.Textbox(
                    label="必须写到的要点", placeholder="如：三会一课、主题党日、党员积分管理", max_length=settings.max_question_chars,
                    elem_id="points", scale=2,
                )
            # One line that grows: Enter sends, Shift+Enter starts a new line.
            question = gr.Textbox(
                label="输入", show_label=False, lines=1, max_lines=6,
                placeholder=PLACEHOLDERS["问答"],
                max_length=settings.max_question_chars, elem_id="question",
            )
            with gr.Row(elem_id="chat-options"):
                mode = gr.Radio(list(MODES), value="问答", label="模式", show_label=False, container=False, elem_id="mode", scale=2)
                send = gr.Button("发送", variant="primary", elem_id="send", scale=1, min_width=80)
                stop = gr.Button("停止", variant="stop", visible=False, elem_id="stop", scale=1, min_width=80)
                regenerate = gr.Button("重新生成", elem_id="regenerate", scale=1, min_width=80)
                clear = gr.Button("新对话", elem_id="clear", scale=1, min_width=80)
            with gr.Row():
                docx_button = gr.DownloadButton("导出 Word（公文格式）", visible=False, elem_id="export-docx")
                md_button = gr.DownloadButton("导出 Markdown", visible=False, elem_id="export-md")
        with gr.Column(scale=2, elem_id="sources-column"):
            gr.Markdown("### 引用来源", elem_id="sources-title")
            sources = gr.HTML(SOURCES_HINT, elem_id="sources")

    mode.change(lambda m: (gr.Row(visible=m == "起草"), gr.Textbox(placeholder=PLACEHOLDERS[m])), mode,
                [draft_options, question], api_visibility="private")
    outputs = [chat, history, sources, question, docx_button, md_button, record, saved]

    def step(chat_value: list) -> tuple:
        """Outputs of a step that changes only what the chat shows (and empties the input box)."""
        return chat_value, gr.skip(), gr.skip(), "", gr.skip(), gr.skip(), gr.skip(), gr.skip()

    def respond(message: str, turns: list, conversation: dict, mode_value: str, genre_value: str,
                length_value: float | None, points_value: str, state: dict):
        message = (message or "").strip()
        points_value = points_value or ""
        conversation = conversation or new_record()
        shown_chat = chat_messages(conversation)
        if not message:
            yield step(shown_chat)
            return
        at = len(conversation["messages"]) + 1  # where the reply goes
        # A message past the limit is refused by the service; the chat and the record keep no more of it.
        asked = message[: settings.max_question_chars]
        shown_chat += [{"role": "user", "content": chat_text(asked)}, {"role": "assistant", "content": ""}]
        yield step(shown_chat)
        if mode_value == "起草":
            length = int(length_value) if length_value else None
            events = app.draft_events(message, genre_value, length, points_value, state)
        else:
            events = app.ask_events(message, turns, state)
        shown, cited, result = "", [], None
        for event in events:
            match event:
                case TextDelta(text):
                    shown += text
                    shown_chat[-1] = {"role": "assistant", "content": chat_text(shown)}
                    yield step(shown_chat)
                case Citations(items):
                    cited = items
                case Done(result):
                    pass
                case Failed(problem):
                    reply = f"出错了：{zh_error(problem)}"
                    conversation = _with(conversation, asked, reply)
                    yield chat_messages(conversation), turns, gr.skip(), "", gr.skip(), gr.skip(), conversation, saved_copy(conversation, turns)
                    return
        text = result.answer if mode_value != "起草" else result.text
        conversation = _with(conversation, asked, text, cited_group(cited, text, at))
        if mode_value != "起草":
            turns = turns + [{"role": "user", "content": message}, {"role": "assistant", "content": text}]
            yield (chat_messages(conversation), turns, sources_html(conversation), "", gr.skip(), gr.skip(),
                   conversation, saved_copy(conversation, turns))
            return
        docx_path, md_path = app.export(message, text)
        try:
            yield (
                chat_messages(conversation), turns, sources_html(conversation), "",
                gr.DownloadButton(value=str(docx_path), visible=True), gr.DownloadButton(value=str(md_path), visible=True),
                conversation, saved_copy(conversation, turns),
            )
        finally:
            # Gradio has copied both files into its cache by the time it asks for more.
            shutil.rmtree(docx_path.parent, ignore_errors=True)

    def redo(turns: list, conversation: dict, *rest):
        conversation = conversation or new_record()
        messages = conversation["messages"]
        last = next((i for i in range(len(messages) - 1, -1, -1) if messages[i]["role"] == "user"), None)
        if last is None:
            yield step(chat_messages(conversation))
            return
        message = messages[last]["text"]
        earlier = {"messages": messages[:last], "groups": [g for g in conversation["groups"] if g["at"] < last]}
        answered = len(turns) >= 2 and turns[-2] == {"role": "user", "content": message}
        yield from respond(message, turns[:-2] if answered else turns, earlier, *rest)

    def stopped(chat_value: list, conversation: dict, turns: list):
        """Keep what the stopped reply had shown, marked as stopped, in the record and the browser."""
        conversation = conversation or new_record()
        shown = [(m["role"], _text_of(m["content"])) for m in chat_value or []][len(conversation["messages"]):]
        if len(shown) == 2 and shown[0][0] == "user":
            conversation = _with(conversation, shown[0][1], shown[1][1] + STOPPED)
        return chat_messages(conversation), conversation, saved_copy(conversation, turns), *idle()

    def reset():
        empty = new_record()
        return [], [], SOURCES_HINT, "", gr.DownloadButton(visible=False), gr.DownloadButton(visible=False), empty, {}

    def load_saved(kept: object):
        conversation, turns = restored(kept)
        return chat_messages(conversation), turns, sources_html(conversation), conversation

    def busy():
        return gr.Button(visible=False), gr.Button(visible=True)

    def idle():
        return gr.Button(visible=True), gr.Button(visible=False)

    # Answers wait on the model, not the CPU: their own, wide group, so slow ones never block the KB page or each other.
    limits = {"concurrency_limit": settings.answer_concurrency, "concurrency_id": "answer"}
    quick = {"queue": False, "api_visibility": "private"}
    options = [mode, genre, length, points, session]
    answering = []
    for trigger, fn, inputs in (
        (send.click, respond, [question, history, record, *options]),
        (question.submit, respond, [question, history, record, *options]),
        (regenerate.click, redo, [history, record, *options]),
    ):
        answer = trigger(busy, None, [send, stop], **quick).then(fn, inputs, outputs, **limits)
        answer.then(idle, None, [send, stop], **quick)
        answering.append(answer)
    # The answer is cancelled first, so that no late piece of it lands after what stopped() shows.
    stop.click(None, None, None, cancels=answering).then(stopped, [chat, record, history], [chat, record, saved, send, stop], **quick)
    clear.click(reset, None, outputs, api_visibility="private")
    chat.clear(reset, None, outputs, api_visibility="private")  # the chat's own bin button

    return load_saved, saved, [chat, history, sources, record]


def _with(conversation: dict, question: str, reply: str, group: dict | None = None) -> dict:
    """The record with one more exchange (and the passages the reply cites)."""
    return {
        "messages": conversation["messages"] + [{"role": "user", "text": question}, {"role": "assistant", "text": reply}],
        "groups": conversation["groups"] + ([group] if group else []),
    }


def _kb_tab(app: Service, session: gr.State) -> tuple:
    """Build the KB page; return the listing function and its outputs, to fill the page on load.

    With uploads off there is no file input at all (the upload route refuses files too, see server.py).
    """
    settings = app.settings
    can_upload = app.uploads_allowed
    if settings.demo:
        gr.Markdown(
            "演示版：示例知识库只读。" + ("上传的文件只进入本会话的私有副本，闲置一段时间后删除。" if can_upload else "上传已关闭。")
        )
    if can_upload:
        files = gr.File(
            label=f"上传文件（{'、'.join(sorted(SUPPORTED))}，可多选，最多 {settings.max_upload_files} 个，"
            f"单个不超过 {settings.max_upload_mb} MB）",
            file_count="multiple", file_types=sorted(SUPPORTED), elem_id="upload",
        )
        upload = gr.Button("上传并索引", variant="primary", elem_id="upload-button")
        upload_result = gr.Markdown(elem_id="upload-result", latex_delimiters=[])
    gr.Markdown("### 文档列表")
    table = gr.Dataframe(
        headers=["标题", "文件", "段数", "大小", "添加时间"], datatype="str", interactive=False, wrap=True, elem_id="documents"
    )
    with gr.Row(visible=can_upload):
        chosen = gr.Dropdown(label="选择文档", choices=[], elem_id="doc-choice")
        delete = gr.Button("删除所选文档", variant="stop", elem_id="delete")
        rebuild = gr.Button("重建索引", elem_id="rebuild")
    # Delete and rebuild ask first: 确认 does what the question names, 取消 nothing.
    pending = gr.State(None)  # ("delete", doc id) or ("rebuild", None)
    with gr.Row(visible=False, elem_id="confirm-row") as confirm_row:
        confirm_text = gr.Markdown(elem_id="confirm-text", latex_delimiters=[])
        confirm = gr.Button("确认", variant="stop", elem_id="confirm", scale=0, min_width=100)
        cancel = gr.Button("取消", elem_id="cancel", scale=0, min_width=100)
    action_result = gr.Markdown(elem_id="action-result", latex_delimiters=[])
    gr.Markdown("### 检索测试\n输入查询，查看排序后的段落与得分，即可知道回答为何引用这些原文。")
    with gr.Row():
        probe = gr.Textbox(label="查询", max_length=settings.max_question_chars, elem_id="probe", scale=4)
        probe_button = gr.Button("检索", elem_id="probe-button", scale=1)
    probe_table = gr.Dataframe(
        headers=["名次", "融合得分", "向量名次", "BM25名次", "文档", "标题路径", "段落"], datatype="str", interactive=False,
        wrap=True, elem_id="probe-results",
    )
    if can_upload:
        gr.Markdown(
            "### 检索评测\n上传问题文件（JSON Lines，每行 `{\"question\": …, \"gold\": 原文片段, \"kind\": 可选}`，"
            "或多轮 `{\"turns\": [{\"user\": …, \"gold\": …}, …]}`），查看 recall@1、recall@5、MRR@10 和未命中的问题。"
            f"文件不超过 {settings.max_eval_kb} KB、{settings.max_eval_lines} 行。"
        )
        with gr.Row():
            questions_file = gr.File(label="问题文件（.jsonl）", file_types=[".jsonl", ".json", ".txt"], elem_id="eval-file", scale=4)
            eval_button = gr.Button("评测", elem_id="eval-button", scale=1)
        eval_report = gr.Markdown(elem_id="eval-report", latex_delimiters=[])

    def failed(exc: BiganError) -> str:
        return f"出错了：{md_text(zh_error(app.public(str(exc))))}"

    def listing(state: dict):
        rows = app.documents(state)
        data = [[r["title"], r["name"], r["sections"], _size(r["size"]), r["added"]] for r in rows]
        choices = [(f"{r['title'] or r['name']}（{r['name']}）", r["id"]) for r in rows]
        return data, gr.Dropdown(choices=choices, value=None)

    def do_upload(paths: list | None, state: dict, progress=gr.Progress(track_tqdm=True)):
        uploads = [Path(p) for p in paths or []]
        try:
            if not uploads:
                return "请先选择文件。", *listing(state), None
            progress(0, desc="索引中…")
            report = app.add_files(uploads, state, progress=True)
        except BiganError as exc:
            return failed(exc), *listing(state), None
        finally:
            for upload_file in uploads:  # indexed or refused, Gradio's temp copy has done its job
                _discard(upload_file)
        lines = [f"- 新增：{md_text(Path(s).name)}" for s in report.added]
        lines += [f"- 更新：{md_text(Path(s).name)}" for s in report.updated]
        lines += [f"- 未变：{md_text(Path(s).name)}" for s in report.unchanged]
        lines += [f"- **失败：{md_text(Path(s).name)}**：{md_text(zh_error(app.public(reason)))}" for s, reason in report.failed]
        summary = f"知识库现有 {report.sections} 段，本次嵌入 {report.embedded} 段。"
        return "\n".join(lines) + "\n\n" + summary, *listing(state), None

    def ask_first(action: str, doc_id: str | None, state: dict):
        """Show the question 确认 answers, and remember what it will do."""
        if action == "delete":
            if not doc_id:
                return gr.Row(visible=False), gr.skip(), None, "请先选择要删除的文档。"
            name = next((r["title"] or r["name"] for r in app.documents(state) if r["id"] == doc_id), "所选文档")
            question = f"确定删除《{md_text(name)}》吗？它的段落和向量都会移除，无法撤销。"
        else:
            question = "确定重建索引吗？所有文档会重新切分和嵌入，需要一些时间；期间问答照常进行。"
        return gr.Row(visible=True), question, (action, doc_id), ""

    def do_confirmed(action: tuple | None, state: dict, progress=gr.Progress(track_tqdm=True)):
        if not action:
            return gr.skip(), gr.skip(), gr.skip()
        kind, doc_id = action
        try:
            if kind == "delete":
                report = app.delete(doc_id, state)
                done = f"已删除：{'、'.join(md_text(Path(s).name) for s in report.removed)}"
            else:
                progress(0, desc="重建中…")
                report = app.rebuild(state, progress=True)
                done = f"已重建：{report.sections} 段，重新嵌入 {report.embedded} 段。"
        except BiganError as exc:
            return failed(exc), *listing(state)
        return done, *listing(state)

    def do_probe(query: str, state: dict):
        try:
            hits = app.search(query, 10, state)
        except BiganError as exc:
            return [[0, 0.0, None, None, "", "", f"出错了：{zh_error(app.public(str(exc)))}"]]
        return [
            [n, round(h.score, 3), h.dense_rank, h.bm25_rank, h.section.title, h.section.label, h.section.text]
            for n, h in enumerate(hits, start=1)
        ]

    def do_eval(path: str | None, state: dict):
        if not path:
            return "请先上传问题文件。", None
        file = Path(path)
        try:
            report = app.evaluate(file, 10, state)
        except BiganError as exc:
            return failed(exc), None
        finally:
            _discard(file)
        return eval_markdown(report), None

    if can_upload:
        eval_button.click(do_eval, [questions_file, session], [eval_report, questions_file], concurrency_limit=1, concurrency_id="eval")
        writes = {"concurrency_limit": 1, "concurrency_id": "kb-write"}
        upload.click(do_upload, [files, session], [upload_result, table, chosen, files], **writes)
        quick = {"queue": False, "api_visibility": "private"}
        asked = [confirm_row, confirm_text, pending, action_result]
        delete.click(lambda doc_id, state: ask_first("delete", doc_id, state), [chosen, session], asked, **quick)
        rebuild.click(lambda state: ask_first("rebuild", None, state), session, asked, **quick)
        confirm.click(lambda: gr.Row(visible=False), None, confirm_row, **quick).then(
            do_confirmed, [pending, session], [action_result, table, chosen], **writes)
        cancel.click(lambda: (gr.Row(visible=False), None), None, [confirm_row, pending], **quick)
    reads = {"concurrency_limit": settings.queue_concurrency, "concurrency_id": "kb-read"}
    probe_button.click(do_probe, [probe, session], probe_table, **reads)
    probe.submit(do_probe, [probe, session], probe_table, **reads)
    return listing, [table, chosen]


def _size(n: int) -> str:
    return f"{n / 1024:.1f} KB" if n < 1024 * 1024 else f"{n / 1024 / 1024:.1f} MB"
