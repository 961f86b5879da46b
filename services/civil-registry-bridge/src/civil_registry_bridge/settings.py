"""Settings of the civil-registry-bridge service (environment prefix BRIDGE_)."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Annotated, Literal

from pydantic import Field, field_validator
from pydantic_settings import NoDecode, SettingsConfigDict

from pana_kit.settings import ServiceSettings, rules_from_settings, secret, split_list

from .domain.rules import KAZAKHSTAN_FIXED_HOLIDAYS_2026_2027, BridgeRules


class BridgeSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="BRIDGE_", extra="ignore")

    service_name: str = "civil-registry-bridge"
    port: int = 8004

    # The civil registry (its wire format is known only to adapters/registry_http.py)
    registry_url: str = Field("http://127.0.0.1:8009", description="Base URL of the civil registry API")
    registry_api_key: str = secret("sim-registry-key", description="Bearer API key the registry expects (the "
                                    "simulator's default works in dev mode only)")
    registry_timeout_s: float = Field(10.0, gt=0, le=300, description="Read timeout of one registry call")
    registry_connect_timeout_s: float = Field(3.0, gt=0, le=60)
    registry_retries: int = Field(2, ge=0, le=10, description="Extra tries of a safe call inside one attempt")
    registry_retry_base_s: float = Field(0.2, gt=0, le=60, description="First in-call retry delay (jittered, doubling)")
    registry_concurrency: int = Field(16, ge=1, le=1000, description="Registry calls in flight at most")
    breaker_failure_threshold: int = Field(5, ge=1, le=1000, description="Consecutive failures that open the circuit")
    breaker_reset_timeout_s: float = Field(15.0, gt=0, le=3600, description="Open circuit waits this long before a trial call")
    breaker_half_open_calls: int = Field(1, ge=1, le=100)

    # The callback the registry POSTs when a submission completes (optional; polling always works)
    callback_enabled: bool = Field(True, description="Ask the registry to call back when a submission is decided")
    callback_base_url: str | None = Field(None, description="This service's URL as the registry reaches it "
                                                            "(default http://<host>:<port>)")
    callback_secret: str = secret("pana-registry-callback-secret-change-me", min_length=16,
                                 description="Shared secret the registry signs each callback with "
                                             "(HMAC-SHA256 of '<timestamp>.<raw body>')")
    callback_replay_window_s: float = Field(300.0, gt=0, le=3600,
                                            description="A callback's timestamp may differ from now by at most this "
                                                        "much; an accepted signature is refused again (replay)")

    # The worker and the reconciler
    run_worker: bool = Field(True, description="Run the worker that calls the registry for due requests")
    worker_poll_interval_s: float = Field(0.5, gt=0, le=60)
    worker_batch_size: int = Field(100, ge=1, le=10_000)
    worker_lease_s: float = Field(120.0, gt=0, le=3600,
                                  description="A claimed request is due again after this long if its worker died")
    reconciler_interval_s: float = Field(60.0, gt=0, le=86_400)
    stuck_after_s: float = Field(900.0, gt=0, le=30 * 86_400, description="No progress this long = stuck (reconciler)")
    status_poll_interval_s: float = Field(10.0, gt=0, le=86_400, description="How often a submitted registration is polled")
    retry_base_delay_s: float = Field(1.0, gt=0, le=3600)
    retry_max_delay_s: float = Field(300.0, gt=0, le=86_400)
    max_attempts: int = Field(20, ge=1, le=10_000)
    on_attempts_exhausted: Literal["park", "quarantine"] = Field(
        "park", description="What happens to a request whose attempts are exhausted")
    auto_submit_when_not_found: bool = True
    minimum_mother_age: int = Field(10, ge=0, le=30)

    # The birth registration deadline (docs/domain.md, "Civil registration")
    birth_registration_working_days: int = Field(3, ge=0, le=60, description="Working days after birth (MoJ Order No. 112)")
    public_holidays: Annotated[tuple[date, ...], NoDecode] = Field(
        tuple(sorted(KAZAKHSTAN_FIXED_HOLIDAYS_2026_2027)),
        description="Days that are not working days, ISO dates, comma-separated (default: Kazakhstan's fixed public "
                    "holidays of 2026 and 2027; Kurban Ait, weekend substitutes and decree transfers not included)")

    @field_validator("public_holidays", mode="before")
    @classmethod
    def _split_holidays(cls, value):
        return split_list(value)

    def rules(self) -> BridgeRules:
        """The domain's rules from these settings (the one mapping; refuses naming the variable)."""
        return rules_from_settings(
            self, BridgeRules,
            retry_base_delay=timedelta(seconds=self.retry_base_delay_s),
            retry_max_delay=timedelta(seconds=max(self.retry_max_delay_s, self.retry_base_delay_s)),
            stuck_after=timedelta(seconds=self.stuck_after_s),
            status_poll_interval=timedelta(seconds=self.status_poll_interval_s),
            public_holidays=frozenset(self.public_holidays),
        )
