"""Settings every service shares; each service subclasses with its own env prefix.

`database_url` takes a URL or the word `sqlite` (a file per service under var/);
`kafka_bootstrap` is a bootstrap address. Choosing *which* broker or database to
start (embedded, apache, postgres) is the launcher's job, not the service's.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


# Each service's settings prefix (its Settings class); `pana keys` and the developer stack read it.
ENV_PREFIX = {
    "registration": "REGISTRATION_",
    "rsd": "RSD_",
    "statelessness": "STATELESSNESS_",
    "civil-registry-bridge": "BRIDGE_",
}


def repo_root() -> Path:
    """The checkout's root (where var/ lives), found from the working directory."""
    here = Path.cwd().resolve()
    for candidate in (here, *here.parents):
        if (candidate / "pyproject.toml").exists() and (candidate / "services").is_dir():
            return candidate
    return here


class ServiceSettings(BaseSettings):
    model_config = SettingsConfigDict(extra="ignore", env_prefix="PANA_")

    service_name: str = "service"
    host: str = "127.0.0.1"
    port: int = 8000
    database_url: str = Field("sqlite", description="Database URL, or 'sqlite' for var/<service>.db")
    kafka_bootstrap: str = "127.0.0.1:9092"
    kafka_replication_factor: int = Field(1, ge=1, le=5)
    kafka_request_timeout_ms: int = Field(10_000, ge=1000)
    consumer_group: str | None = Field(None, description="Defaults to the service name")
    consumer_max_attempts: int = Field(5, ge=1, le=100)
    consumer_retry_backoff_ms: int = Field(200, ge=1)
    outbox_poll_interval_ms: int = Field(200, ge=10)
    outbox_batch_size: int = Field(500, ge=1, le=10_000)
    run_consumers: bool = True
    run_outbox_relay: bool = True
    max_body_bytes: int = Field(1_048_576, ge=1024)
    cors_origins: list[str] = Field(default_factory=list)
    log_level: str = "INFO"
    otel_enabled: bool = True
    otel_console_export: bool = False

    # Auth (RFC 9068 access tokens)
    dev_mode: bool = Field(False, description="Allows the symmetric dev key; never in production")
    auth_issuer: str = "https://auth.pana.gov.kz"
    auth_audience: str | None = Field(None, description="Defaults to the service name")
    auth_jwks_url: str | None = None
    auth_public_keys_file: str | None = Field(None, description="PEM file(s) of trusted EdDSA/RS256 public keys")
    auth_dev_secret: str = "pana-dev-secret-change-me-0123456789abcdef"
    auth_leeway_seconds: int = Field(30, ge=0, le=300)

    # Field encryption at rest (pana_kit.crypto)
    keyring_file: str | None = Field(
        None, description='JSON keyring {"active": "<key id>", "keys": {"<key id>": "<base64 32-byte key>"}}; '
                          "required outside dev mode; dev mode generates var/<service>-keyring.json when unset")

    @field_validator("database_url")
    @classmethod
    def _no_blank(cls, v: str) -> str:
        if not v.strip():
            raise ValueError("database_url must not be blank")
        return v.strip()

    @property
    def group(self) -> str:
        return self.consumer_group or self.service_name

    @property
    def audience(self) -> str:
        return self.auth_audience or self.service_name

    def resolved_database_url(self) -> str:
        if self.database_url == "sqlite":
            var = repo_root() / "var"
            var.mkdir(exist_ok=True)
            return f"sqlite+aiosqlite:///{var / (self.service_name + '.db')}"
        if self.database_url.startswith("postgresql://"):
            return "postgresql+asyncpg://" + self.database_url[len("postgresql://"):]
        if self.database_url.startswith("sqlite:///"):
            return "sqlite+aiosqlite:///" + self.database_url[len("sqlite:///"):]
        return self.database_url
