"""Relational model: organizations own everything; every key is (org_id, id).

Ids are the caller's own (bundle ids), unique per kind inside an organization, so imports
update by id and every query is scoped by organization through the key itself.
Texts that get embedded carry `content_hash` so the embed stage can skip unchanged text.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from pgvector.sqlalchemy import Vector
from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    Float,
    ForeignKey,
    ForeignKeyConstraint,
    Identity,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    false,
    func,
)
from sqlalchemy import text as sql
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

# PERSPECTIVES is also read from here (report, strategy map).
from alignment.vocabulary import LEAD_LAG, PERSPECTIVES


def content_hash(*parts: str | None) -> str:
    """Stable hash of the text that gets embedded (fields joined, whitespace normalized)."""
    joined = "\n".join(" ".join((p or "").split()) for p in parts)
    return hashlib.sha256(joined.encode("utf-8")).hexdigest()


def _one_of(column: str, values: tuple[str, ...]) -> str:
    """Check-constraint SQL for a nullable column limited to `values`, written as migration
    0001 wrote it (so the DDL stays the migrations' own)."""
    listed = ",".join(f"'{value}'" for value in values)
    return f"{column} is null or {column} in ({listed})"


class Base(DeclarativeBase):
    pass


def stamped_now() -> Mapped[datetime]:
    """A timestamp the database fills in when the row is written."""
    return mapped_column(DateTime(timezone=True), server_default=func.now(), nullable=False)


class Timestamped:
    created_at: Mapped[datetime] = stamped_now()
    updated_at: Mapped[datetime] = stamped_now()


def org_fk() -> Mapped[str]:
    return mapped_column(
        String, ForeignKey("organizations.id", ondelete="CASCADE"), primary_key=True
    )


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
        CheckConstraint(_one_of("perspective", PERSPECTIVES), name="objective_perspective"),
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
        CheckConstraint(_one_of("kind", LEAD_LAG), name="kpi_kind"),
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
        CheckConstraint(_one_of("kind", LEAD_LAG), name="key_result_kind"),
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


# --- alignment results (migration 0002) -------------------------------------------------------

EMBEDDING_DIM = 384


class TextEmbedding(Base):
    """One vector per distinct text of an organization and model, addressed by content hash."""

    __tablename__ = "text_embeddings"
    org_id: Mapped[str] = org_fk()
    model: Mapped[str] = mapped_column(String, primary_key=True)
    content_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    embedding: Mapped[list[float]] = mapped_column(Vector(EMBEDDING_DIM), nullable=False)
    # In the HNSW graph: texts searched by similarity (OKR titles, key results). The others are
    # only read back by hash, and graph upkeep is most of what storing a vector costs.
    searchable: Mapped[bool] = mapped_column(Boolean, server_default=false(), nullable=False)
    created_at: Mapped[datetime] = stamped_now()
    __table_args__ = (
        Index(
            "ix_text_embeddings_hnsw",
            "embedding",
            postgresql_where=sql("searchable"),
            postgresql_using="hnsw",
            postgresql_with={"m": 16, "ef_construction": 64},
            postgresql_ops={"embedding": "vector_cosine_ops"},
        ),
    )


class ScoredLink(Base):
    """The engine's latest verdict on one OKR x objective pair, with evidence."""

    __tablename__ = "scored_links"
    org_id: Mapped[str] = org_fk()
    okr_id: Mapped[str] = mapped_column(String, primary_key=True)
    objective_id: Mapped[str] = mapped_column(String, primary_key=True)
    rank: Mapped[int] = mapped_column(Integer, nullable=False)
    score: Mapped[float] = mapped_column(Float, nullable=False)
    label: Mapped[str] = mapped_column(String, nullable=False)
    evidence: Mapped[list] = mapped_column(JSONB, nullable=False)
    okr_hash: Mapped[str] = mapped_column(String(64), nullable=False)
    # The objectives, calibration and model the label was decided against (scoring/stability.py).
    context_hash: Mapped[str | None] = mapped_column(String(64))
    model: Mapped[str] = mapped_column(String, nullable=False)
    # An LLM's verdict on a close call (alignment/adjudicate.py), when one was asked for.
    adjudication: Mapped[dict | None] = mapped_column(JSONB(none_as_null=True), nullable=True)
    scored_at: Mapped[datetime] = stamped_now()
    __table_args__ = (
        ForeignKeyConstraint(["org_id", "okr_id"], ["okrs.org_id", "okrs.id"], ondelete="CASCADE"),
        ForeignKeyConstraint(
            ["org_id", "objective_id"],
            ["strategic_objectives.org_id", "strategic_objectives.id"],
            ondelete="CASCADE",
        ),
        CheckConstraint("label in ('aligned','weak','none')", name="scored_link_label"),
        Index("ix_scored_links_objective", "org_id", "objective_id", "score"),
    )


class OkrVerdict(Base):
    """How the engine compared an OKR's best score with its organization's median when it
    decided (alignment/verdicts.py): kept while the OKR's text and context are unchanged, so
    other teams' new OKRs cannot move this OKR between orphan and needs_review."""

    __tablename__ = "okr_verdicts"
    org_id: Mapped[str] = org_fk()
    okr_id: Mapped[str] = mapped_column(String, primary_key=True)
    far_below: Mapped[bool] = mapped_column(Boolean, nullable=False)
    best_score: Mapped[float] = mapped_column(Float, nullable=False)
    reference: Mapped[float] = mapped_column(Float, nullable=False)  # the median it was held to
    okr_hash: Mapped[str] = mapped_column(String(64), nullable=False)
    context_hash: Mapped[str] = mapped_column(String(64), nullable=False)
    decided_at: Mapped[datetime] = stamped_now()
    __table_args__ = (
        ForeignKeyConstraint(["org_id", "okr_id"], ["okrs.org_id", "okrs.id"], ondelete="CASCADE"),
    )


class CheckInDrift(Base):
    __tablename__ = "check_in_drift"
    org_id: Mapped[str] = org_fk()
    check_in_id: Mapped[str] = mapped_column(String, primary_key=True)
    score: Mapped[float] = mapped_column(Float, nullable=False)
    drifting: Mapped[bool] = mapped_column(Boolean, nullable=False)  # verdict == "drifting"
    # "drifting" | "needs_review" | "on_topic" (migration 0016; a person's decision wins)
    verdict: Mapped[str] = mapped_column(String, nullable=False, server_default="on_topic")
    evidence: Mapped[dict] = mapped_column(JSONB, nullable=False)
    model: Mapped[str] = mapped_column(String, nullable=False)
    scored_at: Mapped[datetime] = stamped_now()
    __table_args__ = (
        ForeignKeyConstraint(
            ["org_id", "check_in_id"], ["check_ins.org_id", "check_ins.id"], ondelete="CASCADE"
        ),
        CheckConstraint(
            "verdict in ('drifting','needs_review','on_topic') "
            "and drifting = (verdict = 'drifting')",
            name="check_in_drift_verdict",
        ),
    )


class LastScoringRun(Base):
    """An organization's last completed scoring run (migration 0017), written in the run's own
    transaction: when it read the `score` jobs waiting (right after its lock, before any
    record), those jobs (job id -> its `requests`), and its summary. A job that run saw,
    unjoined since, has nothing left to score (alignment/scoring/runs.py)."""

    __tablename__ = "last_scoring_runs"
    org_id: Mapped[str] = org_fk()
    # clock_timestamp() as the run read the waiting jobs (not now(): its transaction's start)
    started_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.clock_timestamp(), nullable=False
    )
    waiting_jobs: Mapped[dict] = mapped_column(JSONB, nullable=False, server_default=sql("'{}'"))
    summary: Mapped[dict] = mapped_column(JSONB, nullable=False)


