"""Error bodies point at what was wrong, and every error body is spelled the same way."""

from __future__ import annotations

import json

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from alignment.settings import get_settings
from tests.conftest import make_client


def _compact(raw: bytes) -> bool:
    """Spelled as the routes' JSONResponse spells a body: no space after ',' or ':'."""
    return raw == json.dumps(json.loads(raw), ensure_ascii=False, separators=(",", ":")).encode()


def test_a_diff_against_a_missing_run_points_at_the_query(client, jobs, scored_sample) -> None:
    org = scored_sample
    run = jobs.report(client, client.post(f"/orgs/{org}/reports"))
    against = client.get(f"/orgs/{org}/reports/{run['id']}/diff", params={"against": 999})
    assert against.status_code == 404
    error = against.json()["error"]
    assert error["message"] == f"report 999 does not exist in organization {org!r}"
    assert error["details"] == [{"path": "query.against", "message": "no such report"}]
    current = client.get(f"/orgs/{org}/reports/999/diff", params={"against": run["id"]})
    assert current.json()["error"]["details"] == [
        {"path": "path.report_id", "message": "no such report"}
    ]
    # A missing organization is the organization's fault, not the parameter's.
    gone = client.get("/orgs/no-such-org/reports/1/diff", params={"against": 999})
    assert gone.status_code == 404
    assert gone.json()["error"]["message"] == "organization 'no-such-org' does not exist"


def test_an_error_from_the_routes_is_compact(client) -> None:
    missing = client.get("/orgs/no-such-org")
    assert missing.status_code == 404 and _compact(missing.content)


def test_a_body_over_the_limit_is_spelled_as_every_other_error(
    session: Session, embedder, monkeypatch
) -> None:
    monkeypatch.setattr(get_settings().service, "max_body_bytes", 4096)
    with make_client(session, embedder) as client:
        big = client.post("/orgs", content=b"{" + b" " * 8000 + b"}",
                          headers={"content-type": "application/json"})  # fmt: skip
    assert big.status_code == 413
    assert big.json()["error"]["code"] and _compact(big.content), big.content


def test_idempotency_errors_are_spelled_as_every_other_error(client: TestClient) -> None:
    bad = client.post(
        "/orgs", json={"id": "x", "name": "X"}, headers={"Idempotency-Key": "k" * 201}
    )
    assert bad.status_code == 422
    assert bad.json()["error"]["details"][0]["path"] == "header.Idempotency-Key"
    assert _compact(bad.content), bad.content
