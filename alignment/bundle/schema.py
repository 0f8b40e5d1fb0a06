"""Pydantic shapes of a bundle and a labels file (see docs/bundle-v1.md).

Unknown keys are refused so that a typo ("declared_link") is reported instead of silently
dropped. Objectives may carry an optional `parent`, which v1 readers ignore.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
)

from alignment.bundle.csvform import parse_number
from alignment.bundle.text_rules import (
    ID_MAX,
    LINE_BREAKS,
    direction_controls_in_name,
    no_compatibility_forms,
    no_direction_controls,
    plain_id,
    plain_text,
)
from alignment.vocabulary import LeadLag, Perspective

BUNDLE_FORMAT = "goldenthread.bundle/v1"
LABELS_FORMAT = "goldenthread.labels/v1"

# Ids are path segments of URLs (/orgs/{id}/okrs/{id}): see text_rules for what they refuse,
# and for the Unicode form (NFKC) they are stored and compared in.
Id = Annotated[
    str,
    StringConstraints(min_length=1, max_length=ID_MAX, strip_whitespace=True),
    AfterValidator(plain_id),
]
# An organization's id is in every address and key: a direction control, or a character NFKC
# would change into another (a Kelvin sign), is refused outright rather than stored changed.
OrgId = Annotated[
    Id, BeforeValidator(no_compatibility_forms), BeforeValidator(no_direction_controls)
]
Title = Annotated[
    str,
    StringConstraints(min_length=1, max_length=2000, strip_whitespace=True),
    LINE_BREAKS,
    AfterValidator(plain_text),
]
# An organization's name heads every page: a direction control is refused, naming it.
OrgName = Annotated[Title, BeforeValidator(direction_controls_in_name)]
LongText = Annotated[
    str, StringConstraints(max_length=20000), LINE_BREAKS, AfterValidator(plain_text)
]


# The largest integer a stored number (double precision) holds exactly.
EXACT_INTEGER = 2**53


def _measurement(value: Any) -> Any:
    written = None
    if isinstance(value, str):
        # Read as the CSV form reads a cell: Python's float() would also take "1_000" and
        # full-width digits, which the CSV import refuses, so one file form would keep what the
        # other refuses.
        written = value.strip()
        value = parse_number(written)
    if isinstance(value, bool):
        raise ValueError("a number, not true or false")
    # Stored, 12345678901234567890 would come back as 1.2345678901234567e+19: say so. A number
    # with a fraction or an exponent (9007199254740993.0, 1e308) was rounded as it was read,
    # before any check could see its digits: at 2**53 and beyond it is refused as well.
    if isinstance(value, int) and abs(value) > EXACT_INTEGER:
        raise ValueError(
            f"{value} is beyond what is stored exactly (at most {EXACT_INTEGER} either way)"
        )
    # NaN and infinities are left to the model's own refusal ("a finite number").
    if isinstance(value, float) and math.isfinite(value) and abs(value) >= EXACT_INTEGER:
        # Not the integer's message: this number was already rounded as it was read, so the
        # value shown may not be the digits sent ("9007199254740993.0" reads as ...992.0).
        shown = repr(written) if written else f"a number read as {value!r}"
        raise ValueError(
            f"{shown} is beyond what is stored exactly: a number written with a fraction or an "
            f"exponent is rounded as it is read, and from {EXACT_INTEGER} in size on it no "
            "longer keeps every digit sent; send a smaller number, or a whole number written "
            "without a fraction or exponent"
        )
    return value


# A measurement: `true` would read as 1.0, a mistake in the sending tool. A numeric string
# ("90", "1,240" as spreadsheets export) is still read as the number it spells.
Number = Annotated[float, BeforeValidator(_measurement)]
Unit = Annotated[str, StringConstraints(max_length=100), LINE_BREAKS, AfterValidator(plain_text)]
_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def _iso_date(value: Any) -> Any:
    # pydantic also reads numbers and digit strings as Unix timestamps: `"start": 0` would
    # be stored as 1970-01-01. A date YAML already read as one (unquoted) passes on.
    if isinstance(value, dt.date) or (isinstance(value, str) and _ISO_DATE.fullmatch(value)):
        return value
    raise ValueError(f"a date as YYYY-MM-DD, got {value!r}")


Date = Annotated[dt.date, BeforeValidator(_iso_date)]

# Caps that keep one request's work bounded; far above any real organization's size.
MAX_RECORDS = 100_000
MAX_CHILDREN = 100


class _Strict(BaseModel):
    # NaN and infinities parse from JSON (`NaN`, `1e400`) but are no measurement.
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class OrganizationIn(_Strict):
    id: OrgId
    name: OrgName


class CycleIn(_Strict):
    id: Id
    start: Date | None = None
    end: Date | None = None


class KpiIn(_Strict):
    id: Id
    name: Title
    kind: LeadLag | None = None
    unit: Unit | None = None
    baseline: Number | None = None
    target: Number | None = None


class ObjectiveIn(_Strict):
    id: Id
    title: Title
    description: LongText | None = None
    perspective: Perspective | None = None
    parent: Id | None = None
    kpis: list[KpiIn] = Field(default_factory=list, max_length=MAX_CHILDREN)


class TeamIn(_Strict):
    id: Id
    name: Title
    parent: Id | None = None
    mission: LongText | None = None


class KeyResultIn(_Strict):
    id: Id
    title: Title
    unit: Unit | None = None
    baseline: Number | None = None
    target: Number | None = None
    current: Number | None = None
    kind: LeadLag | None = None


class OkrIn(_Strict):
    id: Id
    team: Id
    cycle: Id
    title: Title
    description: LongText | None = None
    declared_links: list[Id] = Field(default_factory=list, max_length=MAX_CHILDREN)
    key_results: list[KeyResultIn] = Field(default_factory=list, max_length=MAX_CHILDREN)


class CheckInIn(_Strict):
    id: Id
    okr: Id
    key_result: Id | None = None
    date: Date | None = None
    value: Number | None = None
    confidence: Annotated[float, BeforeValidator(_measurement), Field(ge=0, le=1)] | None = None
    text: LongText


class Bundle(_Strict):
    format: Literal["goldenthread.bundle/v1"]
    organization: OrganizationIn
    cycles: list[CycleIn] = Field(default_factory=list, max_length=MAX_RECORDS)
    strategic_objectives: list[ObjectiveIn] = Field(default_factory=list, max_length=MAX_RECORDS)
    teams: list[TeamIn] = Field(default_factory=list, max_length=MAX_RECORDS)
    okrs: list[OkrIn] = Field(default_factory=list, max_length=MAX_RECORDS)
    check_ins: list[CheckInIn] = Field(default_factory=list, max_length=5 * MAX_RECORDS)


class Labels(_Strict):
    format: Literal["goldenthread.labels/v1"]
    links: dict[Id, list[Id]]
    drift: dict[Id, bool] = Field(default_factory=dict)
