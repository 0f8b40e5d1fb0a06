"""A team lead's page: the team's OKRs with alignment, progress and drift, its drafts, and what
the suggest form offers (objectives, cycles). Read from what scoring and drafting stored."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from alignment.drafting import sources, store
from alignment.drafting.findings import kr_status
from alignment.models import Cycle
from alignment.review import okr_verdicts


def team_view(session: Session, org_id: str, team_id: str) -> dict[str, Any]:
    team = sources.team(session, org_id, team_id)
    objectives = sources.objectives(session, org_id)
    titles = {o["id"]: o["title"] for o in objectives}
    candidates, verdict = okr_verdicts(session, org_id)
    okrs = []
    for okr in sources.okrs(session, org_id, team=team_id):
        best = candidates.get(okr["id"], [])
        serves = okr["aligned_to"] or []
        krs = [{**kr, "status": kr_status(kr, okr["check_ins"])} for kr in okr["key_results"]]
        shares = [kr["status"]["share"] for kr in krs if kr["status"]["share"] is not None]
        okrs.append(
            {
                "id": okr["id"],
                "title": okr["title"],
                "cycle": okr["cycle"],
                "verdict": verdict.get(okr["id"], "not scored"),
                "serves": [
                    {"id": o, "title": titles.get(o, o), "score": okr["scores"].get(o)}
                    for o in serves
                ],
                "closest": (
                    {
                        "id": best[0].objective_id,
                        "title": titles.get(best[0].objective_id),
                        "score": round(best[0].score, 2),
                    }
                    if best
                    else None
                ),
                "key_results": krs,
                "progress": round(sum(shares) / len(shares), 2) if shares else None,
                "check_ins": len(okr["check_ins"]),
                "drifting": [c for c in okr["check_ins"] if c["drifting"]],
            }
        )
    # A failed draft someone dismissed no longer waits here; the API still lists it.
    drafts, _ = store.list_drafts(session, org_id, team=team_id, limit=20, dismissed=False)
    cycles = session.scalars(
        select(Cycle.id).where(Cycle.org_id == org_id).order_by(Cycle.start.desc().nulls_last())
    ).all()
    return {
        "team": team,
        "okrs": okrs,
        "objectives": [{"id": o["id"], "title": o["title"]} for o in objectives],
        "cycles": list(cycles),
        "drafts": [store.render_draft(d) for d in drafts],
        "objective_titles": titles,
    }
