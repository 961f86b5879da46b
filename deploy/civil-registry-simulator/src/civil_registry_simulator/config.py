"""Start-time configuration of the simulator (environment variables or arguments)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields, replace


def _env(name: str, cast, default):
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    if cast is bool:
        return raw.strip().lower() in {"1", "true", "yes", "on"}
    return cast(raw)


@dataclass(frozen=True)
class FaultConfig:
    """Fault knobs; the same names are used by ``PUT /sim/v1/faults``."""

    latency_ms: int = 0  # added before every /registry call is handled
    error_rate: float = 0.0  # share of calls answered 500 without being processed
    timeout_rate: float = 0.0  # share of calls that hang for timeout_s, then 504, unprocessed
    outage: bool = False  # every /registry call answers 503
    registration_delay_s: float = 0.5  # accepted -> registered/rejected
    timeout_s: float = 30.0  # how long a "timed out" call hangs
    post_latency_ms: int = 0  # added after the call was handled, before the response is sent
    lost_response_rate: float = 0.0  # share of calls processed but answered 502 (response lost)


@dataclass(frozen=True)
class SimConfig:
    api_key: str = "sim-registry-key"
    records: int = 1000
    seed: int = 2019
    faults: FaultConfig = field(default_factory=FaultConfig)
    callback_attempts: int = 4
    callback_backoff_s: float = 0.25  # doubled after each failed attempt
    callback_timeout_s: float = 5.0
    # Signs every callback (the bridge's BRIDGE_CALLBACK_SECRET; the default is the bridge's development default)
    callback_secret: str = "pana-registry-callback-secret-change-me"

    @classmethod
    def from_env(cls, **overrides) -> "SimConfig":
        d = FaultConfig()
        faults = FaultConfig(
            latency_ms=_env("SIM_LATENCY_MS", int, d.latency_ms),
            error_rate=_env("SIM_ERROR_RATE", float, d.error_rate),
            timeout_rate=_env("SIM_TIMEOUT_RATE", float, d.timeout_rate),
            outage=_env("SIM_OUTAGE", bool, d.outage),
            registration_delay_s=_env("SIM_REGISTRATION_DELAY_S", float, d.registration_delay_s),
            timeout_s=_env("SIM_TIMEOUT_S", float, d.timeout_s),
            post_latency_ms=_env("SIM_POST_LATENCY_MS", int, d.post_latency_ms),
            lost_response_rate=_env("SIM_LOST_RESPONSE_RATE", float, d.lost_response_rate),
        )
        c = cls()
        config = cls(
            api_key=_env("SIM_API_KEY", str, c.api_key),
            records=_env("SIM_RECORDS", int, c.records),
            seed=_env("SIM_SEED", int, c.seed),
            faults=faults,
            callback_attempts=_env("SIM_CALLBACK_ATTEMPTS", int, c.callback_attempts),
            callback_secret=_env("SIM_CALLBACK_SECRET", str, c.callback_secret),
        )
        known = {f.name for f in fields(cls)}
        return replace(config, **{k: v for k, v in overrides.items() if k in known and v is not None})
