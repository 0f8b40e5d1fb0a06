"""Detail pages behind the strategy map: one OKR (its ranked objectives with the evidence,
key results, check-ins with drift, the findings about it) and one strategic objective (its
KPIs, the OKRs serving it, the findings about it). Read from what scoring and reports stored."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from alignment.drafting import sources
from alignment.drafting.findings import kr_status
from alignment.errors import NotFound
from alignment.models import (
    CheckInDrift,
    Kpi,
    LinkFeedback,
    Okr,
    ScoredLink,
    StrategicObjective,
)
from alignment.report.store import latest_run
from alignment.repository import require_org
from alignment.review import okr_verdicts
from alignment.scoring import reads


def _findings_about(
    session: Session, org_id: str, kind: str, record_id: str, shown: bool
) -> list[dict] | None:
    """The latest report's findings about a record; None for a reader the report is not for
    (its findings are the analysts': a team lead sees its verdicts, not the report)."""
    if not shown:
        return None
    run = latest_run(session, org_id)
    if run is None:
        return []
    return [
        {"kind": f["kind"], "severity": f["severity"], "reason": f["reason"]}
        for f in run.findings
        if any(r.get("type") == kind and r.get("id") == record_id for r in f["records"])
    ]


def _decisions(session: Session, org_id: str, okr_id: str) -> list[dict[str, Any]]:
    """People's verdicts on the OKR's links, newest first: who moved its verdict, when and
    why. One made on text since changed no longer counts (scoring ignores it): say so."""
    rows = session.execute(
        select(LinkFeedback, StrategicObjective.title, ScoredLink.okr_hash)
        .join(
            StrategicObjective,
            (StrategicObjective.org_id == LinkFeedback.org_id)
            & (StrategicObjective.id == LinkFeedback.objective_id),
        )
        .outerjoin(
            ScoredLink,
            (ScoredLink.org_id == LinkFeedback.org_id)
            & (ScoredLink.okr_id == LinkFeedback.okr_id)
            & (ScoredLink.objective_id == LinkFeedback.objective_id),
        )
        .where(LinkFeedback.org_id == org_id, LinkFeedback.okr_id == okr_id)
        .order_by(LinkFeedback.decided_at.desc(), LinkFeedback.objective_id)
    ).all()
    return [
        {
            "objective_id": fb.objective_id,
            "objective_title": title,
            "verdict": fb.verdict,
            "decided_by": fb.decided_by,
            "decided_at": fb.decided_at,
            "note": fb.note,
            "outdated": scored_hash is not None and scored_hash != fb.okr_hash,
        }
        for fb, title, scored_hash in rows
    ]


def okr_detail(
    session: Session, org_id: str, okr_id: str, *, with_findings: bool = True
) -> dict[str, Any]:
    require_org(session, org_id)
    found = sources.okrs(session, org_id, ids=[okr_id])
    if not found:
        raise NotFound(f"OKR {okr_id!r} does not exist in organization {org_id!r}")
    okr = found[0]
    candidates, verdict = okr_verdicts(session, org_id)
    scored = bool(candidates)
    links = reads.okr_links(session, org_id, okr_id)["links"] if scored else []
    drift = {
        check_in: (score, verdict)
        for check_in, score, verdict in session.execute(
            select(CheckInDrift.check_in_id, CheckInDrift.score, CheckInDrift.verdict).where(
                CheckInDrift.org_id == org_id
            )
        )
    }
    return {
        "okr": okr,
        "verdict": verdict.get(okr_id, "not scored"),
        # why an unplaced OKR is an orphan or awaits review: its best score against a typical one
        "compared": reads.comparison(session, org_id, okr_id),
        # The objectives the team declares the OKR serves, marked among the ranked ones.
        "links": [{**lk, "declared": lk["objective_id"] in okr["declared_links"]} for lk in links],
        "decisions": _decisions(session, org_id, okr_id),
        "key_results": [
            {**kr, "status": kr_status(kr, okr["check_ins"])} for kr in okr["key_results"]
        ],
        "check_ins": [
            {
                **c,
                "drift_score": drift.get(c["id"], (None, None))[0],
                "drift_verdict": drift.get(c["id"], (None, None))[1],
            }
            for c in reversed(okr["check_ins"])
        ],
        "findings": _findings_about(session, org_id, "okr", okr_id, with_findings),
    }


def objective_detail(
    session: Session, org_id: str, objective_id: str, *, with_findings: bool = True
) -> dict[str, Any]:
    require_org(session, org_id)
    objective = session.get(StrategicObjective, {"org_id": org_id, "id": objective_id})
    if objective is None:
        raise NotFound(f"strategic objective {objective_id!r} does not exist in {org_id!r}")
    kpis = session.scalars(
        select(Kpi).where(Kpi.org_id == org_id, Kpi.objective_id == objective_id)
        .order_by(Kpi.position)
    ).all()  # fmt: skip
    linked = session.execute(
        select(
            ScoredLink.okr_id, ScoredLink.score, ScoredLink.label, Okr.title, Okr.team_id,
            Okr.cycle_id, LinkFeedback.decided_by, LinkFeedback.decided_at,
        )
        .join(Okr, (Okr.org_id == ScoredLink.org_id) & (Okr.id == ScoredLink.okr_id))
        # A person's confirmation, while the OKR's text is what they judged: their decision
        # makes a link aligned whatever its score, and readers should know it is not the engine's.
        .outerjoin(
            LinkFeedback, reads.ON_THE_JUDGED_TEXT & (LinkFeedback.verdict == "confirmed")
        )
        .where(
            ScoredLink.org_id == org_id,
            ScoredLink.objective_id == objective_id,
            ScoredLink.label.in_(("aligned", "weak")),
        )
        .order_by(ScoredLink.score.desc())
    ).all()  # fmt: skip
    okrs = [
        {"id": o, "score": round(score, 2), "label": label, "title": title, "team": team,
         "cycle": cycle, "confirmed_by": by, "confirmed_at": at}
        for o, score, label, title, team, cycle, by, at in linked
    ]  # fmt: skip
    return {
        "objective": {
            "id": objective.id,
            "title": objective.title,
            "description": objective.description,
            "perspective": objective.perspective,
        },
        "kpis": [{"id": k.id, "name": k.name, "kind": k.kind, "unit": k.unit} for k in kpis],
        # Only aligned links count as serving it, as in the report's coverage and the strategy
        # map; weak ones are shown apart, or the page would contradict both.
        "serving": [o for o in okrs if o["label"] == "aligned"],
        "weak": [o for o in okrs if o["label"] == "weak"],
        "findings": _findings_about(session, org_id, "objective", objective_id, with_findings),
    }
