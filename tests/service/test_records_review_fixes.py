"""What an API review of the record endpoints found, each kept fixed here.

Child lists on PATCH, child ids reported as themselves, nulls named by their API field, one
delete of a record however many race for it, an objective kept while OKRs declare it, declared
links that date their OKR, enumerated filters that refuse a typo, dates that are dates.
Most tests run on `small_bundle()` in organization "acme", rolled back at the end; the race
runs the app as in production on a committed organization.
"""

from __future__ import annotations

import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from threading import Barrier
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from alignment import repository
from alignment.access import keys
from alignment.access.principal import Role
from alignment.bundle.validate import parse_bundle
from alignment.errors import BundleInvalid
from alignment.imports import import_document
from alignment.models import AuditEntry, Okr
from alignment.scoring import reads
from tests.conftest import auth
from tests.factories import small_bundle
from tests.service.test_records_api import backdate, error, ok

ORG = "/orgs/acme"


@pytest.fixture
def acme(session: Session) -> None:
    import_document(session, small_bundle())
    session.commit()


def paths(found: dict[str, Any]) -> list[str]:
    return [d["path"] for d in found["details"]]


# --- 1. child lists are records of their own: PATCH refuses them, saying where they change ----


@pytest.mark.parametrize(
    ("record", "field", "route"),
    [("objectives/SO-1", "kpis", "/kpis"), ("okrs/O-1", "key_results", "/key-results")],
)
def test_patch_refuses_a_child_list_and_says_where_it_changes(
    client: TestClient, acme: None, record: str, field: str, route: str
) -> None:
    before = ok(client.get(f"{ORG}/{record}"))
    sent = [{"id": "NEW-1", "name": "New", "title": "New"}]
    found = error(client.patch(f"{ORG}/{record}", json={field: sent}), 422, "invalid")
    assert paths(found) == [f"$.{field}"]
    assert route in found["details"][0]["message"]
    assert ok(client.get(f"{ORG}/{record}")) == before


def test_patch_schemas_do_not_advertise_child_lists(client: TestClient) -> None:
    schemas = ok(client.get("/openapi.json"))["components"]["schemas"]
    patches = {name: s for name, s in schemas.items() if name.endswith("Patch")}
    assert "ObjectiveInPatch" in patches and "OkrInPatch" in patches
    for name, schema in patches.items():
        assert not {"kpis", "key_results"} & set(schema["properties"]), name


# --- 2. a child's id problem names the child, where it is -----------------------------------


def _okr(key_results: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "id": "O-7",
        "team": "T-1",
        "cycle": "2026-Q3",
        "title": "New",
        "key_results": key_results,
    }


def _objective(kpis: list[dict[str, Any]]) -> dict[str, Any]:
    return {"id": "SO-7", "title": "New", "kpis": kpis}


@pytest.mark.parametrize(
    ("path", "body", "where"),
    [
        (
            "okrs",
            _okr(
                [{"id": "K1", "title": "a"}, {"id": "K2", "title": "b"}, {"id": "K1", "title": "c"}]
            ),
            "$.key_results[2].id",
        ),
        (
            "objectives",
            _objective([{"id": "K1", "name": "a"}, {"id": " K1", "name": "b"}]),
            "$.kpis[1].id",
        ),
    ],
)
def test_a_child_id_twice_in_one_body_is_422_at_the_second(
    client: TestClient, acme: None, path: str, body: dict[str, Any], where: str
) -> None:
    found = error(client.post(f"{ORG}/{path}", json=body), 422, "invalid")
    assert paths(found) == [where]
    assert "'K1' appears twice" in found["details"][0]["message"]
    assert "already exists" not in found["message"]
    error(client.get(f"{ORG}/{path}/{body['id']}"), 404)


