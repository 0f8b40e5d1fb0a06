"""The offline drafter never hands people a draft its own duplicate check rejects: key results
that would copy existing ones give way to other grounded ones or are left out, none repeats
within a draft, and with nothing new to ground the request ends in a plain "nothing new to
suggest" (409, nothing stored) instead of a failed draft."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from alignment.drafting import approve
from alignment.drafting.context import build_suggest_context
from alignment.drafting.draft import draft_suggestions
from alignment.drafting.offline import OfflineDrafter
from alignment.drafting.offline_suggestions import NothingToSuggest, suggestions
from alignment.drafting.schemas import SuggestionRequest
from alignment.drafting.store import Draft
from tests.alignment import drafting_support as support
from tests.alignment.drafting_support import ORG

drafting_connection, dsession = support.drafting_connection, support.dsession


def _drafts(session) -> int:
    return session.scalar(select(func.count()).where(Draft.org_id == ORG)) or 0


def test_a_team_holding_the_kpis_hears_why_an_objective_has_nothing_new(dsession, embedder):
    # T-9's O-30/O-31/O-32 hold every KPI of SO-9 and SO-5 as key results in 2026-Q4: the old
    # drafter handed over those copies (cosine 1.00) and the draft ended `failed`. SO-5's
    # suggestion carries O-4-KR2 forward; SO-9's only new key result is that one, so SO-9 is
    # left out, and the rationale says so truly (not "every key result already exists").
    request = SuggestionRequest(team="T-9", cycle="2026-Q4", objectives=["SO-9", "SO-5"])
    draft = draft_suggestions(dsession, ORG, request, drafter=OfflineDrafter(), embedder=embedder)
    assert draft.status == "pending", [g for g in draft.gates if not g["passed"]]
    (only,) = draft.payload["suggestions"]
    assert only["objective_ids"] == ["SO-5"]
    assert (
        "Nothing new for SO-9: every key result the records ground (the objective's KPIs, the "
        "team's unfinished key results of 2026-Q3) already exists in the organization "
        "(O-30-KR1, O-30-KR2); 1 more is in this draft's suggestion for another objective."
    ) in only["rationale"]


def test_an_unfinished_key_result_left_alone_gets_a_milestone_not_a_false_refusal(
    dsession, embedder
):
    # The walk-through: SO-9 alone in 2026-Q4 was refused as "every key result ... already
    # exists (O-30-KR1, O-30-KR2)", though O-4-KR2 (48 of 60 at C-35) exists in no 2026-Q4 OKR.
    request = SuggestionRequest(team="T-9", cycle="2026-Q4", objectives=["SO-9"])
    before = _drafts(dsession)
    draft = draft_suggestions(dsession, ORG, request, drafter=OfflineDrafter(), embedder=embedder)
    assert draft.status == "pending", [g for g in draft.gates if not g["passed"]]
    assert _drafts(dsession) == before + 1
    (made,) = draft.payload["suggestions"]
    titles = [k["title"] for k in made["key_results"]]
    assert titles[0] == "Stops where the customer gets an ETA text"
    assert titles[1] == "Stops where the customer gets an ETA text, half-way milestone"
    assert made["key_results"][1]["baseline"] == 48 and made["key_results"][1]["target"] == 54
    cited = {(e["kind"], e["id"]) for e in made["evidence"]}
    assert {("key_result", "O-4-KR2"), ("check_in", "C-35")} <= cited
    assert "Carries forward O-4-KR2 (48 of 60), unfinished in 2026-Q3." in made["rationale"]
    assert "last cycle" not in made["rationale"]


def test_a_refusal_says_each_objectives_true_reason(dsession, embedder, monkeypatch):
    from alignment.drafting import offline_suggestions

    request = SuggestionRequest(team="T-9", cycle="2026-Q4", objectives=["SO-9"])
    ctx = build_suggest_context(dsession, ORG, request, embedder=embedder)
    # Without the milestone, one new key result is left: too few, and the copies are named.
    monkeypatch.setattr(offline_suggestions, "_midpoint", lambda objective, key_results: None)
    with pytest.raises(NothingToSuggest) as caught:
        suggestions(ctx)
    assert caught.value.message.startswith(
        "nothing new to suggest for SO-9 in 2026-Q4 for team T-9: for SO-9, only one new key "
        'result is left ("Stops where the customer gets an ETA text"), and an OKR needs 2; the '
        "others (the objective's KPIs, the team's unfinished key results of 2026-Q3) already "
        "exist in the organization (O-30-KR1, O-30-KR2)"
    ), caught.value.message
    monkeypatch.undo()
    # A suggestion restating an existing OKR names it.
    assert ctx.vectors is not None
    real = ctx.vectors.nearest_okrs

    def restating(text, **options):
        return [("O-4", 0.95)] if options.get("draft") else real(text, **options)

    monkeypatch.setattr(ctx.vectors, "nearest_okrs", restating)
    with pytest.raises(NothingToSuggest) as caught:
        suggestions(ctx)
    assert "for SO-9, the suggestion would restate OKR O-4 (cosine 0.95)" in caught.value.message


def test_a_carried_lower_is_better_key_result_reads_as_such(dsession, embedder):
    request = SuggestionRequest(team="T-9", objectives=["SO-9"])  # 2027-Q1, 2026-Q4 55% done
    draft = draft_suggestions(dsession, ORG, request, drafter=OfflineDrafter(), embedder=embedder)
    rationale = draft.payload["suggestions"][0]["rationale"]
    assert "O-30-KR5 (6.1, target 4, lower is better)" in rationale
    assert "unfinished in 2026-Q4." in rationale and "last cycle" not in rationale


def test_suggesting_after_an_approval_does_not_copy_what_was_approved(dsession, embedder):
    first = SuggestionRequest(team="T-13", cycle="2026-Q4", objectives=["SO-12"])
    made = draft_suggestions(dsession, ORG, first, drafter=OfflineDrafter(), embedder=embedder)
    assert made.status == "pending"
    approve.approve_draft(dsession, ORG, made.id, decided_by="lead")
    again = SuggestionRequest(team="T-13", cycle="2026-Q4", objectives="suggest")
    with pytest.raises(NothingToSuggest, match="nothing new to suggest for SO-12 in 2026-Q4"):
        draft_suggestions(dsession, ORG, again, drafter=OfflineDrafter(), embedder=embedder)


def test_no_key_result_repeats_across_the_suggestions_of_a_draft(dsession, embedder):
    # O-4 (2026-Q3) served both SO-9 and SO-5, so its unfinished O-4-KR2 was carried into both.
    # Without vectors no copy is checked: only the repeat rule is at work here.
    request = SuggestionRequest(team="T-9", cycle="2026-Q4", objectives=["SO-9", "SO-5"])
    ctx = build_suggest_context(dsession, ORG, request, embedder=embedder)
    ctx.vectors = None
    made = suggestions(ctx)["suggestions"]
    titles = [k["title"].lower() for s in made for k in s["key_results"]]
    assert "stops where the customer gets an eta text" in titles
    assert len(titles) == len(set(titles)), titles


def test_next_cycle_suggestions_for_both_objectives_pass_every_gate(dsession, embedder):
    request = SuggestionRequest(team="T-9", objectives=["SO-9", "SO-5"])  # 2027-Q1
    draft = draft_suggestions(dsession, ORG, request, drafter=OfflineDrafter(), embedder=embedder)
    assert draft.status == "pending", [g for g in draft.gates if not g["passed"]]
    titles = [k["title"].lower() for s in draft.payload["suggestions"] for k in s["key_results"]]
    assert len(draft.payload["suggestions"]) == 2 and len(titles) == len(set(titles))


def test_a_drafting_job_with_nothing_to_suggest_is_said_as_an_answer(
    dsession, embedder, monkeypatch
):
    from alignment.drafting import offline_suggestions
    from alignment.jobs.transient import is_transient
    from service.routes.job_words import job_declined

    monkeypatch.setattr(offline_suggestions, "_midpoint", lambda objective, key_results: None)
    request = SuggestionRequest(team="T-9", cycle="2026-Q4", objectives=["SO-9"])
    with pytest.raises(NothingToSuggest) as caught:
        draft_suggestions(dsession, ORG, request, drafter=OfflineDrafter(), embedder=embedder)
    assert not is_transient(caught.value, "draft_suggestions")  # the same records, same answer
    result = caught.value.declined()
    assert result["declined"] == "nothing_to_suggest" and result["objectives"] == ["SO-9"]
    said = job_declined({"kind": "draft_suggestions", "status": "succeeded", "result": result})
    assert said is not None
    assert (
        said["said"] == "There is nothing new to suggest for SO-9 in 2026-Q4. Nothing was stored."
    )
    assert said["reasons"][0].startswith("For SO-9: only one new key result is left")
    assert "write the new key results" in said["advice"]
    # A job that ended `failed` with it before declines succeeded reads the same way.
    legacy = job_declined(
        {
            "kind": "draft_suggestions",
            "status": "failed",
            "error": f"nothing_to_suggest: {caught.value.message}",
            "params": {"team": "T-9", "cycle": "2026-Q4", "objectives": ["SO-9"]},
        }
    )
    assert legacy is not None and legacy["said"] == said["said"]
