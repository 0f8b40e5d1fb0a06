"""Record kinds of the CRUD API: shapes in, columns, and the shape out.

API bodies reuse the bundle's field names (`team`, `cycle`, `okr`, `key_result`, `parent`), so
a record looks the same in a bundle and over REST.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated, Any, Literal, get_args, get_origin

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, create_model
from pydantic.json_schema import SkipJsonSchema
from pydantic_core import PydanticCustomError

from alignment.bundle import schema as b
from alignment.bundle.text_rules import LookupId
from alignment.models import (
    Base,
    CheckIn,
    Cycle,
    KeyResult,
    Kpi,
    Okr,
    StrategicObjective,
    Team,
)

# bundle field -> column
COLUMN_OF = {
    "team": "team_id",
    "cycle": "cycle_id",
    "parent": "parent_id",
    "okr": "okr_id",
    "key_result": "key_result_id",
    "objective": "objective_id",
}
FIELD_OF = {v: k for k, v in COLUMN_OF.items()}


class KpiCreate(b.KpiIn):
    objective: b.Id


class KeyResultCreate(b.KeyResultIn):
    okr: b.Id


def _with_constraints(info: Any) -> Any:
    """A field's type with its constraints and validators, which `annotation` alone drops."""
    return Annotated[info.annotation, *info.metadata] if info.metadata else info.annotation


# Lists of child records a create nests -> what they are called and the collection where
# they change one by one. A PATCH of the parent replacing them wholesale would delete what
# people reported against them (check-ins on a key result), so it names the way instead.
CHILD_LISTS = {"kpis": ("KPIs", "kpis"), "key_results": ("key results", "key-results")}


def _refuse_child_list(name: str) -> Any:
    what, route = CHILD_LISTS[name]
    message = (
        f"{what} are records of their own: add one with POST /orgs/{{org}}/{route}, change "
        f"one with PATCH /orgs/{{org}}/{route}/{{id}}, remove one with DELETE there"
    )

    def refuse(_value: Any) -> Any:
        raise PydanticCustomError("child_list", message)

    return refuse


def _refuse_null(value: Any) -> Any:
    if value is None:
        raise PydanticCustomError(
            "not_null", "cannot be null: the field is required (leave it out to keep it)"
        )
    return value


def _drop_default(schema: dict[str, Any]) -> None:
    # The `None` default only marks "not sent"; documenting it would invite sending null.
    schema.pop("default", None)


def _patch_field(name: str, info: Any) -> tuple[Any, Any]:
    if name in CHILD_LISTS:  # accepted only to be refused by name; not advertised
        # SkipJsonSchema is a generic class at runtime, an Annotated alias to mypy.
        return SkipJsonSchema[Annotated[Any, BeforeValidator(_refuse_child_list(name))]], None  # type: ignore[misc]
    if info.is_required():  # may be left out, never emptied
        typed: Any = Annotated[_with_constraints(info), BeforeValidator(_refuse_null)]
        return typed, Field(default=None, json_schema_extra=_drop_default)
    return _with_constraints(info) | None, None


def _patch_model(create: type[BaseModel], name: str) -> type[BaseModel]:
    """Every field optional and without default, so PATCH changes only what is sent; each keeps
    its constraints and validators (a title's length, ids stripped, no control characters). A
    required field sent as null is refused by its name, with every other one, before any
    write; a nested child list is refused, saying where its records change."""
    fields: dict[str, Any] = {
        fname: _patch_field(fname, info)
        for fname, info in create.model_fields.items()
        if fname != "id"
    }
    return create_model(name, __config__=ConfigDict(extra="forbid", allow_inf_nan=False), **fields)


def filter_type(create: type[BaseModel], name: str) -> Any:
    """The type of a list filter: the field's own when it is an enumeration (`perspective`,
    `kind`), so a typo is refused naming the valid values instead of matching nothing; else an
    id, read in the form ids are stored in."""
    info = create.model_fields.get(name)
    choices = [t for t in get_args(info.annotation) if get_origin(t) is Literal] if info else []
    return (choices[0] if choices else LookupId) | None


@dataclass(frozen=True)
class RecordKind:
    path: str
    label: str
    model: type[Any]  # a model of models/ (type[Base] has none of their columns)
    create: type[BaseModel]
    update: type[BaseModel] = field(init=False)
    filters: tuple[str, ...] = ()
    # Fields of `create` that are not columns (handled by the repository).
    extras: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(
            self, "update", _patch_model(self.create, f"{self.create.__name__}Patch")
        )

    def to_columns(self, data: dict[str, Any]) -> dict[str, Any]:
        return {COLUMN_OF.get(k, k): v for k, v in data.items() if k not in self.extras}

    def to_fields(self, row: Base) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for column in row.__table__.columns:
            if column.name in ("org_id", "content_hash", "position"):
                continue
            value = getattr(row, column.key)
            out[FIELD_OF.get(column.name, column.name)] = value
        return out


KINDS: dict[str, RecordKind] = {
    kind.path: kind
    for kind in (
        RecordKind("cycles", "cycle", Cycle, b.CycleIn),
        RecordKind("teams", "team", Team, b.TeamIn, filters=("parent",)),
        RecordKind(
            "objectives",
            "strategic objective",
            StrategicObjective,
            b.ObjectiveIn,
            filters=("perspective",),
            extras=("kpis",),
        ),
        RecordKind("kpis", "KPI", Kpi, KpiCreate, filters=("objective", "kind")),
        RecordKind(
            "okrs",
            "OKR",
            Okr,
            b.OkrIn,
            filters=("team", "cycle"),
            extras=("declared_links", "key_results"),
        ),
        RecordKind(
            "key-results", "key result", KeyResult, KeyResultCreate, filters=("okr", "kind")
        ),
        RecordKind(
            "check-ins",
            "check-in",
            CheckIn,
            b.CheckInIn,
            filters=("okr", "key_result", "team", "cycle"),
        ),
    )
}
