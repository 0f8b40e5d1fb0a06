"""The team page in Chromium: a team lead requests suggestions, edits one inline, approves it
and sees the new OKR; rejects a summary with a reason; gets objectives live while typing a
title; cannot open another team's page."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from alignment.drafting.store import Draft
from alignment.models import Cycle, Job, Okr
from tests.jobs_support import lead_drafting_job
from tests.web.conftest import shot
from tests.web.test_pages import sign_in

TEAM = "T-9"
# The cycle after the sample's last (2026-Q4), which the sample does not define.
NEXT_CYCLE = {"id": "2027-Q1", "start": date(2027, 1, 1), "end": date(2027, 3, 31)}


@pytest.fixture
def restore(engine, embedder, scored_sample):
    """The next cycle defined first, as an admin does (the sample's suggestions are for it, and a
    team lead's approval defines no cycle); what the test adds (drafts, the approved OKR, jobs)
    and that cycle are removed and the sample re-scored, after the jobs it queued have finished."""
    with Session(engine) as s, s.begin():
        okrs_before = set(s.scalars(select(Okr.id).where(Okr.org_id == scored_sample)))
        s.add(Cycle(org_id=scored_sample, **NEXT_CYCLE))
    yield
    put_back(engine, embedder, scored_sample, okrs_before)


def put_back(engine, embedder, scored_sample: str, okrs_before: set[str]) -> None:
    """Once the jobs a test queued have finished: its drafts, the OKRs it added, its jobs and
    the next cycle removed, and the sample re-scored."""
    import time

    from alignment.scoring.stage import score_organization

    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        with Session(engine) as s:
            busy = s.scalar(
                select(Job.id).where(
                    Job.org_id == scored_sample, Job.status.in_(("queued", "running", "retrying"))
                )
            )
        if busy is None:
            break
        time.sleep(0.5)
    with Session(engine) as s, s.begin():
        s.execute(delete(Draft).where(Draft.org_id == scored_sample, Draft.team_id == TEAM))
        added = set(s.scalars(select(Okr.id).where(Okr.org_id == scored_sample))) - okrs_before
        s.execute(delete(Okr).where(Okr.org_id == scored_sample, Okr.id.in_(added)))
        s.execute(delete(Job).where(Job.org_id == scored_sample))
        s.execute(delete(Cycle).where(Cycle.org_id == scored_sample, Cycle.id == NEXT_CYCLE["id"]))
        score_organization(s, scored_sample, embedder=embedder)


def _recorded(said: str, what: str, created: str) -> bool:
    """The status line after a decision, in the review queue's words."""
    return said.startswith(f"Recorded: {what} (by you at ") and said.endswith(
        f" UTC): created {created}."
    )


def test_a_team_lead_suggests_edits_approves_and_rejects(
    page, role_keys, scored_sample, engine, restore
) -> None:
    sign_in(page, role_keys["team_lead"])
    links = page.locator("a[href*='/team/']")
    assert links.evaluate_all("n => n.map(a => a.getAttribute('href'))") == [
        f"/orgs/{scored_sample}/team/{TEAM}"
    ]  # only its own team
    links.first.click()
    page.wait_for_selector("tr[data-okr]")
    with Session(engine) as s:
        mine = s.scalars(
            select(Okr.id).where(Okr.org_id == scored_sample, Okr.team_id == TEAM)
        ).all()
    rows = page.locator("tr[data-okr]").evaluate_all("n => n.map(x => x.dataset.okr)")
    assert sorted(rows) == sorted(mine)

    # Suggest: the page follows the drafting job until the draft is there.
    page.get_by_label("SO-9", exact=False).check()
    page.get_by_role("button", name="Suggest OKRs").click()
    page.wait_for_url("**?job=*")
    page.wait_for_selector("text=is ready below", timeout=60000)
    draft = page.locator("article.draft[data-status=pending]").first
    draft_id = draft.get_attribute("data-draft")
    assert draft.locator(".cites").first.inner_text().startswith("Serves: SO-9")

    # Edit inline, approve: the new OKR is on the team page with the person's title.
    title = "Routes drawn from data, not habit"
    draft.get_by_label("Title").first.fill(title)
    draft.get_by_role("button", name="Approve (with your edits)").click()
    page.wait_for_url("**decided=*")
    status = page.get_by_role("status").first.inner_text()
    assert _recorded(status, f"draft {draft_id} approved with edits", f"{draft_id}-O1")
    new_row = page.locator(f"tr[data-okr='{draft_id}-O1']")
    assert title in new_row.inner_text()
    with Session(engine) as s:
        decided = s.get(Draft, {"org_id": scored_sample, "id": draft_id})
        assert decided.status == "edited_and_approved"

    # A cycle summary, rejected with a reason.
    page.get_by_role("button", name="Draft a cycle summary").click()
    page.wait_for_selector("text=is ready below", timeout=60000)
    summary = page.locator("article.draft[data-status=pending]").first
    summary.get_by_label("Reason for rejecting").fill("Too vague for the board.")
    summary.get_by_role("button", name="Reject").click()
    page.wait_for_url("**decided=*")
    assert "rejected" in page.get_by_role("status").first.inner_text()
    shot(page, "team-page")
    assert page.console_errors == [] and page.outside_requests == []


def test_objectives_appear_while_typing_one_request_per_pause(
    page, role_keys, scored_sample
) -> None:
    sign_in(page, role_keys["team_lead"])
    page.goto(f"/orgs/{scored_sample}/team/{TEAM}")
    asked = []
    page.on("request", lambda r: "/suggest-parent" in r.url and asked.append(r.url))
    page.locator("#parent-title").press_sequentially("Cut delivery miles per stop", delay=30)
    page.wait_for_selector("#parent-suggestions li")
    page.wait_for_timeout(800)
    assert len(asked) == 1  # typed without pausing: one request
    items = page.locator("#parent-suggestions li").all_inner_texts()
    assert 1 <= len(items) <= 3 and "score" in items[0]
    shot(page, "team-page-parent-suggestion")
    assert page.console_errors == [] and page.outside_requests == []


def test_a_team_lead_cannot_open_another_teams_page(page, role_keys, scored_sample) -> None:
    sign_in(page, role_keys["team_lead"])
    assert page.goto(f"/orgs/{scored_sample}/team/T-1").status == 403
    forged = page.request.post(
        f"/orgs/{scored_sample}/team/{TEAM}/suggest", form={}, max_redirects=0
    )
    # A cookie write without the page's token is refused: 401, or (a page's form) sent to sign in.
    assert forged.status == 401 or (
        forged.status == 303 and forged.headers["location"] == "/sign-in"
    )


def test_a_failed_drafting_job_is_said_in_plain_words(page, role_keys, scored_sample, engine):
    """The page following a drafting job that failed says what failed, that nothing was
    stored, what to do and the job's number; the job's own error stays on `GET /jobs/{id}`."""
    from datetime import UTC, datetime

    lead = role_keys["team_lead"]
    error = (
        "unavailable: the LLM provider could not be reached (after 2 retries); nothing was "
        "drafted or stored"
    )
    job_id = lead_drafting_job(
        engine,
        scored_sample,
        lead,
        TEAM,
        status="failed",
        attempts=3,
        error=error,
        finished_at=datetime.now(UTC),
    )
    try:
        sign_in(page, lead)
        page.goto(f"/orgs/{scored_sample}/team/{TEAM}?job={job_id}")
        alert = page.locator("#job-status")
        assert alert.get_attribute("role") == "alert"
        said = " ".join(alert.inner_text().split())
        assert said == (
            "Drafting the suggested OKRs failed: the AI service that writes the drafts could "
            "not be reached, or did not answer properly. Nothing was stored. Try again in a few "
            "minutes. If it keeps failing, ask your organization's admin to have the connection "
            "to the AI service checked. If you ask an admin, give them the job number, "
            f"#{job_id}: what went wrong is recorded with it."
        )
        body = page.inner_text("body")
        assert "unavailable:" not in body and "LLM provider" not in body
        assert page.get_by_role("button", name="Suggest OKRs").is_visible()  # to try again
        shot(page, "team-page-failed-job")
        kept = page.request.get(f"/jobs/{job_id}").json()  # the operators' words, kept
        assert (kept["status"], kept["error"]) == ("failed", error)
        assert page.console_errors == [] and page.outside_requests == []
    finally:
        with Session(engine) as s, s.begin():
            s.execute(delete(Job).where(Job.id == job_id))


def _pending_suggestion(page, org_id: str, objective: str = "SO-9", cycle: str | None = None):
    """A new suggestion draft on the team page, as the drafting job leaves it; `cycle`: the
    option to pick ("" is the default), else the one the form starts on."""
    page.goto(f"/orgs/{org_id}/team/{TEAM}")
    pending = "article.draft[data-status=pending]"
    before = set(page.locator(pending).evaluate_all("n => n.map(a => a.dataset.draft)"))
    page.locator(f"fieldset#objectives input[name=objective][value='{objective}']").check()
    if cycle is not None:
        page.locator("select[name=cycle]").select_option(cycle)
    page.get_by_role("button", name="Suggest OKRs").click()
    page.wait_for_selector("text=is ready below", timeout=60000)
    drafts = page.locator(pending).evaluate_all("n => n.map(a => a.dataset.draft)")
    [new] = [d for d in drafts if d not in before]
    return page.locator(f"article.draft[data-draft='{new}']")


def _pending_summary(page, org_id: str) -> str:
    """A new cycle-summary draft requested on the team page; its id."""
    page.goto(f"/orgs/{org_id}/team/{TEAM}")
    page.get_by_role("button", name="Draft a cycle summary").click()
    page.wait_for_selector("text=is ready below", timeout=60000)
    return page.locator("article.draft[data-status=pending]").first.get_attribute("data-draft")


def _only_refusals(page) -> list[str]:
    """Console errors other than Chromium's note of the 422 a refused form answers."""
    return [e for e in page.console_errors if "status of 422" not in e]


def _without_browser_checks(form) -> None:
    # What the server says, as a browser that ignores the form's constraints would hear it.
    form.evaluate("f => { f.noValidate = true; }")


def _forced(page, form, button, action: str) -> int:
    """Send `form` past the browser's own checks by clicking `button`; the status the server
    answered its POST to the path ending in `action` with, once the answer page has loaded."""
    _without_browser_checks(form)
    with page.expect_response(lambda r: r.url.split("?")[0].endswith(action)) as answer:
        button.click()
    page.wait_for_load_state()
    return answer.value.status


def test_too_many_objectives_are_refused_beside_them_with_the_ticks_kept(
    page, role_keys, scored_sample, engine
) -> None:
    sign_in(page, role_keys["team_lead"])
    page.goto(f"/orgs/{scored_sample}/team/{TEAM}")
    with Session(engine) as s:
        jobs_before = s.scalars(select(Job.id).where(Job.org_id == scored_sample)).all()
    boxes = page.locator("fieldset#objectives input[name=objective]")
    ticked = [boxes.nth(i).get_attribute("value") for i in range(4)]
    for i in range(4):
        boxes.nth(i).check()
    note = page.locator("fieldset#objectives #objectives-error")
    assert note.inner_text() == "Choose at most 3 objectives"  # said before sending
    url = page.url
    page.get_by_role("button", name="Suggest OKRs").click()
    assert page.url == url  # the browser holds the form back

    form = page.locator("form:has(fieldset#objectives)")
    assert _forced(page, form, page.get_by_role("button", name="Suggest OKRs"), "/suggest") == 422
    assert note.inner_text() == "Choose at most 3 objectives"
    assert page.locator("fieldset#objectives").get_attribute("aria-invalid") == "true"
    checked = page.locator("fieldset#objectives input[name=objective]:checked")
    assert checked.evaluate_all("n => n.map(x => x.value)") == ticked
    assert "validation error" not in page.inner_text("body")
    with Session(engine) as s:  # nothing was queued
        assert s.scalars(select(Job.id).where(Job.org_id == scored_sample)).all() == jobs_before
    shot(page, "team-page-too-many-objectives")
    assert _only_refusals(page) == [] and page.outside_requests == []


def test_a_blank_title_is_refused_beside_it_with_every_edit_kept(
    page, role_keys, scored_sample, engine, restore
) -> None:
    sign_in(page, role_keys["team_lead"])
    draft = _pending_suggestion(page, scored_sample)
    draft_id = draft.get_attribute("data-draft")
    title = draft.locator("input[name=s0_title]")
    description = draft.locator("textarea[name=s0_description]")
    kr = draft.locator("input[name=s0_kr0]")
    title.fill("   ")
    description.fill("Typed by the lead, not the AI.")
    kr.fill("Miles per stop down to 4.1")
    url = page.url
    draft.get_by_role("button", name="Approve (with your edits)").click()
    assert page.url == url  # spaces are no title: the browser holds the form back
    assert title.evaluate("i => i.validity.patternMismatch")

    approve = draft.get_by_role("button", name="Approve (with your edits)")
    assert _forced(page, draft.locator("form").first, approve, "/approve") == 422
    draft = page.locator(f"article.draft[data-draft='{draft_id}']")
    beside = draft.locator("label:has(input[name=s0_title]) + p.field-error")
    assert beside.inner_text() == "A title cannot be empty"
    assert draft.locator("input[name=s0_title]").get_attribute("aria-invalid") == "true"
    assert draft.locator("input[name=s0_title]").input_value() == "   "
    assert draft.locator("textarea[name=s0_description]").input_value() == (
        "Typed by the lead, not the AI."
    )
    assert draft.locator("input[name=s0_kr0]").input_value() == "Miles per stop down to 4.1"
    assert page.get_by_role("alert").count() == 0  # nothing at the top of the page
    with Session(engine) as s:
        assert s.get(Draft, {"org_id": scored_sample, "id": draft_id}).status == "pending"
    shot(page, "team-page-blank-title")
    assert _only_refusals(page) == [] and page.outside_requests == []


def test_approving_again_from_a_page_left_open_says_it_was_already_approved(
    page, role_keys, scored_sample, engine, restore
) -> None:
    sign_in(page, role_keys["team_lead"])
    draft = _pending_suggestion(page, scored_sample)
    draft_id = draft.get_attribute("data-draft")
    # The page as it was, the draft still shown as pending, in another tab (Back would load it
    # afresh: pages are kept in no cache).
    left_open = page.context.new_page()
    left_open.goto(f"/orgs/{scored_sample}/team/{TEAM}")
    draft.get_by_role("button", name="Approve (with your edits)").click()
    page.wait_for_url("**decided=*")
    recorded = page.get_by_role("status").first.inner_text()
    assert _recorded(recorded, f"draft {draft_id} approved", f"{draft_id}-O1")
    left_open.locator(f"article.draft[data-draft='{draft_id}']").get_by_role(
        "button", name="Approve (with your edits)"
    ).click()
    left_open.wait_for_url("**decided=*")
    said = left_open.get_by_role("status").first.inner_text()
    assert said.startswith(f"Draft {draft_id} already approved (by you at ")
    assert said.endswith("UTC); nothing new was created.")
    with Session(engine) as s:
        created = s.scalars(
            select(Okr.id).where(Okr.org_id == scored_sample, Okr.id.like(f"{draft_id}-O%"))
        ).all()
    assert created == [f"{draft_id}-O1"]
    # What the page says comes from the stored decision, never from the link's own words.
    base = f"/orgs/{scored_sample}/team/{TEAM}"
    page.goto(f"{base}?decided={draft_id}")
    said_again = page.get_by_role("status").first.inner_text()
    assert said_again == recorded  # the same words: read from the stored decision each time
    page.goto(f"{base}?notice=Call+555-0100&problem=Key+expired&decided=D-404")
    assert page.get_by_role("status").count() == 0 and page.get_by_role("alert").count() == 0
    assert "555-0100" not in page.content() and "Key expired" not in page.content()
    assert page.console_errors == []


def test_the_review_queue_refuses_a_reject_without_a_reason(
    page, role_keys, scored_sample, engine, restore
) -> None:
    sign_in(page, role_keys["strategy_office"])
    draft_id = _pending_summary(page, scored_sample)
    page.goto(f"/orgs/{scored_sample}/review")
    queued = page.locator(f"article[data-draft='{draft_id}']")
    reject = queued.locator("form:has(button.reject)")
    queued.get_by_label("Why").fill("  ")
    assert _forced(page, reject, reject.get_by_role("button", name="Reject"), "/reject") == 422
    # The queue again, the message beside the field, what was typed kept, the field focused.
    queued = page.locator(f"article[data-draft='{draft_id}']")
    reason = queued.get_by_label("Why")
    assert reason.input_value() == "  " and reason.get_attribute("aria-invalid") == "true"
    beside = queued.locator(f"#{reason.get_attribute('aria-describedby')}")
    assert beside.inner_text() == "Say why you reject the draft"
    assert page.evaluate("document.activeElement.name") == "reason"
    assert page.get_by_role("alert").count() == 0
    shot(page, "review-queue-blank-reason")
    with Session(engine) as s:
        assert s.get(Draft, {"org_id": scored_sample, "id": draft_id}).status == "pending"
    # The team page refuses it with the same words, beside its field.
    page.goto(f"/orgs/{scored_sample}/team/{TEAM}")
    mine = page.locator(f"article.draft[data-draft='{draft_id}']")
    form = mine.locator("form:has(button.reject)")
    mine.get_by_label("Reason for rejecting").fill("  ")
    _without_browser_checks(form)
    form.get_by_role("button", name="Reject").click()
    page.wait_for_load_state()
    beside = page.locator(f"article.draft[data-draft='{draft_id}'] label + p.field-error")
    assert beside.inner_text() == "Say why you reject the draft"
    assert _only_refusals(page) == [] and page.outside_requests == []
