"""CRUD over REST for organizations and every record kind, on the real database.

Each test starts from `small_bundle()` imported into organization "acme" (see tests/factories.py)
and is rolled back at the end.
"""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy import text
from sqlalchemy.orm import Session

from alignment.imports import import_document
from alignment.settings import get_settings
from tests.factories import small_bundle

ORG = "/orgs/acme"
KIND_PATHS = ("cycles", "teams", "objectives", "kpis", "okrs", "key-results", "check-ins")


@pytest.fixture
def acme(session: Session) -> None:
    import_document(session, small_bundle())
    session.commit()


def error(response: Response, status: int, code: str | None = None) -> dict[str, Any]:
    """Assert the status and the one error shape; return the inner error object."""
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "details"}
    assert isinstance(body["error"]["code"], str) and body["error"]["message"]
    assert isinstance(body["error"]["details"], list)
    if code is not None:
        assert body["error"]["code"] == code
    return body["error"]


def ok(response: Response, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


def ids(page: dict[str, Any]) -> list[str]:
    return [item["id"] for item in page["items"]]


def backdate(session: Session, table: str, ident: str) -> None:
    """Make a row look a day old: everything in a test shares one transaction, hence one now()."""
    session.execute(
        text(
            f"update {table} set created_at = now() - interval '1 day', "
            "updated_at = now() - interval '1 day' where org_id = 'acme' and id = :id"
        ),
        {"id": ident},
    )
    session.expire_all()


# --- organizations --------------------------------------------------------------------------


def test_organization_crud(client: TestClient) -> None:
    created = ok(client.post("/orgs", json={"id": "beta", "name": "Beta Clinic"}), 201)
    assert created["id"] == "beta" and created["name"] == "Beta Clinic"
    assert created["created_at"] and created["updated_at"]

    assert ok(client.get("/orgs/beta")) == created
    listed = ok(client.get("/orgs"))
    assert "beta" in ids(listed) and listed["total"] >= 1

    renamed = ok(client.patch("/orgs/beta", json={"name": "Beta Hospital"}))
    assert renamed["name"] == "Beta Hospital" and renamed["created_at"] == created["created_at"]
    assert ok(client.get("/orgs/beta"))["name"] == "Beta Hospital"

    assert client.delete("/orgs/beta").status_code == 204
    error(client.get("/orgs/beta"), 404, "not_found")


def test_organization_errors(client: TestClient, acme: None) -> None:
    error(client.post("/orgs", json={"id": "acme", "name": "Again"}), 409, "conflict")
    error(client.post("/orgs", json={"id": "x", "name": "X", "plan": "pro"}), 422, "invalid")
    error(client.post("/orgs", json={"id": "", "name": "X"}), 422, "invalid")
    error(client.post("/orgs", json={"id": "a/b", "name": "X"}), 422, "invalid")  # unreachable
    error(client.post("/orgs", json={"id": "x"}), 422, "invalid")
    error(client.get("/orgs/nope"), 404, "not_found")
    error(client.patch("/orgs/nope", json={"name": "N"}), 404, "not_found")
    error(client.delete("/orgs/nope"), 404, "not_found")


def test_deleting_an_organization_deletes_what_it_owns(client: TestClient, acme: None) -> None:
    assert client.delete("/orgs/acme").status_code == 204
    error(client.get("/orgs/acme"), 404)
    error(client.get(f"{ORG}/okrs"), 404)
    ok(client.post("/orgs", json={"id": "acme", "name": "Acme again"}), 201)
    for path in KIND_PATHS:
        assert ok(client.get(f"{ORG}/{path}"))["total"] == 0, path


def test_records_are_scoped_by_organization(client: TestClient, acme: None) -> None:
    ok(client.post("/orgs", json={"id": "beta", "name": "Beta"}), 201)
    error(client.get("/orgs/beta/okrs/O-1"), 404, "not_found")
    assert ok(client.get("/orgs/beta/okrs"))["total"] == 0
    # The same id may exist in another organization.
    ok(client.post("/orgs/beta/cycles", json={"id": "2026-Q3"}), 201)
    assert ok(client.get(f"{ORG}/cycles/2026-Q3"))["start"] == "2026-07-01"


# --- happy paths per kind -------------------------------------------------------------------


def test_cycle_crud(client: TestClient, acme: None) -> None:
    body = {"id": "2027-Q1", "start": "2027-01-01", "end": "2027-03-31"}
    created = ok(client.post(f"{ORG}/cycles", json=body), 201)
    assert {k: created[k] for k in body} == body
    assert ok(client.get(f"{ORG}/cycles/2027-Q1")) == created

    patched = ok(client.patch(f"{ORG}/cycles/2027-Q1", json={"end": "2027-03-30"}))
    assert patched["end"] == "2027-03-30" and patched["start"] == "2027-01-01"

    assert client.delete(f"{ORG}/cycles/2027-Q1").status_code == 204
    error(client.get(f"{ORG}/cycles/2027-Q1"), 404, "not_found")


def test_team_crud(client: TestClient, acme: None) -> None:
    body = {"id": "T-3", "name": "Outpatient pharmacy", "parent": "T-1", "mission": "Clinics."}
    created = ok(client.post(f"{ORG}/teams", json=body), 201)
    assert {k: created[k] for k in body} == body
    assert "parent_id" not in created and "org_id" not in created
    assert "content_hash" not in created

    patched = ok(client.patch(f"{ORG}/teams/T-3", json={"parent": "T-2"}))
    assert patched["parent"] == "T-2" and patched["name"] == "Outpatient pharmacy"
    assert patched["mission"] == "Clinics."
    assert ok(client.get(f"{ORG}/teams/T-3"))["parent"] == "T-2"

    assert client.delete(f"{ORG}/teams/T-3").status_code == 204
    error(client.get(f"{ORG}/teams/T-3"), 404)


def test_objective_crud_with_nested_kpis(client: TestClient, acme: None) -> None:
    body = {
        "id": "SO-3",
        "title": "Grow the team's skills",
        "description": "Training that sticks.",
        "perspective": "learning_growth",
        "kpis": [
            {
                "id": "SO-3-K1",
                "name": "Staff trained",
                "kind": "lead",
                "unit": "people",
                "baseline": 3,
                "target": 12,
            },
            {"id": "SO-3-K2", "name": "Staff turnover", "kind": "lag", "unit": "%"},
        ],
    }
    created = ok(client.post(f"{ORG}/objectives", json=body), 201)
    assert created["title"] == "Grow the team's skills"
    assert created["perspective"] == "learning_growth"
    assert [k["id"] for k in created["kpis"]] == ["SO-3-K1", "SO-3-K2"]
    assert created["kpis"][0]["target"] == 12 and created["kpis"][1]["baseline"] is None

    kpis = ok(client.get(f"{ORG}/kpis", params={"objective": "SO-3"}))
    assert ids(kpis) == ["SO-3-K1", "SO-3-K2"] and kpis["items"][0]["objective"] == "SO-3"
    assert ok(client.get(f"{ORG}/objectives/SO-3")) == created

    patched = ok(client.patch(f"{ORG}/objectives/SO-3", json={"perspective": None}))
    assert patched["perspective"] is None and patched["title"] == body["title"]
    assert len(patched["kpis"]) == 2

    assert client.delete(f"{ORG}/objectives/SO-3").status_code == 204
    error(client.get(f"{ORG}/objectives/SO-3"), 404)
    error(client.get(f"{ORG}/kpis/SO-3-K1"), 404)  # owned KPIs go with it


def test_kpi_crud(client: TestClient, acme: None) -> None:
    body = {
        "id": "SO-1-K2",
        "objective": "SO-1",
        "name": "Readmission cost",
        "kind": "lag",
        "unit": "EUR",
        "baseline": 1000.0,
        "target": 800.0,
    }
    created = ok(client.post(f"{ORG}/kpis", json=body), 201)
    assert {k: created[k] for k in body} == body
    objective = ok(client.get(f"{ORG}/objectives/SO-1"))
    assert [k["id"] for k in objective["kpis"]] == ["SO-1-K1", "SO-1-K2"]

    patched = ok(client.patch(f"{ORG}/kpis/SO-1-K2", json={"target": 750}))
    assert patched["target"] == 750 and patched["baseline"] == 1000 and patched["unit"] == "EUR"

    assert client.delete(f"{ORG}/kpis/SO-1-K2").status_code == 204
    error(client.get(f"{ORG}/kpis/SO-1-K2"), 404)


def test_okr_crud_with_nested_key_results_and_declared_links(
    client: TestClient, acme: None
) -> None:
    body = {
        "id": "O-3",
        "team": "T-2",
        "cycle": "2026-Q3",
        "title": "Safer insulin on the wards",
        "description": "No missed doses.",
        "declared_links": ["SO-1", "SO-2"],
        "key_results": [
            {
                "id": "O-3-KR1",
                "title": "Missed insulin doses per month",
                "unit": "doses",
                "baseline": 40,
                "target": 10,
                "current": 30,
                "kind": "lag",
            },
            {"id": "O-3-KR2", "title": "Nurses trained on the new chart", "kind": "lead"},
        ],
    }
    created = ok(client.post(f"{ORG}/okrs", json=body), 201)
    assert created["team"] == "T-2" and created["cycle"] == "2026-Q3"
    assert created["declared_links"] == ["SO-1", "SO-2"]
    assert [kr["id"] for kr in created["key_results"]] == ["O-3-KR1", "O-3-KR2"]
    assert created["key_results"][0]["current"] == 30
    assert ok(client.get(f"{ORG}/okrs/O-3")) == created

    krs = ok(client.get(f"{ORG}/key-results", params={"okr": "O-3"}))
    assert ids(krs) == ["O-3-KR1", "O-3-KR2"] and krs["items"][0]["okr"] == "O-3"

    patched = ok(client.patch(f"{ORG}/okrs/O-3", json={"declared_links": ["SO-2"]}))
    assert patched["declared_links"] == ["SO-2"] and patched["title"] == body["title"]
    assert len(patched["key_results"]) == 2

    assert client.delete(f"{ORG}/okrs/O-3").status_code == 204
    error(client.get(f"{ORG}/okrs/O-3"), 404)
    error(client.get(f"{ORG}/key-results/O-3-KR1"), 404)  # owned key results go with it


def test_okr_without_links_or_key_results(client: TestClient, acme: None) -> None:
    body = {"id": "O-4", "team": "T-1", "cycle": "2026-Q4", "title": "Tidy the formulary"}
    created = ok(client.post(f"{ORG}/okrs", json=body), 201)
    assert created["declared_links"] == [] and created["key_results"] == []
    assert created["description"] is None


def test_key_result_crud(client: TestClient, acme: None) -> None:
    body = {
        "id": "O-2-KR2",
        "okr": "O-2",
        "title": "Wards on the sweep",
        "unit": "wards",
        "baseline": 0.0,
        "target": 8.0,
        "current": 2.0,
        "kind": "lead",
    }
    created = ok(client.post(f"{ORG}/key-results", json=body), 201)
    assert {k: created[k] for k in body} == body
    okr = ok(client.get(f"{ORG}/okrs/O-2"))
    assert [kr["id"] for kr in okr["key_results"]] == ["O-2-KR1", "O-2-KR2"]

    patched = ok(client.patch(f"{ORG}/key-results/O-2-KR2", json={"current": 5}))
    assert patched["current"] == 5 and patched["target"] == 8 and patched["title"] == body["title"]

    assert client.delete(f"{ORG}/key-results/O-2-KR2").status_code == 204
    error(client.get(f"{ORG}/key-results/O-2-KR2"), 404)


def test_check_in_crud(client: TestClient, acme: None) -> None:
    body = {
        "id": "C-3",
        "okr": "O-1",
        "key_result": "O-1-KR2",
        "date": "2026-09-01",
        "value": 16.0,
        "confidence": 0.4,
        "text": "Readmissions are down a little.",
    }
    created = ok(client.post(f"{ORG}/check-ins", json=body), 201)
    assert {k: created[k] for k in body} == body

    patched = ok(client.patch(f"{ORG}/check-ins/C-3", json={"confidence": 0.7}))
    assert patched["confidence"] == 0.7 and patched["text"] == body["text"]
    assert patched["key_result"] == "O-1-KR2"

    assert client.delete(f"{ORG}/check-ins/C-3").status_code == 204
    error(client.get(f"{ORG}/check-ins/C-3"), 404)


def test_check_in_with_only_the_required_fields(client: TestClient, acme: None) -> None:
    created = ok(
        client.post(f"{ORG}/check-ins", json={"id": "C-9", "okr": "O-2", "text": "Nothing new."}),
        201,
    )
    assert created["key_result"] is None and created["date"] is None


# --- PATCH ----------------------------------------------------------------------------------


def test_patch_changes_only_sent_fields_and_updates_updated_at(
    client: TestClient, session: Session, acme: None
) -> None:
    backdate(session, "okrs", "O-2")
    before = ok(client.get(f"{ORG}/okrs/O-2"))

    after = ok(client.patch(f"{ORG}/okrs/O-2", json={"title": "Cut wasted ward stock by half"}))

    assert after["title"] == "Cut wasted ward stock by half"
    unchanged = {k: v for k, v in before.items() if k not in ("title", "updated_at")}
    assert {k: after[k] for k in unchanged} == unchanged
    assert after["created_at"] == before["created_at"]
    assert after["updated_at"] > before["updated_at"]
    assert ok(client.get(f"{ORG}/okrs/O-2")) == after


def test_patch_that_sets_a_field_to_null(client: TestClient, acme: None) -> None:
    after = ok(client.patch(f"{ORG}/okrs/O-2", json={"description": None}))
    assert after["description"] is None and after["title"] == "Cut wasted ward stock"


def test_patch_with_same_values_leaves_updated_at(
    client: TestClient, session: Session, acme: None
) -> None:
    backdate(session, "teams", "T-1")
    before = ok(client.get(f"{ORG}/teams/T-1"))
    after = ok(client.patch(f"{ORG}/teams/T-1", json={"name": before["name"]}))
    assert after == before


def test_empty_patch_changes_nothing(client: TestClient, acme: None) -> None:
    before = ok(client.get(f"{ORG}/check-ins/C-1"))
    assert ok(client.patch(f"{ORG}/check-ins/C-1", json={})) == before


def test_organization_patch_updates_updated_at(client: TestClient, session: Session) -> None:
    ok(client.post("/orgs", json={"id": "gamma", "name": "Gamma"}), 201)
    session.execute(
        text("update organizations set updated_at = now() - interval '1 day' where id = 'gamma'")
    )
    session.expire_all()
    before = ok(client.get("/orgs/gamma"))
    after = ok(client.patch("/orgs/gamma", json={"name": "Gamma Care"}))
    assert after["updated_at"] > before["updated_at"]


# --- 404 ------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", KIND_PATHS)
def test_unknown_organization(client: TestClient, path: str) -> None:
    error(client.get(f"/orgs/nope/{path}"), 404, "not_found")
    error(client.get(f"/orgs/nope/{path}/X-1"), 404, "not_found")
    error(client.delete(f"/orgs/nope/{path}/X-1"), 404, "not_found")


def test_create_in_unknown_organization(client: TestClient) -> None:
    error(client.post("/orgs/nope/cycles", json={"id": "2026-Q3"}), 404, "not_found")


@pytest.mark.parametrize("path", KIND_PATHS)
def test_unknown_record(client: TestClient, acme: None, path: str) -> None:
    found = error(client.get(f"{ORG}/{path}/X-404"), 404, "not_found")
    assert "X-404" in found["message"]
    error(client.patch(f"{ORG}/{path}/X-404", json={}), 404, "not_found")
    error(client.delete(f"{ORG}/{path}/X-404"), 404, "not_found")


def test_unknown_route_and_method(client: TestClient, acme: None) -> None:
    assert error(client.get("/nowhere"), 404, "not_found")["details"] == []
    assert error(client.get("/orgs/nope"), 404, "not_found")["details"] == []
    not_allowed = client.put("/orgs")
    error(not_allowed, 405, "method_not_allowed")
    assert not_allowed.headers["allow"] == "GET, HEAD, POST"  # every method the path serves
    assert client.post(f"{ORG}/okrs/O-1").headers["allow"] == "GET, HEAD, PATCH, DELETE"


# --- 409 ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("cycles", {"id": "2026-Q3"}),
        ("teams", {"id": "T-1", "name": "Pharmacy again"}),
        ("objectives", {"id": "SO-1", "title": "Again"}),
        ("kpis", {"id": "SO-1-K1", "objective": "SO-2", "name": "Again"}),
        ("okrs", {"id": "O-1", "team": "T-1", "cycle": "2026-Q3", "title": "Again"}),
        ("key-results", {"id": "O-1-KR1", "okr": "O-2", "title": "Again"}),
        ("check-ins", {"id": "C-1", "okr": "O-1", "text": "Again"}),
    ],
)
def test_duplicate_id(client: TestClient, acme: None, path: str, body: dict[str, Any]) -> None:
    found = error(client.post(f"{ORG}/{path}", json=body), 409, "conflict")
    assert body["id"] in found["message"]


