"""`POST /jobs/{id}/cancel`, `GET .../jobs?status=cancelled` and `goldenthread jobs cancel`: who
may cancel which job, what the answer says, one audit entry per cancel, a retry with its
Idempotency-Key replayed. What a cancel does to a job is in tests/alignment/test_job_cancel.py.
"""

from __future__ import annotations

import re
import uuid
from typing import Any

import pytest
from sqlalchemy import Engine, select, text
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from alignment.access import keys as access_keys
from alignment.access.principal import Role
from alignment.jobs import handlers
from alignment.models import AuditEntry, Job
from service.cli import app
from tests.conftest import auth, keys_per_role
from tests.jobs_support import committed_org
from tests.service.test_edge import _org_with_admin

ORG = "cancel-api"
CANCEL = "POST /jobs/{job_id}/cancel"


@pytest.fixture
def setup(session: Session, embedder) -> tuple[Any, dict[str, dict[str, str]]]:
    client, raw = keys_per_role(session, embedder, ORG)
    return client, {who: auth(key) for who, key in raw.items()}


def _entries(session: Session, job_id: int) -> list[AuditEntry]:
    return list(
        session.scalars(
            select(AuditEntry).where(AuditEntry.action == CANCEL, AuditEntry.record == str(job_id))
        )
    )


def test_an_admin_cancels_a_queued_job_once_and_it_never_runs(
    setup, session: Session, jobs, monkeypatch
) -> None:
    client, keys = setup
    ran: list[int] = []
    monkeypatch.setitem(handlers.HANDLERS, "report", lambda s, job, *_: ran.append(job.id) or {})
    queued = client.post(f"/orgs/{ORG}/reports", json={}, headers=keys["admin"])
    assert queued.status_code == 202, queued.text
    job_id = queued.json()["id"]
    answer = client.post(f"/jobs/{job_id}/cancel", headers=keys["admin"])
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert (body["status"], body["outcome"], body["cancel_requested"]) == (
        "cancelled",
        "cancelled",
        True,  # asked, and it stays so once the job has ended
    )
    assert body["cancelled_by"].startswith("Ada (key ") and body["cancelled_at"]
    assert answer.headers["Location"] == f"/jobs/{job_id}"
    jobs.drain()
    assert ran == []
    shown = client.get(f"/jobs/{job_id}", headers=keys["admin"]).json()
    assert shown["status"] == "cancelled" and shown["cancelled_by"] == body["cancelled_by"]
    # Again: the same answer, who cancelled it and when, and no second audit entry.
    again = client.post(f"/jobs/{job_id}/cancel", headers=keys["office"])
    assert again.status_code == 403  # the office did not ask for it
    again = client.post(f"/jobs/{job_id}/cancel", headers=keys["admin"])
    assert again.status_code == 200
    assert {k: again.json()[k] for k in ("status", "cancelled_by", "cancelled_at")} == {
        k: body[k] for k in ("status", "cancelled_by", "cancelled_at")
    }
    [entry] = _entries(session, job_id)
    assert entry.principal.startswith("Ada (key ") and entry.org_id == ORG
    listed = client.get(f"/orgs/{ORG}/jobs?status=cancelled", headers=keys["admin"]).json()
    assert [j["id"] for j in listed["items"]] == [job_id]


def test_a_running_job_answers_requested_and_a_second_ask_records_nothing(
    setup, session: Session
) -> None:
    client, keys = setup
    job_id = client.post(f"/orgs/{ORG}/reports", json={}, headers=keys["admin"]).json()["id"]
    session.get(Job, job_id).status = "running"  # a worker has it
    session.commit()
    answer = client.post(f"/jobs/{job_id}/cancel", headers=keys["admin"])
    assert answer.status_code == 202, answer.text
    body = answer.json()
    assert (body["status"], body["outcome"], body["cancel_requested"]) == (
        "running",
        "requested",
        True,
    )
    assert body["cancel_requested_by"].startswith("Ada (key ") and body["cancelled_by"] is None
    again = client.post(f"/jobs/{job_id}/cancel", headers=keys["admin"])
    assert again.status_code == 202
    assert again.json()["cancel_requested_at"] == body["cancel_requested_at"]
    assert len(_entries(session, job_id)) == 1


