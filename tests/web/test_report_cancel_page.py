"""The report page in Chromium: the person who queued the build of a stale report cancels it
from the page's notice, and the page says who cancelled it, and when; a build asked to stop
while it runs is followed until it has, then the page says so. Its own small organization, so
the shared sample's report is left as it is."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import Engine, select, text, update
from sqlalchemy.orm import Session

from alignment.access import keys
from alignment.access.principal import Role
from alignment.models import Job
from alignment.report import build_report
from tests.jobs_support import committed_org
from tests.web.conftest import shot
from tests.web.test_pages import sign_in


@pytest.fixture
def stale_report(engine: Engine, embedder: Any) -> Iterator[dict[str, Any]]:
    """A committed organization whose stored report a later edit made stale, an admin key
    (Ada) and a report job of hers waiting to rebuild it: a row only, with no queue entry, so
    the page's worker never takes it while the test looks."""
    with committed_org(engine, "report-cancel") as org_id:
        with Session(engine) as s, s.begin():
            raw = keys.create_key(s, org_id=org_id, role=Role.admin, name="Ada")[1]
            build_report(s, org_id, embedder=embedder)
        with Session(engine) as s, s.begin():
            s.execute(text("UPDATE teams SET updated_at = now() WHERE org_id = :o"), {"o": org_id})
            prefix = raw.split("_")[1]
            job = Job(org_id=org_id, kind="report", params={}, requested_by=f"Ada (key {prefix})")
            s.add(job)
            s.flush()
            job_id = job.id
        yield {"org": org_id, "key": raw, "job": job_id, "ada": f"Ada (key {prefix})"}


def _report_jobs(engine: Engine, org_id: str) -> list[Job]:
    with Session(engine, expire_on_commit=False) as s:
        return list(s.scalars(select(Job).where(Job.org_id == org_id, Job.kind == "report")))


def test_the_requester_cancels_the_build_of_a_stale_report_from_its_page(
    page, engine, stale_report
):
    org_id, job_id = stale_report["org"], stale_report["job"]
    sign_in(page, stale_report["key"])
    page.goto(f"/orgs/{org_id}/report.html")
    notice = page.locator("#report-job")
    assert notice.inner_text().startswith("Recomputing: something changed since this report")
    assert f"Job #{job_id} is building a new one" in notice.inner_text()
    page.get_by_role("button", name="Cancel this build").click()
    page.wait_for_selector("[data-job-cancelled]")
    said = " ".join(page.locator("#report-job-cancelled").inner_text().split())
    assert said.startswith(
        f"Job #{job_id}, building a new report, was cancelled by {stale_report['ada']} at "
    )
    assert " UTC: nothing it built was kept. The report below is the one stored before" in said
    assert page.locator("#report-job-cancel").count() == 0
    assert page.locator(".recomputing").count() == 0  # nothing said to be building
    assert page.url.endswith(f"/orgs/{org_id}/report.html?job={job_id}")
    assert page.get_by_role("heading", level=1).count() == 1  # the stored report is shown
    shot(page, "report-page-build-cancelled")
    (job,) = _report_jobs(engine, org_id)  # cancelled, and this visit queued no other
    assert (job.status, job.cancelled_by) == ("cancelled", stale_report["ada"])
    # Its link asks for a new build (not followed here: the page's worker would run it).
    again = page.locator("#report-build-again")
    assert again.get_attribute("href") == f"/orgs/{org_id}/report.html?build=1"
    assert page.console_errors == [] and page.outside_requests == []


def test_a_running_build_asked_to_stop_is_followed_until_it_has(page, engine, stale_report):
    """Cancelled while it runs, the build stops at its next step: the page says it is being
    cancelled, offers no second Cancel, and once the job has ended (the worker's part, done
    here) shows that it was cancelled, by whom, without a reload by hand."""
    org_id, job_id = stale_report["org"], stale_report["job"]
    with Session(engine) as s, s.begin():
        s.execute(update(Job).where(Job.id == job_id).values(status="running"))
    sign_in(page, stale_report["key"])
    page.goto(f"/orgs/{org_id}/report.html")
    page.get_by_role("button", name="Cancel this build").click()
    page.wait_for_selector("#report-job[data-cancelling]")
    said = " ".join(page.locator("#report-job").inner_text().split())
    assert said.startswith(
        f"Cancelling: {stale_report['ada']} asked to cancel job #{job_id}, which is building "
        "a new report; it stops at its next step and keeps nothing."
    )
    assert "says so here once it has stopped" in said  # the script's words: no report coming
    assert page.locator("#report-job-cancel").count() == 0
    with Session(engine) as s, s.begin():  # the job looks, and ends cancelled
        now = datetime.now(UTC)
        s.execute(
            update(Job)
            .where(Job.id == job_id)
            .values(
                status="cancelled",
                cancelled_by=stale_report["ada"],
                cancelled_at=now,
                finished_at=now,
            )
        )
    page.wait_for_selector("[data-job-cancelled]", timeout=15_000)
    said = " ".join(page.locator("#report-job-cancelled").inner_text().split())
    assert said.startswith(f"Job #{job_id}, building a new report, was cancelled by ")
    assert len(_report_jobs(engine, org_id)) == 1
    assert page.console_errors == [] and page.outside_requests == []
