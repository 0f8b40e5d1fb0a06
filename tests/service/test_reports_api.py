"""Reports over HTTP: build, list, latest, by id in three formats, diff, settings, web pages.

Includes the XSS test: hostile text in every user field must come out escaped, never raw.
"""

from __future__ import annotations

import csv
import io
from datetime import timedelta

from sqlalchemy import text

from alignment.settings import get_settings
from tests.factories import small_bundle

SCRIPT = "<script>alert(1)</script>"
IMG = '"><img src=x onerror=alert(1)>'


def test_build_list_latest_and_by_id(client, jobs, scored_sample) -> None:
    org = scored_sample
    none_yet = client.get(f"/orgs/{org}/reports/latest")
    assert none_yet.status_code == 404
    assert "no report yet" in none_yet.json()["error"]["message"]

    first = client.post(f"/orgs/{org}/reports")
    assert first.status_code == 202, first.text
    assert first.headers["location"] == f"/jobs/{first.json()['id']}"
    assert first.json()["status"] == "queued" and first.json()["kind"] == "report"
    result = jobs.result(client, first)
    assert result["url"] == f"/orgs/{org}/reports/{result['report_id']}"
    doc = client.get(result["url"]).json()
    assert doc["id"] == result["report_id"] and result["findings"] == len(doc["findings"])
    assert doc["format"] == "goldenthread.report/v1"
    assert doc["organization"]["id"] == org
    assert doc["summary"]["counts"]["findings"] == len(doc["findings"]) > 0

    second = jobs.report(
        client,
        client.post(f"/orgs/{org}/reports", json={"kind": ["stale_checkin"], "cycle": ["2026-Q4"]}),
    )
    assert {f["kind"] for f in second["findings"]} == {"stale_checkin"}
    assert second["filters"] == {"kind": ["stale_checkin"], "cycle": ["2026-Q4"]}

    listed = client.get(f"/orgs/{org}/reports").json()
    assert [r["id"] for r in listed["items"]] == [second["id"], doc["id"]]
    assert listed["total"] == 2
    assert "findings" not in listed["items"][0]
    assert listed["items"][0]["counts"]["findings"] == len(second["findings"])

    # "latest" is the organization's picture: the newest run without filters.
    latest = client.get(f"/orgs/{org}/reports/latest").json()
    assert latest["id"] == doc["id"]
    # Compressed for clients that accept gzip, the same document either way.
    packed = client.get(f"/orgs/{org}/reports/latest", headers={"Accept-Encoding": "gzip"})
    plain = client.get(f"/orgs/{org}/reports/latest", headers={"Accept-Encoding": "identity"})
    assert packed.headers["content-encoding"] == "gzip"
    assert "content-encoding" not in plain.headers
    assert packed.headers["vary"] == plain.headers["vary"] == "Accept-Encoding"
    assert int(packed.headers["content-length"]) < len(plain.content) / 4
    assert packed.json() == plain.json() == latest
    newest = client.get(f"/orgs/{org}/reports/latest", params={"include_filtered": True})
    assert newest.json()["id"] == second["id"]
    by_id = client.get(f"/orgs/{org}/reports/{doc['id']}").json()
    assert by_id["findings"] == doc["findings"]
    assert client.get(f"/orgs/{org}/reports/999999").status_code == 404
    assert client.get("/orgs/nobody/reports").status_code == 404


def test_formats(client, jobs, scored_sample) -> None:
    org = scored_sample
    run = jobs.report(client, client.post(f"/orgs/{org}/reports"))
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


def test_diff_endpoint(client, jobs, scored_sample) -> None:
    org = scored_sample
    everything = jobs.report(client, client.post(f"/orgs/{org}/reports"))
    high_only = jobs.report(
        client, client.post(f"/orgs/{org}/reports", json={"severity": ["high"]})
    )
    diff = client.get(
        f"/orgs/{org}/reports/{high_only['id']}/diff", params={"against": everything["id"]}
    ).json()
    assert diff["new"] == []
    assert diff["same_inputs"] is True
    assert diff["same_filters"] is False and "different filters" in diff["warning"]
    assert diff["same_config"] is True and diff["same_as_of"] is True
    assert {f["severity"] for f in diff["resolved"]} <= {"medium", "low"}
    assert len(diff["unchanged"]) == len(high_only["findings"])
    missing = client.get(f"/orgs/{org}/reports/{high_only['id']}/diff", params={"against": 0})
    assert missing.status_code == 404


