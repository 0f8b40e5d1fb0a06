"""The strategy map: objectives by Balanced Scorecard perspective with their lead/lag KPIs, the
OKRs each serves (strength = the link's score), and the OKRs that serve nothing, set apart as
confident orphans or as awaiting a person's review. An objective no aligned OKR serves is
uncovered, unless a weak candidate for it waits in the review queue. Read from what scoring
stored."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from alignment.models import PERSPECTIVES, Kpi, Okr, ScoredLink, StrategicObjective
from alignment.repository import require_org
from alignment.review import okr_verdicts
from alignment.scoring.unsure import awaiting_review
from alignment.vocabulary import perspective_name


def strategy_map(session: Session, org_id: str) -> dict[str, Any]:
    org = require_org(session, org_id)
    objectives = session.scalars(
        select(StrategicObjective).where(StrategicObjective.org_id == org_id)
    ).all()
    kpis: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for k in session.scalars(select(Kpi).where(Kpi.org_id == org_id).order_by(Kpi.position)):
        kpis[k.objective_id].append({"id": k.id, "name": k.name, "kind": k.kind})
    okrs = {o.id: o for o in session.scalars(select(Okr).where(Okr.org_id == org_id))}
    serving: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for okr_id, objective_id, score in session.execute(
        select(ScoredLink.okr_id, ScoredLink.objective_id, ScoredLink.score)
        .where(ScoredLink.org_id == org_id, ScoredLink.label == "aligned")
        .order_by(ScoredLink.score.desc())
    ):
        okr = okrs[okr_id]
        serving[objective_id].append(
            {"id": okr_id, "title": okr.title, "team": okr.team_id, "score": round(score, 2)}
        )
    candidates, verdict = okr_verdicts(session, org_id)
    # Weak candidates a person decides in the review queue: an objective with only those is
    # not served for sure, nor uncovered (docs/report.md, "Coverage").
    waiting = awaiting_review(session, org_id)

    def okr_row(okr_id: str) -> dict[str, Any]:
        best = candidates[okr_id][0]
        okr = okrs[okr_id]
        return {
            "id": okr_id,
            "title": okr.title,
            "team": okr.team_id,
            "closest": best.objective_id,
            "score": round(best.score, 2),
        }

    groups = []
    for perspective in (*PERSPECTIVES, None):
        members = [o for o in objectives if o.perspective == perspective]
        if not members:
            continue
        groups.append(
            {
                "perspective": perspective_name(perspective),
                "objectives": [
                    {
                        "id": o.id,
                        "title": o.title,
                        "kpis": kpis.get(o.id, []),
                        "okrs": serving.get(o.id, []),
                        "awaiting_review": waiting.get(o.id, []),
                    }
                    for o in sorted(members, key=lambda o: (len(o.id), o.id))
                ],
            }
        )
    return {
        "organization": {"id": org.id, "name": org.name},
        "scored": bool(candidates),
        # What there is to score: with no objective or no OKR, "not scored yet" is no news.
        "objectives": len(objectives),
        "okrs": len(okrs),
        "groups": groups,
        "orphans": [okr_row(o) for o in sorted(verdict) if verdict[o] == "orphan"],
        "needs_review": [okr_row(o) for o in sorted(verdict) if verdict[o] == "needs_review"],
        "uncovered": sum(1 for o in objectives if not serving.get(o.id) and o.id not in waiting),
        "awaiting_review_objectives": sum(
            1 for o in objectives if not serving.get(o.id) and o.id in waiting
        ),
    }
