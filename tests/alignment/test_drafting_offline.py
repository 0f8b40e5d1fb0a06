"""The offline drafter on the sample organization: grounded, deterministic, passes every gate."""

from __future__ import annotations

import json

import pytest

from alignment.drafting import sources
from alignment.drafting.context import build_suggest_context
from alignment.drafting.draft import draft_suggestions, draft_summary
from alignment.drafting.drafters import get_drafter, make_drafter
from alignment.drafting.offline import NOTICE, OfflineDrafter
from alignment.drafting.schemas import SuggestionRequest, SummaryRequest
from alignment.settings import LLMSettings
from evals.drafts import owner_teams
from tests.alignment import drafting_support as support
from tests.alignment.drafting_support import ORG, offline_team_summary

drafting_connection, dsession = support.drafting_connection, support.dsession


def test_offline_is_the_default_without_an_llm_base_url():
    assert isinstance(make_drafter(LLMSettings(base_url=None)), OfflineDrafter)
    assert get_drafter().kind == "offline"  # the test environment configures no LLM


@pytest.mark.slow  # twelve drafts, each scored against the whole organization
def test_every_objective_drafted_for_its_team_passes_every_gate(dsession, embedder):
    teams = owner_teams(dsession, ORG, embedder)
    assert set(teams) == {f"SO-{i}" for i in range(1, 13)}
    for objective_id, team_id in teams.items():
        # The default cycle: 2026-Q4 is past half on the data's day, so the next one, 2027-Q1.
        request = SuggestionRequest(team=team_id, objectives=[objective_id])
        draft = draft_suggestions(
            dsession, ORG, request, drafter=OfflineDrafter(), embedder=embedder
        )
        failed = [g for g in draft.gates if not g["passed"]]
        assert draft.status == "pending", (objective_id, team_id, failed)
        assert draft.cycle_id == "2027-Q1"
        [suggestion] = draft.payload["suggestions"]
        assert suggestion["objective_ids"] == [objective_id]
        assert 2 <= len(suggestion["key_results"]) <= 5
        assert draft.payload["notice"] == NOTICE and "No LLM wrote this" in NOTICE
        assert draft.drafter == "offline" and draft.total_tokens == 0


def test_suggestion_is_grounded_in_kpis_and_last_cycle(dsession, embedder):
    # No cycle asked for: 2026-Q4 is 55% over on the data's day (2026-11-20), so the draft is
    # for 2027-Q1, proposed after it, and "last cycle" is 2026-Q4.
    request = SuggestionRequest(team="T-2", objectives=["SO-1"])
    draft = draft_suggestions(dsession, ORG, request, drafter=OfflineDrafter(), embedder=embedder)
    assert draft.status == "pending" and draft.cycle_id == "2027-Q1"
    proposed = {"id": "2027-Q1", "start": "2027-01-01", "end": "2027-03-31"}
    assert draft.request["new_cycle"] == proposed
    assert "2026-Q4 is 55% over on 2026-11-20" in draft.request["cycle_reason"]
    [s] = draft.payload["suggestions"]
    krs = {k["title"]: k for k in s["key_results"]}
    # From KPI SO-1-K1 as the strategy states it.
    assert krs["Annual recurring revenue from healthcare contracts"]["baseline"] == 6.2
    assert krs["Annual recurring revenue from healthcare contracts"]["target"] == 8.0
    # O-12-KR2 (2026-Q4) stands at 410 of 900: carried forward from its latest value; the
    # team's own key result of another cycle is no copy.
    carried = krs["New healthcare ARR signed this quarter"]
    assert (carried["baseline"], carried["target"]) == (410, 900)
    refs = {(e["kind"], e["id"]) for e in s["evidence"]}
    assert {("team", "T-2"), ("key_result", "O-12-KR2")} <= refs
    assert s["kpi_ids"] == ["SO-1-K1", "SO-1-K2"]
    assert "Grow recurring healthcare contract revenue" not in s["title"]
    assert any(
        kind == "okr" and "similar" in e["why"] for e in s["evidence"] for kind in [e["kind"]]
    )


