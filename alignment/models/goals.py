"""An organization's own records: cycles, teams, strategy (objectives and KPIs), OKRs with
their key results and declared links, and check-ins. Every key is (org_id, id).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    CheckConstraint,
    Date,
    DateTime,
    Float,
    ForeignKeyConstraint,
    Index,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column

from alignment.models.base import Base, Timestamped, content_hash, one_of, org_fk
from alignment.vocabulary import LEAD_LAG, PERSPECTIVES


class Organization(Timestamped, Base):
    __tablename__ = "organizations"
    id: Mapped[str] = mapped_column(String, primary_key=True)
    name: Mapped[str] = mapped_column(Text, nullable=False)


class Cycle(Timestamped, Base):
    __tablename__ = "cycles"
    org_id: Mapped[str] = org_fk()
    id: Mapped[str] = mapped_column(String, primary_key=True)
    start: Mapped[date | None] = mapped_column(Date)
    end: Mapped[date | None] = mapped_column(Date)
    __table_args__ = (
        CheckConstraint('start is null or "end" is null or start <= "end"', name="cycle_dates"),
    )


class Team(Timestamped, Base):
    __tablename__ = "teams"
    org_id: Mapped[str] = org_fk()
    id: Mapped[str] = mapped_column(String, primary_key=True)
    name: Mapped[str] = mapped_column(Text, nullable=False)
    parent_id: Mapped[str | None] = mapped_column(String)
    mission: Mapped[str | None] = mapped_column(Text)
    content_hash: Mapped[str] = mapped_column(String(64), nullable=False)
    __table_args__ = (
        ForeignKeyConstraint(
            ["org_id", "parent_id"], ["teams.org_id", "teams.id"], ondelete="RESTRICT"
        ),
    )


class StrategicObjective(Timestamped, Base):
    __tablename__ = "strategic_objectives"
    org_id: Mapped[str] = org_fk()
    id: Mapped[str] = mapped_column(String, primary_key=True)
    title: Mapped[str] = mapped_column(Text, nullable=False)
    description: Mapped[str | None] = mapped_column(Text)
    perspective: Mapped[str | None] = mapped_column(String)
    parent_id: Mapped[str | None] = mapped_column(String)
    content_hash: Mapped[str] = mapped_column(String(64), nullable=False)
    __table_args__ = (
        ForeignKeyConstraint(
            ["org_id", "parent_id"],
            ["strategic_objectives.org_id", "strategic_objectives.id"],
            ondelete="SET NULL (parent_id)",
        ),
        CheckConstraint(one_of("perspective", PERSPECTIVES), name="objective_perspective"),
    )


class Kpi(Timestamped, Base):
    __tablename__ = "kpis"
    org_id: Mapped[str] = org_fk()
    id: Mapped[str] = mapped_column(String, primary_key=True)
    objective_id: Mapped[str] = mapped_column(String, nullable=False)
    name: Mapped[str] = mapped_column(Text, nullable=False)
    kind: Mapped[str | None] = mapped_column(String)
    unit: Mapped[str | None] = mapped_column(String)
    baseline: Mapped[float | None] = mapped_column(Float)
    target: Mapped[float | None] = mapped_column(Float)
    position: Mapped[int] = mapped_column(default=0, nullable=False)
    content_hash: Mapped[str] = mapped_column(String(64), nullable=False)
    __table_args__ = (
        ForeignKeyConstraint(
            ["org_id", "objective_id"],
            ["strategic_objectives.org_id", "strategic_objectives.id"],
            ondelete="CASCADE",
        ),
        CheckConstraint(one_of("kind", LEAD_LAG), name="kpi_kind"),
        Index("ix_kpis_objective", "org_id", "objective_id"),
    )


class Okr(Timestamped, Base):
    __tablename__ = "okrs"
    org_id: Mapped[str] = org_fk()
    id: Mapped[str] = mapped_column(String, primary_key=True)
    team_id: Mapped[str] = mapped_column(String, nullable=False)
    cycle_id: Mapped[str] = mapped_column(String, nullable=False)
    title: Mapped[str] = mapped_column(Text, nullable=False)
    description: Mapped[str | None] = mapped_column(Text)
    content_hash: Mapped[str] = mapped_column(String(64), nullable=False)
    # Set only where an OKR is created as new work, not imported (migration 0022).
    added_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    __table_args__ = (
        ForeignKeyConstraint(["org_id", "team_id"], ["teams.org_id", "teams.id"]),
        ForeignKeyConstraint(["org_id", "cycle_id"], ["cycles.org_id", "cycles.id"]),
        Index("ix_okrs_team", "org_id", "team_id"),
        Index("ix_okrs_cycle", "org_id", "cycle_id"),
    )


class DeclaredLink(Base):
    """What a team claims its OKR contributes to (kept apart from scored links)."""

    __tablename__ = "declared_links"
    org_id: Mapped[str] = org_fk()
    okr_id: Mapped[str] = mapped_column(String, primary_key=True)
    objective_id: Mapped[str] = mapped_column(String, primary_key=True)
    position: Mapped[int] = mapped_column(default=0, nullable=False)
    __table_args__ = (
        ForeignKeyConstraint(["org_id", "okr_id"], ["okrs.org_id", "okrs.id"], ondelete="CASCADE"),
        ForeignKeyConstraint(
            ["org_id", "objective_id"],
            ["strategic_objectives.org_id", "strategic_objectives.id"],
            ondelete="CASCADE",
        ),
    )


class KeyResult(Timestamped, Base):
    __tablename__ = "key_results"
    org_id: Mapped[str] = org_fk()
    id: Mapped[str] = mapped_column(String, primary_key=True)
    okr_id: Mapped[str] = mapped_column(String, nullable=False)
    title: Mapped[str] = mapped_column(Text, nullable=False)
    unit: Mapped[str | None] = mapped_column(String)
    baseline: Mapped[float | None] = mapped_column(Float)
    target: Mapped[float | None] = mapped_column(Float)
    current: Mapped[float | None] = mapped_column(Float)
    kind: Mapped[str | None] = mapped_column(String)
    position: Mapped[int] = mapped_column(default=0, nullable=False)
    content_hash: Mapped[str] = mapped_column(String(64), nullable=False)
    __table_args__ = (
        ForeignKeyConstraint(["org_id", "okr_id"], ["okrs.org_id", "okrs.id"], ondelete="CASCADE"),
        CheckConstraint(one_of("kind", LEAD_LAG), name="key_result_kind"),
        Index("ix_key_results_okr", "org_id", "okr_id"),
    )


class CheckIn(Timestamped, Base):
    __tablename__ = "check_ins"
    org_id: Mapped[str] = org_fk()
    id: Mapped[str] = mapped_column(String, primary_key=True)
    okr_id: Mapped[str] = mapped_column(String, nullable=False)
    key_result_id: Mapped[str | None] = mapped_column(String)
    date: Mapped[date | None] = mapped_column(Date)
    value: Mapped[float | None] = mapped_column(Float)
    confidence: Mapped[float | None] = mapped_column(Float)
    text: Mapped[str] = mapped_column(Text, nullable=False)
    content_hash: Mapped[str] = mapped_column(String(64), nullable=False)
    __table_args__ = (
        ForeignKeyConstraint(["org_id", "okr_id"], ["okrs.org_id", "okrs.id"], ondelete="CASCADE"),
        ForeignKeyConstraint(
            ["org_id", "key_result_id"],
            ["key_results.org_id", "key_results.id"],
            ondelete="SET NULL (key_result_id)",
        ),
        CheckConstraint(
            "confidence is null or (confidence >= 0 and confidence <= 1)",
            name="check_in_confidence",
        ),
        Index("ix_check_ins_okr", "org_id", "okr_id", "date"),
    )


# Which columns make up each embedded text, in order: the content hash covers exactly these.
HASHED_FIELDS: dict[type[Base], tuple[str, ...]] = {
    Team: ("mission",),
    StrategicObjective: ("title", "description"),
    Kpi: ("name",),
    Okr: ("title", "description"),
    KeyResult: ("title",),
    CheckIn: ("text",),
}


def row_hash(model: type[Base], values: Mapping[str, Any] | Base) -> str:
    """The content hash of one record of `model`: of its HASHED_FIELDS, in order. `values` is
    the row's column values or the mapped record itself. Every writer (bundle import, record
    routes, nested children) hashes through here, so one text has one hash whichever way it
    was stored, and the embed stage never re-embeds it for the route it came by."""
    fields = HASHED_FIELDS[model]
    if isinstance(values, Mapping):
        return content_hash(*(values.get(f) for f in fields))
    return content_hash(*(getattr(values, f) for f in fields))
