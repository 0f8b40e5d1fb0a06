"""Ids as people read them: stored ids rewritten in Unicode NFKC form.

Every entry point now stores and looks ids up in NFKC form (alignment/bundle/text_rules.py):
"Café" typed with a combining accent or precomposed, fullwidth "ＯＫＲ－１" and "OKR-1", name one
record. An id stored earlier in another form could no longer be reached by its URL, nor matched
by a bundle naming it, so each is rewritten here with every column that names it: the records'
references, drafts, a team lead key's teams, and (for an organization) every row it owns. A
person's verdict on a check-in is kept: its hash covers the ids of the OKR and key result it was
filed under, and is taken again with their new form. What records history keeps the ids it
recorded then (audit entries' `record`, report runs, draft payloads, job parameters).

Two organizations, or two records of one kind in an organization, whose ids read the same would
become one: merging them would silently drop one's history, so the upgrade then stops before
writing anything, naming both; delete or re-create one of them with the previous version and
upgrade again. An id whose NFKC form could not be an id ("Ａ／Ｂ" becomes "A/B") stays as it is:
its URL still finds it (service/middleware.py keeps such a path segment as sent).

ASCII ids (the usual "O-1", "2026-Q3") are NFKC already: only ids with other characters are read,
and a database without any is left untouched.

Revision ID: 0021
Revises: 0020
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections import defaultdict
from typing import Any

from alembic import op
from sqlalchemy import text

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None

# The rules as of this revision (text_rules.normal_id and plain_id), frozen here.
BIDI_OVERRIDES = re.compile("[\u202a-\u202e\u2066-\u2069]")
ID_FORBIDDEN = re.compile(r"[/?#\t\n\r]")
ID_MAX = 200
# Printable ASCII is NFKC already: only ids with another character (`id !~ ASCII`) are read.
ASCII = "'^[ -~]*$'"

# Each record kind: its label, its table, and the (table, column) pairs naming its records.
RECORDS: tuple[tuple[str, str, tuple[tuple[str, str], ...]], ...] = (
    ("cycle", "cycles", (("okrs", "cycle_id"), ("drafts", "cycle_id"))),
    ("team", "teams", (("teams", "parent_id"), ("okrs", "team_id"), ("drafts", "team_id"))),
    (
        "strategic objective",
        "strategic_objectives",
        (
            ("strategic_objectives", "parent_id"),
            ("kpis", "objective_id"),
            ("declared_links", "objective_id"),
            ("scored_links", "objective_id"),
            ("link_feedback", "objective_id"),
            ("drafts", "objective_id"),
        ),
    ),
    ("KPI", "kpis", ()),
    (
        "OKR",
        "okrs",
        (
            ("declared_links", "okr_id"),
            ("key_results", "okr_id"),
            ("check_ins", "okr_id"),
            ("scored_links", "okr_id"),
            ("okr_verdicts", "okr_id"),
            ("link_feedback", "okr_id"),
        ),
    ),
    ("key result", "key_results", (("check_ins", "key_result_id"),)),
    (
        "check-in",
        "check_ins",
        (("check_in_drift", "check_in_id"), ("check_in_feedback", "check_in_id")),
    ),
)


def normal_id(value: str) -> str:
    return unicodedata.normalize("NFKC", BIDI_OVERRIDES.sub("", value)).strip()


def _may_be_id(value: str) -> bool:
    return (
        bool(value)
        and len(value) <= ID_MAX
        and value not in (".", "..")
        and not ID_FORBIDDEN.search(value)
    )


def _content_hash(*parts: str | None) -> str:
    """alignment.models.content_hash as of this revision."""
    joined = "\n".join(" ".join((p or "").split()) for p in parts)
    return hashlib.sha256(joined.encode("utf-8")).hexdigest()


class _Renames:
    """Old id -> new id, per scope (an organization, or None for organizations themselves),
    and the pairs that would become one."""

    def __init__(self, label: str) -> None:
        self.label = label
        self.by_scope: dict[Any, dict[str, str]] = defaultdict(dict)
        self.collisions: list[str] = []

    def plan(self, rows: list[tuple[Any, str]], exists: Any) -> None:
        targets: dict[tuple[Any, str], str] = {}
        for scope, old in rows:
            new = normal_id(old)
            if new == old or not _may_be_id(new):
                continue
            if (scope, new) in targets or exists(scope, new):
                other = targets.get((scope, new), new)
                where = f"organization {scope!r}, " if scope is not None else ""
                self.collisions.append(
                    f"{where}{self.label} {old!a} and {other!a} (both read {new!r})"
                )
                continue
            targets[(scope, new)] = old
            self.by_scope[scope][old] = new

    def items(self) -> list[tuple[Any, str, str]]:
        return [(s, old, new) for s, m in self.by_scope.items() for old, new in m.items()]


def upgrade() -> None:
    bind = op.get_bind()
    orgs = _Renames("organization")
    candidates = bind.scalars(text(f"select id from organizations where id !~ {ASCII}")).all()
    orgs.plan(
        [(None, org) for org in candidates],
        lambda _none, new: bind.scalar(
            text("select 1 from organizations where id = :id"), {"id": new}
        ),
    )
    records: dict[str, _Renames] = {}
    for label, table, _refs in RECORDS:
        records[table] = renames = _Renames(label)
        candidates = bind.execute(
            text(f"select org_id, id from {table} where id !~ {ASCII} order by org_id, id")
        ).all()

        def exists(org: str, new: str, table: str = table) -> bool:
            found = text(f"select 1 from {table} where org_id = :org and id = :id")
            return bind.scalar(found, {"org": org, "id": new}) is not None

        renames.plan([(r.org_id, r.id) for r in candidates], exists)

    collisions = orgs.collisions + [c for r in records.values() for c in r.collisions]
    if collisions:
        raise RuntimeError(
            "stored ids that read the same would become one id in Unicode NFKC form, the form "
            "ids are now compared in; nothing was changed. With the previous version, delete or "
            "re-create one of each pair under another id, then upgrade again: "
            + "; ".join(collisions)
        )
    if not orgs.items() and not any(r.items() for r in records.values()):
        return

    deferred = _defer_foreign_keys(bind)
    _keep_check_in_verdicts(bind, records["okrs"], records["key_results"])
    for _label, table, refs in RECORDS:
        for org, old, new in records[table].items():
            key = {"org": org, "old": old, "new": new}
            bind.execute(
                text(f"update {table} set id = :new where org_id = :org and id = :old"), key
            )
            for ref_table, column in refs:
                bind.execute(
                    text(
                        f"update {ref_table} set {column} = :new "
                        f"where org_id = :org and {column} = :old"
                    ),
                    key,
                )
            if table == "teams":
                bind.execute(
                    text(
                        "update api_keys set team_ids = array_replace(team_ids, :old, :new) "
                        "where org_id = :org and :old = any(team_ids)"
                    ),
                    key,
                )
    _rename_organizations(bind, orgs.items())
    bind.execute(text("set constraints all immediate"))
    for table, name in deferred:
        bind.execute(text(f'alter table "{table}" alter constraint "{name}" not deferrable'))


def _defer_foreign_keys(bind: Any) -> list[tuple[str, str]]:
    """Every foreign key of a tenant table, checked at the end instead of per statement: a
    record's id and the columns naming it change one statement after another."""
    found = bind.execute(
        text(
            "select c.conrelid::regclass::text as tbl, c.conname from pg_constraint c "
            "where c.contype = 'f' and not c.condeferrable "
            "and c.connamespace = 'public'::regnamespace and exists ("
            "  select 1 from pg_attribute a where a.attrelid = c.conrelid "
            "  and a.attname = 'org_id' and not a.attisdropped)"
        )
    ).all()
    for table, name in found:
        bind.execute(
            text(f'alter table "{table}" alter constraint "{name}" deferrable initially deferred')
        )
    bind.execute(text("set constraints all deferred"))
    return [(table, name) for table, name in found]


