"""Integrity checks of record writes, run before writing: the rules the schema cannot express
(references resolve, no parent loop, a cycle's dates, a check-in's key result), and problems
worth naming at their place in the body (a nested child's id, a still-declared objective).

Part of the record CRUD (`repository`); what slips past these (another request's write
meanwhile) is translated from the database's error by `record_errors`.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from alignment.errors import Conflict, Invalid
from alignment.models import (
    Base,
    Cycle,
    DeclaredLink,
    KeyResult,
    Kpi,
    Okr,
    StrategicObjective,
    Team,
)
from alignment.record_errors import DELETED
from alignment.records import CHILD_LISTS, FIELD_OF, RecordKind


def refuse_child_lists(kind: RecordKind, ident: str, changes: dict[str, Any]) -> None:
    """Nested children change one by one at their own route; an update never drops them
    silently (the API's PATCH models refuse them already, saying where)."""
    sent = [name for name in CHILD_LISTS if name in changes]
    if sent:
        raise Invalid(
            f"{kind.label} {ident!r}: {', '.join(sent)} change at their own routes",
            details=[{"path": f"$.{name}", "message": "records of their own"} for name in sent],
        )


_NAMED = 20  # OKRs a refusal names; the count says how many more


def refuse_declared_objective(session: Session, org_id: str, ident: str) -> None:
    """An objective OKRs declare stays, as a team or cycle OKRs use does: its foreign key
    would take the teams' stated links with it, unseen. (Its KPIs are its own and its scored
    links derived: those go with it.) Read under the objective's row lock, so a declaration
    added meanwhile either is seen here or waits and then fails on its foreign key."""
    okrs = session.scalars(
        select(DeclaredLink.okr_id)
        .where(DeclaredLink.org_id == org_id, DeclaredLink.objective_id == ident)
        .order_by(func.length(DeclaredLink.okr_id), DeclaredLink.okr_id)
    ).all()
    if not okrs:
        return
    named = ", ".join(repr(okr) for okr in okrs[:_NAMED])
    more = f" and {len(okrs) - _NAMED} more" if len(okrs) > _NAMED else ""
    raise Conflict(
        f"strategic objective {ident!r} is still declared by OKR{'s' if len(okrs) > 1 else ''} "
        f"{named}{more}; remove it from their declared_links first",
        details=[{"path": DELETED, "message": f"declared by OKR {okr!r}"} for okr in okrs[:_NAMED]],
    )


# The OKR column that uses a record of each kind an OKR belongs to.
_USED_BY_OKRS = {Team: Okr.team_id, Cycle: Okr.cycle_id}


def refuse_used_by_okrs(session: Session, kind: RecordKind, org_id: str, ident: str) -> None:
    """A team or cycle OKRs use stays; say which OKRs, as for a declared objective. Its
    foreign key would refuse the delete anyway, but only as "referenced by okrs", which
    leaves the caller to find them. Read under the record's row lock: an OKR added
    meanwhile is seen here or fails on its foreign key."""
    column = _USED_BY_OKRS.get(kind.model)
    if column is None:
        return
    query = select(Okr.id).where(Okr.org_id == org_id, column == ident)
    okrs = session.scalars(query.order_by(func.length(Okr.id), Okr.id).limit(_NAMED)).all()
    if not okrs:
        return
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    named = ", ".join(repr(okr) for okr in okrs)
    more = f" and {total - len(okrs)} more" if total > len(okrs) else ""
    them = "them" if total > 1 else "it"
    raise Conflict(
        f"{kind.label} {ident!r} is still used by {total} OKR{'s' if total > 1 else ''}: "
        f"{named}{more}; move {them} to another {kind.label} or delete {them} first",
        details=[{"path": DELETED, "message": f"used by OKR {okr!r}"} for okr in okrs],
    )


def check_child_ids(session: Session, kind: RecordKind, org_id: str, data: dict[str, Any]) -> None:
    """A nested child's id problem is the child's, at its place in the body, never its new
    parent's: an id twice in the body is 422 at the second (before anything is written), an
    id the organization has is 409 naming that child."""
    if kind.model in CHILDREN:
        first = _refuse_repeated_ids(kind, data)
        _refuse_taken_ids(session, kind, org_id, first)


# Children a create nests: body field, model, label, the column naming their parent.
CHILDREN: dict[type[Base], tuple[str, Any, str, str]] = {
    StrategicObjective: ("kpis", Kpi, "KPI", "objective_id"),
    Okr: ("key_results", KeyResult, "key result", "okr_id"),
}


def _refuse_repeated_ids(kind: RecordKind, data: dict[str, Any]) -> dict[str, int]:
    """Each child id -> its first place in the body's list; an id listed twice is refused."""
    field, _, label, _ = CHILDREN[kind.model]
    first: dict[str, int] = {}
    twice = []
    for i, child in enumerate(data.get(field) or []):
        if child["id"] in first:
            where = f"$.{field}[{first[child['id']]}].id"
            twice.append((i, f"{label} id {child['id']!r} appears twice (first at {where})"))
        first.setdefault(child["id"], i)
    if twice:
        raise Invalid(
            f"{kind.label} {data['id']!r}: " + "; ".join(message for _, message in twice),
            details=[{"path": f"$.{field}[{i}].id", "message": m} for i, m in twice],
        )
    return first


def _refuse_taken_ids(
    session: Session, kind: RecordKind, org_id: str, first: dict[str, int]
) -> None:
    """Child ids (-> their place in the body) the organization already has are refused."""
    field, model, label, parent = CHILDREN[kind.model]
    if not first:
        return
    owners: dict[str, str] = dict(
        session.execute(
            select(model.id, getattr(model, parent)).where(
                model.org_id == org_id, model.id.in_(list(first))
            )
        ).all()
    )
    taken = [(first[child], child) for child in first if child in owners]
    if taken:
        owner_label = REFERENCED[parent][1]
        raise Conflict(
            "; ".join(f"{label} {child!r} already exists" for _, child in taken),
            details=[
                {
                    "path": f"$.{field}[{i}].id",
                    "message": f"{label} {child!r} already exists, under {owner_label} "
                    f"{owners[child]!r}",
                }
                for i, child in taken
            ],
        )


# What each reference column points at (`parent_id` points at the record's own kind).
REFERENCED = {
    "team_id": (Team, "team"),
    "cycle_id": (Cycle, "cycle"),
    "okr_id": (Okr, "OKR"),
    "key_result_id": (KeyResult, "key result"),
    "objective_id": (StrategicObjective, "strategic objective"),
}


def _check_references(
    session: Session, kind: RecordKind, org_id: str, row: Any, links: list[str] | None
) -> None:
    """Every record `row` names exists in the organization, else one 422 naming each missing
    one and its field, as bundle import does. Checked here, not read back from the foreign
    key's error: under row-level security PostgreSQL leaves the key's values out of it."""
    wanted = [
        (f"$.{FIELD_OF[column]}", *REFERENCED[column], getattr(row, column))
        for column in REFERENCED
        if column in row.__table__.columns and getattr(row, column) is not None
    ]
    if "parent_id" in row.__table__.columns and row.parent_id is not None:
        wanted.append(("$.parent", kind.model, kind.label, row.parent_id))
    wanted += [
        (f"$.declared_links[{i}]", StrategicObjective, "strategic objective", link)
        for i, link in enumerate(links or [])
    ]
    missing = []
    with session.no_autoflush:
        for path, model, label, ident in wanted:
            if session.get(model, {"org_id": org_id, "id": ident}) is None:
                missing.append((path, f"no {label} {ident!r} in this organization"))
    if missing:
        raise Invalid(
            f"{kind.label} {row.id!r}: " + "; ".join(message for _, message in missing),
            details=[{"path": path, "message": message} for path, message in missing],
        )


def check_rules(
    session: Session,
    kind: RecordKind,
    org_id: str,
    row: Any,
    links: list[str] | None = None,
    changed: Collection[str] = (),
) -> None:
    """Rules the schema cannot express, the same the bundle rules check: references resolve,
    a cycle does not end before it starts, a check-in's key result belongs to its OKR, a
    parent chain never loops back."""
    _check_references(session, kind, org_id, row, links)
    dated = kind.model is Cycle and row.start is not None and row.end is not None
    if dated and row.start > row.end:
        raise Invalid(
            f"cycle {row.id!r} ends ({row.end}) before it starts ({row.start})",
            details=[{"path": "$.end", "message": f"before the start {row.start}"}],
        )
    if kind.path in ("teams", "objectives") and row.parent_id is not None:
        _refuse_parent_loop(session, kind, org_id, row)
    if kind.path == "check-ins" and row.key_result_id:
        kr = session.get(KeyResult, {"org_id": org_id, "id": row.key_result_id})
        if kr is not None and kr.okr_id != row.okr_id:
            # Blame what the request sent: a check-in moved to another OKR keeps its stored
            # key result, which the body never named.
            moved = "okr" in changed and "key_result" not in changed
            where, why = (
                ("$.okr", f"its key result {kr.id!r} stays with OKR {kr.okr_id!r}: send "
                 "key_result too (another, or null)")
                if moved
                else ("$.key_result", "belongs to another OKR")
            )  # fmt: skip
            raise Invalid(
                f"key result {kr.id!r} belongs to OKR {kr.okr_id!r}, not {row.okr_id!r}",
                details=[{"path": where, "message": why}],
            )


def _refuse_parent_loop(session: Session, kind: RecordKind, org_id: str, row: Any) -> None:
    """Walk up from the new parent (iteratively: chains can be long) and refuse a return."""
    model = kind.model
    seen, node = {row.id}, row.parent_id
    while node is not None:
        if node in seen:
            raise Invalid(
                f"{kind.label} {row.id!r}: parent {row.parent_id!r} would make a loop",
                details=[{"path": "$.parent", "message": "the parent chain loops back"}],
            )
        seen.add(node)
        node = session.scalar(
            select(model.parent_id).where(model.org_id == org_id, model.id == node)
        )
