"""Follow-ups of an API review, each kept fixed here.

1. A key result written through its own route dates its OKR (and so the read version cached
   score reads are checked against, and "scoring is due"); a deleted check-in does too.
2. A list filter naming a record the organization does not have is refused (422 at
   `query.<name>`), as an enumerated filter's typo is, instead of answering an empty list.
3. Ids are found however their characters were typed: URL paths, query filters and bodies
   are read in Unicode NFKC form (the store's unit tests: tests/alignment/test_id_normalization).

Most tests run on `small_bundle()` in organization "acme", rolled back at the end; the race runs
the app as in production on a committed organization.
"""

from __future__ import annotations

from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from threading import Barrier

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from alignment.report.facts import changed_since
from alignment.scoring import reads
from tests.alignment import drafting_support as support
from tests.conftest import auth
from tests.service.test_drafts_api import api, djobs
from tests.service.test_records_api import backdate, error, ok
from tests.service.test_records_review_fixes import ORG, acme, committed_org, paths

drafting_connection, dsession, llm_server = (
    support.drafting_connection,
    support.dsession,
    support.llm_server,
)
__all__ = ["acme", "api", "committed_org", "djobs"]  # fixtures, used by name

# Every row of small_bundle() whose `updated_at` says when the organization last changed.
ACME_ROWS = [
    ("okrs", "O-1"),
    ("okrs", "O-2"),
    ("key_results", "O-1-KR1"),
    ("key_results", "O-1-KR2"),
    ("key_results", "O-2-KR1"),
    ("check_ins", "C-1"),
    ("check_ins", "C-2"),
    ("teams", "T-1"),
    ("teams", "T-2"),
    ("strategic_objectives", "SO-1"),
    ("strategic_objectives", "SO-2"),
    ("kpis", "SO-1-K1"),
    ("kpis", "SO-2-K1"),
]


def okr_updated(client: TestClient, okr: str = "O-1") -> str:
    return ok(client.get(f"{ORG}/okrs/{okr}"))["updated_at"]


# --- 1. a key result's change is its OKR's ----------------------------------------------------


def test_editing_a_key_result_dates_its_okr_and_the_read_version(
    client: TestClient, session: Session, acme: None
) -> None:
    backdate(session, "okrs", "O-1")
    backdate(session, "okrs", "O-2")
    before = okr_updated(client)
    version = reads.read_version(session, "acme")

    same = {"title": ok(client.get(f"{ORG}/key-results/O-1-KR1"))["title"]}
    ok(client.patch(f"{ORG}/key-results/O-1-KR1", json=same))
    assert okr_updated(client) == before  # nothing changed, nothing dated

    ok(client.patch(f"{ORG}/key-results/O-1-KR1", json={"title": "Calls within 24 h"}))
    assert okr_updated(client) > before
    assert reads.read_version(session, "acme") != version  # cached score reads are renewed
    shown = ok(client.get(f"{ORG}/okrs/O-1"))["key_results"]
    assert shown[0]["title"] == "Calls within 24 h"
    assert okr_updated(client, "O-2") == before  # only its own OKR


def test_creating_a_key_result_dates_its_okr(
    client: TestClient, session: Session, acme: None
) -> None:
    backdate(session, "okrs", "O-1")
    before = okr_updated(client)
    body = {"id": "O-1-KR3", "okr": "O-1", "title": "Medicine lists checked at discharge"}
    ok(client.post(f"{ORG}/key-results", json=body), 201)
    okr = ok(client.get(f"{ORG}/okrs/O-1"))
    assert okr["updated_at"] > before
    assert "O-1-KR3" in [kr["id"] for kr in okr["key_results"]]


@pytest.mark.parametrize(
    ("record", "okr"), [("key-results/O-1-KR2", "O-1"), ("check-ins/C-2", "O-2")]
)
def test_deleting_a_key_result_or_check_in_dates_its_okr_so_scoring_is_due(
    client: TestClient, session: Session, acme: None, record: str, okr: str
) -> None:
    """Its OKR is scored on its text: a deleted one leaves no row of its own whose
    `updated_at` could say the stored scores are older than the records."""
    for table, ident in ACME_ROWS:
        backdate(session, table, ident)
    scored_at = session.scalar(select(func.now() - timedelta(hours=1)))
    assert not changed_since(session, "acme", scored_at)
    before = okr_updated(client, okr)

    assert client.delete(f"{ORG}/{record}").status_code == 204
    assert okr_updated(client, okr) > before
    assert changed_since(session, "acme", scored_at)


