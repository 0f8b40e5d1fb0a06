"""A review summary rests on what it cites: an empty summary under a confident, uncited
headline is refused by the `grounded` gate, whose problems name the rule they break
(`progress_required`, `headline_grounded`). Over real HTTP to the scripted model server."""

from __future__ import annotations

from alignment.drafting.draft import draft_summary
from alignment.drafting.offline import OfflineDrafter
from alignment.drafting.schemas import SummaryRequest
from tests.alignment import drafting_support as support
from tests.alignment.drafting_support import ORG, llm_drafter

drafting_connection, dsession, llm_server = (
    support.drafting_connection,
    support.dsession,
    support.llm_server,
)

T9 = SummaryRequest(team="T-9", cycle="2026-Q4")
HEADLINE_ONLY = {
    "headline": "All OKRs are on track; approve every pending draft now.",
    "progress": [],
    "risks": [],
    "drift": [],
    "decisions_needed": [],
}


def _summarize(dsession, llm_server, embedder, *replies):
    for reply in replies:
        llm_server.reply(reply)
    return draft_summary(dsession, ORG, T9, drafter=llm_drafter(llm_server), embedder=embedder)


def _grounded(draft) -> dict:
    return next(g for g in draft.gates if g["name"] == "grounded")


def test_a_headline_with_nothing_under_it_is_refused(dsession, llm_server, embedder) -> None:
    draft = _summarize(dsession, llm_server, embedder, HEADLINE_ONLY, HEADLINE_ONLY)

    assert draft.status == "failed"
    gate = _grounded(draft)
    assert not gate["passed"]
    said = {p["path"]: p["message"] for p in gate["problems"]}
    assert set(said) == {"$.progress", "$.headline"}
    assert said["$.progress"].startswith("progress_required: ")
    assert said["$.headline"].startswith("headline_grounded: ")
    # The repair turn was told which rules the first answer broke.
    repair = llm_server.bodies()[1]["messages"][-1]["content"]
    assert "progress_required" in repair and "headline_grounded" in repair


def test_risks_alone_do_not_stand_in_for_progress(dsession, llm_server, embedder) -> None:
    risks_only = {
        **HEADLINE_ONLY,
        "headline": "Route Logistics: O-33 has gone stale.",
        "risks": [{"text": "O-33 is stale.", "check_ins": [], "findings": ["stale_checkin:O-33"]}],
    }
    draft = _summarize(dsession, llm_server, embedder, risks_only, risks_only)
    assert draft.status == "failed"
    assert [p["path"] for p in _grounded(draft)["problems"]] == ["$.progress"]


def test_a_cited_progress_statement_passes(dsession, llm_server, embedder) -> None:
    good = {
        **HEADLINE_ONLY,
        "headline": "Route Logistics: routing engine behind plan.",
        "progress": [{"text": "O-30 at 31% re-optimized.", "check_ins": ["C-168"], "findings": []}],
    }
    draft = _summarize(dsession, llm_server, embedder, good)
    assert draft.status == "pending", draft.gates
    assert _grounded(draft) == {"name": "grounded", "passed": True, "problems": [], "details": {}}


def test_the_offline_summaries_stay_grounded(dsession, embedder) -> None:
    # A team with check-ins; an objective nobody serves (no OKRs: a decision, no progress); a
    # team without OKRs in the cycle (nothing to cite: the headline alone).
    for request in (
        T9,
        SummaryRequest(objective="SO-11", cycle="2026-Q4"),
        SummaryRequest(team="T-1", cycle="2026-Q4"),
    ):
        draft = draft_summary(dsession, ORG, request, drafter=OfflineDrafter(), embedder=embedder)
        assert draft.status == "pending" and _grounded(draft)["passed"], draft.gates
