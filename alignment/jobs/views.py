"""Jobs as people and tools read them."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from alignment.access.principal import Principal, Role
from alignment.db import BIGINT_MAX
from alignment.errors import NotFound
from alignment.models import Job


def get(session: Session, org_id: str | None, job_id: int) -> Job:
    """Row-level security already hides other organizations' jobs; the org check says so here
    too, for callers that connect as the owner."""
    # An id past bigint would make PostgreSQL raise (a 500): no such row can exist.
    job = session.get(Job, job_id) if 1 <= job_id <= BIGINT_MAX else None
    if job is None or (org_id is not None and job.org_id != org_id):
        raise NotFound(f"job {job_id} not found")
    return job


def visible_to(principal: Principal, job: Job) -> bool:
    """A team lead sees the jobs it asked for, and scoring jobs, which its writes join (their
    `Scoring-Job` header names one another person queued); everyone else in the organization
    sees every job of it."""
    if principal.role is not Role.team_lead:
        return True
    return job.requested_by == principal.name or job.kind == "score"


def listing(
    session: Session,
    org_id: str,
    *,
    kind: str | None = None,
    status: str | None = None,
    requested_by: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[Job], int]:
    query = select(Job).where(Job.org_id == org_id)
    if kind:
        query = query.where(Job.kind == kind)
    if status:
        query = query.where(Job.status == status)
    if requested_by:
        query = query.where(Job.requested_by == requested_by)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.scalars(query.order_by(Job.id.desc()).limit(limit).offset(offset)).all()
    return list(rows), total


def pending(session: Session, org_id: str, kind: str) -> Job | None:
    """The newest job of this kind not finished yet (queued, running or retrying)."""
    return session.scalars(
        select(Job)
        .where(
            Job.org_id == org_id,
            Job.kind == kind,
            Job.status.in_(("queued", "running", "retrying")),
        )
        .order_by(Job.id.desc())
        .limit(1)
    ).first()


def render(job: Job) -> dict[str, Any]:
    progress = None
    if job.progress_label is not None:
        progress = {
            "done": job.progress_done,
            "total": job.progress_total or None,
            "label": job.progress_label,
        }
    return {
        "id": job.id,
        "url": f"/jobs/{job.id}",
        "organization": job.org_id,
        "kind": job.kind,
        "status": job.status,
        "params": job.params,
        "requested_by": job.requested_by,
        "requests": job.requests,
        "attempts": job.attempts,
        "progress": progress,
        "result": job.result,
        "error": job.error,
        "created_at": _iso(job.created_at),
        "started_at": _iso(job.started_at),
        "finished_at": _iso(job.finished_at),
        # A running job asked to stop keeps running until it next looks (jobs/cancel.py).
        # Stays true once asked, whatever the job then did: a client polling it must not read
        # a request that ended (cancelled, or a webhook's POST let finish) as one withdrawn.
        "cancel_requested": job.cancel_requested_at is not None,
        "cancel_requested_by": job.cancel_requested_by,
        "cancel_requested_at": _iso(job.cancel_requested_at),
        "cancelled_by": job.cancelled_by,
        "cancelled_at": _iso(job.cancelled_at),
    }


# What `execute.describe` writes for a domain error: its code, then its message.
_DOMAIN_ERROR = re.compile(r"^([a-z][a-z0-9_]*): ")


def failure_code(error: str | None) -> str | None:
    """The domain error code a job's stored `error` begins with; None for no error or an
    unexpected one (stored as the exception's kind only, see `execute.describe`)."""
    found = _DOMAIN_ERROR.match(error or "")
    return found.group(1) if found else None


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None