def _keep_check_in_verdicts(bind: Any, okrs: _Renames, key_results: _Renames) -> None:
    """A verdict holds while the check-in is what was judged: its text and the ids of its OKR
    and key result, hashed (scoring/drift_decisions.judged_hash). Same record, new id form: the
    hash is taken again where it still matched."""
    if not okrs.items() and not key_results.items():
        return
    rows = bind.execute(
        text(
            "select f.org_id, f.check_in_id, f.text_hash, c.text, c.okr_id, c.key_result_id "
            "from check_in_feedback f join check_ins c "
            "on c.org_id = f.org_id and c.id = f.check_in_id "
            f"where c.okr_id !~ {ASCII} or c.key_result_id !~ {ASCII}"
        )
    ).all()
    for row in rows:
        okr = okrs.by_scope[row.org_id].get(row.okr_id, row.okr_id)
        kr = row.key_result_id
        kr = key_results.by_scope[row.org_id].get(kr, kr) if kr else None
        if (okr, kr) == (row.okr_id, row.key_result_id):
            continue
        if row.text_hash != _content_hash(row.text, row.okr_id, row.key_result_id or ""):
            continue  # judged on another text or place: stays outdated
        bind.execute(
            text(
                "update check_in_feedback set text_hash = :hash "
                "where org_id = :org and check_in_id = :id"
            ),
            {
                "hash": _content_hash(row.text, okr, kr or ""),
                "org": row.org_id,
                "id": row.check_in_id,
            },
        )


def _rename_organizations(bind: Any, renames: list[tuple[Any, str, str]]) -> None:
    if not renames:
        return
    tables = bind.scalars(
        text(
            "select table_name from information_schema.columns where table_schema = 'public' "
            "and column_name = 'org_id' and table_name <> 'read_versions' order by table_name"
        )
    ).all()
    for _none, old, new in renames:
        key = {"old": old, "new": new}
        bind.execute(text("update organizations set id = :new where id = :old"), key)
        for table in tables:
            bind.execute(text(f'update "{table}" set org_id = :new where org_id = :old'), key)
        # Versions only key cached reads; the renamed rows' triggers started the new one's.
        bind.execute(text("delete from read_versions where org_id = :old"), key)


def downgrade() -> None:
    # Nothing to undo: the forms were the same ids, and the earlier ones are not kept.
    pass
