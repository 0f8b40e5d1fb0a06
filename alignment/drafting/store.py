"""Drafts and the decisions people take on them: tables and all their SQL.

A draft keeps the AI's payload untouched with its provenance (prompt id, version and hash,
model, drafter kind, token usage, latency, gate results, every attempt). A failed attempt is a
row with status `failed`, kept for the audit trail but never approvable. Decisions are
append-only rows holding who, when, the reason, and the edited payload beside the AI's.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    CheckConstraint,
    DateTime,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    String,
    Text,
    func,
    select,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, Session, mapped_column

from alignment import repository
from alignment.errors import NotFound
from alignment.models import (
    Base,
    Cycle,
    LlmUsage,
    StrategicObjective,
    Team,
    org_fk,
    stamped_now,
)
from alignment.repository import require_org

STATUSES = ("pending", "approved", "edited_and_approved", "rejected", "failed")
DECISIONS = ("approved", "edited_and_approved", "rejected")
KINDS = ("suggestion", "summary")


class Draft(Base):
    __tablename__ = "drafts"
    org_id: Mapped[str] = org_fk()
    id: Mapped[str] = mapped_column(String, primary_key=True)
    kind: Mapped[str] = mapped_column(String, nullable=False)
    status: Mapped[str] = mapped_column(String, nullable=False)
    request: Mapped[dict] = mapped_column(JSONB, nullable=False)
    team_id: Mapped[str | None] = mapped_column(String)
    objective_id: Mapped[str | None] = mapped_column(String)
    cycle_id: Mapped[str | None] = mapped_column(String)
    payload: Mapped[dict | None] = mapped_column(JSONB)
    schema_version: Mapped[str] = mapped_column(String, nullable=False)
    prompt_id: Mapped[str] = mapped_column(String, nullable=False)
    prompt_version: Mapped[int] = mapped_column(Integer, nullable=False)
    prompt_hash: Mapped[str] = mapped_column(String(64), nullable=False)
    drafter: Mapped[str] = mapped_column(String, nullable=False)
    model: Mapped[str] = mapped_column(String, nullable=False)
    input_tokens: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    output_tokens: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    total_tokens: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    latency_ms: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    gates: Mapped[list] = mapped_column(JSONB, nullable=False)
    attempts: Mapped[list] = mapped_column(JSONB, nullable=False)
    created_at: Mapped[datetime] = stamped_now()
    # A failed draft a person set aside (migration 0020): kept for the audit trail, no longer
    # waiting on the team page. The status stays `failed`: it says what the drafting produced.
    dismissed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    dismissed_by: Mapped[str | None] = mapped_column(String)
    # Not a column: set on the pending draft a repeated identical request answered with
    # (`pending_twin`), so the caller sends no second `draft.created` for it.
    repeated = False
    __table_args__ = (
        CheckConstraint("kind in ('suggestion','summary')", name="draft_kind"),
        CheckConstraint(
            "status in ('pending','approved','edited_and_approved','rejected','failed')",
            name="draft_status",
        ),
        CheckConstraint(
            "(dismissed_at is null) = (dismissed_by is null) "
            "and (dismissed_at is null or status = 'failed')",
            name="draft_dismissed",
        ),
        Index("ix_drafts_status", "org_id", "status", "created_at"),
        Index("ix_drafts_created", "org_id", "created_at"),
    )


class DraftDecision(Base):
    __tablename__ = "draft_decisions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    org_id: Mapped[str] = mapped_column(
        String, ForeignKey("organizations.id", ondelete="CASCADE"), nullable=False
    )
    draft_id: Mapped[str] = mapped_column(String, nullable=False)
    decision: Mapped[str] = mapped_column(String, nullable=False)
    decided_by: Mapped[str] = mapped_column(String, nullable=False)
    decided_at: Mapped[datetime] = stamped_now()
    reason: Mapped[str | None] = mapped_column(Text)
    ai_payload: Mapped[dict | None] = mapped_column(JSONB)
    edited_payload: Mapped[dict | None] = mapped_column(JSONB)
    created_records: Mapped[list] = mapped_column(JSONB, nullable=False, default=list)
    __table_args__ = (
        ForeignKeyConstraint(
            ["org_id", "draft_id"], ["drafts.org_id", "drafts.id"], ondelete="CASCADE"
        ),
        CheckConstraint(
            "decision in ('approved','edited_and_approved','rejected')", name="draft_decision"
        ),
        Index("ix_draft_decisions_draft", "org_id", "draft_id", "decided_at"),
    )


def add_draft(session: Session, draft: Draft) -> Draft:
    session.add(draft)
    session.flush()
    session.refresh(draft)
    return draft


def pending_twin(session: Session, draft: Draft) -> Draft | None:
    """A pending draft of the same request with the same content as `draft` (not stored yet),
    oldest first; None when there is none. A repeat of an identical request (the form sent
    twice, a deterministic drafter) is answered with it rather than stored again."""
    query = (
        select(Draft)
        .where(
            Draft.org_id == draft.org_id,
            Draft.kind == draft.kind,
            Draft.status == "pending",
            Draft.team_id.is_not_distinct_from(draft.team_id),
            Draft.objective_id.is_not_distinct_from(draft.objective_id),
            Draft.cycle_id.is_not_distinct_from(draft.cycle_id),
            Draft.request == draft.request,
            Draft.payload == draft.payload,
            Draft.model.is_not_distinct_from(draft.model),
        )
        .order_by(Draft.created_at, Draft.id)
        .limit(1)
    )
    return session.scalar(query)


def get_draft(session: Session, org_id: str, draft_id: str, *, lock: bool = False) -> Draft:
    query = select(Draft).where(Draft.org_id == org_id, Draft.id == draft_id)
    # FOR UPDATE: two approvals racing on one draft are serialized, so the second sees the first.
    draft = session.scalar(query.with_for_update() if lock else query)
    if draft is None:
        require_org(session, org_id)
        raise NotFound(f"draft {draft_id!r} does not exist in organization {org_id!r}")
    return draft


def list_drafts(
    session: Session,
    org_id: str,
    *,
    kind: str | None = None,
    status: str | None = None,
    team: str | None = None,
    objective: str | None = None,
    cycle: str | None = None,
    limit: int = 50,
    offset: int = 0,
    only_teams: Collection[str] | None = None,
    dismissed: bool | None = None,
) -> tuple[list[Draft], int]:
    """Drafts, newest first; `only_teams` narrows them to those teams' (a team lead's view),
    `dismissed` to the dismissed ones (True) or the others (False)."""
    require_org(session, org_id)
    query = select(Draft).where(Draft.org_id == org_id)
    if only_teams is not None:
        query = query.where(Draft.team_id.in_(list(only_teams)))
    if dismissed is not None:
        query = query.where(
            Draft.dismissed_at.is_not(None) if dismissed else Draft.dismissed_at.is_(None)
        )
    for column, value in (
        (Draft.kind, kind),
        (Draft.status, status),
        (Draft.team_id, team),
        (Draft.objective_id, objective),
        (Draft.cycle_id, cycle),
    ):
        if value is not None:
            query = query.where(column == value)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.scalars(
        query.order_by(Draft.created_at.desc(), Draft.id).limit(limit).offset(offset)
    ).all()
    return list(rows), total


def refuse_unknown_filters(
    session: Session, org_id: str, *, team: str | None, objective: str | None, cycle: str | None
) -> None:
    """A `team`, `objective` or `cycle` filter naming neither a record of the organization nor
    any of its drafts is refused (422), not answered with no drafts. A draft may name what is
    no record: the cycle a suggestion proposes is created when it is approved, and a team or
    objective deleted since keeps its drafts."""
    require_org(session, org_id)
    named: list[tuple[str, Any, Any, str | None]] = []
    for param, value, model, label, column in (
        ("team", team, Team, "team", Draft.team_id),
        ("objective", objective, StrategicObjective, "strategic objective", Draft.objective_id),
        ("cycle", cycle, Cycle, "cycle", Draft.cycle_id),
    ):
        if value is None:
            continue
        drafted = select(Draft.id).where(Draft.org_id == org_id, column == value).limit(1)
        if session.scalar(drafted) is None:
            named.append((param, value, model, label))
    repository.refuse_unknown_filters(session, org_id, named)


def decisions(session: Session, org_id: str, draft_id: str) -> list[DraftDecision]:
    return list(
        session.scalars(
            select(DraftDecision)
            .where(DraftDecision.org_id == org_id, DraftDecision.draft_id == draft_id)
            .order_by(DraftDecision.decided_at, DraftDecision.id)
        )
    )


def add_decision(session: Session, decision: DraftDecision) -> DraftDecision:
    session.add(decision)
    session.flush()
    session.refresh(decision)
    return decision


def tokens_spent(session: Session, org_id: str, *, since: datetime) -> int:
    """Tokens the organization's model calls used since `since`: drafts (failed attempts
    included) and the rest (link adjudication, in `llm_usage`)."""
    drafts = session.scalar(
        select(func.coalesce(func.sum(Draft.total_tokens), 0)).where(
            Draft.org_id == org_id, Draft.created_at >= since
        )
    )
    other = session.scalar(
        select(func.coalesce(func.sum(LlmUsage.input_tokens + LlmUsage.output_tokens), 0)).where(
            LlmUsage.org_id == org_id, LlmUsage.created_at >= since
        )
    )
    return int(drafts or 0) + int(other or 0)


def month_start(now: datetime | None = None) -> datetime:
    now = now or datetime.now(UTC)
    return now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def render_draft(draft: Draft) -> dict[str, Any]:
    return {
        "id": draft.id,
        "kind": draft.kind,
        "status": draft.status,
        "request": draft.request,
        "team": draft.team_id,
        "objective": draft.objective_id,
        "cycle": draft.cycle_id,
        "payload": draft.payload,
        "gates": draft.gates,
        "provenance": {
            "drafter": draft.drafter,
            "model": draft.model,
            "prompt": {
                "id": draft.prompt_id,
                "version": draft.prompt_version,
                "hash": draft.prompt_hash,
            },
            "schema_version": draft.schema_version,
            "tokens": {
                "input": draft.input_tokens,
                "output": draft.output_tokens,
                "total": draft.total_tokens,
            },
            "latency_ms": draft.latency_ms,
            "attempts": len(draft.attempts),
        },
        "created_at": draft.created_at,
        "dismissed_at": draft.dismissed_at,
        "dismissed_by": draft.dismissed_by,
    }


def render_decision(row: DraftDecision) -> dict[str, Any]:
    return {
        "decision": row.decision,
        "decided_by": row.decided_by,
        "decided_at": row.decided_at,
        "reason": row.reason,
        "ai_payload": row.ai_payload,
        "edited_payload": row.edited_payload,
        "created_records": row.created_records,
    }
