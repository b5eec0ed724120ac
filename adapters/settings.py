"""Settings: environment variables and `.env`, nested with `__` (see .env.example).

The profile follows from the URLs alone: `sqlite+aiosqlite://` + `memory://` + `qdrant-edge`
is the embedded profile (the default); `postgresql+asyncpg://` + `redis://` + `pgvector` or
`qdrant` is production; `memory://` everywhere is the in-memory fakes used by the BDD tests.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, SettingsConfigDict

from domain.errors import ConfigurationError

DEFAULT_DATA_DIR = ".mai"


class LMStudioSettings(BaseModel):
    base_url: str = "http://localhost:1234/v1"
    model: str = ""  # empty: auto-detect via GET /v1/models
    embedding_model: str = ""
    api_key: SecretStr = SecretStr("lm-studio")
    timeout_seconds: float = Field(default=60.0, gt=0)
    max_retries: int = Field(default=2, ge=0, le=10)
    # The model's context window in tokens; 0 = ask the server (LM Studio's
    # /api/v0/models, llama.cpp llama-server's /props). Set it for servers that do not
    # say, e.g. the bundled llama-cpp-python server (started with --n_ctx 4096).
    context_tokens: int = Field(default=0, ge=0)
    # How typed output (typed agents, fact extraction, LLM importance) is constrained:
    # `json_schema` = OpenAI's form (LM Studio, which refuses `json_object` with a 400,
    # llama.cpp's llama-server, vLLM, OpenAI); `json_object` = `response_format: {"type":
    # "json_object", "schema": …}`, the only form llama-cpp-python's server (the bundled
    # one) accepts: `make run` sets it when it is the bundled server that answers;
    # `tool` = no constrained decoding, the output is a tool call.
    structured_output: Literal["json_object", "json_schema", "tool"] = "json_schema"
    # Local-server quirks (defaults: what llama.cpp's servers need): the reply cap is sent
    # as `max_tokens` (true: `max_completion_tokens`, which they ignore), and tool calls
    # are never forced (`tool_choice: "required"` is a 500 there).
    max_completion_tokens: bool = False
    forced_tool_choice: bool = False

    @field_validator("base_url")
    @classmethod
    def _http_url(cls, v: str) -> str:
        if not v.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return v.rstrip("/")


class DatabaseSettings(BaseModel):
    url: str = f"sqlite+aiosqlite:///./{DEFAULT_DATA_DIR}/mai.db"
    pool_size: int = Field(default=10, ge=1, le=200)
    echo: bool = False

    @field_validator("url")
    @classmethod
    def _supported(cls, v: str) -> str:
        if v == "memory://" or v.startswith(("postgresql+asyncpg://", "sqlite+aiosqlite://")):
            return v
        raise ValueError(
            "must be postgresql+asyncpg://…, sqlite+aiosqlite:///… or memory:// (in-memory fakes)"
        )

    @property
    def backend(self) -> Literal["postgresql", "sqlite", "memory"]:
        if self.url.startswith("postgresql"):
            return "postgresql"
        if self.url.startswith("sqlite"):
            return "sqlite"
        return "memory"


class RedisSettings(BaseModel):
    url: str = "memory://"

    @field_validator("url")
    @classmethod
    def _supported(cls, v: str) -> str:
        if v == "memory://" or v.startswith(("redis://", "rediss://", "unix://")):
            return v
        raise ValueError("must be redis://…, rediss://… or memory:// (in-process)")


class QdrantSettings(BaseModel):
    url: str = ":memory:"
    api_key: SecretStr | None = None
    collection: str = "mai_memories"


class MemorySettings(BaseModel):
    vector_backend: Literal["pgvector", "qdrant", "qdrant-edge", "memory"] = "qdrant-edge"
    embedding_dim: int = Field(default=384, ge=8, le=8192)
    llm_importance: bool = False  # score importance with the chat model, not the heuristic
    # OpenMP threads of the bundled embedder; None = every core. On a shared or busy host 1
    # is faster (threads spin-wait for each other: 3-8 s per embedding measured under load).
    embedder_threads: int | None = Field(default=None, ge=1, le=256)
    # A write whose embedding is this close (cosine) to one of the user's memories updates
    # that memory instead of adding another (1.0: only exact repeats).
    dedup_similarity: float = Field(default=0.97, ge=0.5, le=1.0)
    # Hybrid search: weighted reciprocal rank fusion (chosen by leave-one-conversation-out on
    # LoCoMo's dev split; BENCHMARKS.md). `fusion_pool` candidates come from each side.
    fusion_dense_weight: float = Field(default=1.0, ge=0.0, le=10.0)
    fusion_lexical_weight: float = Field(default=3.0, ge=0.0, le=10.0)
    fusion_k: int = Field(default=30, ge=1, le=1000)
    fusion_pool: int = Field(default=50, ge=1, le=500)


class JWTSettings(BaseModel):
    secret_key: SecretStr = SecretStr("")  # empty: a random key kept in the data dir
    algorithm: Literal["HS256", "HS384", "HS512"] = "HS256"
    issuer: str = "mai-framework"
    audience: str = "mai-api"
    access_token_minutes: int = Field(default=15, ge=1, le=24 * 60)
    refresh_token_days: int = Field(default=14, ge=1, le=365)

    @field_validator("secret_key")
    @classmethod
    def _long_enough(cls, v: SecretStr) -> SecretStr:
        value = v.get_secret_value()
        if value and len(value) < 32:
            raise ValueError("must be at least 32 characters (or empty for a generated key)")
        return v


class SecuritySettings(BaseModel):
    bcrypt_rounds: int = Field(default=12, ge=4, le=16)


class AgentsSettings(BaseModel):
    dir: str = "config/agents"
    max_message_chars: int = Field(default=32_000, ge=1, le=1_000_000)


class PromptSettings(BaseModel):
    dir: str = "config/prompts"
    hot_reload: bool = False  # development: re-read changed prompt files (checked once a second)
    max_output_chars: int = Field(default=100_000, ge=100, le=10_000_000)
    cache_ttl: float = Field(default=3600.0, ge=0)  # rendered-result cache; 0 turns it off


class MCPServerConfig(BaseModel):
    """One MCP server whose tools join the registry: a command run over stdio, or a URL."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    name: str = Field(pattern=r"^[a-z][a-z0-9_-]{0,31}$")
    command: str | None = None
    args: list[str] = []
    env: dict[str, str] = {}
    url: str | None = None
    category: str = "mcp"
    requires_approval: list[str] = []  # tool names, or ["*"] for all of this server's tools
    timeout: float = Field(default=30.0, gt=0)

    @model_validator(mode="after")
    def _one_transport(self) -> MCPServerConfig:
        if (self.command is None) == (self.url is None):
            raise ValueError("set exactly one of command or url")
        return self