class CheckInFeedback(Base):
    """A person's verdict on a check-in (is it about its OKR?); respected by scoring while the
    check-in's text and the OKR and key result it is filed under are unchanged."""

    __tablename__ = "check_in_feedback"
    org_id: Mapped[str] = org_fk()
    check_in_id: Mapped[str] = mapped_column(String, primary_key=True)
    verdict: Mapped[str] = mapped_column(String, nullable=False)  # "drifting" | "on_topic"
    text_hash: Mapped[str] = mapped_column(String(64), nullable=False)
    decided_by: Mapped[str] = mapped_column(String, nullable=False)
    decided_at: Mapped[datetime] = stamped_now()
    note: Mapped[str | None] = mapped_column(Text)
    __table_args__ = (
        ForeignKeyConstraint(
            ["org_id", "check_in_id"], ["check_ins.org_id", "check_ins.id"], ondelete="CASCADE"
        ),
        CheckConstraint("verdict in ('drifting','on_topic')", name="check_in_feedback_verdict"),
    )


class LinkFeedback(Base):
    """A person's verdict on a link; respected by scoring until the OKR's text changes."""

    __tablename__ = "link_feedback"
    org_id: Mapped[str] = org_fk()
    okr_id: Mapped[str] = mapped_column(String, primary_key=True)
    objective_id: Mapped[str] = mapped_column(String, primary_key=True)
    verdict: Mapped[str] = mapped_column(String, nullable=False)
    okr_hash: Mapped[str] = mapped_column(String(64), nullable=False)
    decided_by: Mapped[str] = mapped_column(String, nullable=False)
    decided_at: Mapped[datetime] = stamped_now()
    note: Mapped[str | None] = mapped_column(Text)
    __table_args__ = (
        ForeignKeyConstraint(["org_id", "okr_id"], ["okrs.org_id", "okrs.id"], ondelete="CASCADE"),
        ForeignKeyConstraint(
            ["org_id", "objective_id"],
            ["strategic_objectives.org_id", "strategic_objectives.id"],
            ondelete="CASCADE",
        ),
        CheckConstraint("verdict in ('confirmed','rejected')", name="link_feedback_verdict"),
    )


