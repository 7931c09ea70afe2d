"""LangChain's own standard tests for retrievers, run against HybridRetriever over the sample KB."""
from __future__ import annotations

from typing import Any

import pytest
from langchain_tests.integration_tests import RetrieversIntegrationTests

from assistant.retrieve import HybridRetriever, Searcher


# The async standard test needs pytest-asyncio's mark; on the sync ones it is only noted, so not shown.
@pytest.mark.asyncio
@pytest.mark.filterwarnings("ignore:The test <Function test_.*asyncio:pytest.PytestWarning")
class TestHybridRetrieverStandard(RetrieversIntegrationTests):
    @pytest.fixture(autouse=True)
    def _searcher(self, searcher: Searcher) -> None:
        # The standard tests build the retriever from `retriever_constructor_params`, a property.
        self.searcher = searcher

    @property
    def retriever_constructor(self) -> type[HybridRetriever]:
        return HybridRetriever

    @property
    def retriever_constructor_params(self) -> dict[str, Any]:
        return {"searcher": self.searcher}

    @property
    def retriever_query_example(self) -> str:
        return "机关党建工作责任制"
