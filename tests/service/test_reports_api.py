"""Reports over HTTP: build, list, latest, by id in three formats, diff, settings, web pages.

Includes the XSS test: hostile text in every user field must come out escaped, never raw.
"""

from __future__ import annotations

import csv
import io

from sqlalchemy import text

from tests.factories import small_bundle

SCRIPT = "<script>alert(1)</script>"
IMG = '"><img src=x onerror=alert(1)>'


def test_build_list_latest_and_by_id(client, scored_sample) -> None:
    org = scored_sample
    none_yet = client.get(f"/orgs/{org}/reports/latest")
    assert none_yet.status_code == 404
    assert "no report yet" in none_yet.json()["error"]["message"]

    first = client.post(f"/orgs/{org}/reports")
    assert first.status_code == 201, first.text
    doc = first.json()
    assert doc["format"] == "goldenthread.report/v1"
    assert doc["organization"]["id"] == org
    assert doc["summary"]["counts"]["findings"] == len(doc["findings"]) > 0

    second = client.post(
        f"/orgs/{org}/reports", json={"kind": ["stale_checkin"], "cycle": ["2026-Q4"]}
    ).json()
    assert {f["kind"] for f in second["findings"]} == {"stale_checkin"}
    assert second["filters"] == {"kind": ["stale_checkin"], "cycle": ["2026-Q4"]}

    listed = client.get(f"/orgs/{org}/reports").json()
    assert [r["id"] for r in listed["items"]] == [second["id"], doc["id"]]
    assert listed["total"] == 2
    assert "findings" not in listed["items"][0]
    assert listed["items"][0]["counts"]["findings"] == len(second["findings"])

    latest = client.get(f"/orgs/{org}/reports/latest").json()
    assert latest["id"] == second["id"]
    by_id = client.get(f"/orgs/{org}/reports/{doc['id']}").json()
    assert by_id["findings"] == doc["findings"]
    assert client.get(f"/orgs/{org}/reports/999999").status_code == 404
    assert client.get("/orgs/nobody/reports").status_code == 404


def test_formats(client, scored_sample) -> None:
    org = scored_sample
    run = client.post(f"/orgs/{org}/reports").json()
    as_csv = client.get(f"/orgs/{org}/reports/{run['id']}", params={"format": "csv"})
    assert as_csv.status_code == 200
    assert as_csv.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(as_csv.text)))
    assert [r["key"] for r in rows] == [f["key"] for f in run["findings"]]
    as_html = client.get(f"/orgs/{org}/reports/{run['id']}", params={"format": "html"})
    assert as_html.headers["content-type"].startswith("text/html")
    assert "script-src 'sha256-" in as_html.headers["content-security-policy"]
    assert "Brightwater Linen Services" in as_html.text
    bad = client.get(f"/orgs/{org}/reports/{run['id']}", params={"format": "pdf"})
    assert bad.status_code == 422


def test_diff_endpoint(client, scored_sample) -> None:
    org = scored_sample
    everything = client.post(f"/orgs/{org}/reports").json()
    high_only = client.post(f"/orgs/{org}/reports", json={"severity": ["high"]}).json()
    diff = client.get(
        f"/orgs/{org}/reports/{high_only['id']}/diff", params={"against": everything["id"]}
    ).json()
    assert diff["new"] == []
    assert diff["same_inputs"] is True
    assert diff["same_filters"] is False and "different filters" in diff["warning"]
    assert {f["severity"] for f in diff["resolved"]} <= {"medium", "low"}
    assert len(diff["unchanged"]) == len(high_only["findings"])
    missing = client.get(f"/orgs/{org}/reports/{high_only['id']}/diff", params={"against": 0})
    assert missing.status_code == 404


def test_bad_filters_and_settings_are_422_with_paths(client, scored_sample) -> None:
    org = scored_sample
    bad = client.post(f"/orgs/{org}/reports", json={"severity": ["urgent"], "team": ["T-1"]})
    assert bad.status_code == 422
    assert bad.json()["error"]["details"] == [
        {"path": "$.filters.severity[0]", "message": "unknown severity 'urgent'"}
    ]
    put = client.put(f"/orgs/{org}/reports/settings", json={"stale_days": "soon"})
    assert put.status_code == 422
    assert put.json()["error"]["details"][0]["path"] == "$.stale_days"
    unknown = client.put(f"/orgs/{org}/reports/settings", json={"disabled_kinds": ["nope"]})
    assert unknown.status_code == 422


