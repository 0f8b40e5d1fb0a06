"""Cancelling jobs (alignment/jobs/cancel.py): a waiting job at once, its queue entry gone, no
worker running it; a running one at its next progress point or before its work commits, with
its work rolled back; a job whose work reaches outside let finish; the rule of who may.

The running cases need the cancel in a transaction of its own while the job's work is open:
they commit real rows in an organization of their own (`committed_org`) and run the job with
the worker's own unit of work (and, once, the real procrastinate worker, in this process).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Engine, delete, select, text
from sqlalchemy.orm import Session

from alignment import db
from alignment.access.principal import Principal, Role
from alignment.bundle import parse_bundle
from alignment.errors import Conflict, Forbidden, NotFound, Unavailable
from alignment.ingest import import_bundle
from alignment.jobs import handlers, views
from alignment.jobs.cancel import Cancelled, cancel
from alignment.jobs.enqueue import enqueue
from alignment.jobs.execute import Services, execute, production_scope
from alignment.models import Job, LlmUsage
from alignment.tenancy import set_tenant
from tests.factories import small_bundle
from tests.jobs_support import committed_org, savepoint

ORG = "jobcancel"
WORK = "work of a job that was cancelled"  # the row a test handler writes as its work


def admin(org_id: str | None) -> Principal:
    return Principal(name="Ada (key adaadaad)", role=Role.admin, org_id=org_id)


def lead(org_id: str, name: str = "Lea (key leal1234)") -> Principal:
    return Principal(name=name, role=Role.team_lead, org_id=org_id, team_ids=frozenset({"T-1"}))


@pytest.fixture
def org(session: Session) -> str:
    import_bundle(session, parse_bundle(small_bundle(ORG)))
    return ORG


def _entry(session: Session, job: Job) -> Any:
    return session.execute(
        text("select status, abort_requested from procrastinate_jobs where id = :id"),
        {"id": job.queue_job_id},
    ).one_or_none()


def _run(session: Session, job_id: int, embedder: Any) -> None:
    execute(
        job_id,
        attempt=0,
        max_attempts=1,
        services=Services(embedder, None),
        scope=lambda: savepoint(session),
    )


def _recording(monkeypatch, kind: str) -> list[int]:
    ran: list[int] = []
    monkeypatch.setitem(handlers.HANDLERS, kind, lambda s, job, *_: ran.append(job.id) or {})
    return ran


# --- waiting jobs ------------------------------------------------------------------------------


def test_a_queued_job_is_cancelled_at_once_its_entry_gone_and_no_worker_runs_it(
    session: Session, org: str, embedder, monkeypatch
) -> None:
    ran = _recording(monkeypatch, "report")
    job = enqueue(session, org, "report", {}, requested_by="someone").job
    assert _entry(session, job) is not None
    done = cancel(session, job.id, principal=admin(org))
    assert (done.outcome, done.changed) == ("cancelled", True)
    assert (job.status, job.cancelled_by) == ("cancelled", "Ada (key adaadaad)")
    assert job.cancelled_at is not None and job.finished_at == job.cancelled_at
    assert _entry(session, job) is None  # removed with the cancel, in its transaction
    _run(session, job.id, embedder)  # a worker that had the entry anyway does nothing
    assert ran == []
    assert session.get(Job, job.id, populate_existing=True).status == "cancelled"


def test_an_entry_a_worker_has_just_taken_is_marked_and_the_worker_finds_the_job_cancelled(
    session: Session, org: str, embedder, monkeypatch
) -> None:
    ran = _recording(monkeypatch, "report")
    job = enqueue(session, org, "report", {}, requested_by="someone").job
    session.execute(
        text("update procrastinate_jobs set status = 'doing' where id = :id"),
        {"id": job.queue_job_id},
    )
    assert cancel(session, job.id, principal=admin(org)).outcome == "cancelled"
    assert tuple(_entry(session, job)) == ("doing", True)
    _run(session, job.id, embedder)
    assert ran == []


def test_a_retrying_job_is_cancelled_at_once_and_not_tried_again(
    session: Session, org: str, embedder, monkeypatch
) -> None:
    def away(*_: Any) -> dict:
        raise Unavailable("the provider is away")

    monkeypatch.setitem(handlers.HANDLERS, "report", away)
    job = enqueue(session, org, "report", {}, requested_by="someone").job
    with pytest.raises(Unavailable):
        execute(
            job.id,
            attempt=0,
            max_attempts=3,
            services=Services(embedder, None),
            scope=lambda: savepoint(session),
        )
    assert session.get(Job, job.id, populate_existing=True).status == "retrying"
    assert cancel(session, job.id, principal=admin(org)).outcome == "cancelled"
    ran = _recording(monkeypatch, "report")
    _run(session, job.id, embedder)
    assert ran == [] and job.status == "cancelled"


def test_a_cancelled_import_keeps_no_upload(session: Session, org: str) -> None:
    from alignment.models import BundleUpload

    upload = BundleUpload(org_id=org, body=b"{}", prune=False)
    session.add(upload)
    session.flush()
    job = enqueue(session, org, "import", {"upload": upload.id}, requested_by="someone").job
    cancel(session, job.id, principal=admin(org))
    assert session.get(BundleUpload, upload.id) is None


# --- finished jobs, a second cancel -----------------------------------------------------------


@pytest.mark.parametrize("ended", ["succeeded", "failed"])
def test_a_finished_job_is_refused_naming_its_status(session: Session, org: str, ended) -> None:
    job = enqueue(session, org, "report", {}, requested_by="someone").job
    job.status = ended
    session.flush()
    with pytest.raises(Conflict, match=f"already {ended}"):
        cancel(session, job.id, principal=admin(org))
    assert job.cancel_requested_at is None


def test_a_second_cancel_answers_the_first_and_changes_nothing(session: Session, org: str) -> None:
    job = enqueue(session, org, "report", {}, requested_by="someone").job
    first = cancel(session, job.id, principal=admin(org))
    at = job.cancelled_at
    another = Principal(name="Another admin", role=Role.admin, org_id=org)
    again = cancel(session, job.id, principal=another)
    assert again.changed is False and again.outcome == "cancelled"
    assert (job.cancelled_by, job.cancelled_at) == ("Ada (key adaadaad)", at)
    assert first.changed is True


def test_a_running_job_asked_twice_keeps_the_first_request(session: Session, org: str) -> None:
    job = enqueue(session, org, "report", {}, requested_by="someone").job
    job.status = "running"
    session.flush()
    first = cancel(session, job.id, principal=admin(org))
    assert (first.outcome, first.changed, job.status) == ("requested", True, "running")
    at = job.cancel_requested_at
    again = cancel(session, job.id, principal=admin(org))
    assert (again.outcome, again.changed, job.cancel_requested_at) == ("requested", False, at)


def test_a_running_job_whose_worker_died_ends_cancelled_when_picked_up_again(
    session: Session, org: str, embedder, monkeypatch
) -> None:
    ran = _recording(monkeypatch, "report")
    job = enqueue(session, org, "report", {}, requested_by="someone").job
    job.status = "running"
    session.flush()
    cancel(session, job.id, principal=admin(org))
    with pytest.raises(Cancelled):
        _run(session, job.id, embedder)  # the stalled job, handed to the next worker
    assert ran == []
    assert (job.status, job.cancelled_by) == ("cancelled", "Ada (key adaadaad)")
    # The request stays on record once the job has ended: not read as withdrawn.
    assert views.render(job)["cancel_requested"] is True


# --- who may ----------------------------------------------------------------------------------


def test_who_may_cancel(session: Session, org: str) -> None:
    mine = lead(org)
    own = enqueue(session, org, "draft_summary", {"team": "T-1"}, requested_by=mine.name).job
    scoring = enqueue(session, org, "score", {"adjudicate": False}, requested_by=mine.name).job
    others = enqueue(session, org, "report", {}, requested_by="Ada (key adaadaad)").job
    joined = enqueue(session, org, "draft_summary", {"team": "T-1"}, requested_by=mine.name).job
    joined.requests = 2
    session.flush()
    with pytest.raises(Forbidden, match="whole organization"):
        cancel(session, scoring.id, principal=mine)
    with pytest.raises(NotFound):  # a team lead does not see it at all (GET /jobs/{id})
        cancel(session, others.id, principal=mine)
    with pytest.raises(Forbidden, match="1 later request"):
        cancel(session, joined.id, principal=mine)
    office = Principal(name="Omar", role=Role.strategy_office, org_id=org)
    with pytest.raises(Forbidden, match="someone else"):
        cancel(session, own.id, principal=office)
    with pytest.raises(NotFound):  # another organization's job is not there
        cancel(session, own.id, principal=admin("another-org"))
    assert cancel(session, own.id, principal=mine).outcome == "cancelled"
    for job in (scoring, others, joined):
        assert cancel(session, job.id, principal=admin(org)).outcome == "cancelled"


def test_a_request_joining_before_the_lock_is_not_cancelled_with_the_job(
    session: Session, org: str, monkeypatch
) -> None:
    """Who may cancel is read under the job's lock: a join committed between the first read
    and the lock makes the job someone else's too."""
    from alignment.jobs import cancel as cancelling

    mine = lead(org)
    job = enqueue(session, org, "draft_summary", {"team": "T-1"}, requested_by=mine.name).job
    seen = cancelling.views.visible_to

    def joined_meanwhile(principal: Principal, row: Job) -> bool:
        session.execute(text("update jobs set requests = 2 where id = :id"), {"id": row.id})
        return seen(principal, row)

    monkeypatch.setattr(cancelling.views, "visible_to", joined_meanwhile)
    with pytest.raises(Forbidden, match="1 later request"):
        cancel(session, job.id, principal=mine)
    assert session.get(Job, job.id, populate_existing=True).status == "queued"


