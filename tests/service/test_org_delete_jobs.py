"""Deleting an organization while one of its jobs runs.

The job's first write locks the organization's row (a foreign-key check), so the delete used
to wait for the job's whole transaction: a minute for a report. Now the delete ends that
transaction instead (the worker's watch, alignment/jobs/abandon.py), takes the organization's
waiting jobs off the queue, and the job ends quietly with nothing of its work kept; a delete
that rolls back leaves the job to its retry. The job runs as a worker runs it (`run_job`), on
transactions of its own, with a handler that holds its transaction open until the test lets it
go: the delete must return while it still holds.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Callable, Iterator
from types import SimpleNamespace
from typing import Any

import pytest
from sqlalchemy import Engine, func, select, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from alignment import repository
from alignment.access import keys
from alignment.access.principal import Role
from alignment.bundle import parse_bundle
from alignment.imports import import_document
from alignment.ingest import import_bundle
from alignment.jobs import SCORE_PARAMS, enqueue
from alignment.jobs.handlers import HANDLERS
from alignment.jobs.queue import TASK, _defer_app
from alignment.models import Job, LlmUsage, Organization
from tests.conftest import auth
from tests.factories import small_bundle

HOLD_S = 30  # bounds the handler's wait when the delete does not end it (the old code)


class HeldJob:
    """A report job whose handler writes a row of its organization, then waits inside its
    transaction until released; run in a thread as a worker's `run_job` runs it."""

    def __init__(self, engine: Engine, org_id: str) -> None:
        self.org_id = org_id
        self.holding, self.released = threading.Event(), threading.Event()
        self.waited_out = False  # the wait ended by itself: nothing ended the transaction
        self.error: BaseException | None = None
        with Session(engine) as s, s.begin():
            job = enqueue(s, org_id, "report", {}, requested_by="test").job
            self.job_id, self.queue_id = job.id, job.queue_job_id
            # As a worker's fetch leaves it: taken, no longer waiting.
            s.execute(
                text("UPDATE procrastinate_jobs SET status = 'doing' WHERE id = :id"),
                {"id": self.queue_id},
            )
        self.thread = threading.Thread(target=self._run, daemon=True)

    def handler(self, session: Session, job: Job) -> dict:
        session.add(
            LlmUsage(org_id=job.org_id, purpose="t", model="m", input_tokens=1, output_tokens=1)
        )
        session.flush()
        self.holding.set()
        self.waited_out = not self.released.wait(HOLD_S)
        session.execute(text("SELECT 1"))  # the work goes on with its next statement
        return {}

    def _run(self) -> None:
        context = SimpleNamespace(job=SimpleNamespace(id=self.queue_id, attempts=0))
        try:
            _defer_app().tasks[TASK](context, job_id=self.job_id)
        except BaseException as exc:  # what procrastinate would see
            self.error = exc

    def finish(self) -> None:
        self.released.set()
        self.thread.join(HOLD_S * 2)
        assert not self.thread.is_alive()


@pytest.fixture
def hold(engine: Engine, cleanup: list[str], monkeypatch) -> Iterator[Callable[[], HeldJob]]:
    """Starts a held report job of a new organization, once it holds its transaction open."""
    started: dict[int, HeldJob] = {}

    def handler(session: Session, job: Job, _services: Any, _progress: Any) -> dict:
        return started[job.id].handler(session, job)

    def start() -> HeldJob:
        org_id = f"leaving-{uuid.uuid4().hex[:8]}"
        with Session(engine) as s, s.begin():
            import_document(s, small_bundle(org_id))
        cleanup.append(org_id)
        job = HeldJob(engine, org_id)
        started[job.job_id] = job
        job.thread.start()
        assert job.holding.wait(HOLD_S), "the job never reached its handler"
        return job

    monkeypatch.setitem(HANDLERS, "report", handler)
    yield start
    for job in started.values():
        job.released.set()
        job.thread.join(HOLD_S * 2)
        with Session(engine) as s, s.begin():  # no worker will finish it
            s.execute(text("DELETE FROM procrastinate_jobs WHERE id = :id"), {"id": job.queue_id})


