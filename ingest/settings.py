"""The one settings object: defaults < `.env` < environment (ASKPAPERS_*) < CLI flags.

Nothing else in askpapers reads `os.environ` for configuration. A bad value raises
`SettingError` (an `AskpapersInputError`) naming the setting as it was given and the value:
"ASKPAPERS_TOP_K: must be ≥ 1 (got -3)". Paths are expanded (`~`) here, once, so Chroma, the
side index and the locks all use the same directory.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import AliasChoices, Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict, SettingsError

from .errors import SettingError

DEFAULT_COLLECTION = "askpapers"
_COLLECTION_NAME = re.compile(r"[a-zA-Z0-9](?:[a-zA-Z0-9._-]{1,510})[a-zA-Z0-9]")


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
    progress_interval: float = Field(
        3.0, gt=0, description="Seconds between ingest progress lines when stderr is not a terminal "
                               "(a terminal's live line is redrawn twice a second)."
    )

    ingest_lock_timeout: float = Field(
        600.0, ge=0,
        description="Seconds a second ingest, removal or upload waits for the one writing the index before it "
                    "fails with one line (0: fail at once). Readers never wait.",
    )

    # --- chunking
    chunk_size: int = Field(192, ge=32, description="Chunk size in tiktoken (cl100k) tokens.")
    chunk_overlap: int = Field(32, ge=0, description="Token overlap between chunks of one abstract.")

    # --- retrieval
    top_k: int = Field(5, ge=1, le=50, description="Papers shown to the answerer / returned by search.")
    # retrieval method (assistant/retrieve/): the defaults are the measured ones, see benchmarks/README.md
    retrieval_candidates: int = Field(100, ge=1, description="Papers taken from each retriever (dense, BM25) "
                                      "before fusion; at least 3 × k.")
    retrieval_fusion: Literal["rrf", "rrf-confidence", "score"] = Field(
        "rrf", description="How dense and BM25 rankings are fused: reciprocal rank fusion, RRF with each ranking "
                           "weighted by how far its head stands out, or weighted min-max scores."
    )
    retrieval_rrf_k: int = Field(60, ge=1, description="k of reciprocal rank fusion, Σ w / (k + rank) (Cormack et al.).")
    retrieval_weight_dense: float = Field(1.0, ge=0, description="Weight of the dense ranking in the fusion.")
    retrieval_weight_sparse: float = Field(1.0, ge=0, description="Weight of the BM25 ranking in the fusion.")
    retrieval_feedback: bool = Field(True, description="Re-rank the fused candidates after pseudo-relevance feedback.")
    retrieval_feedback_docs: int = Field(5, ge=1, description="Top papers taken as relevant by the feedback stage.")
    retrieval_feedback_vector_weight: float = Field(
        1.0, ge=0, description="Rocchio: the query vector plus this weight × the mean vector of those papers."
    )
    retrieval_feedback_terms: int = Field(10, ge=0, description="Characteristic terms of those papers added to the BM25 query.")
    retrieval_feedback_term_weight: float = Field(
        0.5, ge=0, description="Weight of the best added term (the others in proportion to their own weight)."
    )
    retrieval_rerankers: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Rerankers applied in order to the top hits (names in assistant/retrieve/registry.py); "
                    "in the environment a comma-separated list or a JSON list.",
    )
    retrieval_rerank_depth: int = Field(20, ge=1, description="Hits handed to the rerankers (at least k).")

    # --- LLM (answers issue)
    llm_base_url: str | None = Field(None, description="OpenAI-compatible chat endpoint base URL.")
    llm_model: str | None = Field(None, description="Chat model name at llm_base_url.")
    llm_api_key: str | None = Field(
        None,
        validation_alias=AliasChoices("ASKPAPERS_LLM_API_KEY", "OPENAI_API_KEY"),
        description="API key (OPENAI_API_KEY also works); any non-empty string for local servers.",
    )
    llm_gguf: Path | None = Field(None, description="Serve this GGUF with llama.cpp in-process and use it.")
    llm_timeout: float | None = Field(
        None, gt=0,
        description="Older single limit, kept for compatibility: when set, each of the four limits below is "
                    "at most this many seconds.",
    )
    llm_retries: int = Field(1, ge=0, description="Retries after a failed LLM call.")
    # the limits suit a local model on a CPU: a 1.5B model on 2 busy cores took 150 s to read a
    # 5-abstract prompt (first token), then writes a few tokens per second
    llm_connect_timeout: float = Field(
        5.0, gt=0, description="Seconds to open the connection: a server on this machine or the LAN answers at once."
    )
    llm_first_token_timeout: float = Field(
        300.0, gt=0,
        description="Seconds until the first token (the model reads the whole prompt first: minutes on a busy CPU).",
    )
    llm_token_gap_timeout: float = Field(
        60.0, gt=0,
        description="Longest pause between two tokens once the reply has started; SSE keep-alive comments "
                    "do not count as progress. A working model writes several tokens a second.",
    )
    llm_total_timeout: float = Field(
        600.0, gt=0, description="Seconds for the whole reply, first token and retries included."
    )
    llm_prompt_tokens: int = Field(
        350, ge=100,
        description="Token budget (cl100k) for the evidence sentences put in the prompt: small prompts give a "
                    "small model a fast first token and fewer places to go wrong.",
    )
    # --- chat page
    auth: str | None = Field(None, description="user:password required by `askpapers serve` (needed beyond 127.0.0.1).")
    host: str = Field("127.0.0.1", description="Address `askpapers serve` listens on (beyond loopback needs auth).")
    port: int = Field(7860, ge=0, le=65535, description="Port `askpapers serve` listens on (0: the first free one from 7860).")
    upload_max_mb: int = Field(50, ge=1, description="Largest file the chat page accepts for upload, in MB.")
    upload_max_records: int = Field(
        20_000, ge=1,
        description="Most records one upload may hold (all its files together); a file that would go over "
                    "is refused before anything is embedded. Use `askpapers ingest` for bigger collections.",
    )
    login_max_failures: int = Field(
        5, ge=1, description="Wrong logins one client address may try before it is locked out for a while."
    )
    login_lockout_seconds: float = Field(
        30.0, gt=0,
        description="First lockout after login_max_failures wrong logins; it doubles with each further "
                    "failure (at most 15 minutes) and a right login resets it.",
    )

    embed_api_key: str | None = Field(
        None,
        validation_alias=AliasChoices("ASKPAPERS_EMBED_API_KEY", "OPENAI_API_KEY"),
        description="API key for embed_base_url.",
    )

    def __init__(self, **values: Any) -> None:
        try:
            super().__init__(**values)
        except ValidationError as exc:
            raise _setting_error(exc, given=values) from None
        except SettingsError as exc:  # a value pydantic-settings could not even decode
            field = (re.findall(r'field "(\w+)"', str(exc)) or ["?"])[0]
            raise SettingError(_env_name(field), f"cannot be read ({exc.__cause__ or exc})", field) from None
        except UnicodeDecodeError as exc:  # only the .env file is decoded here
            env_file = Path(str(self.model_config.get("env_file") or ".env")).resolve()
            raise SettingError(str(env_file), f"not UTF-8 (byte 0x{exc.object[exc.start]:02x} at offset "
                                              f"{exc.start}); save it as UTF-8") from None

    @field_validator("index_dir", "cache_dir", "llm_gguf", mode="after")
    @classmethod
    def _expand_user(cls, path: Path | None) -> Path | None:
        return path.expanduser() if path is not None else None

    @field_validator("collection", mode="after")
    @classmethod
    def _collection_name(cls, name: str) -> str:
        # Chroma's own rule, checked here so the message says what a valid name is
        if not _COLLECTION_NAME.fullmatch(name):
            raise ValueError("must be a Chroma collection name: 3-512 letters, digits, '.', '_' or '-', "
                             "starting and ending with a letter or digit")
        return name

    @field_validator("retrieval_rerankers", mode="before")
    @classmethod
    def _split_names(cls, value: Any) -> Any:
        """"title-overlap,other" or '["title-overlap"]' from the environment; lists pass through."""
        if isinstance(value, str):
            text = value.strip()
            if text.startswith("["):
                import json

                try:
                    return json.loads(text)
                except ValueError:
                    raise ValueError("must be a JSON list of names or comma-separated names") from None
            return [name.strip() for name in text.split(",") if name.strip()]
        return value

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
    """The settings from `.env` and the environment, with the non-None overrides on top.

    Raises `SettingError` (an `AskpapersInputError`) naming the setting and its value.
    """
    return Settings().with_overrides(**overrides)


def _env_name(field: str) -> str:
    return f"{Settings.model_config.get('env_prefix', '')}{field}".upper()


def _setting_error(exc: ValidationError, given: dict[str, Any]) -> SettingError:
    """The first error as one line: the setting as it was given (keyword or variable) and the value."""
    err = exc.errors(include_url=False)[0]
    field = str(err["loc"][0]) if err["loc"] else "?"
    name = field if field in given else _env_name(field)
    value = err.get("input")
    shown = value if isinstance(value, str) and value.strip() == value and value else repr(value)
    shown = str(shown) if len(str(shown)) <= 80 else str(shown)[:77] + "..."
    return SettingError(name, f"{_problem(err)} (got {shown})", field)


_PROBLEMS = {
    "greater_than_equal": "must be ≥ {ge}",
    "greater_than": "must be > {gt}",
    "less_than_equal": "must be ≤ {le}",
    "less_than": "must be < {lt}",
    "int_parsing": "must be a whole number",
    "int_from_float": "must be a whole number",
    "int_type": "must be a whole number",
    "float_parsing": "must be a number",
    "float_type": "must be a number",
    "finite_number": "must be a finite number",
    "bool_parsing": "must be true or false",
    "bool_type": "must be true or false",
    "literal_error": "must be one of {expected}",
    "string_too_short": "must be at least {min_length} characters",
    "string_too_long": "must be at most {max_length} characters",
    "string_pattern_mismatch": "must match {pattern}",
}


def _problem(err: dict) -> str:
    template = _PROBLEMS.get(err["type"])
    if template:
        try:
            return template.format(**err.get("ctx", {}))
        except (KeyError, IndexError):
            pass
    msg = str(err.get("msg") or "invalid value").removeprefix("Value error, ").rstrip(".")
    return msg[:1].lower() + msg[1:]
