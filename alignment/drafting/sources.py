"""Reads the draft stage needs: teams, cycles, strategy, OKRs with check-ins, stored verdicts,
pgvector neighbours, and existence checks for citations (`cycles.data_today` and approval's
duplicate check read their own).

Records come back as plain dicts in the bundle's field names: they go into prompts as data and
into the offline drafter's templates unchanged.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterable
from typing import Any

import numpy as np
from sqlalchemy import func, nulls_first, select
from sqlalchemy.orm import Session

from alignment.errors import Invalid, NotFound
from alignment.models import (
    CheckIn,
    CheckInDrift,
    Cycle,
    DeclaredLink,
    KeyResult,
    Kpi,
    Okr,
    ScoredLink,
    StrategicObjective,
    Team,
    TextEmbedding,
)
from alignment.repository import require_org

REF_MODELS = {"team": Team, "okr": Okr, "key_result": KeyResult, "check_in": CheckIn}


def team(session: Session, org_id: str, team_id: str) -> dict[str, Any]:
    row = session.get(Team, {"org_id": org_id, "id": team_id})
    if row is None:
        require_org(session, org_id)
        raise NotFound(f"team {team_id!r} does not exist in organization {org_id!r}")
    return {"id": row.id, "name": row.name, "mission": row.mission}


def requested_team(session: Session, org_id: str, team_id: str) -> None:
    """A team a request's body names. Unknown, it is the body that is wrong (422 at `$.team`,
    as an unknown cycle or objective is); 404 stays for what the URL names."""
    require_org(session, org_id)
    if session.get(Team, {"org_id": org_id, "id": team_id}) is None:
        raise Invalid(
            f"team {team_id!r} does not exist in organization {org_id!r}",
            details=[{"path": "$.team", "message": f"unknown {team_id!r}"}],
        )


def teams(session: Session, org_id: str) -> list[dict[str, Any]]:
    rows = session.scalars(select(Team).where(Team.org_id == org_id).order_by(Team.id))
    return [{"id": t.id, "name": t.name, "mission": t.mission} for t in rows]


def cycles(session: Session, org_id: str) -> list[dict[str, Any]]:
    """Oldest first: by start date (undated first), then id."""
    rows = session.scalars(
        select(Cycle)
        .where(Cycle.org_id == org_id)
        .order_by(nulls_first(Cycle.start), func.length(Cycle.id), Cycle.id)
    )
    return [{"id": c.id, "start": c.start, "end": c.end} for c in rows]


def pick_cycle(
    session: Session, org_id: str, cycle_id: str | None
) -> tuple[dict[str, Any], str | None]:
    """The requested cycle (default: the latest) and the id of the one before it."""
    require_org(session, org_id)
    ordered = cycles(session, org_id)
    if not ordered:
        raise Invalid(f"organization {org_id!r} has no cycles to draft for")
    ids = [c["id"] for c in ordered]
    if cycle_id is None:
        cycle_id = ids[-1]
    if cycle_id not in ids:
        raise Invalid(
            f"cycle {cycle_id!r} does not exist in organization {org_id!r}",
            details=[{"path": "$.cycle", "message": f"known cycles: {', '.join(ids)}"}],
        )
    at = ids.index(cycle_id)
    return ordered[at], (ids[at - 1] if at else None)


def objectives(
    session: Session,
    org_id: str,
    only: Collection[str] | None = None,
    *,
    path: str = "$.objectives",
) -> list[dict[str, Any]]:
    query = select(StrategicObjective).where(StrategicObjective.org_id == org_id)
    if only is not None:
        query = query.where(StrategicObjective.id.in_(list(only)))
    rows = session.scalars(
        query.order_by(func.length(StrategicObjective.id), StrategicObjective.id)
    )
    kpis: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for k in session.scalars(
        select(Kpi).where(Kpi.org_id == org_id).order_by(Kpi.position, Kpi.id)
    ):
        kpis[k.objective_id].append(
            {
                "id": k.id,
                "name": k.name,
                "kind": k.kind,
                "unit": k.unit,
                "baseline": k.baseline,
                "target": k.target,
            }
        )
    out = [
        {
            "id": o.id,
            "title": o.title,
            "description": o.description,
            "perspective": o.perspective,
            "kpis": kpis[o.id],
        }
        for o in rows
    ]
    if only is not None:
        unknown = sorted(set(only) - {o["id"] for o in out})
        if unknown:
            raise Invalid(
                f"strategic objective(s) {', '.join(map(repr, unknown))} do not exist "
                f"in organization {org_id!r}",
                details=[{"path": path, "message": f"unknown {u!r}"} for u in unknown],
            )
    return out


def okrs(
    session: Session,
    org_id: str,
    *,
    team: str | None = None,
    cycles: Collection[str] | None = None,
    ids: Collection[str] | None = None,
) -> list[dict[str, Any]]:
    """OKRs with key results, check-ins (oldest first), declared links and scored verdicts."""
    query = select(Okr).where(Okr.org_id == org_id)
    if team is not None:
        query = query.where(Okr.team_id == team)
    if cycles is not None:
        query = query.where(Okr.cycle_id.in_(list(cycles)))
    if ids is not None:
        query = query.where(Okr.id.in_(list(ids)))
    rows = list(session.scalars(query.order_by(func.length(Okr.id), Okr.id)))
    if not rows:
        return []
    okr_ids = [o.id for o in rows]
    krs: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for kr in session.scalars(
        select(KeyResult)
        .where(KeyResult.org_id == org_id, KeyResult.okr_id.in_(okr_ids))
        .order_by(KeyResult.position, KeyResult.id)
    ):
        krs[kr.okr_id].append(
            {
                "id": kr.id,
                "title": kr.title,
                "unit": kr.unit,
                "baseline": kr.baseline,
                "target": kr.target,
                "current": kr.current,
                "kind": kr.kind,
            }
        )
    checkins: dict[str, list[dict[str, Any]]] = defaultdict(list)
    drifting = drift_flags(session, org_id)
    for c in session.scalars(
        select(CheckIn)
        .where(CheckIn.org_id == org_id, CheckIn.okr_id.in_(okr_ids))
        .order_by(nulls_first(CheckIn.date), CheckIn.id)
    ):
        checkins[c.okr_id].append(
            {
                "id": c.id,
                "key_result": c.key_result_id,
                "date": c.date,
                "value": c.value,
                "confidence": c.confidence,
                "text": c.text,
                "drifting": drifting.get(c.id),
            }
        )
    declared: dict[str, list[str]] = defaultdict(list)
    for d in session.scalars(
        select(DeclaredLink)
        .where(DeclaredLink.org_id == org_id, DeclaredLink.okr_id.in_(okr_ids))
        .order_by(DeclaredLink.position)
    ):
        declared[d.okr_id].append(d.objective_id)
    scored = scored_links(session, org_id, okr_ids)
    return [
        {
            "id": o.id,
            "team": o.team_id,
            "cycle": o.cycle_id,
            "title": o.title,
            "description": o.description,
            "key_results": krs[o.id],
            "check_ins": checkins[o.id],
            "declared_links": declared[o.id],
            # None when the organization has not been scored: callers fall back to declarations.
            "aligned_to": (
                [s["objective_id"] for s in scored[o.id] if s["label"] == "aligned"]
                if o.id in scored
                else None
            ),
            "scores": {s["objective_id"]: s["score"] for s in scored.get(o.id, [])},
        }
        for o in rows
    ]


def scored_links(
    session: Session, org_id: str, okr_ids: Collection[str]
) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in session.scalars(
        select(ScoredLink)
        .where(ScoredLink.org_id == org_id, ScoredLink.okr_id.in_(list(okr_ids)))
        .order_by(ScoredLink.okr_id, ScoredLink.rank)
    ):
        out[r.okr_id].append({"objective_id": r.objective_id, "score": r.score, "label": r.label})
    return dict(out)


def drift_flags(session: Session, org_id: str) -> dict[str, bool]:
    return dict(
        session.execute(
            select(CheckInDrift.check_in_id, CheckInDrift.drifting).where(
                CheckInDrift.org_id == org_id
            )
        )
        .tuples()
        .all()
    )


def existing_ids(session: Session, org_id: str, kind: str, ids: Iterable[str]) -> set[str]:
    """Which of `ids` name a record of `kind` ("objective", "kpi", or an evidence kind)."""
    model: type[Any] = {"objective": StrategicObjective, "kpi": Kpi, **REF_MODELS}[kind]
    wanted = list(set(ids))
    if not wanted:
        return set()
    return set(
        session.scalars(select(model.id).where(model.org_id == org_id, model.id.in_(wanted)))
    )


def kpi_objectives(session: Session, org_id: str, kpi_ids: Iterable[str]) -> dict[str, str]:
    wanted = list(set(kpi_ids))
    if not wanted:
        return {}
    return dict(
        session.execute(
            select(Kpi.id, Kpi.objective_id).where(Kpi.org_id == org_id, Kpi.id.in_(wanted))
        )
        .tuples()
        .all()
    )


def nearest_texts(
    session: Session,
    org_id: str,
    model: str,
    vector: np.ndarray,
    hashes: Collection[str],
    *,
    limit: int,
) -> list[tuple[str, float]]:
    """pgvector cosine neighbours of `vector` among the stored texts `hashes`: (hash, cosine)."""
    if not hashes:
        return []
    distance = TextEmbedding.embedding.cosine_distance(np.asarray(vector, dtype=np.float32))
    rows = session.execute(
        select(TextEmbedding.content_hash, distance)
        .where(
            TextEmbedding.org_id == org_id,
            TextEmbedding.model == model,
            TextEmbedding.content_hash.in_(list(hashes)),
        )
        .order_by(distance)
        .limit(limit)
    ).tuples()
    return [(h, round(1.0 - float(d), 4)) for h, d in rows]


def key_results_by_hash(session: Session, org_id: str) -> dict[str, list[dict[str, Any]]]:
    """The organization's key results by the content hash of their title (the key of their
    stored vector), each with its OKR, team, cycle, unit and target."""
    rows = session.execute(
        select(
            KeyResult.id,
            KeyResult.okr_id,
            KeyResult.content_hash,
            KeyResult.unit,
            KeyResult.target,
            Okr.team_id,
            Okr.cycle_id,
        )
        .join(Okr, (Okr.org_id == KeyResult.org_id) & (Okr.id == KeyResult.okr_id))
        .where(KeyResult.org_id == org_id)
    )
    out: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in rows:
        out[r.content_hash].append(
            {
                "id": r.id,
                "okr": r.okr_id,
                "team": r.team_id,
                "cycle": r.cycle_id,
                "unit": r.unit,
                "target": r.target,
            }
        )
    return out