def test_nested_key_result_with_an_existing_id(client: TestClient, acme: None) -> None:
    body = {
        "id": "O-5",
        "team": "T-1",
        "cycle": "2026-Q3",
        "title": "New",
        "key_results": [{"id": "O-1-KR1", "title": "Taken id"}],
    }
    error(client.post(f"{ORG}/okrs", json=body), 409, "conflict")
    error(client.get(f"{ORG}/okrs/O-5"), 404)  # nothing half-written


def test_deleting_a_team_still_used_by_an_okr(client: TestClient, acme: None) -> None:
    found = error(client.delete(f"{ORG}/teams/T-2"), 409, "conflict")
    assert "team 'T-2' is still used by 1 OKR: 'O-2'; move it" in found["message"]
    assert [d["path"] for d in found["details"]] == ["path.record_id"]  # no body to point into
    ok(client.get(f"{ORG}/teams/T-2"))
    # The request failed, but the connection is still usable and nothing was deleted.
    assert ok(client.get(f"{ORG}/okrs", params={"team": "T-2"}))["total"] == 1


def test_deleting_a_cycle_or_a_parent_team_still_in_use(client: TestClient, acme: None) -> None:
    error(client.delete(f"{ORG}/cycles/2026-Q3"), 409, "conflict")
    error(client.delete(f"{ORG}/teams/T-1"), 409, "conflict")  # used by O-1 and parent of T-2


