"""Request and response bodies of the rsd API."""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

PublicStatus = Literal["lodged", "recommended", "rejected", "under_appeal", "recognised", "status_ended", "closed"]


class ApplicationSummary(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "id": "5b0c…", "person_id": "0f8e…", "status": "lodged", "stage": "registered", "office": "almaty",
        "officer_id": None, "priority": False, "processing_mode": "regular", "lodged_on": "2026-11-27",
        "registered_on": "2026-11-27", "decision_due": "2027-02-27", "late_lodging": False,
    }]})

    id: str
    person_id: str
    status: PublicStatus = Field(description="Where the application stands. `lodged` covers lodging and registration up to the recommendation; `stage` gives the exact step.")
    stage: str = Field(description="The state in the procedure's state machine")
    office: str
    officer_id: str | None
    priority: bool = Field(description="Priority from the applicant's specific needs")
    processing_mode: str
    lodged_on: date
    registered_on: date | None
    decision_due: date | None = Field(description="Three months after registration unless extended (DOMAIN.md)")
    late_lodging: bool = Field(description="Lodged after the window; recorded, never a reason to refuse")


class ApplicationPage(BaseModel):
    items: list[ApplicationSummary]
    next_cursor: str | None = Field(None, description="Pass as `cursor` for the next page; absent on the last page")
