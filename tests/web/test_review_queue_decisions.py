"""The review queue in Chromium: what it says after a decision comes from the stored decision
(never from its link), a form from a page left open changes nothing and says what stands, and
each OKR opens its page."""

from __future__ import annotations

import re

from sqlalchemy import select
from sqlalchemy.orm import Session

from alignment.drafting.store import Draft, DraftDecision
from alignment.models import CheckInFeedback
from tests.web.conftest import shot
from tests.web.test_pages import sign_in
from tests.web.test_team_page import (  # noqa: F401 (restore: a fixture, used by name)
    _forced,
    _only_refusals,
    _pending_summary,
    restore,
)

WHEN = r"\d{4}-\d\d-\d\d \d\d:\d\d UTC"


def _queue(page, org_id: str):
    page.goto(f"/orgs/{org_id}/review")
    return page


def test_a_link_cannot_make_the_queue_say_anything(page, role_keys, scored_sample) -> None:
    sign_in(page, role_keys["strategy_office"])
    for query in (
        "done=O-12.%20Your%20session%20expired:%20re-enter%20your%20key",
        "decided=okr&id=Your%20session%20expired:%20re-enter%20your%20key",
    ):
        page.goto(f"/orgs/{scored_sample}/review?{query}")
        assert page.get_by_role("status").count() == 0, query
        assert "session expired" not in page.inner_text("body")
    assert page.console_errors == [] and page.outside_requests == []


def test_a_draft_rejected_in_another_tab_keeps_its_first_reason(
    page,
    role_keys,
    scored_sample,
    engine,
    restore,  # noqa: F811
) -> None:
    sign_in(page, role_keys["strategy_office"])
    draft_id = _pending_summary(page, scored_sample)
    _queue(page, scored_sample)
    left_open = _queue(page.context.new_page(), scored_sample)
    item = page.locator(f"article[data-draft='{draft_id}']")
    item.get_by_label("Why").fill("Too vague for the board.")
    item.get_by_role("button", name="Reject").click()
    page.wait_for_url("**/review?decided=draft*")
    said = page.get_by_role("status").inner_text()
    assert re.fullmatch(f"Recorded: draft {draft_id} rejected \\(by you at {WHEN}\\)\\.", said)
    assert page.locator(f"article[data-draft='{draft_id}']").count() == 0

    stale = left_open.locator(f"article[data-draft='{draft_id}']")
    stale.get_by_label("Why").fill("Another reason, from the tab left open")
    stale.get_by_role("button", name="Reject").click()
    # Another reason would be dropped unseen: the queue says which stands, and keeps the typed one.
    said = left_open.locator("[data-stale-draft]")
    said.wait_for()
    assert re.fullmatch(
        f"Draft {draft_id} already rejected \\(by you at {WHEN}\\); nothing changed: the first "
        'reason stands \\("Too vague for the board\\."\\)\\.',
        said.locator("p").first.inner_text(),
    ), said.inner_text()
    assert "Another reason, from the tab left open" in said.inner_text()
    shot(left_open, "review-queue-already-rejected")
    with Session(engine) as s:
        assert s.get(Draft, {"org_id": scored_sample, "id": draft_id}).status == "rejected"
        reasons = s.scalars(
            select(DraftDecision.reason).where(
                DraftDecision.org_id == scored_sample, DraftDecision.draft_id == draft_id
            )
        ).all()
    assert reasons == ["Too vague for the board."]
    assert page.outside_requests == []
    assert all("status of 409" in e for e in page.console_errors)


def test_a_check_in_verdict_is_not_flipped_by_a_page_left_open(
    page, role_keys, scored_sample, engine, restore_check_in_verdicts
) -> None:
    sign_in(page, role_keys["strategy_office"])
    _queue(page, scored_sample)
    left_open = _queue(page.context.new_page(), scored_sample)
    item = page.locator("article[data-check-in]").first
    check_in = item.get_attribute("data-check-in")
    item.get_by_role("button", name="About other work").click()
    page.wait_for_url("**/review?decided=check-in*")
    said = page.get_by_role("status").inner_text()
    assert re.fullmatch(
        f"Recorded: check-in {check_in} called about other work, not its OKR \\S+ "
        f"\\(by you at {WHEN}\\)\\.",
        said,
    ), said
    stale = left_open.locator(f"article[data-check-in='{check_in}']")
    stale.get_by_role("button", name="About its OKR").click()
    left_open.wait_for_url("**again=1*")
    said = left_open.get_by_role("status").inner_text()
    assert said.startswith(f"Check-in {check_in} already called about other work, not its OKR ")
    assert said.endswith("; nothing changed.")
    with Session(engine) as s:
        kept = s.get(CheckInFeedback, {"org_id": scored_sample, "check_in_id": check_in})
        assert kept.verdict == "drifting"
    assert page.console_errors == [] and page.outside_requests == []


def test_each_okr_in_the_queue_opens_its_page(page, role_keys, scored_sample) -> None:
    sign_in(page, role_keys["strategy_office"])
    _queue(page, scored_sample)
    item = page.locator("article[data-okr]").first
    okr = item.get_attribute("data-okr")
    with page.expect_navigation() as opened:
        item.get_by_role("heading").get_by_role("link", name=okr, exact=True).click()
    assert opened.value.status == 200
    assert page.url.endswith(f"/orgs/{scored_sample}/okr/{okr}")
    assert okr in page.get_by_role("heading", level=1).inner_text()
    assert page.console_errors == [] and page.outside_requests == []


def _in_view(page, selector: str) -> bool:
    return page.evaluate(
        "s => { const r = document.querySelector(s).getBoundingClientRect();"
        " return r.top >= 0 && r.bottom <= window.innerHeight; }",
        selector,
    )


def test_a_refused_reason_shows_the_queues_own_address_with_the_field_in_view(
    page,
    role_keys,
    scored_sample,
    restore,  # noqa: F811
) -> None:
    """As on the team page (one shared script): the refused form comes back at the form's POST
    address, which the page replaces with its own, so reloading shows the queue instead of
    sending the form again; the refused field has the focus, in view with its message."""
    sign_in(page, role_keys["strategy_office"])
    draft_id = _pending_summary(page, scored_sample)
    queue = f"/orgs/{scored_sample}/review"
    page.goto(queue)
    item = page.locator(f"article[data-draft='{draft_id}']")
    reject = item.locator("form:has(button.reject)")
    item.get_by_label("Why").fill("   ")
    assert _forced(page, reject, reject.get_by_role("button", name="Reject"), "/reject") == 422
    assert page.evaluate("location.pathname") == queue
    assert page.evaluate("location.search") == ""  # no form token left in the address either
    reason = page.locator(f"article[data-draft='{draft_id}']").get_by_label("Why")
    assert reason.get_attribute("aria-invalid") == "true"
    assert page.evaluate("document.activeElement.id") == reason.get_attribute("id")
    message = f"#{reason.get_attribute('aria-describedby')}"
    assert page.locator(message).inner_text() == "Say why you reject the draft"
    assert _in_view(page, f"#{reason.get_attribute('id')}") and _in_view(page, message)
    shot(page, "review-queue-refused-address")

    sent = []
    page.on("request", lambda r: r.method == "POST" and sent.append(r.url))
    reloaded = page.reload()
    assert reloaded.status == 200 and sent == []  # the queue, not the form sent again
    assert page.locator("[aria-invalid=true]").count() == 0
    assert _only_refusals(page) == [] and page.outside_requests == []
