"""Command line: a thin shell over the library. User errors print one line and exit non-zero."""
from __future__ import annotations

import argparse
import importlib.util
import json
import sys
from pathlib import Path

from .config import DEFAULT_MODEL, get_settings
from .errors import BiganError

EXIT_USER_ERROR = 1
EXIT_USAGE = 2


def _err(message: str) -> None:
    print(f"bigan: error: {message}", file=sys.stderr)


def cmd_model_fetch(args: argparse.Namespace) -> int:
    from .components.provision import fetch_default_model

    settings = get_settings()
    if settings.embedding_model != DEFAULT_MODEL:
        print(f"configured model is '{settings.embedding_model}'; nothing to fetch")
        return 0
    fetch_default_model(settings.models_dir / DEFAULT_MODEL, log=lambda m: print(m, file=sys.stderr))
    return 0


def cmd_model_optimize(args: argparse.Namespace) -> int:
    from .components.embedding import resolve_model

    from .components.onnx_export import export_int8, exported_dir, is_exported

    settings = get_settings()
    source, fingerprint = resolve_model(settings)
    target = exported_dir(settings.cache_dir, fingerprint)
    if is_exported(target) and not args.force:
        print(f"ONNX int8 model already in {target}")
        return 0
    # onnx and onnxscript come with the 'onnx' extra: making the int8 copy needs them, running it only the core.
    if any(importlib.util.find_spec(name) is None for name in ("onnx", "onnxscript")):
        raise BiganError("`bigan model optimize` needs the onnx extra: pip install 'bigan[onnx]'")
    export_int8(source, fingerprint, target, log=lambda m: print(m, file=sys.stderr))
    print(f"ONNX int8 model written to {target}")
    return 0


def cmd_model_info(args: argparse.Namespace) -> int:
    from .components.embedding import bf16_supported, choose_backend, resolve_model

    settings = get_settings()
    source, fingerprint = resolve_model(settings)
    backend, onnx_dir = choose_backend(settings, fingerprint)
    print(f"model: {settings.embedding_model} ({source})")
    print(f"fingerprint: {fingerprint}")
    print(f"backend: {backend} (setting: {settings.embedding_backend})")
    print(f"onnx int8 copy: {onnx_dir or 'none; `bigan model optimize` makes one'}")
    print(f"cpu bf16: {'yes' if bf16_supported() else 'no'}")
    return 0


def _service(llm: bool = False):
    """The service over the configured KB; with `llm`, the model is set up now and named on stderr."""
    from .service import Service

    service = Service(get_settings())
    if llm:
        from .components.llm import OFFLINE_NOTE

        print(f"模型：{service.llm.describe()}" if service.llm else OFFLINE_NOTE, file=sys.stderr)
    return service


def cmd_index(args: argparse.Namespace) -> int:
    service = _service()
    paths = [Path(p) for p in args.paths] or [service.settings.corpus_dir]
    report = service.index(paths, log=lambda m: print(m, file=sys.stderr), progress=sys.stderr.isatty())
    print(report.summary())
    for source, reason in report.failed:
        print(f"failed: {source}: {reason}", file=sys.stderr)
    return EXIT_USER_ERROR if report.failed else 0


def cmd_docs(args: argparse.Namespace) -> int:
    fields = ("id", "source", "name", "title", "sections", "chars", "size", "added")
    rows = [{f: row[f] for f in fields} for row in _service().documents()]
    if args.json:
        print(json.dumps(rows, ensure_ascii=False))
        return 0
    for row in rows:
        print(f"{row['id']}  {row['sections']:>4} sections  {row['chars']:>7} chars  {row['added']}  {row['title']}  ({row['source']})")
    if not rows:
        print("(no documents)")
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    doc_id, entry, document_sections = _service().document(args.doc)
    sections = [
        {"position": s.position, "heading_path": s.heading_path, "kind": s.kind, "text": s.text,
         **({"page": s.page} if s.page is not None else {})}
        for s in document_sections
    ]
    if args.json:
        print(json.dumps({"id": doc_id, "source": entry["source"], "title": entry.get("title", ""), "sections": sections},
                         ensure_ascii=False))
        return 0
    print(f"{entry.get('title', '')}  ({entry['source']})")
    for section in sections:
        page = f"  [p. {section['page']}]" if "page" in section else ""
        print(f"\n## {' > '.join(section['heading_path']) or section['kind']}{page}")
        print(section["text"])
    return 0