# --- LLM spending outside drafts (migration 0006) ----------------------------------------------


class LlmUsage(Base):
    """Tokens one model call outside the draft stage spent (drafts record their own)."""

    __tablename__ = "llm_usage"
    org_id: Mapped[str] = org_fk()
    id: Mapped[int] = mapped_column(Integer, Identity(always=False), primary_key=True)
    purpose: Mapped[str] = mapped_column(String, nullable=False)
    model: Mapped[str] = mapped_column(String, nullable=False)
    input_tokens: Mapped[int] = mapped_column(Integer, nullable=False)
    output_tokens: Mapped[int] = mapped_column(Integer, nullable=False)
    created_at: Mapped[datetime] = stamped_now()
    __table_args__ = (Index("ix_llm_usage_org_created", "org_id", "created_at"),)


# --- Access: API keys, the audit log, idempotent replays (migration 0007) ---------------------


class ApiKey(Base):
    """An API key: only the SHA-256 of its secret is kept; the prefix identifies it."""

    __tablename__ = "api_keys"
    id: Mapped[int] = mapped_column(BigInteger, Identity(always=False), primary_key=True)
    prefix: Mapped[str] = mapped_column(String, nullable=False, unique=True)
    secret_hash: Mapped[str] = mapped_column(String(64), nullable=False)
    org_id: Mapped[str | None] = mapped_column(
        String, ForeignKey("organizations.id", ondelete="CASCADE")
    )
    role: Mapped[str] = mapped_column(String, nullable=False)
    team_ids: Mapped[list[str]] = mapped_column(
        ARRAY(String), nullable=False, server_default=sql("'{}'")
    )
    name: Mapped[str] = mapped_column(Text, nullable=False)
    created_by: Mapped[str] = mapped_column(Text, nullable=False)
    created_at: Mapped[datetime] = stamped_now()
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Page sessions (signed tickets) issued before this no longer sign in (migration 0019).
    signed_out_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    __table_args__ = (
        CheckConstraint(
            "role in ('platform_admin','admin','strategy_office','team_lead','integration')",
            name="api_key_role",
        ),
        CheckConstraint("(role = 'platform_admin') = (org_id is null)", name="api_key_org"),
        Index("ix_api_keys_org", "org_id"),
    )


