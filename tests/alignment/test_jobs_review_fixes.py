"""Jobs, after an API review: a job runs GOLDENTHREAD_JOBS_MAX_ATTEMPTS times in all, not once
more; progress never goes back and a succeeded job shows all of its work done (import, score and
report jobs); a report job has a total.

The worker side of the attempts (a receiver answering 500 to a real worker) is in
tests/service/test_webhooks_review_fixes.py."""

from __future__ import annotations

import json
from typing import Any

import pytest
from procrastinate.jobs import Job as QueueJob
from sqlalchemy.orm import Session

from alignment.bundle import parse_bundle
from alignment.embed import VectorCache
from alignment.errors import Unavailable
from alignment.ingest import import_bundle
from alignment.jobs import handlers, views
from alignment.jobs.enqueue import enqueue
from alignment.jobs.execute import Services, execute
from alignment.jobs.queue import retry_strategy
from alignment.models import BundleUpload, Job
from tests.factories import small_bundle
from tests.jobs_support import progress_seen, savepoint

__all__ = ["progress_seen"]  # a fixture, used by name

ORG = "jobfix"


def _retried(strategy: Any, runs_before: int) -> bool:
    """Whether procrastinate retries a job that failed (passing failure) after `runs_before`
    earlier runs: what its worker asks the task's strategy."""
    job = QueueJob(
        id=1, queue="work", lock=None, queueing_lock=None, task_name="t", attempts=runs_before
    )
    return strategy.get_retry_exception(exception=Unavailable("away"), job=job) is not None


@pytest.mark.parametrize("max_attempts", [2, 4, 7])
def test_the_queue_runs_a_job_max_attempts_times_in_all(max_attempts) -> None:
    strategy = retry_strategy(max_attempts, backoff_s=2)
    runs = 1  # the first run
    while _retried(strategy, runs_before=runs - 1):
        runs += 1
        assert runs <= 20, "retried without end"
    assert runs == max_attempts


@pytest.mark.parametrize("max_attempts", [0, 1])
def test_one_attempt_or_none_means_no_retry_at_all(max_attempts) -> None:
    # procrastinate reads max_attempts=0 as "retry forever": no strategy is given instead.
    assert retry_strategy(max_attempts, backoff_s=2) is False


def test_a_non_passing_failure_is_never_retried() -> None:
    strategy = retry_strategy(4, backoff_s=2)
    job = QueueJob(id=1, queue="work", lock=None, queueing_lock=None, task_name="t", attempts=0)
    assert strategy.get_retry_exception(exception=KeyError("x"), job=job) is None


@pytest.fixture
def org(session: Session) -> str:
    import_bundle(session, parse_bundle(small_bundle(ORG)))
    return ORG


def _run(session: Session, job_id: int, embedder: Any, *, attempt: int, max_attempts: int):
    execute(
        job_id,
        attempt=attempt,
        max_attempts=max_attempts,
        services=Services(embedder, None),
        scope=lambda: savepoint(session),
    )


def test_the_run_numbered_max_attempts_is_the_last(monkeypatch, session, org, embedder) -> None:
    """The worker passes the runs made before (0 the first time): with 4 attempts, the run
    after 2 earlier ones may be retried, the run after 3 is final."""

    def provider_away(*_args: Any) -> dict:
        raise Unavailable("the provider is away")

    monkeypatch.setitem(handlers.HANDLERS, "draft_summary", provider_away)
    job_id = enqueue(session, org, "draft_summary", {}, requested_by="t").job.id
    with pytest.raises(Unavailable):
        _run(session, job_id, embedder, attempt=2, max_attempts=4)
    job = session.get(Job, job_id)
    assert (job.status, job.attempts) == ("retrying", 3)
    with pytest.raises(Unavailable):
        _run(session, job_id, embedder, attempt=3, max_attempts=4)
    assert (job.status, job.attempts) == ("failed", 4)
    assert job.error == "unavailable: the provider is away"


# Progress ---------------------------------------------------------------------------------


