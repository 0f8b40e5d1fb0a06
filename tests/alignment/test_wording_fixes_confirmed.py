"""A link a person confirmed is reported as their decision, not as the engine's confident match."""

from __future__ import annotations

from alignment.drafting.draft import draft_summary
from alignment.drafting.offline import OfflineDrafter
from alignment.drafting.schemas import SummaryRequest
from alignment.models import Okr
from alignment.report import build_report
from alignment.scoring.feedback import record_feedback

# The sample's washer-restoration OKR: the engine is unsure of it (review queue), and its team
# declares nothing it serves, so a confirmed link to SO-7 stays undeclared.
OKR, OBJECTIVE = "O-38", "SO-7"


def _confirm(session, org: str) -> str:
    decided = record_feedback(
        session, org, OKR, OBJECTIVE, verdict="confirmed", decided_by="Strategy Office"
    )
    return f"{decided['decided_at']:%Y-%m-%d}"


def test_the_undeclared_link_finding_names_who_confirmed_it(session, scored_sample, embedder):
    day = _confirm(session, scored_sample)
    run = build_report(session, scored_sample, embedder=embedder)
    finding = {f["key"]: f for f in run.findings}[f"suggested_link:{OKR}|{OBJECTIVE}"]
    reason = finding["reason"]
    assert "clearly serves" not in reason and "score" not in reason
    assert reason == (
        f"{OKR} serves {OBJECTIVE} as confirmed by a person (Strategy Office on {day}) but does "
        "not declare it"
    )
    assert finding["evidence"]["decided_by"] == "Strategy Office"
    assert finding["evidence"]["decided_at"].startswith(day)


def test_the_summary_does_not_ask_to_confirm_a_confirmed_link(session, scored_sample, embedder):
    _confirm(session, scored_sample)
    team = session.get(Okr, {"org_id": scored_sample, "id": OKR}).team_id
    draft = draft_summary(
        session,
        scored_sample,
        SummaryRequest(team=team, cycle="2026-Q4"),
        drafter=OfflineDrafter(),
        embedder=embedder,
    )
    assert draft.status == "pending", draft.gates
    [line] = [
        d["text"]
        for d in draft.payload["decisions_needed"]
        if f"suggested_link:{OKR}|{OBJECTIVE}" in d["findings"]
    ]
    assert "Confirm the link" not in line and "clearly serves" not in line
    assert "confirmed by a person (Strategy Office" in line
