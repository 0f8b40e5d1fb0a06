"""The report page's "Cancel this build", over HTTP as a signed-in browser sends it: offered to
whoever may cancel the report job (the rule of `POST /jobs/{id}/cancel`, for the signed-in
person), posted with the page's CSRF token, and the page then says truthfully what became of
the job: cancelled (by whom, when), asked to stop, or already ended. The browser side is
tests/web/test_report_cancel_page.py."""

from __future__ import annotations

import html
import re

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from alignment.access import keys
from alignment.access.principal import Role
from alignment.imports import import_document
from alignment.models import AuditEntry, Job
from alignment.report import build_report
from service.auth import SESSION_COOKIE, form_token
from tests.conftest import make_client
from tests.factories import small_bundle
from tests.service.test_web_session import csrf_of

ORG = "acme-report-cancel"
PAGE = f"/orgs/{ORG}/report.html"
FORM = re.compile(r'<form method="post" id="report-job-cancel" action="([^"]+)"')
ACTION = "POST /orgs/{org_id}/report/jobs/{job_id}/cancel"


@pytest.fixture
def people(session: Session, embedder):
    """The organization, and a signed-in browser each for its admin (Ada) and a strategy
    office key (Omar)."""
    import_document(session, small_bundle(ORG))
    raw = {
        "ada": keys.create_key(session, org_id=ORG, role=Role.admin, name="Ada")[1],
        "omar": keys.create_key(session, org_id=ORG, role=Role.strategy_office, name="Omar")[1],
    }
    session.commit()
    browsers = {}
    for who, key in raw.items():
        client = make_client(session, embedder, real_auth=True)
        token = csrf_of(client.get("/sign-in").text)
        signed = client.post("/sign-in", data={"key": key, "csrf": token}, follow_redirects=False)
        assert signed.status_code == 303, signed.text
        browsers[who] = client
    return browsers


def _form(page: str) -> str | None:
    found = FORM.search(page)
    return html.unescape(found.group(1)) if found else None


def _report_jobs(session: Session) -> list[Job]:
    query = select(Job).where(Job.org_id == ORG, Job.kind == "report").order_by(Job.id)
    return list(session.scalars(query.execution_options(populate_existing=True)))


def _audited(session: Session) -> int:
    query = select(func.count()).select_from(AuditEntry).where(AuditEntry.action == ACTION)
    return session.scalar(query)


def _said(page: str) -> str:
    """The page's build notice, as words."""
    found = re.search(r'<div role="status"[^>]*id="report-job[^"]*"[^>]*>(.*?)</div>', page, re.S)
    assert found, page
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", found.group(1))).split())


def test_whoever_queued_the_first_build_cancels_it_and_the_page_says_so(people, session) -> None:
    omar = people["omar"]
    waiting = omar.get(PAGE)
    assert waiting.status_code == 202
    (job,) = _report_jobs(session)
    action = _form(waiting.text)
    assert action is not None and "Cancel this build" in waiting.text
    path, _, token = action.partition("?csrf=")
    assert path == f"/orgs/{ORG}/report/jobs/{job.id}/cancel" and token
    # Without the page's token (another site's form sends the cookie alone) nothing happens.
    forged = omar.post(path, follow_redirects=False)
    assert forged.status_code in (401, 403), forged.text
    assert _report_jobs(session)[0].status == "queued" and _audited(session) == 0

    sent = omar.post(action, follow_redirects=False)
    assert sent.status_code == 303 and sent.headers["location"] == f"{PAGE}?job={job.id}"
    (cancelled,) = _report_jobs(session)  # and the page queued no other
    assert cancelled.status == "cancelled"
    assert cancelled.cancelled_by == cancelled.requested_by and cancelled.requested_by.startswith(
        "Omar (key "
    )
    assert _audited(session) == 1
    shown = omar.get(sent.headers["location"])
    assert shown.status_code == 200  # nothing is being built: no 202, no reload
    said = _said(shown.text)
    assert said.startswith(f"Job #{job.id}, building the first report, was cancelled by Omar")
    assert " UTC: nothing it built was kept. There is no report yet" in said
    assert 'http-equiv="refresh"' not in shown.text and _form(shown.text) is None
    assert len(_report_jobs(session)) == 1
    # The same form again (a tab left open) changes nothing, nor is audited.
    assert omar.post(action, follow_redirects=False).status_code == 303
    assert _audited(session) == 1
    # The page opened plainly (another tab, a colleague's page reloading itself) shows the
    # cancel and builds nothing: before, any reload queued the build again within seconds.
    plain = omar.get(PAGE)
    assert plain.status_code == 200 and len(_report_jobs(session)) == 1
    assert "build it now" in _said(plain.text) and 'http-equiv="refresh"' not in plain.text
    assert people["ada"].get(PAGE).status_code == 200 and len(_report_jobs(session)) == 1
    # Asked for, a build is queued and the page follows it, so a reload does not ask again.
    asked = omar.get(f"{PAGE}?build=1", follow_redirects=False)
    assert asked.status_code == 303 and len(_report_jobs(session)) == 2
    new = _report_jobs(session)[-1]
    assert new.status == "queued" and asked.headers["location"] == f"{PAGE}?job={new.id}"
    assert omar.get(asked.headers["location"]).status_code == 202
    assert len(_report_jobs(session)) == 2