class ToolSettings(BaseModel):
    modules: list[str] = []  # import paths whose @tool functions are registered at start-up
    state_ttl: float = Field(default=2.0, ge=0)  # how stale another process's switch may be
    mcp_servers: list[MCPServerConfig] = []  # JSON list, e.g. [{"name":"files","command":…}]
    http_allowed_hosts: list[str] = []  # `http_get` exists only when this is not empty
    http_rate_limit: int = Field(default=30, ge=1)  # http_get calls per user per minute
    http_max_bytes: int = Field(default=200_000, ge=1000)


class DbosSettings(BaseModel):
    """The durable executor (PIPELINES__EXECUTOR=dbos): DBOS workflows on a shared queue."""

    system_database_url: str = ""  # empty: DATABASE__URL, or a SQLite file under DATA_DIR
    app_name: str = Field(default="mai", pattern=r"^[a-z0-9_-]{3,256}$")
    queue_name: str = "mai-pipelines"
    worker_concurrency: int = Field(default=4, ge=1, le=256)
    executor_id: str = ""  # empty: the host name; must be stable and unique per worker
    listen: bool = True  # false: this process only submits runs (API beside workers)
    polling_interval: float = Field(default=1.0, gt=0, le=60)


class PipelineSettings(BaseModel):
    dir: str = "config/pipelines"
    executor: Literal["in_process", "dbos"] = "in_process"
    cache_ttl: float = Field(default=3600.0, ge=0)  # intermediate results; 0 turns it off
    dbos: DbosSettings = DbosSettings()


