"""The offline drafter labels key results lead or lag as the records say: a key result on a lag
KPI's own measure (a half-way milestone of the outcome) is lag, and a lead key result is a driver
some record measures (a lead KPI, a lead key result carried forward), or the rationale says that
none is offered."""

from __future__ import annotations

import json
from typing import Any

from alignment.bundle.schema import BUNDLE_FORMAT
from alignment.drafting.context import SuggestContext
from alignment.drafting.draft import draft_suggestions
from alignment.drafting.offline import OfflineDrafter
from alignment.drafting.offline_suggestions import suggestions
from alignment.drafting.schemas import SuggestionRequest
from alignment.imports import import_document

ORG = "lead-lag-eu"


def _eu_revenue_org() -> dict[str, Any]:
    """The QA case: one objective, one lag KPI "EU revenue" 1 -> 2 EUR, one team, no OKRs."""
    return {
        "format": BUNDLE_FORMAT,
        "organization": {"id": ORG, "name": "Lead Lag Ltd"},
        "cycles": [{"id": "2026-Q4", "start": "2026-10-01", "end": "2026-12-31"}],
        "strategic_objectives": [
            {
                "id": "SO-1",
                "title": "Grow in the European market",
                "description": "More of our revenue comes from European customers.",
                "perspective": "financial",
                "kpis": [
                    {
                        "id": "SO-1-K1",
                        "name": "EU revenue",
                        "kind": "lag",
                        "unit": "EUR",
                        "baseline": 1.0,
                        "target": 2.0,
                    }
                ],
            }
        ],
        "teams": [
            {
                "id": "T-1",
                "name": "EU sales",
                "parent": None,
                "mission": "Win and grow European customers.",
            }
        ],
        "okrs": [],
    }


def test_a_milestone_of_a_lag_kpi_is_lag_and_no_driver_is_invented(session, embedder):
    import_document(session, _eu_revenue_org())
    request = SuggestionRequest(team="T-1", cycle="2026-Q4", objectives="suggest")
    draft = draft_suggestions(session, ORG, request, drafter=OfflineDrafter(), embedder=embedder)
    assert draft.status == "pending", [g for g in draft.gates if not g["passed"]]
    [s] = draft.payload["suggestions"]
    krs = {k["title"]: k for k in s["key_results"]}
    assert set(krs) == {"EU revenue", "EU revenue, half-way milestone"}
    milestone = krs["EU revenue, half-way milestone"]
    assert (milestone["baseline"], milestone["target"], milestone["unit"]) == (1.0, 1.5, "EUR")
    # It measures the lag KPI itself: lag, so the report's lead_lag_gap still shows.
    assert milestone["kind"] == "lag" and krs["EU revenue"]["kind"] == "lag"
    assert "No lead key result" in s["rationale"]
    assert 'shows whether "EU revenue" will follow' in s["rationale"]


def _kpi(kpi_id: str, name: str, kind: str | None, baseline: float, target: float) -> dict:
    return {
        "id": kpi_id,
        "name": name,
        "kind": kind,
        "unit": "%",
        "baseline": baseline,
        "target": target,
    }


def _context(kpis: list[dict], team_okrs: list[dict] | None = None) -> SuggestContext:
    objective = {"id": "SO-1", "title": "Keep customers longer", "kpis": kpis}
    return SuggestContext(
        org_id=ORG,
        team={"id": "T-1", "name": "Success", "mission": None},
        cycle={"id": "2027-Q1"},
        previous_cycle="2026-Q4",
        mode="given",
        objectives=[objective],
        team_okrs=team_okrs or [],
        similar_okrs=[],
    )


def _only(ctx: SuggestContext) -> dict[str, Any]:
    [s] = suggestions(ctx)["suggestions"]
    return s


def test_a_milestone_of_a_lead_kpi_stays_lead():
    s = _only(_context([_kpi("K1", "Onboarding calls held on time", "lead", 40, 80)]))
    assert [k["kind"] for k in s["key_results"]] == ["lead", "lead"]
    assert "No lead key result" not in s["rationale"]


def test_a_lead_kpi_past_the_first_three_takes_the_last_place():
    kpis = [_kpi(f"K{i}", f"Churn measure {i}", "lag", 10, 5) for i in (1, 2, 3, 4)]
    kpis.append(_kpi("K5", "Accounts with a health check", "lead", 20, 60))
    s = _only(_context(kpis))
    assert s["kpi_ids"] == ["K1", "K2", "K5"]
    assert [k["kind"] for k in s["key_results"]] == ["lag", "lag", "lead"]
    assert "No lead key result" not in s["rationale"]


def test_three_lag_kpis_and_no_driver_say_so():
    kpis = [_kpi(f"K{i}", f"Churn measure {i}", "lag", 10, 5) for i in (1, 2, 3)]
    s = _only(_context(kpis))
    assert [k["kind"] for k in s["key_results"]] == ["lag", "lag", "lag"]
    assert "No lead key result: neither SO-1's KPIs" in s["rationale"]


def _carried(kind: str | None) -> dict[str, Any]:
    """Last cycle's OKR serving SO-1 with one unfinished key result of `kind`."""
    return {
        "id": "O-1",
        "cycle": "2026-Q4",
        "aligned_to": ["SO-1"],
        "declared_links": ["SO-1"],
        "check_ins": [],
        "key_results": [
            {
                "id": "O-1-KR1",
                "title": "Accounts with a health check",
                "unit": "%",
                "baseline": 20.0,
                "target": 60.0,
                "current": 35.0,
                "kind": kind,
            }
        ],
    }


def test_a_lead_key_result_carried_forward_is_the_driver():
    s = _only(_context([_kpi("K1", "Churn", "lag", 10, 5)], [_carried("lead")]))
    assert [(k["title"], k["kind"]) for k in s["key_results"]] == [
        ("Churn", "lag"),
        ("Accounts with a health check", "lead"),
    ]
    assert "No lead key result" not in s["rationale"]


def test_a_carried_forward_key_result_of_no_recorded_kind_is_no_driver():
    s = _only(_context([_kpi("K1", "Churn", "lag", 10, 5)], [_carried(None)]))
    assert [(k["title"], k["kind"]) for k in s["key_results"]] == [
        ("Churn", "lag"),
        ("Accounts with a health check", "lag"),
    ]
    assert "No lead key result" in s["rationale"]


def test_same_records_same_words():
    ctx = _context([_kpi("K1", "Churn", "lag", 10, 5)])
    assert json.dumps(suggestions(ctx)) == json.dumps(suggestions(ctx))
