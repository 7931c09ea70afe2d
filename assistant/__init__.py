"""Bigan (笔杆子): a retrieval-augmented writing assistant for Chinese official material.

The library, in the order data flows:
    assistant.kb.build(root, settings, add=[paths])   files → sections → FAISS + BM25 index
    assistant.retrieve.Searcher.open(settings)        hybrid search over it (.search, .search_many)
    assistant.retrieve.HybridRetriever                the same as a LangChain retriever
Settings come from assistant.config.get_settings() (BIGAN_* variables or bigan.toml).
"""
from .config import Settings, get_settings

__all__ = ["Settings", "get_settings"]
