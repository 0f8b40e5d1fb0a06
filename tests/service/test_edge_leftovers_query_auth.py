"""The unknown-query-parameter check (service/query_strict.py) runs after authorization: a caller
without valid credentials gets the answer it gets without the parameter (401, or for a browser
the sign-in redirect), so it cannot learn which parameters a route takes; a signed-in caller
still gets the 422 naming the parameter. Public routes keep their answers."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi import APIRouter, Depends, FastAPI, HTTPException
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from service.app import create_app
from service.query_strict import refuse_unknown_queries
from service.ratelimit import FailedAttempts
from tests.conftest import auth
from tests.jobs_support import org_with_admin_and_lead
from tests.service.test_web_session import PAGE


@pytest.fixture
def org(engine: Engine) -> Iterator[dict[str, str]]:
    with org_with_admin_and_lead(engine, "strict", "T-1") as orgs:
        yield orgs


def _probes(org: str) -> list[tuple[str, str, str]]:
    """(method, URL without, URL with) a parameter the route does not take, or one taking one
    value given twice."""
    base = f"/orgs/{org}"
    return [
        ("GET", f"{base}/okrs", f"{base}/okrs?no_such_param=1"),
        ("GET", f"{base}/okrs?team=T-1", f"{base}/okrs?team=T-1&team=T-2"),
        ("GET", f"{base}/reports/latest", f"{base}/reports/latest?Kind=orphan_okr"),
        ("GET", "/jobs/1", "/jobs/1?verbose=1"),
        ("POST", f"{base}/teams", f"{base}/teams?dry_run=true"),
        ("DELETE", f"{base}/teams/T-2", f"{base}/teams/T-2?force=1"),
    ]


def _same(client: TestClient, method: str, plain: str, probed: str, headers: dict) -> int:
    body = {"id": "T-9", "name": "Ops"} if method == "POST" else None
    without = client.request(method, plain, json=body, headers=headers, follow_redirects=False)
    answer = client.request(method, probed, json=body, headers=headers, follow_redirects=False)
    assert answer.status_code == without.status_code, (probed, answer.text)
    if "json" in answer.headers.get("content-type", ""):
        assert answer.json() == without.json(), probed
    return answer.status_code


def test_without_credentials_a_probe_gets_the_401_it_gets_without_the_parameter(
    app_client, org
) -> None:
    # Room for every bad key below: the failed-attempt limit is not what this is about.
    app_client.app.state.failed_attempts = FailedAttempts(per_minute=100, per_address=100)
    for method, plain, probed in _probes(org["mine"]):
        assert _same(app_client, method, plain, probed, {}) == 401
        # A key that is not valid is no better.
        assert _same(app_client, method, plain, probed, auth("gt_abcdefgh_nope")) == 401


def test_a_browser_signed_out_is_sent_to_sign_in_either_way(app_client, org) -> None:
    mine = org["mine"]
    for url in (f"/orgs/{mine}/okrs?no_such_param=1", f"/orgs/{mine}/okrs?team=a&team=b"):
        answer = app_client.get(url, headers=PAGE, follow_redirects=False)
        assert answer.status_code == 303 and answer.headers["location"].startswith("/sign-in?next=")


def test_a_caller_refused_access_gets_that_refusal_first(app_client, org) -> None:
    """Authorization as a whole comes first: another organization's route answers 404 as one
    that does not exist, and a route the role may not call 403, with or without the probe."""
    other = f"/orgs/{org['other']}"
    assert _same(app_client, "GET", f"{other}/okrs", f"{other}/okrs?x=1", auth(org["admin"])) == 404
    log = f"/orgs/{org['mine']}/audit-log"
    assert _same(app_client, "GET", log, f"{log}?x=1", auth(org["lead"])) == 403


def test_a_signed_in_caller_still_gets_the_parameter_named(app_client, org) -> None:
    mine = org["mine"]
    answer = app_client.get(f"/orgs/{mine}/okrs?no_such_param=1", headers=auth(org["admin"]))
    assert answer.status_code == 422
    assert answer.json()["error"]["details"] == [
        {
            "path": "query.no_such_param",
            "message": "unknown query parameter 'no_such_param'; this route takes: team, cycle, "
            "limit, offset",
        }
    ]
    twice = app_client.get(f"/orgs/{mine}/okrs?team=T-1&team=T-2", headers=auth(org["admin"]))
    assert twice.status_code == 422
    assert twice.json()["error"]["details"][0]["path"] == "query.team"
    # Named before what the route's own dependencies refuse (`/score` takes no body).
    score = app_client.post(
        f"/orgs/{mine}/score?adjudicat=true", json={"adjudicate": True}, headers=auth(org["admin"])
    )
    assert score.status_code == 422
    assert [d["path"] for d in score.json()["error"]["details"]] == ["query.adjudicat"]
    # Nothing of a refused write is stored.
    made = app_client.post(
        f"/orgs/{mine}/teams?dry_run=true",
        json={"id": "T-9", "name": "Ops"},
        headers=auth(org["admin"]),
    )
    assert made.status_code == 422
    assert app_client.get(f"/orgs/{mine}/teams/T-9", headers=auth(org["admin"])).status_code == 404


def test_public_routes_answer_as_before(app_client) -> None:
    for url in ("/healthz?probe=1", "/sign-in?utm_source=mail", "/openapi.json?x=1"):
        assert app_client.get(url).status_code == 200, url


def _app(*dependencies) -> TestClient:
    router = APIRouter()

    @router.get("/things")
    def things(limit: int = 10) -> dict[str, int]:
        return {"limit": limit}

    refuse_unknown_queries(router)
    refuse_unknown_queries(router)  # as a second app including it would
    app = FastAPI()
    app.include_router(router, dependencies=list(dependencies))
    return TestClient(app)


def test_the_check_comes_after_the_routers_dependencies() -> None:
    def refuse() -> None:
        raise HTTPException(401, "who are you")

    assert _app(Depends(refuse)).get("/things?limt=5").status_code == 401
    # A route with none (a public one) refuses the parameter at once, naming it.
    public = _app()
    refused = public.get("/things?limt=5")
    assert refused.status_code == 422 and refused.json()["detail"][0]["loc"] == ["query", "limt"]
    assert public.get("/things?limit=5").json() == {"limit": 5}


def test_each_route_is_checked_once_however_many_apps_include_it() -> None:
    from service.routes import records

    before = [len(r.dependencies) for r in records.router.routes]
    create_app(), create_app()
    assert [len(r.dependencies) for r in records.router.routes] == before


def test_a_write_with_an_unknown_parameter_is_refused_before_waiting_its_turn(
    app_client, org, engine: Engine, monkeypatch
) -> None:
    # The organization's delete holds its turn: a write that would only be refused (422) must
    # not wait for it (and answer 503 after GOLDENTHREAD_LOCK_WAIT_S) first.
    from sqlalchemy import text

    from alignment.jobs.abandon import DELETION_KEY
    from alignment.settings import get_settings

    monkeypatch.setenv("GOLDENTHREAD_LOCK_WAIT_S", "2")
    get_settings.cache_clear()
    mine = org["mine"]
    with engine.connect() as deleting:
        deleting.execute(
            text(f"SELECT pg_advisory_xact_lock({DELETION_KEY.format(':org')})"), {"org": mine}
        )
        team, admin = {"id": "T-9", "name": "Ops"}, auth(org["admin"])
        refused = app_client.post(f"/orgs/{mine}/teams?bogus=1", json=team, headers=admin)
        waited = app_client.post(f"/orgs/{mine}/teams", json=team, headers=admin)
        deleting.rollback()
    get_settings.cache_clear()
    assert refused.status_code == 422, refused.text
    assert refused.json()["error"]["details"][0]["path"] == "query.bogus"
    assert waited.status_code == 503  # the turn was held: without the parameter it waits
