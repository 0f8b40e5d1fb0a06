""" "Writing a new OKR?" lists objectives in the scoring API's rank order, which weighs the words
a title shares with each objective too: the page says so, so a lower score listed above a
higher one does not read as a mistake."""

from __future__ import annotations

from tests.web.test_pages import sign_in


def test_the_suggested_parents_say_why_they_are_in_this_order(
    page, role_keys, scored_sample
) -> None:
    sign_in(page, role_keys["team_lead"])
    page.goto(f"/orgs/{scored_sample}/team/T-9")
    note = page.locator("#parent-order")
    assert not note.is_visible()  # nothing listed, nothing to explain
    page.locator("#parent-title").fill("Cut linen waste in the laundries")
    page.wait_for_selector("#parent-suggestions li")
    assert note.is_visible()
    assert "rank order" in note.inner_text() and "words the title shares" in note.inner_text()
    assert page.console_errors == [] and page.outside_requests == []
