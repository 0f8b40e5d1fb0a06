"""Background work on a PostgreSQL queue (procrastinate): scoring, reports, drafts, webhooks.

A write that needs work enqueues it in its own transaction (`enqueue`); a worker
(`goldenthread worker`, or the one `serve` runs in-process) picks it up, runs the kind's
handler in one transaction that also records the result, and retries passing failures with
backoff. People and tools follow a job at `GET /jobs/{id}`.
"""

from alignment.jobs.enqueue import SCORE_PARAMS, Enqueued, enqueue
from alignment.jobs.kinds import KINDS

__all__ = ["KINDS", "SCORE_PARAMS", "Enqueued", "enqueue"]
