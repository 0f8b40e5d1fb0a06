"""Bulk import and export over REST: bundles as JSON and YAML, OKRs as CSV.

Imports are all or nothing: a rejected document lists every problem and writes nothing, which the
tests check by reading back through the API.
"""

from __future__ import annotations

import csv
import io
import json
from typing import Any

import pytest
import yaml
from fastapi.testclient import TestClient
from httpx import Response

from alignment.bundle import parse_bundle
from alignment.bundle.csvform import COLUMNS
from tests.conftest import SAMPLE_BUNDLE
from tests.factories import small_bundle

YAML = {"content-type": "application/yaml"}
JSON = {"content-type": "application/json"}
CSV = {"content-type": "text/csv"}


def post_bundle(client: TestClient, document: dict[str, Any], **params: Any) -> Response:
    return client.post("/bundles", json=document, params=params)


def ok(response: Response, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


def rejected(response: Response, code: str = "bundle_invalid") -> dict[str, str]:
    """Assert a 422 in the one error shape; return path -> message of every problem."""
    assert response.status_code == 422, response.text
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "details"}
    assert body["error"]["code"] == code
    assert "nothing was written" in body["error"]["message"] or body["error"]["details"]
    found: dict[str, str] = {}
    for problem in body["error"]["details"]:
        found.setdefault(problem["path"], problem["message"])
    return found


def total(client: TestClient, org: str, path: str) -> int:
    return ok(client.get(f"/orgs/{org}/{path}"))["total"]


def exported(client: TestClient, org: str = "acme") -> dict[str, Any]:
    return ok(client.get(f"/orgs/{org}/bundle"))


def canonical(document: dict[str, Any]) -> dict[str, Any]:
    return parse_bundle(document).model_dump(mode="json")


# --- bundles --------------------------------------------------------------------------------


def test_import_json_bundle(client: TestClient) -> None:
    summary = ok(post_bundle(client, small_bundle()))
    assert summary["organization"] == "acme" and summary["changed"] is True
    assert summary["created"]["okrs"] == 2 and summary["created"]["key_results"] == 3
    assert summary["created"]["check_ins"] == 2 and summary["created"]["kpis"] == 2

    assert ok(client.get("/orgs/acme"))["name"] == "Acme Health"
    okr = ok(client.get("/orgs/acme/okrs/O-1"))
    assert okr["declared_links"] == ["SO-1"] and len(okr["key_results"]) == 2
    assert canonical(exported(client)) == canonical(small_bundle())


def test_import_yaml_bundle(client: TestClient) -> None:
    raw = yaml.safe_dump(small_bundle(), sort_keys=False)
    summary = ok(client.post("/bundles", content=raw.encode(), headers=YAML))
    assert summary["changed"] is True and summary["created"]["okrs"] == 2
    assert canonical(exported(client)) == canonical(small_bundle())


def test_yaml_and_json_import_the_same_thing(client: TestClient) -> None:
    ok(client.post("/bundles", content=yaml.safe_dump(small_bundle()), headers=YAML))
    again = ok(post_bundle(client, small_bundle()))
    assert again["changed"] is False


def test_rejected_bundle_lists_every_problem_and_writes_nothing(client: TestClient) -> None:
    document = small_bundle(org_id="broken")
    document["teams"][1]["parent"] = "T-404"
    document["okrs"][0]["cycle"] = "2099-Q1"
    document["okrs"][1]["key_results"][0]["kind"] = "sideways"
    document["check_ins"][0]["confidence"] = 3
    document["check_ins"][1]["key_result"] = "O-1-KR1"

    found = rejected(post_bundle(client, document))

    assert {
        "$.teams[1].parent",
        "$.okrs[0].cycle",
        "$.okrs[1].key_results[0].kind",
        "$.check_ins[0].confidence",
        "$.check_ins[1].key_result",
    } <= set(found)
    assert client.get("/orgs/broken").status_code == 404


def test_rejected_bundle_does_not_touch_an_existing_organization(client: TestClient) -> None:
    ok(post_bundle(client, small_bundle()))
    before = exported(client)
    document = small_bundle()
    document["organization"]["name"] = "Renamed"
    document["okrs"][0]["title"] = "Changed title"
    document["okrs"].append({"id": "O-3", "team": "T-1", "cycle": "2026-Q3", "title": "New"})
    document["okrs"][1]["team"] = "T-404"

    assert "$.okrs[1].team" in rejected(post_bundle(client, document))

    assert exported(client) == before
    assert client.get("/orgs/acme/okrs/O-3").status_code == 404


def test_rejected_yaml_bundle_reports_paths(client: TestClient) -> None:
    document = small_bundle()
    document["okrs"][0]["declared_link"] = document["okrs"][0].pop("declared_links")
    found = rejected(client.post("/bundles", content=yaml.safe_dump(document), headers=YAML))
    assert "$.okrs[0].declared_link" in found


def test_bundle_that_is_not_json_or_yaml(client: TestClient) -> None:
    raw = json.dumps(small_bundle(), indent=2).replace('"okrs": [', '"okrs" [')
    found = rejected(
        client.post("/bundles", content=raw, headers={"content-type": "application/json"})
    )
    assert "line " in found["$"]
    found = rejected(client.post("/bundles", content="format: x\n  bad: [\n", headers=YAML))
    assert "line " in found["$"]