def test_team_can_be_deleted_once_unused(client: TestClient, acme: None) -> None:
    assert client.delete(f"{ORG}/okrs/O-2").status_code == 204
    assert client.delete(f"{ORG}/teams/T-2").status_code == 204


# --- 422 ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "body", "where", "missing"),
    [
        (
            "okrs",
            {"id": "O-9", "team": "T-404", "cycle": "2026-Q3", "title": "Unknown team"},
            "$.team",
            "team 'T-404'",
        ),
        (
            "okrs",
            {"id": "O-9", "team": "T-1", "cycle": "2099-Q1", "title": "Unknown cycle"},
            "$.cycle",
            "cycle '2099-Q1'",
        ),
        (
            "okrs",
            {
                "id": "O-9",
                "team": "T-1",
                "cycle": "2026-Q3",
                "title": "Unknown link",
                "declared_links": ["SO-404"],
            },
            "$.declared_links[0]",
            "strategic objective 'SO-404'",
        ),
        ("teams", {"id": "T-9", "name": "Orphan", "parent": "T-404"}, "$.parent", "team 'T-404'"),
        (
            "kpis",
            {"id": "K-9", "objective": "SO-404", "name": "Unknown objective"},
            "$.objective",
            "strategic objective 'SO-404'",
        ),
        ("key-results", {"id": "KR-9", "okr": "O-404", "title": "Unknown"}, "$.okr", "OKR 'O-404'"),
        ("check-ins", {"id": "C-9", "okr": "O-404", "text": "Unknown"}, "$.okr", "OKR 'O-404'"),
        (
            "check-ins",
            {"id": "C-9", "okr": "O-1", "key_result": "KR-404", "text": "Unknown KR"},
            "$.key_result",
            "key result 'KR-404'",
        ),
    ],
)
def test_unknown_reference(
    client: TestClient, acme: None, path: str, body: dict[str, Any], where: str, missing: str
) -> None:
    found = error(client.post(f"{ORG}/{path}", json=body), 422, "invalid")
    assert found["details"] == [{"path": where, "message": f"no {missing} in this organization"}]
    error(client.get(f"{ORG}/{path}/{body['id']}"), 404)


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("objectives", {"id": "SO-9", "title": "T", "perspective": "people"}, "$.perspective"),
        ("kpis", {"id": "K-9", "objective": "SO-1", "name": "N", "kind": "medium"}, "$.kind"),
        ("key-results", {"id": "KR-9", "okr": "O-1", "title": "T", "kind": "leading"}, "$.kind"),
        ("check-ins", {"id": "C-9", "okr": "O-1", "text": "T", "confidence": 1.2}, "$.confidence"),
        ("cycles", {"id": "C-9", "start": "2026-13-01"}, "$.start"),
    ],
)
def test_bad_value(
    client: TestClient, acme: None, path: str, body: dict[str, Any], field: str
) -> None:
    found = error(client.post(f"{ORG}/{path}", json=body), 422, "invalid")
    assert field in [d["path"] for d in found["details"]]


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        (
            "okrs",
            {
                "id": "O-9",
                "team": "T-1",
                "cycle": "2026-Q3",
                "title": "T",
                "declared_link": ["SO-1"],
            },
            "$.declared_link",
        ),
        ("teams", {"id": "T-9", "name": "N", "parent_id": "T-1"}, "$.parent_id"),
        ("check-ins", {"id": "C-9", "okr": "O-1", "text": "T", "mood": "good"}, "$.mood"),
    ],
)
def test_extra_field(
    client: TestClient, acme: None, path: str, body: dict[str, Any], field: str
) -> None:
    found = error(client.post(f"{ORG}/{path}", json=body), 422, "invalid")
    assert field in [d["path"] for d in found["details"]]


