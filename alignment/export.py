"""Export: one organization as a `goldenthread.bundle/v1` document (the inverse of ingest)."""

from __future__ import annotations

import re
from collections import defaultdict
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from alignment.bundle.schema import BUNDLE_FORMAT
from alignment.errors import NotFound
from alignment.models import (
    CheckIn,
    Cycle,
    DeclaredLink,
    KeyResult,
    Kpi,
    Okr,
    Organization,
    StrategicObjective,
    Team,
)


def natural_key(ident: str) -> list[Any]:
    """Sort "O-2" before "O-10", as people number things. Only ASCII digit runs count as
    numbers: `isdigit` also takes digits of other scripts ("፩"), which `int` cannot read."""
    return [int(p) if p.isascii() and p.isdigit() else p for p in re.split(r"([0-9]+)", ident)]


def _by_id(rows: Any) -> list[Any]:
    return sorted(rows, key=lambda r: natural_key(r.id))


def export_bundle(session: Session, org_id: str) -> dict[str, Any]:
    org = session.get(Organization, org_id)
    if org is None:
        raise NotFound(f"organization {org_id!r} does not exist")

    def rows(model: Any) -> Any:
        return session.scalars(select(model).where(model.org_id == org_id)).all()

    kpis: dict[str, list[Kpi]] = defaultdict(list)
    for kpi in sorted(rows(Kpi), key=lambda k: (k.position, natural_key(k.id))):
        kpis[kpi.objective_id].append(kpi)
    krs: dict[str, list[KeyResult]] = defaultdict(list)
    for kr in sorted(rows(KeyResult), key=lambda k: (k.position, natural_key(k.id))):
        krs[kr.okr_id].append(kr)
    links: dict[str, list[str]] = defaultdict(list)
    for link in sorted(rows(DeclaredLink), key=lambda x: x.position):
        links[link.okr_id].append(link.objective_id)

    return {
        "format": BUNDLE_FORMAT,
        "organization": {"id": org.id, "name": org.name},
        "cycles": [
            {"id": c.id, "start": _iso(c.start), "end": _iso(c.end)} for c in _by_id(rows(Cycle))
        ],
        "strategic_objectives": [
            {
                "id": o.id,
                "title": o.title,
                "description": o.description,
                "perspective": o.perspective,
                **({"parent": o.parent_id} if o.parent_id else {}),
                "kpis": [
                    {
                        "id": k.id,
                        "name": k.name,
                        "kind": k.kind,
                        "unit": k.unit,
                        "baseline": k.baseline,
                        "target": k.target,
                    }
                    for k in kpis[o.id]
                ],
            }
            for o in _by_id(rows(StrategicObjective))
        ],
        "teams": [
            {"id": t.id, "name": t.name, "parent": t.parent_id, "mission": t.mission}
            for t in _by_id(rows(Team))
        ],
        "okrs": [
            {
                "id": o.id,
                "team": o.team_id,
                "cycle": o.cycle_id,
                "title": o.title,
                "description": o.description,
                "declared_links": links[o.id],
                "key_results": [
                    {
                        "id": k.id,
                        "title": k.title,
                        "unit": k.unit,
                        "baseline": k.baseline,
                        "target": k.target,
                        "current": k.current,
                        "kind": k.kind,
                    }
                    for k in krs[o.id]
                ],
            }
            for o in _by_id(rows(Okr))
        ],
        "check_ins": [
            {
                "id": c.id,
                "okr": c.okr_id,
                "key_result": c.key_result_id,
                "date": _iso(c.date),
                "value": c.value,
                "confidence": c.confidence,
                "text": c.text,
            }
            for c in sorted(
                rows(CheckIn), key=lambda c: (c.date is None, c.date, natural_key(c.id))
            )
        ],
    }


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None
