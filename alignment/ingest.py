"""Ingest stage: a validated bundle is upserted into one organization, in the caller's transaction.

Rows are written with INSERT .. ON CONFLICT DO UPDATE .. WHERE something changed, so re-importing
the same bundle touches nothing (not even `updated_at`) and a changed bundle updates by id.
With `prune=True`, rows of the organization that the bundle no longer lists are deleted;
without it they stay, and a key result or KPI the bundle leaves out of its parent is numbered
after the ones it lists, so an export of the result re-imports unchanged.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import bindparam, delete, func, literal_column, select, tuple_, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from alignment import bundle_rows
from alignment.bundle.schema import Bundle
from alignment.bundle.text_rules import one_line_break
from alignment.errors import BundleInvalid
from alignment.export import natural_key
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
from alignment.vocabulary import counted

ImportStep = Callable[[str, int], None]


@dataclass
class ImportSummary:
    organization: str
    created: dict[str, int] = field(default_factory=dict)
    updated: dict[str, int] = field(default_factory=dict)
    # Key results listed under another OKR than the one they were stored under: counted here,
    # not among `updated`, whatever else changed with them.
    moved: dict[str, int] = field(default_factory=dict)
    unchanged: dict[str, int] = field(default_factory=dict)
    deleted: dict[str, int] = field(default_factory=dict)
    dry_run: bool = False  # nothing was written; the counts say what an import would do

    @property
    def changed(self) -> bool:
        counts = (self.created, self.updated, self.moved, self.deleted)
        return any(any(c.values()) for c in counts)

    def as_dict(self) -> dict[str, Any]:
        # Every kind a count can name is there, 0 when none: a client reads
        # `deleted.key_results` (docs/csv.md) without first asking whether it is present.
        return {
            "organization": self.organization,
            "dry_run": self.dry_run,
            "changed": self.changed,
            "created": _every(self.created, KINDS),
            "updated": _every(self.updated, KINDS),
            "moved": _every(self.moved, MOVABLE),
            "unchanged": _every(self.unchanged, KINDS),
            "deleted": _every(self.deleted, KINDS[1:]),  # an import never deletes its organization
        }


# What an import writes, parents first; only key results can move (to another OKR).
KINDS = (
    "organizations",
    "cycles",
    "teams",
    "strategic_objectives",
    "kpis",
    "okrs",
    "key_results",
    "declared_links",
    "check_ins",
)
MOVABLE = ("key_results",)


def _every(counts: dict[str, int], kinds: tuple[str, ...]) -> dict[str, int]:
    return {**dict.fromkeys(kinds, 0), **counts}


def _upsert(
    session: Session,
    model: type[Any],  # any model: the columns it uses are not Base's
    rows: list[dict[str, Any]],
    name: str,
    summary: ImportSummary,
    *,
    parent: str | None = None,
    ordered_in: str | None = None,
) -> list[dict[str, Any]]:
    """The rows that were new or changed. Rows of a model with embedded text get their
    `content_hash` here, from the values written (models.row_hash). With `parent` (a column),
    a stored row whose parent changes is counted `moved` rather than `updated`. With
    `ordered_in` (the column of the parent a `position` orders rows within), a row whose
    position alone changed, keeping its place among the siblings that stay, is renumbered:
    written, but neither returned (its parent's order as read is the same, so the parent is not
    dated for it) nor counted `updated`.
    `position` is never shown; a sibling that left or came in shifts the numbers, not the row."""
    summary.created[name] = summary.updated[name] = summary.unchanged[name] = 0
    if parent is not None:
        summary.moved[name] = 0
    if not rows:
        return []
    if model in HASHED_FIELDS:
        rows = [{**row, "content_hash": row_hash(model, row)} for row in rows]
    table = model.__table__
    keys = [c.name for c in table.primary_key.columns]
    data_cols = [c for c in rows[0] if c not in keys]
    # Compare with what is stored before writing: an unchanged re-import then sends nothing
    # (the upsert's own IS DISTINCT FROM guard stays for rows that differ in type only).
    stored = _stored(session, table, keys, data_cols, rows[0])
    # The content hash follows from the texts compared. Text stored with CRLF before a line
    # break was read as one (a page form's textarea) equals what an import sends now: rewriting
    # it would change the OKR's fingerprint and void people's decisions on it, for nothing.
    compared = [c for c in data_cols if c != "content_hash"]
    at = [data_cols.index(c) for c in compared]

    def unchanged(row: dict[str, Any]) -> bool:
        old = stored.get(tuple(row[k] for k in keys))
        return old is not None and [_as_read(old[i]) for i in at] == [row[c] for c in compared]

    changed = [r for r in rows if not unchanged(r)]
    renumbered = _renumbered(changed, rows, stored, keys, data_cols, ordered_in)
    if renumbered:
        _write_positions(session, table, keys, renumbered)
        written = {id(r) for r in renumbered}
        changed = [r for r in changed if id(r) not in written]
    summary.unchanged[name] = len(rows) - len(changed)
    if not changed:
        return []
    stmt = insert(table)
    # One compiled statement, executed with "insertmanyvalues" batching; xmax = 0 only for
    # freshly inserted tuples, which tells created from updated in the same round trip.
    # Any: the RETURNING column is untyped (literal_column), so mypy cannot infer it.
    upsert: Any = stmt.on_conflict_do_update(
        index_elements=keys,
        set_={**{c: stmt.excluded[c] for c in data_cols}, "updated_at": func.now()},
        where=tuple_(*(table.c[c] for c in data_cols)).is_distinct_from(
            tuple_(*(stmt.excluded[c] for c in data_cols))
        ),
    ).returning(literal_column("(xmax = 0)").label("inserted"))
    flags = [row.inserted for row in session.execute(upsert, changed)]
    created = sum(flags)
    # A row under another parent differs in that column, so the upsert above wrote it.
    moved = _moved(changed, stored, keys, data_cols, parent) if parent is not None else 0
    summary.created[name] = created
    summary.updated[name] = len(flags) - created - moved
    if parent is not None:
        summary.moved[name] = moved
    summary.unchanged[name] = len(rows) - len(flags)
    return changed


def _renumbered(
    changed: list[dict[str, Any]],
    rows: list[dict[str, Any]],
    stored: dict[tuple[Any, ...], tuple[Any, ...]],
    keys: list[str],
    data_cols: list[str],
    ordered_in: str | None,
) -> list[dict[str, Any]]:
    """The `changed` rows whose only change is `position`, at the same place as before among
    their stayers: the siblings stored and listed under the same parent. One put before another
    it followed has another place, a change of the parent's order, and is written as changed."""
    if ordered_in is None:
        return []
    at_parent, at_position = data_cols.index(ordered_in), data_cols.index("position")
    others = [i for i, c in enumerate(data_cols) if c not in ("position", "content_hash")]

    def key(row: dict[str, Any]) -> tuple[Any, ...]:
        return tuple(row[k] for k in keys)

    stayers: dict[Any, list[tuple[tuple[Any, ...], Any]]] = defaultdict(list)
    for row in rows:
        old = stored.get(key(row))
        if old is not None and old[at_parent] == row[ordered_in]:
            stayers[row[ordered_in]].append((key(row), old[at_position]))
    same_place: set[tuple[Any, ...]] = set()
    for children in stayers.values():
        before = sorted(children, key=lambda c: (c[1], natural_key(c[0][-1])))  # as exported
        same_place.update(a for (a, _), (b, _) in zip(before, children, strict=True) if a == b)

    def only_renumbered(row: dict[str, Any]) -> bool:
        old = stored.get(key(row))
        return (
            key(row) in same_place
            and old is not None
            and all(_as_read(old[i]) == row[data_cols[i]] for i in others)
        )

    return [r for r in changed if only_renumbered(r)]