class AuditEntry(Base):
    """One write or decision: who (the authenticated principal), what, on which record, when.

    No foreign key to organizations: the entry that records an organization's deletion outlives it.
    """

    __tablename__ = "audit_log"
    id: Mapped[int] = mapped_column(BigInteger, Identity(always=False), primary_key=True)
    org_id: Mapped[str | None] = mapped_column(String)
    at: Mapped[datetime] = stamped_now()
    principal: Mapped[str] = mapped_column(Text, nullable=False)
    key_id: Mapped[int | None] = mapped_column(BigInteger)
    action: Mapped[str] = mapped_column(String, nullable=False)
    record: Mapped[str | None] = mapped_column(Text)
    details: Mapped[dict | None] = mapped_column(JSONB)
    request_id: Mapped[str | None] = mapped_column(String)
    __table_args__ = (Index("ix_audit_log_org_at", "org_id", "at"),)


class IdempotentRequest(Base):
    """A POST made with an `Idempotency-Key`: the first one's response, replayed on retries.

    `status_code` is null while the first request runs; the primary key makes concurrent
    duplicates wait on (then see) the first one's row instead of executing twice. `scope` is a
    hash of the caller's credentials, so one caller can never see another's responses; the
    table has no organization column (and so no tenant policy) because the edge answers a
    retry before it knows the tenant. Only requests with valid credentials write here; an
    answer carrying a secret is stored as a 409 without it; rows expire after 24 hours.
    """

    __tablename__ = "idempotency_keys"
    scope: Mapped[str] = mapped_column(String(64), primary_key=True)
    key: Mapped[str] = mapped_column(String, primary_key=True)
    request_hash: Mapped[str] = mapped_column(String(64), nullable=False)
    status_code: Mapped[int | None] = mapped_column(Integer)
    response_body: Mapped[bytes | None] = mapped_column(LargeBinary)
    response_headers: Mapped[dict | None] = mapped_column(JSONB)
    created_at: Mapped[datetime] = stamped_now()
    # Rows expire after 24 hours; claims purge them by this index (migration 0018).
    __table_args__ = (Index("ix_idempotency_keys_created_at", "created_at"),)


class BundleUpload(Base):
    """A bundle posted with `?background=true`, kept until its import job has imported it
    (migration 0014): the job reads it from here, and removes it in the import's transaction."""

    __tablename__ = "bundle_uploads"
    id: Mapped[int] = mapped_column(BigInteger, Identity(always=False), primary_key=True)
    org_id: Mapped[str] = mapped_column(
        String, ForeignKey("organizations.id", ondelete="CASCADE"), nullable=False
    )
    body: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)
    prune: Mapped[bool] = mapped_column(Boolean, nullable=False)
    created_at: Mapped[datetime] = stamped_now()


class ReadVersion(Base):
    """Bumped by triggers when an organization's scored links, OKRs or objectives change
    (migration 0012): what cached score reads are checked against."""

    __tablename__ = "read_versions"
    org_id: Mapped[str] = mapped_column(String, primary_key=True)
    version: Mapped[int] = mapped_column(BigInteger, nullable=False, server_default=sql("0"))


