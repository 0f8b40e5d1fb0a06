"""Failed authentication is limited per client address with key prefix, and per address
(service/ratelimit.py):
after LIMIT failures of one address with one prefix, a refused API key, page session or sign-in
gets 429 with Retry-After, before any database lookup; the same key from another address and
another key from the same address still work; an address has PER_ADDRESS failures in all."""

from __future__ import annotations

import re
import time
from types import SimpleNamespace

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from alignment.access import keys
from alignment.access.principal import Role
from alignment.imports import import_document
from tests.conftest import auth, make_client
from tests.factories import small_bundle

ORG = "acme-failed-auth"
LIMIT = 10  # failures a minute per address and key prefix (docs/security.md, Abuse limits)
PER_ADDRESS = 100  # failures a minute per address, over all prefixes
ELSEWHERE = ("203.0.113.9", 40000)  # another client address than the TestClient's own


@pytest.fixture(autouse=True)
def still_clock(monkeypatch) -> None:
    """The buckets refill as time passes: on a loaded machine a hundred failing requests took
    long enough for the address's bucket to refill as fast as they spent it (CI saw no 429).
    With the limiter's clock stopped, each count is exact."""
    import service.ratelimit as ratelimit

    now = time.monotonic()
    monkeypatch.setattr(ratelimit, "time", SimpleNamespace(monotonic=lambda: now))


@pytest.fixture
def world(session: Session, embedder):
    import_document(session, small_bundle(ORG))
    ian = keys.create_key(session, org_id=ORG, role=Role.integration, name="Ian")[1]
    ada = keys.create_key(session, org_id=ORG, role=Role.admin, name="Ada")[1]
    session.commit()
    return make_client(session, embedder, real_auth=True), ian, ada


def wrong_secret(raw: str) -> str:
    """The key's real (public) prefix with a secret that is not its own."""
    prefix = raw.split("_")[1]
    return f"gt_{prefix}_{'A' * 43}"


def lookups(monkeypatch) -> list[str]:
    """Every key row lookup from here on, by prefix."""
    seen: list[str] = []
    real = keys.active_key

    def counting(session, prefix):
        seen.append(prefix)
        return real(session, prefix)

    monkeypatch.setattr(keys, "active_key", counting)
    return seen


def assert_rate_limited_json(response) -> None:
    assert response.status_code == 429
    assert 1 <= int(response.headers["Retry-After"]) <= 60 // LIMIT
    assert response.json()["error"]["code"] == "rate_limited"


def test_refused_api_keys_get_429_with_retry_after_and_no_lookup(world, monkeypatch) -> None:
    client, ian, _ = world
    bad = auth(wrong_secret(ian))
    statuses = [client.get(f"/orgs/{ORG}/okrs", headers=bad).status_code for _ in range(LIMIT)]
    assert statuses == [401] * LIMIT
    seen = lookups(monkeypatch)
    for _ in range(5):
        assert_rate_limited_json(client.get(f"/orgs/{ORG}/okrs", headers=bad))
    assert seen == []  # refused before the database
    # A POST with an Idempotency-Key too: its middleware looks the caller up before the app.
    retried = {**bad, "Idempotency-Key": "retry-1"}
    assert_rate_limited_json(client.post(f"/orgs/{ORG}/score", headers=retried))
    assert seen == []
    # The same prefix from another address is not refused: prefixes are public, and a prefix
    # refused everywhere would let anyone lock a key out.
    elsewhere = TestClient(client.app, client=ELSEWHERE)
    assert elsewhere.get(f"/orgs/{ORG}/okrs", headers=bad).status_code == 401
    assert elsewhere.get(f"/orgs/{ORG}/okrs", headers=auth(ian)).status_code == 200
    # A request without credentials costs no lookup and is not counted: still a plain 401.
    assert client.get(f"/orgs/{ORG}/okrs").status_code == 401


