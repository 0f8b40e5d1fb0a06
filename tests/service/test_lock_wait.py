"""No write request waits without end for a lock (GOLDENTHREAD_LOCK_WAIT_S).

Before, a write queued behind an organization's delete that itself waited for a long import, or
behind a row another transaction held, waited as long as they took; now it answers 503 `busy`
with Retry-After once the bound has passed, and has changed nothing. Each test holds the lock
from a connection of its own, so nothing is left to timing but the bound itself.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor, TimeoutError

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Connection, Engine, text
from sqlalchemy.orm import Session

from alignment.access import keys
from alignment.access.principal import Role
from alignment.imports import import_document
from alignment.jobs.abandon import DELETION_KEY, POLL_S, watch_deletion
from alignment.models import Okr, Organization
from alignment.settings import get_settings
from service import deps
from service.app import create_app
from tests.conftest import auth
from tests.factories import small_bundle

WAIT_S = 1.0
SHARED = text(f"SELECT pg_advisory_xact_lock_shared({DELETION_KEY.format(':org')})")
EXCLUSIVE = text(f"SELECT pg_advisory_xact_lock({DELETION_KEY.format(':org')})")


@pytest.fixture
def client(embedder, monkeypatch) -> Iterator[TestClient]:
    monkeypatch.setenv("GOLDENTHREAD_LOCK_WAIT_S", str(WAIT_S))
    get_settings.cache_clear()
    app = create_app()
    app.dependency_overrides[deps.embedder] = lambda: embedder
    try:
        with TestClient(app) as test_client:
            yield test_client
    finally:
        monkeypatch.undo()
        get_settings.cache_clear()


@pytest.fixture
def org(engine: Engine, cleanup: list[str]) -> tuple[str, dict[str, str]]:
    org_id = f"waiting-{uuid.uuid4().hex[:8]}"
    cleanup.append(org_id)
    with Session(engine) as s, s.begin():
        import_document(s, small_bundle(org_id))
        raw = keys.create_key(s, org_id=org_id, role=Role.admin)[1]
    return org_id, auth(raw)


def _title(engine: Engine, org_id: str) -> str:
    with Session(engine) as s:
        return s.get(Okr, (org_id, "O-1")).title


def _timed(call, holder: Connection):
    """`call`'s answer and how long it took; if it still waits after the bound and a margin,
    the holder lets go (so a failing test cannot hang the suite) and the test fails."""
    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=1) as pool:
        answer = pool.submit(call)
        try:
            return answer.result(timeout=WAIT_S + 10), time.monotonic() - started
        except TimeoutError:
            holder.rollback()
            pytest.fail(f"still waiting after {WAIT_S + 10} s: {answer.result().status_code}")


def _assert_busy(answer, waited: float) -> None:
    assert answer.status_code == 503, answer.text
    assert answer.json()["error"]["code"] == "busy"
    assert "nothing was changed" in answer.json()["error"]["message"]
    assert answer.headers["Retry-After"] == "5"
    assert WAIT_S <= waited < WAIT_S + 10  # it waited for the bound, and not much longer


def test_a_write_behind_a_delete_that_takes_too_long_answers_busy(client, engine, org) -> None:
    org_id, headers = org
    before = _title(engine, org_id)
    with engine.connect() as deleting, deleting.begin():
        deleting.execute(EXCLUSIVE, {"org": org_id})  # a delete under way, not yet done
        answer, waited = _timed(
            lambda: client.patch(
                f"/orgs/{org_id}/okrs/O-1", json={"title": "changed"}, headers=headers
            ),
            deleting,
        )
        _assert_busy(answer, waited)
        assert "delete" in answer.json()["error"]["message"]
    assert _title(engine, org_id) == before
    # Once the delete is gone (here: rolled back), the same write goes through.
    again = client.patch(f"/orgs/{org_id}/okrs/O-1", json={"title": "changed"}, headers=headers)
    assert again.status_code == 200, again.text
    assert _title(engine, org_id) == "changed"


def test_a_delete_behind_a_write_that_takes_too_long_answers_busy(client, engine, org) -> None:
    org_id, headers = org
    with engine.connect() as writing, writing.begin():
        writing.execute(SHARED, {"org": org_id})  # a long import under way
        answer, waited = _timed(lambda: client.delete(f"/orgs/{org_id}", headers=headers), writing)
        _assert_busy(answer, waited)
        assert "writes under way" in answer.json()["error"]["message"]
    with Session(engine) as s:
        assert s.get(Organization, org_id) is not None  # nothing of it deleted
    assert client.get(f"/orgs/{org_id}/okrs/O-1", headers=headers).status_code == 200


def test_a_write_behind_a_row_another_transaction_holds_answers_busy(client, engine, org) -> None:
    org_id, _ = org
    before = _title(engine, org_id)
    answer, waited = _patch_while_o1_is_held(client, engine, org, "FOR UPDATE")
    _assert_busy(answer, waited)
    assert "another request is changing" in answer.json()["error"]["message"]
    assert _title(engine, org_id) == before


def _patch_while_o1_is_held(client, engine, org, lock: str):
    """A PATCH of O-1 while another transaction holds its row with `lock`: the answer, and how
    long it took."""
    org_id, headers = org
    with engine.connect() as other, other.begin():
        other.execute(
            text(f"SELECT 1 FROM okrs WHERE org_id = :org AND id = 'O-1' {lock}"),
            {"org": org_id},
        )
        return _timed(
            lambda: client.patch(
                f"/orgs/{org_id}/okrs/O-1", json={"title": "changed"}, headers=headers
            ),
            other,
        )


def test_a_delete_that_gives_up_has_ended_none_of_the_organizations_jobs(
    client, engine, org
) -> None:
    """The worker's watch ends a running job's transaction when a delete is under way. It had
    looked at the turn's own lock, which PostgreSQL shows as taken while a delete only waits in
    line for it: a delete that then gave up (503, "nothing was changed") had killed the jobs."""
    org_id, headers = org
    with engine.connect() as writing, writing.begin():
        writing.execute(SHARED, {"org": org_id})  # a long import under way
        with Session(engine) as job, job.begin():
            job.execute(text("SELECT 1"))
            with watch_deletion(job, org_id):  # as the worker runs a job of the organization
                answer, waited = _timed(
                    lambda: client.delete(f"/orgs/{org_id}", headers=headers), writing
                )
                _assert_busy(answer, waited)
                time.sleep(3 * POLL_S)  # rounds of the watch after the delete gave up
                assert job.execute(text("SELECT 1")).scalar() == 1  # not ended
    with Session(engine) as s:
        assert s.get(Organization, org_id) is not None


def test_signing_out_behind_a_row_another_transaction_holds_answers_busy(
    client, engine, org
) -> None:
    """Signing out takes no write turn, yet writes the key's row: a long import made with the
    same key holds that row (its use stamp) until it commits."""
    from service.auth import SESSION_COOKIE, form_token
    from tests.service.test_web_session import csrf_of

    _, headers = org
    raw = headers["Authorization"].split()[-1]
    signed_in = client.post(
        "/sign-in", data={"key": raw, "csrf": csrf_of(client.get("/sign-in").text)}
    )
    assert signed_in.status_code == 200, signed_in.text
    ticket = client.cookies[SESSION_COOKIE]
    with engine.connect() as other, other.begin():
        other.execute(
            text("SELECT 1 FROM api_keys WHERE prefix = :prefix FOR UPDATE"),
            {"prefix": raw.split("_")[1]},
        )
        answer, waited = _timed(
            lambda: client.post("/sign-out", params={"csrf": form_token(ticket)}), other
        )
        assert answer.status_code == 503, answer.text
        assert WAIT_S <= waited < WAIT_S + 10
    with Session(engine) as s:
        assert (
            s.scalar(
                text("SELECT signed_out_at FROM api_keys WHERE prefix = :p"),
                {"p": raw.split("_")[1]},
            )
            is None
        )  # nothing of it written
    client.cookies.set(SESSION_COOKIE, ticket)
    client.post("/sign-out", params={"csrf": form_token(ticket)})
    with Session(engine) as s:
        assert (
            s.scalar(
                text("SELECT signed_out_at FROM api_keys WHERE prefix = :p"),
                {"p": raw.split("_")[1]},
            )
            is not None
        )


def test_creating_an_organization_behind_another_create_of_it_answers_busy(
    client, engine, platform, cleanup
) -> None:
    org_id = f"waiting-{uuid.uuid4().hex[:8]}"
    cleanup.append(org_id)
    with engine.connect() as other, other.begin():
        other.execute(
            text("INSERT INTO organizations (id, name) VALUES (:org, 'First')"), {"org": org_id}
        )
        answer, waited = _timed(
            lambda: client.post(
                "/orgs", json={"id": org_id, "name": "Second"}, headers=auth(platform)
            ),
            other,
        )
        _assert_busy(answer, waited)
        other.rollback()  # the first create gives up: the second, tried again, goes through
    again = client.post("/orgs", json={"id": org_id, "name": "Second"}, headers=auth(platform))
    assert again.status_code == 201, again.text


def _until_a_lock_is_waited_for(engine: Engine, seconds: float = 10) -> None:
    deadline = time.monotonic() + seconds
    with engine.connect() as watching:
        while time.monotonic() < deadline:
            if watching.scalar(text("SELECT count(*) FROM pg_locks WHERE NOT granted")):
                return
            watching.rollback()
            time.sleep(0.02)
    pytest.fail("no request waited for the lock")


@pytest.mark.parametrize(
    ("table", "record", "change"),
    [("okrs", "O-1", {"title": "changed"}), ("teams", "T-2", {"name": "changed"})],
)
def test_a_patch_behind_a_delete_of_its_record_answers_404(
    client, engine, org, table, record, change
) -> None:
    """The delete commits while the PATCH waits for the row: the record is gone (404). Before,
    the PATCH had read the row unlocked, and its UPDATE then matched none: a 500."""
    org_id, headers = org
    with engine.connect() as deleting:
        deleting.begin()
        if table == "teams":  # the team's OKRs go first, as a delete of them would
            deleting.execute(
                text("DELETE FROM okrs WHERE org_id = :org AND team_id = :id"),
                {"org": org_id, "id": record},
            )
        deleting.execute(
            text(f"DELETE FROM {table} WHERE org_id = :org AND id = :id"),
            {"org": org_id, "id": record},
        )
        with ThreadPoolExecutor(max_workers=1) as pool:
            path = f"/orgs/{org_id}/{table}/{record}"
            patched = pool.submit(client.patch, path, json=change, headers=headers)
            _until_a_lock_is_waited_for(engine)  # the PATCH waits for the row now
            deleting.commit()
            answer = patched.result(timeout=WAIT_S + 10)
    assert answer.status_code == 404, answer.text


def test_a_patch_does_not_wait_for_rows_being_added_that_name_its_record(
    client, engine, org
) -> None:
    """Inserting a row that names the OKR (a check-in, a scoring run's links) holds it FOR KEY
    SHARE until it commits: a PATCH of the OKR's columns does not conflict with that, and goes
    through at once (it waited for the run, then answered busy)."""
    answer, waited = _patch_while_o1_is_held(client, engine, org, "FOR KEY SHARE")
    assert answer.status_code == 200, answer.text
    assert waited < WAIT_S
