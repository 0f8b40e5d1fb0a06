"""Errors a browser meets on a page are pages (same status, the message, ways back); API
clients asking the same URLs keep the JSON error body."""

from __future__ import annotations

from urllib.parse import quote

from starlette.requests import Request

from service.errors import _same_origin_referer
from tests.web.conftest import shot
from tests.web.test_pages import sign_in

JSON = {"Accept": "application/json"}


def no_errors_but_the_status(page, status: int) -> None:
    """Chromium logs the page's own error status as a console error; nothing else may fail."""
    assert all(f"status of {status}" in e for e in page.console_errors), page.console_errors
    assert page.outside_requests == []


def _json_error(page, url: str, headers: dict[str, str] | None = None) -> tuple[int, dict]:
    """The same URL as an API client asks it (the context's cookie signs it in)."""
    answer = page.request.get(url, headers=headers or {})
    assert answer.headers["content-type"].startswith("application/json")
    return answer.status, answer.json()["error"]


def test_an_unknown_okr_is_a_404_page_with_ways_back(page, role_keys, scored_sample) -> None:
    sign_in(page, role_keys["strategy_office"])
    url = f"/orgs/{scored_sample}/okr/NOPE"
    answer = page.goto(url)
    assert answer.status == 404
    assert answer.headers["content-type"].startswith("text/html")
    assert (
        answer.headers["x-request-id"]
        and "script-src" not in answer.headers["content-security-policy"]
    )  # the pages' own policy, and the middleware's headers kept
    assert page.get_by_role("heading", level=1).inner_text() == "Not found"
    assert "NOPE" in page.get_by_role("alert").inner_text()
    ways = page.get_by_role("navigation", name="Ways back")
    hrefs = ways.get_by_role("link").evaluate_all("n => n.map(a => a.getAttribute('href'))")
    assert f"/orgs/{scored_sample}/review" in hrefs
    assert f"/orgs/{scored_sample}/strategy-map" in hrefs
    shot(page, "error-404")
    with page.expect_navigation():
        ways.get_by_role("link", name="Home: your organizations").click()
    assert page.url.endswith("/") and scored_sample in page.content()
    no_errors_but_the_status(page, 404)
    # An API client asking the same URL gets the JSON error, with or without an Accept.
    for headers in (JSON, None):
        status, error = _json_error(page, url, headers)
        assert status == 404 and error["code"] == "not_found" and "NOPE" in error["message"]


def test_an_error_page_in_the_persons_organization_has_its_nav(
    page, role_keys, scored_sample
) -> None:
    """The same nav as the organization's other pages; none for an organization the person
    may not see, which reads as one that does not exist."""
    sign_in(page, role_keys["team_lead"])
    assert page.goto(f"/orgs/{scored_sample}/review").status == 403  # not a team lead's page
    nav = page.get_by_role("navigation", name="Golden Thread")
    assert nav.count() == 1 and "signed in as" in nav.inner_text()
    hrefs = nav.get_by_role("link").evaluate_all("n => n.map(a => a.getAttribute('href'))")
    base = f"/orgs/{scored_sample}"
    assert hrefs == ["/", f"{base}/strategy-map", f"{base}/team/T-9"]
    shot(page, "error-403-nav")
    with page.expect_navigation():
        nav.get_by_role("link", name="team page: ", exact=False).click()
    assert page.url.endswith(f"{base}/team/T-9")
    assert page.goto("/orgs/no-such-org/okr/NOPE").status == 404
    assert page.get_by_role("navigation", name="Golden Thread").count() == 0
    assert "/team/" not in page.content() and "signed in as" in page.inner_text("body")
    assert all("status of 40" in e for e in page.console_errors), page.console_errors
    assert page.outside_requests == []


def test_a_bad_report_query_is_a_422_page_naming_the_parameter(
    page, role_keys, scored_sample
) -> None:
    sign_in(page, role_keys["strategy_office"])
    url = f"/orgs/{scored_sample}/report.html?page=abc"
    answer = page.goto(url)
    assert answer.status == 422
    assert page.get_by_role("heading", level=1).inner_text() == (
        "Something in the address or form is not valid"
    )
    # In words, not the API's `query.page` (which the JSON below keeps).
    assert (
        "the page number (page): should be a whole number" in page.get_by_role("alert").inner_text()
    )
    shot(page, "error-422")
    bogus = page.goto(f"/orgs/{scored_sample}/report.html?kind=<b>bogus</b>")
    assert bogus.status == 422
    assert "<b>bogus</b>" in page.get_by_role("alert").inner_text()  # shown as text, escaped
    assert page.locator("[role=alert] b").count() == 0
    status, error = _json_error(page, url, JSON)
    assert status == 422 and error["details"][0]["path"] == "query.page"