@pytest.mark.parametrize(
    ("path", "body", "label", "taken", "where"),
    [
        (
            "okrs",
            _okr([{"id": "K1", "title": "a"}, {"id": "O-1-KR1", "title": "b"}]),
            "key result",
            "O-1-KR1",
            "$.key_results[1].id",
        ),
        (
            "objectives",
            _objective([{"id": "SO-2-K1", "name": "a"}]),
            "KPI",
            "SO-2-K1",
            "$.kpis[0].id",
        ),
    ],
)
def test_a_child_id_used_elsewhere_is_409_naming_the_child(
    client: TestClient,
    acme: None,
    path: str,
    body: dict[str, Any],
    label: str,
    taken: str,
    where: str,
) -> None:
    found = error(client.post(f"{ORG}/{path}", json=body), 409, "conflict")
    assert found["message"] == f"{label} {taken!r} already exists"
    assert paths(found) == [where]
    error(client.get(f"{ORG}/{path}/{body['id']}"), 404)  # nothing half-written


# --- 3. nulls refused by API field name, all at once -------------------------------------------


@pytest.mark.parametrize(
    ("record", "body"),
    [
        ("okrs/O-1", {"team": None, "cycle": None, "title": None}),
        ("check-ins/C-2", {"text": None, "okr": None}),
        ("key-results/O-1-KR1", {"okr": None, "title": None}),
        ("kpis/SO-1-K1", {"objective": None}),
        ("teams/T-1", {"name": None}),
    ],
)
def test_patch_lists_every_required_field_sent_as_null(
    client: TestClient, acme: None, record: str, body: dict[str, Any]
) -> None:
    found = error(client.patch(f"{ORG}/{record}", json=body), 422, "invalid")
    assert sorted(paths(found)) == sorted(f"$.{name}" for name in body)
    assert all("cannot be null" in d["message"] for d in found["details"])


def test_patch_still_sets_optional_fields_to_null(client: TestClient, acme: None) -> None:
    after = ok(client.patch(f"{ORG}/check-ins/C-1", json={"key_result": None, "date": None}))
    assert after["key_result"] is None and after["date"] is None


# --- 4. concurrent deletes of one record: one 204, one audit entry ---------------------------


@pytest.fixture
def committed_org(engine: Engine, cleanup: list[str]) -> tuple[str, str]:
    org = f"del-{uuid.uuid4().hex[:6]}"
    cleanup.append(org)
    with Session(engine) as s, s.begin():
        import_document(s, small_bundle(org))
        admin = keys.create_key(s, org_id=org, role=Role.admin)[1]
    return org, admin


@pytest.mark.parametrize("record", ["okrs/O-2", "check-ins/C-1"])
def test_concurrent_deletes_of_one_record_answer_204_once(
    app_client: TestClient, committed_org: tuple[str, str], engine: Engine, record: str
) -> None:
    org, admin = committed_org
    start = Barrier(10)

    def delete(_: int) -> int:
        start.wait()
        return app_client.delete(f"/orgs/{org}/{record}", headers=auth(admin)).status_code

    with ThreadPoolExecutor(max_workers=10) as pool:
        statuses = Counter(pool.map(delete, range(10)))
    assert statuses == Counter({204: 1, 404: 9})
    with Session(engine) as s:
        audited = s.scalar(
            select(func.count())
            .select_from(AuditEntry)
            .where(AuditEntry.org_id == org, AuditEntry.action.startswith("DELETE"))
        )
    assert audited == 1
    assert app_client.delete(f"/orgs/{org}/{record}", headers=auth(admin)).status_code == 404


# --- 5. an objective that OKRs declare is not deleted under them ---------------------------


def test_deleting_an_objective_declared_by_okrs_is_refused_naming_them(
    client: TestClient, acme: None
) -> None:
    ok(client.patch(f"{ORG}/okrs/O-2", json={"declared_links": ["SO-2", "SO-1"]}))
    found = error(client.delete(f"{ORG}/objectives/SO-1"), 409, "conflict")
    assert "'O-1'" in found["message"] and "'O-2'" in found["message"]
    assert "declared_links" in found["message"]
    assert [d["message"] for d in found["details"]] == [
        "declared by OKR 'O-1'",
        "declared by OKR 'O-2'",
    ]
    assert ok(client.get(f"{ORG}/okrs/O-1"))["declared_links"] == ["SO-1"]
    assert len(ok(client.get(f"{ORG}/objectives/SO-1"))["kpis"]) == 1