def test_a_retrying_job_asked_to_cancel_while_it_ran_ends_at_the_next_cancel(
    session: Session, org: str
) -> None:
    """A run asked to cancel that a worker's shutdown put back waits as `retrying`: a cancel
    then ends it and takes its entry off the queue, by whoever asked first."""
    job = enqueue(session, org, "report", {}, requested_by="someone").job
    job.status = "running"
    session.flush()
    cancel(session, job.id, principal=admin(org))
    job.status = "retrying"  # what execute.py leaves after a shutdown interrupts the run
    session.flush()
    another = Principal(name="Another admin", role=Role.admin, org_id=org)
    again = cancel(session, job.id, principal=another)
    assert (again.outcome, again.changed, job.status) == ("cancelled", True, "cancelled")
    assert job.cancelled_by == "Ada (key adaadaad)"
    entry = _entry(session, job)
    assert entry is None or entry.status != "todo"


def test_a_cancelled_job_is_no_longer_the_one_equal_requests_join(
    session: Session, org: str
) -> None:
    first = enqueue(session, org, "score", {"adjudicate": False}, requested_by="a")
    joined = enqueue(session, org, "score", {"adjudicate": False}, requested_by="b")
    assert joined.deduplicated and joined.job.id == first.job.id
    cancel(session, first.job.id, principal=admin(org))
    after = enqueue(session, org, "score", {"adjudicate": False}, requested_by="c")
    assert not after.deduplicated and after.job.id != first.job.id
    assert after.job.status == "queued" and after.job.queue_job_id is not None


