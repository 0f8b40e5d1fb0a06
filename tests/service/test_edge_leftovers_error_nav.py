"""A URL the edge refuses before any route (a NUL in a query value, middleware.py) still gets a
signed-in person's error page: who is signed in, and their organization's nav, as the error
pages after sign-in show them (test_error_page_nav.py). Anyone else, a forged sign-in
included, gets the page anyone gets, and a forged one spends a failed attempt."""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from alignment.access import keys
from alignment.access.principal import Role
from service.ratelimit import FailedAttempts
from tests.conftest import auth
from tests.jobs_support import committed_org
from tests.service.test_web_session import PAGE, csrf_of

NAV = re.compile(r'<nav class="muted org-nav" aria-label="Golden Thread">(.*?)</nav>', re.S)
NUL_SEARCH = "report.html?q=%00"


@pytest.fixture
def orgs(engine: Engine) -> Iterator[dict[str, str]]:
    """Two committed organizations; an admin of the first."""
    with committed_org(engine, "nul-a") as mine, committed_org(engine, "nul-b") as other:
        with Session(engine) as s, s.begin():
            admin = keys.create_key(s, org_id=mine, role=Role.admin, name="Ada")[1]
        yield {"mine": mine, "other": other, "admin": admin}


def _nav(html: str) -> str | None:
    found = NAV.search(html)
    return found.group(1) if found else None


def _sign_in(client, raw: str) -> None:
    signed = client.post(
        "/sign-in", data={"key": raw, "csrf": csrf_of(client.get("/sign-in").text)}
    )
    assert signed.status_code in (200, 303), signed.text


def _anyones(text: str, org: str) -> str:
    """The page without what differs between any two requests: the request id, the org id."""
    return re.sub(r"request id <code>[^<]*</code>", "", text.replace(org, "ORG"))


def test_a_refused_search_keeps_the_signed_in_persons_nav(app_client, orgs) -> None:
    mine = orgs["mine"]
    _sign_in(app_client, orgs["admin"])
    answer = app_client.get(f"/orgs/{mine}/{NUL_SEARCH}", headers=PAGE)
    assert answer.status_code == 422 and answer.headers["content-type"].startswith("text/html")
    nav = _nav(answer.text)
    assert nav is not None, answer.text
    assert re.findall(r'href="([^"]+)"', nav) == [
        "/",
        f"/orgs/{mine}/report.html",
        f"/orgs/{mine}/strategy-map",
        f"/orgs/{mine}/review",
        f"/orgs/{mine}/team/T-1",
        f"/orgs/{mine}/team/T-2",
    ]
    assert "signed in as Ada" in nav
    assert "U+0000" in answer.text  # the error itself stays
    assert f'href="/orgs/{mine}/review">Review queue of {mine}' in answer.text  # ways back
    # An API key on a page, as the other error pages take it, too.
    app_client.cookies.clear()
    keyed = app_client.get(f"/orgs/{mine}/{NUL_SEARCH}", headers=PAGE | auth(orgs["admin"]))
    assert keyed.status_code == 422 and "signed in as Ada" in (_nav(keyed.text) or "")


def test_another_organization_reads_as_one_that_does_not_exist(app_client, orgs) -> None:
    _sign_in(app_client, orgs["admin"])
    seen = []
    for org in (orgs["other"], f"nul-none-{uuid.uuid4().hex[:8]}"):
        answer = app_client.get(f"/orgs/{org}/{NUL_SEARCH}", headers=PAGE)
        assert answer.status_code == 422 and _nav(answer.text) is None
        assert '<a href="/">Organizations</a> · signed in as Ada' in answer.text
        seen.append(_anyones(answer.text, org))
    assert seen[0] == seen[1]


def test_signed_out_the_page_is_anyones(app_client, orgs) -> None:
    mine, missing = orgs["mine"], f"nul-none-{uuid.uuid4().hex[:8]}"
    seen = []
    for org in (mine, missing):
        answer = app_client.get(f"/orgs/{org}/{NUL_SEARCH}", headers=PAGE)
        assert answer.status_code == 422 and _nav(answer.text) is None
        assert "signed in as" not in answer.text and "data-sign-in" in answer.text
        seen.append(_anyones(answer.text, org))
    assert seen[0] == seen[1]  # nothing says the organization exists
    # A bad key reads as none at all.
    forged = app_client.get(f"/orgs/{mine}/{NUL_SEARCH}", headers=PAGE | auth("gt_nope_nope"))
    assert forged.status_code == 422 and _anyones(forged.text, mine) == seen[0]


def test_a_forged_sign_in_shows_nothing_and_spends_a_failed_attempt(app_client, orgs) -> None:
    mine = orgs["mine"]
    app_client.app.state.failed_attempts = FailedAttempts(per_minute=2, per_address=2)
    ticket = f"{orgs['admin'].split('_')[1]}.{int(time.time() * 1000)}.{'0' * 40}"
    app_client.cookies.set("gt_session", ticket)
    for _ in range(2):
        answer = app_client.get(f"/orgs/{mine}/{NUL_SEARCH}", headers=PAGE)
        assert answer.status_code == 422 and _nav(answer.text) is None
        assert "signed in as" not in answer.text
    # Both were counted: the next lookup with that cookie is refused before it is made.
    page = app_client.get(f"/orgs/{mine}/strategy-map", headers=PAGE, follow_redirects=False)
    assert page.status_code == 429, page.text
    # And the refused URL still answers as for anyone, without a lookup.
    answer = app_client.get(f"/orgs/{mine}/{NUL_SEARCH}", headers=PAGE)
    assert answer.status_code == 422 and "signed in as" not in answer.text


def test_an_api_client_gets_json_and_no_sign_in_is_read(app_client, orgs, monkeypatch) -> None:
    from service import error_nav

    def unread(*_args):
        raise AssertionError("an API error checked the sign-in")

    monkeypatch.setattr(error_nav, "authenticate_limited", unread, raising=False)
    answer = app_client.get(f"/orgs/{orgs['mine']}/{NUL_SEARCH}", headers=auth(orgs["admin"]))
    assert answer.status_code == 422 and answer.json()["error"]["details"][0]["path"] == "query.q"


class _CountingPermits:
    """The app's database gate, counting the permits held, as `anyio.Semaphore` is entered."""

    def __init__(self) -> None:
        self.held = 0

    async def __aenter__(self) -> None:
        self.held += 1

    async def __aexit__(self, *exc: object) -> None:
        self.held -= 1


@pytest.mark.parametrize("path", [NUL_SEARCH, "objectives/O-nope"])
def test_the_error_pages_nav_is_read_holding_a_database_permit(
    app_client, orgs, monkeypatch, path
) -> None:
    """Refused before routing (the NUL) or by a route (an unknown objective): either way the
    nav's read waits for its turn at the database like any request's."""
    from service import error_nav

    permits = _CountingPermits()
    monkeypatch.setattr(app_client.app.state, "database_permits", permits)
    held_while_reading: list[int] = []
    read = error_nav._read

    def counted(principal, org_id):
        held_while_reading.append(permits.held)
        return read(principal, org_id)

    monkeypatch.setattr(error_nav, "_read", counted)
    _sign_in(app_client, orgs["admin"])
    answer = app_client.get(f"/orgs/{orgs['mine']}/{path}", headers=PAGE)
    assert answer.status_code in (404, 422) and "signed in as Ada" in (_nav(answer.text) or "")
    assert held_while_reading == [1]
