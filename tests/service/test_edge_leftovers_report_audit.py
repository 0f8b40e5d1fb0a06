"""Opening the report page can queue the organization's next report: that GET writes, and its
audit entry names the signed-in person and the job, as `POST /orgs/{org}/reports` leaves one. A
page that served the stored run, or showed the job already waiting, wrote nothing and has none."""

from __future__ import annotations

import re

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from alignment.access import keys
from alignment.access.principal import Role
from alignment.imports import import_document
from alignment.models import AuditEntry, Job
from tests.conftest import auth, make_client
from tests.factories import small_bundle
from tests.service.test_web_session import PAGE, csrf_of

ORG = "acme-page-queue"
ACTION = "GET /orgs/{org_id}/report.html"


def _page_entries(session: Session) -> list[AuditEntry]:
    return list(
        session.scalars(
            select(AuditEntry)
            .where(AuditEntry.org_id == ORG, AuditEntry.action == ACTION)
            .order_by(AuditEntry.id)
        )
    )


def test_a_report_page_that_queues_a_job_is_in_the_audit_log(session, embedder, jobs) -> None:
    import_document(session, small_bundle(ORG))
    office = keys.create_key(session, org_id=ORG, role=Role.strategy_office, name="Omar")[1]
    admin = keys.create_key(session, org_id=ORG, role=Role.admin, name="Ada")[1]
    session.commit()
    client = make_client(session, embedder, real_auth=True)
    signed = client.post(
        "/sign-in", data={"key": office, "csrf": csrf_of(client.get("/sign-in").text)}
    )
    assert signed.status_code in (200, 303), signed.text

    # No run yet: the page queues the first one.
    first = client.get(f"/orgs/{ORG}/report.html?utm_source=mail", headers=PAGE)
    assert first.status_code == 202, first.text[:300]
    job = session.get(Job, int(first.headers["location"].rsplit("/", 1)[1]))
    assert job is not None and job.requested_by.startswith("Omar (key ")
    [entry] = _page_entries(session)
    assert entry.principal == job.requested_by  # the signed-in person, from the sign-in
    assert entry.record == f"/jobs/{job.id}"
    assert entry.details == {"utm_source": "mail"}  # the query, as every write's entry has
    assert entry.request_id == first.headers["x-request-id"]

    # The same job still waiting: shown again, nothing queued, nothing written.
    again = client.get(f"/orgs/{ORG}/report.html", headers=PAGE)
    assert again.status_code == 202 and again.headers["location"] == first.headers["location"]
    assert len(_page_entries(session)) == 1

    # The stored run served as it is: no entry.
    jobs.drain()
    served = client.get(f"/orgs/{ORG}/report.html", headers=PAGE)
    assert served.status_code == 200 and "Recomputing" not in served.text
    assert len(_page_entries(session)) == 1

    # A record changed since the run: the page queues the next one, and says so. (The test
    # runs in one transaction, where now() stands still: the run is dated back first.)
    session.execute(
        text(
            "UPDATE report_runs SET created_at = created_at - interval '1 hour', "
            "confirmed_at = confirmed_at - interval '1 hour' WHERE org_id = :org"
        ),
        {"org": ORG},
    )
    renamed = client.patch(f"/orgs/{ORG}/teams/T-2", json={"name": "Renamed"}, headers=auth(admin))
    assert renamed.status_code == 200, renamed.text
    stale = client.get(f"/orgs/{ORG}/report.html", headers=PAGE)
    assert stale.status_code == 200 and "Recomputing" in stale.text
    queued = int(re.search(r"Job #(\d+)", stale.text).group(1))
    earlier, second = _page_entries(session)
    assert earlier.id == entry.id
    assert second.record == f"/jobs/{queued}" and second.principal == job.requested_by
    assert second.request_id == stale.headers["x-request-id"]

    # What an admin reads in the organization's log.
    log = client.get(f"/orgs/{ORG}/audit-log", headers=auth(admin)).json()["items"]
    shown = [(e["action"], e["record"]) for e in log if e["action"] == ACTION]
    assert shown == [(ACTION, f"/jobs/{queued}"), (ACTION, f"/jobs/{job.id}")]


def test_a_refused_report_page_leaves_no_entry(session, embedder) -> None:
    """The page queues nothing before it has checked its query: a refused one writes nothing."""
    import_document(session, small_bundle(ORG))
    office = keys.create_key(session, org_id=ORG, role=Role.strategy_office, name="Omar")[1]
    session.commit()
    client = make_client(session, embedder, real_auth=True)
    refused = client.get(f"/orgs/{ORG}/report.html?team=NOPE", headers=auth(office))
    assert refused.status_code == 422
    assert _page_entries(session) == []
    assert session.scalars(select(Job).where(Job.org_id == ORG)).all() == []
