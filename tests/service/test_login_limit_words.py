"""The 429 of failed sign-ins says whose failures it counts: credentials that are no API key
at all ("Token abc", "Basic ...", a "gt_" key too short) share one bucket per address, and
"for this key" would name a key none of them is."""

from __future__ import annotations

import time
from types import SimpleNamespace

import pytest

from tests.conftest import auth
from tests.service.test_failed_auth_limits import LIMIT, ORG, world, wrong_secret

__all__ = ["world"]  # the fixture, shared


@pytest.fixture(autouse=True)
def still_clock(monkeypatch) -> None:
    import service.ratelimit as ratelimit

    now = time.monotonic()
    monkeypatch.setattr(ratelimit, "time", SimpleNamespace(monotonic=lambda: now))


MALFORMED = ["Token abc", "Basic dXNlcjpwYXNz", "Bearer gt_short"]


def test_malformed_credentials_are_not_called_a_key(world) -> None:
    client, _, _ = world
    for i in range(LIMIT):
        header = {"Authorization": MALFORMED[i % len(MALFORMED)]}
        assert client.get(f"/orgs/{ORG}/okrs", headers=header).status_code == 401
    refused = client.get(f"/orgs/{ORG}/okrs", headers={"Authorization": "Token other"})
    assert refused.status_code == 429
    message = refused.json()["error"]["message"]
    assert "for this key" not in message
    assert message.startswith(
        "too many failed authentication attempts from this address with credentials that are "
        "not an "
        "API key"
    )


def _refused_after_wrong_secrets(world) -> dict:
    """The 429 answer's error after LIMIT requests with a real key's prefix, wrong secret."""
    client, ian, _ = world
    bad = auth(wrong_secret(ian))
    for _ in range(LIMIT):
        client.get(f"/orgs/{ORG}/okrs", headers=bad)
    refused = client.get(f"/orgs/{ORG}/okrs", headers=bad)
    assert refused.status_code == 429
    return refused.json()["error"]


def test_a_real_key_prefix_is_still_called_this_key(world) -> None:
    message = _refused_after_wrong_secrets(world)["message"]
    assert "from this address for this key; at most 10 a minute" in message


def test_an_api_requests_429_says_authentication_and_points_at_the_header(world) -> None:
    # A GET has no body: "$" and "failed sign-in attempts" named neither what failed nor where.
    error = _refused_after_wrong_secrets(world)
    assert error["message"].startswith("too many failed authentication attempts from this address")
    assert "sign-in" not in error["message"]
    assert error["details"] == [{"path": "headers.authorization", "message": "slow down"}]
