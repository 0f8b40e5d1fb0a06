"""Which waiting `score` jobs a completed scoring run has already done the work of.

A report that scores first (report.facts.needs_scoring) does what a queued `score` job was
queued for; that job would then score everything again for nothing. So each run stores, in its
own transaction (`last_scoring_runs`, migration 0017), the organization's unfinished `score`
jobs it saw right after taking the lock and before it read any record, with how many requests
each had joined, and a job is skipped when the last completed run saw it with the requests it
has now.

Why what a run saw, and not when it started: a job row commits with the writes that asked for
it (jobs/enqueue.py), so a run that read the row before reading any record reads those writes
too; a start time cannot say that. A job's `created_at` is its transaction's start, and an
import that began before a run may commit after the run read the records (the run then never
saw it, yet started "after" the job). Reading the jobs any later (say, just before the run is
recorded) would skip a job whose import committed during the run, which the run never read. A
request that joins the job later raises `requests`, so the job runs. A skip whose transaction
fails to commit is retried and skips again: every later run also sees the still-unfinished job.
The run's `started_at` is the clock as it read the jobs (`clock_timestamp()`; `now()` would be
its transaction's start, for a report's run before the lock): every job it covered was created
before then, so a skipped job's `scored_at` never precedes its own `created_at`.

A decision on an OKR with no teammates queues no job when no run holds the lock; it holds the
lock shared until it commits instead (scoring/feedback.rescore_if_running), so no run can start
between its check and its commit and store labels without it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Row, String, cast, func, select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from alignment.models import Job, LastScoringRun

SKIPPED = "scored since queued"
UNFINISHED = ("queued", "retrying", "running")


@dataclass(frozen=True)
class Waiting:
    at: datetime  # the clock as the jobs were read: the run's `started_at`
    jobs: dict[str, int]  # job id -> requests


def waiting_score_jobs(session: Session, org_id: str) -> Waiting:
    """The organization's unfinished `score` jobs (job id -> requests) and the clock as they
    were read, in one statement; read right after the lock, before the run reads any record
    (see the module's docstring)."""
    seen = func.jsonb_object_agg(cast(Job.id, String), Job.requests)
    at, jobs = session.execute(
        select(func.clock_timestamp(), func.coalesce(seen, text("'{}'::jsonb"))).where(
            Job.org_id == org_id, Job.kind == "score", Job.status.in_(UNFINISHED)
        )
    ).one()
    return Waiting(at, jobs)


def record_run(session: Session, org_id: str, waiting: Waiting, summary: dict[str, Any]) -> None:
    """The run's row, replaced in the run's transaction: it exists exactly when the run's
    verdicts do. Runs of an organization hold its scoring lock until they commit, so the row
    is never written by two at once. `started_at` is when the run read the waiting jobs."""
    values = {"started_at": waiting.at, "waiting_jobs": waiting.jobs, "summary": summary}
    upsert = insert(LastScoringRun).values(org_id=org_id, **values)
    session.execute(upsert.on_conflict_do_update(index_elements=["org_id"], set_=values))


def covering_run(session: Session, job: Job, model: str) -> Row | None:
    """The last completed run, when it saw `job` waiting with every request the job has now and
    scored with `model`; never for a job that asks for an LLM pass, which a report's run (or a
    plain `goldenthread score`) does not make."""
    if job.params.get("adjudicate"):
        return None
    # Columns, not the entity: the session's identity map could hold an older run's row.
    run = session.execute(
        select(
            LastScoringRun.started_at, LastScoringRun.waiting_jobs, LastScoringRun.summary
        ).where(LastScoringRun.org_id == job.org_id)
    ).one_or_none()
    if run is None or run.summary.get("model") != model:
        return None
    if run.waiting_jobs.get(str(job.id)) != job.requests:
        return None
    return run


def skipped_result(run: Row) -> dict[str, Any]:
    """The job's result when a run covered it: that run's counts, the keys a scoring job's
    result always has, and nothing this job did itself (no texts embedded, no LLM pass, no
    orphans announced: the run announced them)."""
    return {
        **run.summary,
        "texts_embedded": 0,
        "adjudication": None,
        "newly_misaligned": [],
        "skipped": SKIPPED,
        "scored_at": run.started_at.isoformat(),
    }
