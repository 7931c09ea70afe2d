from pathlib import Path

from assistant.config import Settings


def test_environment_overrides(monkeypatch):
    monkeypatch.setenv("BIGAN_CHUNK_TOKENS", "200")
    monkeypatch.setenv("BIGAN_KB_DIR", "/srv/kb")
    settings = Settings()
    assert settings.chunk_tokens == 200 and settings.kb_dir == Path("/srv/kb")


def test_toml_file_and_precedence(tmp_path, monkeypatch):
    config = tmp_path / "bigan.toml"
    config.write_text('chunk_tokens = 256\nembedding_model = "/models/bge"\n', encoding="utf-8")
    monkeypatch.setenv("BIGAN_CONFIG", str(config))
    assert Settings().chunk_tokens == 256 and Settings().embedding_model == "/models/bge"
    monkeypatch.setenv("BIGAN_CHUNK_TOKENS", "128")
    assert Settings().chunk_tokens == 128
