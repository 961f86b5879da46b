"""Settings of the rsd service (environment prefix RSD_)."""

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from pana_kit.settings import ServiceSettings


class RsdSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="RSD_", extra="ignore")

    service_name: str = "rsd"
    port: int = 8002
    default_office: str = Field("almaty", description="Office that receives border referrals with no office")
    deadline_watch_interval_s: int = Field(3600, ge=1, description="How often missed deadlines are looked for")
    deadline_watch_batch: int = Field(200, ge=1, le=5000, description="Applications checked per batch")
    small_cell_threshold: int = Field(5, ge=1, le=100, description="Statistics counts below this show as '*'")