def test_an_objective_nobody_declares_goes_with_its_kpis(client: TestClient, acme: None) -> None:
    ok(client.patch(f"{ORG}/okrs/O-1", json={"declared_links": []}))
    assert client.delete(f"{ORG}/objectives/SO-1").status_code == 204
    error(client.get(f"{ORG}/objectives/SO-1"), 404)
    error(client.get(f"{ORG}/kpis/SO-1-K1"), 404)


# --- 6. changing declared links dates the OKR -----------------------------------------------


def test_changing_declared_links_bumps_updated_at_and_the_read_version(
    client: TestClient, session: Session, acme: None
) -> None:
    backdate(session, "okrs", "O-1")
    before = ok(client.get(f"{ORG}/okrs/O-1"))
    version = reads.read_version(session, "acme")

    same = ok(client.patch(f"{ORG}/okrs/O-1", json={"declared_links": ["SO-1"]}))
    assert same["updated_at"] == before["updated_at"]

    after = ok(client.patch(f"{ORG}/okrs/O-1", json={"declared_links": ["SO-1", "SO-2"]}))
    assert after["declared_links"] == ["SO-1", "SO-2"]
    assert after["updated_at"] > before["updated_at"]
    assert reads.read_version(session, "acme") != version  # cached score reads are renewed
    row = session.get(Okr, {"org_id": "acme", "id": "O-1"})
    assert row is not None and row.title == before["title"]


# --- 7. enumerated filters refuse a typo ----------------------------------------------------


@pytest.mark.parametrize(
    ("path", "name", "valid"),
    [
        ("objectives", "perspective", "'learning_growth'"),
        ("kpis", "kind", "'lag'"),
        ("key-results", "kind", "'lead'"),
    ],
)
def test_an_enumerated_filter_refuses_an_unknown_value(
    client: TestClient, acme: None, path: str, name: str, valid: str
) -> None:
    found = error(client.get(f"{ORG}/{path}", params={name: "bogus"}), 422, "invalid")
    assert paths(found) == [f"query.{name}"]
    assert valid in found["details"][0]["message"]
    good = valid.strip("'")
    assert ok(client.get(f"{ORG}/{path}", params={name: good}))["total"] >= 0


# --- 9. a date is a date as YYYY-MM-DD, never a number ---------------------------------------


@pytest.mark.parametrize("value", [0, 86400, "86400", "2026-07-01T00:00:00", True])
def test_a_cycle_date_that_is_not_yyyy_mm_dd_is_refused(
    client: TestClient, acme: None, value: Any
) -> None:
    found = error(
        client.post(f"{ORG}/cycles", json={"id": "C11", "start": value, "end": value}), 422
    )
    assert paths(found) == ["$.start", "$.end"]
    assert all("a date as YYYY-MM-DD" in d["message"] for d in found["details"])
    error(client.get(f"{ORG}/cycles/C11"), 404)


def test_a_check_in_date_that_is_a_number_is_refused(client: TestClient, acme: None) -> None:
    found = error(client.patch(f"{ORG}/check-ins/C-1", json={"date": 0}), 422)
    assert paths(found) == ["$.date"]
    assert ok(client.get(f"{ORG}/check-ins/C-1"))["date"] == "2026-08-15"


def test_a_bundle_with_a_number_as_a_date_is_refused() -> None:
    document = small_bundle()
    document["cycles"][0]["start"] = 0
    with pytest.raises(BundleInvalid) as refused:
        parse_bundle(document)
    assert [d["path"] for d in refused.value.details] == ["$.cycles[0].start"]


def test_repository_refuses_the_second_child_id_before_writing(
    session: Session, acme: None
) -> None:
    from alignment.errors import Invalid
    from alignment.records import KINDS

    with pytest.raises(Invalid):
        repository.create_record(
            session,
            KINDS["okrs"],
            "acme",
            {**_okr([]), "key_results": [{"id": "K1", "title": "a"}, {"id": "K1", "title": "b"}]},
        )
    assert session.get(Okr, {"org_id": "acme", "id": "O-7"}) is None
