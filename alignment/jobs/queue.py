"""Procrastinate, configured: the defer side (on the caller's connection) and the worker's app.

The service defers on the request's own psycopg connection, inside its transaction, with an
app whose connector is never opened; the worker runs an app with an async pool of its own.
Both register the one task, `run_job(job_id)`, so the queue holds only a job id: what to do
is in our `jobs` row, which the API shows.
"""

from __future__ import annotations

from functools import lru_cache

import procrastinate
from procrastinate import App, PsycopgConnector, RetryStrategy, SyncPsycopgConnector
from procrastinate.exceptions import JobAborted
from sqlalchemy import make_url, text
from sqlalchemy.orm import Session

from alignment.jobs.kinds import KINDS
from alignment.jobs.transient import TRANSIENT
from alignment.models import Job
from alignment.settings import get_settings

TASK = "goldenthread.run_job"
# Queue ids of the jobs this process is running. A worker whose heartbeat runs late (a busy
# machine) is not dead: its own jobs are never handed back as stalled (worker.py).
RUNNING_HERE: set[int] = set()
QUEUES = sorted({k.queue for k in KINDS.values()})


def retry_strategy(max_attempts: int, backoff_s: int) -> RetryStrategy | bool:
    """Retries such that a job runs `max_attempts` times in all (the first run included).

    procrastinate's `max_attempts` counts retries: it retries while the attempts made before
    the failing one are fewer, so passing ours as is ran a job once more than configured.
    Its 0 means "retry forever", hence no strategy at all when nothing is left to retry."""
    retries = max_attempts - 1
    if retries <= 0:
        return False
    return RetryStrategy(
        max_attempts=retries, exponential_wait=backoff_s, retry_exceptions=TRANSIENT
    )


def _register(app: App) -> None:
    settings = get_settings().jobs
    retry = retry_strategy(settings.max_attempts, settings.backoff_s)

    @app.task(name=TASK, pass_context=True, retry=retry)
    def run_job(context: procrastinate.JobContext, job_id: int) -> None:
        from alignment.jobs.abandon import watch_deletion
        from alignment.jobs.cancel import Cancelled
        from alignment.jobs.execute import execute, production_scope, production_services

        assert context.job is not None and context.job.id is not None
        RUNNING_HERE.add(context.job.id)
        try:
            execute(
                job_id,
                attempt=context.job.attempts,
                max_attempts=settings.max_attempts,
                services=production_services(),
                scope=production_scope,
                watch=watch_deletion,
            )
        except Cancelled as exc:
            # The queue's entry ends `aborted`, which procrastinate never retries.
            raise JobAborted(str(exc)) from exc
        finally:
            RUNNING_HERE.discard(context.job.id)


@lru_cache(maxsize=1)
def _defer_app() -> App:
    app = App(connector=SyncPsycopgConnector())
    _register(app)
    return app


def defer(session: Session, job: Job) -> int:
    """Put `job` on the queue in `session`'s transaction; returns procrastinate's job id."""
    kind = KINDS[job.kind]
    connection = session.connection().connection.driver_connection
    task = _defer_app().tasks[TASK]
    return task.configure(
        queue=kind.queue,
        lock=f"org:{job.org_id}:scoring" if kind.serial else None,
        priority=_fair_priority(session, job),
        connection=connection,
    ).defer(job_id=job.id)


def _fair_priority(session: Session, job: Job) -> int:
    """One below the lowest priority among the organization's jobs waiting on this queue (0
    when none waits). Every organization shares the queue, and procrastinate takes the highest
    priority first, then the oldest: an organization asking a lot waits behind its own work,
    not everyone else's behind it. Never above a job it queued earlier, so jobs that share a
    lock (imports, scoring) still run in the order they were asked for."""
    lowest = session.scalar(
        text(
            "SELECT min(p.priority) FROM procrastinate_jobs p JOIN jobs j ON j.queue_job_id = p.id "
            "WHERE j.org_id = :org AND j.id <> :job AND p.status = 'todo' AND p.queue_name = :queue"
        ),
        {"org": job.org_id, "job": job.id, "queue": KINDS[job.kind].queue},
    )
    return 0 if lowest is None else min(0, lowest - 1)


def libpq_url(sqlalchemy_url: str) -> str:
    return (
        make_url(sqlalchemy_url).set(drivername="postgresql").render_as_string(hide_password=False)
    )


def worker_app(database_url: str) -> App:
    """An app for one worker process, on the owner's connection (like every operator command)."""
    concurrency = get_settings().jobs.concurrency
    connector = PsycopgConnector(
        conninfo=libpq_url(database_url), min_size=1, max_size=concurrency + 3
    )
    app = App(connector=connector)
    _register(app)
    return app