def _count(engine: Engine, model: Any, org_id: str) -> int:
    with Session(engine) as s:
        return s.scalar(select(func.count()).select_from(model).where(model.org_id == org_id))


def test_deleting_an_organization_ends_its_running_job_instead_of_waiting_for_it(
    app_client, engine, hold, caplog
) -> None:
    caplog.set_level(logging.INFO, logger="alignment.jobs.execute")
    held = hold()
    org = held.org_id
    with Session(engine) as s, s.begin():
        key = keys.create_key(s, org_id=org, role=Role.admin)[1]
        waiting = enqueue(s, org, "score", SCORE_PARAMS, requested_by="test").job.queue_job_id
    deleted = app_client.delete(f"/orgs/{org}", headers=auth(key))
    assert deleted.status_code == 204, deleted.text
    # Returned while the job still held its transaction open: nothing waited for the job.
    assert held.thread.is_alive() and not held.released.is_set() and not held.waited_out
    held.finish()
    assert held.error is None  # ended quietly: no failure, no retry of a job that is gone
    with Session(engine) as s:
        assert s.get(Organization, org) is None and s.get(Job, held.job_id) is None
        still = s.scalar(
            text("SELECT status FROM procrastinate_jobs WHERE id = :id"), {"id": held.queue_id}
        )
        assert still == "doing"  # a running job's queue entry is its worker's to finish
        in_queue = text("SELECT count(*) FROM procrastinate_jobs WHERE id = :id")
        assert s.scalar(in_queue, {"id": waiting}) == 0  # the waiting one left the queue with it
    assert _count(engine, LlmUsage, org) == 0
    assert any("cancelled: its organization was deleted" in r.message for r in caplog.records)


def _delete(engine: Engine, org_id: str, *, commit: bool) -> None:
    with Session(engine) as s:
        s.execute(text("SET LOCAL lock_timeout = '20s'"))  # the old code waited here for the job
        repository.delete_org(s, org_id)
        if commit:
            s.commit()
        else:
            s.rollback()


def test_a_delete_that_rolls_back_leaves_the_job_to_its_retry_with_nothing_half_written(
    engine, hold
) -> None:
    held = hold()
    _delete(engine, held.org_id, commit=False)
    assert held.thread.is_alive() and not held.waited_out
    held.finish()
    # Its transaction was ended, and the row it wrote with it: the retry starts clean.
    assert isinstance(held.error, OperationalError)
    with Session(engine) as s:
        job = s.get(Job, held.job_id)
        assert job is not None and (job.status, job.attempts) == ("retrying", 1)
        assert job.error == "OperationalError (details in the worker's log)"
    assert _count(engine, LlmUsage, held.org_id) == 0


def test_deleting_an_organization_leaves_other_organizations_running_jobs_alone(
    engine, hold
) -> None:
    leaving, staying = hold(), hold()  # watched together by the worker's one watch
    _delete(engine, leaving.org_id, commit=True)
    leaving.finish()
    staying.finish()
    assert leaving.error is None and staying.error is None
    with Session(engine) as s:
        assert s.get(Job, leaving.job_id) is None
        assert s.get(Job, staying.job_id).status == "succeeded"
    assert _count(engine, LlmUsage, staying.org_id) == 1


def test_deleting_an_organization_takes_its_waiting_jobs_off_the_queue(session: Session) -> None:
    import_bundle(session, parse_bundle(small_bundle("leaving")))
    waiting = [
        enqueue(session, "leaving", kind, params, requested_by="test").job.queue_job_id
        for kind, params in (("score", SCORE_PARAMS), ("report", {}))
    ]
    repository.delete_org(session, "leaving")
    left = session.scalars(
        text("SELECT id FROM procrastinate_jobs WHERE id = ANY(:ids)"), {"ids": waiting}
    ).all()
    assert left == []
