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


def test_a_team_holding_the_kpis_hears_there_is_nothing_new(dsession, embedder):
    # T-9's O-30/O-31/O-32 hold every KPI of SO-9 and SO-5 as key results in 2026-Q4: the old
    # drafter handed over those copies (cosine 1.00) and the draft ended `failed`.
    request = SuggestionRequest(team="T-9", cycle="2026-Q4", objectives=["SO-9", "SO-5"])
    before = _drafts(dsession)
    with pytest.raises(NothingToSuggest) as caught:
        draft_suggestions(dsession, ORG, request, drafter=OfflineDrafter(), embedder=embedder)
    message = caught.value.message
    assert message.startswith("nothing new to suggest for SO-5 and SO-9 in 2026-Q4")
    assert "team T-9" in message and "O-30-KR1" in message and "O-31-KR2" in message
    assert caught.value.status == 409 and caught.value.code == "nothing_to_suggest"
    assert _drafts(dsession) == before  # nothing stored


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


def test_a_drafting_job_with_nothing_to_suggest_fails_at_once_in_plain_words(dsession, embedder):
    from alignment.jobs.transient import is_transient
    from service.routes.job_words import job_failure

    request = SuggestionRequest(team="T-9", cycle="2026-Q4", objectives=["SO-9", "SO-5"])
    with pytest.raises(NothingToSuggest) as caught:
        draft_suggestions(dsession, ORG, request, drafter=OfflineDrafter(), embedder=embedder)
    assert not is_transient(caught.value, "draft_suggestions")  # the same records, same answer
    said = job_failure(
        {
            "kind": "draft_suggestions",
            "status": "failed",
            "error": f"nothing_to_suggest: {caught.value.message}",
        }
    )
    assert said is not None and said["kind"] == "nothing_to_suggest"
    assert (
        "nothing new to suggest" in said["said"] and "write the new key results" in said["advice"]
    )
