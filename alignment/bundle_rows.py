"""A validated bundle as table rows: one function per table, parents before children.

Pure mapping from the bundle's records to the columns the ingest stage writes (ingest.py);
no database access here.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from alignment.bundle.schema import Bundle


def parents_first(items: Sequence[Any]) -> list[Any]:
    """Order so that every parent precedes its children (the FK is checked per statement).

    Iterative: a chain may be as deep as the bundle is long, past Python's recursion limit."""
    by_id = {item.id: item for item in items}
    ordered: list[Any] = []
    placed: set[str] = set()
    for item in items:
        chain, on_chain = [], set()  # the item and its unplaced ancestors, child first
        node = item
        while node is not None and node.id not in placed and node.id not in on_chain:
            chain.append(node)
            on_chain.add(node.id)
            node = by_id.get(node.parent) if node.parent else None
        for node in reversed(chain):
            placed.add(node.id)
            ordered.append(node)
    return ordered


def organization_row(bundle: Bundle) -> dict[str, Any]:
    """The organization's row."""
    return {"id": bundle.organization.id, "name": bundle.organization.name}


def cycle_rows(bundle: Bundle) -> list[dict[str, Any]]:
    """The cycles' rows."""
    org = bundle.organization.id
    return [{"org_id": org, "id": c.id, "start": c.start, "end": c.end} for c in bundle.cycles]


def team_rows(bundle: Bundle) -> list[dict[str, Any]]:
    """The teams' rows, each parent team before its children."""
    org = bundle.organization.id
    return [
        {
            "org_id": org,
            "id": t.id,
            "name": t.name,
            "parent_id": t.parent,
            "mission": t.mission,
        }
        for t in parents_first(bundle.teams)
    ]


def objective_rows(bundle: Bundle) -> list[dict[str, Any]]:
    """The strategic objectives' rows, each parent objective before its children."""
    org = bundle.organization.id
    return [
        {
            "org_id": org,
            "id": o.id,
            "title": o.title,
            "description": o.description,
            "perspective": o.perspective,
            "parent_id": o.parent,
        }
        for o in parents_first(bundle.strategic_objectives)
    ]


def kpi_rows(bundle: Bundle) -> list[dict[str, Any]]:
    """The KPIs' rows; `position` keeps their order within each objective."""
    org = bundle.organization.id
    return [
        {
            "org_id": org,
            "id": k.id,
            "objective_id": o.id,
            "name": k.name,
            "kind": k.kind,
            "unit": k.unit,
            "baseline": k.baseline,
            "target": k.target,
            "position": pos,
        }
        for o in bundle.strategic_objectives
        for pos, k in enumerate(o.kpis)
    ]


def okr_rows(bundle: Bundle) -> list[dict[str, Any]]:
    """The OKRs' rows (their key results and declared links are written apart)."""
    org = bundle.organization.id
    return [
        {
            "org_id": org,
            "id": o.id,
            "team_id": o.team,
            "cycle_id": o.cycle,
            "title": o.title,
            "description": o.description,
        }
        for o in bundle.okrs
    ]


def key_result_rows(bundle: Bundle) -> list[dict[str, Any]]:
    """The key results' rows; `position` keeps their order within each OKR."""
    org = bundle.organization.id
    return [
        {
            "org_id": org,
            "id": kr.id,
            "okr_id": o.id,
            "title": kr.title,
            "unit": kr.unit,
            "baseline": kr.baseline,
            "target": kr.target,
            "current": kr.current,
            "kind": kr.kind,
            "position": pos,
        }
        for o in bundle.okrs
        for pos, kr in enumerate(o.key_results)
    ]


def check_in_rows(bundle: Bundle) -> list[dict[str, Any]]:
    """The check-ins' rows."""
    org = bundle.organization.id
    return [
        {
            "org_id": org,
            "id": c.id,
            "okr_id": c.okr,
            "key_result_id": c.key_result,
            "date": c.date,
            "value": c.value,
            "confidence": c.confidence,
            "text": c.text,
        }
        for c in bundle.check_ins
    ]
