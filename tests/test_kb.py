import json
import os
import shutil

import faiss
import numpy as np
import pytest
from docx import Document

from assistant.errors import BiganError
from assistant.kb import FORMAT_VERSION, KnowledgeBase, build, current_generation
from assistant.retrieve import Searcher

from .conftest import CORPUS, make_settings


def test_manifest_describes_the_sample_kb(sample_kb):
    manifest = sample_kb.manifest
    assert manifest["format_version"] == FORMAT_VERSION
    assert manifest["embedding"]["model"] == "embeddinggemma-300m"
    assert manifest["embedding"]["fingerprint"].endswith("cbf5a78393b6a033e0b8a63a57549964f7ed5c6fbeb4ba0694214f36123f2fd2")
    assert manifest["embedding"]["dimension"] == sample_kb.index.d == 768
    assert len(manifest["documents"]) == 5
    for entry in manifest["documents"].values():
        assert len(entry["sha256"]) == 64 and entry["sections"] > 0 and entry["title"]
    assert sample_kb.index.ntotal == len(sample_kb.sections) == sum(e["sections"] for e in manifest["documents"].values())
    assert {"一强三创", "三会一课"} <= set(manifest["terms"])


def test_vectors_are_normalised_and_match_sections(sample_kb):
    vectors = sample_kb.vectors()
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-3)


def test_reindexing_unchanged_files_embeds_nothing(tmp_path, corpus_copy):
    settings = make_settings(tmp_path / "kb")
    first = build(settings.kb_dir, settings, add=[corpus_copy])
    assert len(first.added) == 2 and first.embedded == first.sections > 0
    again = build(settings.kb_dir, settings, add=[corpus_copy])
    assert again.embedded == 0 and len(again.unchanged) == 2 and not again.added


def test_a_small_edit_reembeds_only_changed_sections(tmp_path, corpus_copy):
    settings = make_settings(tmp_path / "kb")
    build(settings.kb_dir, settings, add=[corpus_copy])
    doc = corpus_copy / "000_d6b92f23921d179d.txt"
    doc.write_text(doc.read_text(encoding="utf-8").replace("布设各类宣传展板X面", "布设各类宣传展板36面"), encoding="utf-8")
    report = build(settings.kb_dir, settings, add=[corpus_copy])
    assert [p.endswith("000_d6b92f23921d179d.txt") for p in report.updated] == [True]
    assert report.embedded == 1
    kb = KnowledgeBase.load(settings.kb_dir)
    assert any("布设各类宣传展板36面" in s.text for s in kb.sections)
    assert not any("布设各类宣传展板X面" in s.text for s in kb.sections)
    assert kb.index.ntotal == len(kb.sections)


def test_removed_document_loses_its_vectors(tmp_path, corpus_copy):
    settings = make_settings(tmp_path / "kb")
    build(settings.kb_dir, settings, add=[corpus_copy])
    before = KnowledgeBase.load(settings.kb_dir)
    gone = [i for i, s in enumerate(before.sections) if s.source == "004_1cbbaef2f0fcc76e.txt"]
    gone_vectors = before.vectors()[gone]
    (corpus_copy / "004_1cbbaef2f0fcc76e.txt").unlink()

    report = build(settings.kb_dir, settings, add=[corpus_copy])
    assert [p.endswith("004_1cbbaef2f0fcc76e.txt") for p in report.removed] == [True]
    after = KnowledgeBase.load(settings.kb_dir)
    assert after.index.ntotal == len(after.sections) == len(before.sections) - len(gone)
    assert {s.source for s in after.sections} == {"000_d6b92f23921d179d.txt"}
    # No vector of the removed document is left in FAISS: its nearest neighbour is now something else.
    scores, _ = after.index.search(gone_vectors, 1)
    assert scores.max() < 0.99
    hits = Searcher.open(settings).search("三级责任抓目标 党组走在前作表率", 5)
    assert all(h.section.source != "004_1cbbaef2f0fcc76e.txt" for h in hits)


