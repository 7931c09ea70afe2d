"""The store seam on both stores (FAISS segments, Milvus Lite), with a fake embedder so that it runs fast.

The Milvus tests start Milvus Lite themselves (a .db folder under tmp_path) and close it again.
"""
import hashlib
import json
import shutil
import signal
import subprocess
import sys
import time

import bm25s
import numpy as np
import pytest

from assistant.components.embedding import Embedder
from assistant.errors import BiganError
from assistant.kb import KnowledgeBase, bm25_tokens, build
from assistant.retrieve import Searcher
from assistant.store import faiss_store, open_store
from assistant.workspace import Workspace

from .conftest import CORPUS, ROOT, make_settings

DOCS = sorted(p.name for p in CORPUS.glob("*.txt"))


class FakeEmbedder(Embedder):
    """Character-bigram hashing into 64 dimensions: similar texts get similar unit vectors."""

    backend = "fake"
    dimension = 64
    tokenizer = None

    def __init__(self, fingerprint: str = "fake:1") -> None:
        self.fingerprint = fingerprint

    def _encode(self, texts, kind, progress):
        vectors = np.zeros((len(texts), self.dimension), dtype=np.float32)
        for row, text in enumerate(texts):
            for a, b in zip(text, text[1:]):
                vectors[row, int(hashlib.md5((a + b).encode()).hexdigest()[:6], 16) % self.dimension] += 1
        return vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)


@pytest.fixture(params=["faiss", "milvus"])
def store_settings(request, tmp_path):
    settings = make_settings(tmp_path / "kb", store=request.param)
    yield settings
    if request.param == "milvus":
        from assistant.store.milvus import close_clients

        close_clients()


def _add(settings, *names, **kwargs):
    return build(settings.kb_dir, settings, add=[CORPUS / n for n in names], embedder=FakeEmbedder(), **kwargs)


def test_documents_show_search_and_remove_on_both_stores(store_settings):
    settings = store_settings
    report = _add(settings, DOCS[0], DOCS[4])
    assert len(report.added) == 2 and report.embedded == report.sections
    workspace = Workspace(settings, embedder=FakeEmbedder())
    rows = workspace.documents()
    assert {r.name for r in rows} == {DOCS[0], DOCS[4]}
    doc_id = workspace.resolve(DOCS[4])
    assert workspace.document(doc_id)["name"] == DOCS[4]
    sections = workspace.document_sections(doc_id)
    assert [s.position for s in sections] == sorted(s.position for s in sections)
    assert len(sections) == workspace.document(doc_id)["sections"] > 0
    assert workspace.search("三级责任抓目标", 1)[0].section.doc_id == doc_id

    # Adding a document embeds only its sections; the others keep theirs.
    report = workspace.index([CORPUS / DOCS[2]])
    assert report.added and report.embedded == workspace.document(workspace.resolve(DOCS[2]))["sections"]
    assert workspace.search("党建指导员 六员", 1)[0].section.source == DOCS[2]

    workspace.remove([doc_id])
    assert doc_id not in {r.doc_id for r in workspace.documents()}
    assert all(h.section.doc_id != doc_id for h in workspace.search("三级责任抓目标 党组走在前作表率", 20))
    with pytest.raises(BiganError, match="no document"):
        workspace.resolve(DOCS[4])

    # A later process sees the same KB: the removed document in no search.
    if settings.store == "milvus":
        from assistant.store.milvus import close_clients

        close_clients()  # Milvus Lite: one process at a time
    script = (
        "import json, sys; from tests.test_store import FakeEmbedder; from assistant.workspace import Workspace;"
        "from tests.conftest import make_settings; from pathlib import Path;"
        f"w = Workspace(make_settings(Path({str(settings.kb_dir)!r}), store={settings.store!r}), embedder=FakeEmbedder());"
        "print(json.dumps([[r.doc_id for r in w.documents()], [h.section.doc_id for h in w.search('三级责任抓目标 党组走在前作表率', 20)]]))"
    )
    out = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    listed, found = json.loads(out.stdout.strip().splitlines()[-1])
    assert len(listed) == 2 and doc_id not in listed and found and doc_id not in found


