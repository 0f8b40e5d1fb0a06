"""The edge on a real committed database: idempotent POSTs, concurrent creates, rate limits,
500s without database text, security headers, CORS closed.

The app runs as in production here (its own sessions as the application role), so these
tests commit and clean up after themselves.
"""

from __future__ import annotations

import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

from fastapi.testclient import TestClient

from alignment import repository
from alignment.settings import get_settings
from service.app import create_app
from tests.conftest import auth


def test_concurrent_creates_of_one_organization_are_201_once_then_409(
    app_client, platform, cleanup
) -> None:
    org = f"race-{uuid.uuid4().hex[:6]}"
    cleanup.append(org)

    def create(_: int) -> int:
        body = {"id": org, "name": "Race"}
        return app_client.post("/orgs", json=body, headers=auth(platform)).status_code

    with ThreadPoolExecutor(max_workers=8) as pool:
        statuses = Counter(pool.map(create, range(24)))
    assert statuses == Counter({201: 1, 409: 23})


def test_idempotency_key_replays_refuses_another_body_and_runs_concurrent_duplicates_once(
    app_client, platform, cleanup
) -> None:
    org = f"idem-{uuid.uuid4().hex[:6]}"
    cleanup.append(org)
    key = {"Idempotency-Key": uuid.uuid4().hex, **auth(platform)}
    body = {"id": org, "name": "Idem"}
    with ThreadPoolExecutor(max_workers=6) as pool:
        answers = list(
            pool.map(lambda _: app_client.post("/orgs", json=body, headers=key), range(6))
        )
    assert [a.status_code for a in answers] == [201] * 6  # one ran; five replayed its answer
    assert sum(a.headers.get("idempotent-replayed") == "true" for a in answers) == 5
    assert len({a.json()["created_at"] for a in answers}) == 1
    other = app_client.post("/orgs", json={**body, "name": "Other"}, headers=key)
    assert other.status_code == 422
    assert other.json()["error"]["code"] == "idempotency_key_reused"
    # Another caller with the same key string is another scope: it runs (and conflicts).
    assert (
        app_client.post("/orgs", json=body, headers={**key, **auth(platform + "x")}).status_code
        == 401
    )


def test_rate_limit_answers_429_with_retry_after(app_client, platform, monkeypatch) -> None:
    from service.ratelimit import RateLimiter

    app_client.app.state.rate_limiter = RateLimiter(per_minute=3)
    statuses = [app_client.get("/orgs", headers=auth(platform)).status_code for _ in range(5)]
    assert statuses[:3] == [200, 200, 200] and statuses[3:] == [429, 429]
    limited = app_client.get("/orgs", headers=auth(platform))
    assert int(limited.headers["Retry-After"]) >= 1
    assert limited.json()["error"]["code"] == "rate_limited"


def test_a_500_has_the_json_body_and_a_request_id_never_database_text(
    app_client, platform, monkeypatch
) -> None:
    from sqlalchemy.exc import IntegrityError

    def broken(*_a, **_k):
        raise IntegrityError("insert", {}, Exception('Failing row contains (secret, "okrs")'))

    monkeypatch.setattr(repository, "list_orgs", broken)
    response = app_client.get("/orgs", headers={**auth(platform), "X-Request-ID": "req-42"})
    assert response.status_code == 500
    assert response.headers["x-request-id"] == "req-42"
    text = response.text
    assert "Failing row" not in text and "okrs" not in text and "secret" not in text
    assert response.json()["error"]["details"][0]["message"] == "request id req-42"


def test_security_headers_everywhere_and_cors_closed(app_client, platform) -> None:
    for response in (
        app_client.get("/healthz"),
        app_client.get("/orgs", headers=auth(platform)),
        app_client.get("/orgs"),
    ):
        assert response.headers["x-content-type-options"] == "nosniff"
        assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
        assert response.headers["x-frame-options"] == "DENY"
        assert response.headers["x-request-id"]
    preflight = app_client.options(
        "/orgs",
        headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"},
    )
    assert "access-control-allow-origin" not in preflight.headers
    simple = app_client.get("/healthz", headers={"Origin": "https://evil.example"})
    assert "access-control-allow-origin" not in simple.headers


def test_named_cors_origins_are_allowed(embedder, monkeypatch) -> None:
    monkeypatch.setattr(get_settings().service, "cors_origins", ["https://tools.example"])
    with TestClient(create_app()) as client:
        ok = client.get("/healthz", headers={"Origin": "https://tools.example"})
        assert ok.headers["access-control-allow-origin"] == "https://tools.example"
        other = client.get("/healthz", headers={"Origin": "https://evil.example"})
        assert "access-control-allow-origin" not in other.headers
