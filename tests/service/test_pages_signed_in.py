"""Pages for a signed-in person over HTTP: kept in no cache, signing in goes on to the page
asked for (only on this site), the report links only the pages its reader may open, and the
pages of a new organization say what a person can do."""

from __future__ import annotations

import html
import re
from urllib.parse import quote

import pytest
from sqlalchemy.orm import Session

from alignment.access import keys
from alignment.access.principal import Role
from alignment.imports import import_document
from alignment.report import build_report
from tests.conftest import make_client
from tests.factories import small_bundle
from tests.service.test_web_session import PAGE, csrf_of

ORG = "acme-pages"
NAME = "Acme Health & Care"


@pytest.fixture
def office(session: Session, embedder):
    """A new organization (imported, never scored) and a strategy office key for it."""
    import_document(session, small_bundle(ORG, name=NAME))
    raw = keys.create_key(session, org_id=ORG, role=Role.strategy_office, name="Omar")[1]
    session.commit()
    return make_client(session, embedder, real_auth=True), raw


def _sign_in(client, raw: str, next_page: str | None = None):
    form = client.get("/sign-in", params={"next": next_page} if next_page else None)
    data = {"key": raw, "csrf": csrf_of(form.text)}
    if next_page is not None:
        data["next"] = next_page
    return client.post("/sign-in", data=data, follow_redirects=False)


def test_every_page_for_a_signed_in_person_is_kept_in_no_cache(
    client, scored_sample, session, embedder
) -> None:
    org = scored_sample
    build_report(session, org, embedder=embedder)
    for path in (
        "/",
        f"/orgs/{org}/strategy-map",
        f"/orgs/{org}/review",
        f"/orgs/{org}/team/T-9",
        f"/orgs/{org}/okr/O-30",
        f"/orgs/{org}/objective/SO-9",
        f"/orgs/{org}/report.html",
        f"/orgs/{org}/okr/NOPE",  # an error page names what was asked for
        "/sign-in",
    ):
        answer = client.get(path, headers=PAGE)
        assert answer.headers["content-type"].startswith("text/html"), path
        assert answer.headers.get("cache-control") == "no-store", path


def test_a_new_organization_says_what_starts_scoring_and_whose_report_is_built(
    office,
) -> None:
    client, raw = office
    _sign_in(client, raw)
    assert client.get("/", headers=PAGE).status_code == 200
    strategy = client.get(f"/orgs/{ORG}/strategy-map", headers=PAGE).text
    status = re.search(r'<p role="status">(.*?)</p>', strategy).group(1)
    assert "POST " not in status and "/score" not in status
    assert "Scoring runs by itself after an import" in status
    assert f'<a href="/orgs/{ORG}/report.html">full report</a>' in status
    building = client.get(f"/orgs/{ORG}/report.html", headers=PAGE)
    assert building.status_code == 202
    assert building.headers["cache-control"] == "no-store"
    assert "<title>Building the report · Acme Health &amp; Care</title>" in building.text
    assert "<h1>Report for Acme Health &amp; Care</h1>" in building.text
    assert ORG not in building.text.split("<body>", 1)[1].replace(f"/orgs/{ORG}", "")


def test_signing_in_goes_on_to_the_page_asked_for(office) -> None:
    client, raw = office
    asked = f"/orgs/{ORG}/review?decided=okr&id=O-1"
    sent = client.get(asked, headers=PAGE, follow_redirects=False)
    assert sent.status_code == 303
    assert sent.headers["location"] == f"/sign-in?next={quote(asked, safe='')}"
    form = client.get(sent.headers["location"])
    assert f'<input type="hidden" name="next" value="{asked.replace("&", "&amp;")}">' in form.text
    # A wrong key first: the form keeps where to go.
    token = csrf_of(form.text)
    wrong = client.post("/sign-in", data={"key": "gt_nope", "csrf": token, "next": asked})
    assert wrong.status_code == 401 and 'name="next"' in wrong.text
    signed_in = _sign_in(client, raw, asked)
    assert signed_in.status_code == 303 and signed_in.headers["location"] == asked
    assert client.get(asked, headers=PAGE).status_code == 200
    # The home page needs no `next`; a form's POST address is no page to go back to, the page
    # the form is on is (and the sign-in page says the form was not saved).
    client.cookies.clear()
    assert client.get("/", headers=PAGE, follow_redirects=False).headers["location"] == "/sign-in"
    posted = client.post(
        f"/orgs/{ORG}/review/O-1/reject", data={"note": "x"}, follow_redirects=False
    )
    queue = quote(f"/orgs/{ORG}/review", safe="")
    assert posted.status_code == 303
    assert posted.headers["location"] == f"/sign-in?next={queue}&unsaved=1"