def test_a_kb_of_another_model_refuses_to_open(store_settings):
    _add(store_settings, DOCS[0])
    with pytest.raises(BiganError, match="built with embedding model"):
        Searcher.open(store_settings, embedder=FakeEmbedder("other:2"))
    assert Searcher.open(store_settings, embedder=FakeEmbedder()).search("党建", 1)


def test_each_kb_segments_with_its_own_terms(tmp_path):
    one, two = make_settings(tmp_path / "one"), make_settings(tmp_path / "two")
    build(one.kb_dir, one, add=[CORPUS / DOCS[0]], embedder=FakeEmbedder())  # coins “一强三创”
    build(two.kb_dir, two, add=[CORPUS / DOCS[4]], embedder=FakeEmbedder())
    first, second = KnowledgeBase.load(one.kb_dir), KnowledgeBase.load(two.kb_dir)
    assert "一强三创" in first.manifest["terms"] and "一强三创" not in second.manifest["terms"]
    assert "一强三创" in first.segmenter.tokenize("推进一强三创行动")
    assert "一强三创" not in second.segmenter.tokenize("推进一强三创行动")


def test_adding_a_document_reads_no_other_vectors(tmp_path, monkeypatch):
    settings = make_settings(tmp_path / "kb")
    for name in DOCS[:3]:
        _add(settings, name)
    monkeypatch.setattr(faiss_store, "MERGE_RATIO", 0)  # no merge: the write is the new document alone
    read: list[int] = []
    real = faiss_store.Segment.vectors_at
    monkeypatch.setattr(faiss_store.Segment, "vectors_at", lambda self, rows: read.append(len(rows)) or real(self, rows))
    before = KnowledgeBase.load(settings.kb_dir)
    report = _add(settings, DOCS[3])
    after = KnowledgeBase.load(settings.kb_dir)
    assert sum(read) == 0 and report.embedded == after.documents[next(iter(after.documents.keys() - before.documents.keys()))]["sections"]
    new = set(s["name"] for s in after.meta["segments"]) - set(s["name"] for s in before.meta["segments"])
    assert len(new) == 1 and faiss_store.Segment(settings.kb_dir / "segments" / new.pop()).rows == report.embedded


def test_segments_score_bm25_as_one_index_over_the_whole_kb(tmp_path):
    settings = make_settings(tmp_path / "kb")
    for name in DOCS:  # one write per document, then one document removed
        _add(settings, name)
    kb = KnowledgeBase.load(settings.kb_dir)
    build(settings.kb_dir, settings, remove=[kb.resolve(DOCS[1])], embedder=FakeEmbedder())
    kb = KnowledgeBase.load(settings.kb_dir)
    assert len(kb.meta["segments"]) < len(DOCS)  # small writes were merged
    whole = bm25s.BM25()
    whole.index([bm25_tokens(s, kb.segmenter) for s in kb.sections], show_progress=False)
    for query in ("三级责任抓目标", "党建指导员的六员", "疫情防控 党员突击队"):
        tokens = kb.segmenter.tokenize(query)
        ids, scores = whole.retrieve([tokens], k=10, show_progress=False)
        expected = sorted((float(s), kb.sections[i].text) for i, s in zip(ids[0], scores[0]) if s > 0)
        got = kb.lexical(tokens, 10)
        by_key = kb.sections_of(got)
        got = sorted((v, by_key[k].text) for k, v in got.items())
        assert [t for _, t in got] == [t for _, t in expected] and len(got) == 10
        assert [v for v, _ in got] == pytest.approx([v for v, _ in expected], rel=1e-4)  # bm25s keeps float32
    assert kb.index.ntotal == len(kb.sections) == sum(e["sections"] for e in kb.documents.values())


