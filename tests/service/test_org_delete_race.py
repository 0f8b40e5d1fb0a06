"""Deleting an organization while its own keys write to it.

A reviewer fired `DELETE /orgs/{org}` together with seven writes of the same organization:
writes that lost the race answered 500 (a foreign-key violation, or an update of a row the
delete had just removed), and a bundle import that lost it recreated the deleted organization
(200 after the delete's 204). Now a write waits for a delete under way and then answers 404,
and a delete waits for the writes under way, which it then deletes with the rest. Each test
holds one side's transaction open at a known point, so the race is not left to timing.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select, text
from sqlalchemy.orm import Session

from alignment import repository
from alignment.access import keys
from alignment.access.principal import Role
from alignment.imports import import_document
from alignment.models import ApiKey, Okr, Organization, Team
from alignment.settings import get_settings
from service import deps, permissions
from service.app import create_app
from service.routes import bundles, orgs
from tests.conftest import auth
from tests.factories import small_bundle

HOLD_S = 30  # bounds every wait: a test that fails must not hang the suite
RACE_S = 15  # how long the writes have to reach the race

# Backends of this database waiting for a lock (a row's, a transaction's, an advisory one).
WAITING = text(
    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
    "AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()"
)


@pytest.fixture(params=["120"], ids=["cached keys"])
def client(request, embedder, monkeypatch) -> Iterator[TestClient]:
    """The app as served, with room for every request of a test at once (4 threads by default:
    the later requests would only queue for a thread, outside the race), and a key cache that
    outlasts a slow test machine (or none: every key checked in the database)."""
    monkeypatch.setenv("GOLDENTHREAD_REQUEST_THREADS", "12")
    monkeypatch.setenv("GOLDENTHREAD_AUTH_CACHE_SECONDS", request.param)
    get_settings.cache_clear()
    app = create_app()
    app.dependency_overrides[deps.embedder] = lambda: embedder
    try:
        with TestClient(app, raise_server_exceptions=False) as test_client:
            yield test_client
    finally:
        monkeypatch.undo()
        get_settings.cache_clear()


@pytest.fixture
def org(engine: Engine, cleanup: list[str]) -> tuple[str, str]:
    """A new organization with its records, and a key of its admin."""
    org_id = f"racing-{uuid.uuid4().hex[:8]}"
    cleanup.append(org_id)
    with Session(engine) as s, s.begin():
        import_document(s, small_bundle(org_id))
        raw = keys.create_key(s, org_id=org_id, role=Role.admin)[1]
    return org_id, raw


def _wait_for_lock_waiters(engine: Engine, at_least: int) -> int:
    """How many backends wait for a lock, once `at_least` do (or RACE_S has passed)."""
    deadline = time.monotonic() + RACE_S
    with Session(engine) as s:
        while True:
            waiting = s.scalar(WAITING)
            s.rollback()  # a fresh snapshot of the statistics each round
            if waiting >= at_least or time.monotonic() > deadline:
                return waiting
            time.sleep(0.05)


def _held(monkeypatch, module: Any, name: str) -> tuple[threading.Event, threading.Event]:
    """Holds the request that calls `module.name` just before the call, inside its
    transaction, until released; (reached, release)."""
    reached, release = threading.Event(), threading.Event()
    real: Callable[..., Any] = getattr(module, name)

    def holding(*args: Any, **kwargs: Any) -> Any:
        reached.set()
        assert release.wait(RACE_S + HOLD_S), "the test never released the held request"
        return real(*args, **kwargs)

    monkeypatch.setattr(module, name, holding)
    return reached, release


def _org_exists(engine: Engine, org_id: str) -> bool:
    with Session(engine) as s:
        return s.get(Organization, org_id) is not None


def test_writes_that_lose_the_race_to_a_delete_answer_404_and_recreate_nothing(
    client, engine, org, monkeypatch
) -> None:
    org_id, key = org
    headers = auth(key)
    assert client.get(f"/orgs/{org_id}", headers=headers).status_code == 200  # key now cached
    # The delete stops after deleting, before committing: its rows are gone but locked.
    deleted, release = _held(monkeypatch, orgs, "forget_checked_keys")
    renamed = small_bundle(org_id, name="Acme Renamed")  # an import that writes the org's row
    renamed["okrs"][0]["title"] = "A title the import must write"
    writes: dict[str, Callable[[], httpx.Response]] = {
        "team": lambda: client.post(
            f"/orgs/{org_id}/teams", json={"id": "T-9", "name": "Late team"}, headers=headers
        ),
        "okr": lambda: client.patch(
            f"/orgs/{org_id}/okrs/O-1", json={"title": "changed"}, headers=headers
        ),
        "score": lambda: client.post(f"/orgs/{org_id}/score", headers=headers),
        "rename": lambda: client.patch(f"/orgs/{org_id}", json={"name": "N"}, headers=headers),
        "report": lambda: client.post(f"/orgs/{org_id}/reports", json={}, headers=headers),
        "bundle": lambda: client.post("/bundles", json=renamed, headers=headers),
        "second delete": lambda: client.delete(f"/orgs/{org_id}", headers=headers),
    }
    with ThreadPoolExecutor(max_workers=len(writes) + 1) as pool:
        delete = pool.submit(client.delete, f"/orgs/{org_id}", headers=headers)
        assert deleted.wait(HOLD_S), "the delete never got to its commit"
        answers: dict[str, Future[httpx.Response]] = {
            name: pool.submit(write) for name, write in writes.items()
        }
        # Every write is under way and waits for the delete's transaction to end.
        waiting = _wait_for_lock_waiters(engine, len(writes))
        release.set()
        assert delete.result(HOLD_S).status_code == 204
        statuses = {name: answer.result(HOLD_S) for name, answer in answers.items()}
    summary = {name: (r.status_code, r.text[:160]) for name, r in statuses.items()}
    assert not [name for name, r in statuses.items() if r.status_code >= 500], summary
    assert {name: r.status_code for name, r in statuses.items()} == dict.fromkeys(writes, 404), (
        summary
    )
    for answer in statuses.values():
        assert answer.json()["error"]["code"] == "not_found"
        assert org_id in answer.json()["error"]["message"]
    assert not _org_exists(engine, org_id)  # nothing brought it back
    # (Checked last: on a failure, the answers above say more.)
    assert waiting >= len(writes), f"only {waiting} of the writes reached the race"
    assert client.get(f"/orgs/{org_id}", headers=headers).status_code == 401  # its keys went too


def test_a_delete_waits_for_a_write_under_way_then_deletes_what_it_wrote(
    client, engine, org, monkeypatch
) -> None:
    org_id, key = org
    headers = auth(key)
    grown = small_bundle(org_id)
    grown["teams"].append({"id": "T-3", "name": "Night pharmacy", "parent": "T-1"})
    # The import stops after writing its records, before queueing scoring and committing.
    imported, release = _held(monkeypatch, bundles, "_with_scoring")
    with ThreadPoolExecutor(max_workers=2) as pool:
        write = pool.submit(client.post, "/bundles", json=grown, headers=headers)
        assert imported.wait(HOLD_S), "the import never got to its commit"
        delete = pool.submit(client.delete, f"/orgs/{org_id}", headers=headers)
        waiting = _wait_for_lock_waiters(engine, 1)
        done_early = delete.done()
        release.set()
        write_answer, delete_answer = write.result(HOLD_S), delete.result(HOLD_S)
    assert waiting >= 1 and not done_early  # the delete waited for the import to end
    assert write_answer.status_code == 200, write_answer.text
    assert write_answer.json()["created"]["teams"] == 1
    assert delete_answer.status_code == 204, delete_answer.text
    assert not _org_exists(engine, org_id)
    with Session(engine) as s:
        for model in (Team, Okr, ApiKey):
            count = s.scalar(select(func.count()).select_from(model).filter_by(org_id=org_id))
            assert count == 0, model.__name__  # what the winner wrote went with the org


def test_a_key_still_trusted_after_its_organization_was_deleted_recreates_nothing(
    client, engine, org
) -> None:
    """Another process (the CLI, or another `serve` worker) deleted the organization while this
    one still trusts the key it checked moments ago: its import must not bring the org back."""
    org_id, key = org
    headers = auth(key)
    assert client.get(f"/orgs/{org_id}", headers=headers).status_code == 200  # key now cached
    with Session(engine) as s, s.begin():
        repository.delete_org(s, org_id)
    answers = [
        client.post("/bundles", json=small_bundle(org_id), headers=headers),
        client.post(f"/orgs/{org_id}/teams", json={"id": "T-9", "name": "x"}, headers=headers),
    ]
    assert [(a.status_code, a.json()["error"]["code"]) for a in answers] == [
        (404, "not_found"),
        (404, "not_found"),
    ], [a.text for a in answers]
    assert not _org_exists(engine, org_id)


@pytest.mark.parametrize("client", ["0"], ids=["keys checked in the database"], indirect=True)
def test_a_write_that_stamped_its_key_gives_way_to_the_delete_instead_of_deadlocking(
    client, engine, org, monkeypatch
) -> None:
    """A key checked in the database stamps its use: a row lock the delete's cascade (its keys
    go too) waits for. The write must not then wait for the delete while holding it."""
    org_id, deleter = org
    with Session(engine) as s, s.begin():
        writer = keys.create_key(s, org_id=org_id, role=Role.admin)[1]  # never used: stamps
    reached, release = threading.Event(), threading.Event()
    real = permissions.take_turn

    def first_waits(*args: Any, **kwargs: Any) -> None:
        if not reached.is_set():  # the write: authenticated (and stamped), before its turn
            reached.set()
            assert release.wait(RACE_S + HOLD_S), "the test never released the write"
        real(*args, **kwargs)

    monkeypatch.setattr(permissions, "take_turn", first_waits)
    with ThreadPoolExecutor(max_workers=2) as pool:
        write = pool.submit(
            client.post, f"/orgs/{org_id}/teams", json={"id": "T-9", "name": "x"},
            headers=auth(writer),
        )  # fmt: skip
        assert reached.wait(HOLD_S), "the write never got to its turn"
        delete = pool.submit(client.delete, f"/orgs/{org_id}", headers=auth(deleter))
        waiting = _wait_for_lock_waiters(engine, 1)  # the delete, for the write's stamp
        release.set()
        write_answer, delete_answer = write.result(HOLD_S), delete.result(HOLD_S)
    assert delete_answer.status_code == 204, delete_answer.text
    assert (write_answer.status_code, write_answer.json()["error"]["code"]) == (404, "not_found")
    assert waiting >= 1
    assert not _org_exists(engine, org_id)
