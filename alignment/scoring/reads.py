"""Read side of alignment: rankings with evidence, orphans, link audit, coverage, drift.

All queries read what the score stage stored; nothing here embeds or scores. People's decisions
are recorded in `feedback.py`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import asdict
from typing import Any, NamedTuple

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session, aliased

from alignment import verdicts
from alignment.errors import NotFound
from alignment.models import (
    CheckIn,
    CheckInDrift,
    DeclaredLink,
    LinkFeedback,
    Okr,
    OkrVerdict,
    ReadVersion,
    ScoredLink,
    StrategicObjective,
)
from alignment.repository import require_org
from alignment.scoring.documents import Link
from alignment.scoring.people_decisions import called_orphans
from alignment.scoring.unsure import awaiting_review

# A person's link decision joined to its stored link while the OKR's text is still the text
# that was judged: a decision on earlier text no longer counts.
ON_THE_JUDGED_TEXT = (
    (ScoredLink.org_id == LinkFeedback.org_id)
    & (ScoredLink.okr_id == LinkFeedback.okr_id)
    & (ScoredLink.objective_id == LinkFeedback.objective_id)
    & (ScoredLink.okr_hash == LinkFeedback.okr_hash)
)


def read_version(session: Session, org_id: str) -> int:
    """The organization's version of what these reads show (0 before anything was written):
    triggers bump it when its scored links, OKRs or objectives change (migration 0012)."""
    version = session.scalar(select(ReadVersion.version).where(ReadVersion.org_id == org_id))
    return version or 0


def require_scored(session: Session, org_id: str) -> None:
    require_org(session, org_id)
    if (
        session.scalar(select(ScoredLink.okr_id).where(ScoredLink.org_id == org_id).limit(1))
        is None
    ):
        raise NotFound(
            f"organization {org_id!r} has not been scored yet; POST /orgs/{org_id}/score"
        )


def _link(row: ScoredLink, titles: dict[str, str]) -> dict[str, Any]:
    return {
        "objective_id": row.objective_id,
        "objective_title": titles.get(row.objective_id),
        "rank": row.rank,
        "score": row.score,
        "label": row.label,
        "evidence": row.evidence,
        "adjudication": row.adjudication,
    }


def _titles(session: Session, model: Any, org_id: str) -> dict[str, str]:
    return dict(session.execute(select(model.id, model.title).where(model.org_id == org_id)).all())


def objective_titles(session: Session, org_id: str) -> dict[str, str]:
    require_org(session, org_id)
    return _titles(session, StrategicObjective, org_id)


def link_dict(link: Link, titles: dict[str, str], rank: int) -> dict[str, Any]:
    """A freshly scored (not stored) link in the same shape as a stored one."""
    return {
        "objective_id": link.objective_id,
        "objective_title": titles.get(link.objective_id),
        "rank": rank,
        "score": link.score,
        "label": link.label,
        "evidence": [asdict(e) for e in link.evidence],
        "adjudication": link.adjudication,
    }


def okr_links(session: Session, org_id: str, okr_id: str) -> dict[str, Any]:
    okr = session.get(Okr, {"org_id": org_id, "id": okr_id})
    if okr is None:
        require_org(session, org_id)
        raise NotFound(f"OKR {okr_id!r} does not exist in organization {org_id!r}")
    require_scored(session, org_id)
    titles = _titles(session, StrategicObjective, org_id)
    rows = session.scalars(
        select(ScoredLink)
        .where(ScoredLink.org_id == org_id, ScoredLink.okr_id == okr_id)
        .order_by(ScoredLink.rank)
    ).all()
    confirmed = _teammates_decided(session, org_id, okr, "confirmed")
    rejected = _teammates_decided(session, org_id, okr, "rejected")
    decided = _decisions(session, org_id, okr_id)
    links = [
        {
            **_link(r, titles),
            "team_confirmed": confirmed.get(r.objective_id, []),
            "team_rejected": rejected.get(r.objective_id, []),
            "decision": _decision(decided.get(r.objective_id), r),
        }
        for r in rows
    ]
    return {
        "okr_id": okr_id,
        "title": okr.title,
        # An OKR written since the last run has no rows yet: not scored, which is no orphan.
        "verdict": _one_verdict(session, org_id, okr_id, rows) if rows else "not_scored",
        "orphan": bool(rows) and not any(lk["label"] == "aligned" for lk in links),
        "links": links,
    }


def _decisions(session: Session, org_id: str, okr_id: str) -> dict[str, LinkFeedback]:
    """objective id -> a person's latest decision on this OKR's link to it."""
    rows = session.scalars(
        select(LinkFeedback).where(LinkFeedback.org_id == org_id, LinkFeedback.okr_id == okr_id)
    )
    return {fb.objective_id: fb for fb in rows}


def _decision(fb: LinkFeedback | None, row: ScoredLink) -> dict[str, Any] | None:
    """Who decided the link and how, beside the label it set: "aligned" alone does not say a
    person confirmed it. Only a decision on the text that was judged, the one scoring counts
    (a decision on earlier text no longer does), so the label and the decision agree."""
    if fb is None or fb.okr_hash != row.okr_hash:
        return None
    return {
        "verdict": fb.verdict,
        "decided_by": fb.decided_by,
        # Cached as JSON (service/read_cache): ISO text, as the feedback answer serialises it.
        "decided_at": fb.decided_at.isoformat(),
        "note": fb.note,
    }


def _one_verdict(session: Session, org_id: str, okr_id: str, rows: Sequence[ScoredLink]) -> str:
    """The OKR's verdict as `stored_verdicts` gives it, from its own rows and its stored
    comparison: reading every OKR's links for one costs seconds on a large organization."""
    stored = session.get(OkrVerdict, {"org_id": org_id, "okr_id": okr_id})
    if stored is None:  # scored before comparisons were stored: today's median decides
        return stored_verdicts(session, org_id).get(okr_id, "needs_review")
    return verdicts.okr_verdict(
        [VerdictLink(r.label, r.score) for r in rows if r.rank == 1 or r.label != "none"],
        stored.reference,
        called_orphan=bool(called_orphans(session, org_id, okr_id)),
        far_below=verdicts.under_share(stored.best_score, stored.reference),
    )