def test_missing_required_fields(client: TestClient, acme: None) -> None:
    found = error(client.post(f"{ORG}/okrs", json={"id": "O-9"}), 422, "invalid")
    assert {"$.team", "$.cycle", "$.title"} <= {d["path"] for d in found["details"]}


def test_extra_field_in_patch(client: TestClient, acme: None) -> None:
    found = error(client.patch(f"{ORG}/okrs/O-1", json={"owner": "Ana"}), 422, "invalid")
    assert "$.owner" in [d["path"] for d in found["details"]]


def test_patch_cannot_change_the_id(client: TestClient, acme: None) -> None:
    error(client.patch(f"{ORG}/okrs/O-1", json={"id": "O-99"}), 422, "invalid")
    ok(client.get(f"{ORG}/okrs/O-1"))


def test_patch_to_an_unknown_reference(client: TestClient, acme: None) -> None:
    found = error(client.patch(f"{ORG}/okrs/O-1", json={"team": "T-404"}), 422, "invalid")
    missing = "no team 'T-404' in this organization"
    assert found["message"] == f"OKR 'O-1': {missing}"
    assert found["details"] == [{"path": "$.team", "message": missing}]
    assert ok(client.get(f"{ORG}/okrs/O-1"))["team"] == "T-1"


def test_patch_a_required_field_to_null(client: TestClient, acme: None) -> None:
    error(client.patch(f"{ORG}/okrs/O-1", json={"title": None}), 422, "invalid")
    assert ok(client.get(f"{ORG}/okrs/O-1"))["title"].startswith("Every heart-failure")