def test_empty_body_is_rejected(client: TestClient) -> None:
    for body, headers in [(b"", YAML), (b" \n", JSON), (b"", JSON)]:
        response = client.post("/bundles", content=body, headers=headers)
        assert rejected(response) == {"$": "no document: the text is empty"}
        assert "empty" in response.json()["error"]["message"]


def test_a_body_sent_as_json_is_read_as_json_only(client: TestClient) -> None:
    # As YAML this is a mapping ({"format": ...}); declared JSON, it is a JSON syntax error.
    body = "format: goldenthread.bundle/v1\norganization: {id: acme, name: Acme}\n"
    for background in (False, True):
        response = client.post(
            "/bundles", content=body, headers=JSON, params={"background": background}
        )
        assert response.status_code == 422
        assert "not valid JSON" in response.json()["error"]["message"]
        assert rejected(response)["$"].startswith("line 1, column 1: ")
    # The same text sent as YAML is a valid bundle (an organization, nothing else yet).
    assert ok(client.post("/bundles", content=body, headers=YAML))["organization"] == "acme"


def test_a_json_media_type_with_parameters_or_suffix_counts(client: TestClient) -> None:
    for media in ("application/json; charset=utf-8", "application/vnd.goldenthread+json"):
        response = client.post("/bundles", content="okrs: []\n", headers={"content-type": media})
        assert "not valid JSON" in response.json()["error"]["message"]


def test_reimport_reports_no_change(client: TestClient) -> None:
    ok(post_bundle(client, small_bundle()))
    before = exported(client)
    stamp = ok(client.get("/orgs/acme/okrs/O-1"))["updated_at"]

    again = ok(post_bundle(client, small_bundle()))

    assert again["changed"] is False
    assert again["unchanged"]["okrs"] == 2 and again["unchanged"]["check_ins"] == 2
    assert not any(again["created"].values()) and not any(again["updated"].values())
    assert exported(client) == before
    assert ok(client.get("/orgs/acme/okrs/O-1"))["updated_at"] == stamp


def test_reimport_of_the_export_reports_no_change(client: TestClient) -> None:
    ok(post_bundle(client, small_bundle()))
    assert ok(post_bundle(client, exported(client)))["changed"] is False
    yaml_text = client.get("/orgs/acme/bundle", params={"format": "yaml"}).text
    assert ok(client.post("/bundles", content=yaml_text, headers=YAML))["changed"] is False


def test_changed_bundle_updates_by_id(client: TestClient) -> None:
    ok(post_bundle(client, small_bundle()))
    document = small_bundle()
    document["okrs"][1]["title"] = "Halve wasted ward stock"
    summary = ok(post_bundle(client, document))
    assert summary["changed"] is True
    assert summary["updated"]["okrs"] == 1 and summary["unchanged"]["okrs"] == 1
    assert ok(client.get("/orgs/acme/okrs/O-2"))["title"] == "Halve wasted ward stock"


def test_dry_run_writes_nothing(client: TestClient) -> None:
    summary = ok(post_bundle(client, small_bundle(), dry_run="true"))
    assert summary["changed"] is True and summary["created"]["okrs"] == 2
    assert summary["dry_run"] is True  # the counts say what an import would do
    assert client.get("/orgs/acme").status_code == 404
    assert ok(post_bundle(client, small_bundle()))["dry_run"] is False
    client.delete("/orgs/acme")

    ok(post_bundle(client, small_bundle()))
    before = exported(client)
    document = small_bundle()
    document["okrs"][0]["title"] = "Dry"
    dry = ok(post_bundle(client, document, dry_run="true"))
    assert dry["updated"]["okrs"] == 1
    assert exported(client) == before


def test_dry_run_still_rejects_a_bad_bundle(client: TestClient) -> None:
    document = small_bundle()
    document["format"] = "nope"
    assert "$.format" in rejected(post_bundle(client, document, dry_run="true"))


def test_prune_deletes_what_the_bundle_no_longer_lists(client: TestClient) -> None:
    ok(post_bundle(client, small_bundle()))
    document = small_bundle()
    document["check_ins"].pop()
    assert ok(post_bundle(client, document))["changed"] is False
    assert total(client, "acme", "check-ins") == 2
    pruned = ok(post_bundle(client, document, prune="true"))
    assert pruned["deleted"]["check_ins"] == 1
    assert total(client, "acme", "check-ins") == 1