def _teammates_decided(
    session: Session, org_id: str, okr: Okr, verdict: str
) -> dict[str, list[str]]:
    """objective id -> the OKR's teammates a person confirmed (or rejected) it for, while their
    text is what was judged: scoring counts each such decision for this OKR too
    (team_decisions.py), from the run after the decision."""
    rows = session.execute(
        select(LinkFeedback.objective_id, LinkFeedback.okr_id)
        .join(Okr, (Okr.org_id == LinkFeedback.org_id) & (Okr.id == LinkFeedback.okr_id))
        .join(ScoredLink, ON_THE_JUDGED_TEXT)
        .where(
            LinkFeedback.org_id == org_id,
            LinkFeedback.verdict == verdict,
            LinkFeedback.okr_id != okr.id,
            Okr.team_id == okr.team_id,
        )
        .order_by(LinkFeedback.okr_id)
    )
    out: dict[str, list[str]] = defaultdict(list)
    for objective_id, teammate in rows:
        out[objective_id].append(teammate)
    return dict(out)


def all_links(session: Session, org_id: str) -> dict[str, list[ScoredLink]]:
    require_scored(session, org_id)
    out: dict[str, list[ScoredLink]] = defaultdict(list)
    for row in session.scalars(
        select(ScoredLink)
        .where(ScoredLink.org_id == org_id)
        .order_by(ScoredLink.okr_id, ScoredLink.rank)
    ):
        out[row.okr_id].append(row)
    return out


def orphans(session: Session, org_id: str) -> list[dict[str, Any]]:
    """OKRs with no aligned link, each with its verdict (`orphan` or `needs_review`,
    alignment/verdicts.py) and its best link, weakest first.

    Only rank-1 rows leave the database: reading every stored link (145,000 rows with their
    evidence for 10,000 OKRs) to find them made this read cost seconds on a large organization.
    """
    require_scored(session, org_id)
    other = aliased(ScoredLink)
    aligned = select(other.okr_id).where(
        other.org_id == org_id, other.okr_id == ScoredLink.okr_id, other.label == "aligned"
    )
    best = (
        select(ScoredLink, Okr.title)
        .join(Okr, (Okr.org_id == ScoredLink.org_id) & (Okr.id == ScoredLink.okr_id))
        .where(ScoredLink.org_id == org_id, ScoredLink.rank == 1, ~aligned.exists())
        .order_by(ScoredLink.score, ScoredLink.okr_id)
    )
    objectives = _titles(session, StrategicObjective, org_id)
    verdict = stored_verdicts(session, org_id)
    return [
        {
            "okr_id": row.okr_id,
            "title": title,
            "verdict": verdict[row.okr_id],
            "best": _link(row, objectives),
        }
        for row, title in session.execute(best)
    ]


class VerdictLink(NamedTuple):
    label: str
    score: float


def verdict_links(session: Session, org_id: str) -> dict[str, list[VerdictLink]]:
    """What a verdict is decided from: each OKR's aligned and weak links and its rank-1 link,
    labels as stored (people's decisions applied). The report reads the same rows (facts.py)."""
    rows = session.execute(
        select(ScoredLink.okr_id, ScoredLink.label, ScoredLink.score).where(
            ScoredLink.org_id == org_id,
            or_(ScoredLink.rank == 1, ScoredLink.label != "none"),
        )
    )
    out: dict[str, list[VerdictLink]] = defaultdict(list)
    for okr_id, label, score in rows:
        out[okr_id].append(VerdictLink(label, score))
    return dict(out)


