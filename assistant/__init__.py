"""Bigan (笔杆子): a retrieval-augmented writing assistant for Chinese official material.

The library, in the order data flows (docs/example.py runs the first three):
    assistant.kb.build(root, settings, add=[paths])   files → sections → vectors + BM25 index
    assistant.retrieve.Searcher.open(settings)        hybrid search over it (.search, .search_many)
    assistant.answer.ask(question, history, searcher, settings, llm)   a cited answer; llm=None: extractive
    assistant.retrieve.HybridRetriever                the search as a LangChain retriever
Settings come from assistant.config.get_settings() (BIGAN_* variables or bigan.toml) or Settings(...).
Models can be passed in instead of configured: Embedder.from_langchain(embeddings) as `embedder=` to
build and Searcher.open, LLM.from_langchain(chat_model) as `llm`. Importing changes no process state.
"""
from .config import Settings, get_settings

__all__ = ["Settings", "get_settings"]
