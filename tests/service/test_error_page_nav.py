"""An error page under `/orgs/{org_id}/` shows the organization's nav, as its other pages do, to a
person of that organization, with the links that person's role may open; anyone else gets the
minimal header, and another organization's 404 reads exactly as a missing organization's."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine

from tests.conftest import auth
from tests.jobs_support import org_with_admin_and_lead

PAGE = {"Accept": "text/html"}
NAV = re.compile(r'<nav class="muted org-nav" aria-label="Golden Thread">(.*?)</nav>', re.S)


@pytest.fixture
def orgs(engine: Engine) -> Iterator[dict[str, str]]:
    """Two committed organizations; an admin and a team lead (of T-2) of the first."""
    with org_with_admin_and_lead(engine, "nav", "T-2") as orgs:
        yield orgs


def _nav(html: str) -> str | None:
    found = NAV.search(html)
    return found.group(1) if found else None


def _hrefs(fragment: str) -> list[str]:
    return re.findall(r'href="([^"]+)"', fragment)


def test_a_404_in_the_persons_own_organization_has_its_nav(app_client, orgs) -> None:
    mine = orgs["mine"]
    answer = app_client.get(f"/orgs/{mine}/okr/NOPE", headers=PAGE | auth(orgs["admin"]))
    assert answer.status_code == 404 and answer.headers["content-type"].startswith("text/html")
    nav = _nav(answer.text)
    assert nav is not None, answer.text
    base = f"/orgs/{mine}"
    assert _hrefs(nav) == [
        "/",
        f"{base}/report.html",
        f"{base}/strategy-map",
        f"{base}/review",
        f"{base}/team/T-1",
        f"{base}/team/T-2",
    ]
    assert "signed in as Ada" in nav
    assert 'aria-current="page"' not in nav  # no page of the nav is this one
    assert "Not found" in answer.text and "NOPE" in answer.text  # the error itself stays


def test_a_page_the_role_may_not_open_has_the_nav_the_role_may_use(app_client, orgs) -> None:
    mine = orgs["mine"]
    answer = app_client.get(f"/orgs/{mine}/review", headers=PAGE | auth(orgs["lead"]))
    assert answer.status_code == 403
    nav = _nav(answer.text)
    assert nav is not None, answer.text
    # A team lead: the map and its own team, not the queue it was refused nor the report.
    assert _hrefs(nav) == ["/", f"/orgs/{mine}/strategy-map", f"/orgs/{mine}/team/T-2"]


def test_a_refused_query_has_the_nav_too(app_client, orgs) -> None:
    mine = orgs["mine"]
    answer = app_client.get(
        f"/orgs/{mine}/report.html?page=abc", headers=PAGE | auth(orgs["admin"])
    )
    assert answer.status_code == 422 and "the page number (<code>page</code>)" in answer.text
    assert f"/orgs/{mine}/team/T-1" in _hrefs(_nav(answer.text) or "")


def test_another_organization_reads_as_one_that_does_not_exist(app_client, orgs) -> None:
    other, missing = orgs["other"], f"nav-none-{uuid.uuid4().hex[:8]}"
    seen = []
    for org in (other, missing):
        answer = app_client.get(f"/orgs/{org}/okr/NOPE", headers=PAGE | auth(orgs["admin"]))
        assert answer.status_code == 404
        assert _nav(answer.text) is None and "/team/" not in answer.text
        assert '<a href="/">Organizations</a> · signed in as Ada' in answer.text
        text = answer.text.replace(org, "ORG")
        seen.append(re.sub(r"request id <code>[^<]*</code>", "", text))
    assert seen[0] == seen[1]


def test_an_api_client_gets_json_and_no_nav_is_read(app_client, orgs, monkeypatch) -> None:
    from service import error_nav

    def unread(*_args):
        raise AssertionError("an API error read the nav")

    monkeypatch.setattr(error_nav, "_read", unread)
    answer = app_client.get(f"/orgs/{orgs['mine']}/okr/NOPE", headers=auth(orgs["admin"]))
    assert answer.status_code == 404 and answer.json()["error"]["code"] == "not_found"


def test_a_nav_that_cannot_be_read_leaves_the_minimal_header(app_client, orgs, monkeypatch):
    from service import error_nav

    def down(*_args):
        raise OSError("the database went away")

    monkeypatch.setattr(error_nav, "_read", down)
    mine = orgs["mine"]
    answer = app_client.get(f"/orgs/{mine}/okr/NOPE", headers=PAGE | auth(orgs["admin"]))
    assert answer.status_code == 404 and _nav(answer.text) is None
    assert '<a href="/">Organizations</a> · signed in as Ada' in answer.text