def _write_positions(
    session: Session, table: Any, keys: list[str], rows: list[dict[str, Any]]
) -> None:
    """Store renumbered rows' positions, their one change; `updated_at` stays."""
    session.execute(
        update(table)
        .where(*(table.c[k] == bindparam(f"b_{k}") for k in keys))
        .values(position=bindparam("b_position")),
        [{**{f"b_{k}": r[k] for k in keys}, "b_position": r["position"]} for r in rows],
    )


def _moved(
    rows: list[dict[str, Any]],
    stored: dict[tuple[Any, ...], tuple[Any, ...]],
    keys: list[str],
    data_cols: list[str],
    parent: str,
) -> int:
    """How many of `rows` are stored under another `parent` than they now name."""
    at = data_cols.index(parent)
    olds = (stored.get(tuple(row[k] for k in keys)) for row in rows)
    return sum(1 for row, old in zip(rows, olds, strict=True) if old and old[at] != row[parent])


def _as_read(value: Any) -> Any:
    return one_line_break(value) if isinstance(value, str) else value


def _stored(
    session: Session, table: Any, keys: list[str], data_cols: list[str], sample: dict[str, Any]
) -> dict[tuple[Any, ...], tuple[Any, ...]]:
    """The organization's stored rows of `table`: primary key -> the columns an import sets."""
    scope = (
        table.c.org_id == sample["org_id"] if "org_id" in table.c else table.c.id == sample["id"]
    )
    query = select(*(table.c[c] for c in keys), *(table.c[c] for c in data_cols)).where(scope)
    width = len(keys)
    return {tuple(row[:width]): tuple(row[width:]) for row in session.execute(query)}


