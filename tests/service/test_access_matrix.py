"""Every route × every role × own/other organization, with real API keys.

The routes come from the app's own route table, so a route added without an access rule fails
here. Expected answers: a role the rule does not name gets 403 in its own organization; every
role gets 404 for another organization's URL (no existence leak); an allowed role gets past
access (whatever the route then says of an empty body or a made-up id, never 401/403/500).
"""

from __future__ import annotations

import re
from collections import Counter

import pytest
from sqlalchemy.orm import Session

from alignment.access import keys
from alignment.access.principal import Role
from alignment.imports import import_document
from service.app import create_app
from service.permissions import rule_for
from service.routes_table import iter_routes
from tests.conftest import auth, make_client
from tests.factories import small_bundle

PUBLIC = {
    "/healthz",
    "/readyz",
    "/openapi.json",
    "/docs",
    "/docs/oauth2-redirect",
    "/redoc",
    "/sign-in",
    "/sign-out",
}
OWN, OTHER = "acme-own", "zen-other"
DELETE_ORG = ("DELETE", "/orgs/{org_id}")
# Path parameters filled with records that exist in both organizations (DELETE gets made-up
# ids instead, so no request in the sweep removes what later requests need).
EXISTING = {
    "record_id": {
        "cycles": "2026-Q4",
        "teams": "T-2",
        "objectives": "SO-1",
        "kpis": "SO-1-K1",
        "okrs": "O-1",
        "key-results": "O-1-KR1",
        "check-ins": "C-1",
    },
    "okr_id": "O-1",
    "objective_id": "SO-1",
    "report_id": "1",
    "draft_id": "D-none",
    "prefix": "nokey000",
    "job_id": "1",
    "webhook_id": "1",
    "team_id": "T-1",
    "decision": "keep",
    "check_in_id": "C-1",
    "verdict": "on_topic",
}


@pytest.fixture
def world(session: Session, embedder):
    for org in (OWN, OTHER):
        import_document(session, small_bundle(org))
    raw = {}
    for role in Role:
        org = None if role is Role.platform_admin else OWN
        teams = ["T-1"] if role is Role.team_lead else []
        raw[role] = keys.create_key(session, org_id=org, role=role, team_ids=teams)[1]
    session.commit()  # a savepoint released: a failing request cannot roll the keys back
    client = make_client(session, embedder, real_auth=True)
    return client, raw


def protected_routes():
    return [
        r
        for r in iter_routes(create_app())
        if r.method != "HEAD" and r.path not in PUBLIC and not r.path.startswith("/static")
    ]


def fill(path: str, method: str, org: str) -> str:
    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        if name == "org_id":
            return org
        if method == "DELETE":
            return "made-up-id"
        if name == "record_id":
            kind = path.split("/")[3]
            return EXISTING["record_id"][kind]
        return EXISTING[name]

    return re.sub(r"\{(\w+)\}", value, path)


def test_every_route_has_an_access_rule() -> None:
    missing = [f"{r.method} {r.path}" for r in protected_routes() if not rule_for(r.method, r.path)]
    assert not missing, f"routes without an access rule: {missing}"


def test_allow_deny_matrix(world) -> None:
    client, raw = world
    counts: Counter[str] = Counter()
    failures: list[str] = []
    # Deleting the organization removes its keys: that request goes last.
    routes = sorted(protected_routes(), key=lambda r: (r.method, r.path) == DELETE_ORG)
    for route in routes:
        rule = rule_for(route.method, route.path)
        for role in sorted(Role, key=lambda r: r in rule.roles):
            for target in (OTHER, OWN):
                if "{org_id}" not in route.path and target == OTHER:
                    continue
                url = fill(route.path, route.method, target)
                body = None if route.method in ("GET", "DELETE") else {}
                response = client.request(route.method, url, json=body, headers=auth(raw[role]))
                status = response.status_code
                counts[str(status)] += 1
                where = f"{role} {route.method} {url}: {status}"
                # A platform admin belongs to no organization and lists them all: where its
                # role may not go it is told so (403), never "not found".
                cross_org = (
                    "{org_id}" in route.path and target == OTHER and role is not Role.platform_admin
                )
                allowed = role in rule.roles
                if cross_org:
                    if status != 404:
                        failures.append(f"{where} (expected 404, another organization)")
                elif not allowed:
                    if status != 403:
                        failures.append(f"{where} (expected 403)")
                elif status in (401, 403) or status >= 500:
                    failures.append(f"{where} (expected past access)")
    print(f"access matrix: {sum(counts.values())} requests, statuses {dict(counts)}")
    assert not failures, "\n".join(failures)
    assert sum(counts.values()) > 400


def test_an_integration_key_creates_and_updates_but_deletes_nothing(world) -> None:
    client, raw = world
    key = auth(raw[Role.integration])
    patched = client.patch(f"/orgs/{OWN}/teams/T-2", json={"name": "Renamed"}, headers=key)
    assert patched.status_code == 200
    for kind, record in EXISTING["record_id"].items():
        response = client.delete(f"/orgs/{OWN}/{kind}/{record}", headers=key)
        assert response.status_code == 403, f"{kind}: {response.status_code}"
        assert client.get(f"/orgs/{OWN}/{kind}/{record}", headers=key).status_code == 200
    admin = auth(raw[Role.admin])
    assert client.delete(f"/orgs/{OWN}/check-ins/C-1", headers=admin).status_code == 204


def test_no_key_bad_key_revoked_key_are_401(world, session: Session) -> None:
    client, raw = world
    for route in protected_routes():
        url = fill(route.path, route.method, OWN)
        response = client.request(route.method, url)
        assert response.status_code == 401, f"{route.method} {url}"
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
        assert response.json()["error"]["code"] == "unauthorized"
    bad = raw[Role.admin][:-4] + "AAAA"
    assert client.get(f"/orgs/{OWN}", headers=auth(bad)).status_code == 401
    assert client.get(f"/orgs/{OWN}", headers={"Authorization": raw[Role.admin]}).status_code == 401
    prefix = raw[Role.admin].split("_")[1]
    keys.revoke_key(session, prefix, org_id=OWN)
    assert client.get(f"/orgs/{OWN}", headers=auth(raw[Role.admin])).status_code == 401


def test_cross_site_text_plain_post_cannot_act(world) -> None:
    """A web page can send a form-like POST without a preflight, but not a bearer header."""
    client, _ = world
    response = client.post(
        f"/orgs/{OWN}/teams",
        content=b'{"id": "T-9", "name": "x"}',
        headers={"Content-Type": "text/plain"},
    )
    assert response.status_code == 401
