"""The Gradio web app: a thin shell over the service layer (service.py), in Chinese.

Two tabs: 对话 (问答 and 起草 in one chat) and 知识库 (upload, list, delete, rebuild, retrieval
test). Every handler turns a user-caused error into a readable message in Chinese; none shows a
traceback or a server path.

Whatever a document or a user wrote is shown as text, never as markup: the chat renders no
Markdown and gets escaped HTML, Markdown outputs get every ASCII punctuation mark escaped, the
sources panel is built with html.escape, and the tables show strings as they are.
"""
from __future__ import annotations

import html
import os
import re
import shutil
from pathlib import Path

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")  # an intranet app phones no one

import gradio as gr

from .answer import Citation, matched_sentences
from .config import Settings
from .draft import GENRES
from .errors import BiganError
from .evaluate import Report
from .ingest.loaders import SUPPORTED
from .service import Citations, Done, Failed, Service, TextDelta

MODES = ("问答", "起草")
_MD_PUNCT_RE = re.compile(r"([!-/:-@\[-`{-~])")
SOURCES_HINT = "<p>回答引用的原文会显示在这里，点击展开。</p>"
CSS = """
#status {font-size: 0.9em}
.cite {border: 1px solid var(--border-color-primary); border-radius: 6px; padding: 4px 8px; margin: 4px 0}
.cite summary {cursor: pointer; font-weight: 600}
.cite .heading {color: var(--body-text-color-subdued); font-size: 0.9em; margin: 4px 0}
.cite .passage {white-space: pre-wrap; line-height: 1.7}
.cite mark {background: #fde68a; color: inherit}
"""
# System fonts only: a theme's web fonts would be fetched from the internet.
THEME = gr.themes.Default(
    font=["PingFang SC", "Microsoft YaHei", "Noto Sans CJK SC", "sans-serif"],
    font_mono=["Consolas", "Noto Sans Mono CJK SC", "monospace"],
)


def mount_options() -> dict:
    """The page's look (theme, css, js, head, i18n) as gr.mount_gradio_app takes it: the server mounts
    the app with these and nothing else of its own."""
    return {"theme": THEME, "css": CSS}


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


def citations_html(citations: list[Citation], answer: str) -> str:
    if not citations:
        return "<p>（本次回答没有引用）</p>"
    blocks = []
    for c in citations:
        passage = "".join(
            f"<mark>{html.escape(s)}</mark>" if hit else html.escape(s) for s, hit in matched_sentences(c.text, answer)
        )
        blocks.append(
            f'<details class="cite" id="cite-{c.n}"><summary>[{c.n}] 《{html.escape(c.title)}》 · {html.escape(Path(c.source).name)}</summary>'
            f'<div class="heading">{html.escape(c.heading)}</div><div class="passage">{passage}</div></details>'
        )
    return "\n".join(blocks)


def eval_markdown(report: Report) -> str:
    """The evaluation report as Markdown (scores table, then the misses), every question and passage escaped."""
    data = report.as_dict()
    columns = [c for c in data["overall"] if c != "n"]
    lines = ["| kind | n | " + " | ".join(columns) + " |", "| --- " * (len(columns) + 2) + "|"]
    rows = [*data["by_kind"].items(), ("overall", data["overall"])] if len(data["by_kind"]) > 1 else [("overall", data["overall"])]
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


def build_app(settings: Settings, app: Service | None = None) -> gr.Blocks:
    """The page's Blocks over `app` (a served Service; one is made from the settings if none is given)."""
    app = app or Service(settings, served=True)
    # Gradio's own copies (uploads, files handed out) go after a session's lifetime, as session KBs do.
    delete_cache = (min(600, settings.session_ttl_s), settings.session_ttl_s)
    with gr.Blocks(title="笔杆子 Bigan", delete_cache=delete_cache) as blocks:
        gr.Markdown("## 笔杆子 · 公文材料写作助手")
        status = gr.Markdown(status_line(app), elem_id="status")
        session = gr.State({})
        history = gr.State([])
        with gr.Tabs():
            with gr.Tab("对话", id="chat-tab"):
                _chat_tab(app, session, history)
            with gr.Tab("知识库", id="kb-tab"):
                listing, listing_outputs = _kb_tab(app, session)
        blocks.load(lambda: status_line(app), outputs=status)
        blocks.load(listing, session, listing_outputs)
    return blocks


