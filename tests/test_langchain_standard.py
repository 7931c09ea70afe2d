"""LangChain's own standard tests for retrievers, run against HybridRetriever.

The KB is two sample documents embedded by LangChain's fake embeddings (wrapped as Bigan's embedder):
the standard tests check the retriever's interface, not the model.
"""
from __future__ import annotations

from typing import Any

import pytest
from langchain_core.embeddings import DeterministicFakeEmbedding
from langchain_tests.integration_tests import RetrieversIntegrationTests

from assistant.components.embedding import Embedder
from assistant.kb import build
from assistant.retrieve import HybridRetriever, Searcher

from .conftest import CORPUS, make_settings


@pytest.fixture(scope="module")
def small_searcher(tmp_path_factory) -> Searcher:
    settings = make_settings(tmp_path_factory.mktemp("kb"))
    embedder = Embedder.from_langchain(DeterministicFakeEmbedding(size=64))
    build(settings.kb_dir, settings, add=[CORPUS / "000_d6b92f23921d179d.txt", CORPUS / "004_1cbbaef2f0fcc76e.txt"], embedder=embedder)
    return Searcher.open(settings, embedder=embedder)


# The async standard test needs pytest-asyncio's mark; on the sync ones it is only noted, so not shown.
@pytest.mark.asyncio
@pytest.mark.filterwarnings("ignore:The test <Function test_.*asyncio:pytest.PytestWarning")
class TestHybridRetrieverStandard(RetrieversIntegrationTests):
    @pytest.fixture(autouse=True)
    def _searcher(self, small_searcher: Searcher) -> None:
        # The standard tests build the retriever from `retriever_constructor_params`, a property.
        self.searcher = small_searcher

    @property
    def retriever_constructor(self) -> type[HybridRetriever]:
        return HybridRetriever

    @property
    def retriever_constructor_params(self) -> dict[str, Any]:
        return {"searcher": self.searcher}

    @property
    def retriever_query_example(self) -> str:
        return "机关党建工作责任制"
