"""Content hashes and closed vocabularies of the record model (no database needed)."""

from __future__ import annotations

import pytest
from sqlalchemy import CheckConstraint
from sqlalchemy.dialects import postgresql
from sqlalchemy.schema import CreateTable

from alignment.models import (
    HASHED_FIELDS,
    CheckIn,
    KeyResult,
    Kpi,
    Okr,
    StrategicObjective,
    Team,
    row_hash,
)


def test_row_hash_is_pinned() -> None:
    # Stored records carry these hashes: a change here makes every stored text look changed.
    # sha256("Grow recurring revenue\n"): fields joined by newlines, whitespace collapsed.
    values = {"title": " Grow  recurring\trevenue ", "description": None}
    pinned = "43c6aa93d557ac0d5439c39b78bbe5fdff304fc3a621725858cc19b246ce167e"
    assert row_hash(Okr, values) == pinned
    assert row_hash(StrategicObjective, values) == pinned


@pytest.mark.parametrize("model", list(HASHED_FIELDS))
def test_row_hash_reads_a_record_as_its_values(model: type) -> None:
    values = {field: f"{field} text" for field in HASHED_FIELDS[model]}
    assert row_hash(model, model(**values)) == row_hash(model, values)


def test_row_hash_covers_only_the_hashed_fields() -> None:
    base = row_hash(KeyResult, {"title": "Cut churn"})
    assert row_hash(KeyResult, {"title": "Cut churn", "unit": "%", "kind": "lead"}) == base
    assert row_hash(Kpi, {"name": "Cut churn"}) == base
    assert row_hash(CheckIn, {"text": "Cut churn"}) == base
    assert row_hash(Team, {"mission": None}) == row_hash(Team, {"mission": ""})


@pytest.mark.parametrize(
    ("model", "name", "sql"),
    [
        (
            StrategicObjective,
            "objective_perspective",
            "perspective is null or perspective in "
            "('financial','customer','internal_process','learning_growth')",
        ),
        (Kpi, "kpi_kind", "kind is null or kind in ('lead','lag')"),
        (KeyResult, "key_result_kind", "kind is null or kind in ('lead','lag')"),
    ],
)
def test_vocabulary_constraints_keep_the_migrations_text(model: type, name: str, sql: str) -> None:
    # compare_metadata does not compare check constraints: the text migration 0001 wrote is
    # pinned here instead.
    constraint = next(
        c for c in model.__table__.constraints if isinstance(c, CheckConstraint) and c.name == name
    )
    assert str(constraint.sqltext) == sql
    ddl = str(CreateTable(model.__table__).compile(dialect=postgresql.dialect()))
    assert f"CONSTRAINT {name} CHECK ({sql})" in ddl