def test_bad_filters_and_settings_are_422_with_paths(client, scored_sample) -> None:
    org = scored_sample
    bad = client.post(f"/orgs/{org}/reports", json={"severity": ["urgent"], "team": ["T-1"]})
    assert bad.status_code == 422
    assert bad.json()["error"]["details"] == [
        {"path": "$.severity[0]", "message": "unknown severity 'urgent'; valid: high, medium, low"}
    ]
    assert bad.json()["error"]["message"] == "report filters are not valid: severity 'urgent'"
    put = client.put(f"/orgs/{org}/reports/settings", json={"stale_days": "soon"})
    assert put.status_code == 422
    assert put.json()["error"]["details"][0]["path"] == "$.stale_days"
    unknown = client.put(f"/orgs/{org}/reports/settings", json={"disabled_kinds": ["nope"]})
    assert unknown.status_code == 422
    # Each end of a range may be set alone, but not past the other end (stored or default).
    crossed = client.put(
        f"/orgs/{org}/reports/settings", json={"min_key_results": 6, "low_confidence": 0.9}
    )
    assert crossed.status_code == 422
    details = crossed.json()["error"]["details"]
    assert [d["path"] for d in details] == ["$.min_key_results", "$.low_confidence"]
    assert details[0]["message"] == "min_key_results (6) is above max_key_results (5)"
    assert details[1]["message"] == "low_confidence (0.9) is above high_confidence (0.8)"
    assert client.get(f"/orgs/{org}/reports/settings").json()["overrides"] == {}  # nothing kept
    one_off = client.post(f"/orgs/{org}/reports", json={"settings": {"max_key_results": 1}})
    assert one_off.status_code == 422
    assert one_off.json()["error"]["details"][0]["path"] == "$.settings.max_key_results"
    # What pydantic would read as a number is no number when sent: true is not 1, "30" not 30.
    for sent in ({"stale_days": True}, {"stale_days": "30"}, {"high_confidence": False}):
        name = next(iter(sent))
        put = client.put(f"/orgs/{org}/reports/settings", json=sent)
        assert put.status_code == 422 and put.json()["error"]["details"][0]["path"] == f"$.{name}"
        once = client.post(f"/orgs/{org}/reports", json={"settings": sent})
        assert once.status_code == 422
        assert once.json()["error"]["details"][0]["path"] == f"$.settings.{name}"
    assert client.get(f"/orgs/{org}/reports/settings").json()["overrides"] == {}
    # Nor is a number a day: pydantic reads 0 and "86400" as Unix timestamps (1970-01-01/02).
    for as_of in (0, "86400", 12345):
        dated = client.post(f"/orgs/{org}/reports", json={"as_of": as_of})
        assert dated.status_code == 422, dated.text
        [detail] = dated.json()["error"]["details"]
        assert detail["path"] == "$.as_of" and "YYYY-MM-DD" in detail["message"]


def test_settings_are_stored_as_they_are_read(client, scored_sample) -> None:
    org = scored_sample
    sent = {"activity_words": ["Hold", " hold ", "Run  a"], "disabled_kinds": ["overload"] * 2}
    put = client.put(f"/orgs/{org}/reports/settings", json=sent)
    assert put.status_code == 200, put.text
    stored = {"activity_words": ["hold", "run a"], "disabled_kinds": ["overload"]}
    assert put.json()["overrides"] == stored
    assert client.get(f"/orgs/{org}/reports/settings").json()["overrides"] == stored