def test_cycle_that_ends_before_it_starts(client: TestClient, acme: None) -> None:
    body = {"id": "C-9", "start": "2027-03-31", "end": "2027-01-01"}
    error(client.post(f"{ORG}/cycles", json=body), 422, "invalid")
    error(client.patch(f"{ORG}/cycles/2026-Q3", json={"end": "2026-06-01"}), 422, "invalid")


def test_check_in_with_a_key_result_of_another_okr(client: TestClient, acme: None) -> None:
    body = {"id": "C-9", "okr": "O-2", "key_result": "O-1-KR1", "text": "Filed wrong."}
    found = error(client.post(f"{ORG}/check-ins", json=body), 422, "invalid")
    assert "O-1-KR1" in found["message"]
    error(client.get(f"{ORG}/check-ins/C-9"), 404)


def test_patch_check_in_to_a_key_result_of_another_okr(client: TestClient, acme: None) -> None:
    error(client.patch(f"{ORG}/check-ins/C-2", json={"key_result": "O-1-KR1"}), 422, "invalid")
    error(client.patch(f"{ORG}/check-ins/C-1", json={"okr": "O-2"}), 422, "invalid")
    assert ok(client.get(f"{ORG}/check-ins/C-1"))["okr"] == "O-1"
    assert ok(client.get(f"{ORG}/check-ins/C-2"))["key_result"] is None