_CHUNK = 1000


def import_bundle(
    session: Session, bundle: Bundle, *, prune: bool = False, progress: ImportStep | None = None
) -> ImportSummary:
    """Upsert `bundle` into its organization. The caller owns the transaction."""
    summary = ImportSummary(organization=bundle.organization.id)
    step = progress or (lambda _label, _n: None)
    if not prune:  # a prune deletes the stored check-ins the bundle leaves out
        _refuse_stranded_check_ins(session, bundle)

    # Parents before children: each row's foreign keys must already be stored.
    _upsert(session, Organization, [bundle_rows.organization_row(bundle)], "organizations", summary)
    _upsert(session, Cycle, bundle_rows.cycle_rows(bundle), "cycles", summary)
    step("cycles", len(bundle.cycles))
    _upsert(session, Team, bundle_rows.team_rows(bundle), "teams", summary)
    step("teams", len(bundle.teams))
    _upsert(
        session,
        StrategicObjective,
        bundle_rows.objective_rows(bundle),
        "strategic_objectives",
        summary,
    )
    kpis = _upsert(
        session, Kpi, bundle_rows.kpi_rows(bundle), "kpis", summary, ordered_in="objective_id"
    )
    listed_kpis = {o.id: [k.id for k in o.kpis] for o in bundle.strategic_objectives}
    renumbered = _renumber_unlisted(session, Kpi, listed_kpis, bundle, "kpis", summary)
    _date(session, StrategicObjective, bundle, {r["objective_id"] for r in kpis} | renumbered)
    step("strategic objectives", len(bundle.strategic_objectives))
    _upsert(session, Okr, bundle_rows.okr_rows(bundle), "okrs", summary)
    key_results = _upsert(
        session,
        KeyResult,
        bundle_rows.key_result_rows(bundle),
        "key_results",
        summary,
        parent="okr_id",
        ordered_in="okr_id",
    )
    listed_krs = {o.id: [kr.id for kr in o.key_results] for o in bundle.okrs}
    renumbered = _renumber_unlisted(session, KeyResult, listed_krs, bundle, "key_results", summary)
    relinked = _sync_declared_links(session, bundle, summary)
    _date(session, Okr, bundle, {r["okr_id"] for r in key_results} | renumbered | relinked)
    step("okrs", len(bundle.okrs))
    _upsert(session, CheckIn, bundle_rows.check_in_rows(bundle), "check_ins", summary)
    step("check-ins", len(bundle.check_ins))
    if prune:
        _prune(session, bundle, summary)
    return summary


def _chunks(ids: Sequence[Any]) -> Iterable[Sequence[Any]]:
    """`ids` in slices one statement can hold (at most 65,535 parameters)."""
    return (ids[start : start + _CHUNK] for start in range(0, len(ids), _CHUNK))


_NAMED = 5  # stored check-ins named per refused key result; the rest are counted


