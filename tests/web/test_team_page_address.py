"""A refused form on the team page leaves the page's own address in the address bar, not the
form's POST address: reloading shows the page instead of sending the form again."""

from __future__ import annotations

from tests.web.test_pages import sign_in
from tests.web.test_team_page import TEAM, _forced, _only_refusals


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