# --- running jobs, with transactions of their own --------------------------------------------


@pytest.fixture
def committed(engine: Engine) -> Iterator[str]:
    with committed_org(engine, "jobcancel") as org_id:
        yield org_id
        with Session(engine) as s, s.begin():  # queue entries left go before their rows
            s.execute(
                text(
                    "delete from procrastinate_jobs where id in "
                    "(select queue_job_id from jobs where org_id = :o)"
                ),
                {"o": org_id},
            )


def _committed_job(engine: Engine, org_id: str, kind: str, params: dict[str, Any]) -> int:
    with Session(engine) as s, s.begin():
        return enqueue(s, org_id, kind, params, requested_by="someone").job.id


def _work_row(session: Session, org_id: str) -> None:
    session.add(LlmUsage(org_id=org_id, purpose=WORK, model="m", input_tokens=1, output_tokens=1))
    session.flush()


def _cancel_elsewhere(org_id: str, job_id: int) -> str:
    """Someone cancels while the job runs: a request of its own, committed."""
    with db.transaction() as other:
        return cancel(other, job_id, principal=admin(org_id)).outcome


def _kept(engine: Engine, org_id: str) -> int:
    with Session(engine) as s:
        return len(
            s.scalars(
                select(LlmUsage.id).where(LlmUsage.org_id == org_id, LlmUsage.purpose == WORK)
            ).all()
        )


def _job(engine: Engine, job_id: int) -> Job:
    with Session(engine, expire_on_commit=False) as s:
        job = s.get(Job, job_id)
        assert job is not None
        return job


def test_a_running_job_stops_at_its_next_progress_point_keeping_nothing_on_the_real_worker(
    engine: Engine, committed: str, database_url: str, monkeypatch
) -> None:
    from alignment.jobs.worker import work

    said: list[str] = []

    def halting(session: Session, job: Job, services: Any, progress: Any) -> dict:
        _work_row(session, job.org_id)
        progress(0, 2, "first half")  # nobody asked yet: it goes on
        said.append(_cancel_elsewhere(job.org_id, job.id))
        progress(1, 2, "second half")  # it looks, and stops here
        said.append("ran past its progress point")
        return {}

    monkeypatch.setitem(handlers.HANDLERS, "report", halting)
    monkeypatch.setattr("alignment.jobs.execute.production_services", lambda: Services(None, None))
    job_id = _committed_job(engine, committed, "report", {})
    asyncio.run(work(database_url, wait=False, concurrency=1, install_signal_handlers=False))
    assert said == ["requested"]
    job = _job(engine, job_id)
    assert (job.status, job.cancelled_by, job.error) == ("cancelled", admin("").name, None)
    assert job.attempts == 1 and job.cancelled_at is not None
    assert _kept(engine, committed) == 0  # the work's transaction rolled back
    with Session(engine) as s:  # the queue's entry ended aborted: never retried
        assert (
            s.scalar(
                text("select status from procrastinate_jobs where id = :id"),
                {"id": job.queue_job_id},
            )
            == "aborted"
        )


