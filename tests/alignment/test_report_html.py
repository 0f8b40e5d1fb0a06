"""The self-contained HTML report as the strategy office reads it.

Filters name teams in natural id order, each finding shows its key, evidence reads as labelled
lines (the raw JSON only behind a click), and every user text is escaped wherever it appears.
Most tests render a hand-made run (no database); one renders the sample organization's report.
"""

from __future__ import annotations

import base64
import hashlib
import html as html_lib
import re
from datetime import UTC, date, datetime
from html.parser import HTMLParser

from alignment.report import build_report, to_html
from alignment.report.evidence_text import kind_label
from alignment.report.render import TEMPLATES
from alignment.report.store import ReportRun

SCRIPT = "<script>alert(1)</script>"
IMG = '"><img src=x onerror=alert(1)>'


def finding(kind: str, key: str, records: list[dict], evidence: dict, teams=()) -> dict:
    return {
        "key": f"{kind}:{key}",
        "kind": kind,
        "category": "progress" if kind == "checkin_drift" else "alignment",
        "severity": "medium",
        "reason": f"reason of {key}",
        "records": records,
        "evidence": evidence,
        "scope": {"cycles": ["2026-Q4"], "teams": sorted(teams), "perspectives": []},
    }


def make_run(findings: list[dict], teams: list[dict], filters: dict | None = None) -> ReportRun:
    """A run as the store returns it, not persisted: rendering reads nothing else."""
    by_kind: dict[str, int] = {}
    for f in findings:
        by_kind[f["kind"]] = by_kind.get(f["kind"], 0) + 1
    summary = {
        "organization": {"id": "acme", "name": "Acme"},
        "cycles": ["2026-Q4"],
        "okrs": 3,
        "aligned_okrs": 2,
        "alignment_health": 0.6667,
        "objectives": [
            {
                "id": "SO-1",
                "title": "Objective one",
                "perspective": "customer",
                "aligned_okrs": 2,
                "weak_okrs": 0,
                "strength": 2,
            }
        ],
        "perspectives": [],
        "heatmap": {
            "teams": teams,
            "objectives": [{"id": "SO-1", "title": "Objective one"}],
            "aligned_okrs": [[1] for _ in teams],
        },
        "check_ins": 4,
        "drifting_check_ins": 1,
        "counts": {
            "findings": len(findings),
            "by_severity": {"high": 0, "medium": len(findings), "low": 0},
            "by_kind": by_kind,
        },
    }
    return ReportRun(
        org_id="acme",
        id=7,
        number=7,
        created_at=datetime(2026, 11, 29, 9, 30, tzinfo=UTC),
        schema_version="goldenthread.report/v1",
        inputs_version="0" * 64,
        model="all-MiniLM-L6-v2",
        as_of=date(2026, 11, 20),
        filters=filters or {},
        config={},
        summary=summary,
        findings=findings,
    )


def drift_finding(text: str = "Printed the new price list.", team: str = "T-10") -> dict:
    return finding(
        "checkin_drift",
        "C-4",
        [
            {"type": "check_in", "id": "C-4", "label": text},
            {"type": "okr", "id": "O-47", "label": "Faster invoices"},
            {"type": "team", "id": team, "label": "Billing"},
        ],
        {
            "score": 0.5497,
            "date": "2026-07-14",
            "text": text,
            "drifting": True,
            "own_field": "key_result:O-47-KR1",
            "own_similarity": 0.6403,
            "nearest_okr_id": "O-48",
            "nearest_similarity": 0.4987,
            "nearest_okr_title": "Invoices that match",
            "shared_terms": ["invoices"],
        },
        teams=[team],
    )


def orphan_finding(okr_text: str = "Send invoices within a day") -> dict:
    return finding(
        "orphan_okr",
        "O-47",
        [{"type": "okr", "id": "O-47", "label": "Faster invoices"},
         {"type": "team", "id": "T-2", "label": "Sales"}],
        {
            "best_link": {
                "objective_id": "SO-1",
                "objective_title": "Objective one",
                "score": 0.0154,
                "label": "none",
                "strongest_match": {
                    "okr_field": "key_result:O-47-KR1",
                    "okr_text": okr_text,
                    "objective_text": "Bills right first time",
                    "similarity": 0.2831,
                    "shared_terms": ["bills"],
                },
            },
            "declared": ["SO-1"],
        },
        teams=["T-2"],
    )  # fmt: skip


