"""Settings of the rsd service (environment prefix RSD_)."""

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from pana_kit.settings import ServiceSettings


class RsdSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="RSD_", extra="ignore")

    service_name: str = "rsd"
    port: int = 8002
    default_office: str = Field("almaty", description="Office that receives border referrals with no office")
