"""Concurrent scoring of one organization never starves another tenant of connections.

Before: a second `POST /score` waited on the first one's advisory lock while holding a pooled
connection, so 16 of them pinned the pool and every other tenant got a 500 after 30 s. Later
a second run was refused at once (409). Now scoring is a job: 16 concurrent requests answer
202 at once and join one queued job, and the other tenant's reads never wait.
"""

from __future__ import annotations

import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from alignment import repository
from alignment.access import keys
from alignment.access.principal import Role
from alignment.imports import import_document
from service.app import create_app
from tests.conftest import auth
from tests.factories import small_bundle


@pytest.fixture
def tenants(engine: Engine):
    a, b = f"busy-{uuid.uuid4().hex[:6]}", f"calm-{uuid.uuid4().hex[:6]}"
    with Session(engine) as s, s.begin():
        for org in (a, b):
            import_document(s, small_bundle(org))
        ka = keys.create_key(s, org_id=a, role=Role.admin)[1]
        kb = keys.create_key(s, org_id=b, role=Role.strategy_office)[1]
    yield a, b, ka, kb
    with Session(engine) as s, s.begin():
        for org in (a, b):
            repository.delete_org(s, org)


def test_concurrent_scores_of_one_org_join_one_job_and_block_no_one(tenants, engine) -> None:
    a, b, key_a, key_b = tenants
    app = create_app()
    with TestClient(app) as client, ThreadPoolExecutor(max_workers=24) as pool:
        scores = [
            pool.submit(client.post, f"/orgs/{a}/score", headers=auth(key_a)) for _ in range(16)
        ]
        time.sleep(0.3)  # the runs have started
        read_times = []
        for _ in range(10):
            started = time.perf_counter()
            read = client.get(f"/orgs/{b}/okrs", headers=auth(key_b))
            read_times.append(time.perf_counter() - started)
            assert read.status_code == 200
        answers = [f.result() for f in scores]
    assert max(read_times) < 1.0, read_times
    assert {r.status_code for r in answers} == {202}
    assert len({r.headers["Location"] for r in answers}) == 1
    with Session(engine) as s:
        [(requests, status)] = s.execute(
            text("select requests, status from jobs where org_id = :a and kind = 'score'"),
            {"a": a},
        ).all()
    # The import queued nothing here (it ran outside the API): 16 requests, one waiting job.
    assert (requests, status) == (16, "queued")
