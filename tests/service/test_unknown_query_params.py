"""A query parameter a JSON API route does not declare is refused (422 at `query.NAME`, naming
the ones the route takes), not ignored: `?Team=T-1` answered the whole list as if filtered.
Pages stay lenient (browsers and links add parameters), and so do the probes and /metrics."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from alignment.access import keys
from alignment.access.principal import Role
from alignment.imports import import_document
from service.app import create_app
from tests.conftest import make_client
from tests.factories import small_bundle
from tests.service.test_records_api import error, ok
from tests.service.test_records_review_fixes import ORG, acme, paths
from tests.service.test_web_session import PAGE, csrf_of

__all__ = ["acme"]  # a fixture, used by name

LENIENT = {"/healthz", "/readyz", "/metrics"}  # they take none: nothing to misread


def test_a_typo_of_a_filter_is_refused_naming_what_the_route_takes(
    client: TestClient, acme: None
) -> None:
    found = error(client.get(f"{ORG}/okrs", params={"Team": "T-1"}), 422, "invalid")
    assert found["details"] == [
        {
            "path": "query.Team",
            "message": "unknown query parameter 'Team'; this route takes: team, cycle, limit, "
            "offset",
        }
    ]
    # Each unknown one is named once, with known ones beside them left to the route.
    both = error(client.get(f"{ORG}/okrs?team=T-2&Team=T-1&cyle=X&cyle=Y"), 422)
    assert paths(both) == ["query.Team", "query.cyle"]


def test_known_parameters_still_work(client: TestClient, acme: None) -> None:
    assert ok(client.get(f"{ORG}/okrs"))["total"] == 2
    assert ok(client.get(f"{ORG}/okrs", params={"team": "T-2"}))["total"] == 1
    page = ok(client.get(f"{ORG}/okrs", params={"limit": 1, "offset": 1}))
    assert len(page["items"]) == 1 and page["total"] == 2
    # Repeated filters (`?kind=a&kind=b`) on the report's reads: test_report_read_filters.py.


def test_a_filter_that_takes_one_value_is_refused_when_given_twice(
    client: TestClient, acme: None
) -> None:
    """FastAPI reads the last of them: `?team=T-1&team=T-2` listed T-2's OKRs only."""
    found = error(client.get(f"{ORG}/okrs?team=T-1&team=T-2"), 422, "invalid")
    assert found["details"] == [
        {"path": "query.team", "message": "query parameter 'team' takes one value, and was given 2"}
    ]
    twice = error(client.get(f"{ORG}/okrs?limit=1&limit=1"), 422)  # even the same value
    assert paths(twice) == ["query.limit"]
    # A parameter that takes a list still takes each value (test_report_read_filters.py).
    listed = client.get(f"{ORG}/reports/latest?kind=orphan_okr&kind=checkin_drift")
    assert listed.status_code != 422 and "query.kind" not in listed.text, listed.text


def test_a_write_with_an_unknown_parameter_changes_nothing(client: TestClient, acme: None) -> None:
    # `dry_run` is a bundle import's; a team's create would have written for real.
    refused = client.post(f"{ORG}/teams?dry_run=true", json={"id": "T-9", "name": "Ops"})
    found = error(refused, 422, "invalid")
    assert found["details"] == [
        {
            "path": "query.dry_run",
            "message": "unknown query parameter 'dry_run'; this route takes none",
        }
    ]
    assert client.get(f"{ORG}/teams/T-9").status_code == 404


def test_pages_take_parameters_they_do_not_know(client: TestClient, acme: None) -> None:
    extra = {"utm_source": "mail", "decided": "x", "again": "1"}
    for page in ("review", "strategy-map", "team/T-1", "okr/O-1", "objective/SO-1"):
        answer = client.get(f"{ORG}/{page}", params=extra, headers=PAGE)
        assert answer.status_code == 200, (page, answer.text[:300])
    report = client.get(f"{ORG}/report.html", params=extra, headers=PAGE)
    assert report.status_code in (200, 202), report.text[:300]  # 202: the first report is due


def test_the_probes_take_any_parameter(client: TestClient) -> None:
    assert client.get("/healthz?probe=1").status_code == 200


def test_a_signed_in_page_calls_the_api_with_its_form_token(session: Session, embedder) -> None:
    """team.js posts to /suggest-parent with `?csrf=`, which the sign-in reads, not the route."""
    import_document(session, small_bundle())
    raw = keys.create_key(session, org_id="acme", role=Role.strategy_office)[1]
    session.commit()
    client = make_client(session, embedder, real_auth=True)
    client.post("/sign-in", data={"key": raw, "csrf": csrf_of(client.get("/sign-in").text)})
    team_page = client.get(f"{ORG}/team/T-1", headers=PAGE).text
    url = re.search(r'data-url="([^"]+)"', team_page).group(1).replace("&amp;", "&")
    assert "?csrf=" in url
    answer = client.post(url, json={"title": "Fewer readmissions after discharge"})
    assert answer.status_code == 200, answer.text


def _get_operations() -> list[tuple[str, list[str]]]:
    """Every GET of the API schema with the query parameters it documents, but the lenient ones
    and those answering only HTML (the report page)."""
    found = []
    for path, operations in create_app().openapi()["paths"].items():
        get = operations.get("get")
        if get is None or path in LENIENT:
            continue
        answers = set(get["responses"]["200"].get("content", {}))
        if answers == {"text/html"}:
            continue
        names = [p["name"] for p in get.get("parameters", []) if p["in"] == "query"]
        found.append((path, names))
    return found


GET_OPERATIONS = _get_operations()


def test_the_walk_covers_the_api() -> None:
    assert len(GET_OPERATIONS) > 35 and ("/orgs/{org_id}/okrs.csv", []) in GET_OPERATIONS


@pytest.mark.parametrize(("path", "names"), GET_OPERATIONS, ids=[p for p, _ in GET_OPERATIONS])
def test_every_api_read_refuses_a_parameter_it_does_not_take(
    client: TestClient, path: str, names: list[str]
) -> None:
    url = re.sub(r"\{[^}]+\}", "p1", path)
    # The parameters it documents go along: none of them is refused as unknown.
    known = "".join(f"{name}=1&" for name in names)
    found = error(client.get(f"{url}?{known}no_such_param=1"), 422, "invalid")
    takes = f"this route takes: {', '.join(names)}" if names else "this route takes none"
    assert found["details"] == [
        {
            "path": "query.no_such_param",
            "message": f"unknown query parameter 'no_such_param'; {takes}",
        }
    ]
