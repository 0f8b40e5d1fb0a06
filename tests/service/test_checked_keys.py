"""Checked keys are trusted for `auth_cache_seconds` per process, never past a revocation made
through that process, and never longer than the setting when the revocation is made elsewhere."""

from __future__ import annotations

import time
import uuid

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from alignment.access import keys
from alignment.settings import get_settings
from tests.conftest import auth


def _org_admin_key(app_client, platform, cleanup) -> tuple[str, str]:
    org = f"keys-{uuid.uuid4().hex[:6]}"
    cleanup.append(org)
    made = app_client.post("/orgs", json={"id": org, "name": "K"}, headers=auth(platform))
    assert made.is_success, made.text
    made = app_client.post(f"/orgs/{org}/keys", json={"role": "admin"}, headers=auth(platform))
    assert made.status_code == 201, made.text
    return org, made.json()["key"]


def test_a_key_revoked_through_the_api_stops_at_once(app_client, platform, cleanup) -> None:
    org, key = _org_admin_key(app_client, platform, cleanup)
    assert app_client.get(f"/orgs/{org}", headers=auth(key)).status_code == 200  # now cached
    prefix = key.split("_")[1]
    assert app_client.delete(f"/orgs/{org}/keys/{prefix}", headers=auth(key)).is_success
    refused = app_client.get(f"/orgs/{org}", headers=auth(key))
    assert refused.status_code == 401
    assert refused.json()["error"]["code"] == "unauthorized"


def test_an_organization_deleted_through_the_api_takes_its_keys_at_once(
    app_client, platform, cleanup, monkeypatch
) -> None:
    monkeypatch.setattr(get_settings().service, "auth_cache_seconds", 60)
    org, key = _org_admin_key(app_client, platform, cleanup)
    assert app_client.get(f"/orgs/{org}/okrs", headers=auth(key)).status_code == 200  # cached
    assert app_client.delete(f"/orgs/{org}", headers=auth(key)).status_code == 204
    refused = app_client.get(f"/orgs/{org}/okrs", headers=auth(key))
    assert refused.status_code == 401, refused.text


@pytest.mark.parametrize(
    ("cache_seconds", "wait"),
    [(0.5, 0.6), (0, 0.0)],
    ids=["revoked-elsewhere-stops-within-the-cache-time", "no-cache-checks-every-request"],
)
def test_a_key_revoked_elsewhere_stops(
    app_client,
    platform,
    cleanup,
    engine: Engine,
    monkeypatch,
    cache_seconds: float,
    wait: float,
) -> None:
    monkeypatch.setattr(get_settings().service, "auth_cache_seconds", cache_seconds)
    org, key = _org_admin_key(app_client, platform, cleanup)
    assert app_client.get(f"/orgs/{org}", headers=auth(key)).status_code == 200
    with Session(engine) as s, s.begin():  # as `goldenthread keys revoke` in another process
        keys.revoke_key(s, key.split("_")[1], org_id=org)
    time.sleep(wait)
    assert app_client.get(f"/orgs/{org}", headers=auth(key)).status_code == 401


def test_a_platform_admin_creates_only_an_organizations_first_admin_key(
    app_client, platform, cleanup
) -> None:
    org, first = _org_admin_key(app_client, platform, cleanup)
    for role in ("admin", "integration"):
        again = app_client.post(f"/orgs/{org}/keys", json={"role": role}, headers=auth(platform))
        assert again.status_code == 409, again.text
        message = again.json()["error"]["message"]
        assert "already has an active admin key" in message
        assert "own admin creates further keys" in message
        assert "goldenthread keys create" in message
    listed = app_client.get(f"/orgs/{org}/keys", headers=auth(first)).json()["items"]
    assert len(listed) == 1  # nothing was minted
    # The organization's own admin still creates keys, admin ones included.
    second = app_client.post(f"/orgs/{org}/keys", json={"role": "admin"}, headers=auth(first))
    assert second.status_code == 201
    for raw in (first, second.json()["key"]):
        prefix = raw.split("_")[1]
        assert app_client.delete(f"/orgs/{org}/keys/{prefix}", headers=auth(raw)).is_success
    # No active admin left: the platform admin may bootstrap one again.
    again = app_client.post(f"/orgs/{org}/keys", json={"role": "admin"}, headers=auth(platform))
    assert again.status_code == 201, again.text
