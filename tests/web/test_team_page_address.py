"""A refused form on the team page leaves the page's own address in the address bar, not the
form's POST address: reloading shows the page instead of sending the form again."""

from __future__ import annotations

import pytest

from tests.web.test_pages import sign_in
from tests.web.test_team_page import (  # noqa: F401  (restore: the fixture, used by name)
    TEAM,
    _forced,
    _only_refusals,
    _pending_suggestion,
    restore,
)


def test_a_refused_form_shows_the_team_pages_address(page, role_keys, scored_sample) -> None:
    sign_in(page, role_keys["team_lead"])
    team_page = f"/orgs/{scored_sample}/team/{TEAM}"
    page.goto(team_page)
    boxes = page.locator("fieldset#objectives input[name=objective]")
    for i in range(4):  # one more than a request may name
        boxes.nth(i).check()
    form = page.locator("form:has(fieldset#objectives)")
    assert _forced(page, form, page.get_by_role("button", name="Suggest OKRs"), "/suggest") == 422
    assert page.locator("fieldset#objectives").get_attribute("aria-invalid") == "true"
    assert page.evaluate("location.pathname") == team_page
    assert page.evaluate("location.search") == ""  # no form token left in the address either
    sent = []
    page.on("request", lambda r: r.method == "POST" and sent.append(r.url))
    reloaded = page.reload()
    assert reloaded.status == 200 and sent == []  # the page, not the form sent again
    assert page.locator("fieldset#objectives").get_attribute("aria-invalid") is None
    assert _only_refusals(page) == [] and page.outside_requests == []


def _stored_twin(engine, org_id: str, draft_id: str) -> str:
    """A second pending draft with the same content, as two drafting jobs of one request running
    at the same moment leave them (asked again later, the pending draft is the answer)."""
    from sqlalchemy import inspect
    from sqlalchemy.orm import Session

    from alignment.drafting import store
    from alignment.drafting.draft import new_draft_id

    with Session(engine) as s, s.begin():
        draft = store.get_draft(s, org_id, draft_id)
        columns = {
            a.key: getattr(draft, a.key)
            for a in inspect(store.Draft).column_attrs
            if a.key not in ("id", "created_at")
        }
        return store.add_draft(s, store.Draft(**columns, id=new_draft_id())).id


@pytest.mark.usefixtures("restore")  # the drafts and the approved OKR go afterwards
def test_a_draft_restating_an_approved_okr_is_refused_in_view(
    page, role_keys, scored_sample, engine
) -> None:
    """Two drafts of one request (two jobs at once): approving the second is refused, and the
    refusal, which names no field, is brought into view with the focus on it."""
    sign_in(page, role_keys["team_lead"])
    first = _pending_suggestion(page, scored_sample).get_attribute("data-draft")
    second = _stored_twin(engine, scored_sample, first)
    page.reload()
    assert first != second
    for draft_id, status in ((first, 303), (second, 409)):
        article = page.locator(f"article.draft[data-draft='{draft_id}']")
        with page.expect_response(lambda r: r.request.method == "POST") as answer:
            article.get_by_role("button", name="Approve (with your edits)").click()
        assert answer.value.status == status
        page.wait_for_load_state()
    alert = page.locator("[data-refused]")
    assert "restates an OKR the team already has" in alert.inner_text()
    assert page.evaluate("document.activeElement.hasAttribute('data-refused')")
    assert alert.is_visible() and page.evaluate(
        "(() => { const r = document.querySelector('[data-refused]').getBoundingClientRect();"
        " return r.top >= 0 && r.bottom <= window.innerHeight; })()"
    )
    assert page.evaluate("location.pathname") == f"/orgs/{scored_sample}/team/{TEAM}"