def _refuse_stranded_check_ins(session: Session, bundle: Bundle) -> None:
    """Refuse, before anything is written, a bundle that moves a key result to another OKR
    while a stored check-in it does not list still reports on it under the old OKR: the
    stored data would break the bundle rules (check-in and key result on different OKRs), and
    the organization's own export, and every CSV upload merged into it, would be refused."""
    org = bundle.organization.id
    owner = {
        kr.id: (o.id, f"$.okrs[{i}].key_results[{j}]")
        for i, o in enumerate(bundle.okrs)
        for j, kr in enumerate(o.key_results)
    }
    moving: dict[str, str] = {}  # key result -> the OKR it is stored under
    for chunk in _chunks(sorted(owner)):
        rows = session.execute(
            select(KeyResult.id, KeyResult.okr_id).where(
                KeyResult.org_id == org, KeyResult.id.in_(chunk)
            )
        )
        moving.update({r.id: r.okr_id for r in rows if r.okr_id != owner[r.id][0]})
    listed = {c.id for c in bundle.check_ins}  # validated against the bundle's own owners
    stranded: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for chunk in _chunks(sorted(moving)):
        rows = session.execute(
            select(CheckIn.id, CheckIn.okr_id, CheckIn.key_result_id).where(
                CheckIn.org_id == org, CheckIn.key_result_id.in_(chunk)
            )
        )
        for r in rows:
            if r.id not in listed and r.okr_id != owner[r.key_result_id][0]:
                stranded[r.key_result_id].append((r.id, r.okr_id))
    if not stranded:
        return
    problems = []
    for kr in sorted(stranded, key=lambda k: natural_key(owner[k][1])):
        check_ins = sorted(stranded[kr], key=lambda c: natural_key(c[0]))
        named = ", ".join(f"{ident!r} (OKR {okr!r})" for ident, okr in check_ins[:_NAMED])
        more = f" and {len(check_ins) - _NAMED} more" if len(check_ins) > _NAMED else ""
        problems.append(
            {
                "path": owner[kr][1],
                "message": f"key result {kr!r} would move from OKR {moving[kr]!r} to "
                f"{owner[kr][0]!r}, but stored check-in(s) {named}{more} report on it; list "
                f"them in the bundle under OKR {owner[kr][0]!r}, or leave the key result where "
                "it is",
            }
        )
    raise BundleInvalid(
        f"bundle rejected: {counted(len(problems), 'problem')}; nothing was written",
        details=problems,
    )


def _renumber_unlisted(
    session: Session,
    model: type[Any],
    listed: dict[str, list[str]],
    bundle: Bundle,
    name: str,
    summary: ImportSummary,
) -> set[str]:
    """Number the stored key results or KPIs of the bundle's parents that the bundle does not
    list (kept, as no prune deletes them) after the listed ones, in their previous order: else
    one would tie with a listed child, the export would break the tie by id, and importing
    that export would change positions again. The parents whose children were renumbered."""
    org, table = bundle.organization.id, model.__table__
    parent_col = table.c.okr_id if model is KeyResult else table.c.objective_id
    everywhere = {ident for ids in listed.values() for ident in ids}
    unlisted: dict[str, list[tuple[int, str]]] = defaultdict(list)
    for chunk in _chunks(sorted(listed)):
        rows = session.execute(
            select(table.c.id, parent_col, table.c.position).where(
                table.c.org_id == org, parent_col.in_(chunk)
            )
        )
        for ident, parent, position in rows:
            if ident not in everywhere:
                unlisted[parent].append((position, ident))
    moves: list[dict[str, Any]] = []
    parents: set[str] = set()
    for parent, children in unlisted.items():
        start = len(listed[parent])
        for rank, (position, ident) in enumerate(sorted(children, key=_previous_order)):
            if position != start + rank:
                moves.append({"b_org": org, "b_id": ident, "b_position": start + rank})
                parents.add(parent)
    if moves:
        session.execute(
            update(table)
            .where(table.c.org_id == bindparam("b_org"), table.c.id == bindparam("b_id"))
            .values(position=bindparam("b_position"), updated_at=func.now()),
            moves,
        )
    summary.updated[name] += len(moves)
    return parents


def _previous_order(child: tuple[int, str]) -> tuple[int, list[Any]]:
    """A stored child's place among its siblings, ties broken as the export breaks them."""
    return child[0], natural_key(child[1])


def _date(session: Session, model: type[Any], bundle: Bundle, ids: set[str]) -> None:
    """Date the OKRs or objectives whose key results, KPIs or declared links an import
    changed: they are part of the record as read (its `updated_at`, and through its row the
    read version cached score reads are checked against) and of the text it is scored on, as
    when they change at their own routes (repository.py)."""
    org, ordered = bundle.organization.id, sorted(ids)
    for start in range(0, len(ordered), _CHUNK):
        session.execute(
            update(model)
            .where(model.org_id == org, model.id.in_(ordered[start : start + _CHUNK]))
            .values(updated_at=func.now())
        )