def test_settings_change_what_is_reported(client, jobs, scored_sample) -> None:
    org = scored_sample
    defaults = client.get(f"/orgs/{org}/reports/settings").json()
    assert defaults["overrides"] == {} and defaults["effective"]["stale_days"] == 42
    put = client.put(
        f"/orgs/{org}/reports/settings",
        json={"max_okrs_per_team": 6, "disabled_kinds": ["checkin_drift"]},
    )
    assert put.status_code == 200, put.text
    run = jobs.report(client, client.post(f"/orgs/{org}/reports"))
    kinds = {f["kind"] for f in run["findings"]}
    assert "checkin_drift" not in kinds
    assert not any(f["key"].startswith("overload:") and "T-9" in f["key"] for f in run["findings"])
    # T-9's 6 OKRs and 17 key results are within 6 OKRs and 6 x 5 key results
    one_off = client.post(f"/orgs/{org}/reports", json={"settings": {"max_okrs_per_team": 3}})
    assert "overload:T-9|2026-Q4" in {f["key"] for f in jobs.report(client, one_off)["findings"]}


def test_web_pages(client, jobs, session, scored_sample) -> None:
    index = client.get("/")
    assert index.status_code == 200
    assert index.headers["content-type"].startswith("text/html")
    assert f'href="/orgs/{scored_sample}/report.html"' in index.text
    assert 'href="/docs"' in index.text
    # No report yet: the page queues one and says so (202, reloading itself), building nothing.
    waiting = client.get(f"/orgs/{scored_sample}/report.html")
    assert waiting.status_code == 202 and "being built" in waiting.text
    # One pace for people and programs: the page reloads as often as Retry-After asks to poll.
    pace = waiting.headers["Retry-After"]
    assert f'<meta http-equiv="refresh" content="{pace}">' in waiting.text
    assert f"reloads itself every {pace} seconds" in waiting.text
    assert 'href="/jobs/' not in waiting.text  # raw job JSON is no page for a person
    assert client.get(f"/orgs/{scored_sample}/reports/latest").status_code == 404
    jobs.drain()
    page = client.get(f"/orgs/{scored_sample}/report.html")
    assert page.status_code == 200 and "Teams × strategic objectives" in page.text
    assert client.get(f"/orgs/{scored_sample}/reports/latest").status_code == 200
    assert "report #" in client.get("/").text
    assert client.get("/orgs/nobody/report.html").status_code == 404
    assert client.head("/").status_code == 200
    assert client.head(f"/orgs/{scored_sample}/report.html").status_code == 200
    # A filtered run made through the API does not replace the organization's page.
    whole = client.get(f"/orgs/{scored_sample}/reports/latest").json()
    narrow = jobs.report(
        client, client.post(f"/orgs/{scored_sample}/reports", json={"kind": ["orphan_okr"]})
    )
    assert narrow["id"] > whole["id"]
    page = client.get(f"/orgs/{scored_sample}/report.html").text
    assert f"report #{whole['id']}" in page and f"report #{narrow['id']}" not in page
    # An edited record makes the shown run stale: the page shows it with a "recomputing"
    # notice and queues a report job. (The test runs in one transaction, where now() stands
    # still, so the shown run is first dated back.)
    session.execute(
        text(
            "UPDATE report_runs SET created_at = created_at - interval '1 hour', "
            "confirmed_at = confirmed_at - interval '1 hour' "
            "WHERE org_id = :org AND number = :number"
        ),
        {"org": scored_sample, "number": whole["id"]},
    )
    edited = client.patch(f"/orgs/{scored_sample}/okrs/O-14", json={"title": "NPS 46"})
    assert edited.status_code == 200, edited.text
    stale = client.get(f"/orgs/{scored_sample}/report.html").text
    assert f"report #{whole['id']}" in stale and "Recomputing" in stale
    assert f'<meta http-equiv="refresh" content="{pace}">' in stale
    assert f"reloads itself every {pace} seconds" in stale
    again = client.get(f"/orgs/{scored_sample}/report.html").text  # joins the waiting job
    assert "Recomputing" in again
    assert len(jobs.drain()) == 2  # the edit's scoring, then the page's one report
    page = client.get(f"/orgs/{scored_sample}/report.html").text
    newest = client.get(f"/orgs/{scored_sample}/reports/latest").json()
    assert newest["id"] > narrow["id"] and f"report #{newest['id']}" in page
    assert "Recomputing" not in page


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


