"""The Gradio web app: a thin shell over answer/draft/workspace, in Chinese.

Two tabs: 对话 (问答 and 起草 in one chat) and 知识库 (upload, list, delete, rebuild, retrieval
test). Every handler turns a user-caused error into a readable message; none shows a traceback.
"""
from __future__ import annotations

import html
import os
import shutil
import tempfile
import time
from pathlib import Path

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")  # an intranet app phones no one

import gradio as gr

from .answer import Answer, Citation, ask_stream, matched_sentences
from .components.llm import get_llm
from .config import Settings
from .draft import GENRES, Draft, DraftRequest, draft_stream
from .errors import BiganError
from .evaluate import evaluate_items, load_items
from .export import to_docx, to_markdown
from .ingest.loaders import SUPPORTED
from .workspace import Workspace

MODES = ("问答", "起草")
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


class App:
    """State shared by every browser session: settings, the KB, the model."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.shared = Workspace(settings, read_only=settings.demo)
        self.llm = get_llm(settings)
        self.shared.searcher  # load the model and the KB now, not on the first question

    def status(self) -> str:
        backend = self.shared.searcher.embedder.backend
        if self.llm is None:
            return (
                f"**离线模式**：未连接大模型，问答给出知识库原文摘录，起草给出素材包。"
                f"连接模型：设置 `BIGAN_LLM_BASE_URL` 与 `BIGAN_LLM_MODEL`（如本地 Ollama 的 `http://127.0.0.1:11434/v1`）后重启。"
                f" · 检索模型 {self.settings.embedding_model}（{backend}）"
            )
        where = "" if self.settings.demo else f" @ {self.llm.base_url or 'OpenAI'}"
        return f"**在线**：由 `{self.llm.model}`{where} 回答 · 检索模型 {self.settings.embedding_model}（{backend}）"

    def public(self, message: str) -> str:
        """A message fit to show: in the demo, no server paths or endpoint addresses."""
        if self.settings.demo:
            for secret in filter(None, [self.settings.llm_base_url, str(self.shared.root.resolve()), str(self.settings.cache_dir), tempfile.gettempdir()]):
                message = message.replace(secret, "…")
        return message

    def workspace(self, session: dict) -> Workspace:
        return session.get("workspace") or self.shared

    def writable(self, session: dict) -> Workspace:
        """The workspace uploads go to: the shared KB, or in the demo a private copy for this session."""
        if not self.settings.demo:
            return self.shared
        if self.settings.demo_uploads != "session":
            raise BiganError("演示版不接受上传")
        if "workspace" not in session:
            folder = Path(tempfile.mkdtemp(prefix="bigan-session-"))
            session["folder"] = folder
            session["workspace"] = Workspace.copy_of(self.shared, folder / "kb")
        return session["workspace"]


def _drop_session(session: dict) -> None:
    if session.get("folder"):
        shutil.rmtree(session["folder"], ignore_errors=True)


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


def build_app(settings: Settings) -> gr.Blocks:
    app = App(settings)
    with gr.Blocks(title="笔杆子 Bigan") as blocks:
        gr.Markdown("## 笔杆子 · 公文材料写作助手")
        status = gr.Markdown(app.status(), elem_id="status")
        session = gr.State({}, time_to_live=settings.session_ttl_s, delete_callback=_drop_session)
        history = gr.State([])
        with gr.Tabs():
            with gr.Tab("对话", id="chat-tab"):
                _chat_tab(app, session, history)
            with gr.Tab("知识库", id="kb-tab"):
                listing, listing_outputs = _kb_tab(app, session)
        blocks.load(app.status, outputs=status)
        blocks.load(listing, session, listing_outputs)
    return blocks


def _chat_tab(app: App, session: gr.State, history: gr.State) -> None:
    settings = app.settings
    with gr.Row():
        mode = gr.Radio(list(MODES), value="问答", label="模式", elem_id="mode")
    with gr.Row(visible=False) as draft_options:
        genre = gr.Dropdown(list(GENRES), value="讲话稿", label="体裁", elem_id="genre")
        length = gr.Number(value=None, label="篇幅（字，留空按体裁默认）", precision=0, minimum=0, elem_id="length")
        points = gr.Textbox(label="必须写到的要点", placeholder="如：三会一课、主题党日、党员积分管理", elem_id="points")
    with gr.Row():
        with gr.Column(scale=3):
            chat = gr.Chatbot(label="对话", height=480, buttons=["copy", "copy_all"], elem_id="chat")
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
        chat_value = list(chat_value or [])
        if not message:
            yield _chat_only(chat_value, turns)
            return
        chat_value += [{"role": "user", "content": message}, {"role": "assistant", "content": ""}]
        yield _chat_only(chat_value, turns)
        try:
            if len(message) > settings.max_question_chars:
                raise BiganError(f"输入过长（{len(message)} 字），请控制在 {settings.max_question_chars} 字以内")
            searcher = app.workspace(state).searcher
            if mode_value == "起草":
                req = DraftRequest(message, genre_value, int(length_value) if length_value else None, points_value or "")
                stream = draft_stream(searcher, settings, app.llm, req)
            else:
                stream = ask_stream(message, turns, searcher, settings, app.llm)
            shown = ""
            for piece in stream:
                if isinstance(piece, (Answer, Draft)):
                    result = piece
                    break
                shown += piece
                chat_value[-1] = {"role": "assistant", "content": shown}
                yield _chat_only(chat_value, turns)
        except BiganError as exc:
            chat_value[-1] = {"role": "assistant", "content": f"出错了：{app.public(str(exc))}"}
            yield _chat_only(chat_value, turns)
            return
        if isinstance(result, Answer):
            chat_value[-1] = {"role": "assistant", "content": result.answer}
            turns = turns + [{"role": "user", "content": message}, {"role": "assistant", "content": result.answer}]
            yield chat_value, turns, citations_html(result.citations, result.answer), "", gr.skip(), gr.skip()
            return
        chat_value[-1] = {"role": "assistant", "content": result.text}
        folder = Path(tempfile.mkdtemp(prefix="bigan-draft-"))
        stem = time.strftime("draft-%Y%m%d-%H%M%S")
        docx_path = to_docx(req.request, result.text, folder / f"{stem}.docx")
        md_path = folder / f"{stem}.md"
        md_path.write_text(to_markdown(req.request, result.text), encoding="utf-8")
        yield (
            chat_value, turns, citations_html(result.exemplars, result.text), "",
            gr.DownloadButton(value=str(docx_path), visible=True), gr.DownloadButton(value=str(md_path), visible=True),
        )

    inputs = [question, chat, history, mode, genre, length, points, session]
    outputs = [chat, history, sources, question, docx_button, md_button]
    limits = {"concurrency_limit": settings.queue_concurrency, "concurrency_id": "answer"}
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
        answered = len(turns) >= 2 and turns[-2] == {"role": "user", "content": message}
        yield from respond(message, chat_value[:last], turns[:-2] if answered else turns, *rest)

    regenerate.click(redo, [chat, history, mode, genre, length, points, session], outputs, **limits)

    def reset():
        return [], [], SOURCES_HINT, "", gr.DownloadButton(visible=False), gr.DownloadButton(visible=False)

    clear.click(reset, None, outputs)


def _chat_only(chat_value: list, turns: list) -> tuple:
    """Outputs of a chat step that changes only the conversation (and empties the input box)."""
    return chat_value, turns, gr.skip(), "", gr.skip(), gr.skip()


def _kb_tab(app: App, session: gr.State) -> tuple:
    """Build the KB page; return the listing function and its outputs, to fill the page on load."""
    settings = app.settings
    can_upload = not settings.demo or settings.demo_uploads == "session"
    if settings.demo:
        gr.Markdown(
            "演示版：示例知识库只读。" + ("上传的文件只进入本会话的私有副本，关闭页面后删除。" if can_upload else "上传已关闭。")
        )
    with gr.Group(visible=can_upload):
        files = gr.File(
            label=f"上传文件（{'、'.join(sorted(SUPPORTED))}，可多选，单个不超过 {settings.max_upload_mb} MB）",
            file_count="multiple", file_types=sorted(SUPPORTED), elem_id="upload",
        )
        upload = gr.Button("上传并索引", variant="primary", elem_id="upload-button")
        upload_result = gr.Markdown(elem_id="upload-result")
    gr.Markdown("### 文档列表")
    table = gr.Dataframe(
        headers=["标题", "文件", "段数", "大小", "添加时间"], interactive=False, wrap=True, elem_id="documents"
    )
    with gr.Row(visible=can_upload):
        chosen = gr.Dropdown(label="选择文档", choices=[], elem_id="doc-choice")
        delete = gr.Button("删除所选文档", variant="stop", elem_id="delete")
        rebuild = gr.Button("重建索引", elem_id="rebuild")
    action_result = gr.Markdown(elem_id="action-result")
    gr.Markdown("### 检索测试\n输入查询，查看排序后的段落与得分，即可知道回答为何引用这些原文。")
    with gr.Row():
        probe = gr.Textbox(label="查询", elem_id="probe", scale=4)
        probe_button = gr.Button("检索", elem_id="probe-button", scale=1)
    probe_table = gr.Dataframe(
        headers=["名次", "融合得分", "向量名次", "BM25名次", "文档", "标题路径", "段落"], interactive=False, wrap=True,
        elem_id="probe-results",
    )
    gr.Markdown(
        "### 检索评测\n上传问题文件（JSON Lines，每行 `{\"question\": …, \"gold\": 原文片段, \"kind\": 可选}`，"
        "或多轮 `{\"turns\": [{\"user\": …, \"gold\": …}, …]}`），查看 recall@1、recall@5、MRR@10 和未命中的问题。"
    )
    with gr.Row():
        questions_file = gr.File(label="问题文件（.jsonl）", file_types=[".jsonl", ".json", ".txt"], elem_id="eval-file", scale=4)
        eval_button = gr.Button("评测", elem_id="eval-button", scale=1)
    eval_report = gr.Markdown(elem_id="eval-report")

    def listing(state: dict):
        rows = app.workspace(state).documents()
        data = [[r.title, r.name, r.sections, _size(r.size), r.added] for r in rows]
        choices = [(f"{r.title or r.name}（{r.name}）", r.doc_id) for r in rows]
        return data, gr.Dropdown(choices=choices, value=None)

    def do_upload(paths: list | None, state: dict, progress=gr.Progress(track_tqdm=True)):
        if not paths:
            return "请先选择文件。", *listing(state), None
        try:
            progress(0, desc="索引中…")
            report = app.writable(state).add_files([Path(p) for p in paths], progress=True)
        except BiganError as exc:
            return f"出错了：{app.public(str(exc))}", *listing(state), None
        lines = [f"- 新增：{Path(s).name}" for s in report.added]
        lines += [f"- 更新：{Path(s).name}" for s in report.updated]
        lines += [f"- 未变：{Path(s).name}" for s in report.unchanged]
        lines += [f"- **失败：{Path(s).name}**：{app.public(reason)}" for s, reason in report.failed]
        summary = f"知识库现有 {report.sections} 段，本次嵌入 {report.embedded} 段。"
        return "\n".join(lines) + "\n\n" + summary, *listing(state), None

    def do_delete(doc_id: str | None, state: dict):
        if not doc_id:
            return "请先选择要删除的文档。", *listing(state)
        try:
            report = app.writable(state).delete(doc_id)
        except BiganError as exc:
            return f"出错了：{app.public(str(exc))}", *listing(state)
        return f"已删除：{'、'.join(Path(s).name for s in report.removed)}", *listing(state)

    def do_rebuild(state: dict, progress=gr.Progress(track_tqdm=True)):
        try:
            progress(0, desc="重建中…")
            report = app.writable(state).rebuild(progress=True)
        except BiganError as exc:
            return f"出错了：{app.public(str(exc))}", *listing(state)
        return f"已重建：{report.sections} 段，重新嵌入 {report.embedded} 段。", *listing(state)

    def do_probe(query: str, state: dict):
        try:
            hits = app.workspace(state).search(query or "", 10)
        except BiganError as exc:
            return [[0, 0.0, None, None, "", "", f"出错了：{app.public(str(exc))}"]]
        return [
            [n, round(h.score, 3), h.dense_rank, h.bm25_rank, h.section.title, h.section.label, h.section.text]
            for n, h in enumerate(hits, start=1)
        ]

    def do_eval(path: str | None, state: dict):
        if not path:
            return "请先上传问题文件。"
        try:
            items = load_items(Path(path))
            report = evaluate_items(app.workspace(state).searcher, items, 10, app.llm)
        except BiganError as exc:
            return f"出错了：{app.public(str(exc)).replace(str(Path(path)), Path(path).name)}"
        return report.as_text().replace("\nmisses", "\n\nmisses")

    eval_button.click(do_eval, [questions_file, session], eval_report, concurrency_limit=1, concurrency_id="eval")
    writes = {"concurrency_limit": 1, "concurrency_id": "kb-write"}
    upload.click(do_upload, [files, session], [upload_result, table, chosen, files], **writes)
    delete.click(do_delete, [chosen, session], [action_result, table, chosen], **writes)
    rebuild.click(do_rebuild, [session], [action_result, table, chosen], **writes)
    probe_button.click(do_probe, [probe, session], probe_table)
    probe.submit(do_probe, [probe, session], probe_table)
    return listing, [table, chosen]


def _size(n: int) -> str:
    return f"{n / 1024:.1f} KB" if n < 1024 * 1024 else f"{n / 1024 / 1024:.1f} MB"


def launch(settings: Settings, host: str | None = None, port: int | None = None, open_browser: bool = False) -> None:
    blocks = build_app(settings)
    blocks.queue(default_concurrency_limit=settings.queue_concurrency, max_size=64)
    blocks.launch(
        server_name=host or settings.server_host,
        server_port=port or settings.server_port,
        max_file_size=f"{settings.max_upload_mb}mb",
        show_error=False,
        ssr_mode=False,
        inbrowser=open_browser,
        theme=THEME,
        css=CSS,
    )