def _progress(session: Session, job_id: int) -> dict[str, Any] | None:
    job = session.get(Job, job_id, populate_existing=True)
    assert job is not None and job.status == "succeeded", (job.status, job.error)
    return views.render(job)["progress"]


DONE_ONE = {"done": 1, "total": 1, "label": "done"}


def test_scoring_passes_count_on_one_total_that_never_goes_back(session, org, embedder) -> None:
    """What the review saw: 256/968, then 968/968, then the check-ins' pass from 12/12."""
    seen: list[tuple[int, int]] = []
    cache = VectorCache(session, org, embedder, progress=lambda *a: seen.append(a), persist=False)
    cache([f"Cut late deliveries at depot {i}" for i in range(5)])  # the links' texts
    cache(["Depot 2 is on track", "Cut late deliveries at depot 1"])  # check-ins: one is known
    assert seen[-1] == (6, 6), seen
    assert [d for d, _ in seen] == sorted(d for d, _ in seen)
    assert [t for _, t in seen] == sorted(t for _, t in seen)


def test_a_score_job_ends_with_all_of_its_work_done(session, org, embedder, jobs, progress_seen):
    job_id = enqueue(session, org, "score", {"adjudicate": False}, requested_by="t").job.id
    jobs.drain()
    done = [d for d, _, _ in progress_seen]
    totals = [t for _, t, _ in progress_seen]
    assert progress_seen and done == sorted(done) and totals == sorted(totals), progress_seen
    assert all(d <= t for d, t, _ in progress_seen)
    embedded = session.get(Job, job_id).result["texts_embedded"]
    assert _progress(session, job_id) == {"done": embedded, "total": embedded, "label": "done"}


def test_an_import_job_counts_its_steps_and_ends_done(session, org, jobs, progress_seen):
    bundle = small_bundle(ORG)
    bundle["okrs"][0]["title"] = "Cut avoidable readmissions by a fifth"
    upload = BundleUpload(org_id=org, body=json.dumps(bundle).encode(), prune=False)
    session.add(upload)
    session.flush()
    job_id = enqueue(session, org, "import", {"upload": upload.id}, requested_by="t").job.id
    jobs.drain()
    ran = [p for p in progress_seen if p[2] != "embedding texts"]  # the scoring job it queued
    assert ran == [
        (0, 5, "checking the bundle"),
        (1, 5, "imported cycles"),
        (2, 5, "imported teams"),
        (3, 5, "imported strategic objectives"),
        (4, 5, "imported okrs"),
        (5, 5, "imported check-ins"),
    ]
    assert _progress(session, job_id) == {"done": 5, "total": 5, "label": "done"}


def test_a_report_job_has_a_total_and_ends_done(session, org, jobs, progress_seen):
    first = enqueue(session, org, "report", {}, requested_by="t").job.id
    jobs.drain()  # never scored: the report scores first
    assert progress_seen == [
        (0, 5, "scoring (embedding new texts)"),
        (1, 5, "reading records and verdicts"),
        (2, 5, "collecting findings"),
        (3, 5, "summarizing"),
        (4, 5, "storing the run"),
    ]
    assert _progress(session, first) == {"done": 5, "total": 5, "label": "done"}
    progress_seen.clear()
    second = enqueue(session, org, "report", {"as_of": "2026-10-05"}, requested_by="t").job.id
    jobs.drain()  # scored already: the scoring stage is skipped, and counts as done
    assert progress_seen[0] == (1, 5, "reading records and verdicts")
    assert _progress(session, second) == {"done": 5, "total": 5, "label": "done"}


def test_a_job_that_counts_no_steps_ends_one_of_one(monkeypatch, session, org, jobs) -> None:
    monkeypatch.setitem(handlers.HANDLERS, "draft_summary", lambda *_args: {"ok": True})
    job_id = enqueue(session, org, "draft_summary", {}, requested_by="t").job.id
    jobs.drain()
    assert _progress(session, job_id) == DONE_ONE