def test_export_yaml(client: TestClient) -> None:
    ok(post_bundle(client, small_bundle()))
    response = client.get("/orgs/acme/bundle", params={"format": "yaml"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/yaml")
    document = yaml.safe_load(response.text)
    assert document["format"] == "goldenthread.bundle/v1"
    assert document == exported(client)
    assert canonical(document) == canonical(small_bundle())


def test_export_errors(client: TestClient) -> None:
    assert client.get("/orgs/nope/bundle").status_code == 404
    assert client.get("/orgs/nope/bundle").json()["error"]["code"] == "not_found"
    ok(post_bundle(client, small_bundle()))
    response = client.get("/orgs/acme/bundle", params={"format": "xml"})
    assert response.status_code == 422 and response.json()["error"]["code"] == "invalid"


@pytest.mark.skipif(not SAMPLE_BUNDLE.exists(), reason="no sample organization")
def test_sample_organization_round_trips(client: TestClient) -> None:
    raw = SAMPLE_BUNDLE.read_bytes()
    first = ok(client.post("/bundles", content=raw, headers={"content-type": "application/json"}))
    assert first["changed"] is True
    org = first["organization"]
    assert ok(client.post("/bundles", content=raw))["changed"] is False
    assert canonical(exported(client, org)) == canonical(json.loads(raw))


# --- CSV ------------------------------------------------------------------------------------


def read_csv(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def write_csv(rows: list[dict[str, Any]], columns: tuple[str, ...] = COLUMNS) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({c: row.get(c, "") for c in columns})
    return out.getvalue()


def post_csv(client: TestClient, text: str, org: str = "acme", **params: Any) -> Response:
    return client.post(f"/orgs/{org}/okrs.csv", content=text.encode(), headers=CSV, params=params)


@pytest.fixture
def acme(client: TestClient) -> None:
    ok(post_bundle(client, small_bundle()))


def test_export_csv(client: TestClient, acme: None) -> None:
    response = client.get("/orgs/acme/okrs.csv")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    rows = read_csv(response.text)
    assert tuple(rows[0]) == COLUMNS
    assert [(r["okr_id"], r["kr_id"]) for r in rows] == [
        ("O-1", "O-1-KR1"),
        ("O-1", "O-1-KR2"),
        ("O-2", "O-2-KR1"),
    ]
    assert rows[0]["declared_links"] == "SO-1" and rows[0]["target"] == "90"
    assert rows[1]["current"] == ""


def test_csv_round_trip_changes_nothing(client: TestClient, acme: None) -> None:
    before = exported(client)
    text = client.get("/orgs/acme/okrs.csv").text
    summary = ok(post_csv(client, text))
    assert summary["changed"] is False
    assert exported(client) == before


def test_csv_round_trip_of_an_okr_without_key_results(client: TestClient, acme: None) -> None:
    ok(
        client.post(
            "/orgs/acme/okrs",
            json={
                "id": "O-3",
                "team": "T-1",
                "cycle": "2026-Q3",
                "title": "Bare",
                "declared_links": ["SO-1", "SO-2"],
            },
        ),
        201,
    )
    text = client.get("/orgs/acme/okrs.csv").text
    bare = [r for r in read_csv(text) if r["okr_id"] == "O-3"]
    assert len(bare) == 1 and bare[0]["kr_id"] == "" and bare[0]["declared_links"] == "SO-1;SO-2"
    assert ok(post_csv(client, text))["changed"] is False


def test_csv_adds_a_new_okr_with_two_key_results(client: TestClient, acme: None) -> None:
    text = write_csv(
        [
            {
                "okr_id": "O-7",
                "team": "T-2",
                "cycle": "2026-Q4",
                "okr_title": "Faster discharge",
                "okr_description": "Medicines ready before noon.",
                "declared_links": "SO-1;SO-2",
                "kr_id": "O-7-KR1",
                "kr_title": "Discharge scripts ready by 11:00",
                "unit": "%",
                "baseline": "35",
                "target": "80",
                "current": "",
                "kind": "lead",
            },
            {
                "okr_id": "O-7",
                "kr_id": "O-7-KR2",
                "kr_title": "Average discharge wait",
                "unit": "min",
                "baseline": "1,240",
                "target": "90.5",
                "kind": "lag",
            },
        ]
    )
    summary = ok(post_csv(client, text))
    assert summary["changed"] is True
    assert summary["created"]["okrs"] == 1 and summary["created"]["key_results"] == 2
    assert summary["unchanged"]["okrs"] == 2

    okr = ok(client.get("/orgs/acme/okrs/O-7"))
    assert okr["team"] == "T-2" and okr["cycle"] == "2026-Q4"
    assert okr["description"] == "Medicines ready before noon."
    assert okr["declared_links"] == ["SO-1", "SO-2"]
    krs = okr["key_results"]
    assert [kr["id"] for kr in krs] == ["O-7-KR1", "O-7-KR2"]
    assert krs[0]["baseline"] == 35 and krs[0]["current"] is None and krs[0]["kind"] == "lead"
    assert krs[1]["baseline"] == 1240 and krs[1]["target"] == 90.5 and krs[1]["unit"] == "min"
    # The rest of the organization is untouched.
    assert total(client, "acme", "okrs") == 3 and total(client, "acme", "check-ins") == 2


def test_csv_updates_an_existing_key_result(client: TestClient, acme: None) -> None:
    rows = read_csv(client.get("/orgs/acme/okrs.csv").text)
    rows[0]["current"] = "60"
    summary = ok(post_csv(client, write_csv(rows)))
    assert summary["updated"]["key_results"] == 1 and summary["unchanged"]["key_results"] == 2
    assert ok(client.get("/orgs/acme/key-results/O-1-KR1"))["current"] == 60


def test_csv_reports_a_key_result_moved_to_another_okr_as_moved(
    client: TestClient, acme: None
) -> None:
    """A row given another OKR's id moves its key result there: the summary says moved (a dry
    run too), not updated; one also edited on the way is still counted once, as moved."""
    rows = read_csv(client.get("/orgs/acme/okrs.csv").text)
    [row] = [r for r in rows if r["kr_id"] == "O-1-KR2"]
    row.update(okr_id="O-2", team="", cycle="", okr_title="", okr_description="")
    row.update(declared_links="", current="7")
    moved = write_csv([r for r in rows if r is not row] + [row])
    dry = ok(post_csv(client, moved, dry_run="true"))
    assert dry["updated"]["key_results"] == 0, dry
    assert dry["moved"] == {"key_results": 1} and dry["changed"] is True
    done = ok(post_csv(client, moved))
    assert done["updated"]["key_results"] == 0 and done["unchanged"]["key_results"] == 2
    assert done["moved"] == {"key_results": 1}
    kr = ok(client.get("/orgs/acme/key-results/O-1-KR2"))
    assert kr["okr"] == "O-2" and kr["current"] == 7
    again = ok(post_csv(client, client.get("/orgs/acme/okrs.csv").text))
    assert again["moved"] == {"key_results": 0} and again["changed"] is False


def test_a_key_result_check_ins_report_on_cannot_move_and_the_refusal_names_its_row(
    client: TestClient, acme: None
) -> None:
    """C-1 reports on O-1-KR1, filed under O-1. A CSV that lists O-1-KR1 under O-2 keeps its
    row: it moves it, which its check-in forbids. The refusal is at the row that moves it and
    says so, not at O-1's row as a key result the file "leaves out"."""
    rows = read_csv(client.get("/orgs/acme/okrs.csv").text)
    [kr1] = [r for r in rows if r["kr_id"] == "O-1-KR1"]
    [kr2] = [r for r in rows if r["kr_id"] == "O-1-KR2"]
    [o2] = [r for r in rows if r["okr_id"] == "O-2"]
    kr2.update({c: kr1[c] for c in ("team", "cycle", "okr_title", "declared_links")})
    kr1.update(okr_id="O-2", team="", cycle="", okr_title="", okr_description="")
    kr1.update(declared_links="")
    before = exported(client)
    found = rejected(post_csv(client, write_csv([o2, kr1, kr2])))  # rows 2, 3, 4
    assert list(found) == ["row 3, column okr_id"], found
    said = found["row 3, column okr_id"]
    assert "O-1-KR1" in said and "C-1" in said and "leaves out" not in said
    assert "cannot move to another OKR" in said
    assert "keep it under OKR 'O-1'" in said and "delete" in said
    assert exported(client) == before


def test_a_key_result_whose_only_change_is_its_place_is_not_updated(
    client: TestClient, acme: None
) -> None:
    """Moving or deleting a key result renumbers the siblings after it (`position`, never
    shown: it keeps their order). They are as they were, so they are not counted as updated;
    one put in another order among its siblings is."""
    new = [
        {"okr_id": "O-7", "team": "T-1", "cycle": "2026-Q3", "okr_title": "Seven"},
        *({"okr_id": "O-7", "kr_id": f"O-7-KR{n}", "kr_title": f"Step {n}"} for n in (1, 2, 3)),
    ]
    new[0].update(new.pop(1))
    assert ok(post_csv(client, write_csv(new)))["created"]["key_results"] == 3
    rows = read_csv(client.get("/orgs/acme/okrs.csv").text)
    seven = [r for r in rows if r["okr_id"] == "O-7"]
    others = [r for r in rows if r["okr_id"] != "O-7"]
    seven[1].update({c: seven[0][c] for c in ("team", "cycle", "okr_title")})
    seven[0].update(okr_id="O-2", team="", cycle="", okr_title="", okr_description="")
    moved = ok(post_csv(client, write_csv(others + seven)))
    assert moved["moved"] == {"key_results": 1}
    assert moved["updated"]["key_results"] == 0, moved
    assert [kr["id"] for kr in ok(client.get("/orgs/acme/okrs/O-7"))["key_results"]] == [
        "O-7-KR2",
        "O-7-KR3",
    ]
    rows = read_csv(client.get("/orgs/acme/okrs.csv").text)
    swapped = [r for r in rows if r["kr_id"] != "O-7-KR2"]  # O-7-KR3 now first: renumbered
    gone = next(r for r in rows if r["kr_id"] == "O-7-KR2")
    [kr3] = [r for r in swapped if r["kr_id"] == "O-7-KR3"]
    kr3.update({c: gone[c] for c in ("team", "cycle", "okr_title")})
    dropped = ok(post_csv(client, write_csv(swapped)))
    assert dropped["deleted"]["key_results"] == 1
    assert dropped["updated"]["key_results"] == 0, dropped
    # Another order among the same siblings is a change: each one whose place changed.
    rows = read_csv(client.get("/orgs/acme/okrs.csv").text)
    first, second = [r for r in rows if r["okr_id"] == "O-1"]
    second.update({c: first[c] for c in ("team", "cycle", "okr_title", "declared_links")})
    rest = [r for r in rows if r["okr_id"] != "O-1"]
    reordered = ok(post_csv(client, write_csv([second, first, *rest])))
    assert reordered["updated"]["key_results"] == 2 and reordered["changed"] is True
    kr_ids = [kr["id"] for kr in ok(client.get("/orgs/acme/okrs/O-1"))["key_results"]]
    assert kr_ids == ["O-1-KR2", "O-1-KR1"]


def test_an_upload_that_only_renumbers_dates_nothing_and_says_nothing_changed(
    client: TestClient, acme: None, session
) -> None:
    """Deleting a key result through the API leaves a gap in the positions; uploading the
    export unchanged closes it. Nothing a reader sees changed: the answer says so, and the OKR
    keeps its `updated_at` (which the report's staleness reads), so the two agree."""
    kr_ids = [kr["id"] for kr in ok(client.get("/orgs/acme/okrs/O-1"))["key_results"]]
    assert len(kr_ids) >= 2
    assert client.delete(f"/orgs/acme/key-results/{kr_ids[0]}").status_code in (200, 204)
    # Long ago: the test's requests share one transaction, whose now() never moves.
    from datetime import UTC, datetime

    from sqlalchemy import update

    from alignment.models import Okr

    long_ago = datetime(2026, 1, 1, tzinfo=UTC)
    session.execute(update(Okr).where(Okr.org_id == "acme").values(updated_at=long_ago))
    session.flush()
    stamp = ok(client.get("/orgs/acme/okrs/O-1"))["updated_at"]
    again = ok(post_csv(client, client.get("/orgs/acme/okrs.csv").text))
    assert again["changed"] is False, again
    assert ok(client.get("/orgs/acme/okrs/O-1"))["updated_at"] == stamp
    assert [kr["id"] for kr in ok(client.get("/orgs/acme/okrs/O-1"))["key_results"]] == kr_ids[1:]


def test_every_count_of_an_import_answer_carries_its_keys(client: TestClient) -> None:
    """`created`, `updated`, `moved` and `deleted` name every kind they count, 0 when none: a
    client reads `deleted.key_results` (docs/csv.md) without checking it is there."""
    first = ok(post_bundle(client, small_bundle()))
    kinds = {"cycles", "teams", "strategic_objectives", "kpis", "okrs", "key_results"}
    kinds |= {"check_ins", "declared_links"}
    for count in ("created", "updated", "unchanged", "deleted"):
        assert set(first[count]) >= kinds, (count, first[count])
    assert first["moved"] == {"key_results": 0} and first["deleted"]["key_results"] == 0
    same = ok(post_csv(client, client.get("/orgs/acme/okrs.csv").text))
    assert same["deleted"]["key_results"] == 0 and same["moved"] == {"key_results": 0}
    assert set(same["deleted"]) == set(first["deleted"])


def test_a_key_result_an_uploaded_okr_leaves_out_is_deleted(client: TestClient, acme: None) -> None:
    """An OKR's rows are the OKR: a download with a key result's row removed, uploaded, removes
    it (dry run first: counted, not written); one with check-ins is refused instead."""
    rows = read_csv(client.get("/orgs/acme/okrs.csv").text)
    without = write_csv([r for r in rows if r["kr_id"] != "O-1-KR2"])
    dry = ok(post_csv(client, without, dry_run="true"))
    assert dry["deleted"]["key_results"] == 1 and dry["changed"] is True
    assert client.get("/orgs/acme/key-results/O-1-KR2").status_code == 200
    done = ok(post_csv(client, without))
    assert done["deleted"]["key_results"] == 1
    assert client.get("/orgs/acme/key-results/O-1-KR2").status_code == 404
    assert ok(client.get("/orgs/acme/key-results/O-2-KR1"))["okr"] == "O-2"  # others stay
    again = ok(post_csv(client, client.get("/orgs/acme/okrs.csv").text))
    assert again["changed"] is False
    reported_on = write_csv([r for r in rows if r["kr_id"] != "O-1-KR1"])  # C-1 reports on it
    refused = post_csv(client, reported_on)
    assert refused.status_code == 422 and "C-1" in refused.text


def test_csv_dry_run_writes_nothing(client: TestClient, acme: None) -> None:
    text = write_csv([{"okr_id": "O-8", "team": "T-1", "cycle": "2026-Q3", "okr_title": "Dry"}])
    assert ok(post_csv(client, text, dry_run="true"))["created"]["okrs"] == 1
    assert client.get("/orgs/acme/okrs/O-8").status_code == 404


def test_csv_into_unknown_organization(client: TestClient) -> None:
    text = write_csv([{"okr_id": "O-8", "team": "T-1", "cycle": "2026-Q3", "okr_title": "X"}])
    response = post_csv(client, text, org="nope")
    assert response.status_code == 404 and response.json()["error"]["code"] == "not_found"
    assert client.get("/orgs/nope/okrs.csv").status_code == 404


def _new_okr_rows() -> list[dict[str, Any]]:
    return [
        {
            "okr_id": "O-7",
            "team": "T-1",
            "cycle": "2026-Q3",
            "okr_title": "New OKR",
            "kr_id": "O-7-KR1",
            "kr_title": "First",
            "baseline": "1",
            "target": "2",
        },
        {"okr_id": "O-7", "kr_id": "O-7-KR2", "kr_title": "Second", "target": "3"},
    ]


def assert_nothing_written(client: TestClient, before: dict[str, Any]) -> None:
    assert exported(client) == before
    assert client.get("/orgs/acme/okrs/O-7").status_code == 404


def test_csv_with_a_bad_number(client: TestClient, acme: None) -> None:
    before = exported(client)
    rows = _new_okr_rows()
    rows[1]["target"] = "three"
    found = rejected(post_csv(client, write_csv(rows)))
    assert list(found) == ["row 3, column target"]
    assert "three" in found["row 3, column target"]
    assert_nothing_written(client, before)


def test_csv_with_an_unknown_team(client: TestClient, acme: None) -> None:
    before = exported(client)
    rows = _new_okr_rows()
    rows[0]["team"] = "T-404"
    found = rejected(post_csv(client, write_csv(rows)))
    assert list(found) == ["row 2, column team"]
    assert "T-404" in found["row 2, column team"]
    assert_nothing_written(client, before)


def test_csv_with_an_unknown_cycle_and_link(client: TestClient, acme: None) -> None:
    rows = _new_okr_rows()
    rows[0]["cycle"] = "2099-Q1"
    rows[0]["declared_links"] = "SO-404"
    found = rejected(post_csv(client, write_csv(rows)))
    assert {"row 2, column cycle", "row 2, column declared_links"} <= set(found)


def test_csv_with_a_bad_kind_names_the_key_result_row(client: TestClient, acme: None) -> None:
    rows = _new_okr_rows()
    rows[1]["kind"] = "sideways"
    found = rejected(post_csv(client, write_csv(rows)))
    assert list(found) == ["row 3, column kind"]


def test_csv_with_an_unknown_column(client: TestClient, acme: None) -> None:
    before = exported(client)
    columns = (*COLUMNS, "owner")
    rows = [{**row, "owner": "Ana"} for row in _new_okr_rows()]
    found = rejected(post_csv(client, write_csv(rows, columns)))
    assert list(found) == ["row 1, column owner"]
    assert_nothing_written(client, before)


def test_csv_with_a_missing_column(client: TestClient, acme: None) -> None:
    columns = tuple(c for c in COLUMNS if c != "cycle")
    found = rejected(post_csv(client, write_csv(_new_okr_rows(), columns)))
    assert list(found) == ["row 1, column cycle"]


def test_csv_with_inconsistent_okr_columns(client: TestClient, acme: None) -> None:
    before = exported(client)
    rows = _new_okr_rows()
    rows[1]["team"] = "T-2"
    rows[1]["okr_title"] = "Another title"
    found = rejected(post_csv(client, write_csv(rows)))
    assert set(found) == {"row 3, column team", "row 3, column okr_title"}
    assert "row 2" in found["row 3, column team"]
    assert_nothing_written(client, before)


def test_csv_lists_every_problem_at_once(client: TestClient, acme: None) -> None:
    rows = _new_okr_rows()
    rows[0]["baseline"] = "one"
    rows[1]["cycle"] = "2026-Q4"
    rows.append({"okr_id": "", "kr_title": "No OKR"})
    found = rejected(post_csv(client, write_csv(rows)))
    assert {"row 2, column baseline", "row 3, column cycle", "row 4, column okr_id"} <= set(found)


def test_csv_key_result_of_a_duplicate_id(client: TestClient, acme: None) -> None:
    rows = _new_okr_rows()
    rows[1]["kr_id"] = "O-1-KR1"  # already a key result of O-1
    found = rejected(post_csv(client, write_csv(rows)))
    assert "row 3, column kr_id" in found
    assert "O-1-KR1" in found["row 3, column kr_id"]
    assert client.get("/orgs/acme/okrs/O-7").status_code == 404


def test_csv_names_a_bad_number_and_a_bad_reference_together(
    client: TestClient, acme: None
) -> None:
    rows = _new_okr_rows()
    rows[0]["team"] = "T-404"
    rows[1]["target"] = "ten"
    found = rejected(post_csv(client, write_csv(rows)))
    assert set(found) == {"row 2, column team", "row 3, column target"}


def test_csv_row_with_more_cells_than_the_header_is_refused(client: TestClient, acme: None) -> None:
    before = exported(client)
    text = write_csv(_new_okr_rows()).rstrip("\n") + ",extra\n"
    found = rejected(post_csv(client, text))
    assert list(found) == ["row 3"] and "'extra'" in found["row 3"]
    assert_nothing_written(client, before)


def test_csv_problems_name_rows_also_inside_messages_and_for_check_ins(
    client: TestClient, acme: None
) -> None:
    rows = _new_okr_rows()
    rows[1]["kr_id"] = "O-7-KR1"  # the same id twice in one OKR
    found = rejected(post_csv(client, write_csv(rows)))
    assert "$." not in " ".join([*found, *found.values()]), found
    # O-1 without its key results: its check-ins would report on key results that are gone.
    reported = client.get("/orgs/acme/check-ins", params={"okr": "O-1"}).json()["items"]
    on_kr = [c for c in reported if c.get("key_result")]
    assert on_kr, "the sample has a check-in on a key result of O-1"
    bare = [{"okr_id": "O-1", "team": "T-1", "cycle": "2026-Q3", "okr_title": "Only a title"}]
    found = rejected(post_csv(client, write_csv(bare)))
    assert list(found) == ["row 2, column kr_id"]
    assert on_kr[0]["id"] in found["row 2, column kr_id"]


def test_text_that_is_not_utf8_is_named_not_a_server_error(client: TestClient, acme: None) -> None:
    latin1 = "okr_id,team\nO-1,Équipe\n".encode("latin-1")
    found = rejected(client.post("/orgs/acme/okrs.csv", content=latin1, headers=CSV))
    assert "line 2, byte 5 of the line (17 of the file)" in found["$"] and "0xc9" in found["$"]
    body = json.dumps(small_bundle()).replace("Acme", "Acm\u00e9").encode("cp1252")
    response = client.post("/bundles", content=body, headers={"content-type": "application/json"})
    assert "not valid UTF-8" in rejected(response)["$"]


def test_an_empty_csv_is_one_problem_not_a_list_of_missing_columns(
    client: TestClient, acme: None
) -> None:
    for empty in (b"", b"\n", b"\n\n"):
        response = client.post("/orgs/acme/okrs.csv", content=empty, headers=CSV)
        found = rejected(response)
        assert list(found) == ["row 1"], found
        assert "no header row" in found["row 1"]
        assert "the file is empty" in response.json()["error"]["message"]


def test_numbers_that_are_not_measurements_are_refused(client: TestClient, acme: None) -> None:
    rows = read_csv(client.get("/orgs/acme/okrs.csv").text)
    rows[0]["baseline"], rows[0]["target"] = "1,5", "nan"
    found = rejected(post_csv(client, write_csv(rows)))
    assert "use '.' for decimals" in found["row 2, column baseline"]
    assert "finite" in found["row 2, column target"]
    rows[0]["baseline"], rows[0]["target"] = "1,240.5", "2000"  # thousands separators are fine
    ok(post_csv(client, write_csv(rows), dry_run="true"))

    document = small_bundle()
    document["okrs"][0]["key_results"][0]["target"] = float("nan")
    text = json.dumps(document)  # Python writes the non-standard NaN token, as some tools do
    found = rejected(
        client.post("/bundles", content=text, headers={"content-type": "application/json"})
    )
    assert any(path.endswith(".key_results[0].target") for path in found)
    kr = document["okrs"][0]["key_results"][0]["id"]
    patch = client.patch(f"/orgs/acme/key-results/{kr}", content='{"target": Infinity}',
                         headers={"content-type": "application/json"})  # fmt: skip
    assert patch.status_code == 422, patch.text


@pytest.mark.parametrize("content", ["", "[]", "just a sentence"])
def test_cli_import_of_a_file_that_is_no_bundle(database_url, tmp_path, content: str) -> None:
    from typer.testing import CliRunner

    from service.cli import app

    path = tmp_path / "odd.json"
    path.write_text(content)
    result = CliRunner().invoke(app, ["import", str(path)])
    assert result.exit_code == 2, result.output
    expected = f"{path} is empty" if not content else "bundle must be a JSON/YAML object"
    assert expected in result.output.replace("\n", "")
    assert "Traceback" not in result.output


def test_csv_okr_columns_count_on_any_row_of_the_okr(client: TestClient, acme: None) -> None:
    rows = read_csv(client.get("/orgs/acme/okrs.csv").text)
    assert (rows[0]["okr_id"], rows[1]["okr_id"]) == ("O-1", "O-1")
    rows[0]["declared_links"], rows[1]["declared_links"] = "", "SO-1"  # sorted sheet
    assert ok(post_csv(client, write_csv(rows)))["changed"] is False
    rows[0]["declared_links"], rows[1]["declared_links"] = "SO-1", "SO-2"
    assert (
        "differs from row 2"
        in rejected(post_csv(client, write_csv(rows)))["row 3, column declared_links"]
    )
    rows[0]["declared_links"], rows[1]["declared_links"] = "", "SO-99"
    found = rejected(post_csv(client, write_csv(rows)))
    assert any("SO-99" in message for message in found.values())


def test_messages_name_no_class_of_the_code(client: TestClient, acme: None) -> None:
    document = small_bundle()
    document["okrs"].append("Grow revenue")
    document["okrs"][0]["key_results"].append(7)
    last = len(document["okrs"][0]["key_results"]) - 1
    found = rejected(post_bundle(client, document))
    for path in ("$.okrs[2]", f"$.okrs[0].key_results[{last}]"):
        assert found[path] == "Input should be an object (field names with their values)"
    created = client.post("/orgs/acme/okrs", json=["O-9", "T-1"])
    assert created.status_code == 422
    assert "object" in created.text and "OkrIn" not in created.text
    assert "extract fields" not in created.text


# --- CSV read strictly: what cannot be read without guessing is refused ---------------------


def test_csv_with_a_quote_left_open_is_refused_not_swallowed(
    client: TestClient, acme: None
) -> None:
    before = exported(client)
    text = (
        ",".join(COLUMNS) + "\n"
        'CSVQ,T-1,2026-Q4,"unterminated,,,K1,kt,,1,2,,lead\n'
        "CSVR,T-1,2026-Q4,second okr,,,,,,,,,\n"
    )
    found = rejected(post_csv(client, text))
    assert list(found) == ["row 2"] and "never closed" in found["row 2"]
    assert exported(client) == before
    assert client.get("/orgs/acme/okrs/CSVQ").status_code == 404


def test_csv_with_a_column_named_twice_is_refused(client: TestClient, acme: None) -> None:
    text = write_csv(_new_okr_rows(), (*COLUMNS, "okr_id"))
    found = rejected(post_csv(client, text))
    assert found == {"row 1, column okr_id": "appears twice (columns 1 and 14)"}


@pytest.mark.parametrize("number", ["1_000", "\u0663", "\uff11\uff12"])
def test_csv_numbers_are_ascii_decimals_only(client: TestClient, acme: None, number: str) -> None:
    rows = _new_okr_rows()
    rows[1]["target"] = number
    found = rejected(post_csv(client, write_csv(rows)))
    assert list(found) == ["row 3, column target"]
    assert f"{number!r} is not a number" in found["row 3, column target"]


def test_csv_round_trip_keeps_apostrophes_and_surrounding_spaces(
    client: TestClient, acme: None
) -> None:
    okr = {
        "id": "O-3",
        "team": "T-1",
        "cycle": "2026-Q3",
        "title": "'=literally quoted",
        "description": "  desc  ",
        "key_results": [{"id": "O-3-KR1", "title": "''+twice", "unit": " % ", "target": 1}],
    }
    ok(client.post("/orgs/acme/okrs", json=okr), 201)
    stored = ok(client.get("/orgs/acme/okrs/O-3"))
    assert (stored["description"], stored["key_results"][0]["unit"]) == ("  desc  ", " % ")
    text = client.get("/orgs/acme/okrs.csv").text
    summary = ok(post_csv(client, text, dry_run="true"))
    assert summary["changed"] is False, summary
    assert ok(client.get("/orgs/acme/okrs/O-3"))["title"] == "'=literally quoted"


def test_csv_sent_as_a_form_upload_is_refused_saying_how_to_send_it(
    client: TestClient, acme: None
) -> None:
    text = write_csv(_new_okr_rows())
    response = client.post("/orgs/acme/okrs.csv", files={"file": ("okrs.csv", text, "text/csv")})
    found = rejected(response, code="invalid")
    assert list(found) == ["header.content-type"]
    message = response.json()["error"]["message"]
    assert "multipart/form-data" in message and "text/csv" in message
    assert client.get("/orgs/acme/okrs/O-7").status_code == 404


def test_csv_sent_compressed_is_refused_naming_the_encoding(client: TestClient, acme: None) -> None:
    import gzip

    body = gzip.compress(write_csv(_new_okr_rows()).encode())
    response = client.post(
        "/orgs/acme/okrs.csv", content=body, headers={**CSV, "content-encoding": "gzip"}
    )
    assert rejected(response, code="invalid") == {
        "header.content-encoding": "'gzip' is not supported"
    }
    message = response.json()["error"]["message"]
    assert "Content-Encoding" in message and "UTF-8" not in message
    identity = {**CSV, "content-encoding": "identity"}
    ok(client.post("/orgs/acme/okrs.csv", content=write_csv(_new_okr_rows()), headers=identity))


def test_csv_round_trip_keeps_empty_texts(client: TestClient, acme: None) -> None:
    okr = {
        "id": "O-3",
        "team": "T-1",
        "cycle": "2026-Q3",
        "title": "Empty texts",
        "description": "",
        "key_results": [{"id": "O-3-KR1", "title": "No unit", "unit": ""}],
    }
    ok(client.post("/orgs/acme/okrs", json=okr), 201)
    text = client.get("/orgs/acme/okrs.csv").text
    assert ok(post_csv(client, text, dry_run="true"))["changed"] is False
    rows = read_csv(text)
    rows.append({**rows[-1], "kr_id": "O-3-KR2", "kr_title": "New, blank unit"})
    ok(post_csv(client, write_csv(rows)))
    stored = ok(client.get("/orgs/acme/okrs/O-3"))
    assert stored["description"] == ""
    assert [kr["unit"] for kr in stored["key_results"]] == ["", None]


@pytest.mark.parametrize("background", ["false", "true"])
def test_a_bundle_sent_as_a_form_upload_or_compressed_is_refused_by_name(
    client: TestClient, background: str
) -> None:
    import gzip

    org = f"sent-as-{background}"
    raw = json.dumps(small_bundle(org)).encode()
    url = f"/bundles?background={background}"
    form = client.post(url, files={"file": ("org.bundle.json", raw, "application/json")})
    assert list(rejected(form, code="invalid")) == ["header.content-type"]
    assert "multipart/form-data" in form.json()["error"]["message"]
    headers = {"content-type": "application/json", "content-encoding": "gzip"}
    packed = client.post(url, content=gzip.compress(raw), headers=headers)
    assert rejected(packed, code="invalid") == {
        "header.content-encoding": "'gzip' is not supported"
    }
    assert client.get(f"/orgs/{org}").status_code == 404  # nothing imported, no job to fail


def test_csv_names_its_own_row_when_the_clash_is_with_a_stored_record_listed_later(
    client: TestClient, acme: None
) -> None:
    """O-1's row takes O-2's key result id: the stored O-2 comes after O-1 in the merged
    bundle, so the clash was found there and named at a bundle path the file does not have."""
    rows = read_csv(client.get("/orgs/acme/okrs.csv").text)
    mine = [r for r in rows if r["okr_id"] == "O-1"]
    mine[0]["kr_id"] = "O-2-KR1"
    before = exported(client)
    found = rejected(post_csv(client, write_csv(mine, tuple(rows[0]))))
    assert "$." not in " ".join([*found, *found.values()]), found
    assert "row 2, column kr_id" in found, found
    assert found["row 2, column kr_id"] == (
        "duplicate key result id 'O-2-KR1': the stored OKR 'O-2' has it"
    )
    assert exported(client) == before
