"""Stored report runs and per-organization report settings (migrations 0003, 0010, 0013), and
their SQL.

A run keeps its summary as JSON and its findings as rows (`finding_rows`), beside the version
of the inputs it was built from, so two runs can be compared long after the data moved on.
People name a run by its number within the organization (1, 2, ...); the global `id` is
internal. A build that says exactly what the newest run with the same filters says returns
that run (`reused`) instead of storing a copy. Functions take the caller's session and never commit.
"""

from __future__ import annotations

import hashlib
import json
from datetime import date, datetime
from typing import Any, NamedTuple

from sqlalchemy import (
    Date,
    DateTime,
    ForeignKey,
    Identity,
    Index,
    Integer,
    String,
    UniqueConstraint,
    func,
    select,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB, insert
from sqlalchemy.orm import Mapped, Session, mapped_column, object_session

from alignment.errors import NotFound
from alignment.models import Base, stamped_now
from alignment.report import finding_rows
from alignment.repository import require_org

# `report_runs.number` is an integer column: no run has a number outside this range, and larger
# numbers would make PostgreSQL fail instead of finding nothing.
MAX_RUN_ID = 2**31 - 1
# The parts of a run its digest covers: what it says and what it was built from.
CONTENT = ("schema_version", "inputs_version", "model", "as_of", "filters", "config", "summary",
           "findings")  # fmt: skip


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
    number: Mapped[int] = mapped_column(Integer, nullable=False)
    created_at: Mapped[datetime] = stamped_now()
    # When a build last produced this content (created_at until a later build reuses the run).
    confirmed_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), nullable=False
    )
    content_hash: Mapped[str | None] = mapped_column(String(64))
    schema_version: Mapped[str] = mapped_column(String, nullable=False)
    inputs_version: Mapped[str] = mapped_column(String(64), nullable=False)
    model: Mapped[str] = mapped_column(String, nullable=False)
    as_of: Mapped[date | None] = mapped_column(Date)
    filters: Mapped[dict] = mapped_column(JSONB, nullable=False)
    config: Mapped[dict] = mapped_column(JSONB, nullable=False)
    summary: Mapped[dict] = mapped_column(JSONB, nullable=False)
    __table_args__ = (
        Index("ix_report_runs_created", "org_id", "created_at"),
        UniqueConstraint("org_id", "number", name="uq_report_runs_number"),
    )
    # Set by `save_run`, not stored: True when a build returned this existing run.
    reused = False
    _findings = None  # the findings once read (or given to a run built in memory)

    @property
    def findings(self) -> list[dict[str, Any]]:
        """Every finding, in order: stored as rows (`finding_rows`), read on first use; the
        served reads take one page of them instead."""
        if self._findings is None:
            session = object_session(self)
            if session is None:
                raise RuntimeError(f"report run {self.id} is detached; its findings are unread")
            self._findings = finding_rows.read_all(session, self.org_id, self.id)
        return self._findings

    @findings.setter
    def findings(self, value: list[dict[str, Any]]) -> None:
        self._findings = value


class ReportSettings(Base):
    """An organization's overrides of the report defaults (see `ReportConfig`)."""

    __tablename__ = "report_settings"
    org_id: Mapped[str] = mapped_column(
        String, ForeignKey("organizations.id", ondelete="CASCADE"), primary_key=True
    )
    config: Mapped[dict] = mapped_column(JSONB, nullable=False)
    updated_at: Mapped[datetime] = stamped_now()


def content_digest(values: dict[str, Any]) -> str:
    """SHA-256 of a run's content (`CONTENT`), independent of key order."""
    part = {k: values.get(k) for k in CONTENT}
    return hashlib.sha256(json.dumps(part, sort_keys=True, default=str).encode()).hexdigest()


def save_run(session: Session, org_id: str, **values: Any) -> ReportRun:
    """Store a run under the organization's next number, or return the newest run with the same
    filters when its content is the same (marked `reused`, its `confirmed_at` moved to now)."""
    # One builder at a time per organization: numbers stay gapless and two equal builds
    # racing each other store one run, not two.
    session.execute(
        text("select pg_advisory_xact_lock(hashtextextended(:key, 0))"),
        {"key": f"report_runs:{org_id}"},
    )
    digest = content_digest(values)
    newest = session.execute(
        select(ReportRun.id, ReportRun.content_hash)
        .where(ReportRun.org_id == org_id, ReportRun.filters == values["filters"])
        .order_by(ReportRun.number.desc())
        .limit(1)
    ).first()
    if newest is not None and newest.content_hash == digest:
        run = session.get_one(ReportRun, {"org_id": org_id, "id": newest.id})
        run.confirmed_at = func.now()
        session.flush()
        session.refresh(run, ["confirmed_at"])
        run.reused = True
        return run
    number = session.scalar(
        select(func.coalesce(func.max(ReportRun.number), 0) + 1).where(ReportRun.org_id == org_id)
    )
    findings = values.pop("findings")
    run = ReportRun(org_id=org_id, number=number, content_hash=digest, **values)
    session.add(run)
    session.flush()
    finding_rows.write(session, org_id, run.id, findings)
    # Read back as stored: JSONB orders keys its own way, and the first export of a run must
    # be byte for byte what re-exporting it later gives.
    session.refresh(run, ["created_at", "confirmed_at", "filters", "config", "summary"])
    run._findings = None
    return run


