"""Settings of the registration service (environment prefix REGISTRATION_).

The open rules (docs/domain.md, "Registration") are settings with the same names as the fields of
`domain.rules.RegistrationRules` (`REGISTRATION_<FIELD>`); entitlements are one list per document kind
(`REGISTRATION_ENTITLEMENTS_<KIND>`). `rules()` builds the dataclass; an invalid value refuses start naming the
variable (pana_kit.settings).
"""

from typing import Annotated

from pydantic import Field, field_validator
from pydantic_settings import NoDecode, SettingsConfigDict

from pana_kit.settings import ServiceSettings, rules_from_settings, secret, split_list

from .domain.rules import ALL_SERVICES, RegistrationRules

_SERVICES = ", ".join(ALL_SERVICES)


class RegistrationSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="REGISTRATION_", extra="ignore")

    service_name: str = "registration"
    port: int = 8001
    default_office: str = Field("almaty", description="Office recorded when a referral names none")
    registration_number_prefix: str = Field("KZR", pattern=r"^[A-Z]{2,5}$")
    matching_config_path: str | None = Field(
        None, description="JSON file with the duplicate-matching rules (fields, weights, thresholds, blocking keys); "
                          "the domain's MatchingConfig defaults when unset")
    signing_key_path: str | None = secret(
        None, description="Ed25519 private key (PEM) that signs document QR payloads; required outside dev mode, "
                          "generated in the state directory in dev mode")
    verify_rate_per_minute: int = Field(60, ge=1, description="Document verifications one client may make a minute")
    verify_page_url: str = Field(
        "/verify", max_length=120, description="The verification page's public address, printed on certificates "
                                               "under the QR code (REGISTRATION_VERIFY_PAGE_URL), e.g. "
                                               "https://pana.gov.kz/verify")
    verify_page_client_id: str = Field(
        "pana-verify", description="The verification page's public OIDC client at the identity provider "
                                   "(authorization code with PKCE; REGISTRATION_VERIFY_PAGE_CLIENT_ID)")
    route_groups: str = Field(
        "all", pattern=r"^\s*(all|verify|officers)(\s*,\s*(verify|officers))*\s*$",
        description="Which routes this instance serves (REGISTRATION_ROUTE_GROUPS): `all`, or a comma-separated list "
                    "of `verify` (document verification and the QR public key, for service providers) and "
                    "`officers` (everything else). An instance without `officers` runs no event consumer, outbox "
                    "relay or daily pass: verification instances of their own never queue behind matching")
    search_rate_per_minute: int = Field(
        30, ge=1, le=10_000, description="Searches of the register one caller (token subject) may make a minute; "
                                          "counted per process (N instances allow up to N times as many)")
    list_rate_per_minute: int = Field(
        60, ge=1, le=10_000, description="Pages of the border-referral list and the duplicate-review queue one caller "
                                          "may read a minute (per process)")
    stateless_certificate_watch_interval_s: int = Field(
        86400, ge=1, description="How often (seconds; daily by default) the stateless person's certificate is issued "
                                 "to recognised stateless persons who have reached the age and hold none "
                                 "(REGISTRATION_STATELESS_CERTIFICATE_WATCH_INTERVAL_S)")
    stateless_certificate_watch_enabled: bool = Field(
        True, description="Run the daily pass here (REGISTRATION_STATELESS_CERTIFICATE_WATCH_ENABLED); tests that "
                          "call the pass with a date of their own turn it off")
    stateless_certificate_watch_batch: int = Field(200, ge=1, le=5000, description="Persons checked per batch")

    def served_groups(self) -> frozenset[str]:
        groups = {g.strip() for g in self.route_groups.split(",")}
        return frozenset({"verify", "officers"}) if "all" in groups else frozenset(groups)

    # -- the open rules (RegistrationRules; defaults and sources in docs/domain.md) --
    registration_window_days: int = Field(5, ge=0, le=365, description="Border referral: registration window")
    registration_window_days_irregular_entry: int = Field(1, ge=0, le=365)
    asylum_seeker_certificate_months: int = Field(3, ge=1, le=120, description="Asylum-seeker certificate validity")
    asylum_seeker_certificate_min_age: int = Field(18, ge=0, le=30)
    refugee_certificate_months: int = Field(12, ge=1, le=120, description="Refugee certificate validity")
    stateless_person_certificate_years: int = Field(5, ge=1, le=50, description="Stateless person certificate validity")
    stateless_person_certificate_min_age: int = Field(16, ge=0, le=30)
    statelessness_procedure_certificate_months: int = Field(
        6, ge=1, le=60, description="Statelessness procedure certificate (lawful stay while determined) validity")
    adult_age: int = Field(18, ge=0, le=30)
    verification_failures_before_delay: int = Field(5, ge=0, le=1000)
    verification_failure_window_seconds: int = Field(600, ge=1, le=86_400)
    verification_delay_base_seconds: float = Field(1.0, ge=0, le=3600)
    verification_delay_max_seconds: float = Field(60.0, ge=0, le=3600)
    statistics_small_cell_threshold: int = Field(5, ge=0, le=1000)
    group_referral_max_members: int = Field(30, ge=1, le=200,
                                            description="Persons a group border referral may name at most")
    # Entitlements per document kind (equal access pledge: all four services by default)
    entitlements_asylum_seeker_certificate: Annotated[tuple[str, ...], NoDecode] = Field(
        ALL_SERVICES, description=f"Services the asylum-seeker certificate entitles to, comma-separated ({_SERVICES})")
    entitlements_refugee_certificate: Annotated[tuple[str, ...], NoDecode] = Field(
        ALL_SERVICES, description=f"Services the refugee certificate entitles to ({_SERVICES})")
    entitlements_stateless_person_certificate: Annotated[tuple[str, ...], NoDecode] = Field(
        ALL_SERVICES, description=f"Services the stateless person certificate entitles to ({_SERVICES})")
    entitlements_statelessness_procedure_certificate: Annotated[tuple[str, ...], NoDecode] = Field(
        ALL_SERVICES, description=f"Services the statelessness procedure certificate entitles to ({_SERVICES})")

    @field_validator("entitlements_asylum_seeker_certificate", "entitlements_refugee_certificate",
                     "entitlements_stateless_person_certificate",
                     "entitlements_statelessness_procedure_certificate", mode="before")
    @classmethod
    def _split_services(cls, value):
        return split_list(value)

    @field_validator("entitlements_asylum_seeker_certificate", "entitlements_refugee_certificate",
                     "entitlements_stateless_person_certificate",
                     "entitlements_statelessness_procedure_certificate")
    @classmethod
    def _known_services(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        unknown = [s for s in value if s not in ALL_SERVICES]
        if unknown:
            raise ValueError(f"unknown service(s) {', '.join(unknown)}; known: {_SERVICES}")
        return tuple(dict.fromkeys(value))

    def rules(self) -> RegistrationRules:
        """The domain's rules from these settings (the one mapping; refuses naming the variable)."""
        return rules_from_settings(
            self, RegistrationRules,
            verification_requests_per_minute=self.verify_rate_per_minute,
            entitlements={
                "asylum_seeker_certificate": self.entitlements_asylum_seeker_certificate,
                "refugee_certificate": self.entitlements_refugee_certificate,
                "stateless_person_certificate": self.entitlements_stateless_person_certificate,
                "statelessness_procedure_certificate": self.entitlements_statelessness_procedure_certificate,
            },
        )