def test_hostile_text_is_escaped_everywhere(client, jobs) -> None:
    assert client.post("/bundles", json=hostile_bundle()).status_code == 200
    run = jobs.report(client, client.post("/orgs/evil-co/reports"))
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


# --- walkthrough fixes (2026-11-29) ----------------------------------------------------------


def error(response, status: int) -> dict:
    """The one error shape, `details` always a list."""
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "details"}
    assert isinstance(body["error"]["details"], list)
    return body["error"]


def test_ids_no_run_can_have_are_404(client, jobs, scored_sample) -> None:
    org = scored_sample
    run = jobs.report(client, client.post(f"/orgs/{org}/reports"))
    for huge in ("99999999999999999999", str(2**31), str(2**63), "-1"):
        found = error(client.get(f"/orgs/{org}/reports/{huge}"), 404)
        assert found["code"] == "not_found" and huge in found["message"]
        error(client.get(f"/orgs/{org}/reports/{huge}/diff", params={"against": run["id"]}), 404)
        against = client.get(f"/orgs/{org}/reports/{run['id']}/diff", params={"against": huge})
        error(against, 404)
    beyond = client.get(f"/orgs/{org}/reports", params={"offset": "99999999999999999999"})
    assert error(beyond, 422)["details"][0]["path"] == "query.offset"


def test_latest_is_the_same_run_everywhere(client, jobs, scored_sample) -> None:
    org = scored_sample
    narrow_first = jobs.report(
        client, client.post(f"/orgs/{org}/reports", json={"kind": ["orphan_okr"]})
    )
    missing = error(client.get(f"/orgs/{org}/reports/latest"), 404)
    assert "no report yet (a run without filters)" in missing["message"]
    assert (
        client.get(f"/orgs/{org}/reports/latest?include_filtered=true").json()["id"]
        == (narrow_first["id"])
    )
    assert f"/orgs/{org}/reports/{narrow_first['id']}?" not in client.get("/").text

    whole = jobs.report(client, client.post(f"/orgs/{org}/reports"))
    narrow = jobs.report(
        client, client.post(f"/orgs/{org}/reports", json={"kind": ["thin_coverage"]})
    )
    assert client.get(f"/orgs/{org}/reports/latest").json()["id"] == whole["id"]
    index = client.get("/").text
    assert f"/orgs/{org}/reports/{whole['id']}?format=json" in index
    assert f"/orgs/{org}/reports/{narrow['id']}?" not in index
    assert f"report #{whole['id']}" in client.get(f"/orgs/{org}/report.html").text


def test_filters_are_a_set_one_job_one_run_the_same_filters(client, jobs, scored_sample) -> None:
    org = scored_sample
    first = client.post(f"/orgs/{org}/reports", json={"kind": ["orphan_okr", "needs_review"]})
    again = client.post(
        f"/orgs/{org}/reports", json={"kind": ["needs_review", "orphan_okr", "needs_review"]}
    )
    assert first.status_code == again.status_code == 202
    assert again.json()["id"] == first.json()["id"]  # the waiting job answers both
    run = jobs.report(client, first)
    assert run["filters"] == {"kind": ["needs_review", "orphan_okr"]}
    other = jobs.report(client, client.post(f"/orgs/{org}/reports", json={"kind": ["orphan_okr"]}))
    diff = client.get(f"/orgs/{org}/reports/{run['id']}/diff?against={other['id']}").json()
    assert diff["same_filters"] is False
    assert "only one of the runs covers" in diff["warning"]