def test_a_role_that_may_not_open_a_page_gets_a_403_page(page, role_keys, scored_sample) -> None:
    sign_in(page, role_keys["team_lead"])
    assert page.goto(f"/orgs/{scored_sample}/review").status == 403
    assert page.get_by_role("heading", level=1).inner_text() == "Your role may not open this"
    said = page.get_by_role("main").inner_text()
    assert "This page is not open to a team lead key" in said and "GET /orgs" not in said
    hrefs = page.get_by_role("navigation", name="Ways back").get_by_role("link")
    hrefs = hrefs.evaluate_all("n => n.map(a => a.getAttribute('href'))")
    # Only the pages a team lead may open: the map, not the queue it was refused.
    assert f"/orgs/{scored_sample}/strategy-map" in hrefs
    assert f"/orgs/{scored_sample}/review" not in hrefs


def test_a_form_about_a_changed_check_in_is_a_409_page(
    page, role_keys, scored_sample, restore_check_in_verdicts
) -> None:
    sign_in(page, role_keys["strategy_office"])
    page.goto(f"/orgs/{scored_sample}/review")
    item = page.locator("article[data-check-in]").first
    check_in = item.get_attribute("data-check-in")
    # As if the check-in changed after the page was loaded: the form's `seen` is out of date.
    item.locator("input[name=seen]").first.evaluate("n => { n.value = 'stale' }")
    with page.expect_navigation() as sent:
        item.get_by_role("button", name="About its OKR").click()
    assert sent.value.status == 409
    assert page.get_by_role("heading", level=1).inner_text() == "This changed since you opened it"
    alert = page.get_by_role("alert").inner_text()
    assert check_in in alert and "seen: does not match" in alert and "$.seen" not in alert
    shot(page, "error-409")
    assert page.locator("article[data-check-in]").count() == 0  # not the queue: the error
    no_errors_but_the_status(page, 409)


def test_a_form_sent_without_a_session_goes_to_sign_in(page, scored_sample) -> None:
    """No sign-in cookie at all (it expired, or was signed out in another tab): the browser is
    sent to sign in, told the form was not saved, and then back to the form's page."""
    answer = page.request.post(
        f"/orgs/{scored_sample}/review/check-ins/X/on_topic",
        form={"seen": "x"},
        max_redirects=0,
    )
    queue = quote(f"/orgs/{scored_sample}/review", safe="")
    assert answer.status == 303
    assert answer.headers["location"] == f"/sign-in?next={queue}&unsaved=1"
    # The same write as an API client (JSON): the JSON 401.
    api = page.request.post(f"/orgs/{scored_sample}/review-queue/check-ins/X", data={})
    assert api.status == 401 and api.json()["error"]["code"] == "unauthorized"


def test_a_form_without_the_pages_token_is_refused_on_a_page(
    page, role_keys, scored_sample
) -> None:
    """Signed in, but the form lacks the page's token (as another site's would): refused with
    a page saying so, not sent to sign in again (the sign-in is fine)."""
    sign_in(page, role_keys["strategy_office"])
    answer = page.request.post(
        f"/orgs/{scored_sample}/review/check-ins/X/on_topic", form={"seen": "x"}, max_redirects=0
    )
    assert answer.status == 401 and answer.headers["content-type"].startswith("text/html")
    assert "This form was not accepted" in answer.text() and "open the page again" in answer.text()


def _request(referer: str) -> Request:
    headers = [(b"host", b"gt.example"), (b"referer", referer.encode())]
    scope = {"type": "http", "scheme": "https", "path": "/orgs/a/okr/NOPE", "query_string": b""}
    return Request({**scope, "headers": headers, "method": "GET"})


def test_the_way_back_is_the_referer_only_on_this_site() -> None:
    assert _same_origin_referer(_request("https://gt.example/orgs/a/review?x=1")) == (
        "/orgs/a/review?x=1"
    )
    assert _same_origin_referer(_request("https://elsewhere.example/orgs/a/review")) is None
    assert _same_origin_referer(_request("http://gt.example/")) is None  # another scheme
    assert _same_origin_referer(_request("https://gt.example//evil.example/x")) == (
        "/evil.example/x"
    )  # never a protocol-relative link
    assert _same_origin_referer(_request("https://gt.example/orgs/a/okr/NOPE")) is None