def test_declared_link_listed_twice(client: TestClient, acme: None) -> None:
    error(client.patch(f"{ORG}/okrs/O-1", json={"declared_links": ["SO-1", "SO-1"]}), 422)
    assert ok(client.get(f"{ORG}/okrs/O-1"))["declared_links"] == ["SO-1"]


def test_body_that_is_not_json(client: TestClient, acme: None) -> None:
    response = client.post(
        f"{ORG}/cycles", content=b"{not json", headers={"content-type": "application/json"}
    )
    error(response, 422, "invalid")


# --- lists: pagination and filters ----------------------------------------------------------


def test_pagination(client: TestClient, acme: None) -> None:
    for n in range(1, 13):
        ok(client.post(f"{ORG}/cycles", json={"id": f"C-{n}"}), 201)

    first = ok(client.get(f"{ORG}/cycles", params={"limit": 5}))
    assert first["total"] == 14 and first["limit"] == 5 and first["offset"] == 0
    assert ids(first) == ["C-1", "C-2", "C-3", "C-4", "C-5"]  # C-2 before C-10

    last = ok(client.get(f"{ORG}/cycles", params={"limit": 5, "offset": 10}))
    assert last["total"] == 14 and last["offset"] == 10 and len(last["items"]) == 4

    everything = ok(client.get(f"{ORG}/cycles"))
    assert len(everything["items"]) == 14 == everything["total"]
    assert len(set(ids(everything))) == 14

    beyond = ok(client.get(f"{ORG}/cycles", params={"offset": 100}))
    assert beyond["items"] == [] and beyond["total"] == 14


