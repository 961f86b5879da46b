"""Settings of the statelessness service (environment prefix STATELESSNESS_).

The open rules of the procedure (docs/domain.md, "Statelessness determination") are settings with the same
names as the fields of `domain.rules.StatelessnessRules`: `STATELESSNESS_<FIELD>` sets one; `rules()` builds
the dataclass and an invalid value refuses start naming the variable (pana_kit.settings).
"""

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from pana_kit.settings import ServiceSettings, rules_from_settings

from .domain.rules import StatelessnessRules


class StatelessnessSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="STATELESSNESS_", extra="ignore")

    service_name: str = "statelessness"
    port: int = 8003
    system_officer: str = Field("pana/statelessness", description="Recorded as the opener of cases opened ex officio from events")
    newborn_days: int = Field(365, ge=0, le=3650, description=(
        "A person registered this young with undetermined citizenship is left to the children-at-risk rule "
        "(registration.birth.recorded) rather than opened on registration"))
    # Rules of the procedure (docs/domain.md, "Statelessness determination": its open values, defaults from there)
    inquiry_reply_months: int = Field(6, ge=1, le=60)
    decision_due_months: int = Field(6, ge=1, le=60)
    decision_max_months: int = Field(12, ge=1, le=120, description="At least decision_due_months")
    appeal_window_days: int = Field(30, ge=1, le=3650, description="Appeal window from notification (open)")
    certificate_min_age: int = Field(16, ge=0, le=30, description="Stateless person certificate from this age")
    certificate_validity_years: int = Field(5, ge=1, le=50, description="Stateless person certificate validity")
    naturalization_residence_years: int = Field(5, ge=0, le=50)
    # The child-citizenship switches (children at risk of statelessness)
    child_of_stateless_parents_citizen_requires_permanent_residence: bool = Field(
        True, description="A child born in Kazakhstan to stateless parents is a citizen only if they reside permanently")
    foundlings_are_citizens: bool = Field(True, description="A foundling found in Kazakhstan is a citizen")
    soon_horizon_days: int = Field(90, ge=0, le=3650)
    small_cell_threshold: int = Field(5, ge=0, le=1000)

    def rules(self) -> StatelessnessRules:
        """The domain's rules from these settings (the one mapping; refuses naming the variable)."""
        return rules_from_settings(self, StatelessnessRules)
