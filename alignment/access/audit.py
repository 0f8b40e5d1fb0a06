"""The audit log: every write and decision, with the principal who made it."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from alignment.access.principal import Principal
from alignment.models import AuditEntry, Organization


def record(
    session: Session,
    principal: Principal,
    action: str,
    *,
    org_id: str | None,
    record: str | None = None,
    details: dict[str, Any] | None = None,
    request_id: str | None = None,
) -> None:
    """Add an entry in the caller's transaction: it exists exactly when the write does."""
    entry = AuditEntry(
        org_id=org_id,
        principal=principal.name,
        key_id=principal.key_id,
        action=action,
        record=record,
        details=details,
        request_id=request_id,
    )
    session.add(entry)
    session.info[_PENDING] = entry


_PENDING = "goldenthread.audit_entry"


def name_created(session: Session, record_id: str) -> None:
    """Name the record a create made in its transaction's entry: the entry is written before
    the route runs, from the URL, where a new record's id is not."""
    entry = session.info.get(_PENDING)
    if entry is not None and entry.record is None:
        entry.record = record_id


def list_entries(
    session: Session, org_id: str, *, limit: int, offset: int
) -> tuple[list[AuditEntry], int]:
    # Entries outlive their organization (the one of its delete must), so a new organization
    # given a deleted one's id would list the old one's writes: only those since its creation.
    since = select(Organization.created_at).where(Organization.id == org_id).scalar_subquery()
    where = (AuditEntry.org_id == org_id) & (AuditEntry.at >= since)
    total = session.scalar(select(func.count()).select_from(AuditEntry).where(where)) or 0
    rows = session.scalars(
        select(AuditEntry)
        .where(where)
        .order_by(AuditEntry.at.desc(), AuditEntry.id.desc())
        .limit(limit)
        .offset(offset)
    )
    return list(rows), total


def render(entry: AuditEntry) -> dict[str, Any]:
    return {
        "id": entry.id,
        "at": entry.at,
        "principal": entry.principal,
        "action": entry.action,
        "record": entry.record,
        "details": entry.details,
        "request_id": entry.request_id,
    }
