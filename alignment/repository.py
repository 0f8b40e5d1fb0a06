"""Record CRUD, scoped by organization. All SQL for plain records lives here.

Functions take the caller's session and never commit. Database constraint violations are turned
into domain errors (409 for duplicates and records still in use, 422 for unknown references) inside
a savepoint, so the caller's transaction stays usable.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from alignment.errors import Conflict, Invalid, NotFound
from alignment.models import (
    HASHED_FIELDS,
    Base,
    Cycle,
    DeclaredLink,
    KeyResult,
    Kpi,
    Okr,
    Organization,
    StrategicObjective,
    Team,
    content_hash,
)
from alignment.records import COLUMN_OF, FIELD_OF, RecordKind

# Postgres SQLSTATEs we translate.
UNIQUE, FOREIGN_KEY, CHECK = "23505", "23503", "23514"
RESTRICT, NOT_NULL = "23001", "23502"


# PostgreSQL's detail for a foreign-key violation, e.g.
# Key (org_id, team_id)=(acme, T-99) is not present in table "teams".
_FK_DETAIL = re.compile(
    r"Key \((?P<cols>[^)]*)\)=\((?P<vals>[^)]*)\) is (?P<what>not present in|still referenced"
    r' from) table "(?P<table>[^"]+)"'
)


def _reference(detail: str) -> tuple[str, str, str] | None:
    """(field, value, table) of the record a foreign-key detail is about, if it parses."""
    match = _FK_DETAIL.search(detail)
    if not match:
        return None
    column = match["cols"].split(", ")[-1]
    value = match["vals"].split(", ")[-1]
    return FIELD_OF.get(column, column), value, match["table"].replace("_", " ")


def _referencing_tables() -> dict[str, str]:
    """PostgreSQL's name for each foreign key (`<table>_<columns>_fkey`, unless named) -> the
    table holding it, in the API's words ("key results")."""
    out = {}
    for table in Base.metadata.tables.values():
        for fk in table.foreign_key_constraints:
            name = fk.name or f"{table.name}_{'_'.join(c.name for c in fk.columns)}_fkey"[:63]
            out[str(name)] = table.name.replace("_", " ")
    return out


_REFERENCING = _referencing_tables()


@contextmanager
def _constraints(kind_label: str, ident: str, *, deleting: bool = False) -> Iterator[None]:
    try:
        yield
    except IntegrityError as exc:
        state = getattr(exc.orig, "sqlstate", None)
        detail = getattr(getattr(exc.orig, "diag", None), "message_detail", None) or str(exc.orig)
        ref = _reference(detail)
        if state == UNIQUE:
            raise Conflict(f"{kind_label} {ident!r} already exists") from exc
        if state in (FOREIGN_KEY, RESTRICT) and deleting:
            constraint = getattr(getattr(exc.orig, "diag", None), "constraint_name", None)
            table = ref[2] if ref else _REFERENCING.get(constraint or "")
            by = f" by {table}" if table else ""
            raise Conflict(
                f"{kind_label} {ident!r} is still referenced{by}; delete or move those first",
                details=[{"path": "$", "message": f"still referenced{by}"}],
            ) from exc
        if state == FOREIGN_KEY and ref:
            field, value, table = ref
            raise Invalid(
                f"{kind_label} {ident!r}: {field} {value!r} does not exist",
                details=[{"path": f"$.{field}", "message": f"no such record in {table}"}],
            ) from exc
        # PostgreSQL's own detail ("Failing row contains (...)") echoes whole rows and names
        # tables: the messages below say what is wrong in the API's terms instead.
        if state == FOREIGN_KEY:
            raise Invalid(
                f"{kind_label} {ident!r} references a record that does not exist",
                details=[{"path": "$", "message": "a referenced record does not exist"}],
            ) from exc
        if state == CHECK:
            rule = getattr(getattr(exc.orig, "diag", None), "constraint_name", None) or "a rule"
            raise Invalid(
                f"{kind_label} {ident!r} breaks the rule {rule}",
                details=[{"path": "$", "message": f"breaks {rule}"}],
            ) from exc
        if state == NOT_NULL:
            column = getattr(getattr(exc.orig, "diag", None), "column_name", None)
            raise Invalid(
                f"{kind_label} {ident!r}: {column or 'a required field'} cannot be null",
                details=[{"path": f"$.{column}" if column else "$", "message": "required"}],
            ) from exc
        raise


