"""Settings of the rsd service (environment prefix RSD_).

The open rules of the procedure (docs/domain.md, "Refugee status determination") are settings with the same
names as the fields of `domain.rules.RsdRules`: `RSD_<FIELD>` sets one; `rules()` builds the dataclass and an
invalid value refuses start naming the variable (pana_kit.settings.load_settings / rules_from_settings).
"""

from typing import Annotated

from pydantic import Field, field_validator
from pydantic_settings import NoDecode, SettingsConfigDict

from pana_kit.settings import ServiceSettings, rules_from_settings, split_list

from .domain.rules import KNOWN_ENDING_GROUNDS, RsdRules


class RsdSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="RSD_", extra="ignore")

    service_name: str = "rsd"
    port: int = 8002
    default_office: str = Field("almaty", description="Office that receives border referrals with no office")
    deadline_watch_interval_s: int = Field(3600, ge=1, description="How often missed deadlines are looked for")
    deadline_watch_batch: int = Field(200, ge=1, le=5000, description="Applications checked per batch")
    small_cell_threshold: int = Field(5, ge=1, le=100, description="Statistics counts below this show as '*'")
    letter_offices_file: str | None = Field(
        None, description="TOML file naming each office's authority, address, decision-maker's title and appeal "
                          "body for decision letters (default: the packaged rsd/letters/offices.toml); checked at start")

    # -- the open rules (RsdRules; defaults and sources in docs/domain.md) --
    lodging_window_days: int = Field(5, ge=0, le=365, description="Lodging window after arrival, calendar days")
    lodging_window_days_irregular_entry: int = Field(1, ge=0, le=365)
    certificate_validity_months: int = Field(3, ge=1, le=120, description="Asylum-seeker certificate validity")
    certificate_age_of_majority: int = Field(18, ge=0, le=30)
    fingerprinting_within_days: int = Field(3, ge=0, le=365)
    decision_period_months: int = Field(3, ge=1, le=120, description="Decision due after registration")
    decision_period_max_months: int = Field(12, ge=1, le=240, description="Decision, extensions included")
    accelerated_decision_period_months: int = Field(1, ge=0, le=120, description="Decision in accelerated mode")
    interview_within_months: int = Field(6, ge=0, le=120)
    appeal_window_days: int = Field(30, ge=30, le=3650, description="Appeal window from notification (at least 30)")
    appeal_grace_weeks: int = Field(6, ge=0, le=520)
    abandonment_after_weeks: int = Field(6, ge=0, le=520)
    ending_response_days: int = Field(30, ge=0, le=3650, description="Time to respond to a notice ending status")
    approaching_days: int = Field(14, ge=0, le=3650)
    ending_grounds: Annotated[tuple[str, ...], NoDecode] = Field(
        KNOWN_ENDING_GROUNDS, min_length=1,
        description="Grounds of ending status Kazakhstan applies, comma-separated; each one of: "
                    + ", ".join(KNOWN_ENDING_GROUNDS))

    @field_validator("ending_grounds", mode="before")
    @classmethod
    def _split_grounds(cls, value):
        return split_list(value)

    @field_validator("ending_grounds")
    @classmethod
    def _known_grounds(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        unknown = [g for g in value if g not in KNOWN_ENDING_GROUNDS]
        if unknown:
            raise ValueError(f"unknown ending ground(s) {', '.join(unknown)}; known: {', '.join(KNOWN_ENDING_GROUNDS)}")
        return tuple(dict.fromkeys(value))

    def rules(self) -> RsdRules:
        """The domain's rules from these settings (the one mapping; refuses naming the variable)."""
        return rules_from_settings(self, RsdRules)