class Job(Base):
    """Background work one person or tool asked for: its state, progress, result or reason.

    Procrastinate (table `procrastinate_jobs`) schedules, locks and retries; this row is what
    the API shows, scoped by organization like every other record. `dedupe_key` is set for work
    where a newer request can wait for the queued one (scoring, reports): at most one such job
    per key is `queued` at a time, and since it reads the organization when it starts, it
    serves every request made before then.
    """

    __tablename__ = "jobs"
    id: Mapped[int] = mapped_column(BigInteger, Identity(always=False), primary_key=True)
    org_id: Mapped[str] = mapped_column(
        String, ForeignKey("organizations.id", ondelete="CASCADE"), nullable=False
    )
    kind: Mapped[str] = mapped_column(String, nullable=False)
    status: Mapped[str] = mapped_column(String, nullable=False, server_default="queued")
    params: Mapped[dict] = mapped_column(JSONB, nullable=False, server_default=sql("'{}'"))
    dedupe_key: Mapped[str | None] = mapped_column(String)
    requested_by: Mapped[str] = mapped_column(Text, nullable=False)
    requests: Mapped[int] = mapped_column(Integer, nullable=False, server_default="1")
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, server_default="0")
    progress_done: Mapped[int | None] = mapped_column(Integer)
    progress_total: Mapped[int | None] = mapped_column(Integer)
    progress_label: Mapped[str | None] = mapped_column(Text)
    result: Mapped[dict | None] = mapped_column(JSONB)
    error: Mapped[str | None] = mapped_column(Text)
    queue_job_id: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = stamped_now()
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    __table_args__ = (
        CheckConstraint(
            "status in ('queued','running','retrying','succeeded','failed')", name="job_status"
        ),
        Index("ix_jobs_org_created", "org_id", "created_at"),
        Index(
            "uq_jobs_queued_dedupe",
            "org_id",
            "dedupe_key",
            unique=True,
            postgresql_where=sql("status = 'queued' and dedupe_key is not null"),
        ),
    )


class WebhookSubscription(Base):
    """Another tool's URL that wants an organization's events, signed with `secret`.

    The secret is stored as given (it signs every delivery, so it must be readable here) and
    shown only when the subscription is created.
    """

    __tablename__ = "webhook_subscriptions"
    id: Mapped[int] = mapped_column(BigInteger, Identity(always=False), primary_key=True)
    org_id: Mapped[str] = mapped_column(
        String, ForeignKey("organizations.id", ondelete="CASCADE"), nullable=False
    )
    url: Mapped[str] = mapped_column(Text, nullable=False)
    events: Mapped[list[str]] = mapped_column(ARRAY(String), nullable=False)
    secret: Mapped[str] = mapped_column(Text, nullable=False)
    active: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default=sql("true"))
    created_by: Mapped[str] = mapped_column(Text, nullable=False)
    created_at: Mapped[datetime] = stamped_now()
    __table_args__ = (Index("ix_webhook_subscriptions_org", "org_id"),)


class WebhookDelivery(Base):
    """One event for one subscription: what was sent, how often, and how it ended."""

    __tablename__ = "webhook_deliveries"
    id: Mapped[int] = mapped_column(BigInteger, Identity(always=False), primary_key=True)
    org_id: Mapped[str] = mapped_column(
        String, ForeignKey("organizations.id", ondelete="CASCADE"), nullable=False
    )
    subscription_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("webhook_subscriptions.id", ondelete="CASCADE"), nullable=False
    )
    event: Mapped[str] = mapped_column(String, nullable=False)
    payload: Mapped[dict] = mapped_column(JSONB, nullable=False)
    status: Mapped[str] = mapped_column(String, nullable=False, server_default="pending")
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, server_default="0")
    last_status_code: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = stamped_now()
    delivered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    __table_args__ = (
        CheckConstraint("status in ('pending','delivered','failed')", name="delivery_status"),
        Index("ix_webhook_deliveries_subscription", "subscription_id", "created_at"),
    )
