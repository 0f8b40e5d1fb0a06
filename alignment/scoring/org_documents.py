"""An organization's records as the documents its scoring reads, with each OKR's fingerprint."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from alignment.models import (
    CheckIn,
    KeyResult,
    Kpi,
    Okr,
    StrategicObjective,
    Team,
    content_hash,
)
from alignment.repository import require_org
from alignment.scoring.documents import KeyResultDoc, ObjectiveDoc, OkrDoc
from alignment.scoring.drift import DriftItem


@dataclass
class OrgDocs:
    objectives: list[ObjectiveDoc]
    okrs: list[OkrDoc]
    drift_items: list[DriftItem]
    fingerprints: dict[str, str] = field(default_factory=dict)  # okr id -> text fingerprint


def fingerprint(okr: OkrDoc) -> str:
    """What a person judged when they gave feedback: the OKR's own words and key results."""
    return content_hash(okr.title, okr.description, *(kr.title for kr in okr.key_results))


def load_docs(session: Session, org_id: str) -> OrgDocs:
    require_org(session, org_id)
    kpis: dict[str, list[str]] = defaultdict(list)
    for kpi in session.scalars(select(Kpi).where(Kpi.org_id == org_id).order_by(Kpi.position)):
        kpis[kpi.objective_id].append(kpi.name)
    objectives = [
        ObjectiveDoc(o.id, o.title, o.description, o.perspective, tuple(kpis[o.id]))
        for o in session.scalars(
            select(StrategicObjective)
            .where(StrategicObjective.org_id == org_id)
            .order_by(StrategicObjective.id)
        )
    ]
    krs: dict[str, list[KeyResultDoc]] = defaultdict(list)
    for kr in session.scalars(
        select(KeyResult)
        .where(KeyResult.org_id == org_id)
        .order_by(KeyResult.position, KeyResult.id)
    ):
        krs[kr.okr_id].append(KeyResultDoc(kr.id, kr.title))
    check_ins = session.scalars(
        select(CheckIn).where(CheckIn.org_id == org_id).order_by(CheckIn.date, CheckIn.id)
    ).all()
    texts: dict[str, list[str]] = defaultdict(list)
    for c in check_ins:
        texts[c.okr_id].append(c.text)
    missions = dict(
        session.execute(select(Team.id, Team.mission).where(Team.org_id == org_id)).tuples().all()
    )
    okrs = [
        OkrDoc(
            o.id,
            o.title,
            o.description,
            tuple(krs[o.id]),
            tuple(texts[o.id]),
            missions.get(o.team_id),
            o.team_id,
        )
        for o in session.scalars(select(Okr).where(Okr.org_id == org_id).order_by(Okr.id))
    ]
    by_id = {o.id: o for o in okrs}
    kr_by_id = {kr.id: kr for o in okrs for kr in o.key_results}
    items = [
        DriftItem(c.id, c.text, by_id[c.okr_id], kr_by_id.get(c.key_result_id or ""))
        for c in check_ins
    ]
    return OrgDocs(objectives, okrs, items, {o.id: fingerprint(o) for o in okrs})


def searchable_texts(okrs: Sequence[OkrDoc]) -> set[str]:
    """The texts the report's duplicate search looks up by similarity: OKR and key-result titles."""
    return {t for okr in okrs for t in (okr.title, *(kr.title for kr in okr.key_results))}