def test_a_cancelled_build_stands_until_something_changes(people, session) -> None:
    """An edit after the cancel makes the page build again, as it would have without one."""
    omar = people["omar"]
    assert omar.get(PAGE).status_code == 202
    (job,) = _report_jobs(session)
    assert omar.post(_form(omar.get(PAGE).text), follow_redirects=False).status_code == 303
    assert omar.get(PAGE).status_code == 200 and len(_report_jobs(session)) == 1
    # Cancelled an hour ago; an OKR edited since (now() stands still within the test's
    # transaction, so the cancel is dated back).
    session.execute(
        text("UPDATE jobs SET finished_at = finished_at - interval '1 hour' WHERE id = :id"),
        {"id": job.id},
    )
    session.execute(text("UPDATE okrs SET updated_at = now() WHERE org_id = :org"), {"org": ORG})
    session.expire_all()  # the page reads through this session: not the rows it held
    assert omar.get(PAGE).status_code == 202 and len(_report_jobs(session)) == 2


def test_cancel_is_offered_only_to_who_may_cancel_and_refused_to_others(people, session) -> None:
    """Ada (admin) queued the build: Omar sees it building but is offered no Cancel, and a
    form he makes up is refused as the API refuses him (403); Ada may cancel it."""
    assert people["ada"].get(PAGE).status_code == 202
    (job,) = _report_jobs(session)
    seen = people["omar"].get(PAGE)
    assert seen.status_code == 202 and f"job #{job.id}" in seen.text
    assert _form(seen.text) is None
    his = form_token(people["omar"].cookies[SESSION_COOKIE])  # his own page's token
    made_up = people["omar"].post(
        f"/orgs/{ORG}/report/jobs/{job.id}/cancel?csrf={his}", follow_redirects=False
    )
    assert made_up.status_code == 403, made_up.text
    assert _report_jobs(session)[0].status == "queued"
    assert _form(people["ada"].get(PAGE).text) is not None


def test_a_stale_report_offers_cancel_and_a_running_build_is_asked_to_stop(
    people, session, embedder
) -> None:
    build_report(session, ORG, embedder=embedder)
    # Dated back, then a record edited after it: the shown run is stale (now() stands still
    # within the test's one transaction).
    session.execute(
        text(
            "UPDATE report_runs SET confirmed_at = confirmed_at - interval '1 hour' "
            "WHERE org_id = :org"
        ),
        {"org": ORG},
    )
    session.execute(text("UPDATE teams SET updated_at = now() WHERE org_id = :org"), {"org": ORG})
    omar = people["omar"]
    stale = omar.get(PAGE)
    assert stale.status_code == 200 and "Recomputing" in stale.text
    (job,) = _report_jobs(session)
    action = _form(stale.text)
    assert action is not None
    # A worker takes the job before the click: the cancel is a request it sees at its next step.
    session.execute(text("UPDATE jobs SET status = 'running' WHERE id = :id"), {"id": job.id})
    session.commit()  # as the worker would: kept whatever a request then rolls back
    shown = omar.get(omar.post(action, follow_redirects=False).headers["location"])
    said = _said(shown.text)
    assert said.startswith("Cancelling: Omar (key ") and f"asked to cancel job #{job.id}" in said
    assert "it stops at its next step and keeps nothing" in said
    assert "data-wait-seconds" in shown.text and _form(shown.text) is None  # asked already
    (running,) = _report_jobs(session)
    assert running.status == "running" and running.cancel_requested_at is not None

    # It finished first (the cancel came after its last look): the page says so.
    session.execute(
        text("UPDATE jobs SET status = 'succeeded', finished_at = now() WHERE id = :id"),
        {"id": job.id},
    )
    session.commit()
    late = omar.post(action, follow_redirects=False)
    assert late.status_code == 303
    said = _said(omar.get(late.headers["location"]).text)
    assert said.startswith(f"Job #{job.id} had already succeeded at ")
    assert said.endswith("UTC: there was nothing left to cancel.")
    assert _audited(session) == 1  # the request only; the late form wrote nothing
