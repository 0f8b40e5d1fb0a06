"""Background work and what it keeps: jobs, bundles waiting for their import, webhook
subscriptions and deliveries, and the tokens model calls outside drafts spent.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Identity,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
)
from sqlalchemy import text as sql
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column

from alignment.models.base import Base, org_fk, stamped_now


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
    # Who asked to cancel and when (migration 0025): a running job keeps going until it looks
    # (alignment/jobs/cancel.py); `cancelled_*` once it has ended cancelled.
    cancel_requested_by: Mapped[str | None] = mapped_column(Text)
    cancel_requested_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    cancelled_by: Mapped[str | None] = mapped_column(Text)
    cancelled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    __table_args__ = (
        CheckConstraint(
            "status in ('queued','running','retrying','succeeded','failed','cancelled')",
            name="job_status",
        ),
        CheckConstraint(
            "status <> 'cancelled' or (cancelled_by is not null and cancelled_at is not null)",
            name="job_cancelled_says_who",
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
    # The service's address as the subscriber reached it (migration 0026): what its payloads'
    # links start with unless GOLDENTHREAD_PUBLIC_URL is set; None before that migration.
    links_base: Mapped[str | None] = mapped_column(Text)
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