def stored_verdicts(session: Session, org_id: str) -> dict[str, str]:
    """Each scored OKR's verdict (aligned / needs_review / orphan) as every page, the review
    queue, the webhooks and these reads show it (alignment/verdicts.py)."""
    return verdicts.verdicts(
        verdict_links(session, org_id), called_orphans(session, org_id), far_below(session, org_id)
    )


def comparison(session: Session, org_id: str, okr_id: str) -> dict[str, Any] | None:
    """One OKR's stored comparison of its orphan score with its organization's median, if any
    (`best_score` is the orphan score)."""
    row = session.get(OkrVerdict, {"org_id": org_id, "okr_id": okr_id})
    if row is None:
        return None
    return {
        "far_below": verdicts.under_share(row.best_score, row.reference),
        "best_score": row.best_score,
        "organization_median_best": row.reference,
        "orphan_below": verdicts.ORPHAN_SHARE_OF_MEDIAN * row.reference,
        "decided_at": row.decided_at,
    }


def orphan_scores(session: Session, org_id: str) -> dict[str, float]:
    """Each OKR's orphan score as the score stage stored it (alignment/verdicts.py)."""
    rows = select(OkrVerdict.okr_id, OkrVerdict.best_score).where(OkrVerdict.org_id == org_id)
    return {okr: best for okr, best in session.execute(rows)}


def far_below(session: Session, org_id: str) -> dict[str, bool]:
    """Each OKR's stored comparison with its organization's median, held to today's share
    (alignment/verdicts.py)."""
    rows = select(OkrVerdict.okr_id, OkrVerdict.best_score, OkrVerdict.reference).where(
        OkrVerdict.org_id == org_id
    )
    return {okr: verdicts.under_share(best, ref) for okr, best, ref in session.execute(rows)}


def rejected_pairs(session: Session, org_id: str) -> set[tuple[str, str]]:
    """(OKR, objective) pairs a person rejected, on the OKR text as it is now (scoring ignores a
    decision on earlier text, and so does every verdict read from here)."""
    return set(
        session.execute(
            select(LinkFeedback.okr_id, LinkFeedback.objective_id)
            .join(ScoredLink, ON_THE_JUDGED_TEXT)
            .where(LinkFeedback.org_id == org_id, LinkFeedback.verdict == "rejected")
        ).all()
    )


def link_audit(session: Session, org_id: str) -> list[dict[str, Any]]:
    """Declared links the text does not support, and strong links nobody declared."""
    links = all_links(session, org_id)
    declared: dict[str, set[str]] = defaultdict(set)
    for declared_row in session.scalars(select(DeclaredLink).where(DeclaredLink.org_id == org_id)):
        declared[declared_row.okr_id].add(declared_row.objective_id)
    rejected = rejected_pairs(session, org_id)
    objectives = _titles(session, StrategicObjective, org_id)
    findings = []
    for okr_id, rows in links.items():
        by_objective = {r.objective_id: r for r in rows}
        for objective_id in sorted(declared.get(okr_id, ())):
            row = by_objective.get(objective_id)
            # A person who dropped it has answered what the finding asks (the report skips it
            # too); one who kept it made it aligned.
            if (
                row is not None
                and row.label != "aligned"
                and (okr_id, objective_id) not in rejected
            ):
                findings.append(
                    {
                        "kind": "unsupported_declared_link",
                        "okr_id": okr_id,
                        **_link(row, objectives),
                    }
                )
        for row in rows:
            if (
                row.label == "aligned"
                and row.objective_id not in declared.get(okr_id, ())
                and (okr_id, row.objective_id) not in rejected
            ):
                findings.append(
                    {"kind": "suggested_link", "okr_id": okr_id, **_link(row, objectives)}
                )
    return findings


COVERAGE_LISTED = 10  # serving OKRs listed per objective by default