def get_run(session: Session, org_id: str, number: int) -> ReportRun:
    """The organization's run with this number."""
    in_range = 1 <= number <= MAX_RUN_ID
    run = (
        session.scalar(
            select(ReportRun).where(ReportRun.org_id == org_id, ReportRun.number == number)
        )
        if in_range
        else None
    )
    if run is None:
        require_org(session, org_id)
        raise NotFound(f"report {number} does not exist in organization {org_id!r}")
    return run


def latest_run(
    session: Session, org_id: str, *, include_filtered: bool = False
) -> ReportRun | None:
    """The organization's latest report: its newest run without filters (what its page shows).

    A filtered run made for one question is not the organization's picture; `include_filtered=True`
    asks for the newest run of any kind instead.
    """
    ref = latest_run_ref(session, org_id, include_filtered=include_filtered)
    return None if ref is None else get_run(session, org_id, ref.number)


class RunRef(NamedTuple):
    """Names a stored run's content: a run never changes once stored, ids are not reused and
    numbers restart only when an organization is re-created (created_at tells those apart)."""

    id: int
    number: int
    created_at: datetime


def latest_run_ref(
    session: Session, org_id: str, *, include_filtered: bool = False
) -> RunRef | None:
    """`latest_run`'s reference, without reading its findings: what a cache of rendered runs
    keys on."""
    query = select(ReportRun.id, ReportRun.number, ReportRun.created_at).where(
        ReportRun.org_id == org_id
    )
    if not include_filtered:
        query = query.where(ReportRun.filters == {})
    # The newest build: a reused run counts from when a build last confirmed it.
    newest_first = (ReportRun.confirmed_at.desc(), ReportRun.number.desc())
    row = session.execute(query.order_by(*newest_first).limit(1)).first()
    if row is None:
        require_org(session, org_id)  # no run, or no such organization: say which
        return None
    return RunRef(row.id, row.number, row.created_at)


def list_runs(
    session: Session, org_id: str, *, limit: int, offset: int
) -> tuple[list[dict[str, Any]], int]:
    """Run headers (no findings), newest first; `id` is the run's number (what URLs take)."""
    require_org(session, org_id)
    total = session.scalar(
        select(func.count()).select_from(ReportRun).where(ReportRun.org_id == org_id)
    )
    rows = session.execute(
        select(
            ReportRun.number.label("id"),
            ReportRun.number,
            ReportRun.created_at,
            ReportRun.confirmed_at,
            ReportRun.schema_version,
            ReportRun.inputs_version,
            ReportRun.model,
            ReportRun.as_of,
            ReportRun.filters,
            ReportRun.summary["counts"].label("counts"),
        )
        .where(ReportRun.org_id == org_id)
        .order_by(ReportRun.number.desc())
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
    # The same settings stored again (a retried PUT, a config tool) are no change: keeping
    # `updated_at` keeps a cancelled report build cancelled (service/routes/report_job.py).
    session.execute(
        stmt.on_conflict_do_update(
            index_elements=["org_id"],
            set_={"config": config, "updated_at": func.now()},
            where=ReportSettings.config != stmt.excluded.config,
        )
    )


def latest_runs(session: Session) -> dict[str, tuple[int, datetime]]:
    """Each organization's latest report (number, created_at) as `latest_run` means it, for the
    index page."""
    newest = (
        select(ReportRun.org_id, func.max(ReportRun.number).label("number"))
        .where(ReportRun.filters == {})
        .group_by(ReportRun.org_id)
        .subquery()
    )
    rows = session.execute(
        select(ReportRun.org_id, ReportRun.number, ReportRun.created_at).join(
            newest,
            (newest.c.org_id == ReportRun.org_id) & (newest.c.number == ReportRun.number),
        )
    )
    return {r.org_id: (r.number, r.created_at) for r in rows}
