"""Pages waiting for a job in Chromium keep what the person is typing: the team page asks the
drafting job's JSON instead of reloading itself, and the report page being rebuilt asks its own
address; finished with nothing typed they reload, with something typed they offer a link."""

from __future__ import annotations

from sqlalchemy import delete
from sqlalchemy.orm import Session

from alignment.models import Job
from tests.jobs_support import lead_drafting_job
from tests.web.test_pages import sign_in

TEAM = "T-9"
TYPED = "Cut linen waste in half"


def _running_job(engine, org_id: str, lead_key: str) -> int:
    return lead_drafting_job(engine, org_id, lead_key, TEAM)


def _finish(engine, job_id: int) -> None:
    from datetime import UTC, datetime

    with Session(engine) as s, s.begin():
        job = s.get(Job, job_id)
        job.status, job.finished_at = "succeeded", datetime.now(UTC)
        job.result = {"draft_id": "D-none", "url": "/orgs/x/drafts/D-none"}


def _reloaded(page, seconds: float = 15) -> None:
    """Wait until the page has loaded anew (the marker set on the old one is gone); the page's
    policy allows no evaluated string, so the browser is asked, not made to wait."""
    import time

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        page.wait_for_timeout(250)
        try:
            if page.evaluate("() => window.notReloaded !== true"):
                page.wait_for_load_state()
                return
        except Exception:  # asked while the new page was being navigated to
            continue
    raise AssertionError("the page did not reload itself")


def test_the_team_page_waits_for_a_draft_without_wiping_what_is_typed(
    page, role_keys, scored_sample, engine
) -> None:
    lead = role_keys["team_lead"]
    typed_job = _running_job(engine, scored_sample, lead)
    quiet_job = _running_job(engine, scored_sample, lead)
    try:
        sign_in(page, lead)
        page.goto(f"/orgs/{scored_sample}/team/{TEAM}?job={typed_job}")
        page.evaluate("window.notReloaded = true")
        page.locator("#parent-title").fill(TYPED)
        page.wait_for_timeout(4500)  # past the 3 seconds the page used to reload after
        assert page.evaluate("window.notReloaded === true")
        assert "what you type meanwhile is kept" in page.locator("#job-status").inner_text()
        _finish(engine, typed_job)
        page.wait_for_selector("#job-done", timeout=15000)
        assert page.evaluate("window.notReloaded === true")
        assert page.locator("#parent-title").input_value() == TYPED
        assert page.locator("#job-status").inner_text().startswith("The draft is ready. Show it")

        # Nothing typed: once the job is done the page reloads itself to show the draft.
        page.goto(f"/orgs/{scored_sample}/team/{TEAM}?job={quiet_job}")
        page.evaluate("window.notReloaded = true")
        _finish(engine, quiet_job)
        _reloaded(page)
        assert "ready below" in page.locator("#job-status").inner_text()
        assert page.console_errors == [] and page.outside_requests == []
    finally:
        with Session(engine) as s, s.begin():
            s.execute(delete(Job).where(Job.id.in_((typed_job, quiet_job))))


def _stale_report(page, role_keys, scored_sample, live_url):
    """The live report page, as served, and as a stale run shows it while a new one is built."""
    import time

    from fastapi.responses import HTMLResponse

    from service.routes.report_job import notice
    from service.routes.report_pages import _with_notice

    sign_in(page, role_keys["admin"])
    deadline = time.monotonic() + 60
    while True:  # the report as served once there is one (202 while the first is built)
        served = page.request.get(f"{live_url}/orgs/{scored_sample}/report.html")
        # The live page itself may be being rebuilt (other tests change the sample): wait.
        rebuilding = 'class="recomputing"' in served.text()
        if (served.status == 200 and not rebuilding) or time.monotonic() > deadline:
            break
        page.wait_for_timeout(500)
    assert served.status == 200, served.status
    headers = {"Content-Security-Policy": served.headers["content-security-policy"]}
    fresh = HTMLResponse(served.text(), headers=headers)
    building = notice(scored_sample, {"id": 7, "status": "queued", "pending": True}, changed=True)
    stale = _with_notice(HTMLResponse(served.text(), headers=headers), building, waiting=True)
    return fresh, stale


def test_a_report_being_rebuilt_keeps_the_search_being_typed(
    page, role_keys, scored_sample, live_url
) -> None:
    fresh, stale = _stale_report(page, role_keys, scored_sample, live_url)
    rebuilt = {"done": False}

    def serve(route) -> None:  # the app's page, as a stale run shows it until the new one is in
        shown = fresh if rebuilt["done"] else stale
        route.fulfill(status=200, headers=dict(shown.headers), body=shown.body)

    page.route(f"{live_url}/stale-report", serve)
    page.goto("/stale-report")
    page.evaluate("window.notReloaded = true")
    page.locator("#f-text").fill("linen")
    page.wait_for_timeout(4500)  # past the 3 seconds the page used to reload after
    assert page.evaluate("window.notReloaded === true")
    rebuilt["done"] = True
    page.wait_for_selector("#report-ready", timeout=15000)
    assert page.evaluate("window.notReloaded === true")
    assert page.locator("#f-text").input_value() == "linen"
    assert page.console_errors == [] and page.outside_requests == []


def test_signed_out_while_a_draft_is_made_the_team_page_keeps_what_is_typed(
    page, role_keys, scored_sample, engine
) -> None:
    """Signed out in another tab: the job's JSON answers 401. With something typed the page
    says so and keeps the text; with nothing typed it reloads, to the sign-in page."""
    lead = role_keys["team_lead"]
    typed_job = _running_job(engine, scored_sample, lead)
    try:
        sign_in(page, lead)
        page.goto(f"/orgs/{scored_sample}/team/{TEAM}?job={typed_job}")
        page.evaluate("window.notReloaded = true")
        page.locator("#parent-title").fill(TYPED)
        page.context.clear_cookies()  # what signing out does to every tab of the browser
        page.wait_for_selector("#job-lost", timeout=15000)
        assert page.evaluate("window.notReloaded === true")
        assert page.locator("#parent-title").input_value() == TYPED
        assert "signed out in another tab" in page.locator("#job-status").inner_text()

        sign_in(page, lead)
        page.goto(f"/orgs/{scored_sample}/team/{TEAM}?job={typed_job}")
        page.evaluate("window.notReloaded = true")
        page.context.clear_cookies()
        _reloaded(page)
        assert "/sign-in" in page.url
        # The browser logs each refused poll; nothing else may go wrong.
        assert all("status of 401" in error for error in page.console_errors)
        assert page.outside_requests == []
    finally:
        with Session(engine) as s, s.begin():
            s.execute(delete(Job).where(Job.id == typed_job))


def test_signed_out_while_a_report_is_rebuilt_the_search_being_typed_is_kept(
    page, role_keys, scored_sample, live_url
) -> None:
    _, stale = _stale_report(page, role_keys, scored_sample, live_url)
    signed_out = {"now": False}

    def serve(route) -> None:
        if signed_out["now"]:
            route.fulfill(status=401, body="signed out")
        else:
            route.fulfill(status=200, headers=dict(stale.headers), body=stale.body)

    page.route(f"{live_url}/stale-report", serve)
    page.goto("/stale-report")
    page.evaluate("window.notReloaded = true")
    page.locator("#f-text").fill("linen")
    signed_out["now"] = True
    page.wait_for_selector("#report-lost", timeout=15000)
    assert page.evaluate("window.notReloaded === true")
    assert page.locator("#f-text").input_value() == "linen"
    assert all("status of 401" in error for error in page.console_errors)