def coverage(
    session: Session, org_id: str, *, listed: int = COVERAGE_LISTED
) -> list[dict[str, Any]]:
    """Per objective: how many OKRs serve it (aligned, weak), its strength (the sum of its
    aligned scores) and the `listed` strongest of them; `coverage_okrs` pages through the rest.
    `awaiting_review` counts the weak ones the review queue holds, and `status` says whether it
    is covered for sure, awaits review or is uncovered (`coverage_status`).

    Listing every serving OKR made one answer 35 MB on a 10,000-OKR organization (135,000 links
    above `weak`), and 50 clients reading it took the machine (docs/scaling.md)."""
    require_scored(session, org_id)
    serving = ScoredLink.label.in_(("aligned", "weak"))
    aligned = ScoredLink.label == "aligned"
    totals = {
        objective_id: (n_aligned, n_weak, strength)
        for objective_id, n_aligned, n_weak, strength in session.execute(
            select(
                ScoredLink.objective_id,
                func.count().filter(aligned),
                func.count().filter(ScoredLink.label == "weak"),
                func.coalesce(func.sum(ScoredLink.score).filter(aligned), 0.0),
            )
            .where(ScoredLink.org_id == org_id, serving)
            .group_by(ScoredLink.objective_id)
        )
    }
    rank = (
        func.row_number()
        .over(
            partition_by=ScoredLink.objective_id,
            order_by=(ScoredLink.score.desc(), ScoredLink.okr_id),
        )
        .label("rank")
    )
    ranked = (
        select(ScoredLink.objective_id, ScoredLink.okr_id, Okr.title, ScoredLink.score,
               ScoredLink.label, rank)
        .join(Okr, (Okr.org_id == ScoredLink.org_id) & (Okr.id == ScoredLink.okr_id))
        .where(ScoredLink.org_id == org_id, serving)
        .subquery()
    )  # fmt: skip
    top: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in session.execute(
        select(ranked).where(ranked.c.rank <= listed).order_by(ranked.c.objective_id, ranked.c.rank)
    ):
        top[row.objective_id].append(
            {"okr_id": row.okr_id, "title": row.title, "score": row.score, "label": row.label}
        )
    waiting = awaiting_review(session, org_id)
    out = []
    for obj in session.scalars(
        select(StrategicObjective)
        .where(StrategicObjective.org_id == org_id)
        .order_by(StrategicObjective.id)
    ):
        n_aligned, n_weak, strength = totals.get(obj.id, (0, 0, 0.0))
        n_waiting = len(waiting.get(obj.id, ()))
        out.append(
            {
                "objective_id": obj.id,
                "title": obj.title,
                "perspective": obj.perspective,
                "aligned": n_aligned,
                "weak": n_weak,
                "strength": round(float(strength), 4),
                "okrs": top[obj.id],
                "unlisted": n_aligned + n_weak - len(top[obj.id]),
                # Of the weak ones, those a person decides in the review queue: only aligned
                # links serve for sure, and weak ones nobody will review leave it uncovered.
                "awaiting_review": n_waiting,
                "status": coverage_status(n_aligned, n_waiting),
            }
        )
    return out


def coverage_status(aligned: int, awaiting_review: int) -> str:
    """`covered` (an aligned OKR serves it), `awaiting_review` (none yet, but the review queue
    holds a weak candidate) or `uncovered` (nobody works on it, as far as anyone can tell)."""
    if aligned:
        return "covered"
    return "awaiting_review" if awaiting_review else "uncovered"


def coverage_okrs(
    session: Session, org_id: str, objective_id: str, *, limit: int, offset: int
) -> tuple[list[dict[str, Any]], int]:
    """Every OKR that serves one objective (aligned or weak), strongest first, one page."""
    require_scored(session, org_id)
    if session.get(StrategicObjective, (org_id, objective_id)) is None:
        raise NotFound(f"strategic objective {objective_id!r} does not exist in {org_id!r}")
    where = (
        ScoredLink.org_id == org_id,
        ScoredLink.objective_id == objective_id,
        ScoredLink.label.in_(("aligned", "weak")),
    )
    total = session.scalar(select(func.count()).select_from(ScoredLink).where(*where)) or 0
    rows = session.execute(
        select(ScoredLink.okr_id, Okr.title, ScoredLink.score, ScoredLink.label)
        .join(Okr, (Okr.org_id == ScoredLink.org_id) & (Okr.id == ScoredLink.okr_id))
        .where(*where)
        .order_by(ScoredLink.score.desc(), ScoredLink.okr_id)
        .limit(limit)
        .offset(offset)
    )
    items = [
        {"okr_id": r.okr_id, "title": r.title, "score": r.score, "label": r.label} for r in rows
    ]
    return items, total


def drift(session: Session, org_id: str, *, only_drifting: bool = False) -> list[dict[str, Any]]:
    require_org(session, org_id)
    query = (
        select(CheckInDrift, CheckIn)
        .join(
            CheckIn,
            (CheckIn.org_id == CheckInDrift.org_id) & (CheckIn.id == CheckInDrift.check_in_id),
        )
        .where(CheckInDrift.org_id == org_id)
        .order_by(CheckInDrift.score.desc())
    )
    if only_drifting:
        query = query.where(CheckInDrift.drifting)
    return [
        {
            "check_in_id": d.check_in_id,
            "okr_id": c.okr_id,
            "key_result_id": c.key_result_id,
            "date": c.date,
            "text": c.text,
            "score": d.score,
            "drifting": d.drifting,
            "verdict": d.verdict,
            "evidence": d.evidence,
        }
        for d, c in session.execute(query)
    ]