def test_a_platform_admin_is_told_what_its_role_is_for_not_that_pages_do_not_exist(
    session: Session, embedder
) -> None:
    import_document(session, small_bundle(ORG, name=NAME))
    raw = keys.create_key(session, org_id=None, role=Role.platform_admin, name="Pat")[1]
    session.commit()
    client = make_client(session, embedder, real_auth=True)
    assert _sign_in(client, raw).status_code == 303
    index = client.get("/", headers=PAGE).text
    row = index.split(f"<code>{ORG}</code>", 1)[1].split("</tr>", 1)[0]
    assert "strategy-map" not in row and "none for a platform admin" in row
    page = client.get(f"/orgs/{ORG}/strategy-map", headers=PAGE)
    assert page.status_code == 403 and "not open to a platform admin key" in page.text
    assert "creates organizations and their first admin key" in html.unescape(page.text)
    assert "Ask your organization" not in html.unescape(page.text)
    api = client.get(f"/orgs/{ORG}/okrs", headers={"Authorization": f"Bearer {raw}"})
    assert api.status_code == 403
    assert api.json()["error"]["message"].startswith("a platform admin creates organizations")


def test_the_cookie_keeps_a_session_ticket_not_the_key_as_the_form_says(office) -> None:
    client, raw = office
    form = client.get("/sign-in").text
    help_text = re.search(r'<p id="key-help"[^>]*>(.*?)</p>', form, re.S).group(1)
    assert "a 12-hour session ticket, not the key" in " ".join(help_text.split())
    assert _sign_in(client, raw).status_code == 303
    ticket = client.cookies.get("gt_session")
    assert ticket and raw not in ticket and raw.split("_")[-1] not in ticket


@pytest.mark.parametrize(
    "elsewhere",
    [
        "//evil.example/orgs",
        "https://evil.example/",
        "/\\evil.example",
        "/\t/evil.example",
        "\\\\evil.example",
        "javascript:alert(1)",
        "evil.example",
        "/orgs/a\\..\\..\\evil",
        "/ /evil.example",
    ],
)
def test_sign_in_goes_nowhere_but_this_site(office, elsewhere: str) -> None:
    client, raw = office
    form = client.get("/sign-in", params={"next": elsewhere})
    assert 'name="next"' not in form.text
    signed_in = _sign_in(client, raw, elsewhere)
    assert signed_in.status_code == 303 and signed_in.headers["location"] == "/"


@pytest.fixture
def reported(session: Session, scored_sample: str, embedder):
    build_report(session, scored_sample, embedder=embedder)
    made = {
        role: keys.create_key(session, org_id=scored_sample, role=role)[1]
        for role in (Role.integration, Role.strategy_office)
    }
    session.commit()
    return make_client(session, embedder, real_auth=True), made


def _page_links(text: str) -> set[str]:
    return set(re.findall(r'href="(/orgs/[^"#?]+)', text))


def test_the_report_links_only_pages_its_reader_may_open(reported, scored_sample) -> None:
    client, made = reported
    url = f"/orgs/{scored_sample}/report.html"
    seen = {}
    for role, raw in made.items():
        answer = client.get(url, headers={"Authorization": f"Bearer {raw}", **PAGE})
        assert answer.status_code == 200
        seen[role] = answer.text
        for link in _page_links(answer.text):
            opened = client.get(link, headers={"Authorization": f"Bearer {raw}", **PAGE})
            assert opened.status_code == 200, (role, link, opened.status_code)
    office = _page_links(seen[Role.strategy_office])
    for kind in ("/okr/", "/objective/", "/team/", "/review", "/strategy-map"):
        assert any(kind in link for link in office), kind
    # The integration role reads the report and the map; the records are named as text.
    integration = seen[Role.integration]
    assert _page_links(integration) == {f"/orgs/{scored_sample}/strategy-map"}
    assert "<b>O-" in integration and "<b>SO-" in integration
