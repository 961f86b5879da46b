"""Settings every service shares; each service subclasses with its own env prefix.

`database_url` takes a URL or the word `sqlite` (a file per service under var/);
`kafka_bootstrap` is a bootstrap address. Choosing *which* broker or database to
start (embedded, apache, postgres) is the launcher's job, not the service's.
"""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path
from typing import Any, TypeVar

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

T = TypeVar("T")


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
    outbox_retention_days: int = Field(
        30, ge=1, le=3650, description="Published outbox rows are kept this long (replay by range, reconciliation), "
                                       "then purged; keep it longer than any outage you would reconcile after")
    outbox_purge_interval_s: float = Field(3600, gt=0, le=86_400, description="How often the purge of old published rows runs")
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
    key_provider: str = Field("file", description="Where keys come from: `file` (KEYRING_FILE) or `module:callable` "
                                                 "(called with these settings, returns a pana_kit.crypto.KeyProvider)")
    keyring_file: str | None = Field(
        None, description='JSON keyring {"active": "<key id>", "keys": {"<key id>": "<base64 32-byte key>"}}; '
                          "required outside dev mode; dev mode generates var/<service>-keyring.json when unset")

    audit_checkpoint_file: str | None = Field(
        None, description="JSON-lines file of signed audit checkpoints (pana_kit.audit), outside the database; default "
                          "<state dir>/<service>-<database digest>-audit-checkpoints.jsonl")

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


# -- open rules as settings ------------------------------------------------------------------------
# Each service keeps its open rules in a frozen dataclass (domain/rules.py) and exposes them as fields of its
# settings class with the same names, so `<PREFIX><FIELD>` is the environment variable. The two helpers below
# load the settings and build the dataclass; either refuses with a message naming the variable.


class SettingsError(ValueError):
    """A setting is invalid: the service does not start. The message names the environment variable(s)."""


def env_name(settings_cls: type[BaseSettings], field_name: str) -> str:
    """The environment variable of a settings field: the class's prefix and the field's name, upper case."""
    prefix = settings_cls.model_config.get("env_prefix") or ""
    return f"{prefix}{field_name}".upper()


def load_settings(settings_cls: type[BaseSettings], **values: Any) -> BaseSettings:
    """`settings_cls(**values)` (environment included), refusing with the variables named when a value is invalid."""
    try:
        return settings_cls(**values)
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            field_name = str(error["loc"][0]) if error.get("loc") else ""
            shown = env_name(settings_cls, field_name) if field_name else settings_cls.__name__
            problems.append(f"{shown}: {error['msg']} (got {error.get('input')!r})")
        raise SettingsError(f"invalid settings, {settings_cls.__name__} refuses to start: " + "; ".join(problems)) from None


def rules_from_settings(settings: BaseSettings, rules_cls: type[T], **computed: Any) -> T:
    """Build the rules dataclass `rules_cls` from the settings fields of the same name.

    `computed` gives fields the settings hold in another form (e.g. seconds -> timedelta), by the dataclass
    field's name. A value the dataclass refuses (its own cross-field checks) raises SettingsError naming the
    variables its message mentions.
    """
    settings_cls = type(settings)
    settings_fields = settings_cls.model_fields
    init_fields = [f.name for f in dataclasses.fields(rules_cls) if f.init]  # type: ignore[arg-type]
    values = {name: getattr(settings, name) for name in init_fields if name in settings_fields}
    values.update(computed)
    try:
        return rules_cls(**values)
    except Exception as exc:  # the dataclass's checks: ValueError, the domain's InvalidInput, ...
        message = str(exc)
        named = [env_name(settings_cls, name) for name in settings_fields
                 if _mentions(message, name) or (name.endswith("_s") and _mentions(message, name[:-2]))]
        shown = ", ".join(named) or ", ".join(env_name(settings_cls, name) for name in values if name in settings_fields)
        raise SettingsError(f"invalid settings, {settings_cls.__name__} refuses to start: {shown}: {message}") from None


def _mentions(message: str, name: str) -> bool:
    return re.search(rf"(?<![A-Za-z0-9_]){re.escape(name)}(?![A-Za-z0-9_])", message) is not None


def split_list(value: Any) -> Any:
    """A list setting from the environment: comma-separated (`a,b,c`), blanks dropped; other values unchanged."""
    if isinstance(value, str):
        return [item.strip() for item in value.split(",") if item.strip()]
    return value
