"""People's decisions as a scoring run reads them: link verdicts that still hold and outrank
the engine's labels, the pairs people named, the OKRs people called orphans, and verdicts on
check-ins (drift_decisions.py). Recording them is feedback.py's and
alignment/check_in_review.py's."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import replace

from sqlalchemy import Exists, select
from sqlalchemy.orm import Session

from alignment.models import CheckInFeedback, DeclaredLink, LinkFeedback, ScoredLink
from alignment.scoring.documents import Link

# The objectives the review queue shows for an OKR (its best-ranked stored links): what a
# person's "serves none" rejects, and so what makes an orphan a person's decision.
CANDIDATES = 3


def current_feedback(
    session: Session, org_id: str, fingerprints: dict[str, str]
) -> dict[tuple[str, str], str]:
    """(OKR, objective) -> "confirmed" | "rejected", while the OKR's text is what people
    judged."""
    return {
        (f.okr_id, f.objective_id): f.verdict
        for f in session.scalars(select(LinkFeedback).where(LinkFeedback.org_id == org_id))
        if fingerprints.get(f.okr_id) == f.okr_hash
    }


def apply_feedback(
    links: dict[str, list[Link]], verdicts: dict[tuple[str, str], str]
) -> dict[str, list[Link]]:
    """People outrank the engine on the links they decided."""
    if not verdicts:
        return links
    out: dict[str, list[Link]] = {}
    for okr_id, ranked in links.items():
        out[okr_id] = [
            _with_verdict(link, verdicts.get((okr_id, link.objective_id))) for link in ranked
        ]
    return out


def _with_verdict(link: Link, verdict: str | None) -> Link:
    if verdict == "rejected":
        return replace(link, label="none")
    if verdict == "confirmed":
        return replace(link, label="aligned")
    return link


def pairs_people_named(session: Session, org_id: str) -> dict[str, set[str]]:
    """Declared and decided (OKR, objective) pairs: stored whatever their rank, so the link
    audit and people's verdicts always find them."""
    pairs: dict[str, set[str]] = defaultdict(set)
    for table in (DeclaredLink, LinkFeedback):
        rows = session.execute(
            select(table.okr_id, table.objective_id).where(table.org_id == org_id)
        )
        for okr_id, objective_id in rows:
            pairs[okr_id].add(objective_id)
    return pairs


def decided_on_current_text() -> Exists:
    """True for a decision made on its OKR's current text: judged against any of the OKR's
    stored links, not the decided pair's own. A pair not stored yet (a link declared since the
    last scoring, an objective ranked below the stored ones) has no row until the scoring job
    the decision queued stores it, and the decision stands meanwhile."""
    return (
        select(ScoredLink.okr_id)
        .where(
            ScoredLink.org_id == LinkFeedback.org_id,
            ScoredLink.okr_id == LinkFeedback.okr_id,
            ScoredLink.okr_hash == LinkFeedback.okr_hash,
        )
        .exists()
    )


def called_orphans(session: Session, org_id: str, okr_id: str | None = None) -> set[str]:
    """OKRs a person called orphans ("serves none", alignment/review.py): every candidate the
    queue shows for it rejected and none of its links confirmed, on its current text. Only
    `okr_id` when given.

    A rejection of one link is no such call: it says that link does not hold, not that the
    OKR serves nothing (the engine's other candidates are still unjudged). Reading any
    rejection as one made a dropped declared link an orphan "decided" by whoever dropped it.
    """
    decisions = select(LinkFeedback.okr_id, LinkFeedback.objective_id, LinkFeedback.verdict).where(
        LinkFeedback.org_id == org_id, decided_on_current_text()
    )
    if okr_id is not None:
        decisions = decisions.where(LinkFeedback.okr_id == okr_id)
    rejected: dict[str, set[str]] = defaultdict(set)
    confirmed: set[str] = set()
    for okr, objective, verdict in session.execute(decisions):
        if verdict == "confirmed":
            confirmed.add(okr)
        else:
            rejected[okr].add(objective)
    open_okrs = [okr for okr in rejected if okr not in confirmed]
    if not open_okrs:
        return set()
    shown: dict[str, set[str]] = defaultdict(set)
    for okr, objective in session.execute(
        select(ScoredLink.okr_id, ScoredLink.objective_id).where(
            ScoredLink.org_id == org_id,
            ScoredLink.okr_id.in_(open_okrs),
            ScoredLink.rank <= CANDIDATES,
        )
    ):
        shown[okr].add(objective)
    return {okr for okr, candidates in shown.items() if candidates <= rejected[okr]}


def check_in_decisions(session: Session, org_id: str) -> dict[str, tuple[str, str, str]]:
    """check-in id -> (verdict, the hash judged, who decided), as drift_decisions applies them."""
    rows = session.execute(
        select(
            CheckInFeedback.check_in_id,
            CheckInFeedback.verdict,
            CheckInFeedback.text_hash,
            CheckInFeedback.decided_by,
        ).where(CheckInFeedback.org_id == org_id)
    )
    return {check_in: (verdict, judged, who) for check_in, verdict, judged, who in rows}
