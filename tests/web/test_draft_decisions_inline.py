"""Deciding drafts in Chromium when the decision is refused for a reason of its own: the review
queue says why beside the draft (a cycle only an admin may define), as the team page does, not
an error page; the team page edits a key result's baseline and target, refusing one that is no
number beside its field."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from alignment.drafting.store import Draft
from alignment.models import Cycle, KeyResult, Okr
from tests.web.conftest import shot
from tests.web.test_pages import sign_in
from tests.web.test_team_page import (  # noqa: F401 (restore: a fixture, used by name)
    NEXT_CYCLE,
    _pending_suggestion,
    put_back,
    restore,
)

UNDEFINED = (
    "the draft is for cycle '2027-Q1' (2027-01-01 to 2027-03-31), which the organization has "
    "not defined yet; ask an admin to define the cycle first, then approve the draft"
)


@pytest.fixture
def next_cycle_undefined(engine, embedder, scored_sample):
    """The sample as it comes, its next cycle not defined: a suggestion drafted now is for it."""
    with Session(engine) as s:
        assert s.get(Cycle, {"org_id": scored_sample, "id": NEXT_CYCLE["id"]}) is None
        okrs_before = set(s.scalars(select(Okr.id).where(Okr.org_id == scored_sample)))
    yield
    put_back(engine, embedder, scored_sample, okrs_before)


def _unexpected(page, *expected: int) -> list[str]:
    """Console errors other than Chromium's note of the refusal's own status."""
    notes = tuple(f"status of {n}" for n in expected)
    return [e for e in page.console_errors if not any(n in e for n in notes)]


def _sign_out(page) -> None:
    page.goto("/")
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url("**/sign-in")


def test_the_queue_says_beside_the_draft_why_a_cycle_not_defined_stops_the_approval(
    page, role_keys, scored_sample, engine, next_cycle_undefined
) -> None:
    sign_in(page, role_keys["team_lead"])
    # The default cycle, picked by hand: a team lead's form starts on a defined one.
    draft_id = _pending_suggestion(page, scored_sample, cycle="").get_attribute("data-draft")
    with Session(engine) as s:
        assert s.get(Draft, {"org_id": scored_sample, "id": draft_id}).cycle_id == "2027-Q1"
    _sign_out(page)

    sign_in(page, role_keys["strategy_office"])
    queue = f"/orgs/{scored_sample}/review"
    page.goto(queue)
    # Said up front, beside the draft, with no Approve button that could only be refused.
    item = page.locator(f"article[data-draft='{draft_id}']")
    said = item.locator("[data-cycle-undefined]")
    assert said.inner_text() == f"{draft_id} cannot be approved yet: {UNDEFINED}."
    assert item.get_by_role("button", name="Approve").count() == 0
    assert item.get_by_role("button", name="Reject").is_visible()
    shot(page, "review-queue-cycle-not-defined")
    with Session(engine) as s:
        assert s.get(Draft, {"org_id": scored_sample, "id": draft_id}).status == "pending"
        assert s.get(Cycle, {"org_id": scored_sample, "id": "2027-Q1"}) is None
    # The team page says the same words up front, beside the draft, and offers no approval
    # (nor fields to edit for one) that would only be refused.
    page.goto(f"/orgs/{scored_sample}/team/T-9")
    mine = page.locator(f"article.draft[data-draft='{draft_id}']")
    said = mine.locator("[data-cycle-undefined]")
    assert said.inner_text() == f"{draft_id} cannot be approved yet: {UNDEFINED}."
    assert mine.get_by_role("button", name="Approve (with your edits)").count() == 0
    assert mine.locator("input[name=s0_title]").count() == 0
    assert mine.get_by_role("button", name="Reject").is_visible()
    assert _unexpected(page, 409) == [] and page.outside_requests == []


def test_a_team_lead_edits_a_key_results_numbers_and_a_wrong_one_is_refused_beside_it(
    page,
    role_keys,
    scored_sample,
    engine,
    restore,  # noqa: F811
) -> None:
    sign_in(page, role_keys["team_lead"])
    draft = _pending_suggestion(page, scored_sample)
    draft_id = draft.get_attribute("data-draft")
    target = draft.locator("input[name=s0_kr0_target]")
    baseline = draft.locator("input[name=s0_kr0_baseline]")
    with Session(engine) as s:
        ai = s.get(Draft, {"org_id": scored_sample, "id": draft_id}).payload
    kr = ai["suggestions"][0]["key_results"][0]
    assert float(target.input_value()) == kr["target"]  # the AI's numbers, ready to change
    assert draft.get_by_label(f"Target ({kr['unit']})").count() >= 1

    target.fill("about 12")
    baseline.fill("1,5")
    with page.expect_response(lambda r: r.url.split("?")[0].endswith("/approve")) as answer:
        draft.get_by_role("button", name="Approve (with your edits)").click()
    page.wait_for_load_state()
    assert answer.value.status == 422
    draft = page.locator(f"article.draft[data-draft='{draft_id}']")
    beside = draft.locator("label:has(input[name=s0_kr0_target]) + p.field-error")
    assert beside.inner_text() == (
        "The target must be a number: 'about 12' is not a number "
        "(digits 0-9 and '.' for decimals, e.g. 1240.5)"
    )
    beside = draft.locator("label:has(input[name=s0_kr0_baseline]) + p.field-error")
    assert beside.inner_text() == (
        "The baseline must be a number: '1,5' is not a number (use '.' for decimals, e.g. 1.5)"
    )
    target = draft.locator("input[name=s0_kr0_target]")
    assert target.input_value() == "about 12" and target.get_attribute("aria-invalid") == "true"
    assert draft.locator("input[name=s0_kr0_baseline]").input_value() == "1,5"
    shot(page, "team-page-number-refused")
    with Session(engine) as s:
        assert s.get(Draft, {"org_id": scored_sample, "id": draft_id}).status == "pending"

    # Numbers, the baseline left empty (not known yet): approved with them.
    target.fill("12.5")
    draft.locator("input[name=s0_kr0_baseline]").fill("")
    draft.get_by_role("button", name="Approve (with your edits)").click()
    page.wait_for_url("**decided=*")
    assert "approved with edits" in page.get_by_role("status").first.inner_text()
    with Session(engine) as s:
        assert s.get(Draft, {"org_id": scored_sample, "id": draft_id}).status == (
            "edited_and_approved"
        )
        made = s.get(KeyResult, {"org_id": scored_sample, "id": f"{draft_id}-O1-KR1"})
        assert (made.target, made.baseline, made.unit) == (12.5, None, kr["unit"])
    assert _unexpected(page, 422) == [] and page.outside_requests == []