def record_latest(session: Session, model: Any, key: dict[str, str], fields: dict[str, Any]) -> Any:
    """Store a person's verdict on `key` (a link, a check-in): one row per key, the latest
    verdict wins with its decision time, so a retried request changes nothing. The stored row."""
    stmt = pg_insert(model).values(**key, **fields)
    session.execute(
        stmt.on_conflict_do_update(
            index_elements=list(key),
            set_={**fields, "decided_at": stmt.excluded.decided_at},
        )
    )
    session.flush()
    row = session.get(model, key)
    session.refresh(row)
    return row


def require_org(session: Session, org_id: str) -> Organization:
    org = session.get(Organization, org_id)
    if org is None:
        raise NotFound(f"organization {org_id!r} does not exist")
    return org


def _hash(kind: RecordKind, row: Any) -> None:
    fields = HASHED_FIELDS.get(kind.model)
    if fields:
        row.content_hash = content_hash(*(getattr(row, f) for f in fields))


def list_records(
    session: Session,
    kind: RecordKind,
    org_id: str,
    *,
    filters: dict[str, Any],
    limit: int,
    offset: int,
) -> tuple[list[dict[str, Any]], int]:
    require_org(session, org_id)
    model = kind.model
    query = select(model).where(model.org_id == org_id)
    for name, value in filters.items():
        if value is None:
            continue
        if name in ("team", "cycle") and model is not Okr:
            okrs = select(Okr.id).where(
                Okr.org_id == org_id, getattr(Okr, COLUMN_OF[name]) == value
            )
            query = query.where(model.okr_id.in_(okrs))
        else:
            query = query.where(getattr(model, COLUMN_OF.get(name, name)) == value)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    # length-then-text puts "O-2" before "O-10" for ids that share a prefix, in SQL.
    query = query.order_by(func.length(model.id), model.id).limit(limit).offset(offset)
    rows = session.scalars(query).all()
    return [render(session, kind, r) for r in rows], total


def get_row(session: Session, kind: RecordKind, org_id: str, ident: str) -> Any:
    row = session.get(kind.model, {"org_id": org_id, "id": ident})
    if row is None:
        require_org(session, org_id)
        raise NotFound(f"{kind.label} {ident!r} does not exist in organization {org_id!r}")
    return row


def get_record(session: Session, kind: RecordKind, org_id: str, ident: str) -> dict[str, Any]:
    return render(session, kind, get_row(session, kind, org_id, ident))


def create_record(
    session: Session, kind: RecordKind, org_id: str, data: dict[str, Any]
) -> dict[str, Any]:
    require_org(session, org_id)
    if session.get(kind.model, {"org_id": org_id, "id": data["id"]}) is not None:
        raise Conflict(f"{kind.label} {data['id']!r} already exists")
    row = kind.model(org_id=org_id, **kind.to_columns(data))
    _hash(kind, row)
    _check_rules(session, kind, org_id, row, data.get("declared_links"))
    with _constraints(kind.label, data["id"]), session.begin_nested():
        session.add(row)
        session.flush()
        _write_children(session, kind, org_id, row, data)
    return render(session, kind, row)


def update_record(
    session: Session, kind: RecordKind, org_id: str, ident: str, changes: dict[str, Any]
) -> dict[str, Any]:
    row = get_row(session, kind, org_id, ident)
    if kind.path == "key-results" and changes.get("okr") not in (None, row.okr_id):
        # A bundle cannot express it either (key results nest in their OKR): an export of
        # the result would not re-import. Create it under the other OKR instead.
        raise Invalid(
            f"key result {ident!r} belongs to OKR {row.okr_id!r} and cannot move to another",
            details=[{"path": "$.okr", "message": "a key result stays with its OKR"}],
        )
    # Changes are applied inside the savepoint: begin_nested() flushes what is pending, which
    # would write them (and clear is_modified) before updated_at is set.
    with _constraints(kind.label, ident), session.begin_nested():
        for name, value in kind.to_columns(changes).items():
            setattr(row, name, value)
        _hash(kind, row)
        if session.is_modified(row):
            row.updated_at = func.now()
        _check_rules(session, kind, org_id, row, changes.get("declared_links"))
        session.flush()
        if "declared_links" in changes:
            _replace_links(session, org_id, ident, changes["declared_links"] or [])
    session.refresh(row)
    return render(session, kind, row)


def delete_record(session: Session, kind: RecordKind, org_id: str, ident: str) -> None:
    row = get_row(session, kind, org_id, ident)
    with _constraints(kind.label, ident, deleting=True), session.begin_nested():
        session.delete(row)
        session.flush()