TEAMS = [{"id": f"T-{n}", "name": f"Team {n}"} for n in (1, 2, 10, 11)]


class _Options(HTMLParser):
    """The options of one <select>, as (value, text) pairs."""

    def __init__(self, select_id: str) -> None:
        super().__init__()
        self.select_id, self.inside, self.options = select_id, False, []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "select":
            self.inside = dict(attrs).get("id") == self.select_id
        elif tag == "option" and self.inside:
            self.options.append([dict(attrs).get("value"), ""])

    def handle_endtag(self, tag: str) -> None:
        if tag == "select":
            self.inside = False

    def handle_data(self, data: str) -> None:
        if self.inside and self.options:
            self.options[-1][1] += data


def options(page: str, select_id: str) -> list[tuple[str, str]]:
    parser = _Options(select_id)
    parser.feed(page)
    return [(v, t) for v, t in parser.options if v]


def readable(page: str) -> str:
    """The page's text without the raw-JSON views, tags stripped, entities decoded."""
    page = re.sub(r"<pre>.*?</pre>", "", page, flags=re.S)
    return html_lib.unescape(re.sub(r"<[^>]+>", " ", page))


def test_team_filter_names_teams_in_natural_order() -> None:
    findings = [drift_finding(team=t["id"]) for t in reversed(TEAMS)]
    for n, f in enumerate(findings):
        f["key"] = f"checkin_drift:C-{n}"
    page = to_html(make_run(findings, TEAMS))
    assert options(page, "f-team") == [
        ("T-1", "T-1 · Team 1 (1)"),
        ("T-2", "T-2 · Team 2 (1)"),
        ("T-10", "T-10 · Team 10 (1)"),
        ("T-11", "T-11 · Team 11 (1)"),
    ]
    assert options(page, "f-kind") == [("checkin_drift", "check-in drift (4)")]
    assert [v for v, _ in options(page, "f-severity")] == ["high", "medium", "low"]


def test_team_filter_name_falls_back_to_records_then_id() -> None:
    # T-99 is not in the heat map (e.g. a team filter elsewhere); its record names it.
    named = drift_finding(team="T-99")
    bare = drift_finding(team="T-100")
    bare["key"] = "checkin_drift:C-5"
    bare["records"] = bare["records"][:2]
    page = to_html(make_run([named, bare], TEAMS[:1]))
    assert options(page, "f-team") == [("T-99", "T-99 · Billing (1)"), ("T-100", "T-100 (1)")]


def test_findings_show_their_key_and_readable_records() -> None:
    page = to_html(make_run([drift_finding(), orphan_finding()], TEAMS))
    assert '<code class="key"' in page
    assert "checkin_drift:C-4</code>" in page and "orphan_okr:O-47</code>" in page
    text = readable(page)
    assert "check-in C-4 Printed the new price list." in " ".join(text.split())
    assert "team T-2 Sales" in " ".join(text.split())
    assert "check_in" not in text and "key_result" not in text.replace("key_result:", "")


def test_evidence_reads_as_labelled_lines_with_raw_json_behind_a_click() -> None:
    page = to_html(make_run([drift_finding(), orphan_finding()], TEAMS))
    text = " ".join(readable(page).split())
    assert "drift score 0.55" in text
    assert "own OKR similarity 0.64 · closest: key result O-47-KR1" in text
    assert "nearest other OKR O-48 Invoices that match · similarity 0.50" in text
    assert "best link SO-1 Objective one · score 0.02 · label none" in text
    assert "matched key result O-47-KR1 Send invoices within a day" in text
    assert "with objective text Bills right first time · similarity 0.28" in text
    assert "declared objectives SO-1 Objective one" in text
    # evidence keys appear only in the collapsed raw view
    for key in ("okr_field", "own_similarity", "nearest_okr_id", "strongest_match"):
        assert key not in text
        assert key in page
    assert page.count('<details class="raw">') == 2


