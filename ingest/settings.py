"""The one settings object: defaults < `.env` < environment (ASKPAPERS_*) < CLI flags.

Nothing else in askpapers reads `os.environ` for configuration.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_COLLECTION = "askpapers"


def _default_index_dir() -> Path:
    import platformdirs

    return Path(platformdirs.user_data_dir("askpapers")) / "index"


class Settings(BaseSettings):
    """askpapers configuration. Every field can be set as ASKPAPERS_<FIELD> or in `.env`."""

    model_config = SettingsConfigDict(
        env_prefix="ASKPAPERS_",
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        populate_by_name=True,
    )

    # --- where the index lives
    index_dir: Path = Field(
        default_factory=_default_index_dir,
        description="Embedded Chroma + BM25 directory (ignored for Chroma data when chroma_url is set).",
    )
    chroma_url: str | None = Field(None, description="Use a Chroma server, e.g. http://127.0.0.1:8000.")
    collection: str = Field(DEFAULT_COLLECTION, description="Chroma collection name.")
    cache_dir: Path | None = Field(
        None, description="Where the BM25 side index is kept in server mode (default: under index_dir)."
    )

    # --- embeddings
    embed_model: str = Field(
        "all-MiniLM-L6-v2-int8",
        description="Bundled offline model (default) or a model name served by embed_base_url.",
    )
    embed_base_url: str | None = Field(None, description="OpenAI-compatible embeddings endpoint.")
    embed_batch_size: int = Field(32, ge=1, description="Texts per embedding call.")

    # --- chunking
    chunk_size: int = Field(192, ge=32, description="Chunk size in tiktoken (cl100k) tokens.")
    chunk_overlap: int = Field(32, ge=0, description="Token overlap between chunks of one abstract.")

    # --- retrieval
    top_k: int = Field(5, ge=1, le=50, description="Papers shown to the answerer / returned by search.")

    # --- LLM (answers issue)
    llm_base_url: str | None = Field(None, description="OpenAI-compatible chat endpoint base URL.")
    llm_model: str | None = Field(None, description="Chat model name at llm_base_url.")
    llm_api_key: str | None = Field(
        None,
        validation_alias=AliasChoices("ASKPAPERS_LLM_API_KEY", "OPENAI_API_KEY"),
        description="API key (OPENAI_API_KEY also works); any non-empty string for local servers.",
    )
    llm_gguf: Path | None = Field(None, description="Serve this GGUF with llama.cpp in-process and use it.")
    llm_timeout: float = Field(30.0, gt=0, description="Seconds before an LLM call is abandoned.")
    llm_retries: int = Field(1, ge=0, description="Retries after a failed LLM call.")
    # --- chat page
    auth: str | None = Field(None, description="user:password required by `askpapers serve` (needed beyond 127.0.0.1).")

    embed_api_key: str | None = Field(
        None,
        validation_alias=AliasChoices("ASKPAPERS_EMBED_API_KEY", "OPENAI_API_KEY"),
        description="API key for embed_base_url.",
    )

    def with_overrides(self, **overrides) -> "Settings":
        """A copy with the non-None overrides applied (CLI flags land here)."""
        values = {k: v for k, v in overrides.items() if v is not None}
        if not values:
            return self
        # init arguments outrank env and .env, so this re-validates with the flags on top
        return type(self)(**{**self.model_dump(), **values})

    @property
    def side_index_dir(self) -> Path:
        if self.chroma_url:
            base = self.cache_dir or (self.index_dir / "server-cache")
            safe = "".join(c if c.isalnum() else "_" for c in self.chroma_url)
            return base / f"{safe}__{self.collection}"
        return self.cache_dir or self.index_dir


def get_settings(**overrides) -> Settings:
    return Settings().with_overrides(**overrides)