def test_settings_change_what_is_reported(client, scored_sample) -> None:
    org = scored_sample
    defaults = client.get(f"/orgs/{org}/reports/settings").json()
    assert defaults["overrides"] == {} and defaults["effective"]["stale_days"] == 42
    put = client.put(
        f"/orgs/{org}/reports/settings",
        json={"max_okrs_per_team": 6, "disabled_kinds": ["checkin_drift"]},
    )
    assert put.status_code == 200, put.text
    run = client.post(f"/orgs/{org}/reports").json()
    kinds = {f["kind"] for f in run["findings"]}
    assert "checkin_drift" not in kinds
    assert not any(f["key"].startswith("overload:") and "T-9" in f["key"] for f in run["findings"])
    # T-9's 6 OKRs and 17 key results are within 6 OKRs and 6 x 5 key results
    one_off = client.post(f"/orgs/{org}/reports", json={"settings": {"max_okrs_per_team": 3}})
    assert "overload:T-9|2026-Q4" in {f["key"] for f in one_off.json()["findings"]}


def test_web_pages(client, session, scored_sample) -> None:
    index = client.get("/")
    assert index.status_code == 200
    assert index.headers["content-type"].startswith("text/html")
    assert f'href="/orgs/{scored_sample}/report.html"' in index.text
    assert 'href="/docs"' in index.text
    page = client.get(f"/orgs/{scored_sample}/report.html")  # builds the first report
    assert page.status_code == 200 and "Teams × strategic objectives" in page.text
    assert client.get(f"/orgs/{scored_sample}/reports/latest").status_code == 200
    assert "report #" in client.get("/").text
    assert client.get("/orgs/nobody/report.html").status_code == 404
    assert client.head("/").status_code == 200
    assert client.head(f"/orgs/{scored_sample}/report.html").status_code == 200
    # A filtered run made through the API does not replace the organization's page.
    whole = client.get(f"/orgs/{scored_sample}/reports/latest").json()
    narrow = client.post(f"/orgs/{scored_sample}/reports", json={"kind": ["orphan_okr"]}).json()
    assert narrow["id"] > whole["id"]
    page = client.get(f"/orgs/{scored_sample}/report.html").text
    assert f"report #{whole['id']}" in page and f"report #{narrow['id']}" not in page
    # An edited record makes the shown run stale: the page builds a new one. (The test runs in
    # one transaction, where now() stands still, so the shown run is first dated back.)
    session.execute(
        text("UPDATE report_runs SET created_at = created_at - interval '1 hour' WHERE id = :id"),
        {"id": whole["id"]},
    )
    edited = client.patch(f"/orgs/{scored_sample}/okrs/O-14", json={"title": "NPS 46"})
    assert edited.status_code == 200, edited.text
    page = client.get(f"/orgs/{scored_sample}/report.html").text
    newest = client.get(f"/orgs/{scored_sample}/reports/latest").json()
    assert newest["id"] > narrow["id"] and f"report #{newest['id']}" in page


def hostile_bundle() -> dict:
    doc = small_bundle("evil-co", name=f"Evil {SCRIPT} Co")
    doc["teams"][0]["name"] = IMG
    doc["strategic_objectives"][0]["title"] = f"Objective {IMG}"
    okr = doc["okrs"][0]
    okr["title"] = SCRIPT
    okr["key_results"][0]["title"] = IMG  # no numbers: a quality finding quotes it
    for field in ("unit", "baseline", "target", "current"):
        okr["key_results"][0][field] = None
    doc["check_ins"][0]["text"] = f"{SCRIPT} {IMG}"
    return doc


def test_hostile_text_is_escaped_everywhere(client) -> None:
    assert client.post("/bundles", json=hostile_bundle()).status_code == 200
    run = client.post("/orgs/evil-co/reports").json()
    labels = {r["label"] for f in run["findings"] for r in f["records"]}
    assert SCRIPT in labels and IMG in labels  # the data itself is kept as written

    html = client.get(f"/orgs/evil-co/reports/{run['id']}", params={"format": "html"}).text
    assert SCRIPT not in html and IMG not in html
    assert "<img" not in html and "onerror=alert(1)>" not in html
    assert html.count("<script>") == 1  # the page's own, allowed by hash
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "&#34;&gt;&lt;img src=x onerror=alert(1)&gt;" in html

    page = client.get("/").text
    assert SCRIPT not in page and "Evil &lt;script&gt;alert(1)&lt;/script&gt; Co" in page