def test_a_killed_writer_leaves_a_whole_kb(tmp_path):
    """kill -9 an indexing process at random moments: the KB stays loadable, whole, and writable."""
    settings = make_settings(tmp_path / "kb")
    _add(settings, DOCS[0])
    script = (
        "import sys; from pathlib import Path; from tests.test_store import FakeEmbedder; from tests.conftest import CORPUS, make_settings;"
        "from assistant.kb import build; s = make_settings(Path(sys.argv[1])); names = sorted(p.name for p in CORPUS.glob('*.txt'))\n"
        "for i in range(1000):\n"
        "    name = names[1 + i % 4]\n"
        "    build(s.kb_dir, s, add=[CORPUS / name], embedder=FakeEmbedder())\n"
        "    build(s.kb_dir, s, remove=[__import__('assistant.kb', fromlist=['_doc_id'])._doc_id(str(CORPUS / name))], embedder=FakeEmbedder())\n"
    )
    first = faiss_store.current_generation(settings.kb_dir).name
    rng = np.random.default_rng(7)
    for _ in range(4):
        last = faiss_store.current_generation(settings.kb_dir).name
        writer = subprocess.Popen([sys.executable, "-c", script, str(settings.kb_dir)], cwd=ROOT)
        while faiss_store.current_generation(settings.kb_dir).name == last and writer.poll() is None:
            time.sleep(0.02)  # until it has committed once: the kill then lands somewhere in its next writes
        time.sleep(float(rng.uniform(0, 1.5)))
        writer.send_signal(signal.SIGKILL)
        writer.wait()
        kb = KnowledgeBase.load(settings.kb_dir)
        assert kb.index.ntotal == len(kb.sections) == sum(e["sections"] for e in kb.documents.values())
        assert all(kb.doc_text(d) for d in kb.documents)
    assert faiss_store.current_generation(settings.kb_dir).name > first  # the writer did commit in between
    report = _add(settings, DOCS[3])
    assert DOCS[3] in {e["name"] for e in KnowledgeBase.load(settings.kb_dir).documents.values()} and not report.failed
    assert not list((settings.kb_dir / "segments").glob(".seg-*"))


def test_demo_session_copy_links_segments(tmp_path):
    settings = make_settings(tmp_path / "kb")
    _add(settings, DOCS[0], DOCS[2])
    shared = Workspace(settings, read_only=True, embedder=FakeEmbedder())
    copy = Workspace.copy_of(shared, tmp_path / "session")
    copy.index([CORPUS / DOCS[4]])
    assert len(copy.documents()) == 3 and len(shared.documents()) == 2
    assert shared.search("三级责任抓目标", 1)[0].section.source != DOCS[4]


def test_milvus_has_no_session_copies(tmp_path):
    settings = make_settings(tmp_path / "kb", store="milvus")
    try:
        _add(settings, DOCS[0])
        with pytest.raises(BiganError, match="Milvus"):
            Workspace.copy_of(Workspace(settings, read_only=True), tmp_path / "session")
    finally:
        from assistant.store.milvus import close_clients

        close_clients()


def test_a_second_process_on_a_milvus_lite_kb_gets_a_clear_message(tmp_path):
    settings = make_settings(tmp_path / "kb", store="milvus")
    try:
        _add(settings, DOCS[0])
        script = (
            "from pathlib import Path; from tests.conftest import make_settings; from assistant.workspace import Workspace;"
            f"Workspace(make_settings(Path({str(settings.kb_dir)!r}), store='milvus')).documents()"
        )
        out = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=300)
        assert out.returncode != 0 and "milvus-lite server" in out.stderr
    finally:
        from assistant.store.milvus import close_clients

        close_clients()


def test_milvus_retrieves_as_faiss_does_on_the_dev_set(sample_kb_dir, tmp_path, searcher):
    """The sample KB moved into Milvus Lite (vectors reused) retrieves within 0.02 of the FAISS store."""
    from assistant.evaluate import evaluate_items, load_items

    from .conftest import DATA

    kb_dir = tmp_path / "kb"
    shutil.copytree(sample_kb_dir, kb_dir)
    settings = make_settings(kb_dir, store="milvus")
    try:
        report = build(kb_dir, settings, embedder=searcher.embedder)
        assert report.embedded == 0 and report.sections == len(searcher.kb.sections)
        milvus = Searcher.open(settings, embedder=searcher.embedder)
        items = load_items(DATA / "devset.jsonl")
        ours = evaluate_items(milvus, items).as_dict()["overall"]
        theirs = evaluate_items(searcher, items).as_dict()["overall"]
        for metric in ("recall@1", "recall@5"):
            assert ours[metric] >= theirs[metric] - 0.02, (ours, theirs)
        assert open_store(settings).read().section_count() == len(searcher.kb.sections)
    finally:
        from assistant.store.milvus import close_clients

        close_clients()
