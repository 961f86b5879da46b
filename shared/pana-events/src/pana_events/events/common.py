"""Value types shared by several events."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, StringConstraints

# Kept as published; the services' one list is pana_events.vocabulary.Sex (no `other`: nobody publishes it).
Sex = Literal["female", "male", "other", "unknown"]
BirthDatePrecision = Literal["exact", "month", "year", "estimated"]
# ISO 3166-1 alpha-3 or ICAO 9303's XXA (stateless), XXB / XXC (refugee), XXX (unspecified).
CountryCode = Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")]
LanguageCode = Annotated[str, StringConstraints(pattern=r"^[a-z]{3}$")]
Id = Annotated[str, StringConstraints(min_length=1, max_length=100)]
Name = Annotated[str, StringConstraints(min_length=1, max_length=200)]
Ids = Annotated[list[Id], Field(default_factory=list)]
