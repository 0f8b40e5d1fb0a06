"""What scoring stores: vectors, ranked links with their evidence, verdicts, drift, people's
decisions on links and check-ins, and the version cached reads are checked against.
"""

from __future__ import annotations

from datetime import datetime

from pgvector.sqlalchemy import Vector
from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    Float,
    ForeignKeyConstraint,
    Index,
    Integer,
    String,
    Text,
    false,
    func,
)
from sqlalchemy import text as sql
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from alignment.models.base import Base, org_fk, stamped_now

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
    """How the engine compared an OKR's orphan score (alignment/verdicts.py; the column is
    `best_score`) with its organization's median when it
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


class ReadVersion(Base):
    """Bumped by triggers when an organization's scored links, OKRs or objectives change
    (migration 0012): what cached score reads are checked against."""

    __tablename__ = "read_versions"
    org_id: Mapped[str] = mapped_column(String, primary_key=True)
    version: Mapped[int] = mapped_column(BigInteger, nullable=False, server_default=sql("0"))
