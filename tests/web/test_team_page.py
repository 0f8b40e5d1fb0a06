"""The team page in Chromium: a team lead requests suggestions, edits one inline, approves it
and sees the new OKR; rejects a summary with a reason; gets objectives live while typing a
title; cannot open another team's page."""

from __future__ import annotations

import pytest
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from alignment.drafting.store import Draft
from alignment.models import Job, Okr
from tests.web.conftest import shot
from tests.web.test_pages import sign_in

TEAM = "T-9"


@pytest.fixture
def restore(engine, embedder, scored_sample):
    """What the test adds (drafts, the approved OKR, jobs) is removed and the sample re-scored,
    after the jobs it queued have finished."""
    with Session(engine) as s:
        okrs_before = set(s.scalars(select(Okr.id).where(Okr.org_id == scored_sample)))
    yield
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
        score_organization(s, scored_sample, embedder=embedder)


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
    page.wait_for_url("**notice=*")
    status = page.get_by_role("status").first.inner_text()
    assert status == f"{draft_id} edited_and_approved: created {draft_id}-O1"
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
    page.wait_for_url("**notice=*")
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
    forged = page.request.post(f"/orgs/{scored_sample}/team/{TEAM}/suggest", form={})
    assert forged.status == 401  # a cookie write without the page's token
