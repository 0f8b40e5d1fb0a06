"""The team page in Chromium: a team lead cancels the drafting job the page follows, and the page
says who cancelled it; a job the person may not cancel offers no button."""

from __future__ import annotations

from sqlalchemy import delete
from sqlalchemy.orm import Session

from alignment.models import Job
from tests.jobs_support import lead_drafting_job
from tests.web.conftest import shot
from tests.web.test_pages import sign_in

TEAM = "T-9"


def test_a_team_lead_cancels_a_queued_drafting_job_from_the_team_page(
    page, engine, role_keys, scored_sample
) -> None:
    lead = role_keys["team_lead"]
    prefix = lead.split("_")[1]
    # A row only, with no queue entry: the page's worker never takes it while the test looks.
    job_id = lead_drafting_job(engine, scored_sample, lead, TEAM, status="queued")
    joined = lead_drafting_job(engine, scored_sample, lead, TEAM, status="queued", requests=2)
    try:
        sign_in(page, lead)
        page.goto(f"/orgs/{scored_sample}/team/{TEAM}?job={joined}")
        assert page.locator("#job-cancel").count() == 0  # another request joined it
        page.goto(f"/orgs/{scored_sample}/team/{TEAM}?job={job_id}")
        status = page.locator("#job-status")
        assert f"Drafting (job #{job_id}, queued)" in status.inner_text()
        page.get_by_role("button", name="Cancel drafting").click()
        page.wait_for_selector("[data-job-cancelled]")
        said = " ".join(page.locator("#job-status").inner_text().split())
        assert said.startswith(
            f"Drafting (job #{job_id}) was cancelled by team_lead-{prefix} (key {prefix}) at "
        )
        assert said.endswith("UTC. Nothing was drafted or stored.")
        assert page.locator("#job-cancel").count() == 0
        assert page.url.endswith(f"/team/{TEAM}?job={job_id}")
        shot(page, "team-page-job-cancelled")
        with Session(engine) as s:
            job = s.get(Job, job_id)
            assert job is not None and job.status == "cancelled"
        assert page.console_errors == [] and page.outside_requests == []
    finally:
        with Session(engine) as s, s.begin():
            s.execute(delete(Job).where(Job.id.in_((job_id, joined))))


def test_a_running_job_asked_to_cancel_promises_no_draft(page, engine, role_keys, scored_sample):
    """While a cancel waits for the job's next step, the page says it will say when the job has
    stopped, not that the draft will appear (the script rewrites the line once it polls)."""
    from datetime import UTC, datetime

    lead = role_keys["team_lead"]
    job_id = lead_drafting_job(
        engine,
        scored_sample,
        lead,
        TEAM,
        cancel_requested_by="Ada (key adaadaad)",
        cancel_requested_at=datetime.now(UTC),
    )
    try:
        sign_in(page, lead)
        page.goto(f"/orgs/{scored_sample}/team/{TEAM}?job={job_id}")
        said = " ".join(page.locator("#job-status").inner_text().split())
        assert "Cancelling: Ada (key adaadaad) asked to cancel it" in said
        assert "once it has stopped" in said and "draft appears here" not in said
        assert page.locator("#job-cancel").count() == 0  # asked already
    finally:
        with Session(engine) as s, s.begin():
            s.execute(delete(Job).where(Job.id == job_id))
