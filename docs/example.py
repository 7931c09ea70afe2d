"""Bigan from Python: index a folder, search it, ask it. Offline: no chat model is configured.

    python docs/example.py corpus /tmp/my-kb
"""
import sys
from pathlib import Path

from assistant import Settings
from assistant.answer import ask
from assistant.kb import build
from assistant.retrieve import Searcher

folder, kb_dir = Path(sys.argv[1]), Path(sys.argv[2])
# Settings are BIGAN_* variables and bigan.toml; arguments given here win over both.
settings = Settings(kb_dir=kb_dir, llm_provider="none")

# Files → sections → vectors and BM25. Run it again after edits: only changed files are re-read.
report = build(kb_dir, settings, add=[folder])
print(report.summary())

# Hybrid search (dense + BM25, fused); HybridRetriever(searcher=searcher) is the same as a LangChain retriever.
searcher = Searcher.open(settings)
for hit in searcher.search("两廊两室", k=3):
    print(f"{hit.score:.2f}  {hit.section.title} › {hit.section.heading}")

# With no model the answer is extractive: the best sentences of the passages, marked [n].
# To use a model, pass one: llm=LLM.from_langchain(ChatOllama(model="qwen2.5:7b")), with
# `from assistant.components.llm import LLM`, or set BIGAN_LLM_BASE_URL and use get_llm(settings).
answer = ask("局机关建成的“两廊两室”具体指什么？", [], searcher, settings, llm=None)
print(answer.answer)
for c in answer.citations:
    print(f"[{c.n}] {c.title} › {c.heading}")
