"""All settings in one place: environment variables prefixed BIGAN_, or a TOML file.

The file is `bigan.toml` in the working directory, or the path in BIGAN_CONFIG.
Environment variables win over the file.
"""
from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

from pydantic import Field
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

    # Embedding
    embedding_model: str = Field(
        DEFAULT_MODEL,
        description="'embeddinggemma-300m' (fetched by `bigan model fetch`), a local "
        "sentence-transformers folder, or a model name already in the Hugging Face cache.",
    )
    embedding_batch_size: int = 16

    # Sections
    chunk_tokens: int = Field(320, description="Token budget of one section (tiktoken count).")
    min_chunk_tokens: int = Field(48, description="Smaller fragments merge with a neighbour.")
    token_encoding: str = "cl100k_base"

    # Hybrid search
    dense_weight: float = Field(0.5, description="Share of the dense score in the fused score; BM25 gets the rest.")
    candidates: int = Field(50, description="Hits taken from each retriever before fusion.")

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
