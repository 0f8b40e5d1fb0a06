"""An organization given the id of one deleted before it sees none of that one's audit log: the
entries outlive their organization (the one of its delete must), but they are not the new
organization's to read."""

from __future__ import annotations

import uuid

from tests.conftest import auth


def _org_with_admin(app_client, platform, org: str, name: str) -> dict[str, str]:
    made = app_client.post("/orgs", json={"id": org, "name": name}, headers=auth(platform))
    assert made.status_code == 201, made.text
    key = app_client.post(f"/orgs/{org}/keys", json={"role": "admin"}, headers=auth(platform))
    assert key.status_code == 201, key.text
    return auth(key.json()["key"])


def test_a_new_organization_with_a_deleted_ones_id_sees_only_its_own_log(
    app_client, platform, cleanup
) -> None:
    org = f"reused-{uuid.uuid4().hex[:6]}"
    cleanup.append(org)
    first = _org_with_admin(app_client, platform, org, "First")
    made = app_client.post(
        f"/orgs/{org}/teams", json={"id": "T-secret", "name": "M&A"}, headers=first
    )
    assert made.status_code == 201, made.text
    first_log = app_client.get(f"/orgs/{org}/audit-log", headers=first).json()["items"]
    assert any(e["record"] == "T-secret" for e in first_log)
    assert app_client.delete(f"/orgs/{org}", headers=first).status_code == 204

    second = _org_with_admin(app_client, platform, org, "Someone else")
    log = app_client.get(f"/orgs/{org}/audit-log", headers=second).json()
    assert log["items"], log  # its own key's create, at least
    assert all(e["record"] != "T-secret" for e in log["items"]), log
    assert not any(e["action"].startswith("DELETE /orgs/") for e in log["items"]), log
    assert log["total"] == len(log["items"])
