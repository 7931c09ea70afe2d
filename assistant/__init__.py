"""Bigan (笔杆子): a retrieval-augmented writing assistant for Chinese official material.

Public surface:
    build_kb(paths)           index files or folders into the knowledge base
    Searcher.open(settings)   hybrid search over it
"""
from .config import Settings, get_settings

__all__ = ["Settings", "get_settings"]