def cmd_remove(args: argparse.Namespace) -> int:
    report = _service().remove(args.docs, log=lambda m: print(m, file=sys.stderr))
    print(report.summary())
    return 0


def _print_hits(hits: list, as_json: bool) -> None:
    if as_json:
        print(json.dumps([h.to_dict() for h in hits], ensure_ascii=False))
        return
    if not hits:
        print("(no results)")
    for n, hit in enumerate(hits, start=1):
        s = hit.section
        print(f"[{n}] {s.title} · {s.label} · {s.source}  score {hit.score:.4f}")
        print("    " + s.text.replace("\n", "\n    "))
        print()


def cmd_search(args: argparse.Namespace) -> int:
    if args.batch is None:
        if args.query is None or not args.query.strip():
            raise BiganError("the query is empty" if args.query is not None else "give a QUERY or --batch FILE")
        queries = [args.query]
    else:
        path = Path(args.batch)
        queries = [line.strip() for line in _read_text(path).splitlines() if line.strip()]
        if not queries:
            raise BiganError(f"{path} has no queries")
    for hits in _service().search_many(queries, args.k):
        _print_hits(hits, args.json)
    return 0


def cmd_eval(args: argparse.Namespace) -> int:
    if args.k < 1:
        raise BiganError("k must be at least 1")
    report = _service().evaluate(Path(args.file), args.k)
    print(json.dumps(report.as_dict(), ensure_ascii=False) if args.json else report.as_text())
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from .service import Service

    text = _read_text(Path(args.input))
    out = Service(get_settings()).export_docx(
        text, Path(args.output), args.title, issuer=args.issuer, number=args.number, signer=args.signer, date=args.date
    )
    print(out)
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    from .server import launch

    settings = get_settings()
    if args.demo:
        settings = settings.model_copy(update={"demo": True})
    launch(settings, host=args.host, port=args.port, open_browser=args.open)
    return 0


def cmd_shell(args: argparse.Namespace) -> int:
    """Interactive search: one query a line, empty line or Ctrl-D to quit."""
    searcher = _service().searcher()
    print(f"笔杆子 · {searcher.kb.section_count()} sections from {len(searcher.kb.documents)} documents. 输入查询，空行退出。")
    while True:
        try:
            query = input("查询> ").strip()
        except EOFError:
            break
        if not query:
            break
        _print_hits(searcher.search(query, args.k), False)
    return 0


def _read_text(file: Path) -> str:
    """A UTF-8 text file named on the command line (a BOM is allowed); anything else is a user error."""
    if not file.is_file():
        raise BiganError(f"no such file: {file}")
    try:
        return file.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise BiganError(f"{file} 不是 UTF-8 编码的文本（第 {exc.start + 1} 个字节无法解码）；请另存为 UTF-8 后重试") from None
    except OSError as exc:
        raise BiganError(f"无法读取 {file}：{exc.strerror or exc}") from None


def _read_history(path: str | None) -> list[dict]:
    if path is None:
        return []
    file = Path(path)
    try:
        history = json.loads(_read_text(file))
    except json.JSONDecodeError as exc:
        raise BiganError(f"{file} is not valid JSON ({exc.msg})") from exc
    if not isinstance(history, list):
        raise BiganError(f'{file} must hold a JSON list of {{"role", "content"}} turns')
    return history


