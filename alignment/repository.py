"""Record CRUD, scoped by organization. All SQL for plain records lives here.

Functions take the caller's session and never commit. Database constraint violations are turned
into domain errors (409 for duplicates and records still in use, 422 for unknown references) inside
a savepoint, so the caller's transaction stays usable.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from alignment.errors import Conflict, Invalid, NotFound
from alignment.models import (
    HASHED_FIELDS,
    Base,
    CheckIn,
    Cycle,
    DeclaredLink,
    KeyResult,
    Kpi,
    Okr,
    Organization,
    StrategicObjective,
    Team,
    row_hash,
)
from alignment.records import CHILD_LISTS, COLUMN_OF, FIELD_OF, RecordKind

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
            raise _duplicate(kind_label, ident, _diag(exc, "constraint_name")) from exc
        if state in (FOREIGN_KEY, RESTRICT) and deleting:
            constraint = getattr(getattr(exc.orig, "diag", None), "constraint_name", None)
            table = ref[2] if ref else _REFERENCING.get(constraint or "")
            by = f" by {table}" if table else ""
            raise Conflict(
                f"{kind_label} {ident!r} is still referenced{by}; delete or move those first",
                details=[{"path": DELETED, "message": f"still referenced{by}"}],
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
            column = _diag(exc, "column_name")
            field = FIELD_OF.get(column, column) if column else None
            raise Invalid(
                f"{kind_label} {ident!r}: {field or 'a required field'} cannot be null",
                details=[{"path": f"$.{field}" if field else "$", "message": "required"}],
            ) from exc
        raise


# Where a refused delete's record is named: the request has no body, only its path.
DELETED = "path.record_id"


def _exists(kind_label: str, ident: str) -> Conflict:
    return Conflict(
        f"{kind_label} {ident!r} already exists",
        details=[{"path": "$.id", "message": f"{kind_label} {ident!r} already exists"}],
    )


def _diag(exc: IntegrityError, name: str) -> str | None:
    return getattr(getattr(exc.orig, "diag", None), name, None)


# The primary keys (PostgreSQL's `<table>_pkey`) of the children a create nests -> the body
# field listing them, their label.
_CHILD_KEYS = {"kpis_pkey": ("kpis", "KPI"), "key_results_pkey": ("key_results", "key result")}


def _duplicate(kind_label: str, ident: str, constraint: str | None) -> Conflict:
    """A unique key the write broke: the record's own, or one of its nested children's. The
    children's ids are checked before writing (`_check_child_ids`), which names each; this is
    another request that wrote one meanwhile, and row-level security keeps PostgreSQL from
    saying which id it was."""
    field, label = _CHILD_KEYS.get(constraint or "", (None, kind_label))
    if field is None or label == kind_label:
        return _exists(kind_label, ident)
    return Conflict(
        f"{kind_label} {ident!r}: one of its {CHILD_LISTS[field][0]} already exists",
        details=[{"path": f"$.{field}", "message": f"a {label} id here was just created"}],
    )


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
    if kind.model in HASHED_FIELDS:
        row.content_hash = row_hash(kind.model, row)


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
    refuse_unknown_filters(
        session,
        org_id,
        [(name, value, *_filtered(kind, name)) for name, value in filters.items()],
    )
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


def _filtered(kind: RecordKind, name: str) -> tuple[Any, str] | tuple[None, None]:
    """The record kind a list filter names (model, label), or (None, None) for one that names
    no record (`kind`, `perspective`)."""
    if name == "parent":
        return kind.model, kind.label
    return _REFERENCED.get(COLUMN_OF.get(name, ""), (None, None))


def refuse_unknown_filters(
    session: Session, org_id: str, named: list[tuple[str, Any, Any, str | None]]
) -> None:
    """List filters naming records (`?team=T-9`), as (parameter, value, model, label): a value
    naming no record of the organization is refused (422 at `query.<parameter>`), as a typo in
    an enumerated filter is, instead of answering an empty list that reads as "none there".
    None values and filters of no record kind (model None) are skipped."""
    unknown = [
        (param, value, label)
        for param, value, model, label in named
        if value is not None
        and model is not None
        and session.get(model, {"org_id": org_id, "id": value}) is None
    ]
    if unknown:
        raise Invalid(
            "list filters are not valid: "
            + ", ".join(f"{param} {value!r}" for param, value, _ in unknown),
            details=[
                {"path": f"query.{param}", "message": f"no {label} {value!r} in this organization"}
                for param, value, label in unknown
            ],
        )


def get_row(
    session: Session, kind: RecordKind, org_id: str, ident: str, *, lock: bool = False
) -> Any:
    # A locked read is read again: the row may have changed while this request waited for it.
    row = session.get(
        kind.model,
        {"org_id": org_id, "id": ident},
        with_for_update=lock or None,
        populate_existing=lock or None,
    )
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
        raise _exists(kind.label, data["id"])
    row = kind.model(org_id=org_id, **kind.to_columns(data))
    _hash(kind, row)
    _check_rules(session, kind, org_id, row, data.get("declared_links"))
    _check_child_ids(session, kind, org_id, data)
    if kind.model in _PART_OF_PARENT:
        row.position = _next_position(session, kind, org_id, _parent_id(kind, row))
    with _constraints(kind.label, data["id"]), session.begin_nested():
        session.add(row)
        session.flush()
        _write_children(session, kind, org_id, row, data)
        if kind.model in _PART_OF_PARENT:
            _date_parent(session, kind, org_id, row)
    return render(session, kind, row)


def update_record(
    session: Session, kind: RecordKind, org_id: str, ident: str, changes: dict[str, Any]
) -> dict[str, Any]:
    row = get_row(session, kind, org_id, ident)
    if kind.model in _PART_OF_PARENT:
        _lock_parent(session, kind, org_id, ident, _parent_id(kind, row))
        row = get_row(session, kind, org_id, ident, lock=True)  # deleted meanwhile: 404
    if kind.path == "key-results" and changes.get("okr") not in (None, row.okr_id):
        # A bundle cannot express it either (key results nest in their OKR): an export of
        # the result would not re-import. Create it under the other OKR instead.
        raise Invalid(
            f"key result {ident!r} belongs to OKR {row.okr_id!r} and cannot move to another",
            details=[{"path": "$.okr", "message": "a key result stays with its OKR"}],
        )
    _refuse_child_lists(kind, ident, changes)
    links = changes.get("declared_links") or []
    # The OKR's own statement: a change of its links is a change of the OKR (updated_at, and
    # through its row the read version cached score reads are checked against).
    relinked = "declared_links" in changes and links != _declared(session, org_id, ident)
    # Changes are applied inside the savepoint: begin_nested() flushes what is pending, which
    # would write them (and clear is_modified) before updated_at is set.
    with _constraints(kind.label, ident), session.begin_nested():
        for name, value in kind.to_columns(changes).items():
            setattr(row, name, value)
        _hash(kind, row)
        changed = session.is_modified(row) or relinked
        if changed:
            row.updated_at = func.now()
        _check_rules(session, kind, org_id, row, changes.get("declared_links"), changes)
        session.flush()
        if relinked:
            _replace_links(session, org_id, ident, links)
        if changed and kind.model in _PART_OF_PARENT:
            _date_parent(session, kind, org_id, row)
    session.refresh(row)
    return render(session, kind, row)


def _refuse_child_lists(kind: RecordKind, ident: str, changes: dict[str, Any]) -> None:
    """Nested children change one by one at their own route; an update never drops them
    silently (the API's PATCH models refuse them already, saying where)."""
    sent = [name for name in CHILD_LISTS if name in changes]
    if sent:
        raise Invalid(
            f"{kind.label} {ident!r}: {', '.join(sent)} change at their own routes",
            details=[{"path": f"$.{name}", "message": "records of their own"} for name in sent],
        )


def delete_record(session: Session, kind: RecordKind, org_id: str, ident: str) -> None:
    if kind.model in _PARENT:
        parent_id = session.scalar(
            select(_PARENT[kind.model][1]).where(
                kind.model.org_id == org_id, kind.model.id == ident
            )
        )
        if parent_id is not None:
            _lock_parent(session, kind, org_id, ident, parent_id)
    # Locked first: of concurrent deletes of one record the others wait here, then find it
    # gone (404), so exactly one answers 204 and writes its audit entry.
    row = get_row(session, kind, org_id, ident, lock=True)
    if kind.model is StrategicObjective:
        _refuse_declared_objective(session, org_id, ident)
    with _constraints(kind.label, ident, deleting=True), session.begin_nested():
        session.delete(row)
        session.flush()
        if kind.model in _PARENT:
            _date_parent(session, kind, org_id, row)


# Children whose writes date their parent: its `updated_at`, and through its row the read
# version cached score reads are checked against and the newest change that says scoring is due.
# Every write of a key result or KPI, part of its OKR or objective as read (`key_results`,
# `kpis`) and of the text it is scored on. Only the delete of a check-in: scored with its OKR
# too, but a new or edited one dates itself (its own `updated_at`), while a deleted one leaves
# no row to say the OKR lost it.
_PARENT: dict[type[Base], tuple[type[Base], Any]] = {
    KeyResult: (Okr, KeyResult.okr_id),
    Kpi: (StrategicObjective, Kpi.objective_id),
    CheckIn: (Okr, CheckIn.okr_id),
}
_PART_OF_PARENT = (KeyResult, Kpi)


def _parent_id(kind: RecordKind, row: Any) -> str:
    return getattr(row, _PARENT[kind.model][1].key)


def _lock_parent(
    session: Session, kind: RecordKind, org_id: str, ident: str, parent_id: str
) -> None:
    """Lock a child's parent before the child: a parent's own delete locks the parent, then
    its children (the cascade), so taking them in the other order could deadlock with it. The
    lock (FOR NO KEY UPDATE) lets other children be added meanwhile; a parent deleted since
    took the child with it (404)."""
    parent = _PARENT[kind.model][0]
    locked = session.scalar(
        select(parent.id)
        .where(parent.org_id == org_id, parent.id == parent_id)
        .with_for_update(key_share=True)
    )
    if locked is None:
        raise NotFound(f"{kind.label} {ident!r} does not exist in organization {org_id!r}")


def _next_position(session: Session, kind: RecordKind, org_id: str, parent_id: str) -> int:
    """Last among its siblings, as an import numbers them: at the default 0 a key result or
    KPI created on its own would list first, and the organization's export would no longer
    import as unchanged."""
    model = kind.model
    last = session.scalar(
        select(func.max(model.position)).where(
            model.org_id == org_id, _PARENT[model][1] == parent_id
        )
    )
    return 0 if last is None else last + 1


def _date_parent(session: Session, kind: RecordKind, org_id: str, row: Any) -> None:
    parent = _PARENT[kind.model][0]
    session.execute(
        update(parent)
        .where(parent.org_id == org_id, parent.id == _parent_id(kind, row))
        .values(updated_at=func.now())
        .execution_options(synchronize_session="fetch")
    )


_NAMED = 20  # OKRs a refusal names; the count says how many more


def _refuse_declared_objective(session: Session, org_id: str, ident: str) -> None:
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


def _check_child_ids(session: Session, kind: RecordKind, org_id: str, data: dict[str, Any]) -> None:
    """A nested child's id problem is the child's, at its place in the body, never its new
    parent's: an id twice in the body is 422 at the second (before anything is written), an
    id the organization has is 409 naming that child."""
    if kind.model in _CHILDREN:
        first = _refuse_repeated_ids(kind, data)
        _refuse_taken_ids(session, kind, org_id, first)


# Children a create nests: body field, model, label, the column naming their parent.
_CHILDREN: dict[type[Base], tuple[str, Any, str, str]] = {
    StrategicObjective: ("kpis", Kpi, "KPI", "objective_id"),
    Okr: ("key_results", KeyResult, "key result", "okr_id"),
}


def _refuse_repeated_ids(kind: RecordKind, data: dict[str, Any]) -> dict[str, int]:
    """Each child id -> its first place in the body's list; an id listed twice is refused."""
    field, _, label, _ = _CHILDREN[kind.model]
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
    field, model, label, parent = _CHILDREN[kind.model]
    if not first:
        return
    owners = dict(
        session.execute(
            select(model.id, getattr(model, parent)).where(
                model.org_id == org_id, model.id.in_(list(first))
            )
        ).all()
    )
    taken = [(first[child], child) for child in first if child in owners]
    if taken:
        owner_label = _REFERENCED[parent][1]
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


def _write_children(
    session: Session, kind: RecordKind, org_id: str, row: Any, data: dict[str, Any]
) -> None:
    if kind.model in _CHILDREN:
        field, model, _, parent = _CHILDREN[kind.model]
        for pos, child in enumerate(data.get(field) or []):
            session.add(
                model(
                    org_id=org_id,
                    position=pos,
                    content_hash=row_hash(model, child),
                    **{parent: row.id},
                    **child,
                )
            )
    if kind.model is Okr:
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
        out["declared_links"] = _declared(session, row.org_id, row.id)
        krs = session.scalars(
            select(KeyResult)
            .where(KeyResult.org_id == row.org_id, KeyResult.okr_id == row.id)
            .order_by(KeyResult.position, KeyResult.id)
        ).all()
        out["key_results"] = [_child(k, ("okr_id",)) for k in krs]
    return out


def _declared(session: Session, org_id: str, okr_id: str) -> list[str]:
    """The objectives an OKR declares, in its order."""
    return list(
        session.scalars(
            select(DeclaredLink.objective_id)
            .where(DeclaredLink.org_id == org_id, DeclaredLink.okr_id == okr_id)
            .order_by(DeclaredLink.position)
        )
    )


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
