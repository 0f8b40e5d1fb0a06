"""Access: API keys, the audit log, idempotent replays."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
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

from alignment.models.base import Base, stamped_now

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
