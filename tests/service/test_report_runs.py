"""Report runs are numbered per organization, and an unchanged build returns the stored run."""

from __future__ import annotations

from sqlalchemy import text

from tests.factories import small_bundle


def build(client, jobs, org: str, body: dict | None = None) -> dict:
    return jobs.result(client, client.post(f"/orgs/{org}/reports", json=body))


def test_numbers_per_organization_and_one_run_per_distinct_build(client, jobs) -> None:
    # Two organizations of this test's own (the committed sample may hold runs of other tests).
    for org in ("numbered-a", "numbered-b"):
        assert client.post("/bundles", json=small_bundle(org)).status_code == 200
    org = "numbered-a"
    first = build(client, jobs, org)
    assert first["report_id"] == 1 and first["reused"] is False
    assert first["url"] == f"/orgs/{org}/reports/1"

    other = build(client, jobs, "numbered-b")  # its first report is #1, not #2
    assert other["report_id"] == 1 and other["url"] == "/orgs/numbered-b/reports/1"
    assert client.get("/orgs/numbered-b/reports/1").json()["organization"]["id"] == "numbered-b"
    assert client.get(f"/orgs/{org}/reports/1").json()["organization"]["id"] == org

    again = build(client, jobs, org)
    assert again["report_id"] == 1 and again["reused"] is True
    listed = client.get(f"/orgs/{org}/reports").json()
    assert listed["total"] == 1 and listed["items"][0]["number"] == 1

    narrow = build(client, jobs, org, {"kind": ["orphan_okr"]})
    assert narrow["report_id"] == 2 and narrow["reused"] is False
    assert build(client, jobs, org, {"kind": ["orphan_okr"]})["report_id"] == 2
    # The whole-organization build is still equal to its newest run, though #2 came between.
    assert build(client, jobs, org)["report_id"] == 1

    edited = client.patch(f"/orgs/{org}/okrs/O-1", json={"title": "Fewer missed doses on wards"})
    assert edited.status_code == 200, edited.text
    changed = build(client, jobs, org)
    assert changed["report_id"] == 3 and changed["reused"] is False
    assert [r["id"] for r in client.get(f"/orgs/{org}/reports").json()["items"]] == [3, 2, 1]
    diff = client.get(f"/orgs/{org}/reports/3/diff", params={"against": 1}).json()
    assert (diff["report"]["id"], diff["against"]["id"]) == (3, 1)


def test_an_edit_that_changes_nothing_is_recomputed_once(client, jobs, session) -> None:
    org = "recompute-once"
    assert client.post("/bundles", json=small_bundle(org)).status_code == 200
    build(client, jobs, org)
    # The test runs in one transaction, where now() stands still: date the run back.
    session.execute(
        text(
            "UPDATE report_runs SET created_at = created_at - interval '1 hour', "
            "confirmed_at = confirmed_at - interval '1 hour' WHERE org_id = :org"
        ),
        {"org": org},
    )
    title = client.get(f"/orgs/{org}/okrs/O-1").json()["title"]
    for value in ("a passing thought", title):  # edited, then put back
        assert client.patch(f"/orgs/{org}/okrs/O-1", json={"title": value}).status_code == 200
    assert "Recomputing" in client.get(f"/orgs/{org}/report.html").text
    ran = {client.get(f"/jobs/{i}").json()["kind"]: i for i in jobs.drain()}
    assert len(ran) == 2 and set(ran) == {"score", "report"}  # one of each: the edits joined
    job = client.get(f"/jobs/{ran['report']}").json()
    assert job["result"]["report_id"] == 1 and job["result"]["reused"] is True
    page = client.get(f"/orgs/{org}/report.html").text
    assert "Recomputing" not in page and "report #1 " in page
    assert jobs.drain() == []