def _print_citations(citations: list) -> None:
    for c in citations:
        print(f"[{c.n}] {c.title} · {c.heading} · {c.source}")


def _stream_to_stdout(events) -> tuple[object, list]:
    """Print text as it arrives; return the finished result and its citations (a failure is a BiganError).

    A failure mid-stream still ends the printed line, so the error line that follows stands alone.
    """
    from .service import Citations, Done, Failed, TextDelta

    result, cited, printed = None, [], False
    try:
        for event in events:
            match event:
                case TextDelta(text):
                    print(text, end="", flush=True)
                    printed = True
                case Citations(items):
                    cited = items
                case Done(result):
                    pass
                case Failed(message):
                    raise BiganError(message)
    finally:
        if printed or result is not None:
            print()
    return result, cited


def cmd_ask(args: argparse.Namespace) -> int:
    history = _read_history(args.history)  # a bad file fails before the model is loaded
    service = _service(llm=True)
    if args.json:
        print(json.dumps(service.ask(args.question, history).to_dict(), ensure_ascii=False))
        return 0
    _, cited = _stream_to_stdout(service.ask_events(args.question, history))
    _print_citations(cited)
    return 0


def cmd_draft(args: argparse.Namespace) -> int:
    fields = (args.request, args.genre, args.length, args.points)
    if args.show_prompt:
        preview = _service().draft_prompt(*fields)
        if args.json:
            print(json.dumps(preview, ensure_ascii=False))
        else:
            for message in preview["messages"]:
                print(f"--- {message['role']} ---\n{message['content']}\n")
            print(f"--- {preview['tokens']} tokens (packed to {preview['budget']}) ---")
        return 0
    from .draft import DraftRequest

    DraftRequest(*fields)  # a bad request fails before the model is loaded
    service = _service(llm=True)
    if args.json:
        print(json.dumps(service.draft(*fields).to_dict(), ensure_ascii=False))
        return 0
    result, cited = _stream_to_stdout(service.draft_events(*fields))
    if result.mode == "llm":
        print("\n参考范文：")
        _print_citations(cited)
    return 0