def test_diff_warns_when_settings_or_as_of_differ(client, jobs, scored_sample) -> None:
    org = scored_sample
    before = jobs.report(client, client.post(f"/orgs/{org}/reports"))
    put = client.put(
        f"/orgs/{org}/reports/settings",
        json={"stale_days": 10, "disabled_kinds": ["checkin_drift"]},
    )
    assert put.status_code == 200
    after = jobs.report(client, client.post(f"/orgs/{org}/reports"))
    diff = client.get(f"/orgs/{org}/reports/{after['id']}/diff?against={before['id']}").json()
    assert diff["same_filters"] is True and diff["same_config"] is False
    assert "different settings (disabled_kinds, stale_days)" in diff["warning"]
    assert diff["report"]["config"]["stale_days"] == 10
    assert diff["against"]["config"]["stale_days"] == 42
    assert diff["report"]["as_of"] == before["as_of"] == diff["against"]["as_of"]

    # An explicit as_of makes a what-if run: it is stored with the filters, so the diff says so
    # and the run never becomes the organization's latest report.
    earlier = jobs.report(client, client.post(f"/orgs/{org}/reports", json={"as_of": "2026-11-15"}))
    assert earlier["filters"] == {"as_of": ["2026-11-15"]}
    diff = client.get(f"/orgs/{org}/reports/{earlier['id']}/diff?against={after['id']}").json()
    assert diff["same_config"] is True and diff["same_as_of"] is False
    assert diff["same_filters"] is False and "different filters" in diff["warning"]
    assert diff["report"]["as_of"] == "2026-11-15"
    assert client.get(f"/orgs/{org}/reports/latest").json()["id"] == after["id"]

    # The default as_of moving because a new check-in arrived is the records changing: no warning.
    new = {"id": "C-NEW", "okr": "O-1", "key_result": None, "date": "2026-11-27", "value": None,
           "confidence": 0.7, "text": "Signed a second clinic group."}  # fmt: skip
    assert client.post(f"/orgs/{org}/check-ins", json=new).status_code == 201
    later = jobs.report(client, client.post(f"/orgs/{org}/reports"))
    moved = client.get(f"/orgs/{org}/reports/{later['id']}/diff?against={after['id']}").json()
    assert moved["same_as_of"] is False and later["as_of"] == "2026-11-27"
    assert moved["warning"] is None
    what_if = jobs.report(
        client, client.post(f"/orgs/{org}/reports", json={"settings": {"stale_days": 3}})
    )
    assert what_if["filters"] == {"settings": ["stale_days=3"]}
    assert client.get(f"/orgs/{org}/reports/latest").json()["id"] == later["id"]

    same = client.get(f"/orgs/{org}/reports/{after['id']}/diff?against={after['id']}").json()
    assert same["warning"] is None


def test_errors_always_list_details_and_405_says_allow(client, scored_sample) -> None:
    org = scored_sample
    assert error(client.get("/orgs/nobody/reports"), 404)["details"] == []
    assert error(client.get(f"/orgs/{org}/reports/424242"), 404)["details"] == []
    not_allowed = client.delete(f"/orgs/{org}/reports/17")
    assert error(not_allowed, 405)["code"] == "method_not_allowed"
    assert not_allowed.headers["allow"] == "GET, HEAD"


def test_limit_above_the_largest_is_refused(client, scored_sample) -> None:
    cap = get_settings().service.page_limit_max
    found = error(client.get(f"/orgs/{scored_sample}/reports", params={"limit": 100000}), 422)
    assert found["code"] == "invalid" and str(cap) in found["message"]
    assert found["details"][0]["path"] == "query.limit"
    page = client.get(f"/orgs/{scored_sample}/reports", params={"limit": cap}).json()
    assert page["limit"] == cap
    assert client.get(f"/orgs/{scored_sample}/reports").json()["limit"] == 50


