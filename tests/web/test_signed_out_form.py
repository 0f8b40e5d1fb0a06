"""A review queue form sent after signing out in another tab, in Chromium: the sign-in page says
the form was not saved, and signing in goes back to the queue, where nothing was decided."""

from __future__ import annotations

from tests.web.conftest import shot
from tests.web.test_pages import sign_in


def test_a_form_sent_after_signing_out_elsewhere_says_so_and_comes_back(
    page, role_keys, scored_sample
) -> None:
    sign_in(page, role_keys["strategy_office"])
    queue = f"/orgs/{scored_sample}/review"
    left_open = page.context.new_page()
    left_open.goto(queue)
    item = left_open.locator("article[data-okr]").first
    okr = item.get_attribute("data-okr")

    page.goto("/")
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url("**/sign-in")

    item.get_by_role("button", name="Serves none: orphan").click()
    left_open.wait_for_url("**/sign-in?*unsaved=1*")
    said = left_open.get_by_role("status").inner_text()
    assert "the form you sent was not saved" in said, said
    shot(left_open, "sign-in-after-signed-out-form")
    left_open.get_by_label("API key").fill(role_keys["strategy_office"])
    left_open.get_by_role("button", name="Sign in").click()
    left_open.wait_for_url(f"**{queue}")
    assert left_open.locator(f"article[data-okr='{okr}']").count() == 1  # nothing was decided


def test_what_was_typed_into_a_form_sent_signed_out_is_back_after_signing_in(
    page, role_keys, scored_sample
) -> None:
    """Its sign-in ended meanwhile: the person signs in again and finds the form as they had
    filled it, told it was not saved, with nothing decided."""
    sign_in(page, role_keys["strategy_office"])
    queue = f"/orgs/{scored_sample}/review"
    page.goto(queue)
    item = page.locator("article[data-okr]").first
    okr = item.get_attribute("data-okr")
    typed = "Pilot work, no objective yet — ask Dana"
    item.get_by_label("Why").fill(typed)
    page.context.clear_cookies()  # signed out in another tab

    item.get_by_role("button", name="Serves none: orphan").click()
    page.wait_for_url("**/sign-in?*unsaved=1*")
    page.get_by_label("API key").fill(role_keys["strategy_office"])
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"**{queue}")
    again = page.locator(f"article[data-okr='{okr}']")
    assert again.count() == 1  # nothing was decided
    assert again.get_by_label("Why").input_value() == typed
    said = page.locator("#unsent-restored").inner_text()
    assert "was not saved" in said, said
    shot(page, "review-form-restored-after-sign-in")

    # Restored once: opening the page again shows it as the server has it.
    page.goto(queue)
    assert page.locator(f"article[data-okr='{okr}']").get_by_label("Why").input_value() == ""
    assert page.locator("#unsent-restored").count() == 0
    assert page.console_errors == [] and page.outside_requests == []


def test_another_person_signing_in_on_that_tab_gets_nothing_of_it(
    page, role_keys, scored_sample
) -> None:
    """A shared computer: the first person's unsaved form stays theirs."""
    sign_in(page, role_keys["strategy_office"])
    queue = f"/orgs/{scored_sample}/review"
    page.goto(queue)
    item = page.locator("article[data-okr]").first
    okr = item.get_attribute("data-okr")
    item.get_by_label("Why").fill("Only mine to see")
    page.context.clear_cookies()
    item.get_by_role("button", name="Serves none: orphan").click()
    page.wait_for_url("**/sign-in?*unsaved=1*")
    page.get_by_label("API key").fill(role_keys["admin"])  # someone else signs in
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"**{queue}")
    assert page.locator(f"article[data-okr='{okr}']").get_by_label("Why").input_value() == ""
    assert page.locator("#unsent-restored").count() == 0
    assert page.evaluate("sessionStorage.getItem('goldenthread.unsent')") is None


def test_typing_for_an_item_decided_meanwhile_is_shown_to_copy(
    page, role_keys, scored_sample
) -> None:
    """The unsaved form's item left the queue while the person signed in again (someone else
    decided it): nothing to put the text back into, so the page shows it to copy."""
    sign_in(page, role_keys["strategy_office"])
    queue = f"/orgs/{scored_sample}/review"
    page.goto(queue)
    kept = {
        "page": page.evaluate("document.querySelector('main').dataset.page"),
        "who": page.evaluate("document.querySelector('main').dataset.signedIn"),
        "action": f"{queue}/O-decided-meanwhile/reject",
        "fields": {"note": ["Pilot work, ask Dana"]},
        "at": page.evaluate("Date.now()"),
    }
    page.evaluate("k => sessionStorage.setItem('goldenthread.unsent', JSON.stringify(k))", kept)
    page.reload()
    shown = page.locator("#unsent-orphaned")
    assert "decided since" in shown.inner_text()
    assert shown.locator("textarea").input_value() == "Pilot work, ask Dana"
    assert page.evaluate("sessionStorage.getItem('goldenthread.unsent')") is None
    assert page.console_errors == [] and page.outside_requests == []