def test_limit_above_the_largest_is_refused(client: TestClient, acme: None) -> None:
    """A limit is never silently lowered: a short page would read as the end of the list."""
    cap = get_settings().service.page_limit_max
    for path in (f"{ORG}/okrs", "/orgs", f"{ORG}/drafts", f"{ORG}/alignment/orphans"):
        found = error(client.get(path, params={"limit": cap + 1}), 422, "invalid")
        assert found["message"] == f"limit must be at most {cap}", path
        assert found["details"][0]["path"] == "query.limit"
    for path in (f"{ORG}/okrs", "/orgs", f"{ORG}/drafts"):  # acme is not scored: no orphans
        assert ok(client.get(path, params={"limit": cap}))["limit"] == cap
        assert ok(client.get(path))["limit"] == 50


@pytest.mark.parametrize("params", [{"limit": 0}, {"limit": -1}, {"offset": -1}, {"limit": "many"}])
def test_bad_page_parameters(client: TestClient, acme: None, params: dict[str, Any]) -> None:
    found = error(client.get(f"{ORG}/okrs", params=params), 422, "invalid")
    name = next(iter(params))
    assert any(name in d["path"] for d in found["details"])
    error(client.get("/orgs", params=params), 422, "invalid")


def test_okr_filters(client: TestClient, acme: None) -> None:
    assert ids(ok(client.get(f"{ORG}/okrs", params={"team": "T-1"}))) == ["O-1"]
    assert ids(ok(client.get(f"{ORG}/okrs", params={"team": "T-2"}))) == ["O-2"]
    by_cycle = ok(client.get(f"{ORG}/okrs", params={"cycle": "2026-Q4"}))
    assert ids(by_cycle) == ["O-2"] and by_cycle["total"] == 1
    both = ok(client.get(f"{ORG}/okrs", params={"team": "T-1", "cycle": "2026-Q4"}))
    assert both["items"] == [] and both["total"] == 0
    # A team the organization does not have is a mistake, not an empty list (more in
    # test_api_followups.py).
    error(client.get(f"{ORG}/okrs", params={"team": "T-404"}), 422, "invalid")


def test_check_in_filters(client: TestClient, acme: None) -> None:
    ok(client.post(f"{ORG}/check-ins", json={"id": "C-3", "okr": "O-1", "text": "More."}), 201)
    assert ids(ok(client.get(f"{ORG}/check-ins", params={"team": "T-1"}))) == ["C-1", "C-3"]
    assert ids(ok(client.get(f"{ORG}/check-ins", params={"team": "T-2"}))) == ["C-2"]
    assert ids(ok(client.get(f"{ORG}/check-ins", params={"cycle": "2026-Q4"}))) == ["C-2"]
    assert ids(ok(client.get(f"{ORG}/check-ins", params={"okr": "O-1"}))) == ["C-1", "C-3"]
    by_kr = ok(client.get(f"{ORG}/check-ins", params={"key_result": "O-1-KR1"}))
    assert ids(by_kr) == ["C-1"]
    paged = ok(client.get(f"{ORG}/check-ins", params={"team": "T-1", "limit": 1}))
    assert paged["total"] == 2 and len(paged["items"]) == 1


def test_other_filters(client: TestClient, acme: None) -> None:
    assert ids(ok(client.get(f"{ORG}/teams", params={"parent": "T-1"}))) == ["T-2"]
    assert ids(ok(client.get(f"{ORG}/objectives", params={"perspective": "financial"}))) == ["SO-2"]
    assert ids(ok(client.get(f"{ORG}/kpis", params={"objective": "SO-1"}))) == ["SO-1-K1"]
    assert ids(ok(client.get(f"{ORG}/key-results", params={"okr": "O-1", "kind": "lag"}))) == [
        "O-1-KR2"
    ]


