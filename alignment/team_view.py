"""A team lead's page: the team's OKRs with alignment, progress and drift, its drafts (a decided
one with its stored decision), and what the suggest form offers (objectives, cycles). Read from
what scoring, drafting and the approve stage stored."""

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
        "drafts": _with_decisions(session, org_id, drafts),
        "objective_titles": titles,
    }


def _with_decisions(
    session: Session, org_id: str, drafts: list[store.Draft]
) -> list[dict[str, Any]]:
    """The drafts, each decided one with `decision`: the last of its stored decisions (who,
    when, the reason) and, for an approval, the OKRs it created as they are now. A created OKR
    deleted since keeps the title it was approved with, marked `gone`."""
    decided: dict[str, store.DraftDecision] = {}
    for d in drafts:
        history = store.decisions(session, org_id, d.id) if d.status in store.DECISIONS else []
        if history:
            decided[d.id] = history[-1]
    created_ids = {okr_id for row in decided.values() for okr_id in row.created_records}
    current = {
        o["id"]: o for o in (sources.okrs(session, org_id, ids=created_ids) if created_ids else [])
    }
    shown = []
    for d in drafts:
        rendered = store.render_draft(d)
        row = decided.get(d.id)
        if row is not None:
            rendered["decision"] = _decision(row, current)
        shown.append(rendered)
    return shown


def _decision(row: store.DraftDecision, current: dict[str, dict[str, Any]]) -> dict[str, Any]:
    # The text approved, by position: an approval creates `<draft>-O<n>` from suggestion n.
    approved = (row.edited_payload or row.ai_payload or {}).get("suggestions") or []
    created = []
    for i, okr_id in enumerate(row.created_records):
        okr = current.get(okr_id)
        if okr is not None:
            krs = [kr["title"] for kr in okr["key_results"]]
            created.append({"id": okr_id, "title": okr["title"], "key_results": krs, "gone": False})
            continue
        text = approved[i] if i < len(approved) and isinstance(approved[i], dict) else {}
        created.append(
            {
                "id": okr_id,
                "title": text.get("title", ""),
                "key_results": [kr.get("title", "") for kr in text.get("key_results", [])],
                "gone": True,
            }
        )
    return {
        "decision": row.decision,
        "decided_by": row.decided_by,
        "decided_at": row.decided_at,
        "reason": row.reason,
        "created": created,
    }