def test_a_cancel_asked_after_the_last_progress_point_still_keeps_nothing(
    engine: Engine, committed: str, monkeypatch
) -> None:
    said: list[str] = []

    def finishing(session: Session, job: Job, services: Any, progress: Any) -> dict:
        _work_row(session, job.org_id)
        said.append(_cancel_elsewhere(job.org_id, job.id))
        return {"report_id": 1}

    monkeypatch.setitem(handlers.HANDLERS, "report", finishing)
    job_id = _committed_job(engine, committed, "report", {})
    with pytest.raises(Cancelled):
        execute(job_id, attempt=0, max_attempts=1, services=Services(None, None),
                scope=production_scope)  # fmt: skip
    assert said == ["requested"]
    job = _job(engine, job_id)
    assert (job.status, job.result) == ("cancelled", None)
    assert _kept(engine, committed) == 0


def test_a_job_that_reaches_outside_finishes_and_ends_succeeded(
    engine: Engine, committed: str, monkeypatch
) -> None:
    said: list[str] = []

    def delivering(session: Session, job: Job, services: Any, progress: Any) -> dict:
        said.append(_cancel_elsewhere(job.org_id, job.id))
        return {"status": "delivered"}  # the receiver has it: nothing to roll back

    monkeypatch.setitem(handlers.HANDLERS, "webhook", delivering)
    job_id = _committed_job(engine, committed, "webhook", {"delivery_id": 0})
    execute(job_id, attempt=0, max_attempts=1, services=Services(None, None),
            scope=production_scope)  # fmt: skip
    assert said == ["requested"]  # what the cancel answered: it had not ended yet
    job = _job(engine, job_id)
    assert (job.status, job.result) == ("succeeded", {"status": "delivered"})
    assert job.cancel_requested_by == admin("").name and job.cancelled_by is None
    with db.transaction() as s, pytest.raises(Conflict, match="already succeeded"):
        cancel(s, job_id, principal=admin(committed))


def test_a_passing_failure_after_a_cancel_ends_cancelled_not_retrying(
    engine: Engine, committed: str, monkeypatch
) -> None:
    def failing(session: Session, job: Job, services: Any, progress: Any) -> dict:
        _work_row(session, job.org_id)
        _cancel_elsewhere(job.org_id, job.id)
        raise Unavailable("the provider is away")

    monkeypatch.setitem(handlers.HANDLERS, "report", failing)
    job_id = _committed_job(engine, committed, "report", {})
    with pytest.raises(Cancelled):
        execute(job_id, attempt=0, max_attempts=4, services=Services(None, None),
                scope=production_scope)  # fmt: skip
    job = _job(engine, job_id)
    assert job.status == "cancelled" and job.error == "unavailable: the provider is away"
    assert _kept(engine, committed) == 0


def test_the_application_role_cancels_its_own_tenants_jobs_only(
    engine: Engine, committed: str, app_engine: Engine
) -> None:
    with committed_org(engine, "jobcancel-other") as other:
        mine = _committed_job(engine, committed, "report", {})
        theirs = _committed_job(engine, other, "report", {})
        try:
            with Session(app_engine) as s, s.begin():
                set_tenant(s, committed)
                with pytest.raises(NotFound):
                    cancel(s, theirs, principal=admin(committed))
                assert cancel(s, mine, principal=admin(committed)).outcome == "cancelled"
            assert _job(engine, mine).status == "cancelled"
            assert _job(engine, theirs).status == "queued"
            with Session(engine) as s:
                entries = s.scalars(
                    text(
                        "select j.id from jobs j join procrastinate_jobs p "
                        "on p.id = j.queue_job_id where j.id in (:a, :b)"
                    ),
                    {"a": mine, "b": theirs},
                ).all()
            assert entries == [theirs]  # only its own tenant's entry went
        finally:
            with Session(engine) as s, s.begin():
                s.execute(
                    text(
                        "delete from procrastinate_jobs where id in "
                        "(select queue_job_id from jobs where id = :b)"
                    ),
                    {"b": theirs},
                )
                s.execute(delete(Job).where(Job.id == theirs))
