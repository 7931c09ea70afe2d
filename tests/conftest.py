"""Shared fixtures. Tests run against the real files and the real embedding model (fetched by `make setup`)."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from assistant.config import Settings
from assistant.kb import KnowledgeBase, build
from assistant.retrieve import Searcher

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "corpus"
DATA = Path(__file__).resolve().parent / "data"


def make_settings(kb_dir: Path, **overrides) -> Settings:
    return Settings(kb_dir=kb_dir, corpus_dir=CORPUS, **overrides)


@pytest.fixture(scope="session")
def sample_kb_dir(tmp_path_factory) -> Path:
    kb_dir = tmp_path_factory.mktemp("sample_kb")
    build(kb_dir, make_settings(kb_dir), add=[CORPUS])
    return kb_dir


@pytest.fixture(scope="session")
def sample_kb(sample_kb_dir) -> KnowledgeBase:
    return KnowledgeBase.load(sample_kb_dir)


@pytest.fixture(scope="session")
def searcher(sample_kb_dir) -> Searcher:
    return Searcher.open(make_settings(sample_kb_dir))


@pytest.fixture
def corpus_copy(tmp_path) -> Path:
    """Two sample documents in a folder a test may change."""
    folder = tmp_path / "docs"
    folder.mkdir()
    for name in ("004_1cbbaef2f0fcc76e.txt", "000_d6b92f23921d179d.txt"):
        shutil.copy(CORPUS / name, folder / name)
    return folder


@pytest.fixture
def stub():
    from .llm_stub import StubLLM

    with StubLLM() as server:
        yield server


def llm_settings(kb_dir: Path, stub, **overrides) -> Settings:
    values = dict(llm_base_url=stub.base_url, llm_model="qwen-stub", llm_api_key="sk-test-SECRET-0123456789", llm_max_retries=0)
    values.update(overrides)
    return make_settings(kb_dir, **values)