def _chat_tab(app: Service, session: gr.State, history: gr.State) -> None:
    settings = app.settings
    with gr.Row():
        mode = gr.Radio(list(MODES), value="问答", label="模式", elem_id="mode")
    with gr.Row(visible=False) as draft_options:
        genre = gr.Dropdown(list(GENRES), value="讲话稿", label="体裁", elem_id="genre")
        # Bounds are checked in respond(), where the message can be in Chinese.
        length = gr.Number(value=None, label="篇幅（字，留空按体裁默认）", precision=0, elem_id="length")
        points = gr.Textbox(
            label="必须写到的要点", placeholder="如：三会一课、主题党日、党员积分管理", max_length=settings.max_question_chars,
            elem_id="points",
        )
    with gr.Row():
        with gr.Column(scale=3):
            # No Markdown: answers and drafts are shown exactly as written (see chat_text).
            chat = gr.Chatbot(
                label="对话", height=480, buttons=["copy", "copy_all"], render_markdown=False, latex_delimiters=[],
                elem_id="chat",
            )
            question = gr.Textbox(
                label="输入", placeholder="问答：输入问题；起草：输入主题与场合，如“在全市基层党建工作推进会上的讲话”",
                max_length=settings.max_question_chars, elem_id="question", lines=2,
            )
            with gr.Row():
                send = gr.Button("发送", variant="primary", elem_id="send")
                regenerate = gr.Button("重新生成", elem_id="regenerate")
                clear = gr.Button("清空对话", elem_id="clear")
            with gr.Row():
                docx_button = gr.DownloadButton("导出 Word（公文格式）", visible=False, elem_id="export-docx")
                md_button = gr.DownloadButton("导出 Markdown", visible=False, elem_id="export-md")
        with gr.Column(scale=2):
            gr.Markdown("### 引用来源")
            sources = gr.HTML(SOURCES_HINT, elem_id="sources")

    mode.change(lambda m: gr.Row(visible=m == "起草"), mode, draft_options)

    def respond(message: str, chat_value: list, turns: list, mode_value: str, genre_value: str,
                length_value: float | None, points_value: str, state: dict):
        message = (message or "").strip()
        points_value = points_value or ""
        chat_value = list(chat_value or [])
        if not message:
            yield _chat_only(chat_value, turns)
            return
        shown_message = chat_text(message[: settings.max_question_chars])
        chat_value += [{"role": "user", "content": shown_message}, {"role": "assistant", "content": ""}]
        yield _chat_only(chat_value, turns)
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
                    chat_value[-1] = {"role": "assistant", "content": chat_text(shown)}
                    yield _chat_only(chat_value, turns)
                case Citations(items):
                    cited = items
                case Done(result):
                    pass
                case Failed(problem):
                    chat_value[-1] = {"role": "assistant", "content": chat_text(f"出错了：{problem}")}
                    yield _chat_only(chat_value, turns)
                    return
        if mode_value != "起草":
            chat_value[-1] = {"role": "assistant", "content": chat_text(result.answer)}
            turns = turns + [{"role": "user", "content": message}, {"role": "assistant", "content": result.answer}]
            yield chat_value, turns, citations_html(cited, result.answer), "", gr.skip(), gr.skip()
            return
        chat_value[-1] = {"role": "assistant", "content": chat_text(result.text)}
        docx_path, md_path = app.export(message, result.text)
        try:
            yield (
                chat_value, turns, citations_html(cited, result.text), "",
                gr.DownloadButton(value=str(docx_path), visible=True), gr.DownloadButton(value=str(md_path), visible=True),
            )
        finally:
            # Gradio has copied both files into its cache by the time it asks for more.
            shutil.rmtree(docx_path.parent, ignore_errors=True)

    inputs = [question, chat, history, mode, genre, length, points, session]
    outputs = [chat, history, sources, question, docx_button, md_button]
    # Answers wait on the model, not the CPU: their own, wide group, so slow ones never block the KB page or each other.
    limits = {"concurrency_limit": settings.answer_concurrency, "concurrency_id": "answer"}
    send.click(respond, inputs, outputs, **limits)
    question.submit(respond, inputs, outputs, **limits)

    def redo(chat_value: list, turns: list, *rest):
        chat_value = list(chat_value or [])
        last = next((i for i in range(len(chat_value) - 1, -1, -1) if chat_value[i]["role"] == "user"), None)
        if last is None:
            yield _chat_only(chat_value, turns)
            return
        message = chat_value[last]["content"]
        if isinstance(message, list):  # Gradio may hand content back as parts
            message = "".join(part.get("text", "") for part in message if isinstance(part, dict))
        message = html.unescape(message)  # the chat holds it escaped (chat_text)
        answered = len(turns) >= 2 and turns[-2] == {"role": "user", "content": message}
        yield from respond(message, chat_value[:last], turns[:-2] if answered else turns, *rest)

    regenerate.click(redo, [chat, history, mode, genre, length, points, session], outputs, **limits)

    def reset():
        return [], [], SOURCES_HINT, "", gr.DownloadButton(visible=False), gr.DownloadButton(visible=False)

    clear.click(reset, None, outputs)


