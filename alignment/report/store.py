"""Stored report runs and per-organization report settings (migration 0003), and their SQL.

A run keeps its findings and summary as JSON beside the version of the inputs it was built
from, so two runs can be compared long after the data moved on. Functions take the caller's
session and never commit.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import Date, ForeignKey, Identity, Index, Integer, String, func, select
from sqlalchemy.dialects.postgresql import JSONB, insert
from sqlalchemy.orm import Mapped, Session, mapped_column

from alignment.errors import NotFound
from alignment.models import Base, stamped_now
from alignment.repository import require_org

# `report_runs.id` is an integer column: no run has an id outside this range, and larger
# numbers would make PostgreSQL fail instead of finding nothing.
MAX_RUN_ID = 2**31 - 1


class NoReport(NotFound):
    def __init__(self, org_id: str, *, include_filtered: bool = False) -> None:
        which = "" if include_filtered else " (a run without filters)"
        super().__init__(
            f"organization {org_id!r} has no report yet{which}; "
            f"POST /orgs/{org_id}/reports builds one"
        )


class ReportRun(Base):
    __tablename__ = "report_runs"
    org_id: Mapped[str] = mapped_column(
        String, ForeignKey("organizations.id", ondelete="CASCADE"), primary_key=True
    )
    id: Mapped[int] = mapped_column(Integer, Identity(always=False), primary_key=True)
    created_at: Mapped[datetime] = stamped_now()
    schema_version: Mapped[str] = mapped_column(String, nullable=False)
    inputs_version: Mapped[str] = mapped_column(String(64), nullable=False)
    model: Mapped[str] = mapped_column(String, nullable=False)
    as_of: Mapped[date | None] = mapped_column(Date)
    filters: Mapped[dict] = mapped_column(JSONB, nullable=False)
    config: Mapped[dict] = mapped_column(JSONB, nullable=False)
    summary: Mapped[dict] = mapped_column(JSONB, nullable=False)
    findings: Mapped[list] = mapped_column(JSONB, nullable=False)
    __table_args__ = (Index("ix_report_runs_created", "org_id", "created_at"),)


class ReportSettings(Base):
    """An organization's overrides of the report defaults (see `ReportConfig`)."""

    __tablename__ = "report_settings"
    org_id: Mapped[str] = mapped_column(
        String, ForeignKey("organizations.id", ondelete="CASCADE"), primary_key=True
    )
    config: Mapped[dict] = mapped_column(JSONB, nullable=False)
    updated_at: Mapped[datetime] = stamped_now()


def save_run(session: Session, org_id: str, **values: Any) -> ReportRun:
    run = ReportRun(org_id=org_id, **values)
    session.add(run)
    session.flush()
    session.refresh(run, ["created_at"])  # from the server; the findings need no re-reading
    return run


def get_run(session: Session, org_id: str, run_id: int) -> ReportRun:
    in_range = 1 <= run_id <= MAX_RUN_ID
    run = session.get(ReportRun, {"org_id": org_id, "id": run_id}) if in_range else None
    if run is None:
        require_org(session, org_id)
        raise NotFound(f"report {run_id} does not exist in organization {org_id!r}")
    return run


def latest_run(
    session: Session, org_id: str, *, include_filtered: bool = False
) -> ReportRun | None:
    """The organization's latest report: its newest run without filters (what its page shows).

    A filtered run made for one question is not the organization's picture; `include_filtered=True`
    asks for the newest run of any kind instead.
    """
    require_org(session, org_id)
    query = select(ReportRun).where(ReportRun.org_id == org_id)
    if not include_filtered:
        query = query.where(ReportRun.filters == {})
    return session.scalar(query.order_by(ReportRun.id.desc()).limit(1))


def list_runs(
    session: Session, org_id: str, *, limit: int, offset: int
) -> tuple[list[dict[str, Any]], int]:
    """Run headers (no findings), newest first."""
    require_org(session, org_id)
    total = session.scalar(
        select(func.count()).select_from(ReportRun).where(ReportRun.org_id == org_id)
    )
    rows = session.execute(
        select(
            ReportRun.id,
            ReportRun.created_at,
            ReportRun.schema_version,
            ReportRun.inputs_version,
            ReportRun.model,
            ReportRun.as_of,
            ReportRun.filters,
            ReportRun.summary["counts"].label("counts"),
        )
        .where(ReportRun.org_id == org_id)
        .order_by(ReportRun.id.desc())
        .limit(limit)
        .offset(offset)
    ).all()
    return [dict(r._mapping) for r in rows], total or 0


def load_settings(session: Session, org_id: str) -> dict[str, Any]:
    row = session.get(ReportSettings, org_id)
    return dict(row.config) if row else {}


def save_settings(session: Session, org_id: str, config: dict[str, Any]) -> None:
    require_org(session, org_id)
    stmt = insert(ReportSettings).values(org_id=org_id, config=config)
    session.execute(
        stmt.on_conflict_do_update(
            index_elements=["org_id"], set_={"config": config, "updated_at": func.now()}
        )
    )


def latest_runs(session: Session) -> dict[str, tuple[int, datetime]]:
    """Each organization's latest report (id, created_at) as `latest_run` means it, for the
    index page."""
    newest = (
        select(ReportRun.org_id, func.max(ReportRun.id).label("id"))
        .where(ReportRun.filters == {})
        .group_by(ReportRun.org_id)
        .subquery()
    )
    rows = session.execute(
        select(ReportRun.org_id, ReportRun.id, ReportRun.created_at).join(
            newest, (newest.c.org_id == ReportRun.org_id) & (newest.c.id == ReportRun.id)
        )
    )
    return {r.org_id: (r.id, r.created_at) for r in rows}
