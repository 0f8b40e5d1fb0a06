"""A page of the OKR review queue reads a page: which OKRs are unsure is decided, ordered, cut
and counted in SQL (alignment/scoring/unsure.py), and agrees with every OKR's verdict as
`stored_verdicts` decides it, people's decisions and missing comparisons included."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import delete, event, select, update
from sqlalchemy.orm import Session

from alignment import review
from alignment.models import LinkFeedback, OkrVerdict, ScoredLink
from alignment.scoring.people_decisions import CANDIDATES
from alignment.scoring.reads import stored_verdicts
from benchmarks.review_queue_pages import OBJECTIVES, seed

PAGE = 20


def _org(session: Session, okrs: int) -> str:
    org_id = f"unsure-{uuid.uuid4().hex[:8]}"
    seed(session, org_id, okrs)
    session.flush()
    return org_id


def _rows_fetched(session: Session, work) -> tuple[object, list[int]]:
    """What `work` returns, and the rows each SELECT it ran brought back."""
    fetched: list[int] = []

    def count(conn, cursor, statement, parameters, context, executemany) -> None:
        if statement.lstrip().upper().startswith(("SELECT", "WITH")):
            fetched.append(cursor.rowcount)

    connection = session.connection()
    event.listen(connection, "after_cursor_execute", count)
    try:
        return work(), fetched
    finally:
        event.remove(connection, "after_cursor_execute", count)


def test_a_page_of_20_reads_rows_bounded_by_the_page_not_the_organization(
    session: Session,
) -> None:
    org = _org(session, 400)  # 360 OKRs await review
    (page, total), fetched = _rows_fetched(
        session, lambda: review.queue_page(session, org, limit=PAGE, offset=100)
    )
    assert len(page) == PAGE and total == 360
    # Per OKR shown: itself, its candidates, its declarations and opinions; plus the titles of
    # the organization's objectives and a few single-row answers (the count). Reading every
    # OKR's verdict rows, as the queue did, brings back two rows per OKR of the organization.
    assert sum(fetched) <= PAGE * (CANDIDATES + 6) + OBJECTIVES + 5, fetched
    assert max(fetched) <= max(PAGE * CANDIDATES, OBJECTIVES), fetched


def _decide(session: Session, org: str, okr: str, verdicts: dict[str, str], text: str) -> None:
    for objective, verdict in verdicts.items():
        session.add(
            LinkFeedback(
                org_id=org,
                okr_id=okr,
                objective_id=objective,
                verdict=verdict,
                okr_hash=text,
                decided_by="test",
            )
        )


def _candidates(session: Session, org: str, okr: str) -> list[str]:
    return list(
        session.scalars(
            select(ScoredLink.objective_id).where(
                ScoredLink.org_id == org, ScoredLink.okr_id == okr, ScoredLink.rank <= CANDIDATES
            )
        )
    )


def _relabel(session: Session, org: str, okr: str, label: str) -> None:
    session.execute(
        update(ScoredLink)
        .where(ScoredLink.org_id == org, ScoredLink.okr_id == okr, ScoredLink.rank == 1)
        .values(label=label)
    )


@pytest.mark.parametrize("missing_comparisons", [False, True])
def test_the_queue_is_every_needs_review_verdict_in_id_order(
    session: Session, missing_comparisons: bool
) -> None:
    org = _org(session, 40)
    text = "h" * 64  # the text every seeded link was scored on
    # A person called O-3 an orphan (its links no longer weak, as scoring leaves them) ...
    _relabel(session, org, "O-3", "none")
    _decide(session, org, "O-3", dict.fromkeys(_candidates(session, org, "O-3"), "rejected"), text)
    # ... and O-5 too, but a weak link remains: still unsure.
    _decide(session, org, "O-5", dict.fromkeys(_candidates(session, org, "O-5"), "rejected"), text)
    # O-7's rejections were of an earlier text: they no longer count.
    _relabel(session, org, "O-7", "none")
    _decide(session, org, "O-7", dict.fromkeys(_candidates(session, org, "O-7"), "rejected"), "x")
    # O-9: every candidate rejected but one link confirmed: no orphan call.
    _relabel(session, org, "O-9", "none")
    first, *rest = _candidates(session, org, "O-9")
    _decide(session, org, "O-9", {first: "rejected", **dict.fromkeys(rest, "rejected")}, text)
    session.execute(
        update(LinkFeedback)
        .where(LinkFeedback.org_id == org, LinkFeedback.okr_id == "O-9")
        .where(LinkFeedback.objective_id == first)
        .values(verdict="confirmed")
    )
    # O-11 scored far below the median it was compared with: a confident orphan.
    session.execute(
        update(OkrVerdict)
        .where(OkrVerdict.org_id == org, OkrVerdict.okr_id == "O-11")
        .values(best_score=0.001)
    )
    if missing_comparisons:  # scored before comparisons were stored: today's median decides
        session.execute(
            update(ScoredLink)
            .where(ScoredLink.org_id == org, ScoredLink.okr_id == "O-13")
            .values(score=ScoredLink.score / 100)
        )
        session.execute(
            delete(OkrVerdict).where(
                OkrVerdict.org_id == org, OkrVerdict.okr_id.in_(["O-13", "O-15", "O-17"])
            )
        )
    session.flush()

    verdicts = stored_verdicts(session, org)
    expected = sorted(o for o, v in verdicts.items() if v == "needs_review")
    assert verdicts["O-3"] == "orphan" and verdicts["O-11"] == "orphan"
    assert {verdicts[o] for o in ("O-5", "O-7", "O-9")} == {"needs_review"}
    assert (verdicts["O-13"] == "orphan") is missing_comparisons
    whole, total = review.queue_page(session, org)
    assert [i["okr_id"] for i in whole] == expected and total == len(expected)
    for offset in (0, 7, len(expected) - 3, len(expected), len(expected) + 5):
        page, total = review.queue_page(session, org, limit=5, offset=offset)
        assert [i["okr_id"] for i in page] == expected[offset : offset + 5]
        assert total == len(expected)