def test_bad_files_are_reported_and_the_rest_indexed(tmp_path, corpus_copy):
    settings = make_settings(tmp_path / "kb")
    build(settings.kb_dir, settings, add=[corpus_copy])
    batch = tmp_path / "batch"
    batch.mkdir()
    (batch / "broken.docx").write_bytes(b"not a zip")
    (batch / "empty.txt").write_bytes(b"")
    (batch / "old.docx").write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 64)
    (batch / "gbk.txt").write_bytes("关于推进机关作风建设的工作总结\n同志们：\n今年我局开展作风建设“回头看”活动，整改问题二十七项。\n".encode("gbk"))
    report = build(settings.kb_dir, settings, add=[batch])
    assert sorted(p.rsplit("/", 1)[-1] for p, _ in report.failed) == ["broken.docx", "empty.txt", "old.docx"]
    assert all(reason for _, reason in report.failed)
    assert [p.rsplit("/", 1)[-1] for p in report.added] == ["gbk.txt"]
    kb = KnowledgeBase.load(settings.kb_dir)
    assert {e["name"] for e in kb.documents.values()} == {"000_d6b92f23921d179d.txt", "004_1cbbaef2f0fcc76e.txt", "gbk.txt"}


def test_a_document_that_turns_bad_keeps_its_previous_version(tmp_path):
    folder = tmp_path / "docs"
    folder.mkdir()
    doc = folder / "report.docx"
    document = Document()
    document.add_paragraph("关于机关党建工作的报告")
    document.add_paragraph("一、基本情况。全局共有党员四十二名，设立三个支部，全年开展主题党日十二次。")
    document.save(doc)
    settings = make_settings(tmp_path / "kb")
    build(settings.kb_dir, settings, add=[folder])
    doc.write_bytes(b"corrupted")
    report = build(settings.kb_dir, settings, add=[folder])
    assert len(report.failed) == 1 and not report.removed
    kb = KnowledgeBase.load(settings.kb_dir)
    assert any("主题党日十二次" in s.text for s in kb.sections)


def test_docx_and_traditional_query_find_it(tmp_path):
    folder = tmp_path / "docs"
    folder.mkdir()
    document = Document()
    document.add_paragraph("关于开展“清廉机关”建设的实施方案")
    document.add_paragraph("一、工作目标。通过三年努力，建成一批廉洁文化示范点，形成“一单位一品牌”的格局。")
    table = document.add_table(rows=1, cols=2)
    table.cell(0, 0).text = "责任单位"
    table.cell(0, 1).text = "机关纪委"
    document.save(folder / "plan.docx")
    settings = make_settings(tmp_path / "kb")
    build(settings.kb_dir, settings, add=[folder])
    hits = Searcher.open(settings).search("清廉機關建設的工作目標是什麼", 1)
    assert hits and "廉洁文化示范点" in hits[0].section.text and hits[0].section.source == "plan.docx"