@pytest.mark.parametrize("ended", ["succeeded", "failed"])
def test_a_finished_job_is_a_409_naming_its_status(setup, session: Session, ended) -> None:
    client, keys = setup
    job_id = client.post(f"/orgs/{ORG}/reports", json={}, headers=keys["admin"]).json()["id"]
    session.get(Job, job_id).status = ended
    session.commit()
    answer = client.post(f"/jobs/{job_id}/cancel", headers=keys["admin"])
    assert answer.status_code == 409
    error = answer.json()["error"]
    assert f"already {ended}" in error["message"]
    assert error["details"] == [{"path": "path.job_id", "message": f"the job has {ended}"}]
    assert _entries(session, job_id) == []  # a refused write leaves no entry


def test_a_team_lead_cancels_only_what_it_alone_asked_for(setup, session: Session) -> None:
    client, keys = setup
    lead, admin = keys["lead"], keys["admin"]
    mine = client.post(
        f"/orgs/{ORG}/drafts/suggestions",
        json={"team": "T-1", "objectives": "suggest"},
        headers=lead,
    )
    assert mine.status_code == 202, mine.text
    scoring = client.post(f"/orgs/{ORG}/score", headers=admin).json()["id"]
    report = client.post(f"/orgs/{ORG}/reports", json={}, headers=admin).json()["id"]
    refused = client.post(f"/jobs/{scoring}/cancel", headers=lead)
    assert refused.status_code == 403 and "only an admin" in refused.json()["error"]["message"]
    assert client.post(f"/jobs/{report}/cancel", headers=lead).status_code == 404  # not its to see
    joined = mine.json()["id"]
    session.get(Job, joined).requests = 2
    session.commit()
    assert client.post(f"/jobs/{joined}/cancel", headers=lead).status_code == 403
    session.get(Job, joined).requests = 1
    session.commit()
    named = client.post(f"/jobs/{joined}/cancel", json={"cancelled_by": "Ada"}, headers=lead)
    assert named.status_code == 422  # who cancels is the key, never a field
    done = client.post(f"/jobs/{joined}/cancel", headers=lead)
    assert done.status_code == 200 and done.json()["cancelled_by"].startswith("Lea (key ")
    assert client.post(f"/jobs/{scoring}/cancel", headers=admin).status_code == 200


def test_a_key_whose_request_joined_the_job_is_told_so_not_that_it_is_someone_elses(
    setup, session: Session
) -> None:
    """Who joined a job is not kept: the refusal says another request joined it, which may be
    the caller's own, and who may cancel it then (an admin only, not even its requester)."""
    client, keys = setup
    ivy = auth(access_keys.create_key(session, org_id=ORG, role=Role.integration, name="Ivy")[1])
    session.commit()
    asked = client.post(f"/orgs/{ORG}/reports", json={}, headers=keys["office"]).json()
    alone = client.post(f"/jobs/{asked['id']}/cancel", headers=ivy)
    assert alone.status_code == 403
    assert alone.json()["error"]["message"] == (
        f"job {asked['id']} was asked for by someone else, {asked['requested_by']}: only that "
        "key or an admin may cancel it"
    )
    joined = client.post(f"/orgs/{ORG}/reports", json={}, headers=ivy).json()
    assert joined["deduplicated"] and joined["id"] == asked["id"]
    refused = client.post(f"/jobs/{asked['id']}/cancel", headers=ivy)
    assert refused.status_code == 403
    message = refused.json()["error"]["message"]
    assert "someone else" not in message, message
    assert message == (
        f"job {asked['id']} was asked for by {asked['requested_by']} and 1 later request "
        "joined it (yours among them if you asked for the same work): only an admin may "
        "cancel a job more than one request waits for"
    )
    requester = client.post(f"/jobs/{asked['id']}/cancel", headers=keys["office"])
    assert requester.status_code == 403 and "1 later request" in requester.text
    assert client.post(f"/jobs/{asked['id']}/cancel", headers=keys["admin"]).status_code == 200


def test_after_a_cancel_an_equal_request_queues_a_new_job(setup) -> None:
    client, keys = setup
    first = client.post(f"/orgs/{ORG}/score", headers=keys["admin"]).json()
    joined = client.post(f"/orgs/{ORG}/score", headers=keys["admin"]).json()
    assert joined["deduplicated"] and joined["id"] == first["id"]
    assert client.post(f"/jobs/{first['id']}/cancel", headers=keys["admin"]).status_code == 200
    after = client.post(f"/orgs/{ORG}/score", headers=keys["admin"]).json()
    assert after["deduplicated"] is False and after["id"] != first["id"]
    assert after["status"] == "queued"


