"""Check-ins the engine is unsure about wait for a person, whose verdict scoring keeps."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from alignment import check_in_review
from alignment.errors import Conflict, Invalid, NotFound
from alignment.models import CheckIn, CheckInDrift, Okr
from alignment.report import build_report
from alignment.scoring import feedback
from alignment.scoring.drift import DEFAULT
from alignment.scoring.stage import score_organization


def stored(session, org_id: str, check_in_id: str) -> CheckInDrift:
    session.expire_all()
    return session.get(CheckInDrift, {"org_id": org_id, "check_in_id": check_in_id})


def _evidenced(row: CheckInDrift) -> bool:
    e = row.evidence
    own = e["own_similarity"]
    return bool(
        e["nearest_similarity"] > own
        or e["routine_similarity"] > own
        or own < e["typical_own_similarity"]
    )


def test_the_queue_holds_the_check_ins_between_the_review_and_flag_levels(
    session, scored_sample, embedder
):
    items = check_in_review.queue(session, scored_sample)
    assert items, "the sample has check-ins the engine is unsure about"
    scores = [i["score"] for i in items]
    assert scores == sorted(scores, reverse=True)
    assert all(DEFAULT.review <= s for s in scores)
    rows = session.scalars(select(CheckInDrift).where(CheckInDrift.org_id == scored_sample)).all()
    # Between the levels, or at the flag with nothing the reason could cite (drift.evidenced).
    unsure = {
        r.check_in_id
        for r in rows
        if DEFAULT.review <= r.score and (r.score < DEFAULT.threshold or not _evidenced(r))
    }
    assert {i["check_in_id"] for i in items} == unsure
    assert all(r.drifting == (r.verdict == "drifting") for r in rows)
    first = items[0]
    assert first["okr_title"] and first["text"]
    assert first["nearest_okr_title"] is not None or first["nearest_okr_id"] is None
    # Each item says which cycle its OKR and the closest other OKR are in, as stored.
    cycles = dict(
        session.execute(select(Okr.id, Okr.cycle_id).where(Okr.org_id == scored_sample)).all()
    )
    for item in items:
        assert item["okr_cycle"] == cycles[item["okr_id"]]
        assert item["nearest_okr_cycle"] == cycles.get(item["nearest_okr_id"])
    summary = build_report(session, scored_sample, embedder=embedder).summary
    assert summary["check_ins_awaiting_review"] == len(items)


def test_a_persons_verdict_shows_at_once_and_survives_rescoring(session, scored_sample, embedder):
    [first, *_] = check_in_review.queue(session, scored_sample)
    check_in_id = first["check_in_id"]
    decided = check_in_review.decide(
        session, scored_sample, check_in_id, verdict="drifting", decided_by="ana", note="payroll"
    )
    assert decided["verdict"] == "drifting" and decided["decided_by"] == "ana"
    row = stored(session, scored_sample, check_in_id)
    assert row.verdict == "drifting" and row.drifting and row.evidence["decided_by"] == "ana"
    assert check_in_id not in {
        i["check_in_id"] for i in check_in_review.queue(session, scored_sample)
    }
    report = build_report(session, scored_sample, embedder=embedder)
    [finding] = [
        f
        for f in report.findings
        if f["kind"] == "checkin_drift" and any(r.get("id") == check_in_id for r in f["records"])
    ]
    assert finding["reason"].endswith("ana decided so in the review queue")
    assert feedback.feedback_labels(session, scored_sample)["drift"] == {check_in_id: True}

    # Deciding again replaces the verdict (idempotent per check-in: the latest wins).
    check_in_review.decide(
        session, scored_sample, check_in_id, verdict="on_topic", decided_by="ben"
    )
    score_organization(session, scored_sample, embedder=embedder)
    row = stored(session, scored_sample, check_in_id)
    assert (row.verdict, row.drifting, row.evidence["decided_by"]) == ("on_topic", False, "ben")
    assert DEFAULT.review <= row.score  # the engine's score is still there

    # Reworded: what was judged is gone, so the engine decides again.
    check_in = session.get(CheckIn, {"org_id": scored_sample, "id": check_in_id})
    check_in.text = check_in.text + " Also chased two invoices."
    session.flush()
    score_organization(session, scored_sample, embedder=embedder)
    row = stored(session, scored_sample, check_in_id)
    assert "decided_by" not in row.evidence
    assert feedback.feedback_labels(session, scored_sample)["drift"] == {}


def test_bad_decisions_are_refused_naming_what_is_wrong(session, scored_sample):
    [first, *_] = check_in_review.queue(session, scored_sample)
    with pytest.raises(Invalid, match="'drifting' or 'on_topic'"):
        check_in_review.decide(
            session, scored_sample, first["check_in_id"], verdict="maybe", decided_by="ana"
        )
    with pytest.raises(NotFound, match="C-NOPE"):
        check_in_review.decide(
            session, scored_sample, "C-NOPE", verdict="drifting", decided_by="ana"
        )


def test_a_decision_on_text_that_changed_since_it_was_shown_is_refused(session, scored_sample):
    [first, *_] = check_in_review.queue(session, scored_sample)
    check_in = session.get(CheckIn, {"org_id": scored_sample, "id": first["check_in_id"]})
    check_in.text = "Rewritten after the page was shown."
    session.flush()
    with pytest.raises(Conflict, match="changed since it was shown"):
        check_in_review.decide(
            session, scored_sample, check_in.id, verdict="drifting", decided_by="ana",
            seen=first["text_hash"],
        )  # fmt: skip
    assert stored(session, scored_sample, check_in.id).verdict == "needs_review"
    [now] = [
        i for i in check_in_review.queue(session, scored_sample) if i["check_in_id"] == check_in.id
    ]
    decided = check_in_review.decide(
        session, scored_sample, check_in.id, verdict="drifting", decided_by="ana",
        seen=now["text_hash"],
    )  # fmt: skip
    assert decided["verdict"] == "drifting"
