"""The edge on a real committed database: idempotent POSTs (claimed only with valid
credentials, no secret kept, rows expiring), concurrent creates, rate limits, 500s without
database text, security headers, CORS closed.

The app runs as in production here (its own sessions as the application role), so these
tests commit and clean up after themselves.
"""

from __future__ import annotations

import hashlib
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

from fastapi.testclient import TestClient
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from alignment import organizations
from alignment.access import keys
from alignment.access.principal import Role
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


def test_a_retry_is_a_retry_however_its_credentials_are_spelled(
    app_client, platform, cleanup, engine: Engine
) -> None:
    """One key's retries replay whether "Bearer" is spelled in lower case or an unrelated
    cookie rides along: the scope is the key signed in with, not the header bytes."""
    org, admin = _org_with_admin(app_client, platform, cleanup)
    idem = uuid.uuid4().hex
    body = {"id": "T-1", "name": "Retried"}
    first = app_client.post(
        f"/orgs/{org}/teams", json=body, headers={"Idempotency-Key": idem, **auth(admin)}
    )
    assert first.status_code == 201, first.text
    for spelled in (
        {"Authorization": f"bearer {admin}"},
        {**auth(admin), "Cookie": "lb=abc"},
    ):
        again = app_client.post(
            f"/orgs/{org}/teams", json=body, headers={"Idempotency-Key": idem, **spelled}
        )
        assert again.status_code == 201 and again.headers["idempotent-replayed"] == "true"
        assert again.json() == first.json()
    assert len(_stored(engine, idem)) == 1


def _stored(engine: Engine, *idempotency_keys: str) -> list[dict]:
    with engine.connect() as conn:
        rows = conn.execute(
            text("select * from idempotency_keys where key = any(:keys)"),
            {"keys": list(idempotency_keys)},
        )
        return [dict(r._mapping) for r in rows]


def _org_with_admin(app_client, platform, cleanup) -> tuple[str, str]:
    org = f"idem-{uuid.uuid4().hex[:6]}"
    cleanup.append(org)
    assert app_client.post(
        "/orgs", json={"id": org, "name": "I"}, headers=auth(platform)
    ).is_success
    made = app_client.post(f"/orgs/{org}/keys", json={"role": "admin"}, headers=auth(platform))
    assert made.status_code == 201, made.text
    return org, made.json()["key"]


def test_requests_without_valid_credentials_claim_no_idempotency_key(
    app_client, platform, engine: Engine
) -> None:
    with Session(engine) as s, s.begin():
        revoked = keys.create_key(s, org_id=None, role=Role.platform_admin)[1]
        keys.revoke_key(s, revoked.split("_")[1], org_id=None)
    sent = []
    for credentials in (
        {},
        {"Authorization": "Bearer gt_nothing0_" + "x" * 43},
        {"Authorization": "Basic abc"},
        auth(revoked),
        {"Cookie": "gt_session=" + platform},  # a cookie write without the form's token
    ):
        idem = uuid.uuid4().hex
        sent.append(idem)
        body = {"id": f"anon-{idem[:6]}", "name": "Anon"}
        answer = app_client.post(
            "/orgs", json=body, headers={"Idempotency-Key": idem, **credentials}
        )
        assert answer.status_code == 401, answer.text
        again = app_client.post(
            "/orgs", json=body, headers={"Idempotency-Key": idem, **credentials}
        )
        assert again.status_code == 401 and "idempotent-replayed" not in again.headers
    assert _stored(engine, *sent) == []


def test_a_revoked_key_gets_401_not_the_replay_of_its_answer(
    app_client, platform, cleanup, engine: Engine
) -> None:
    org, admin = _org_with_admin(app_client, platform, cleanup)
    headers = {"Idempotency-Key": uuid.uuid4().hex, **auth(admin)}
    first = app_client.post(f"/orgs/{org}/okrs.csv", content=b"", headers=headers)
    replayed = app_client.post(f"/orgs/{org}/okrs.csv", content=b"", headers=headers)
    assert replayed.status_code == first.status_code < 500
    assert replayed.headers["idempotent-replayed"] == "true"
    prefix = admin.split("_")[1]
    assert app_client.delete(f"/orgs/{org}/keys/{prefix}", headers=auth(admin)).is_success
    refused = app_client.post(f"/orgs/{org}/okrs.csv", content=b"", headers=headers)
    assert refused.status_code == 401
    assert "idempotent-replayed" not in refused.headers
    assert refused.json()["error"]["code"] == "unauthorized"


