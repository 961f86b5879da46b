"""Settings every service shares; each service subclasses with its own env prefix.

`database_url` takes a URL or the word `sqlite` (a file per service in the state directory);
`kafka_bootstrap` is a bootstrap address. Choosing *which* broker or database to
start (embedded, apache, postgres) is the launcher's job, not the service's.

What a service writes on disk (a SQLite file, the keys dev mode generates) goes to its state directory,
`<PREFIX>STATE_DIR`: by default the checkout's `var/` when run from one, else `$XDG_STATE_HOME/pana`
(`~/.local/state/pana`). Never the install directory, which an image keeps read-only.
"""

from __future__ import annotations

import dataclasses
import os
import re
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

T = TypeVar("T")

#: The issuer of dev tokens (`pana token`): accepted in dev mode only, never in production.
DEV_ISSUER = "pana-dev"
#: The dev tokens' HS256 key, in the repository on purpose: dev mode only.
DEV_SECRET = "pana-dev-secret-change-me-0123456789abcdef"
LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "::1"}


def secret(default: Any = None, **kwargs: Any) -> Any:
    """A settings field holding a secret: outside dev mode the service refuses to start while it is missing or
    still its (repository) default (`ServiceSettings.startup_problems`)."""
    extra = dict(kwargs.pop("json_schema_extra", None) or {})
    extra["secret"] = True
    return Field(default, json_schema_extra=extra, **kwargs)


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


def checkout_root() -> Path | None:
    """The checkout the working directory is in (a pyproject.toml beside services/), or None."""
    here = Path.cwd().resolve()
    for candidate in (here, *here.parents):
        if (candidate / "pyproject.toml").exists() and (candidate / "services").is_dir():
            return candidate
    return None


def default_state_dir() -> Path:
    """Where a service writes when `<PREFIX>STATE_DIR` is unset: the checkout's var/, else the user's state dir."""
    root = checkout_root()
    if root is not None:
        return root / "var"
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "pana"


def state_dir_from_env(service: str) -> Path:
    """A service's state directory as its settings would resolve it (for the `pana` commands): the variable, or the default."""
    configured = os.environ.get(f"{ENV_PREFIX.get(service, 'PANA_')}STATE_DIR")
    return Path(configured) if configured else default_state_dir()


