"""Cancelling a job: a waiting one at once, a running one when it next looks.

Every edge (`POST /jobs/{id}/cancel`, the team and report pages' buttons, `goldenthread jobs
cancel`) comes here. A `queued` or `retrying` job ends `cancelled` in the caller's transaction,
and its queue entry goes in the same one, so no worker ever runs it (a worker that has just
taken the entry finds the row cancelled and does nothing, execute.py). A `running` job cannot be
stopped from outside without losing track of its transaction, so the request is recorded
(`cancel_requested_*`) and the job looks for it at each progress point and once more, holding
its row, before its work commits (execute.py): seeing it, it raises `Cancelled`, its work rolls
back as a crash's would, and it ends `cancelled`. Our own column rather than procrastinate's
`abort_requested`: that flag turns the retry of a job whose worker died into a failure on the
queue's side, leaving our row `running` for ever, while ours is read by the next attempt.
A drafting job also looks every half second while its model call is in flight, and gives the
call up (alignment/abandonable.py). A job whose work reaches outside (a webhook's POST) is let
finish.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from alignment.access.principal import Principal, Role
from alignment.errors import Conflict, Forbidden, NotFound
from alignment.jobs import views
from alignment.models import Job

WAITING = ("queued", "retrying")
ENDED = ("succeeded", "failed", "cancelled")
# Removes the entry while procrastinate still has it `todo`; one a worker has just taken is
# marked instead, and the worker finds our row cancelled.
_UNQUEUE = text("SELECT procrastinate_cancel_job_v1(:entry, true, true)")


class Cancelled(Exception):
    """Raised where a running job looks, once someone asked to cancel it: its work's
    transaction rolls back, and the job ends `cancelled`."""

    def __init__(self, job_id: int) -> None:
        super().__init__(f"job {job_id} was cancelled while it ran; nothing it did was kept")


@dataclass(frozen=True)
class Outcome:
    job: Job
    # "cancelled": the job has ended cancelled; "requested": it runs until it next looks.
    outcome: str
    # False: an earlier cancel (or request) stands, and nothing was written.
    changed: bool


def cancel(session: Session, job_id: int, *, principal: Principal) -> Outcome:
    """Cancel `job_id` for `principal` (who may is `check_may_cancel`), in the caller's
    transaction. A second cancel answers as the first did and changes nothing."""
    job = views.get(session, principal.org_id, job_id)
    if not views.visible_to(principal, job):
        raise NotFound(f"job {job_id} not found")
    # Locked, and read again: the worker marks it running or finished under the same lock,
    # and a request joining it raises `requests` under it. Who may cancel is decided on this
    # read: checked before it, a join committed in between was cancelled with the job.
    session.refresh(job, with_for_update=True)
    check_may_cancel(principal, job)
    if job.status == "cancelled":
        return Outcome(job, "cancelled", changed=False)
    if job.status in ENDED:
        raise Conflict(
            f"job {job_id} has already {job.status}: only a queued, retrying or running job "
            "can be cancelled",
            details=[{"path": "path.job_id", "message": f"the job has {job.status}"}],
        )
    if job.cancel_requested_at is not None and job.status == "running":  # asked already
        return Outcome(job, "requested", changed=False)
    if job.cancel_requested_at is None:
        job.cancel_requested_by, job.cancel_requested_at = principal.name, _now()
    # Waiting (queued, or retrying: a run asked to cancel can still be put back by a worker's
    # shutdown) ends here, by whoever asked first.
    if job.status == "running":
        session.flush()
        return Outcome(job, "requested", changed=True)
    if job.queue_job_id is not None:
        session.execute(_UNQUEUE, {"entry": job.queue_job_id})
    end_cancelled(session, job)
    return Outcome(job, "cancelled", changed=True)


def may_cancel(principal: Principal, job: Job) -> bool:
    """Whether a page offers "Cancel" for `job`: still waiting or running, not asked already,
    and this person may cancel it (`check_may_cancel`, the rule the cancel itself applies)."""
    if job.status in ENDED or job.cancel_requested_at is not None:
        return False
    try:
        check_may_cancel(principal, job)
    except Forbidden:
        return False
    return True


def check_may_cancel(principal: Principal, job: Job) -> None:
    """An admin (and the operator on the command line) cancels any job of its organization;
    anyone else only a job it asked for alone, never a scoring job: scoring serves the whole
    organization, and other people's writes join it."""
    if principal.role is Role.admin:
        return
    if principal.role is Role.platform_admin:
        raise Forbidden("a platform admin creates organizations; their jobs are their own keys'")
    if job.kind == "score":
        raise Forbidden(
            f"job {job.id} scores the whole organization, for everyone's changes: only an "
            "admin may cancel it"
        )
    others = job.requests - 1
    joined = f"{others} later request{'s' if others > 1 else ''}"
    if job.requested_by != principal.name and others:
        # Who joined is not kept, so the caller's own request may be one of them: the answer
        # says so, where "someone else's" would tell a key that joined the job it has no part
        # in it. Not even its first requester may cancel it now.
        raise Forbidden(
            f"job {job.id} was asked for by {job.requested_by} and {joined} joined it (yours "
            "among them if you asked for the same work): only an admin may cancel a job more "
            "than one request waits for"
        )
    if job.requested_by != principal.name:  # asked for once, by another key: nobody joined it
        raise Forbidden(
            f"job {job.id} was asked for by someone else, {job.requested_by}: only that key "
            "or an admin may cancel it"
        )
    if others:
        raise Forbidden(
            f"job {job.id} also answers {joined} that joined it: only an admin may cancel it"
        )


def end_cancelled(session: Session, job: Job) -> None:
    """Mark `job` cancelled, by whoever asked, and let its kind tidy what it leaves waiting
    (an import's upload, a webhook delivery). In the caller's transaction."""
    from alignment.jobs.handlers import ON_CANCEL

    job.status = "cancelled"
    job.cancelled_by = job.cancel_requested_by or "system"
    job.cancelled_at = job.finished_at = _now()
    if job.kind in ON_CANCEL:
        ON_CANCEL[job.kind](session, job)
    session.flush()


def cancel_requested(session: Session, job_id: int, *, lock: bool = False) -> bool:
    """Whether someone asked to cancel the job. A column, not a loaded Job: the caller's
    session may hold the row as it was when the work started. With `lock`, held until the
    transaction ends, so no request can come between this answer and its commit."""
    query = select(Job.cancel_requested_at).where(Job.id == job_id)
    return session.scalar(query.with_for_update() if lock else query) is not None


def stop_if_cancel_requested(session: Session, job_id: int, *, lock: bool = False) -> None:
    if cancel_requested(session, job_id, lock=lock):
        raise Cancelled(job_id)


def _now() -> datetime:
    return datetime.now(UTC)