def test_an_answer_with_a_secret_is_never_stored_nor_shown_again(
    app_client, platform, cleanup, engine: Engine
) -> None:
    org, admin = _org_with_admin(app_client, platform, cleanup)
    idem = uuid.uuid4().hex
    headers = {"Idempotency-Key": idem, **auth(admin)}
    made = app_client.post(f"/orgs/{org}/keys", json={"role": "integration"}, headers=headers)
    assert made.status_code == 201
    raw = made.json()["key"]
    secret = raw.split("_", 2)[2]
    [row] = _stored(engine, idem)
    stored = bytes(row["response_body"]) + repr(row["response_headers"]).encode()
    assert raw.encode() not in stored and secret.encode() not in stored
    retry = app_client.post(f"/orgs/{org}/keys", json={"role": "integration"}, headers=headers)
    assert retry.status_code == 409 and retry.headers["idempotent-replayed"] == "true"
    assert secret not in retry.text
    error = retry.json()["error"]
    assert error["code"] == "idempotency_secret_not_kept"
    assert error["details"][0]["path"] == "header.Idempotency-Key"
    assert retry.headers["location"] == made.headers["location"]
    assert made.headers["location"] in error["details"][1]["message"]
    other = app_client.post(f"/orgs/{org}/keys", json={"role": "admin"}, headers=headers)
    assert other.json()["error"]["code"] == "idempotency_key_reused"  # as for any other POST
    assert client_keys_count(app_client, org, admin) == 2  # the retries created nothing

    hook_idem = uuid.uuid4().hex
    hook = {"url": "https://8.8.8.8/hook", "events": ["report.completed"]}
    hook_headers = {"Idempotency-Key": hook_idem, **auth(admin)}
    subscribed = app_client.post(f"/orgs/{org}/webhooks", json=hook, headers=hook_headers)
    assert subscribed.status_code == 201, subscribed.text
    signing = subscribed.json()["secret"]
    [row] = _stored(engine, hook_idem)
    assert signing.encode() not in bytes(row["response_body"])
    again = app_client.post(f"/orgs/{org}/webhooks", json=hook, headers=hook_headers)
    assert again.status_code == 409 and signing not in again.text


def client_keys_count(app_client, org: str, admin: str) -> int:
    return len(app_client.get(f"/orgs/{org}/keys", headers=auth(admin)).json()["items"])


def test_expired_idempotency_rows_are_purged_and_ignored(
    app_client, platform, cleanup, engine: Engine
) -> None:
    stale = uuid.uuid4().hex
    with engine.begin() as conn:
        conn.execute(
            text(
                "insert into idempotency_keys (scope, key, request_hash, status_code, created_at)"
                " values (:scope, :key, :hash, 201, now() - interval '25 hours')"
            ),
            {"scope": hashlib.sha256(b"someone").hexdigest(), "key": stale, "hash": "0" * 64},
        )
    org = f"idem-{uuid.uuid4().hex[:6]}"
    cleanup.append(org)
    idem = uuid.uuid4().hex
    headers = {"Idempotency-Key": idem, **auth(platform)}
    body = {"id": org, "name": "Expiring"}
    assert app_client.post("/orgs", json=body, headers=headers).status_code == 201
    assert _stored(engine, stale) == []  # purged by the claim
    with engine.begin() as conn:
        conn.execute(
            text("update idempotency_keys set created_at = now() - interval '25 hours'"
                 " where key = :key"),
            {"key": idem},
        )  # fmt: skip
    rerun = app_client.post("/orgs", json=body, headers=headers)
    assert rerun.status_code == 409  # it ran again (the organization exists), no replay
    assert "idempotent-replayed" not in rerun.headers
    [row] = _stored(engine, idem)
    assert row["status_code"] == 409


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

    monkeypatch.setattr(organizations, "list_orgs", broken)
    response = app_client.get("/orgs", headers={**auth(platform), "X-Request-ID": "req-42"})
    assert response.status_code == 500
    assert response.headers["x-request-id"] == "req-42"
    text = response.text
    assert "Failing row" not in text and "okrs" not in text and "secret" not in text
    assert response.json()["error"]["details"][0]["message"] == "request id req-42"


def test_head_answers_wherever_get_does_with_its_headers_and_no_body(app_client, platform) -> None:
    for url, headers in (("/healthz", {}), ("/orgs", auth(platform)), ("/openapi.json", {})):
        got, head = app_client.get(url, headers=headers), app_client.head(url, headers=headers)
        assert (head.status_code, got.status_code) == (200, 200), url
        assert head.content == b"" and head.headers["content-length"] == str(len(got.content))
        assert head.headers["content-type"] == got.headers["content-type"]
    assert app_client.head("/orgs").status_code == 401  # as the GET: no key, no answer
    assert app_client.head("/nowhere").status_code == 404
    refused = app_client.head("/bundles", headers=auth(platform))  # POST only: still a 405
    assert refused.status_code == 405 and "POST" in refused.headers["allow"]


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


def test_json_sent_as_another_media_type_is_415_saying_so(app_client, platform) -> None:
    answer = app_client.post(
        "/orgs",
        content=b'{"id": "acme", "name": "Acme"}',
        headers={**auth(platform), "Content-Type": "text/plain"},
    )
    assert answer.status_code == 415, answer.text
    error = answer.json()["error"]
    assert error["code"] == "unsupported_media_type"
    assert "'text/plain'" in error["message"] and "application/json" in error["message"]
    # Without a type FastAPI reads no JSON: the answer says so, not "should be an object".
    untyped = app_client.post(
        "/orgs", content=b'{"id": "acme", "name": "Acme"}', headers=auth(platform)
    )
    assert untyped.status_code == 415, untyped.text
    assert untyped.json()["error"]["message"] == (
        "the body was sent without a Content-Type; send JSON with Content-Type: application/json"
    )
    empty = app_client.post("/orgs", headers=auth(platform))
    assert empty.status_code == 422 and "Content-Type" not in empty.text
    refused = app_client.delete("/healthz")
    assert refused.status_code == 405 and refused.headers["allow"] == "GET, HEAD"