def test_a_retry_with_its_idempotency_key_replays_the_cancel(
    app_client, platform, cleanup, engine: Engine
) -> None:
    """As in production: the application role, committed rows, the queue's row security."""
    org, admin = _org_with_admin(app_client, platform, cleanup)
    job = app_client.post(f"/orgs/{org}/score", headers=auth(admin)).json()
    headers = {"Idempotency-Key": uuid.uuid4().hex, **auth(admin)}
    first = app_client.post(f"/jobs/{job['id']}/cancel", headers=headers)
    assert first.status_code == 200, first.text
    retry = app_client.post(f"/jobs/{job['id']}/cancel", headers=headers)
    assert retry.status_code == 200 and retry.headers["idempotent-replayed"] == "true"
    assert retry.json() == first.json()
    with Session(engine) as s:
        entries = s.scalars(
            select(AuditEntry.id).where(AuditEntry.org_id == org, AuditEntry.action == CANCEL)
        ).all()
        queued = text(
            "select count(*) from procrastinate_jobs p join jobs j on j.queue_job_id = p.id "
            "where j.id = :id"
        )
        entry = s.scalar(queued, {"id": job["id"]})
    assert len(entries) == 1 and entry == 0


def test_the_api_and_the_command_line_name_the_cancelled_job_alike(
    app_client, platform, cleanup, engine: Engine
) -> None:
    """The audit log names the job by its id either way (the id in the URL, as every entry
    names its record), so one search finds a job's cancel however it was made."""
    org, admin = _org_with_admin(app_client, platform, cleanup)
    by_api = app_client.post(f"/orgs/{org}/score", headers=auth(admin)).json()["id"]
    assert app_client.post(f"/jobs/{by_api}/cancel", headers=auth(admin)).status_code == 200
    by_cli = app_client.post(f"/orgs/{org}/score", headers=auth(admin)).json()["id"]
    assert by_cli != by_api
    done = CliRunner().invoke(app, ["jobs", "cancel", str(by_cli)])
    assert done.exit_code == 0, done.output
    with Session(engine) as s:
        named = dict(
            s.execute(
                select(AuditEntry.action, AuditEntry.record).where(
                    AuditEntry.org_id == org,
                    AuditEntry.action.in_([CANCEL, "CLI jobs cancel"]),
                )
            ).all()
        )
    assert named == {CANCEL: str(by_api), "CLI jobs cancel": str(by_cli)}


def test_the_command_line_cancels_as_the_operator(engine: Engine) -> None:
    from alignment.jobs import enqueue

    runner = CliRunner()
    with committed_org(engine, "cancel-cli") as org:
        with Session(engine) as s, s.begin():
            job_id = enqueue(s, org, "report", {}, requested_by="someone").job.id
        done = runner.invoke(app, ["jobs", "cancel", str(job_id)])
        assert done.exit_code == 0, done.output
        assert f"job {job_id} (report) was cancelled by cli:" in done.output
        # The time as the pages say it, not a raw ISO timestamp.
        assert re.search(r" at \d{4}-\d\d-\d\d \d\d:\d\d UTC; no worker runs it", done.output)
        assert "+00:00" not in done.output
        again = runner.invoke(app, ["jobs", "cancel", str(job_id)])
        assert again.exit_code == 0 and "was already cancelled by cli:" in again.output
        listed = runner.invoke(app, ["jobs", "list", "--org", org, "--status", "cancelled"])
        assert listed.exit_code == 0 and f"#{job_id}" in listed.output
        with Session(engine) as s:
            job = s.get(Job, job_id)
            assert job is not None and job.status == "cancelled"
            assert job.cancelled_by is not None and job.cancelled_by.startswith("cli:")
            entries = s.scalars(
                select(AuditEntry).where(
                    AuditEntry.org_id == org, AuditEntry.action == "CLI jobs cancel"
                )
            ).all()
            assert [e.record for e in entries] == [str(job_id)]
            job.status = "succeeded"
            s.commit()
        refused = runner.invoke(app, ["jobs", "cancel", str(job_id)])
        assert refused.exit_code == 2
        assert "error (conflict)" in refused.output and "already" in refused.output
        missing = runner.invoke(app, ["jobs", "cancel", "999999999"])
        assert missing.exit_code == 2 and "error (not_found): job 999999999 not found" in (
            missing.output
        )
