"""Field types shared by the registration API's request bodies."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from pana_kit.fields import PastDate  # noqa: F401 - re-exported for the routers
from pana_kit.fields import no_format_characters

from ..domain import LegalStatus, Sex, SpecificNeed

# Printable text only: control characters in a name corrupt documents and logs; bidi overrides and
# zero-width characters (pana_kit.fields) make one name display or compare as another.
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100,
                                        pattern=r"^[^\x00-\x1f\x7f-\x9f]+$"), AfterValidator(no_format_characters)]
Reason = Annotated[str, StringConstraints(strip_whitespace=True, min_length=3, max_length=1000,
                                          pattern=r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]+$"),
                   AfterValidator(no_format_characters)]
Identifier = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._:\-]+$")]
CountryCode = Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")]
LanguageCode = Annotated[str, StringConstraints(pattern=r"^[a-z]{3}$")]
SexIn = Literal[tuple(s.value for s in Sex)]  # pana_events.vocabulary.Sex: one list in every service
Precision = Literal["exact", "month", "year", "estimated"]
SpecificNeedIn = Literal[tuple(n.value for n in SpecificNeed)]  # pana_events.vocabulary: one list everywhere




class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class AddressIn(Strict):
    region: Text | None = None
    locality: Text | None = None
    street: Text | None = None
    building: Annotated[str, StringConstraints(max_length=20, pattern=r"^[^\x00-\x1f\x7f-\x9f]+$")] | None = None
    apartment: Annotated[str, StringConstraints(max_length=20, pattern=r"^[^\x00-\x1f\x7f-\x9f]+$")] | None = None
    postal_code: Annotated[str, StringConstraints(pattern=r"^[0-9A-Z]{4,10}$")] | None = None


class ContactIn(Strict):
    kind: Literal["phone", "email", "messenger", "postal", "other"]
    value: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200,
                                            pattern=r"^[^\x00-\x1f\x7f-\x9f]+$")]


Specifics = Annotated[list[SpecificNeedIn], Field(max_length=12)]

# The combined legal status (domain/legal_status.py, docs/domain.md "Registration"): one enum in the OpenAPI, the
# contract's words (pana_events.vocabulary.LegalStatus).
LegalStatusValue = Literal[tuple(s.value for s in LegalStatus)]