def _sync_declared_links(session: Session, bundle: Bundle, summary: ImportSummary) -> set[str]:
    """Make the bundle's OKRs declare exactly the objectives it lists, in its order; the OKRs
    whose links changed."""
    org = bundle.organization.id
    wanted = {(o.id, link): pos for o in bundle.okrs for pos, link in enumerate(o.declared_links)}
    okr_ids = [o.id for o in bundle.okrs]
    existing: dict[tuple[str, str], int] = {}
    for start in range(0, len(okr_ids), _CHUNK):
        rows = session.execute(
            select(DeclaredLink.okr_id, DeclaredLink.objective_id, DeclaredLink.position).where(
                DeclaredLink.org_id == org, DeclaredLink.okr_id.in_(okr_ids[start : start + _CHUNK])
            )
        )
        existing.update({(r.okr_id, r.objective_id): r.position for r in rows})
    stale = [key for key in existing if key not in wanted]
    for start in range(0, len(stale), _CHUNK):
        session.execute(
            delete(DeclaredLink).where(
                DeclaredLink.org_id == org,
                tuple_(DeclaredLink.okr_id, DeclaredLink.objective_id).in_(
                    stale[start : start + _CHUNK]
                ),
            )
        )
    fresh: list[dict[str, Any]] = [
        {"org_id": org, "okr_id": okr, "objective_id": obj, "position": pos}
        for (okr, obj), pos in wanted.items()
        if existing.get((okr, obj)) != pos
    ]
    for start in range(0, len(fresh), _CHUNK):
        stmt = insert(DeclaredLink).values(fresh[start : start + _CHUNK])
        session.execute(
            stmt.on_conflict_do_update(
                index_elements=["org_id", "okr_id", "objective_id"],
                set_={"position": stmt.excluded.position},
            )
        )
    summary.created["declared_links"] = sum(
        1 for r in fresh if (r["okr_id"], r["objective_id"]) not in existing
    )
    summary.updated["declared_links"] = len(fresh) - summary.created["declared_links"]
    summary.deleted["declared_links"] = len(stale)
    summary.unchanged["declared_links"] = len(wanted) - len(fresh)
    return {okr for okr, _ in stale} | {r["okr_id"] for r in fresh}


# Children pruned from a parent that stays: the parent (model, column naming it).
_PARENTS: dict[type[Base], tuple[type[Base], Any]] = {
    CheckIn: (Okr, CheckIn.okr_id),
    KeyResult: (Okr, KeyResult.okr_id),
    Kpi: (StrategicObjective, Kpi.objective_id),
}


def _prune(session: Session, bundle: Bundle, summary: ImportSummary) -> None:
    """Delete what the organization has and the bundle no longer lists (children first)."""
    org = bundle.organization.id
    keep: list[tuple[type[Any], str, Iterable[str]]] = [
        (CheckIn, "check_ins", (c.id for c in bundle.check_ins)),
        (KeyResult, "key_results", (kr.id for o in bundle.okrs for kr in o.key_results)),
        (Okr, "okrs", (o.id for o in bundle.okrs)),
        (Kpi, "kpis", (k.id for o in bundle.strategic_objectives for k in o.kpis)),
        (StrategicObjective, "strategic_objectives", (o.id for o in bundle.strategic_objectives)),
        (Team, "teams", (t.id for t in bundle.teams)),
        (Cycle, "cycles", (c.id for c in bundle.cycles)),
    ]
    lost: dict[type[Base], set[str]] = defaultdict(set)  # parents whose children were pruned
    for model, name, ids in keep:
        wanted = set(ids)
        present = session.scalars(select(model.id).where(model.org_id == org)).all()
        gone = [i for i in present if i not in wanted]
        # In chunks: one statement holds at most 65,535 parameters, a bundle 100,000 records.
        chunks = [gone[start : start + _CHUNK] for start in range(0, len(gone), _CHUNK)]
        if model in (Team, StrategicObjective):
            # Unparent first, so the self-reference never blocks a delete in any order.
            for chunk in chunks:
                session.execute(
                    update(model)
                    .where(model.org_id == org, model.id.in_(chunk))
                    .values(parent_id=None)
                )
        if model is Okr:  # their declared links go with them (cascade): count them as deleted
            summary.deleted["declared_links"] = summary.deleted.get("declared_links", 0) + sum(
                session.scalar(
                    select(func.count())
                    .select_from(DeclaredLink)
                    .where(DeclaredLink.org_id == org, DeclaredLink.okr_id.in_(chunk))
                )
                or 0
                for chunk in chunks
            )
        parent = _PARENTS.get(model)
        for chunk in chunks:
            deleting = delete(model).where(model.org_id == org, model.id.in_(chunk))
            if parent is None:
                session.execute(deleting)
            else:  # the parent lost part of its text: date it (it may be pruned next: no-op)
                lost[parent[0]].update(session.scalars(deleting.returning(parent[1])))
        summary.deleted[name] = len(gone)
    for model, ids in lost.items():
        _date(session, model, bundle, ids)
