"""Base of every typed event payload."""

from __future__ import annotations

from typing import ClassVar

from pydantic import BaseModel, ConfigDict


class Event(BaseModel):
    """A payload on one of our topics.

    `event_type` is the versioned CloudEvents type. Consumers ignore fields they do
    not know (extra="ignore"); a breaking change is a new class with a new version.
    """

    model_config = ConfigDict(extra="ignore", frozen=True)

    event_type: ClassVar[str]