class RateSpec(BaseModel):
    calls: int = Field(ge=1)
    period: float = Field(gt=0)  # seconds


class LimitSettings(BaseModel):
    """API protection: fixed-window limits counted in Redis (shared by every API process)."""

    enabled: bool = True
    login_per_ip: RateSpec = RateSpec(calls=30, period=60)
    login_per_user: RateSpec = RateSpec(calls=10, period=300)  # brute-force throttle
    register_per_ip: RateSpec = RateSpec(calls=20, period=3600)
    chat_per_user: RateSpec = RateSpec(calls=60, period=60)
    chat_per_ip: RateSpec = RateSpec(calls=120, period=60)


class ObservabilitySettings(BaseModel):
    otlp_endpoint: str = ""  # e.g. http://collector:4318: traces of agent runs over OTLP/HTTP
    service_name: str = "mai"
    include_content: bool = True  # prompts and replies in the spans
    sentry_dsn: SecretStr | None = None
    sentry_traces_sample_rate: float = Field(default=0.0, ge=0, le=1)

    @field_validator("otlp_endpoint")
    @classmethod
    def _http(cls, v: str) -> str:
        if v and not v.startswith(("http://", "https://")):
            raise ValueError("must be an http(s):// URL of an OTLP/HTTP collector")
        return v


class APISettings(BaseModel):
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    cors_origins: list[str] = []
    max_body_bytes: int = Field(default=1_048_576, ge=1024)
    security_headers: bool = True  # nosniff, frame-deny, no-referrer, CSP on API responses
    hsts: bool = False  # Strict-Transport-Security: only behind TLS
    graceful_shutdown_seconds: float = Field(default=20.0, ge=0)  # open streams may finish
    console_dir: str = ""  # the built web console (`make web`); empty: web/dist of the checkout


class LogSettings(BaseModel):
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    format: Literal["auto", "console", "json"] = "auto"


class Settings(BaseSettings):
    """Every knob of the framework. Read once per process through `get_settings()`."""

    model_config = SettingsConfigDict(
        env_file=".env",
        env_file_encoding="utf-8",
        env_nested_delimiter="__",
        extra="ignore",
        case_sensitive=False,
    )

    environment: Literal["development", "production", "test"] = "development"
    data_dir: str = DEFAULT_DATA_DIR
    lm_studio: LMStudioSettings = LMStudioSettings()
    database: DatabaseSettings = DatabaseSettings()
    redis: RedisSettings = RedisSettings()
    qdrant: QdrantSettings = QdrantSettings()
    memory: MemorySettings = MemorySettings()
    jwt: JWTSettings = JWTSettings()
    security: SecuritySettings = SecuritySettings()
    agents: AgentsSettings = AgentsSettings()
    prompts: PromptSettings = PromptSettings()
    tools: ToolSettings = ToolSettings()
    pipelines: PipelineSettings = PipelineSettings()
    limits: LimitSettings = LimitSettings()
    observability: ObservabilitySettings = ObservabilitySettings()
    api: APISettings = APISettings()
    log: LogSettings = LogSettings()

    @property
    def profile(self) -> str:
        """A human name for the active combination of adapters."""
        if self.database.backend == "memory":
            return "memory"
        if self.database.backend == "sqlite" and self.redis.url == "memory://":
            return "embedded"
        return "production" if self.database.backend == "postgresql" else "custom"


def load_settings(**overrides: object) -> Settings:
    """Build settings, turning a validation error into one line naming the variable."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        err = exc.errors()[0]
        variable = "__".join(str(p) for p in err["loc"]).upper() or "settings"
        raise ConfigurationError(
            f"Invalid setting {variable}: {str(err['msg']).removeprefix('Value error, ')}",
            details={"variable": variable},
        ) from None


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return load_settings()
