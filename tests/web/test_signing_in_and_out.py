"""Signing in and out in Chromium: Back after signing out shows nothing of the session (pages
are kept in no cache), and signing in from a shared link goes on to the page it names, only
ever on this site."""

from __future__ import annotations

from tests.web.test_pages import sign_in


def test_back_after_signing_out_shows_no_signed_in_page(page, role_keys, scored_sample) -> None:
    page.unroute("**/*")  # routing turns the browser's cache off: this is about the cache
    sign_in(page, role_keys["strategy_office"])
    okr_page = f"/orgs/{scored_sample}/okr/O-30"
    page.goto(okr_page)
    title = page.get_by_role("heading", level=1).inner_text()
    assert title.startswith("O-30 · ")
    page.goto("/")
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url("**/sign-in")
    page.go_back()  # the home page, as it was signed in
    page.wait_for_load_state()
    assert "/sign-in" in page.url
    assert "Signed in as" not in page.inner_text("body")
    page.go_back()  # the OKR's page
    page.wait_for_load_state()
    assert "/sign-in" in page.url
    assert title not in page.inner_text("body")
    assert page.get_by_label("API key").count() == 1


def test_signing_in_from_a_shared_link_goes_on_to_its_page(page, role_keys, scored_sample) -> None:
    shared = f"/orgs/{scored_sample}/review"
    page.goto(shared)
    assert "/sign-in?next=" in page.url  # signed out: sent to sign in, the page remembered
    page.get_by_label("API key").fill("gt_00000000_" + "x" * 43)
    page.get_by_role("button", name="Sign in").click()
    assert page.get_by_role("alert").inner_text().startswith("That key is not valid")
    page.get_by_label("API key").fill(role_keys["strategy_office"])  # a second try goes on too
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"**{shared}")
    assert page.get_by_role("heading", level=1).inner_text().startswith("Review queue")
    assert page.console_errors == [] or all("status of 401" in e for e in page.console_errors)
    assert page.outside_requests == []


def test_signing_in_never_goes_to_another_site(page, role_keys, live_url) -> None:
    for elsewhere in ("//example.com/", "https://example.com/", "/\\example.com"):
        page.context.clear_cookies()
        page.goto(f"/sign-in?next={elsewhere}")
        page.get_by_label("API key").fill(role_keys["strategy_office"])
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_load_state()
        assert page.url == f"{live_url}/", elsewhere
    assert page.outside_requests == []
