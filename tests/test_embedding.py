import os
import subprocess
import sys

import numpy as np
import pytest
from langchain_core.embeddings import DeterministicFakeEmbedding, FakeEmbeddings

from assistant.components import embedding
from assistant.components.embedding import (
    Embedder, LangChainEmbedder, OnnxEmbedder, TorchEmbedder, choose_backend, get_embedder, langchain_fingerprint, normalise,
    resolve_model, truncate,
)
from assistant.components.onnx_export import MAX_INT8_WEIGHT, MODEL_FILE, exported_dir
from assistant.errors import BiganError, ModelMissingError
from assistant.kb import KnowledgeBase, build, embed_text
from assistant.retrieve import Searcher

from .conftest import make_settings


def test_auto_takes_the_onnx_copy_when_it_exists(tmp_path):
    settings = make_settings(tmp_path)
    assert choose_backend(settings, resolve_model(settings)[1])[0] == "onnx-int8"  # `make setup` runs `bigan model optimize`
    assert get_embedder(settings).backend == "onnx-int8"


def test_auto_without_the_onnx_copy_falls_back_to_torch(tmp_path, monkeypatch):
    monkeypatch.setattr(embedding, "exported_dir", lambda cache, fp: tmp_path / "no-export")
    settings = make_settings(tmp_path)
    for supported, expected in ((True, "torch-bf16"), (False, "torch-fp32")):
        monkeypatch.setattr(embedding, "bf16_supported", lambda: supported)
        assert choose_backend(settings, resolve_model(settings)[1]) == (expected, None)


def test_asking_for_a_missing_onnx_copy_says_how_to_make_it(tmp_path, monkeypatch):
    monkeypatch.setattr(embedding, "exported_dir", lambda cache, fp: tmp_path / "no-export")
    with pytest.raises(ModelMissingError, match="bigan model optimize"):
        choose_backend(make_settings(tmp_path, embedding_backend="onnx-int8"), "model:0")
    with pytest.raises(BiganError, match="unknown embedding backend 'gpu'"):
        choose_backend(make_settings(tmp_path, embedding_backend="gpu"), "model:0")


def test_truncation_keeps_the_head_and_renormalises():
    vectors = np.array([[3.0, 4.0, 12.0], [1.0, 0.0, 0.0]], dtype=np.float32)
    cut = truncate(vectors, 2)
    assert cut.shape == (2, 2)
    assert np.allclose(cut[0], [0.6, 0.8]) and np.allclose(np.linalg.norm(cut, axis=1), 1.0)
    assert truncate(vectors, 0) is vectors
    assert np.allclose(np.linalg.norm(normalise(vectors), axis=1), 1.0)


def test_backends_agree_with_fp32(sample_kb, tmp_path):
    settings = make_settings(tmp_path)
    source, fingerprint = resolve_model(settings)
    texts = [embed_text(s) for s in sample_kb.sections[:12]]
    reference = TorchEmbedder(source, fingerprint, 8, bf16=False).encode_documents(texts)
    int8 = OnnxEmbedder(exported_dir(settings.cache_dir, fingerprint), fingerprint)
    for vectors in (TorchEmbedder(source, fingerprint, 8, bf16=True).encode_documents(texts), int8.encode_documents(texts)):
        assert vectors.shape == reference.shape and vectors.dtype == np.float32
        assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)
        cosines = np.sum(vectors * reference, axis=1)
        # Every section, not the mean: one bad vector is a document retrieval misses.
        assert cosines.min() >= 0.97, np.round(cosines, 4)
        # Each section is still its own nearest neighbour among the fp32 vectors.
        assert (np.argmax(vectors @ reference.T, axis=1) == np.arange(len(texts))).all()
    # A text's vector does not depend on what it is encoded with: the KB reuses vectors by text.
    one_by_one = np.vstack([int8.encode_documents([t]) for t in texts[:4]])
    assert np.allclose(one_by_one, int8.encode_documents(texts[:4]), atol=1e-5)


def test_int8_weights_cannot_saturate_on_cpus_without_vnni(tmp_path):
    """The guard for CPUs this suite does not run on: without VNNI, ONNX Runtime sums pairs of u8*s8
    products in a saturating int16 (vpmaddubsw), so 2 * 255 * max|w| must stay below 32768."""
    import onnx
    from onnx import numpy_helper

    settings = make_settings(tmp_path)
    graph = onnx.load(str(exported_dir(settings.cache_dir, resolve_model(settings)[1]) / MODEL_FILE)).graph
    weights = {init.name: init for init in graph.initializer}
    matmuls = [node for node in graph.node if node.op_type == "MatMulInteger"]
    assert matmuls
    for node in matmuls:
        assert weights[node.input[1]].data_type == onnx.TensorProto.INT8
        assert np.abs(numpy_helper.to_array(weights[node.input[1]]).astype(np.int32)).max() <= MAX_INT8_WEIGHT, node.name
    assert 2 * 255 * MAX_INT8_WEIGHT <= np.iinfo(np.int16).max


