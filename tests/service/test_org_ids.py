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


def _twin_refused(client, first: str, twin: str) -> None:
    """`twin` is refused (409 at `$.id`) once `first` exists, naming `first`."""
    assert client.post("/orgs", json={"id": first, "name": "C"}).status_code == 201
    error = _refused(client.post("/orgs", json={"id": twin, "name": "C"}), 409)
    assert error["message"].startswith(f"organization '{first}' already exists")
    assert error["details"] == [
        {"path": "$.id", "message": f"the existing organization is '{first}'"}
    ]


def test_org_ids_differing_only_in_case_name_one_organization(client) -> None:
    _twin_refused(client, "case-co", "Case-Co")
    # A bundle cannot make the twin either; the existing organization's own bundle still imports.
    twin = _refused(client.post("/bundles", json=small_bundle("CASE-CO")), 409)
    assert twin["details"][0]["path"] == "$.organization.id"
    assert client.post("/bundles", json=small_bundle("case-co")).status_code == 200


def test_case_is_compared_as_unicode_folds_it(client) -> None:
    # lower() keeps "ß", so "STRASSE" was created beside "straße".
    _twin_refused(client, "straße", "STRASSE")


def test_an_org_id_nfkc_would_change_is_refused_not_stored_changed(client) -> None:
    error = _refused(client.post("/orgs", json={"id": "h7-\u212aelvin", "name": "K"}), 422)
    [detail] = error["details"]
    assert detail["path"] == "$.id"
    assert "U+212A (KELVIN SIGN) at position 3" in detail["message"]
    assert "'K'" in detail["message"]
    assert client.get("/orgs/h7-Kelvin").status_code == 404  # nothing made under another id


def test_an_existing_id_sent_with_a_separate_accent_names_the_id_path(client) -> None:
    _twin_refused(client, "café", "cafe\u0301")


def test_a_direction_control_in_an_org_name_is_refused_naming_it(client) -> None:
    error = _refused(client.post("/orgs", json={"id": "x", "name": "Admin \u202egnp.exe"}), 422)
    [detail] = error["details"]
    assert detail["path"] == "$.name"
    assert "U+202E (RIGHT-TO-LEFT OVERRIDE) at position 6" in detail["message"]
    assert client.get("/orgs/x").status_code == 404
    assert client.post("/orgs", json={"id": "x", "name": "X"}).status_code == 201
    renamed = client.patch("/orgs/x", json={"name": "Admin \u202egnp.exe"})
    assert renamed.status_code == 422 and client.get("/orgs/x").json()["name"] == "X"


def test_the_two_org_id_refusals_say_it_in_the_same_words(client) -> None:
    said = "ids hold only characters people can see and type"
    direction = _refused(client.post("/orgs", json={"id": "a\u202eb", "name": "A"}), 422)
    invisible = _refused(client.post("/orgs", json={"id": "a\u200bb", "name": "A"}), 422)
    assert direction["details"][0]["message"].endswith(said)
    assert invisible["details"][0]["message"].endswith(said)
