"""Settings of the registration service (environment prefix REGISTRATION_)."""

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from pana_kit.settings import ServiceSettings


class RegistrationSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="REGISTRATION_", extra="ignore")

    service_name: str = "registration"
    port: int = 8001
    default_office: str = Field("almaty", description="Office recorded when a referral names none")
    registration_number_prefix: str = Field("KZR", pattern=r"^[A-Z]{2,5}$")
    matching_config_path: str | None = Field(
        None, description="JSON file with the duplicate-matching rules (fields, weights, thresholds, blocking keys); "
                          "the domain's MatchingConfig defaults when unset")
    signing_key_path: str | None = Field(
        None, description="Ed25519 private key (PEM) that signs document QR payloads; generated under var/ in dev mode")
    verify_rate_per_minute: int = Field(60, ge=1, description="Document verifications one client may make a minute")
    stateless_certificate_watch_interval_s: int = Field(
        86400, ge=1, description="How often (seconds; daily by default) the stateless person's certificate is issued "
                                 "to recognised stateless persons who have reached the age and hold none "
                                 "(REGISTRATION_STATELESS_CERTIFICATE_WATCH_INTERVAL_S)")
    stateless_certificate_watch_enabled: bool = Field(
        True, description="Run the daily pass here (REGISTRATION_STATELESS_CERTIFICATE_WATCH_ENABLED); tests that "
                          "call the pass with a date of their own turn it off")
    stateless_certificate_watch_batch: int = Field(200, ge=1, le=5000, description="Persons checked per batch")