def test_filter_errors_name_field_value_and_valid_values(client, jobs, scored_sample) -> None:
    org = scored_sample
    found = error(
        client.post(
            f"/orgs/{org}/reports",
            json={"kind": ["orphan"], "perspective": ["Customer", "people"], "team": ["T-99"]},
        ),
        422,
    )
    assert found["message"] == (
        "report filters are not valid: team 'T-99', perspective 'people', kind 'orphan'"
    )
    by_path = {d["path"]: d["message"] for d in found["details"]}
    assert set(by_path) == {"$.team[0]", "$.perspective[1]", "$.kind[0]"}
    assert by_path["$.team[0]"] == "no team 'T-99' in this organization"
    assert by_path["$.perspective[1]"] == (
        "unknown perspective 'people'; valid: financial, customer, internal_process, "
        "learning_growth"
    )
    assert "valid: orphan_okr, needs_review, unsupported_declared_link" in by_path["$.kind[0]"]
    run = client.post(
        f"/orgs/{org}/reports", json={"perspective": ["Customer", "Internal Process"]}
    )
    assert jobs.report(client, run)["filters"] == {"perspective": ["customer", "internal_process"]}


def test_the_reads_take_named_filters_as_people_type_them(client, jobs, scored_sample) -> None:
    """As a build's filters do: "Customer", "Orphan-OKR", "HIGH" (docs/report.md)."""
    org = scored_sample
    jobs.report(client, client.post(f"/orgs/{org}/reports", json={}))
    typed = {"perspective": "Customer", "kind": "Orphan-OKR", "severity": "HIGH"}
    named = {"perspective": "customer", "kind": "orphan_okr", "severity": "high"}
    for name in typed:
        asked = client.get(f"/orgs/{org}/reports/latest", params={name: typed[name]})
        assert asked.status_code == 200, asked.text
        want = client.get(f"/orgs/{org}/reports/latest", params={name: named[name]}).json()
        assert asked.json()["findings"] == want["findings"]
        page = client.get(f"/orgs/{org}/report.html", params={name: typed[name]})
        assert page.status_code == 200, page.text
    wrong = error(client.get(f"/orgs/{org}/reports/latest", params={"perspective": "People"}), 422)
    assert "unknown perspective 'People'" in wrong["details"][0]["message"]


def test_error_paths_are_json_paths_into_the_body(client, scored_sample) -> None:
    org = scored_sample
    broken = client.post(
        f"/orgs/{org}/reports", content=b'{"kind": ', headers={"content-type": "application/json"}
    )
    problem = error(broken, 422)["details"][0]
    assert problem["path"] == "$" and "JSON decode error at character" in problem["message"]
    override = client.post(f"/orgs/{org}/reports", json={"settings": {"stale_days": "soon"}})
    assert error(override, 422)["details"][0]["path"] == "$.settings.stale_days"
    kinds = client.post(f"/orgs/{org}/reports", json={"settings": {"disabled_kinds": ["x"]}})
    assert error(kinds, 422)["details"][0]["path"] == "$.settings.disabled_kinds"
    wrong_type = client.post(f"/orgs/{org}/reports", json={"kind": "orphan_okr"})
    assert error(wrong_type, 422)["details"][0]["path"] == "$.kind"
    query = client.get(f"/orgs/{org}/reports", params={"limit": "many"})
    assert error(query, 422)["details"][0]["path"] == "query.limit"


def test_head_builds_nothing_and_the_page_follows_settings(client, jobs, scored_sample) -> None:
    org = scored_sample

    def runs() -> int:
        return client.get(f"/orgs/{org}/reports").json()["total"]

    head = client.head(f"/orgs/{org}/report.html")
    assert head.status_code == 200 and head.headers["content-type"].startswith("text/html")
    # No length (a 0 would be false: the page is not built), and kept nowhere, as the page.
    assert "content-length" not in head.headers and head.headers["cache-control"] == "no-store"
    assert runs() == 0
    assert client.head("/orgs/nobody/report.html").status_code == 404

    client.get(f"/orgs/{org}/report.html")
    jobs.drain()
    shown = client.get(f"/orgs/{org}/report.html").text
    first = client.get(f"/orgs/{org}/reports/latest").json()
    assert f"report #{first['id']}" in shown and runs() == 1
    assert f"report #{first['id']}" in client.get(f"/orgs/{org}/report.html").text
    assert runs() == 1  # nothing changed: the page shows the stored run

    client.put(f"/orgs/{org}/reports/settings", json={"stale_days": 10})
    assert runs() == 1  # HEAD and PUT build nothing
    assert "Recomputing" in client.get(f"/orgs/{org}/report.html").text
    jobs.drain()
    page = client.get(f"/orgs/{org}/report.html").text
    rebuilt = client.get(f"/orgs/{org}/reports/latest").json()
    assert rebuilt["id"] > first["id"] and rebuilt["config"]["stale_days"] == 10
    assert f"report #{rebuilt['id']}" in page