# --- health and OpenAPI ---------------------------------------------------------------------


def test_healthz(client: TestClient) -> None:
    assert ok(client.get("/healthz")) == {"status": "ok"}


def test_readyz(client: TestClient) -> None:
    body = ok(client.get("/readyz"))
    assert body["status"] == "ready"


def test_openapi_lists_the_routes(client: TestClient) -> None:
    paths = ok(client.get("/openapi.json"))["paths"]
    assert {"get", "post"} <= set(paths["/orgs"])
    assert {"get", "patch", "delete"} <= set(paths["/orgs/{org_id}"])
    for kind in KIND_PATHS:
        assert {"get", "post"} <= set(paths[f"/orgs/{{org_id}}/{kind}"]), kind
        assert {"get", "patch", "delete"} <= set(paths[f"/orgs/{{org_id}}/{kind}/{{record_id}}"])
    assert "post" in paths["/bundles"]
    assert "get" in paths["/orgs/{org_id}/bundle"]
    assert {"get", "post"} <= set(paths["/orgs/{org_id}/okrs.csv"])
    assert "get" in paths["/healthz"] and "get" in paths["/readyz"]
    okr_filters = {p["name"] for p in paths["/orgs/{org_id}/okrs"]["get"]["parameters"]}
    assert {"team", "cycle", "limit", "offset"} <= okr_filters


def test_a_patch_keeps_the_rules_a_create_has(client: TestClient, acme: None) -> None:
    # PATCH fields are optional, but each keeps its constraints and validators.
    for title in ("", "x" * 2001, "a\x00b"):
        sent = client.patch(f"{ORG}/okrs/O-1", json={"title": title})
        assert sent.status_code == 422, (title[:5], sent.text)
        assert [d["path"] for d in sent.json()["error"]["details"]] == ["$.title"]
    kept = client.patch(f"{ORG}/okrs/O-1", json={"title": "\u202eCut costs", "team": " T-1 "})
    assert kept.status_code == 200, kept.text
    assert kept.json()["title"] == "Cut costs" and kept.json()["team"] == "T-1"


def test_a_taken_id_and_a_moved_check_in_are_refused_at_the_field_sent(
    client: TestClient, acme: None
) -> None:
    body = {"id": "O-1", "team": "T-1", "cycle": "2026-Q3", "title": "Again"}
    found = error(client.post(f"{ORG}/okrs", json=body), 409, "conflict")
    assert found["details"] == [{"path": "$.id", "message": "OKR 'O-1' already exists"}]
    # C-1 reports on O-1's key result: moving it to O-2 alone names what was sent, the OKR.
    found = error(client.patch(f"{ORG}/check-ins/C-1", json={"okr": "O-2"}), 422)
    assert [d["path"] for d in found["details"]] == ["$.okr"]
    assert "send key_result too" in found["details"][0]["message"]
    found = error(client.patch(f"{ORG}/check-ins/C-2", json={"key_result": "O-1-KR1"}), 422)
    assert [d["path"] for d in found["details"]] == ["$.key_result"]
    moved = ok(client.patch(f"{ORG}/check-ins/C-1", json={"okr": "O-2", "key_result": None}))
    assert (moved["okr"], moved["key_result"]) == ("O-2", None)


def test_a_child_created_on_its_own_goes_last_and_the_export_reads_back_unchanged(
    client: TestClient, acme: None
) -> None:
    ok(
        client.post(f"{ORG}/key-results", json={"id": "O-1-KR3", "okr": "O-1", "title": "Third"}),
        201,
    )
    ok(client.post(f"{ORG}/kpis", json={"id": "K-9", "objective": "SO-1", "name": "Later"}), 201)
    assert [kr["id"] for kr in ok(client.get(f"{ORG}/okrs/O-1"))["key_results"]] == [
        "O-1-KR1", "O-1-KR2", "O-1-KR3"
    ]  # fmt: skip
    assert [k["id"] for k in ok(client.get(f"{ORG}/objectives/SO-1"))["kpis"]][-1] == "K-9"
    exported = ok(client.get(f"{ORG}/bundle"))
    again = ok(client.post("/bundles", json=exported, params={"dry_run": "true"}))
    assert again["changed"] is False, again