def objective_updated(client: TestClient, objective: str = "SO-1") -> str:
    return ok(client.get(f"{ORG}/objectives/{objective}"))["updated_at"]


def test_a_kpis_writes_date_its_objective_so_scoring_is_due(
    client: TestClient, session: Session, acme: None
) -> None:
    """KPIs are part of their objective as read and of the text it is scored on, as key
    results are of their OKR's; a deleted one leaves no row of its own to say so."""
    for table, ident in ACME_ROWS:
        backdate(session, table, ident)
    scored_at = session.scalar(select(func.now() - timedelta(hours=1)))
    before = objective_updated(client)

    ok(client.patch(f"{ORG}/kpis/SO-1-K1", json={"name": "Readmissions within 30 days"}))
    edited = objective_updated(client)
    assert edited > before
    assert objective_updated(client, "SO-2") == before  # only its own objective

    for table, ident in ACME_ROWS:
        backdate(session, table, ident)
    assert not changed_since(session, "acme", scored_at)
    assert client.delete(f"{ORG}/kpis/SO-1-K1").status_code == 204
    assert objective_updated(client) > before
    assert changed_since(session, "acme", scored_at)


def test_editing_a_check_in_dates_the_check_in_not_its_okr(
    client: TestClient, session: Session, acme: None
) -> None:
    """A check-in is not part of the OKR as read; its own `updated_at` says it changed."""
    backdate(session, "okrs", "O-1")
    backdate(session, "check_ins", "C-1")
    before = okr_updated(client)
    check_in = ok(client.patch(f"{ORG}/check-ins/C-1", json={"text": "Calls on day one."}))
    assert okr_updated(client) == before
    assert check_in["updated_at"] > before


def test_key_result_writes_racing_their_okrs_delete_never_fail(
    app_client: TestClient, committed_org: tuple[str, str]
) -> None:
    """A key result's write locks its OKR before itself, in the order the OKR's own delete
    takes them (the OKR, then its cascade): the other order could deadlock (a 500)."""
    org, admin = committed_org
    base = f"/orgs/{org}"
    calls = [
        ("DELETE", f"{base}/okrs/O-1", None),
        ("DELETE", f"{base}/key-results/O-1-KR1", None),
        ("PATCH", f"{base}/key-results/O-1-KR2", {"title": "Renamed"}),
        ("DELETE", f"{base}/check-ins/C-1", None),
        ("POST", f"{base}/key-results", {"id": "O-1-KR9", "okr": "O-1", "title": "New"}),
    ] * 3
    start = Barrier(len(calls))

    def call(i: int) -> int:
        method, url, body = calls[i]
        start.wait()
        return app_client.request(method, url, json=body, headers=auth(admin)).status_code

    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        statuses = Counter(pool.map(call, range(len(calls))))
    assert set(statuses) <= {200, 201, 204, 404, 409, 422}, statuses
    assert app_client.get(f"{base}/okrs/O-1", headers=auth(admin)).status_code == 404


# --- 2. a filter naming no record is refused, naming it ------------------------------------


@pytest.mark.parametrize(
    ("path", "params", "label"),
    [
        ("okrs", {"team": "T-404"}, "team"),
        ("okrs", {"cycle": "2031-Q9"}, "cycle"),
        ("check-ins", {"okr": "O-404"}, "OKR"),
        ("check-ins", {"key_result": "KR-404"}, "key result"),
        ("check-ins", {"team": "T-404"}, "team"),
        ("key-results", {"okr": "O-404"}, "OKR"),
        ("kpis", {"objective": "SO-404"}, "strategic objective"),
        ("teams", {"parent": "T-404"}, "team"),
    ],
)
def test_a_record_list_refuses_a_filter_naming_no_record(
    client: TestClient, acme: None, path: str, params: dict[str, str], label: str
) -> None:
    [(name, value)] = params.items()
    found = error(client.get(f"{ORG}/{path}", params=params), 422, "invalid")
    assert paths(found) == [f"query.{name}"]
    assert found["details"][0]["message"] == f"no {label} {value!r} in this organization"
    assert repr(value) in found["message"]


def test_a_record_list_names_every_unknown_filter_and_keeps_known_ones(
    client: TestClient, acme: None
) -> None:
    both = error(client.get(f"{ORG}/okrs", params={"team": "T-404", "cycle": "X"}), 422)
    assert sorted(paths(both)) == ["query.cycle", "query.team"]
    assert ok(client.get(f"{ORG}/okrs", params={"team": "T-2"}))["total"] == 1
    # A record that exists but matches nothing is still an empty list, not a mistake.
    assert ok(client.get(f"{ORG}/okrs", params={"team": "T-1", "cycle": "2026-Q4"}))["total"] == 0


