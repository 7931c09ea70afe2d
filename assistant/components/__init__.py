"""Pluggable backends (embedding model, LLM), each chosen by one setting."""
