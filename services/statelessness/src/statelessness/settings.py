"""Settings of the statelessness service (environment prefix STATELESSNESS_)."""

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from pana_kit.settings import ServiceSettings


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
    decision_max_months: int = Field(12, ge=1, le=120)
    appeal_window_days: int = Field(30, ge=1, le=3650)
    naturalization_residence_years: int = Field(5, ge=0, le=50)
    soon_horizon_days: int = Field(90, ge=0, le=3650)
    small_cell_threshold: int = Field(5, ge=0, le=1000)