def test_an_address_has_ten_times_the_failures_over_all_prefixes(world, monkeypatch) -> None:
    client, ian, ada = world
    # A new made-up prefix every time, each pair far under its own limit.
    statuses = []
    for n in range(PER_ADDRESS + 1):
        made_up = auth(f"gt_zz{n:06d}_{'B' * 43}")
        statuses.append(client.get(f"/orgs/{ORG}/okrs", headers=made_up).status_code)
    assert statuses == [401] * PER_ADDRESS + [429]
    seen = lookups(monkeypatch)
    # The address has spent its failures: even a valid key waits (unless checked moments ago).
    assert_rate_limited_json(client.get(f"/orgs/{ORG}/okrs", headers=auth(ada)))
    assert seen == []
    elsewhere = TestClient(client.app, client=ELSEWHERE)
    assert elsewhere.get(f"/orgs/{ORG}/okrs", headers=auth(ian)).status_code == 200


def test_a_failure_the_idempotency_check_found_counts_once(world) -> None:
    client, ian, _ = world
    bad = {**auth(wrong_secret(ian)), "Idempotency-Key": "retry-2"}
    # Each looked up twice (the middleware, then the app) and counted once: all LIMIT are 401s,
    # the last one too (it spends the last try in the middleware; the app's answer stays 401).
    statuses = [client.post(f"/orgs/{ORG}/score", headers=bad).status_code for _ in range(LIMIT)]
    assert statuses == [401] * LIMIT
    assert_rate_limited_json(client.get(f"/orgs/{ORG}/okrs", headers=auth(wrong_secret(ian))))
    # A route without the app's check (no such page) is counted by the middleware alone.
    elsewhere = TestClient(client.app, client=ELSEWHERE)
    for _ in range(LIMIT):
        assert elsewhere.post("/no-such-route", headers=bad).status_code == 404
    assert_rate_limited_json(elsewhere.get(f"/orgs/{ORG}/okrs", headers=auth(wrong_secret(ian))))


def csrf_of(page: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', page).group(1)


def test_failed_sign_ins_get_429_with_retry_after(world, monkeypatch) -> None:
    client, ian, _ = world
    token = csrf_of(client.get("/sign-in").text)
    statuses = []
    for _ in range(LIMIT):
        refused = client.post(
            "/sign-in", data={"key": wrong_secret(ian), "csrf": token}, follow_redirects=False
        )
        statuses.append(refused.status_code)
        token = csrf_of(refused.text)  # each answer is a fresh form
    assert statuses == [401] * LIMIT
    seen = lookups(monkeypatch)
    limited = client.post(
        "/sign-in", data={"key": wrong_secret(ian), "csrf": token}, follow_redirects=False
    )
    assert limited.status_code == 429 and int(limited.headers["Retry-After"]) >= 1
    assert "Too many requests" in limited.text  # the service's error page, as for any 429
    assert seen == []
    # Sign-ins and the API share the buckets: this address's tries of that key are refused too.
    assert_rate_limited_json(client.get(f"/orgs/{ORG}/okrs", headers=auth(wrong_secret(ian))))


def test_a_valid_key_of_another_prefix_still_works_while_one_is_refused(world) -> None:
    client, ian, ada = world
    bad = auth(wrong_secret(ian))
    statuses = [client.get(f"/orgs/{ORG}/okrs", headers=bad).status_code for _ in range(LIMIT + 3)]
    assert statuses == [401] * LIMIT + [429] * 3
    for _ in range(3):
        assert client.get(f"/orgs/{ORG}/okrs", headers=auth(ada)).status_code == 200
    # The refused pair itself waits, even with its right secret: the one cost of the limit.
    assert_rate_limited_json(client.get(f"/orgs/{ORG}/okrs", headers=auth(ian)))


def test_a_refused_page_session_is_limited_per_address_and_ticket_prefix(world) -> None:
    client, ian, ada = world
    token = csrf_of(client.get("/sign-in").text)
    client.post("/sign-in", data={"key": ian, "csrf": token}, follow_redirects=False)
    prefix, issued, mac = client.cookies["gt_session"].split(".")
    client.cookies.clear()
    forged = {"Cookie": f"gt_session={prefix}.{issued}.{'0' * len(mac)}"}
    page = f"/orgs/{ORG}/okrs"
    statuses = [client.get(page, headers=forged).status_code for _ in range(LIMIT + 2)]
    assert statuses == [401] * LIMIT + [429] * 2
    # Another key's session from the same address is its own pair.
    token = csrf_of(client.get("/sign-in").text)
    signed_in = client.post("/sign-in", data={"key": ada, "csrf": token}, follow_redirects=False)
    assert signed_in.status_code == 303
    assert client.get(page).status_code == 200
