"""Only aligned links serve an objective; an objective whose only candidates are weak links the
review queue holds is "awaiting review": neither counted as served nor raised as uncovered.
Weak links nobody will review (an OKR aligned elsewhere, a confident orphan) leave it uncovered
(docs/report.md, "Coverage")."""

from __future__ import annotations

import html
import re

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from alignment.models import ScoredLink
from alignment.report import build_report
from alignment.scoring.reads import stored_verdicts
from alignment.strategy_map import strategy_map

PAGE = {"Accept": "text/html"}
UNCOVERED = "SO-11"  # the sample's planted uncovered objective: weak links, none in the queue


def _coverage(client, org: str) -> dict[str, dict]:
    return {r["objective_id"]: r for r in client.get(f"/orgs/{org}/alignment/coverage").json()}


def _queue_a_weak_link(session: Session, org: str, objective: str) -> str:
    """Give an OKR of the review queue a weak link to `objective` (scoring could have stored
    it so), and return the OKR."""
    verdict = stored_verdicts(session, org)
    okr = min(o for o, v in verdict.items() if v == "needs_review")
    links = session.execute(
        select(ScoredLink.objective_id, ScoredLink.rank)
        .where(ScoredLink.org_id == org, ScoredLink.okr_id == okr)
        .order_by(ScoredLink.rank.desc())
    ).all()
    target = next((o for o, _ in links if o == objective), links[0][0])  # else its last one
    session.execute(
        update(ScoredLink)
        .where(ScoredLink.org_id == org, ScoredLink.okr_id == okr)
        .where(ScoredLink.objective_id == target)
        .values(objective_id=objective, label="weak")
    )
    session.flush()
    assert stored_verdicts(session, org)[okr] == "needs_review"
    return okr


def _text(page: str) -> str:
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page)))


def test_weak_links_nobody_reviews_leave_an_objective_uncovered(
    client, session, scored_sample, embedder
) -> None:
    org = scored_sample
    row = _coverage(client, org)[UNCOVERED]
    assert row["aligned"] == 0 and row["weak"] > 0  # weak candidates, of OKRs not in the queue
    assert row["awaiting_review"] == 0 and row["status"] == "uncovered"
    assert {r["status"] for r in _coverage(client, org).values()} >= {"covered", "uncovered"}
    run = build_report(session, org, embedder=embedder)
    assert f"uncovered_objective:{UNCOVERED}" in {f["key"] for f in run.findings}
    objective = next(o for o in run.summary["objectives"] if o["id"] == UNCOVERED)
    assert objective["awaiting_review_okrs"] == 0
    assert strategy_map(session, org)["uncovered"] >= 1


def test_an_objective_whose_candidate_awaits_review_is_no_uncovered_alarm(
    client, session, scored_sample, embedder
) -> None:
    org = scored_sample
    uncovered_before = strategy_map(session, org)["uncovered"]
    okr = _queue_a_weak_link(session, org, UNCOVERED)

    # The report: no high "no OKR serves" finding; the summary says it waits.
    run = build_report(session, org, embedder=embedder)
    keys = {f["key"] for f in run.findings}
    assert f"uncovered_objective:{UNCOVERED}" not in keys
    assert f"needs_review:{okr}" in keys  # the OKR itself is in the queue, as before
    objective = next(o for o in run.summary["objectives"] if o["id"] == UNCOVERED)
    assert objective["aligned_okrs"] == 0 and objective["awaiting_review_okrs"] == 1
    assert run.summary["objectives_awaiting_review"] >= 1

    # The strategy map: not outlined as uncovered; it names the OKR awaiting review.
    m = strategy_map(session, org)
    assert m["uncovered"] == uncovered_before - 1 and m["awaiting_review_objectives"] >= 1
    shown = next(o for g in m["groups"] for o in g["objectives"] if o["id"] == UNCOVERED)
    assert shown["okrs"] == [] and shown["awaiting_review"] == [okr]
    page = client.get(f"/orgs/{org}/strategy-map", headers=PAGE).text
    article = page.split(f'data-objective="{UNCOVERED}"', 1)[1].split("</article>", 1)[0]
    assert "No OKR serves this objective" not in article
    assert f"1 OKR awaits review: {okr}" in _text(article)
    assert 'class="objective uncovered" data-objective="SO-11"' not in page

    # The objective's page: no OKR serves it for sure yet, one awaits review.
    said = _text(client.get(f"/orgs/{org}/objective/{UNCOVERED}", headers=PAGE).text)
    assert "No OKR serves this objective" not in said
    assert "No OKR serves it for sure yet: 1 OKR awaits review (below)." in said

    # The API: not served (aligned 0), not uncovered either.
    row = _coverage(client, org)[UNCOVERED]
    assert row["aligned"] == 0 and row["awaiting_review"] == 1
    assert row["status"] == "awaiting_review"


def test_a_declared_link_decided_on_an_earlier_text_is_in_the_queue_it_is_counted_for(
    session: Session, scored_sample: str
) -> None:
    """Every view asks again about a declared weak link whose decision was on the OKR's earlier
    text (a decision on changed text no longer counts): the review queue lists it, and so the
    objective it points to may wait for it. Before, the queue dropped any decided pair while
    coverage counted it as awaiting review: a wait for a review that never comes."""
    from alignment import review
    from alignment.models import DeclaredLink, LinkFeedback
    from alignment.scoring.unsure import awaiting_review

    org = scored_sample
    verdict = stored_verdicts(session, org)
    okr = min(
        o
        for o in session.scalars(
            select(ScoredLink.okr_id).where(
                ScoredLink.org_id == org,
                ScoredLink.objective_id == UNCOVERED,
                ScoredLink.label == "weak",
            )
        )
        if verdict.get(o) == "aligned"
    )
    session.add(DeclaredLink(org_id=org, okr_id=okr, objective_id=UNCOVERED, position=9))
    earlier_text = "0" * 64
    session.add(
        LinkFeedback(
            org_id=org,
            okr_id=okr,
            objective_id=UNCOVERED,
            verdict="rejected",
            okr_hash=earlier_text,
            decided_by="someone",
        )
    )
    session.flush()

    def queued() -> bool:
        return any(
            f["okr_id"] == okr and f["objective_id"] == UNCOVERED
            for f in review.unsupported_declared(session, org)
        )

    assert queued()
    assert okr in awaiting_review(session, org).get(UNCOVERED, [])
    # The same decision on the text as it is now settles it everywhere.
    current = session.scalar(
        select(ScoredLink.okr_hash).where(ScoredLink.org_id == org, ScoredLink.okr_id == okr)
    )
    session.execute(
        update(LinkFeedback)
        .where(LinkFeedback.org_id == org, LinkFeedback.okr_id == okr)
        .values(okr_hash=current)
    )
    assert not queued()
