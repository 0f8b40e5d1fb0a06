"""Enqueue a job in the caller's transaction: the job exists exactly when the write does."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, text, update
from sqlalchemy.orm import Session

from alignment.errors import TooManyWaiting
from alignment.jobs import queue
from alignment.jobs.kinds import KINDS
from alignment.models import Job

# What a change queues: the same parameters as a plain `POST /score`, so the two join.
SCORE_PARAMS: dict[str, Any] = {"adjudicate": False}


@dataclass(frozen=True)
class Enqueued:
    job: Job
    deduplicated: bool  # an equal job was already waiting; this request joined it


def dedupe_key(kind: str, params: dict[str, Any]) -> str | None:
    """Work whose result depends only on the organization's state (and these params): a
    queued job reads that state when it starts, so it answers every request made until then."""
    if not KINDS[kind].dedupe:
        return None
    canonical = json.dumps(params, sort_keys=True, separators=(",", ":"))
    return f"{kind}:{hashlib.sha256(canonical.encode()).hexdigest()[:16]}"


def enqueue(
    session: Session, org_id: str, kind: str, params: dict[str, Any], *, requested_by: str
) -> Enqueued:
    _refuse_past_the_cap(session, org_id, kind, requested_by)
    key = dedupe_key(kind, params)
    for _ in range(3):  # a queued twin can start running between our two statements
        found = _join_or_insert(session, org_id, kind, params, key, requested_by)
        if found is not None:
            return found
    raise RuntimeError(f"could not enqueue {kind} for {org_id}")  # pragma: no cover


WAITING = ("queued", "running", "retrying")


def _refuse_past_the_cap(session: Session, org_id: str, kind: str, requested_by: str) -> None:
    cap = KINDS[kind].most_waiting
    if cap is None:
        return
    # One requester's asks are counted one at a time: concurrent ones would all see room.
    session.execute(
        text("SELECT pg_advisory_xact_lock(hashtextextended(:who, 0))"),
        {"who": f"job-cap:{org_id}:{kind}:{requested_by}"},
    )
    waiting = session.scalars(
        select(Job.id)
        .where(
            Job.org_id == org_id,
            Job.kind == kind,
            Job.requested_by == requested_by,
            Job.status.in_(WAITING),
        )
        .order_by(Job.id)
    ).all()
    if len(waiting) >= cap:
        raise TooManyWaiting(
            f"{requested_by!r} already has {len(waiting)} {kind} jobs waiting or running in "
            f"this organization, the most one requester may have; ask again when one has "
            "finished",
            details=[{"path": "$", "message": f"waiting: /jobs/{job}"} for job in waiting],
        )


def _join_or_insert(
    session: Session,
    org_id: str,
    kind: str,
    params: dict[str, Any],
    key: str | None,
    requested_by: str,
) -> Enqueued | None:
    if key is not None:
        # The partial unique index admits one queued job per key; a concurrent twin waits on
        # it here and then joins it instead of failing.
        inserted = session.execute(
            text(
                "insert into jobs (org_id, kind, params, dedupe_key, requested_by) "
                "values (:org, :kind, cast(:params as jsonb), :key, :by) "
                "on conflict (org_id, dedupe_key) where status = 'queued' "
                "and dedupe_key is not null do nothing returning id"
            ),
            {
                "org": org_id,
                "kind": kind,
                "params": json.dumps(params),
                "key": key,
                "by": requested_by,
            },
        ).scalar()
        if inserted is None:
            # Counted in SQL, not on an object the session may hold from earlier: `requests`
            # decides whether a score job runs (scoring/runs.py), so no join may be lost.
            joined = session.execute(
                update(Job)
                .where(Job.org_id == org_id, Job.dedupe_key == key, Job.status == "queued")
                .values(requests=Job.requests + 1)
                .returning(Job.id),
                execution_options={"synchronize_session": False},
            ).scalar_one_or_none()
            if joined is None:
                return None
            waiting = session.get(Job, joined, populate_existing=True)
            assert waiting is not None
            return Enqueued(waiting, deduplicated=True)
        job = session.get(Job, inserted)
        assert job is not None
    else:
        job = Job(org_id=org_id, kind=kind, params=params, requested_by=requested_by)
        session.add(job)
        session.flush()
    job.queue_job_id = queue.defer(session, job)
    session.flush()
    return Enqueued(job, deduplicated=False)
