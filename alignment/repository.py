"""Record CRUD, scoped by organization: the SQL that creates, reads, changes and deletes plain
records (teams, OKRs, key results, objectives, check-ins). Each domain package keeps its own
tables' SQL in a module of its own (`drafting/store`, `report/store`, `scoring/reads`).

Functions take the caller's session and never commit. Rules the schema cannot express are
checked before writing (`record_rules`); database constraint violations are turned into domain
errors (409 for duplicates and records still in use, 422 for unknown references) inside a
savepoint, so the caller's transaction stays usable (`record_errors`).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.orm import Session

from alignment.bundle.text_rules import one_line_break
from alignment.errors import Invalid, NotFound
from alignment.models import (
    HASHED_FIELDS,
    CheckIn,
    DeclaredLink,
    KeyResult,
    Kpi,
    Okr,
    StrategicObjective,
    row_hash,
)

# Organization CRUD has its own module; these names stay importable from here, where much of
# the tree (and its tests) imports them.
from alignment.organizations import create_org as create_org
from alignment.organizations import delete_org as delete_org
from alignment.organizations import list_orgs as list_orgs
from alignment.organizations import require_org as require_org
from alignment.organizations import update_org as update_org
from alignment.record_errors import already_exists, constraint_errors
from alignment.record_rules import (
    CHILDREN,
    REFERENCED,
    check_child_ids,
    check_rules,
    refuse_child_lists,
    refuse_declared_objective,
    refuse_used_by_okrs,
)
from alignment.records import COLUMN_OF, RecordKind


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
    return REFERENCED.get(COLUMN_OF.get(name, ""), (None, None))


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
    session: Session,
    kind: RecordKind,
    org_id: str,
    ident: str,
    *,
    lock: bool = False,
    key_share: bool = False,
) -> Any:
    """The record's row; `lock` takes it FOR UPDATE (a delete), and with `key_share` FOR NO KEY
    UPDATE (a change of its columns, not its key): that one waits for a delete of the row but
    not for a row being inserted that names it (a check-in, a scored link), which only takes
    FOR KEY SHARE."""
    # A locked read is read again: the row may have changed while this request waited for it.
    row = session.get(
        kind.model,
        {"org_id": org_id, "id": ident},
        with_for_update=({"key_share": True} if key_share else True) if lock else None,
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
        raise already_exists(kind.label, data["id"])
    row = kind.model(org_id=org_id, **kind.to_columns(data))
    if kind.model is Okr:  # new work from here on; an import never sets it (migration 0022)
        row.added_at = func.now()
    _hash(kind, row)
    check_rules(session, kind, org_id, row, data.get("declared_links"))
    check_child_ids(session, kind, org_id, data)
    if kind.model in _PART_OF_PARENT:
        row.position = _next_position(session, kind, org_id, _parent_id(kind, row))
    with constraint_errors(kind.label, data["id"]), session.begin_nested():
        session.add(row)
        session.flush()
        _write_children(session, kind, org_id, row, data)
        if kind.model in _PART_OF_PARENT:
            _date_parent(session, kind, org_id, row)
    return render(session, kind, row)


def _same_text(stored: Any, sent: Any) -> bool:
    # Text a page form stored with CRLF, before a line break was read as one character, reads
    # as the same text sent again with LF: rewriting it would change the OKR's fingerprint and
    # void people's link decisions on it for no change (ingest.py does the same on import).
    return isinstance(stored, str) and isinstance(sent, str) and one_line_break(stored) == sent


def update_record(
    session: Session, kind: RecordKind, org_id: str, ident: str, changes: dict[str, Any]
) -> tuple[dict[str, Any], bool]:
    """The record as stored after `changes`, and whether they changed it (a PATCH that
    repeats what is stored changes nothing, and gives scoring nothing to do)."""
    # Locked before it is changed: a delete of it under way (which locks it first) is waited
    # for, and then the record is gone (404). Unlocked, the UPDATE matched no row: a 500.
    part_of_parent = kind.model in _PART_OF_PARENT
    row = get_row(session, kind, org_id, ident, lock=not part_of_parent, key_share=True)
    if part_of_parent:  # its parent first, as every write of it takes them
        _lock_parent(session, kind, org_id, ident, _parent_id(kind, row))
        # Deleted meanwhile: 404.
        row = get_row(session, kind, org_id, ident, lock=True, key_share=True)
    if kind.path == "key-results" and changes.get("okr") not in (None, row.okr_id):
        # A bundle cannot express it either (key results nest in their OKR): an export of
        # the result would not re-import. Create it under the other OKR instead.
        raise Invalid(
            f"key result {ident!r} belongs to OKR {row.okr_id!r} and cannot move to another",
            details=[{"path": "$.okr", "message": "a key result stays with its OKR"}],
        )
    refuse_child_lists(kind, ident, changes)
    links = changes.get("declared_links") or []
    # The OKR's own statement: a change of its links is a change of the OKR (updated_at, and
    # through its row the read version cached score reads are checked against).
    relinked = "declared_links" in changes and links != declared_objectives(session, org_id, ident)
    # Changes are applied inside the savepoint: begin_nested() flushes what is pending, which
    # would write them (and clear is_modified) before updated_at is set.
    with constraint_errors(kind.label, ident), session.begin_nested():
        for name, value in kind.to_columns(changes).items():
            if not _same_text(getattr(row, name), value):
                setattr(row, name, value)
        _hash(kind, row)
        changed = session.is_modified(row) or relinked
        if changed:
            row.updated_at = func.now()
        check_rules(session, kind, org_id, row, changes.get("declared_links"), changes)
        session.flush()
        if relinked:
            _replace_links(session, org_id, ident, links)
        if changed and kind.model in _PART_OF_PARENT:
            _date_parent(session, kind, org_id, row)
    session.refresh(row)
    return render(session, kind, row), changed


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
        refuse_declared_objective(session, org_id, ident)
    refuse_used_by_okrs(session, kind, org_id, ident)
    with constraint_errors(kind.label, ident, deleting=True), session.begin_nested():
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
_PARENT: dict[type[Any], tuple[type[Any], Any]] = {
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


def _write_children(
    session: Session, kind: RecordKind, org_id: str, row: Any, data: dict[str, Any]
) -> None:
    if kind.model in CHILDREN:
        field, model, _, parent = CHILDREN[kind.model]
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
        out["declared_links"] = declared_objectives(session, row.org_id, row.id)
        krs = session.scalars(
            select(KeyResult)
            .where(KeyResult.org_id == row.org_id, KeyResult.okr_id == row.id)
            .order_by(KeyResult.position, KeyResult.id)
        ).all()
        out["key_results"] = [_child(k, ("okr_id",)) for k in krs]
    return out


def declared_objectives(session: Session, org_id: str, okr_id: str) -> list[str]:
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