# What each reference column points at (`parent_id` points at the record's own kind).
_REFERENCED = {
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
        (f"$.{FIELD_OF[column]}", *_REFERENCED[column], getattr(row, column))
        for column in _REFERENCED
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


def _check_rules(
    session: Session, kind: RecordKind, org_id: str, row: Any, links: list[str] | None = None
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
            raise Invalid(
                f"key result {kr.id!r} belongs to OKR {kr.okr_id!r}, not {row.okr_id!r}",
                details=[{"path": "$.key_result", "message": "belongs to another OKR"}],
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


def _write_children(
    session: Session, kind: RecordKind, org_id: str, row: Any, data: dict[str, Any]
) -> None:
    if kind.model is StrategicObjective:
        for pos, kpi in enumerate(data.get("kpis") or []):
            session.add(
                Kpi(
                    org_id=org_id,
                    objective_id=row.id,
                    position=pos,
                    content_hash=content_hash(kpi["name"]),
                    **kpi,
                )
            )
    if kind.model is Okr:
        for pos, kr in enumerate(data.get("key_results") or []):
            session.add(
                KeyResult(
                    org_id=org_id,
                    okr_id=row.id,
                    position=pos,
                    content_hash=content_hash(kr["title"]),
                    **kr,
                )
            )
        _replace_links(session, org_id, row.id, data.get("declared_links") or [])
    session.flush()


def _replace_links(session: Session, org_id: str, okr_id: str, links: list[str]) -> None:
    if len(set(links)) != len(links):
        raise Invalid(
            "declared_links lists an objective twice",
            details=[{"path": "$.declared_links", "message": "duplicate entries"}],
        )
    session.execute(
        delete(DeclaredLink).where(DeclaredLink.org_id == org_id, DeclaredLink.okr_id == okr_id)
    )
    session.add_all(
        DeclaredLink(org_id=org_id, okr_id=okr_id, objective_id=obj, position=pos)
        for pos, obj in enumerate(links)
    )
    session.flush()


def render(session: Session, kind: RecordKind, row: Any) -> dict[str, Any]:
    out = kind.to_fields(row)
    if kind.model is StrategicObjective:
        kpis = session.scalars(
            select(Kpi)
            .where(Kpi.org_id == row.org_id, Kpi.objective_id == row.id)
            .order_by(Kpi.position, Kpi.id)
        ).all()
        out["kpis"] = [_child(k, ("objective_id",)) for k in kpis]
    if kind.model is Okr:
        out["declared_links"] = list(
            session.scalars(
                select(DeclaredLink.objective_id)
                .where(DeclaredLink.org_id == row.org_id, DeclaredLink.okr_id == row.id)
                .order_by(DeclaredLink.position)
            )
        )
        krs = session.scalars(
            select(KeyResult)
            .where(KeyResult.org_id == row.org_id, KeyResult.okr_id == row.id)
            .order_by(KeyResult.position, KeyResult.id)
        ).all()
        out["key_results"] = [_child(k, ("okr_id",)) for k in krs]
    return out


def _child(row: Any, skip: tuple[str, ...]) -> dict[str, Any]:
    hidden = {"org_id", "content_hash", "position", "created_at", "updated_at", *skip}
    return {c.key: getattr(row, c.key) for c in row.__table__.columns if c.name not in hidden}


def list_orgs(
    session: Session, *, limit: int, offset: int, only: str | None = None
) -> tuple[list[Organization], int]:
    """Organizations by id; `only` narrows the list to one (a key's own organization)."""
    query = select(Organization)
    if only is not None:
        query = query.where(Organization.id == only)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.scalars(query.order_by(Organization.id).limit(limit).offset(offset)).all()
    return list(rows), total


def create_org(session: Session, org_id: str, name: str) -> Organization:
    if session.get(Organization, org_id) is not None:
        raise Conflict(f"organization {org_id!r} already exists")
    org = Organization(id=org_id, name=name)
    session.add(org)
    with _constraints("organization", org_id):  # a concurrent create of the same id: 409
        session.flush()
    session.refresh(org)
    return org


def update_org(session: Session, org_id: str, name: str) -> Organization:
    org = require_org(session, org_id)
    if org.name != name:
        org.name = name
        org.updated_at = func.now()
        session.flush()
        session.refresh(org)
    return org


def delete_org(session: Session, org_id: str) -> None:
    session.delete(require_org(session, org_id))
    session.flush()
