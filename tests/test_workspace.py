import threading

import pytest
from docx import Document

from assistant.errors import BiganError
from assistant.kb import build
from assistant.workspace import Workspace

from .conftest import CORPUS, make_settings


def test_questions_during_indexing_see_a_whole_kb(tmp_path, corpus_copy):
    settings = make_settings(tmp_path / "kb")
    build(settings.kb_dir, settings, add=[corpus_copy])
    workspace = Workspace(settings)
    before = len(workspace.searcher.kb.sections)
    model = workspace.searcher.embedder
    errors: list[Exception] = []
    sizes: set[int] = set()
    indexer = threading.Thread(target=lambda: build(settings.kb_dir, settings, add=[CORPUS / "002_6ced87f26916ac27.txt"]))
    indexer.start()
    while indexer.is_alive():
        try:
            searcher = workspace.searcher
            assert searcher.search("三级责任", 3)
            sizes.add(len(searcher.kb.sections))
            assert searcher.kb.index.ntotal == len(searcher.kb.sections)
        except Exception as exc:  # any failure mid-build is the bug this test is for
            errors.append(exc)
    indexer.join()
    after = len(workspace.searcher.kb.sections)
    assert not errors and after > before and sizes <= {before, after}
    assert workspace.searcher.embedder is model  # a new KB generation does not load the model again


def test_upload_delete_and_rebuild(tmp_path, corpus_copy):
    settings = make_settings(tmp_path / "kb")
    build(settings.kb_dir, settings, add=[corpus_copy])
    workspace = Workspace(settings)
    note = tmp_path / "incoming" / "河长制讲话.txt"
    note.parent.mkdir()
    note.write_bytes("在全县河长制工作会议上的讲话\n同志们：\n落实县乡村三级河长巡河制度，开展河湖清四乱专项行动。\n".encode("gbk"))
    report = workspace.add_files([note])
    assert [p.endswith("河长制讲话.txt") for p in report.added] == [True]
    assert (settings.kb_dir / "uploads" / "河长制讲话.txt").exists()
    row = next(d for d in workspace.documents() if d.name == "河长制讲话.txt")
    assert row.uploaded and row.title == "在全县河长制工作会议上的讲话" and row.sections == 1
    assert workspace.search("河长巡河", 1)[0].section.doc_id == row.doc_id

    workspace.delete(row.doc_id)
    assert all(d.doc_id != row.doc_id for d in workspace.documents())
    assert all(h.section.doc_id != row.doc_id for h in workspace.search("河长巡河", 10))
    assert not (settings.kb_dir / "uploads" / "河长制讲话.txt").exists()
    with pytest.raises(BiganError, match="没有这个文档"):
        workspace.delete(row.doc_id)

    report = workspace.rebuild()
    assert report.sections == len(workspace.searcher.kb.sections) and report.embedded == 0


def test_a_failed_upload_leaves_nothing_behind(tmp_path, corpus_copy):
    settings = make_settings(tmp_path / "kb")
    build(settings.kb_dir, settings, add=[corpus_copy])
    workspace = Workspace(settings)
    broken = tmp_path / "坏文件.docx"
    broken.write_bytes(b"PK\x03\x04 not a docx")
    report = workspace.add_files([broken])
    assert report.failed and "docx" in report.failed[0][1]
    assert not (settings.kb_dir / "uploads" / "坏文件.docx").exists()


def test_a_failed_update_or_batch_keeps_the_previous_files(tmp_path, corpus_copy, monkeypatch):
    settings = make_settings(tmp_path / "kb")
    build(settings.kb_dir, settings, add=[corpus_copy])
    workspace = Workspace(settings)
    good = tmp_path / "v1" / "经验.docx"
    good.parent.mkdir()
    doc = Document()
    for line in ("关于机关党建的经验材料", "一、搭建智慧党建云平台", "把党员学习、组织生活全部搬到线上，实现全程留痕。"):
        doc.add_paragraph(line)
    doc.save(str(good))
    workspace.add_files([good])
    kept = settings.kb_dir / "uploads" / "经验.docx"
    assert kept.read_bytes() == good.read_bytes()

    bad = tmp_path / "v2" / "经验.docx"  # same name, not a docx: the update fails
    bad.parent.mkdir()
    bad.write_bytes(b"PK\x03\x04 not a docx")
    assert workspace.add_files([bad]).failed
    assert kept.read_bytes() == good.read_bytes()  # the indexed version stays on disk too
    assert any(d.name == "经验.docx" for d in workspace.documents())

    def broken_build(*args, **kwargs):
        raise BiganError("索引失败")

    new = tmp_path / "v3" / "新文件.txt"
    new.parent.mkdir()
    new.write_text("新文件正文。", encoding="utf-8")
    before = sorted(p.name for p in (settings.kb_dir / "uploads").iterdir())
    monkeypatch.setattr("assistant.workspace.build", broken_build)
    with pytest.raises(BiganError, match="索引失败"):
        workspace.add_files([new, bad])
    assert sorted(p.name for p in (settings.kb_dir / "uploads").iterdir()) == before  # nothing half-written
    assert kept.read_bytes() == good.read_bytes() and not list((settings.kb_dir / ".replaced").iterdir())


def test_read_only_workspace_refuses_changes(sample_kb_dir, tmp_path):
    workspace = Workspace(make_settings(sample_kb_dir), read_only=True)
    with pytest.raises(BiganError, match="只读"):
        workspace.add_files([tmp_path / "x.txt"])
    copy = Workspace.copy_of(workspace, tmp_path / "session")
    assert len(copy.searcher.kb.sections) == len(workspace.searcher.kb.sections) and not copy.read_only
