"""Running queued jobs inside a test's transaction, with the worker's own code.

`execute` is what a worker runs for each job; here its unit of work is a savepoint of the
test's session instead of a transaction of its own, so the jobs see (and their results stay
in) the rolled-back test data. The queue itself, real workers, retries and crashes are
tested in tests/service/test_jobs_worker.py.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from alignment.jobs import execute as executing
from alignment.jobs.execute import Services, execute
from alignment.models import Job


@contextmanager
def committed_org(engine: Engine, prefix: str) -> Iterator[str]:
    """A small organization committed (real workers read it on connections of their own),
    deleted afterwards with everything the test added to it."""
    from alignment import repository
    from alignment.imports import import_document
    from tests.factories import small_bundle

    org_id = f"{prefix}-{uuid.uuid4().hex[:8]}"
    with Session(engine) as s, s.begin():
        import_document(s, small_bundle(org_id))
    yield org_id
    with Session(engine) as s, s.begin():
        repository.delete_org(s, org_id)


@contextmanager
def org_with_admin_and_lead(
    engine: Engine, prefix: str, lead_team: str
) -> Iterator[dict[str, str]]:
    """Two committed organizations (`mine`, `other`); keys of the first: an admin (named Ada)
    and a team lead of `lead_team`."""
    from alignment.access import keys
    from alignment.access.principal import Role

    with (
        committed_org(engine, f"{prefix}-a") as mine,
        committed_org(engine, f"{prefix}-b") as other,
    ):
        with Session(engine) as s, s.begin():
            admin = keys.create_key(s, org_id=mine, role=Role.admin, name="Ada")[1]
            lead = keys.create_key(s, org_id=mine, role=Role.team_lead, team_ids=[lead_team])[1]
        yield {"mine": mine, "other": other, "admin": admin, "lead": lead}


@contextmanager
def savepoint(session: Session) -> Iterator[Session]:
    with session.begin_nested():
        yield session


class Jobs:
    def __init__(self, session: Session, embedder: Any, drafter: Any = None) -> None:
        from alignment.drafting.offline import OfflineDrafter

        self.session = session
        self.services = Services(embedder=embedder, drafter=drafter or OfflineDrafter())

    def drain(self) -> list[int]:
        """Run every waiting job (and the jobs they queue), oldest first; return their ids."""
        ran: list[int] = []
        while True:
            waiting = [
                i
                for i in self.session.scalars(
                    select(Job.id).where(Job.status.in_(("queued", "retrying"))).order_by(Job.id)
                )
                if i not in ran
            ]
            if not waiting:
                return ran
            for job_id in waiting:
                ran.append(job_id)
                # A failure is recorded on the job, which the test reads.
                with contextlib.suppress(Exception):
                    execute(
                        job_id,
                        attempt=0,
                        max_attempts=0,
                        services=self.services,
                        scope=lambda: savepoint(self.session),
                    )

    def run(self, client: TestClient, response: Any, headers: Any = None) -> dict[str, Any]:
        """A 202 answer's job, run to the end and read back through the API."""
        assert response.status_code == 202, response.text
        self.drain()
        job = client.get(response.headers["Location"], headers=headers)
        assert job.status_code == 200, job.text
        return job.json()

    def result(self, client: TestClient, response: Any, headers: Any = None) -> dict[str, Any]:
        job = self.run(client, response, headers)
        assert job["status"] == "succeeded", job
        return job["result"]

    def report(self, client: TestClient, response: Any) -> dict[str, Any]:
        """The report document a report job stored."""
        return client.get(self.result(client, response)["url"]).json()

    def draft(self, client: TestClient, response: Any, headers: Any = None) -> dict[str, Any]:
        return client.get(self.result(client, response, headers)["url"], headers=headers).json()


@pytest.fixture
def progress_seen(monkeypatch) -> list[tuple[int, int, str]]:
    """Every progress report a job makes (before the writer's rate limit drops some)."""
    seen: list[tuple[int, int, str]] = []
    original = executing.ProgressWriter.__call__

    def recording(self: Any, done: int, total: int, label: str) -> None:
        seen.append((done, total, label))
        original(self, done, total, label)

    monkeypatch.setattr(executing.ProgressWriter, "__call__", recording)
    return seen


def lead_drafting_job(engine: Engine, org_id: str, lead_key: str, team: str, **state: Any) -> int:
    """A drafting job of a team lead's, as the key signs its jobs, in `state` (running unless
    said): a row only, which no worker has in its queue. Its id."""
    prefix = lead_key.split("_")[1]
    with Session(engine) as s, s.begin():
        job = Job(
            org_id=org_id,
            kind="draft_suggestions",
            params={"team": team, "objectives": "suggest"},
            requested_by=f"team_lead-{prefix} (key {prefix})",
            **{"status": "running", **state},
        )
        s.add(job)
        s.flush()
        return job.id
