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
from tests.alignment.drafting_support import ORG

drafting_connection, dsession = support.drafting_connection, support.dsession


def test_offline_is_the_default_without_an_llm_base_url():
    assert isinstance(make_drafter(LLMSettings(base_url=None)), OfflineDrafter)
    assert get_drafter().kind == "offline"  # the test environment configures no LLM


@pytest.mark.slow  # twelve drafts, each scored against the whole organization
def test_every_objective_drafted_for_its_team_passes_every_gate(dsession, embedder):
    teams = owner_teams(dsession, ORG, embedder)
    assert set(teams) == {f"SO-{i}" for i in range(1, 13)}
    for objective_id, team_id in teams.items():
        request = SuggestionRequest(team=team_id, cycle="2026-Q4", objectives=[objective_id])
        draft = draft_suggestions(
            dsession, ORG, request, drafter=OfflineDrafter(), embedder=embedder
        )
        failed = [g for g in draft.gates if not g["passed"]]
        assert draft.status == "pending", (objective_id, team_id, failed)
        [suggestion] = draft.payload["suggestions"]
        assert suggestion["objective_ids"] == [objective_id]
        assert 2 <= len(suggestion["key_results"]) <= 5
        assert draft.payload["notice"] == NOTICE and "No LLM wrote this" in NOTICE
        assert draft.drafter == "offline" and draft.total_tokens == 0


def test_suggestion_is_grounded_in_kpis_and_last_cycle(dsession, embedder):
    request = SuggestionRequest(team="T-2", cycle="2026-Q4", objectives=["SO-1"])
    draft = draft_suggestions(dsession, ORG, request, drafter=OfflineDrafter(), embedder=embedder)
    [s] = draft.payload["suggestions"]
    krs = {k["title"]: k for k in s["key_results"]}
    # From KPI SO-1-K1 as the strategy states it.
    assert krs["Annual recurring revenue from healthcare contracts"]["baseline"] == 6.2
    assert krs["Annual recurring revenue from healthcare contracts"]["target"] == 8.0
    # O-1-KR2 (Q3) ended at 520 of 600: carried forward from its latest value.
    assert (
        krs["New healthcare ARR signed"]["baseline"],
        krs["New healthcare ARR signed"]["target"],
    ) == (520, 600)
    refs = {(e["kind"], e["id"]) for e in s["evidence"]}
    assert {("team", "T-2"), ("key_result", "O-1-KR2")} <= refs
    assert s["kpi_ids"] == ["SO-1-K1", "SO-1-K2"]
    assert any(
        kind == "okr" and "similar" in e["why"] for e in s["evidence"] for kind in [e["kind"]]
    )


def test_suggest_mode_picks_objectives_the_team_serves(dsession, embedder):
    request = SuggestionRequest(team="T-9", cycle="2026-Q4", objectives="suggest")
    draft = draft_suggestions(dsession, ORG, request, drafter=OfflineDrafter(), embedder=embedder)
    assert draft.status == "pending"
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
    draft = draft_summary(
        dsession,
        ORG,
        SummaryRequest(team="T-9", cycle="2026-Q4"),
        drafter=OfflineDrafter(),
        embedder=embedder,
    )
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
