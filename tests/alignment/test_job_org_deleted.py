"""A job whose organization is deleted while it runs ends quietly, not with an error."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.orm import Session

from alignment import repository
from alignment.bundle import parse_bundle
from alignment.ingest import import_bundle
from alignment.jobs.enqueue import enqueue
from alignment.jobs.execute import Services, execute
from alignment.models import Job
from tests.factories import small_bundle


def test_a_job_whose_organization_goes_between_claim_and_run_is_dropped(
    session: Session, embedder
) -> None:
    import_bundle(session, parse_bundle(small_bundle("gone")))
    job_id = enqueue(session, "gone", "score", {}, requested_by="test").job.id
    scopes = 0

    @contextmanager
    def scope() -> Iterator[Session]:
        nonlocal scopes
        scopes += 1
        if scopes == 2:  # after the worker claimed the job: someone deletes the organization
            repository.delete_org(session, "gone")
            session.expire_all()  # a worker's next transaction reads afresh
        with session.begin_nested():
            yield session

    execute(job_id, attempt=0, max_attempts=0, services=Services(embedder, None), scope=scope)
    assert scopes == 2  # claimed, then found gone: no failure recorded, nothing scored
    assert session.get(Job, job_id) is None