def test_matryoshka_kb_searches_with_truncated_queries(tmp_path, corpus_copy):
    settings = make_settings(tmp_path / "kb", embedding_dim=256)
    build(settings.kb_dir, settings, add=[corpus_copy])
    kb = KnowledgeBase.load(settings.kb_dir)
    assert kb.index.d == 256 and kb.manifest["embedding"]["dimension"] == 256
    assert np.allclose(np.linalg.norm(kb.vectors(), axis=1), 1.0, atol=1e-3)
    assert "三级" in Searcher.open(settings).search("三级责任", 1)[0].section.text


def test_switching_backend_reembeds_everything(tmp_path, corpus_copy):
    kb_dir = tmp_path / "kb"
    first = build(kb_dir, make_settings(kb_dir), add=[corpus_copy])
    second = build(kb_dir, make_settings(kb_dir, embedding_backend="torch-bf16"), add=[corpus_copy])
    assert second.rebuilt and second.embedded == second.sections == first.sections
    assert KnowledgeBase.load(kb_dir).manifest["embedding"]["backend"] == "torch-bf16"


_OFFLINE_LOAD = """
import os, socket, sys
from transformers.utils import logging as hf_logging

def no_network(*args, **kwargs):
    raise AssertionError("the model load reached for the network")

socket.socket.connect = no_network
socket.getaddrinfo = no_network
quiet = (hf_logging.get_verbosity(), hf_logging.is_progress_bar_enabled())
from assistant.components.embedding import choose_backend, load_embedder, resolve_model
from assistant.config import Settings

for backend in ("onnx-int8", "torch-fp32"):
    settings = Settings(kb_dir=sys.argv[1], embedding_backend=backend)
    source, fingerprint = resolve_model(settings)
    embedder = load_embedder(source, fingerprint, backend, choose_backend(settings, fingerprint)[1], 8)
    assert embedder.encode_query("机关党建").shape == (embedder.dimension,)
assert (hf_logging.get_verbosity(), hf_logging.is_progress_bar_enabled()) == quiet, "logging left changed"
print("loaded offline")
"""


def test_models_load_from_local_files_with_no_offline_switch(tmp_path):
    """local_files_only is what keeps a load off the network; HF_HUB_OFFLINE is not set for the process."""
    env = {k: v for k, v in os.environ.items() if k not in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "TRANSFORMERS_VERBOSITY")}
    done = subprocess.run([sys.executable, "-c", _OFFLINE_LOAD, str(tmp_path)], env=env, capture_output=True, text=True)
    assert done.returncode == 0 and "loaded offline" in done.stdout, done.stderr[-2000:]


def test_a_langchain_embeddings_becomes_bigan_s_embedder():
    fake = DeterministicFakeEmbedding(size=48)
    embedder = Embedder.from_langchain(fake)
    assert isinstance(embedder, LangChainEmbedder) and embedder.backend == "langchain"
    assert embedder.dimension == 48
    vectors = embedder.encode_documents(["第一段", "第二段", "第三段"])
    assert vectors.shape == (3, 48) and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert np.allclose(embedder.encode_query("第二段"), vectors[1], atol=1e-6)  # the fake embeds queries as documents
    assert embedder.encode_documents([]).shape == (0, 48)
    assert Embedder.from_langchain(embedder) is embedder


def test_a_wrapped_embeddings_is_fingerprinted_by_class_and_model():
    assert langchain_fingerprint(DeterministicFakeEmbedding(size=48)) == (
        "langchain:langchain_core.embeddings.fake.DeterministicFakeEmbedding:size=48"
    )
    assert langchain_fingerprint(DeterministicFakeEmbedding(size=64)) != langchain_fingerprint(DeterministicFakeEmbedding(size=48))
    assert langchain_fingerprint(FakeEmbeddings(size=48)) != langchain_fingerprint(DeterministicFakeEmbedding(size=48))
    assert Embedder.from_langchain(DeterministicFakeEmbedding(size=48), fingerprint="bge-m3@intranet").fingerprint == "bge-m3@intranet"


def test_a_kb_built_with_a_wrapped_embeddings_opens_only_with_it(tmp_path, corpus_copy):
    settings = make_settings(tmp_path / "kb")
    embedder = Embedder.from_langchain(DeterministicFakeEmbedding(size=64))
    report = build(settings.kb_dir, settings, add=[corpus_copy], embedder=embedder)
    assert report.embedded == report.sections > 0
    hits = Searcher.open(settings, embedder=Embedder.from_langchain(DeterministicFakeEmbedding(size=64))).search("两廊两室", 3)
    assert "两廊两室" in hits[0].section.text  # BM25 finds it whatever the fake vectors say
    for other in (Embedder.from_langchain(FakeEmbeddings(size=64)), Embedder.from_langchain(DeterministicFakeEmbedding(size=32)), None):
        with pytest.raises(BiganError, match="built with embedding model"):
            Searcher.open(settings, embedder=other)  # None: the configured model