@pytest.mark.parametrize(
    ("name", "value", "label"),
    [
        ("team", "T-404", "team"),
        ("objective", "SO-404", "strategic objective"),
        ("cycle", "2031-Q9", "cycle"),
    ],
)
def test_the_drafts_list_refuses_a_filter_naming_no_record(
    client: TestClient, acme: None, name: str, value: str, label: str
) -> None:
    found = error(client.get(f"{ORG}/drafts", params={name: value}), 422, "invalid")
    assert paths(found) == [f"query.{name}"]
    assert found["details"][0]["message"] == f"no {label} {value!r} in this organization"
    assert ok(client.get(f"{ORG}/drafts", params={"team": "T-1"}))["total"] == 0


def test_the_drafts_list_finds_a_cycle_only_a_draft_names(api, djobs) -> None:
    """A suggestion proposes the next cycle, created only when it is approved: a filter on it
    finds the draft rather than being refused."""
    base = f"/orgs/{support.ORG}/drafts"
    draft = djobs.draft(
        api, api.post(f"{base}/suggestions", json={"team": "T-13", "objectives": ["SO-12"]})
    )
    assert api.get(f"/orgs/{support.ORG}/cycles/{draft['cycle']}").status_code == 404
    listed = api.get(base, params={"cycle": draft["cycle"]}).json()
    assert [d["id"] for d in listed["items"]] == [draft["id"]]
    refused = api.get(base, params={"cycle": "2031-Q9"})
    assert refused.status_code == 422 and refused.json()["error"]["details"][0]["path"] == (
        "query.cycle"
    )


# --- 3. ids are found however they were typed ------------------------------------------------

NFD_CAFE, NFC_CAFE = "Cafe\u0301", "Caf\u00e9"


def test_a_record_is_found_by_any_form_of_its_id(client: TestClient, acme: None) -> None:
    assert ok(client.get("/orgs/ａｃｍｅ/okrs/Ｏ－１"))["id"] == "O-1"
    changed = ok(client.patch(f"{ORG}/okrs/Ｏ－１", json={"declared_links": ["ＳＯ－２"]}))
    assert changed["id"] == "O-1" and changed["declared_links"] == ["SO-2"]
    assert ok(client.get(f"{ORG}/okrs", params={"team": "Ｔ－１"}))["total"] == 1


def test_an_id_is_stored_in_one_form_and_its_other_form_is_the_same_record(
    client: TestClient, acme: None
) -> None:
    body = {"id": NFD_CAFE, "team": "Ｔ－１", "cycle": "2026-Q3", "title": "Café for staff"}
    made = ok(client.post(f"{ORG}/okrs", json=body), 201)
    assert made["id"] == NFC_CAFE and made["team"] == "T-1"
    assert ok(client.get(f"{ORG}/okrs/{NFD_CAFE}"))["id"] == NFC_CAFE
    again = error(client.post(f"{ORG}/okrs", json={**body, "id": NFC_CAFE}), 409, "conflict")
    assert repr(NFC_CAFE) in again["message"]
    kr = {"id": "KR-１", "okr": NFD_CAFE, "title": "Cups refilled"}
    assert ok(client.post(f"{ORG}/key-results", json=kr), 201)["okr"] == NFC_CAFE
    assert client.delete(f"{ORG}/key-results/KR-1").status_code == 204


def test_a_path_segment_whose_normal_form_is_another_path_is_kept_as_sent(
    client: TestClient, acme: None
) -> None:
    """A fullwidth solidus reads as "/": normalized, "Ｏ－１／links" would reach another route
    (O-1's links)."""
    found = error(client.get(f"{ORG}/okrs/Ｏ－１／links"), 404)
    assert "'Ｏ－１／links'" in found["message"]


def test_a_team_lead_key_and_a_report_name_teams_in_any_form(
    client: TestClient, acme: None
) -> None:
    made = ok(client.post(f"{ORG}/keys", json={"role": "team_lead", "teams": ["Ｔ－１"]}), 201)
    assert made["teams"] == ["T-1"]
    queued = client.post(f"{ORG}/reports", json={"team": ["Ｔ－１"], "cycle": ["２０２６-Q3"]})
    assert queued.status_code == 202, queued.text
