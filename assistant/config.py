"""All settings in one place: environment variables prefixed BIGAN_, or a TOML file.

The file is `bigan.toml` in the working directory, or the path in BIGAN_CONFIG.
Environment variables win over the file.
"""
from __future__ import annotations

import os
import tempfile
from functools import lru_cache
from pathlib import Path

from pydantic import AliasChoices, Field, SecretStr, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

DEFAULT_MODEL = "embeddinggemma-300m"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="BIGAN_", extra="ignore")

    # Where things live
    kb_dir: Path = Field(Path("index"), description="Knowledge-base folder.")
    corpus_dir: Path = Field(Path("corpus"), description="Default folder for `bigan index`.")
    cache_dir: Path = Field(
        Path.home() / ".cache" / "bigan",
        description="Model cache, shared by every clone on this machine.",
    )

    prompts_dir: Path | None = Field(
        None, description="A folder of prompt templates replacing the shipped ones of the same name; unset: the package's own."
    )

    # Embedding
    embedding_model: str = Field(
        DEFAULT_MODEL,
        description="'embeddinggemma-300m' (fetched by `bigan model fetch`), a local "
        "sentence-transformers folder, or a model name already in the Hugging Face cache.",
    )
    embedding_backend: str = Field(
        "auto",
        description="'onnx-int8' (needs `bigan model optimize`), 'torch-bf16', 'torch-fp32', or 'auto': "
        "the fastest this machine supports.",
    )
    embedding_dim: int = Field(
        0, description="Keep the first N components of each vector (Matryoshka: 512, 256 or 128); 0 keeps all."
    )
    embedding_batch_size: int = 16

    # Sections
    chunk_tokens: int = Field(320, description="Token budget of one section (tiktoken count).")
    min_chunk_tokens: int = Field(48, description="Smaller fragments merge with a neighbour.")
    token_encoding: str = "cl100k_base"

    # Hybrid search
    dense_weight: float = Field(0.6, description="Share of the dense score in the fused score; BM25 gets the rest.")
    candidates: int = Field(50, description="Hits taken from each retriever before fusion.")
    doc_weight: float = Field(
        0.5, description="Lift for sections of a document the question names (title words, file name, year) and for the part it points at (第二部分, 第三条)."
    )

    # Language model: any OpenAI-compatible chat endpoint (DeepSeek, Qwen, vLLM, Ollama /v1, …)
    llm_provider: str = Field(
        "auto", description="'openai' (any OpenAI-compatible endpoint), 'none' (offline), or 'auto': "
        "openai when a base URL or API key is set, else none."
    )
    llm_base_url: str = Field("", description="e.g. http://127.0.0.1:11434/v1 for Ollama; falls back to OPENAI_BASE_URL.")
    llm_model: str = Field("", description="Model name as the endpoint knows it, e.g. qwen2.5:14b or deepseek-chat.")
    llm_api_key: SecretStr = Field(SecretStr(""), description="Falls back to OPENAI_API_KEY.")
    llm_temperature: float = 0.3
    llm_max_tokens: int = Field(1024, description="Most tokens one reply may have.")
    llm_context_window: int = Field(8192, description="The model's context window, in tokens.")
    llm_timeout: float = Field(60.0, description="Seconds to wait to connect, for the first token, and between tokens.")
    llm_deadline: float = Field(
        0.0, description="Most seconds one reply may take in all, retries included; 0 means 5 x llm_timeout."
    )
    llm_max_retries: int = Field(2, description="Retries (with backoff, within the deadline) of refused connections, 429, 502, 503 and 504.")
    answer_passages: int = Field(6, description="Passages retrieved for one answer.")

    # Store: where sections, vectors and BM25 live
    store: str = Field("faiss", description="'faiss' (FAISS + BM25 files in kb_dir, embedded) or 'milvus'.")
    milvus_uri: str = Field(
        "", description="Milvus: a local path (Milvus Lite, one process) or http(s)://host:19530; empty means kb_dir/milvus.db."
    )
    milvus_token: SecretStr = Field(SecretStr(""), description="Milvus: 'user:password' or an API token.")

    # Web app and API (`python app.py`, `bigan serve`); hosting platforms set Gradio's own variables.
    server_host: str = Field(
        "127.0.0.1", description="Address to listen on; 0.0.0.0 to serve a network.",
        validation_alias=AliasChoices("BIGAN_SERVER_HOST", "GRADIO_SERVER_NAME", "server_host"),
    )
    server_port: int = Field(7860, validation_alias=AliasChoices("BIGAN_SERVER_PORT", "GRADIO_SERVER_PORT", "server_port"))
    api_keys: SecretStr = Field(
        SecretStr(""), description="Comma-separated keys for the /v1 API; with none set the API serves only a loopback address."
    )
    api_max_request_kb: int = Field(256, description="Largest /v1 request body.")
    api_max_messages: int = Field(64, description="Most messages in one chat completion request.")
    demo: bool = Field(False, description="Hosted demo: the KB is read-only, limits apply, no server paths shown.")
    demo_uploads: str = Field("session", description="In the demo, 'session' (uploads go to a private copy of the KB) or 'off'.")
    max_upload_mb: int = Field(20, description="Largest file the web app accepts.")
    max_question_chars: int = Field(2000, description="Longest question or drafting request the web app accepts.")
    queue_concurrency: int = Field(4, description="KB-page searches computed at once (CPU-bound); more wait in the queue.")
    session_ttl_s: int = Field(3600, description="A demo session's private KB is deleted this long after its last use.")
    answer_concurrency: int = Field(
        32, description="Answers and drafts streamed at once. They wait on the model, not the CPU, so a few slow "
        "replies must not hold every slot; each is bounded by the LLM deadline. More wait in the queue."
    )
    runtime_dir: Path = Field(
        Path(tempfile.gettempdir()) / "bigan",
        description="Where the web app keeps temporary files (session KBs, drafts, uploads), one folder per "
        "running server; folders of servers that are gone are removed on start.",
    )
    max_upload_files: int = Field(20, description="Most files in one upload.")
    max_draft_chars: int = Field(10000, description="Longest draft the web app writes, in characters.")
    max_eval_kb: int = Field(1024, description="Largest question file for the web app's retrieval evaluation.")
    max_eval_lines: int = Field(500, description="Most lines in that question file.")

    @model_validator(mode="after")
    def _openai_fallbacks(self) -> "Settings":
        # The usual OpenAI variables apply only where the project's own settings are absent.
        if not self.llm_base_url:
            self.llm_base_url = os.environ.get("OPENAI_BASE_URL", "")
        if not self.llm_api_key.get_secret_value():
            self.llm_api_key = SecretStr(os.environ.get("OPENAI_API_KEY", ""))
        return self

    @property
    def api_key_list(self) -> list[str]:
        return [key.strip() for key in self.api_keys.get_secret_value().split(",") if key.strip()]

    @property
    def llm_backend(self) -> str:
        if self.llm_provider != "auto":
            return self.llm_provider
        return "openai" if self.llm_base_url or self.llm_api_key.get_secret_value() else "none"

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        toml_path = Path(os.environ.get("BIGAN_CONFIG", "bigan.toml"))
        return (init_settings, env_settings, TomlConfigSettingsSource(settings_cls, toml_path))

    @property
    def models_dir(self) -> Path:
        return self.cache_dir / "models"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