def _chat_only(chat_value: list, turns: list) -> tuple:
    """Outputs of a chat step that changes only the conversation (and empties the input box)."""
    return chat_value, turns, gr.skip(), "", gr.skip(), gr.skip()


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
            return f"出错了：{md_text(app.public(str(exc)))}", *listing(state), None
        finally:
            for upload_file in uploads:  # indexed or refused, Gradio's temp copy has done its job
                _discard(upload_file)
        lines = [f"- 新增：{md_text(Path(s).name)}" for s in report.added]
        lines += [f"- 更新：{md_text(Path(s).name)}" for s in report.updated]
        lines += [f"- 未变：{md_text(Path(s).name)}" for s in report.unchanged]
        lines += [f"- **失败：{md_text(Path(s).name)}**：{md_text(app.public(reason))}" for s, reason in report.failed]
        summary = f"知识库现有 {report.sections} 段，本次嵌入 {report.embedded} 段。"
        return "\n".join(lines) + "\n\n" + summary, *listing(state), None

    def do_delete(doc_id: str | None, state: dict):
        if not doc_id:
            return "请先选择要删除的文档。", *listing(state)
        try:
            report = app.delete(doc_id, state)
        except BiganError as exc:
            return f"出错了：{md_text(app.public(str(exc)))}", *listing(state)
        return f"已删除：{'、'.join(md_text(Path(s).name) for s in report.removed)}", *listing(state)

    def do_rebuild(state: dict, progress=gr.Progress(track_tqdm=True)):
        try:
            progress(0, desc="重建中…")
            report = app.rebuild(state, progress=True)
        except BiganError as exc:
            return f"出错了：{md_text(app.public(str(exc)))}", *listing(state)
        return f"已重建：{report.sections} 段，重新嵌入 {report.embedded} 段。", *listing(state)

    def do_probe(query: str, state: dict):
        try:
            hits = app.search(query, 10, state)
        except BiganError as exc:
            return [[0, 0.0, None, None, "", "", f"出错了：{app.public(str(exc))}"]]
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
            return f"出错了：{md_text(app.public(str(exc)))}", None
        finally:
            _discard(file)
        return eval_markdown(report), None

    if can_upload:
        eval_button.click(do_eval, [questions_file, session], [eval_report, questions_file], concurrency_limit=1, concurrency_id="eval")
        writes = {"concurrency_limit": 1, "concurrency_id": "kb-write"}
        upload.click(do_upload, [files, session], [upload_result, table, chosen, files], **writes)
        delete.click(do_delete, [chosen, session], [action_result, table, chosen], **writes)
        rebuild.click(do_rebuild, [session], [action_result, table, chosen], **writes)
    reads = {"concurrency_limit": settings.queue_concurrency, "concurrency_id": "kb-read"}
    probe_button.click(do_probe, [probe, session], probe_table, **reads)
    probe.submit(do_probe, [probe, session], probe_table, **reads)
    return listing, [table, chosen]


def _size(n: int) -> str:
    return f"{n / 1024:.1f} KB" if n < 1024 * 1024 else f"{n / 1024 / 1024:.1f} MB"
