"""Organization ids are what was sent or refused plainly: no direction control silently
removed, nothing that cannot round-trip in a URL path, no second organization differing only
in letter case."""

from __future__ import annotations

import pytest

from tests.factories import small_bundle


def _refused(response, status: int) -> dict:
    assert response.status_code == status, response.text
    return response.json()["error"]


def test_a_direction_control_in_an_org_id_is_refused_naming_it(client) -> None:
    error = _refused(client.post("/orgs", json={"id": "h3\u202eevil2", "name": "E"}), 422)
    [detail] = error["details"]
    assert detail["path"] == "$.id"
    assert "U+202E (RIGHT-TO-LEFT OVERRIDE) at position 2" in detail["message"]
    assert client.get("/orgs/h3evil2").status_code == 404  # nothing created under another id


@pytest.mark.parametrize("org_id", ["x%2Fy", "a%20b", "%41cme"])
def test_an_org_id_that_reads_as_a_url_escape_is_refused(client, org_id) -> None:
    error = _refused(client.post("/orgs", json={"id": org_id, "name": "X"}), 422)
    assert "reads as a URL escape" in error["details"][0]["message"]


def test_a_percent_sign_alone_round_trips(client) -> None:
    made = client.post("/orgs", json={"id": "fifty%", "name": "F"})
    assert made.status_code == 201, made.text
    assert client.get("/orgs/fifty%25").json()["id"] == "fifty%"


def test_org_ids_differing_only_in_case_name_one_organization(client) -> None:
    assert client.post("/orgs", json={"id": "case-co", "name": "C"}).status_code == 201
    error = _refused(client.post("/orgs", json={"id": "Case-Co", "name": "C"}), 409)
    assert error["message"].startswith("organization 'case-co' already exists")
    assert error["details"] == [
        {"path": "$.id", "message": "the existing organization is 'case-co'"}
    ]
    # A bundle cannot make the twin either; the existing organization's own bundle still imports.
    twin = _refused(client.post("/bundles", json=small_bundle("CASE-CO")), 409)
    assert twin["details"][0]["path"] == "$.organization.id"
    assert client.post("/bundles", json=small_bundle("case-co")).status_code == 200
