import numpy as np
import pytest

from assistant.components import embedding
from assistant.components.embedding import (
    OnnxEmbedder, TorchEmbedder, choose_backend, get_embedder, normalise, resolve_model, truncate,
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