class ServiceSettings(BaseSettings):
    model_config = SettingsConfigDict(extra="ignore", env_prefix="PANA_")

    service_name: str = "service"
    host: str = "127.0.0.1"
    port: int = 8000
    database_url: str = Field("sqlite", description="Database URL, or 'sqlite' for <state dir>/<service>.db")
    database_pool_size: int = Field(
        20, ge=1, le=500, description="PostgreSQL connections each process keeps open for its transactions (10 more "
                                      "may open under a burst, closed again when returned). Above the requests in "
                                      "flight at a steady load, or each request beyond it opens a connection")
    state_dir: str | None = Field(
        None, description="Writable directory for what the service writes on disk (a SQLite file, the keys dev mode "
                          "generates); default: the checkout's var/, else $XDG_STATE_HOME/pana or ~/.local/state/pana. "
                          "Images set it to a volume; nothing is written under the install directory")
    kafka_bootstrap: str = "127.0.0.1:9092"
    kafka_replication_factor: int = Field(1, ge=1, le=5)
    kafka_request_timeout_ms: int = Field(10_000, ge=1000)
    # Kafka security (pana_kit.kafka.security_options): every producer, consumer and admin client of the service.
    kafka_security_protocol: Literal["PLAINTEXT", "SASL_PLAINTEXT", "SASL_SSL", "SSL"] = Field(
        "PLAINTEXT", description="SASL_SSL (SCRAM) or SSL (mutual TLS) in production; PLAINTEXT only in dev mode "
                                 "or with kafka_allow_plaintext")
    kafka_sasl_mechanism: Literal["SCRAM-SHA-512", "SCRAM-SHA-256", "PLAIN"] = "SCRAM-SHA-512"
    kafka_sasl_username: str | None = Field(None, description="The service's own broker principal (User:<name>)")
    kafka_sasl_password: str | None = Field(None, repr=False)
    kafka_ssl_cafile: str | None = Field(None, description="PEM file of the CA that signed the broker's certificate; "
                                                           "the system trust store when unset")
    kafka_ssl_certfile: str | None = Field(None, description="Client certificate (PEM) for mutual TLS (protocol SSL)")
    kafka_ssl_keyfile: str | None = Field(None, description="Client private key (PEM) for mutual TLS")
    kafka_ssl_key_password: str | None = Field(None, repr=False)
    kafka_allow_plaintext: bool = Field(
        False, description="Accept PLAINTEXT outside dev mode: only for a broker on a private network the operator "
                           "trusts, where anyone reaching it may publish any event")
    consumer_group: str | None = Field(None, description="Defaults to the service name")
    consumer_max_attempts: int = Field(5, ge=1, le=100)
    consumer_retry_backoff_ms: int = Field(200, ge=1)
    kafka_fetch_max_wait_ms: int = Field(50, ge=1, le=10_000, description="How long the broker may hold a "
                                         "consumer's fetch when there is nothing to read (low: an event is read at once)")
    kafka_linger_ms: int = Field(0, ge=0, le=1000, description="How long the producer holds a record for more to "
                                 "join its batch. 0: sent as soon as the producer's task runs; the relay hands a "
                                 "whole batch over before that, and records still join while a request is out")
    outbox_poll_interval_ms: int = Field(1000, ge=10, description="The relay's safety poll: it is woken by commits "
                                         "(in process, and by NOTIFY on PostgreSQL), this only bounds a missed wake-up")
    outbox_batch_size: int = Field(500, ge=1, le=10_000)
    outbox_inflight_batches: int = Field(4, ge=1, le=64, description="Batches the relay has at the broker at once "
                                         "(the next is selected while earlier ones await their acknowledgements)")
    outbox_retention_days: int = Field(
        30, ge=1, le=3650, description="Published outbox rows are kept this long (replay by range, reconciliation), "
                                       "then purged; keep it longer than any outage you would reconcile after")
    outbox_purge_interval_s: float = Field(3600, gt=0, le=86_400, description="How often the retention job prunes outbox, inbox and idempotency rows past their periods")
    inbox_retention_days: int = Field(
        30, ge=1, le=3650, description="Inbox rows (which events a consumer has settled) are kept this long, then "
                                       "pruned (job retention); keep it at least as long as the producers' outbox "
                                       "retention, so an event replayed from an outbox is still recognised")
    dead_letter_replay_interval_s: float = Field(5.0, gt=0, le=3600, description=(
        "How often the consumer delivers the dead letters an operator marked for replay (`pana dlq replay`)"))
    idempotency_ttl_hours: int = Field(
        24, ge=1, le=24 * 30, description="An Idempotency-Key's stored answer is kept this long, then purged "
                                          "(job retention, every outbox_purge_interval_s)")
    run_consumers: bool = True
    run_outbox_relay: bool = True
    # Webhook subscriptions (pana_kit.webhooks): the worker that fans committed outbox rows out to subscribers.
    run_webhooks: bool = True
    webhook_retry_schedule_s: Annotated[tuple[float, ...], NoDecode] = Field(
        (5, 300, 1800, 7200, 18000, 36000, 36000), min_length=1, max_length=30,
        description="Seconds before the 2nd, 3rd, ... attempt of a webhook delivery, comma-separated (each "
                    "+-webhook_retry_jitter at random); after the last the delivery is parked")
    webhook_retry_jitter: float = Field(0.2, ge=0, le=1)
    webhook_timeout_s: float = Field(10, gt=0, le=120, description="Time a receiver has to answer a delivery")
    webhook_poll_interval_ms: int = Field(500, ge=10, le=60_000)
    webhook_fan_out_linger_ms: int = Field(
        50, ge=0, le=5_000, description="After a fan-out pass that found new events, the next waits this long, so a "
                                        "stream of commits is fanned out in batches rather than a pass per commit "
                                        "(adds at most this to a delivery's latency)")
    webhook_concurrency: int = Field(8, ge=1, le=256, description="Subscriptions served at once by one instance")
    webhook_gap_grace_s: float = Field(
        30, ge=0, le=3600, description="How long the fan-out waits for an outbox seq still uncommitted (a gap) "
                                       "before taking it for a rolled-back transaction")
    workers: int = Field(
        1, ge=1, le=64, description="Worker processes serving this instance's port (uvicorn workers; one core each "
                                    "at most). Above 1 needs PostgreSQL: SQLite has one writer and stays one process. "
                                    "Each process runs its own background loops (relay leader by advisory lock, "
                                    "consumers in one group, webhook leases, audit chainer); rate limits and "
                                    "/metrics are per process")
    max_body_bytes: int = Field(1_048_576, ge=1024)
    # Reads (GET) per principal (client + subject), in this process (pana_kit.ratelimit.ReadLimiter); a route with
    # its own limit (document verification, registration searches) is limited by that one instead. 0 turns it off.
    read_rate_per_minute: int = Field(1200, ge=0, le=1_000_000,
                                      description="Reads one principal may make a minute, per instance (0: no limit)")
    read_rate_burst: int | None = Field(None, ge=1, le=1_000_000,
                                        description="Reads a principal may save up for a burst (default: a quarter "
                                                    "of the minute's rate)")
    cors_origins: list[str] = Field(default_factory=list)
    log_level: str = "INFO"
    access_log: bool = Field(True, description="One JSON line per request on logger pana.access: method, route "
                                               "template, status, duration, request id (never the path as sent)")
    # Spans are built only when something exports them (`telemetry.exports_spans`): with tracing on and no exporter
    # (the console one here), nothing is instrumented, so no request pays for spans nobody sees.
    otel_enabled: bool = True
    otel_console_export: bool = False
    sandbox_examples: bool = Field(False, description="Dev mode only: seed the example world of /docs "
                                   "(pana_kit.sandbox) so \"Try it out\" succeeds with every documented example")

    # Auth (RFC 9068 access tokens)
    dev_mode: bool = Field(False, description="Development: accepts the symmetric dev key and dev-issued tokens, "
                                              "binds loopback only; never in production (the default is off)")
    auth_issuer: str = Field("https://auth.pana.gov.kz", description="The identity provider's issuer (`iss`); "
                             "for Keycloak https://<host>/realms/<realm>")
    auth_audience: str | None = Field(None, description="Defaults to the service name")
    auth_jwks_url: str | None = Field(None, description="The identity provider's JWKS (fetched asynchronously, "
                                      "cached, refetched on an unknown key id); for Keycloak "
                                      "<issuer>/protocol/openid-connect/certs")
    auth_public_keys_file: str | None = Field(None, description="PEM file(s) of trusted EdDSA/RS256 public keys")
    auth_dev_secret: str = Field(DEV_SECRET, description="HS256 key of dev tokens; used in dev mode only",
                                 json_schema_extra={"dev_only": True})
    auth_leeway_seconds: int = Field(30, ge=0, le=300)
    auth_max_token_lifetime_seconds: int = Field(3600, ge=60, le=86_400,
                                                 description="A token whose exp - iat is longer is refused")
    auth_jwks_min_refresh_seconds: float = Field(30.0, ge=0, le=3600, description=(
        "An unknown key id refetches the JWKS at most this often (key rotation without a restart)"))
    auth_jwks_cache_seconds: float = Field(300.0, ge=1, le=86_400, description="The JWKS is refetched after this long")
    auth_authorization_url: str | None = Field(None, description=(
        "OAuth2 authorization endpoint shown in /docs (default: <issuer>/protocol/openid-connect/auth)"))
    auth_token_url: str | None = Field(None, description=(
        "OAuth2 token endpoint shown in /docs (default: <issuer>/protocol/openid-connect/token)"))

    # Field encryption at rest (pana_kit.crypto)
    key_provider: str = Field("file", description="Where keys come from: `file` (KEYRING_FILE) or `module:callable` "
                                                 "(called with these settings, returns a pana_kit.crypto.KeyProvider)")
    keyring_file: str | None = Field(
        None, description='JSON keyring {"active": "<key id>", "keys": {"<key id>": "<base64 32-byte key>"}}; '
                          "required outside dev mode; dev mode generates <state dir>/<service>-keyring.json when unset")

    audit_checkpoint_file: str | None = Field(
        None, description="JSON-lines file of signed audit checkpoints (pana_kit.audit), outside the database; default "
                          "<state dir>/<service>-<database digest>-audit-checkpoints.jsonl")
    audit_wait_for_chain: bool = Field(
        True, description="A command answers only once its audit entry is in the chain (true), or at its commit, "
                          "the chainer catching up behind (false: faster; nothing is lost either way, the entry is "
                          "committed as an intent)")
    audit_batch_linger_seconds: float = Field(
        0.1, ge=0, le=5, description="How long the audit writer gathers entries that need not commit with a change "
                                     "(verifications) before it appends them in one transaction. Nobody waits for it "
                                     "(each entry is in the journal file first); a longer wait means fewer, larger "
                                     "appends: at 0.02 s a verification paid about a tenth of its CPU for its share")

    @field_validator("webhook_retry_schedule_s", mode="before")
    @classmethod
    def _split_schedule(cls, value):
        return split_list(value)

    @field_validator("webhook_retry_schedule_s")
    @classmethod
    def _schedule_positive(cls, value: tuple[float, ...]) -> tuple[float, ...]:
        if any(delay < 0 or delay > 7 * 86_400 for delay in value):
            raise ValueError("each retry delay must be between 0 and 604800 seconds")
        return value

    @field_validator("database_url")
    @classmethod
    def _no_blank(cls, v: str) -> str:
        if not v.strip():
            raise ValueError("database_url must not be blank")
        return v.strip()

    @field_validator("auth_issuer")
    @classmethod
    def _issuer_not_blank(cls, v: str) -> str:
        if not v.strip():
            raise ValueError("auth_issuer must not be blank")
        return v.strip()

    def startup_problems(self) -> list[str]:
        """Why this configuration must not start, each naming its environment variable (empty: it may start).

        Outside dev mode: a secret (a field made with `secret(...)`) missing or equal to its repository default,
        a token issuer equal to the dev issuer, no token keys, no keyring. In dev mode: a host other than loopback. In both: a
        broker spoken to in a way the mode does not allow (`kafka_security_problems`).
        """
        cls = type(self)
        problems: list[str] = self.kafka_security_problems()
        if self.workers > 1 and self.resolved_database_url().startswith("sqlite"):
            problems.append(f"{env_name(cls, 'workers')}={self.workers} with SQLite: one process only (SQLite has one "
                            f"writer); set it to 1, or use PostgreSQL ({env_name(cls, 'database_url')})")
        if self.dev_mode:
            if self.host not in LOOPBACK_HOSTS:
                problems.append(f"{env_name(cls, 'host')}={self.host}: dev mode binds loopback only "
                                f"(its tokens are signed with a key in the repository); use 127.0.0.1 or turn "
                                f"{env_name(cls, 'dev_mode')} off")
            return problems
        if self.sandbox_examples:
            problems.append(f"{env_name(cls, 'sandbox_examples')}=true: the example world of /docs holds made-up "
                            f"people; dev mode only")
        for name, info in cls.model_fields.items():
            extra = info.json_schema_extra if isinstance(info.json_schema_extra, dict) else {}
            if not extra.get("secret"):
                continue
            value = getattr(self, name)
            if value is None or (isinstance(value, str) and not value.strip()):
                problems.append(f"{env_name(cls, name)} is not set (a secret; required outside dev mode)")
            elif info.default is not None and value == info.default:
                problems.append(f"{env_name(cls, name)} is the default from the repository (a secret; set your own)")
        if self.auth_issuer == DEV_ISSUER:
            problems.append(f"{env_name(cls, 'auth_issuer')}={DEV_ISSUER} is the dev tokens' issuer; production "
                            "never trusts it")
        if self.key_provider == "file" and not self.keyring_file:
            problems.append(f"{env_name(cls, 'keyring_file')} is not set (personal data and the audit log are keyed "
                            f"from it; create one with `pana keys rotate`, or name a provider in "
                            f"{env_name(cls, 'key_provider')})")
        if not self.auth_jwks_url and not self.auth_public_keys_file:
            problems.append(f"no token keys: set {env_name(cls, 'auth_jwks_url')} or "
                            f"{env_name(cls, 'auth_public_keys_file')} (or {env_name(cls, 'dev_mode')}=true for "
                            "development)")
        return problems

    def refuse_insecure(self) -> None:
        """Raise SettingsError naming every problem of `startup_problems` (the service does not start)."""
        problems = self.startup_problems()
        if problems:
            mode = "dev mode" if self.dev_mode else "production mode (dev mode is off)"
            raise SettingsError(f"{type(self).__name__} refuses to start in {mode}: " + "; ".join(problems))

    @property
    def group(self) -> str:
        return self.consumer_group or self.service_name

    @property
    def audience(self) -> str:
        return self.auth_audience or self.service_name

    def state_path(self) -> Path:
        """The state directory, created when missing; refuses naming `<PREFIX>STATE_DIR` when it cannot be."""
        path = Path(self.state_dir) if self.state_dir else default_state_dir()
        try:
            path.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise SettingsError(f"{env_name(type(self), 'state_dir')}: the state directory {path} cannot be created "
                                f"({exc.strerror}); set it to a writable directory") from None
        if not os.access(path, os.W_OK | os.X_OK):
            raise SettingsError(f"{env_name(type(self), 'state_dir')}: the state directory {path} is not writable "
                                "by this user; set it to a writable directory")
        return path

    def kafka_security_problems(self) -> list[str]:
        """What makes the Kafka security settings unusable for this service, each naming its variable."""
        cls = type(self)
        problems = []
        protocol = self.kafka_security_protocol
        if protocol == "PLAINTEXT" and not (self.dev_mode or self.kafka_allow_plaintext):
            problems.append(
                f"{env_name(cls, 'kafka_security_protocol')}: PLAINTEXT outside dev mode lets anyone who reaches the "
                f"broker publish any event; use SASL_SSL or SSL, or set {env_name(cls, 'kafka_allow_plaintext')}=true "
                f"for a private network only")
        if protocol == "SASL_PLAINTEXT" and not (self.dev_mode or self.kafka_allow_plaintext):
            problems.append(
                f"{env_name(cls, 'kafka_security_protocol')}: SASL_PLAINTEXT sends events (personal data) unencrypted; "
                f"use SASL_SSL, or set {env_name(cls, 'kafka_allow_plaintext')}=true for a private network only")
        if protocol.startswith("SASL_"):
            for name in ("kafka_sasl_username", "kafka_sasl_password"):
                if not (getattr(self, name) or "").strip():
                    problems.append(f"{env_name(cls, name)}: required with {protocol}")
        if protocol == "SSL" and not (self.kafka_ssl_certfile and self.kafka_ssl_keyfile) and not self.dev_mode:
            problems.append(f"{env_name(cls, 'kafka_ssl_certfile')}, {env_name(cls, 'kafka_ssl_keyfile')}: SSL "
                            f"authenticates the service by its client certificate; both are required")
        if protocol in ("SASL_SSL", "SSL"):
            for name in ("kafka_ssl_cafile", "kafka_ssl_certfile", "kafka_ssl_keyfile"):
                value = getattr(self, name)
                if value and not Path(value).is_file():
                    problems.append(f"{env_name(cls, name)}: {value} is not a readable file")
        return problems

    def resolved_database_url(self) -> str:
        if self.database_url == "sqlite":
            return f"sqlite+aiosqlite:///{self.state_path() / (self.service_name + '.db')}"
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


def refuse_unsafe_start(settings: ServiceSettings) -> None:
    """What a service checks before it starts for real (`serve`): settings each valid alone but unsafe together
    outside dev mode (a broker spoken to in plaintext). Raises SettingsError naming every variable at fault."""
    problems = settings.kafka_security_problems()
    if problems:
        raise SettingsError(f"unsafe settings, {type(settings).__name__} refuses to start: " + "; ".join(problems))


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
