"""Run one job: mark it running, do the work and store its result in one transaction.

The work and the `succeeded` mark commit together, so a worker killed half-way leaves nothing
behind and the retry starts clean; a job already finished is not run again (the queue may
deliver a job twice after a crash). `scope` opens the unit of work: the owner's transaction in
a worker, a savepoint of the test's session in tests, the same code either way.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import update
from sqlalchemy.orm import Session

from alignment import db
from alignment.embedder import Embedder
from alignment.jobs.abandon import wait_for_deletion
from alignment.jobs.cancel import (
    ENDED,
    Cancelled,
    cancel_requested,
    end_cancelled,
    stop_if_cancel_requested,
)
from alignment.jobs.handlers import HANDLERS, ON_FAILURE
from alignment.jobs.kinds import KINDS
from alignment.jobs.transient import is_transient
from alignment.models import Job
from alignment.telemetry import JOB_SECONDS, JOBS

log = logging.getLogger(__name__)
Scope = Callable[[], AbstractContextManager[Session]]
# Beside the work's transaction: ends it when its organization is being deleted (abandon.py).
Watch = Callable[[Session, str], AbstractContextManager[object]]
FINISHED = ENDED  # succeeded, failed or cancelled: never run (again)


@dataclass
class Services:
    embedder: Embedder
    drafter: Any  # alignment.drafting.drafters.Drafter, built lazily: most jobs need none


def production_services() -> Services:
    from alignment.drafting.drafters import get_drafter
    from alignment.embedder import get_embedder

    return Services(embedder=get_embedder(), drafter=_Lazy(get_drafter))


class _Lazy:
    """Resolves the drafter on first use, so a job that drafts nothing needs no LLM config."""

    def __init__(self, make: Callable[[], Any]) -> None:
        self._make = make
        self._value: Any = None

    def __getattr__(self, name: str) -> Any:
        if self._value is None:
            self._value = self._make()
        return getattr(self._value, name)


@contextmanager
def production_scope() -> Iterator[Session]:
    with db.transaction() as session:
        yield session


def unwatched(_session: Session, _org_id: str) -> AbstractContextManager[object]:
    """No watch: a test's savepoint shares the test's connection, which nothing may end."""
    return nullcontext()


def execute(
    job_id: int,
    *,
    attempt: int,
    max_attempts: int,
    services: Services,
    scope: Scope,
    watch: Watch = unwatched,
) -> None:
    """Run the job once. Raises what failed it (the queue retries passing failures), or
    `Cancelled` once it has ended cancelled (cancel.py): asked to stop while it ran, or before
    this attempt started (its worker died, or a passing failure came first)."""
    with scope() as session:
        job = session.get(Job, job_id, with_for_update=True)
        if job is None or job.status in FINISHED:
            # Its organization was deleted, a redelivery after the result was stored, or a
            # waiting job cancelled as a worker took its queue entry.
            return
        org_id, kind = job.org_id, job.kind
        stopped_before = job.cancel_requested_at is not None
        if stopped_before:
            end_cancelled(session, job)
        else:
            job.status, job.attempts, job.started_at = "running", attempt + 1, _now()
    if stopped_before:
        _cancelled(job_id, kind, org_id)
        raise Cancelled(job_id)
    started = time.perf_counter()
    try:
        with scope() as session:
            job = session.get(Job, job_id)
            if job is None:  # its organization was deleted since the job was claimed
                log.info("job %s (%s, %s) dropped: its organization is gone", job_id, kind, org_id)
                return
            progress = ProgressWriter(job_id, scope)
            with watch(session, org_id):
                job.result = HANDLERS[kind](session, job, services, progress)
                if not KINDS[kind].sends_out:
                    # Held until the commit: a cancel asked from now on finds it finished.
                    stop_if_cancel_requested(session, job_id, lock=True)
                _complete_progress(session, job_id, progress.total)
                job.status, job.error, job.finished_at = "succeeded", None, _now()
    except BaseException as exc:
        # `attempt` counts the runs before this one: this is run `attempt + 1` of `max_attempts`.
        final = not is_transient(exc, kind) or attempt + 1 >= max_attempts
        stopped = False
        with scope() as session:
            # A delete of the organization may have ended this work: its outcome decides
            # whether there is a row to record the failure on.
            wait_for_deletion(session, org_id)
            job = session.get(Job, job_id, with_for_update=True, populate_existing=True)
            # Whatever ended the work, a person asked it to stop: no retry, and it says so.
            stopped = job is not None and (
                isinstance(exc, Cancelled)
                or (isinstance(exc, Exception) and job.cancel_requested_at is not None)
            )
            if job is not None and stopped:
                job.error = None if isinstance(exc, Cancelled) else describe(exc)
                end_cancelled(session, job)
            elif job is not None:
                job.status = "failed" if final else "retrying"
                job.error = describe(exc)
                job.finished_at = _now() if final else None
                if kind in ON_FAILURE:
                    ON_FAILURE[kind](session, job, exc, final)
        if stopped:
            _cancelled(job_id, kind, org_id)
            JOB_SECONDS.labels(kind).observe(time.perf_counter() - started)
            if isinstance(exc, Cancelled):
                raise
            raise Cancelled(job_id) from exc
        if job is None and isinstance(exc, Exception):
            _abandoned(job_id, kind, org_id)
            return  # nothing to retry: the job went with its organization
        JOBS.labels(kind, "failed" if final else "retried").inc()
        JOB_SECONDS.labels(kind).observe(time.perf_counter() - started)
        log.warning(
            "job %s (%s, %s) %s: %s", job_id, kind, org_id,
            "failed" if final else "will be retried", describe(exc),
        )  # fmt: skip
        raise
    JOBS.labels(kind, "succeeded").inc()
    JOB_SECONDS.labels(kind).observe(time.perf_counter() - started)
    log.info("job %s (%s, %s) done in %.2f s", job_id, kind, org_id, time.perf_counter() - started)


def _cancelled(job_id: int, kind: str, org_id: str) -> None:
    JOBS.labels(kind, "cancelled").inc()
    log.info(
        "job %s (%s, %s) cancelled as a person asked; nothing it did was kept", job_id, kind, org_id
    )


def _abandoned(job_id: int, kind: str, org_id: str) -> None:
    JOBS.labels(kind, "cancelled").inc()
    log.info(
        "job %s (%s, %s) cancelled: its organization was deleted while it ran; nothing it did "
        "was kept", job_id, kind, org_id,
    )  # fmt: skip


def describe(exc: BaseException) -> str:
    """The reason operators read on the job: a domain error's code and message, else the
    error's kind (never a database message, which can echo row values). `views.failure_code`
    reads the code back, so the pages can say what failed in their own words."""
    from alignment.errors import DomainError

    if isinstance(exc, DomainError):
        return f"{exc.code}: {exc}"
    return f"{type(exc).__name__} (details in the worker's log)"


class ProgressWriter:
    """Progress goes out in its own short transaction so `GET /jobs/{id}` sees it while the
    work's transaction is still open; at most twice a second, except that a new phase (label)
    is always written: the first step of a slow phase (a model call) may take long. Each call
    also reads whether a cancel was asked (one primary-key read: steps are batches or calls)."""

    def __init__(self, job_id: int, scope: Scope) -> None:
        self.job_id, self.scope = job_id, scope
        self.total = 0  # the last total reported: what a finished job shows as all done
        self._last = 0.0
        self._label: str | None = None

    def __call__(self, done: int, total: int, label: str) -> None:
        """Write the progress (rate-limited), and stop the work (raise `Cancelled`) when
        someone asked to cancel the job: a progress point is where a job looks."""
        self.total = total
        now = time.monotonic()
        write = not (now - self._last < 0.5 and done < total and label == self._label)
        if write:
            self._last, self._label = now, label
        try:
            with self.scope() as session:
                if write:
                    _write_progress(session, self.job_id, done, total, label)
                asked = cancel_requested(session, self.job_id)
        except Exception:  # progress is a courtesy; the work goes on without it
            log.debug("progress of job %s not written", self.job_id, exc_info=True)
            return
        if asked:
            raise Cancelled(self.job_id)


FINISHED_LABEL = "done"


def _complete_progress(session: Session, job_id: int, total: int) -> None:
    """In the work's transaction: a succeeded job shows all of its work done, not the last
    step reported (which may have been dropped by the rate limit, or came before work that
    reports nothing). A job that reported no steps counts as one."""
    steps = max(total, 1)
    _write_progress(session, job_id, steps, steps, FINISHED_LABEL)


def _write_progress(session: Session, job_id: int, done: int, total: int, label: str) -> None:
    # A statement, not attributes of a loaded Job: the progress columns in the work's session
    # may hold what an earlier attempt wrote, and an unchanged attribute is never written.
    session.execute(
        update(Job)
        .where(Job.id == job_id)
        .values(progress_done=done, progress_total=total, progress_label=label)
    )


def _now() -> datetime:
    return datetime.now(UTC)