def test_crash_mid_build_leaves_previous_kb_usable(tmp_path, corpus_copy, monkeypatch):
    settings = make_settings(tmp_path / "kb")
    build(settings.kb_dir, settings, add=[corpus_copy])
    live = current_generation(settings.kb_dir)
    before = len(KnowledgeBase.load(settings.kb_dir).sections)

    shutil.copy(CORPUS / "003_5b479df242e3a196.txt", corpus_copy)

    def disk_full(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(faiss, "write_index", disk_full)
    with pytest.raises(OSError):
        build(settings.kb_dir, settings, add=[corpus_copy])
    monkeypatch.undo()
    assert current_generation(settings.kb_dir) == live
    assert len(KnowledgeBase.load(settings.kb_dir).sections) == before
    report = build(settings.kb_dir, settings, add=[corpus_copy])
    assert len(report.added) == 1 and not list(settings.kb_dir.glob(".gen-*"))


def test_kb_from_another_model_is_rebuilt_not_mixed(tmp_path, corpus_copy):
    settings = make_settings(tmp_path / "kb")
    build(settings.kb_dir, settings, add=[corpus_copy])
    manifest_path = current_generation(settings.kb_dir) / "manifest.json"
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    manifest["embedding"].update(model="bge-small-zh", fingerprint="bge-small-zh:0000")
    manifest_path.write_text(json.dumps(manifest), encoding="utf-8")

    with pytest.raises(BiganError, match="built with embedding model 'bge-small-zh'"):
        Searcher.open(settings)
    report = build(settings.kb_dir, settings, add=[corpus_copy])
    assert report.rebuilt and report.embedded == report.sections
    assert Searcher.open(settings).search("三级责任", 1)


def test_unknown_path_is_an_error(tmp_path):
    settings = make_settings(tmp_path / "kb")
    with pytest.raises(BiganError, match="no such file or folder"):
        build(settings.kb_dir, settings, add=[tmp_path / "missing"])


def test_removing_a_document_by_id(tmp_path, corpus_copy):
    settings = make_settings(tmp_path / "kb")
    build(settings.kb_dir, settings, add=[corpus_copy])
    kb = KnowledgeBase.load(settings.kb_dir)
    doc_id = next(d for d, e in kb.documents.items() if e["name"] == "000_d6b92f23921d179d.txt")
    report = build(settings.kb_dir, settings, remove=[doc_id])
    assert [p.endswith("000_d6b92f23921d179d.txt") for p in report.removed] == [True] and report.embedded == 0
    after = KnowledgeBase.load(settings.kb_dir)
    assert doc_id not in after.documents and all(s.doc_id != doc_id for s in after.sections)
    assert after.index.ntotal == len(after.sections)


def test_changing_the_section_budget_resplits_unchanged_files(tmp_path, corpus_copy):
    kb_dir = tmp_path / "kb"
    first = build(kb_dir, make_settings(kb_dir), add=[corpus_copy])
    second = build(kb_dir, make_settings(kb_dir, chunk_tokens=160), add=[corpus_copy])
    assert len(second.unchanged) == 2 and second.sections > first.sections and second.embedded > 0
    assert KnowledgeBase.load(kb_dir).manifest["chunking"]["tokens"] == 160


def test_new_splitting_rules_resplit_an_existing_kb_and_keep_its_vectors(monkeypatch, tmp_path, corpus_copy):
    import assistant.kb as kb_module

    kb_dir = tmp_path / "kb"
    first = build(kb_dir, make_settings(kb_dir), add=[corpus_copy])
    monkeypatch.setattr(kb_module, "SPLIT_VERSION", kb_module.SPLIT_VERSION + 1)
    second = build(kb_dir, make_settings(kb_dir), add=[corpus_copy])
    assert KnowledgeBase.load(kb_dir).manifest["chunking"]["rules"] == kb_module.SPLIT_VERSION
    assert second.sections == first.sections and second.embedded == 0  # the same rules here: nothing to embed again


def test_large_kbs_get_an_ivf_index_that_finds_what_exact_search_finds(monkeypatch, tmp_path):
    import assistant.kb as kb_module
    from assistant.kb import vector_index

    rng = np.random.default_rng(1)
    centres = rng.normal(size=(50, 64))
    vectors = (centres[rng.integers(0, 50, 6000)] + 0.3 * rng.normal(size=(6000, 64))).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    assert isinstance(vector_index(vectors), faiss.IndexFlatIP)
    monkeypatch.setattr(kb_module, "EXACT_MAX", 1000)
    index = vector_index(vectors)
    assert isinstance(index, faiss.IndexIVFFlat) and index.ntotal == 6000
    faiss.write_index(index, str(tmp_path / "v.faiss"))
    loaded = faiss.read_index(str(tmp_path / "v.faiss"))
    assert loaded.nprobe == index.nprobe and np.allclose(loaded.reconstruct(123), vectors[123])
    exact = faiss.IndexFlatIP(64)
    exact.add(vectors)
    queries = vectors[:50]
    _, truth = exact.search(queries, 10)
    _, found = loaded.search(queries, 10)
    assert np.mean([len(set(a) & set(b)) / 10 for a, b in zip(found, truth)]) >= 0.9


def test_a_commit_is_on_disk_before_current_names_it(tmp_path, monkeypatch, corpus_copy):
    import assistant.store.faiss_store as kb_module  # where the KB's commits are written

    events: list[tuple[str, str]] = []
    real_fsync, real_replace = kb_module.os.fsync, kb_module.os.replace

    def fsync(fd):
        events.append(("fsync", os.readlink(f"/proc/self/fd/{fd}")))
        return real_fsync(fd)

    def replace(src, dst):
        events.append(("replace", str(dst)))
        return real_replace(src, dst)

    monkeypatch.setattr(kb_module.os, "fsync", fsync)
    monkeypatch.setattr(kb_module.os, "replace", replace)
    settings = make_settings(tmp_path / "kb")
    build(settings.kb_dir, settings, add=[corpus_copy])
    switch = events.index(("replace", str(settings.kb_dir / "CURRENT")))
    synced = {path for kind, path in events[:switch] if kind == "fsync"}
    live = current_generation(settings.kb_dir)
    files = {str(p) for p in live.rglob("*")}
    # Every file was synced (under its temporary folder name), then the folder and the KB root.
    assert len([p for p in synced if ".tmp/" in p]) >= len(files)
    assert str(settings.kb_dir) in synced
    assert events[switch + 1] == ("fsync", str(settings.kb_dir))