def cmd_chat(args: argparse.Namespace) -> int:
    """A terminal conversation: follow-ups use the history; /clear starts over; empty line quits."""
    service = _service(llm=True)
    service.searcher()  # no KB is an error now, not at the first question
    history: list[dict] = []
    print("笔杆子问答。输入问题，/clear 清空对话，空行退出。")
    while True:
        try:
            question = input("问> ").strip()
        except EOFError:
            break
        if not question:
            break
        if question == "/clear":
            history = []
            continue
        try:
            answer, cited = _stream_to_stdout(service.ask_events(question, history))
        except BiganError as exc:
            _err(str(exc))
            continue
        _print_citations(cited)
        history += [{"role": "user", "content": question}, {"role": "assistant", "content": answer.answer}]
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="bigan", description="笔杆子 Bigan: search and write Chinese official material.")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("model", help="manage the embedding model")
    model_sub = p.add_subparsers(dest="model_command", required=True)
    model_sub.add_parser("fetch", help="download and verify the default model").set_defaults(func=cmd_model_fetch)
    p = model_sub.add_parser("optimize", help="export an int8 ONNX copy of the model (2x faster indexing, 4x faster queries on CPU)")
    p.add_argument("--force", action="store_true", help="export again even if a copy exists")
    p.set_defaults(func=cmd_model_optimize)
    model_sub.add_parser("info", help="show the model and the embedding backend in use").set_defaults(func=cmd_model_info)

    p = sub.add_parser("index", help="add or update files/folders in the knowledge base")
    p.add_argument("paths", nargs="*", help="files or folders (default: corpus/)")
    p.set_defaults(func=cmd_index)

    p = sub.add_parser("docs", help="list the documents in the knowledge base")
    p.add_argument("--json", action="store_true", help="one JSON array: source, title, sections, chars, added, id")
    p.set_defaults(func=cmd_docs)

    p = sub.add_parser("show", help="one document's sections in order")
    p.add_argument("doc", help="file name, path, or the id `bigan docs` shows")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_show)

    p = sub.add_parser("remove", help="remove documents and their vectors from the knowledge base")
    p.add_argument("docs", nargs="+", metavar="DOC", help="file name, path, or id")
    p.set_defaults(func=cmd_remove)

    p = sub.add_parser("search", help="hybrid search of the knowledge base")
    p.add_argument("query", nargs="?")
    p.add_argument("-k", type=int, default=5, help="number of hits (default 5)")
    p.add_argument("--json", action="store_true", help="print hits as JSON")
    p.add_argument("--batch", metavar="FILE", help="one query per line; one JSON array per query")
    p.set_defaults(func=cmd_search)

    p = sub.add_parser("ask", help="answer a question from the knowledge base, with citations")
    p.add_argument("question")
    p.add_argument("--history", metavar="FILE", help='JSON list of {"role": "user"|"assistant", "content": ...}')
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_ask)

    p = sub.add_parser("draft", help="draft new material in the house style")
    p.add_argument("request", help="topic, occasion, audience and points to include")
    p.add_argument("--genre", default="讲话稿", help="讲话稿 (default), 经验材料, 述职评议点评, 提纲, 段落, 开头, 结尾")
    p.add_argument("--length", type=int, help="length in characters")
    p.add_argument("--points", default="", help="points the text must cover")
    p.add_argument("--json", action="store_true")
    p.add_argument("--show-prompt", action="store_true", help="print the assembled request; call no model")
    p.set_defaults(func=cmd_draft)

    p = sub.add_parser("chat", help="a terminal conversation with follow-ups")
    p.set_defaults(func=cmd_chat)

    p = sub.add_parser("eval", help="retrieval quality on a question file: recall@1/@5, MRR@10, misses")
    p.add_argument("file", help='JSON Lines: {"question", "gold", "kind"?, "source"?} or {"turns": [{"user", "gold"}, …]}')
    p.add_argument("-k", type=int, default=10, help="also report recall@K (default 10)")
    p.add_argument("--json", action="store_true", help="print the report as one JSON object")
    p.set_defaults(func=cmd_eval)

    p = sub.add_parser("export", help="a text or Markdown file as a 公文 .docx (GB/T 9704-2012 layout)")
    p.add_argument("input", metavar="IN", help="UTF-8 text or Markdown (a draft, `bigan draft` output, …)")
    p.add_argument("-o", "--output", required=True, metavar="OUT.docx")
    p.add_argument("--title", default="", help="default: the first line when it looks like a title")
    p.add_argument("--issuer", default="", help="发文机关标志, e.g. 中共XX市委办公室 (adds the 版头)")
    p.add_argument("--number", default="", help="发文字号, e.g. X办发〔2024〕5号")
    p.add_argument("--signer", default="", help="发文机关署名")
    p.add_argument("--date", default="", help="成文日期, e.g. 2024-05-06 or 二〇二四年五月六日")
    p.set_defaults(func=cmd_export)

    p = sub.add_parser("serve", help="the web app (chat, drafting, knowledge base) and the OpenAI-compatible API under /v1")
    p.add_argument("--host", help="address to listen on (default 127.0.0.1; BIGAN_SERVER_HOST)")
    p.add_argument("--port", type=int, help="port (default 7860; BIGAN_SERVER_PORT)")
    p.add_argument("--demo", action="store_true", help="hosted-demo limits: read-only KB, per-session uploads")
    p.add_argument("--open", action="store_true", help="open it in the browser")
    p.set_defaults(func=cmd_serve)

    p = sub.add_parser("shell", help="interactive search")
    p.add_argument("-k", type=int, default=5)
    p.set_defaults(func=cmd_shell)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except BiganError as exc:
        _err(str(exc))
        return EXIT_USER_ERROR
    except KeyboardInterrupt:
        return 130
