"""Settings, grouped by concern, read once through `get_settings()`.

Every knob comes from the environment (prefix-free names documented in the README) so the
same code runs with the embedded database, docker-compose, or a managed PostgreSQL.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import platformdirs
from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import make_url


def _default_data_dir() -> Path:
    return Path(platformdirs.user_data_dir("goldenthread"))


class DatabaseSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="", extra="ignore")

    database_url: str | None = Field(
        default=None, description="PostgreSQL URL; unset means the embedded server."
    )
    data_dir: Path = Field(
        default_factory=_default_data_dir,
        validation_alias="GOLDENTHREAD_DATA_DIR",
        description="Where the embedded PostgreSQL keeps its files.",
    )
    app_db_user: str = Field(
        default="goldenthread_app",
        pattern=r"^[a-z_][a-z0-9_]{0,62}$",
        validation_alias="GOLDENTHREAD_APP_DB_USER",
        description="The role the service connects as (row-level security binds it).",
    )
    app_db_password: SecretStr | None = Field(
        default=None,
        validation_alias="GOLDENTHREAD_APP_DB_PASSWORD",
        description="Its password; migrations set it on the role. Unneeded with trust auth.",
    )

    lock_wait_s: float = Field(
        default=30.0,
        gt=0,
        le=3600,
        validation_alias="GOLDENTHREAD_LOCK_WAIT_S",
        description="How long a write request waits for a lock (its organization's delete, a "
        "row another request holds) before it answers 503 and changes nothing.",
    )

    @field_validator("database_url")
    @classmethod
    def _psycopg_driver(cls, value: str | None) -> str | None:
        if not value:
            return None
        if value.startswith("postgres://"):
            value = "postgresql://" + value.removeprefix("postgres://")
        if value.startswith("postgresql://"):
            value = "postgresql+psycopg://" + value.removeprefix("postgresql://")
        if not value.startswith("postgresql+psycopg://"):
            raise ValueError("DATABASE_URL must be a postgresql:// URL")
        return value


class EmbeddingSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="GOLDENTHREAD_EMBED_", extra="ignore")

    batch_size: int = Field(default=64, ge=1, le=1024)


class LLMSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="GOLDENTHREAD_LLM_", extra="ignore")

    base_url: str | None = Field(default=None, description="OpenAI-compatible endpoint.")
    api_key: SecretStr | None = None
    model: str = "gpt-4o-mini"
    timeout_s: float = Field(default=30.0, gt=0)
    max_retries: int = Field(default=2, ge=0, le=10)
    # None: each prompt's own (its header); set, it replaces every prompt's.
    temperature: float | None = Field(default=None, ge=0, le=2)
    token_budget: int | None = Field(
        default=None, ge=1, description="Tokens each organization may spend per calendar month."
    )
    token_budgets: dict[str, int] = Field(
        default_factory=dict, description='Per-organization overrides, JSON: {"org-id": 50000}.'
    )

    def budget_for(self, org_id: str) -> int | None:
        return self.token_budgets.get(org_id, self.token_budget)

    @property
    def configured(self) -> bool:
        return bool(self.base_url)


class JobSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="GOLDENTHREAD_JOBS_", extra="ignore")
    max_attempts: int = Field(
        default=4,
        ge=0,
        le=20,
        description="Runs of a job in all, the first included (a passing failure is retried).",
    )
    backoff_s: int = Field(
        default=2, ge=0, le=600, description="Retry n waits backoff_s ** n seconds."
    )
    concurrency: int = Field(default=2, ge=1, le=64, description="Jobs one worker runs at once.")
    heartbeat_s: float = Field(default=2.0, gt=0, le=60, description="Worker heartbeat.")
    stalled_after_s: float = Field(
        default=15.0,
        gt=0,
        le=3600,
        description="A running job whose worker sent no heartbeat for this long is handed to "
        "another worker (its worker died; its transaction was rolled back with it).",
    )
    in_process_worker: bool = Field(
        default=True, description="`serve` and `demo` run a worker in the same process."
    )
    nice: int = Field(
        default=10,
        ge=0,
        le=19,
        description="Added to the job threads' nice value: on shared cores, embedding and "
        "scoring yield to requests (0: the same priority).",
    )


class WebhookSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="GOLDENTHREAD_WEBHOOKS_", extra="ignore")
    timeout_s: float = Field(default=10.0, gt=0, le=60)
    allow_private: bool = Field(
        default=False,
        description="Deliver to loopback and private addresses (off: a subscription could "
        "otherwise make the server call its own network).",
    )


class ServiceSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="GOLDENTHREAD_", extra="ignore")

    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    page_limit_max: int = Field(default=500, ge=1)
    max_body_bytes: int = Field(default=64 * 1024 * 1024, ge=1024)
    rate_limit_per_minute: int = Field(default=1200, ge=1)
    # Few: requests of one process take turns at the GIL, and past a few threads they only
    # make some requests wait for seconds (p99 1.1-2.7 s with 8, about 0.1 s with 2 to 4 on two
    # cores; docs/scaling.md). More cores scale with processes (`serve --workers N`).
    request_threads: int = Field(
        default=4, ge=1, le=200, description="Requests served at once per API process."
    )
    auth_cache_seconds: float = Field(
        default=5.0,
        ge=0,
        description="How long a process trusts a key it has checked (0: check every request). "
        "A key revoked through another process stops working within this time.",
    )
    cors_origins: list[str] = Field(
        default_factory=list, description="Origins allowed to call the API from a browser."
    )
    public_url: str | None = Field(
        default=None,
        pattern=r"^https?://[^/?#\s]+(/[^?#\s]*)?$",
        description="The service's address as people reach it (https://gt.example.org/): what an "
        "exported report's and a webhook payload's links start with. Unset: the address the "
        "request came to (for webhooks, the one the subscription was made through).",
    )
    env: str = Field(default="development", pattern="^(development|production)$")
    https: bool = Field(default=False, description="Served behind TLS: send HSTS.")
    secret_key: SecretStr | None = Field(
        default=None,
        description="Signs page session tickets and form tokens; unset: a new one per `serve`,"
        " so a restart ends every sign-in.",
    )


PLACEHOLDERS = {
    "",
    "changeme",
    "change-me",
    "password",
    "secret",
    "postgres",
    "goldenthread",
    "goldenthread-dev",
    "gt",
    "admin",
    "example",
    "test",
}


class Settings:
    """All settings groups, validated together at start-up."""

    def __init__(self) -> None:
        self.database = DatabaseSettings()
        self.embedding = EmbeddingSettings()
        self.llm = LLMSettings()
        self.service = ServiceSettings()
        self.jobs = JobSettings()
        self.webhooks = WebhookSettings()
        if self.service.env == "production":
            self._refuse_placeholders()

    def _refuse_placeholders(self) -> None:
        """Outside development, a secret that looks like a sample value is a mistake."""
        db = self.database
        secrets = {
            "GOLDENTHREAD_APP_DB_PASSWORD": db.app_db_password.get_secret_value()
            if db.app_db_password
            else "",
        }
        if db.database_url:
            secrets["DATABASE_URL password"] = make_url(db.database_url).password or ""
        if self.llm.configured and self.llm.api_key is not None:
            secrets["GOLDENTHREAD_LLM_API_KEY"] = self.llm.api_key.get_secret_value()
        weak = [name for name, value in secrets.items() if value.lower() in PLACEHOLDERS]
        if weak:
            raise ValueError(
                f"GOLDENTHREAD_ENV=production refuses placeholder or empty secrets: "
                f"{', '.join(weak)}; set real values (or GOLDENTHREAD_ENV=development)"
            )


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
