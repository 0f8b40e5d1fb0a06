"""Calling an OKR an orphan ("serves none") decides its declared links too: a person saying it
serves nothing means what its team declared as well, and a declared link left open in the queue
would let a later "keep" quietly undo the orphan decision."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from alignment import review
from alignment.errors import Invalid
from alignment.models import LinkFeedback
from alignment.scoring.feedback import record_feedback


def _verdicts(session, org: str, okr: str) -> dict[str, str]:
    rows = session.execute(
        select(LinkFeedback.objective_id, LinkFeedback.verdict).where(
            LinkFeedback.org_id == org, LinkFeedback.okr_id == okr
        )
    )
    return dict(rows.all())


def _open_declared(session, org: str) -> dict[tuple[str, str], dict]:
    return {(u["okr_id"], u["objective_id"]): u for u in review.unsupported_declared(session, org)}


def test_serves_none_rejects_the_declared_objective_with_the_candidates(
    session, scored_sample
) -> None:
    org = scored_sample
    candidates = review.candidate_ids(session, org, "O-38")
    assert review.declared_ids(session, org, "O-38") == ["SO-8"] and "SO-8" not in candidates
    assert ("O-38", "SO-8") in _open_declared(session, org)

    rejected = review.reject(session, org, "O-38", decided_by="maria", note="museum")
    assert [r["objective_id"] for r in rejected] == [*candidates, "SO-8"]
    assert _verdicts(session, org, "O-38") == dict.fromkeys([*candidates, "SO-8"], "rejected")
    # Decided, the declared link leaves the queue: nothing is left to undo the decision.
    assert ("O-38", "SO-8") not in _open_declared(session, org)
    orphan = review.orphan_decision(session, org, "O-38")
    assert orphan is not None and (orphan["candidates"], orphan["declared"]) == (
        candidates,
        ["SO-8"],
    )
    assert orphan["decided_by"] == "maria"


def test_an_orphan_decision_that_left_a_declared_link_open_is_shown_beside_it(
    session, scored_sample
) -> None:
    """Recorded before "serves none" covered declared links: the link is still open, and the
    queue item carries the orphan decision its keeping would replace."""
    org = scored_sample
    candidates = review.candidate_ids(session, org, "O-38")
    for objective in candidates:  # what a rejection recorded before
        record_feedback(session, org, "O-38", objective, verdict="rejected", decided_by="li")
    item = _open_declared(session, org)[("O-38", "SO-8")]
    assert item["orphan_decision"] is not None
    assert (item["orphan_decision"]["candidates"], item["orphan_decision"]["declared"]) == (
        candidates,
        [],
    )
    assert item["orphan_decision"]["decided_by"] == "li"
    others = [u for k, u in _open_declared(session, org).items() if k[0] != "O-38"]
    assert others and all(u["orphan_decision"] is None for u in others)


def test_serves_none_is_refused_over_a_link_a_person_confirmed(session, scored_sample) -> None:
    """A confirmed declared link ranked below the candidates is not reversed unseen."""
    org = scored_sample
    record_feedback(session, org, "O-38", "SO-8", verdict="confirmed", decided_by="li")
    with pytest.raises(Invalid, match="reject its link itself"):
        review.reject(session, org, "O-38", decided_by="maria")
    assert _verdicts(session, org, "O-38") == {"SO-8": "confirmed"}


@pytest.fixture
def own_sample(engine, embedder):
    """The sample under an id of its own, committed: the race below needs two transactions."""
    from tests.conftest import committed_sample

    with committed_sample(engine, embedder, "decisions") as org_id:
        yield org_id


def test_serves_none_waits_for_a_keep_under_way_and_then_refuses(engine, own_sample) -> None:
    """Before, "serves none" read the standing decisions, then rejected every link: a "keep"
    committed in between was overwritten, and its person had been told "Recorded: kept"."""
    import time
    from concurrent.futures import ThreadPoolExecutor

    from sqlalchemy import text
    from sqlalchemy.orm import Session

    org = own_sample
    waiting = text(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
        "AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()"
    )

    def orphan() -> list:
        with Session(engine) as s, s.begin():
            return review.reject(s, org, "O-38", decided_by="maria")

    with Session(engine) as keeping, ThreadPoolExecutor(max_workers=1) as pool:
        keeping.begin()
        record_feedback(keeping, org, "O-38", "SO-8", verdict="confirmed", decided_by="li")
        called = pool.submit(orphan)
        deadline = time.monotonic() + 30
        with Session(engine) as watch:
            while watch.scalar(waiting) < 1 and time.monotonic() < deadline:
                watch.rollback()
                time.sleep(0.05)
        keeping.commit()  # the keep lands while "serves none" is under way
        with pytest.raises(Invalid, match="reject its link itself"):
            called.result(timeout=60)
    with Session(engine) as s:
        assert _verdicts(s, org, "O-38") == {"SO-8": "confirmed"}


def test_serves_none_keeps_an_earlier_drop_of_a_declared_link_as_it_was(
    session, scored_sample
) -> None:
    """A declared link a person dropped on its own keeps who dropped it and why."""
    org = scored_sample
    record_feedback(session, org, "O-38", "SO-8", verdict="rejected", decided_by="li", note="why")
    rejected = review.reject(session, org, "O-38", decided_by="maria", note="serves none")
    assert "SO-8" not in [r["objective_id"] for r in rejected]
    kept = session.execute(
        select(LinkFeedback.decided_by, LinkFeedback.note).where(
            LinkFeedback.org_id == org, LinkFeedback.okr_id == "O-38",
            LinkFeedback.objective_id == "SO-8",
        )
    ).one()  # fmt: skip
    assert tuple(kept) == ("li", "why")


def test_serves_none_is_an_orphan_in_the_feedback_labels(session, scored_sample) -> None:
    """The labels people's decisions export (evaluation data) carry the orphan decision: in
    labels/v1 an empty list says the OKR serves nothing."""
    from alignment.scoring.feedback import feedback_labels

    org = scored_sample
    assert "O-38" not in feedback_labels(session, org)["links"]
    review.reject(session, org, "O-38", decided_by="maria", note="museum")
    assert feedback_labels(session, org)["links"]["O-38"] == []