def test_offline_leaves_out_a_key_result_the_cycle_already_has(dsession, embedder):
    # Asked for 2026-Q4 itself: last cycle's O-1-KR2 "New healthcare ARR signed" would nearly
    # copy the team's current O-12-KR2 (cosine 0.93), so it is left out, and said so.
    request = SuggestionRequest(team="T-2", cycle="2026-Q4", objectives=["SO-1"])
    draft = draft_suggestions(dsession, ORG, request, drafter=OfflineDrafter(), embedder=embedder)
    assert draft.status == "pending" and draft.cycle_id == "2026-Q4"
    assert "new_cycle" not in draft.request and "cycle_reason" not in draft.request
    [s] = draft.payload["suggestions"]
    assert "New healthcare ARR signed" not in {k["title"] for k in s["key_results"]}
    assert (
        "Left out key results the organization already has: O-12-KR2 (T-2, 2026-Q4)"
        in (s["rationale"])
    )
    # What was left out is neither cited nor said to be carried forward.
    assert ("key_result", "O-1-KR2") not in {(e["kind"], e["id"]) for e in s["evidence"]}
    assert "O-1-KR2" not in s["rationale"]
    [gate] = [g for g in draft.gates if g["name"] == "not_duplicate"]
    assert gate["passed"] and all(
        kr is None or not kr["copies"] for kr in gate["details"]["nearest_key_results"][0]
    )


def test_suggest_mode_picks_objectives_the_team_serves(dsession, embedder):
    # For the next cycle: in 2026-Q4 itself T-9's O-30 already has the KPI key results.
    request = SuggestionRequest(team="T-9", objectives="suggest")
    draft = draft_suggestions(dsession, ORG, request, drafter=OfflineDrafter(), embedder=embedder)
    assert draft.status == "pending", [g for g in draft.gates if not g["passed"]]
    chosen = {o for s in draft.payload["suggestions"] for o in s["objective_ids"]}
    assert chosen and chosen <= {"SO-5", "SO-9"}  # Route Logistics: delivery and routing


def test_same_inputs_same_output(dsession, embedder):
    request = SuggestionRequest(team="T-13", cycle="2026-Q4", objectives=["SO-11", "SO-12"])
    ctx = build_suggest_context(dsession, ORG, request, embedder=embedder)
    first = OfflineDrafter().suggest(ctx, budget=None)  # type: ignore[arg-type]
    second = OfflineDrafter().suggest(ctx, budget=None)  # type: ignore[arg-type]
    assert first.raw == second.raw and first.prompt == second.prompt
    assert len(json.loads(first.raw)["suggestions"]) == 2


def test_team_summary_cites_its_check_ins_and_the_reports_findings(dsession, embedder):
    draft = offline_team_summary(dsession, embedder)
    assert draft.status == "pending", draft.gates
    payload = draft.payload
    assert payload["notice"] == NOTICE
    okrs = {o["id"] for o in sources.okrs(dsession, ORG, team="T-9", cycles=["2026-Q4"])}
    assert {p["text"].split()[0] for p in payload["progress"]} == okrs
    findings = {f for sec in ("risks", "drift", "decisions_needed") for st in payload[sec]
                for f in st["findings"]}  # fmt: skip
    # Planted in the sample: stale O-33, overconfident O-30-KR2, O-30's seven key results.
    assert {"stale_checkin:O-33", "confidence_mismatch:O-30-KR2"} <= findings
    assert any(f.startswith("too_many_key_results:") for f in findings)
    drift = {c for st in payload["drift"] for c in st["check_ins"]}
    assert "C-90" in drift  # the van wrap, filed under O-31


def test_objective_summary_covers_the_okrs_serving_it(dsession, embedder):
    draft = draft_summary(
        dsession,
        ORG,
        SummaryRequest(objective="SO-11", cycle="2026-Q4"),
        drafter=OfflineDrafter(),
        embedder=embedder,
    )
    assert draft.status == "pending" and draft.objective_id == "SO-11"
    decisions = [f for st in draft.payload["decisions_needed"] for f in st["findings"]]
    assert "uncovered_objective:SO-11" in decisions  # planted: nobody serves SO-11
    assert draft.payload["progress"] == []
