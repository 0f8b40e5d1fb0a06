"""Which OKRs wait for a person (verdict `needs_review`), decided inside PostgreSQL: the review
queue's page of OKR ids and its count, without reading a verdict per OKR of the organization,
and which objectives' weak links wait in that queue (`awaiting_review`, for coverage).

It is `alignment/verdicts.py`'s rule over the rows `reads.stored_verdicts` reads, written as
SQL, so that one page of the queue costs one page of rows. An OKR with stored links is
`needs_review` unless one of them is `aligned`, or a person called it an orphan
(`people_decisions.called_orphans`) and none is `weak`, or its orphan score is far below the
median it was compared with (table `okr_verdicts`). An OKR scored before those comparisons
were stored is compared with today's median of its organization, as `verdicts.verdicts` does:
the mean of the one or two middle best scores, (lower + upper) / 2 in double precision as
`statistics.median` computes it, so the cut is the same float. PostgreSQL computes that median
only when such an OKR exists (an uncorrelated subquery runs on first use).

Every part is a join or a subquery run once, not one per OKR: the first version, with
correlated subqueries, made page 1 of a 4,000-OKR queue slower than reading every verdict.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, Float, Select, exists, func, literal, or_, select
from sqlalchemy.orm import Session, aliased

from alignment.models import DeclaredLink, LinkFeedback, OkrVerdict, ScoredLink
from alignment.scoring.people_decisions import CANDIDATES
from alignment.verdicts import ORPHAN_SHARE_OF_MEDIAN


def unsure_page(
    session: Session, org_id: str, *, limit: int | None, offset: int
) -> tuple[list[str], int]:
    """The ids of `limit` `needs_review` OKRs from `offset` (all without a limit), in OKR-id
    order, and how many there are."""
    unsure = unsure_okrs(org_id).subquery("unsure")
    # Python's `sorted` on the ids, which the queue promised: code point order, not the
    # database's locale (`o-2` and `O-3` swap under a natural-language collation).
    page = select(unsure.c.okr_id).order_by(unsure.c.okr_id.collate("C")).offset(offset)
    if limit is not None:
        page = page.limit(limit)
    ids = list(session.scalars(page))
    if (limit is None or len(ids) < limit) and (ids or offset == 0):
        return ids, offset + len(ids)  # the page reaches the end: nothing more to count
    total = session.scalar(select(func.count()).select_from(unsure)) or 0
    return ids, total


def awaiting_review(session: Session, org_id: str) -> dict[str, list[str]]:
    """Objective -> the OKRs (by id) whose `weak` link to it waits for a person in the review
    queue: the OKR is `needs_review`, or the link is one its team declared (the queue's
    "declared links the text does not support"; a person's decision on it would have made it
    `aligned` or `none`). A weak link of an OKR aligned elsewhere or a confident orphan is
    nobody's pending decision: it is not counted, or an objective only such OKRs come close
    to would wait for a review that never comes (docs/report.md, "Coverage")."""
    declared = exists().where(
        DeclaredLink.org_id == org_id,
        DeclaredLink.okr_id == ScoredLink.okr_id,
        DeclaredLink.objective_id == ScoredLink.objective_id,
    )
    rows = session.execute(
        select(ScoredLink.objective_id, ScoredLink.okr_id)
        .where(
            ScoredLink.org_id == org_id,
            ScoredLink.label == "weak",
            or_(ScoredLink.okr_id.in_(unsure_okrs(org_id)), declared),
        )
        .order_by(ScoredLink.objective_id, ScoredLink.okr_id.collate("C"))
    )
    out: dict[str, list[str]] = {}
    for objective_id, okr_id in rows:
        out.setdefault(objective_id, []).append(okr_id)
    return out


def unsure_okrs(org_id: str) -> Select[Any]:
    """The ids of the organization's `needs_review` OKRs, unordered."""
    link = ScoredLink
    per_okr = (
        select(
            link.okr_id.label("okr_id"),
            func.bool_or(link.label == "aligned").label("aligned"),
            func.bool_or(link.label == "weak").label("weak"),
            func.max(link.score).label("best"),
        )
        .where(link.org_id == org_id, or_(link.rank == 1, link.label != "none"))
        .group_by(link.okr_id)
        .subquery("per_okr")
    )
    stored = aliased(OkrVerdict)
    share = literal(ORPHAN_SHARE_OF_MEDIAN, Float)
    median = (
        select(
            (
                func.percentile_disc(0.5).within_group(per_okr.c.best)
                + func.percentile_disc(0.5).within_group(per_okr.c.best.desc())
            )
            / 2
        )
        .select_from(per_okr)
        .scalar_subquery()
    )
    far_below = func.coalesce(
        stored.best_score < share * stored.reference, per_okr.c.best < share * median
    )
    return (
        select(per_okr.c.okr_id)
        .select_from(
            per_okr.outerjoin(
                stored, (stored.org_id == org_id) & (stored.okr_id == per_okr.c.okr_id)
            )
        )
        .where(
            ~per_okr.c.aligned,
            ~far_below,
            or_(per_okr.c.weak, per_okr.c.okr_id.not_in(_called_orphans(org_id))),
        )
    )


def _called_orphans(org_id: str) -> Select[Any]:
    """The OKRs a person called orphans: every candidate the queue shows for it rejected and
    none of its links confirmed, on its current text (`people_decisions.called_orphans`)."""
    shown = aliased(ScoredLink)
    decided = aliased(LinkFeedback)
    rejected = aliased(LinkFeedback)
    rejected_pair = exists().where(
        rejected.org_id == org_id,
        rejected.okr_id == shown.okr_id,
        rejected.objective_id == shown.objective_id,
        rejected.verdict != "confirmed",
        _on_current_text(rejected),
    )
    confirmed = select(decided.okr_id).where(
        decided.org_id == org_id, decided.verdict == "confirmed", _on_current_text(decided)
    )
    some_decision = select(decided.okr_id).where(
        decided.org_id == org_id, decided.verdict != "confirmed"
    )
    return (
        select(shown.okr_id)
        .where(
            shown.org_id == org_id,
            shown.rank <= CANDIDATES,
            shown.okr_id.in_(some_decision),  # only OKRs with a rejection: few, or none
            shown.okr_id.not_in(confirmed),
        )
        .group_by(shown.okr_id)
        .having(func.bool_and(rejected_pair))
    )


def _on_current_text(decision: Any) -> ColumnElement[bool]:
    """`people_decisions.decided_on_current_text` for an aliased decision row."""
    stored = aliased(ScoredLink)
    return exists().where(
        stored.org_id == decision.org_id,
        stored.okr_id == decision.okr_id,
        stored.okr_hash == decision.okr_hash,
    )
