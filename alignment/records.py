"""Record kinds of the CRUD API: shapes in, columns, and the shape out.

API bodies reuse the bundle's field names (`team`, `cycle`, `okr`, `key_result`, `parent`), so
a record looks the same in a bundle and over REST.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, create_model

from alignment.bundle import schema as b
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


def _patch_model(create: type[BaseModel], name: str) -> type[BaseModel]:
    """Every field optional and without default, so PATCH changes only what is sent; each keeps
    its constraints and validators (a title's length, ids stripped, no control characters)."""
    fields: dict[str, Any] = {
        fname: (_with_constraints(info) | None, None)
        for fname, info in create.model_fields.items()
        if fname not in ("id", "key_results")
    }
    return create_model(name, __config__=ConfigDict(extra="forbid", allow_inf_nan=False), **fields)


@dataclass(frozen=True)
class RecordKind:
    path: str
    label: str
    model: type[Base]
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