def test_json_reads_list_one_page_of_findings_with_links_to_the_rest(client, jobs, scored_sample):
    """Findings are read a page at a time (rows, not the whole run): following `next` from the
    first page lists exactly the CSV's findings, in order; filters mean what the page's mean."""
    org = scored_sample
    run = jobs.report(client, client.post(f"/orgs/{org}/reports"))
    every = [r["key"] for r in csv.DictReader(io.StringIO(
        client.get(f"/orgs/{org}/reports/latest", params={"format": "csv"}).text))]  # fmt: skip
    assert len(every) == run["summary"]["counts"]["findings"] > 14

    first = client.get(f"/orgs/{org}/reports/latest", params={"per_page": 7}).json()
    meta = first["findings_page"]
    assert (meta["page"], meta["per_page"], meta["total"]) == (1, 7, len(every))
    assert meta["pages"] == -(-len(every) // 7) and meta["previous"] is None
    keys, page = [], first
    while True:
        keys += [f["key"] for f in page["findings"]]
        following = page["findings_page"]["next"]
        if following is None:
            break
        assert "per_page=7" in following
        page = client.get(f"/orgs/{org}/reports/latest{following}").json()
        assert page["summary"] == first["summary"]
    assert keys == every
    assert page["findings_page"]["previous"] == f"?per_page=7&page={meta['pages'] - 1}"

    by_id = client.get(f"/orgs/{org}/reports/{run['id']}", params={"per_page": 7, "page": 2})
    assert (
        by_id.json()["findings"]
        == client.get(f"/orgs/{org}/reports/latest", params={"per_page": 7, "page": 2}).json()[
            "findings"
        ]
    )

    kind = run["findings"][0]["kind"]
    only = client.get(f"/orgs/{org}/reports/latest", params={"kind": kind}).json()
    assert {f["kind"] for f in only["findings"]} == {kind}
    assert only["findings_page"]["matching"] == run["summary"]["counts"]["by_kind"][kind]
    assert only["findings_page"]["filters"] == {"kind": [kind]}
    team = run["findings"][0]["scope"]["teams"][0]
    mine = client.get(f"/orgs/{org}/reports/latest", params={"team": team}).json()["findings"]
    assert mine and all(team in f["scope"]["teams"] for f in mine)
    key = run["findings"][-1]["key"]
    found = client.get(f"/orgs/{org}/reports/latest", params={"q": key.upper()}).json()
    assert key in [f["key"] for f in found["findings"]]

    bad = client.get(f"/orgs/{org}/reports/latest", params={"kind": "orphans", "per_page": 0})
    assert bad.status_code == 422
    assert {d["path"] for d in bad.json()["error"]["details"]} >= {"query.per_page"}


def test_a_review_decision_since_the_run_makes_the_page_recompute(
    client, session, scored_sample
) -> None:
    from alignment.models import CheckInFeedback
    from alignment.report.facts import decided_since

    org = scored_sample
    decided = client.post(f"/orgs/{org}/review-queue/check-ins/C-7", json={"verdict": "on_topic"})
    assert decided.status_code == 200, decided.text
    at = session.get(CheckInFeedback, {"org_id": org, "check_in_id": "C-7"}).decided_at
    # A run confirmed before the decision no longer shows it; one confirmed since does.
    assert decided_since(session, org, at - timedelta(microseconds=1))
    assert not decided_since(session, org, at)
