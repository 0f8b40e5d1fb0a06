"""Database constraint violations of record and organization writes, as domain errors.

Part of the record CRUD (`repository`, `organizations`): a write the schema refuses becomes 409
(a duplicate, a record still in use) or 422 (an unknown reference, a broken rule), worded in
the API's terms. `record_rules` checks most problems before writing, naming each; what reaches
here is what it does not check (a delete of a record still in use) or another request's write.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.exc import IntegrityError

from alignment.errors import Conflict, Invalid
from alignment.models import Base
from alignment.records import CHILD_LISTS, FIELD_OF

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
def constraint_errors(kind_label: str, ident: str, *, deleting: bool = False) -> Iterator[None]:
    """Raise the domain error for a constraint the block's writes broke; wrap a savepoint
    (`session.begin_nested()`) so the caller's transaction stays usable."""
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
            null_field = FIELD_OF.get(column, column) if column else None
            raise Invalid(
                f"{kind_label} {ident!r}: {null_field or 'a required field'} cannot be null",
                details=[{"path": f"$.{null_field}" if null_field else "$", "message": "required"}],
            ) from exc
        raise


# Where a refused delete's record is named: the request has no body, only its path.
DELETED = "path.record_id"


def already_exists(kind_label: str, ident: str) -> Conflict:
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
    children's ids are checked before writing (`record_rules.check_child_ids`), which names
    each; this is another request that wrote one meanwhile, and row-level security keeps
    PostgreSQL from saying which id it was."""
    field, label = _CHILD_KEYS.get(constraint or "", (None, kind_label))
    if field is None or label == kind_label:
        return already_exists(kind_label, ident)
    return Conflict(
        f"{kind_label} {ident!r}: one of its {CHILD_LISTS[field][0]} already exists",
        details=[{"path": f"$.{field}", "message": f"a {label} id here was just created"}],
    )
