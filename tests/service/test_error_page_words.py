"""Error pages in a person's words, with a way to sign out or in; and a page's form sent after
signing out (in another tab) says nothing was saved and goes back to its page once signed in."""

from __future__ import annotations

import html
import re
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy.orm import Session

from alignment.access import keys
from alignment.access.principal import Role
from alignment.imports import import_document
from service.auth import form_token
from service.ratelimit import TooManyRequests
from tests.conftest import auth, make_client
from tests.factories import small_bundle
from tests.service.test_web_session import PAGE, csrf_of

ORG = "acme-words"


@pytest.fixture
def org_keys(session: Session, embedder):
    import_document(session, small_bundle(ORG))
    made = {
        role: keys.create_key(
            session, org_id=ORG, role=role, name=role.value,
            team_ids=["T-1"] if role is Role.team_lead else [],
        )[1]
        for role in (Role.integration, Role.admin, Role.strategy_office, Role.team_lead)
    }  # fmt: skip
    session.commit()
    return make_client(session, embedder, real_auth=True), made


def _signed_in(client, raw: str, next_page: str | None = None):
    form = client.get("/sign-in")
    data = {"key": raw, "csrf": csrf_of(form.text)} | ({"next": next_page} if next_page else {})
    return client.post("/sign-in", data=data, follow_redirects=False)


def _message(answer) -> str:
    return html.unescape(re.search(r"<p data-message>(.*?)</p>", answer.text, re.S).group(1))


def _details(answer) -> list[str]:
    found = re.search(r"<ul data-details>(.*?)</ul>", answer.text, re.S)
    items = re.findall(r"<li>(.*?)</li>", found.group(1), re.S) if found else []
    return [html.unescape(re.sub(r"<[^>]+>", "", item)) for item in items]


def test_a_role_is_named_with_the_right_article(org_keys) -> None:
    client, made = org_keys
    page = client.get(f"/orgs/{ORG}/review", headers=PAGE | auth(made[Role.integration]))
    assert page.status_code == 403
    assert _message(page).startswith("This page is not open to an integration key.")
    lead = client.get(f"/orgs/{ORG}/review", headers=PAGE | auth(made[Role.team_lead]))
    assert _message(lead).startswith("This page is not open to a team lead key.")


def test_a_403_for_a_signed_in_person_offers_signing_out(org_keys) -> None:
    client, made = org_keys
    _signed_in(client, made[Role.team_lead])
    ticket = client.cookies["gt_session"]
    page = client.get(f"/orgs/{ORG}/review", headers=PAGE)
    assert page.status_code == 403 and "sign in with another key" in _message(page)
    form = re.search(r'<form method="post" action="([^"]+)" data-sign-out>', page.text)
    assert form is not None, page.text
    assert html.unescape(form.group(1)) == f"/sign-out?csrf={form_token(ticket)}"
    assert "Sign out</button>" in page.text
    signed_out = client.post(html.unescape(form.group(1)), follow_redirects=False)
    assert signed_out.status_code == 303 and signed_out.headers["location"] == "/sign-in"
    # The page's token ended the session itself, not only this browser's cookie.
    copied = client.get("/", headers=PAGE | {"Cookie": f"gt_session={ticket}"})
    assert "/sign-in" in str(copied.url)


def test_an_error_page_without_a_sign_in_offers_one(org_keys) -> None:
    client, made = org_keys
    page = client.get(f"/orgs/{ORG}/review", headers=PAGE | auth(made[Role.integration]))
    assert re.search(r'<a href="/sign-in" data-sign-in>Sign in</a>', page.text)
    assert "data-sign-out" not in page.text


def test_a_429_page_shows_no_dollar_path(org_keys, monkeypatch) -> None:
    client, made = org_keys

    def refuse(key: str) -> None:
        raise TooManyRequests("too many requests for this key", retry_after=2)

    monkeypatch.setattr(client.app.state.rate_limiter, "take", refuse)
    page = client.get(f"/orgs/{ORG}/strategy-map", headers=PAGE | auth(made[Role.admin]))
    assert page.status_code == 429
    assert "<code>$</code>" not in page.text and "$:" not in _details(page)[0]
    assert _details(page) == ["slow down"]


def test_a_422_page_names_the_field_in_words(org_keys) -> None:
    client, made = org_keys
    headers = PAGE | auth(made[Role.admin])
    long_search = client.get(f"/orgs/{ORG}/report.html", params={"q": "x" * 201}, headers=headers)
    assert long_search.status_code == 422
    assert _details(long_search) == ["the search (q): at most 200 characters (201 sent)"]
    assert "query.q" not in long_search.text and "String should" not in long_search.text


def test_a_422_page_for_a_form_names_the_step_without_its_notation(client) -> None:
    import_document_via = client.post("/bundles", json=small_bundle(ORG))
    assert import_document_via.status_code == 200
    sent = client.post(f"/orgs/{ORG}/review/links/O-1/SO-1/maybe", data={"x": "1"}, headers=PAGE)
    assert sent.status_code == 422
    assert _details(sent) == ["the decision (decision): should be 'keep' or 'drop'"]
    assert "path.decision" not in sent.text and "Input should" not in sent.text


def _sign_in_target(location: str) -> dict[str, list[str]]:
    split = urlsplit(location)
    assert split.path == "/sign-in", location
    return parse_qs(split.query)


@pytest.mark.parametrize(
    ("form", "page"),
    [
        ("/orgs/{org}/review/O-1/reject", "/orgs/{org}/review"),
        ("/orgs/{org}/review/drafts/D-1/reject", "/orgs/{org}/review"),
        ("/orgs/{org}/team/T-1/drafts/D-1/reject", "/orgs/{org}/team/T-1"),
    ],
)
def test_a_form_sent_signed_out_says_so_and_goes_back_to_its_page(
    org_keys, form: str, page: str
) -> None:
    client, made = org_keys
    _signed_in(client, made[Role.strategy_office])
    token = form_token(client.cookies["gt_session"])
    # Another tab signs out: this browser's cookie is gone.
    client.post(f"/sign-out?csrf={token}")
    assert "gt_session" not in client.cookies
    sent = client.post(
        form.format(org=ORG) + f"?csrf={token}", data={"note": "x"}, follow_redirects=False
    )
    assert sent.status_code == 303
    target = _sign_in_target(sent.headers["location"])
    assert target == {"next": [page.format(org=ORG)], "unsaved": ["1"]}
    sign_in = client.get(sent.headers["location"])
    notice = re.search(r"<p class=\"notice\" role=\"status\" data-unsaved>(.*?)</p>", sign_in.text)
    assert notice is not None, sign_in.text
    assert "the form you sent was not saved" in html.unescape(notice.group(1))
    back = _signed_in(client, made[Role.strategy_office], target["next"][0])
    assert back.status_code == 303 and back.headers["location"] == page.format(org=ORG)


def test_a_page_asked_for_signed_out_still_goes_on_to_it_with_no_notice(org_keys) -> None:
    client, _ = org_keys
    sent = client.get(f"/orgs/{ORG}/review", headers=PAGE, follow_redirects=False)
    assert _sign_in_target(sent.headers["location"]) == {"next": [f"/orgs/{ORG}/review"]}
    assert "data-unsaved" not in client.get(sent.headers["location"]).text