def test_unknown_or_odd_evidence_is_shown_not_fatal() -> None:
    odd = finding(
        "confidence_mismatch",
        "O-1-KR1",
        [{"type": "key_result", "id": "O-1-KR1", "label": "Margin"}],
        {
            "direction": "too_high",
            "baseline": 4.8,
            "target": 4.1,
            "check_ins": [{"id": "C-9", "date": "2026-10-09", "value": 4.8,
                           "confidence": 0.9, "progress": -0.0}],
            "pairs": "not a list",  # a shape this renderer does not expect
            "new_measure": {"alpha_beta": 0.5, "terms": ["x", "y"]},
        },
    )  # fmt: skip
    text = " ".join(readable(to_html(make_run([odd], TEAMS))).split())
    assert "confidence higher than the progress supports" in text
    assert "numbers baseline 4.8, target 4.1" in text
    assert "C-9 · 2026-10-09 · value 4.8 · confidence 90% · progress 0%" in text
    assert "-0%" not in text
    assert "pairs not a list" in text
    assert "new measure alpha beta 0.5 terms x, y" in text


def test_hostile_text_is_escaped_in_filters_keys_and_evidence() -> None:
    team = {"id": f"T {IMG}", "name": f"Team {SCRIPT}"}
    drift = drift_finding(text=f"{SCRIPT} {IMG}", team=team["id"])
    drift["records"][2]["label"] = team["name"]
    drift["evidence"]["nearest_okr_title"] = IMG
    drift["evidence"]["shared_terms"] = [SCRIPT]
    drift["key"] = f"checkin_drift:{IMG}"
    orphan = orphan_finding(okr_text=SCRIPT)
    orphan["evidence"]["best_link"]["objective_title"] = IMG
    orphan["evidence"]["best_link"]["strongest_match"]["objective_text"] = IMG
    orphan["evidence"]["extra"] = {"note": SCRIPT}
    lag = finding(
        "lead_lag_gap",
        "objective|SO-1",
        [{"type": "objective", "id": "SO-1", "label": "Objective one"}],
        {"lag_kpis": [{"id": "SO-1-K1", "name": SCRIPT}], "okr_key_result_kinds": {IMG: ["lag"]}},
    )
    page = to_html(make_run([drift, orphan, lag], [team], filters={"team": [team["id"]]}))
    assert SCRIPT not in page and IMG not in page
    assert "<img" not in page and "onerror=alert(1)>" not in page
    assert page.count("<script>") == 1  # the page's own, allowed by hash
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    # the select option, the key, the team data attribute
    assert (team["id"], f"{team['id']} · {team['name']} (1)") in options(page, "f-team")
    assert f"checkin_drift:{html_lib.escape(IMG)}</code>" in page.replace("&#34;", "&quot;")
    assert 'data-teams="[&#34;T \\&#34;&gt;&lt;img' in page


def test_page_stays_self_contained_and_its_script_matches_the_policy() -> None:
    page = to_html(make_run([drift_finding(), orphan_finding()], TEAMS))
    assert "http://" not in page and "https://" not in page and " src=" not in page
    script = (TEMPLATES / "report.js").read_text(encoding="utf-8")
    digest = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
    assert f"script-src 'sha256-{digest}'" in html_lib.unescape(page)
    assert f"<script>{script}</script>" in page


def test_kind_labels() -> None:
    assert kind_label("orphan_okr") == "orphan OKR"
    assert kind_label("checkin_drift") == "check-in drift"
    assert kind_label("kr_missing_number") == "KR missing number"
    assert kind_label("lead_lag_gap") == "lead/lag gap"


def test_sample_report_page(session, scored_sample, embedder) -> None:
    run = build_report(session, scored_sample, embedder=embedder)
    page = to_html(run)
    teams = [v for v, _ in options(page, "f-team")]
    assert teams == sorted(teams, key=lambda t: int(t.split("-")[1]))
    assert ("T-2", "T-2 · Healthcare Sales") in [
        (v, t.rsplit(" (", 1)[0]) for v, t in options(page, "f-team")
    ]
    for f in run.findings:
        assert f"{html_lib.escape(f['key'], quote=False)}</code>" in page
    text = " ".join(readable(page).split())
    assert "okr_field" not in text and '"objective_id"' not in text
    assert "why it matters" in text and "best link SO-" in text
    assert re.search(r"matched key result O-\d+-KR\d", text)
    # every finding's evidence has at least one readable line
    assert page.count('<dl class="ev">') >= len(run.findings)
