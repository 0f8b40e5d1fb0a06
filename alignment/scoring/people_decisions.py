"""People's decisions as a scoring run reads them: link verdicts that still hold and outrank
the engine's labels, the pairs people named, and verdicts on check-ins (drift_decisions.py).
Recording them is feedback.py's and alignment/check_in_review.py's."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import replace

from sqlalchemy import select
from sqlalchemy.orm import Session

from alignment.models import CheckInFeedback, DeclaredLink, LinkFeedback
from alignment.scoring.documents import Link


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
