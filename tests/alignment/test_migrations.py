"""Migrations on an empty database: up to head, down to nothing, up again; models match them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Table, create_engine, inspect, text
from sqlalchemy.engine import make_url

from alignment import db
from alignment.models import Base


@pytest.fixture
def empty_database(database_url: str) -> Iterator[str]:
    name = f"gt_migrate_{uuid.uuid4().hex[:8]}"
    admin = create_engine(database_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(database_url).set(database=name).render_as_string(hide_password=False)
    try:
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
        admin.dispose()


def test_up_down_up_from_empty(empty_database: str) -> None:
    engine = create_engine(empty_database)
    try:
        db.upgrade(empty_database)
        tables = set(inspect(engine).get_table_names())
        assert {"organizations", "okrs", "key_results", "check_ins", "text_embeddings"} <= tables
        with engine.connect() as conn:
            assert conn.scalar(text("select extname from pg_extension where extname='vector'"))
            index = conn.scalar(
                text("select indexdef from pg_indexes where tablename='text_embeddings' "
                     "and indexdef ilike '%hnsw%'")
            )  # fmt: skip
            assert index and "vector_cosine_ops" in index
            # compare_metadata ignores partial-index predicates, so check this one here.
            assert "WHERE searchable" in index

        command.downgrade(db.alembic_config(empty_database), "base")
        assert set(inspect(engine).get_table_names()) <= {"alembic_version"}

        db.upgrade(empty_database)
        assert "okrs" in inspect(engine).get_table_names()
    finally:
        engine.dispose()


def test_models_match_migrations(empty_database: str) -> None:
    db.upgrade(empty_database)
    engine = create_engine(empty_database)
    try:
        with engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    finally:
        engine.dispose()
    # Tables of modules not imported here are not in Base.metadata; everything else must agree.
    known = set(Base.metadata.tables)
    assert [d for d in diff if _table_of(d) in known] == []


def _table_of(diff_item) -> str | None:
    op = diff_item[0] if isinstance(diff_item, list) else diff_item
    for part in op[1:]:
        if isinstance(part, Table):
            return part.name
        table = getattr(part, "table", None)
        if table is not None:
            return table.name
        if isinstance(part, str) and part in Base.metadata.tables:
            return part
    return None


def test_vectors_stored_before_0005_stay_searchable(empty_database: str) -> None:
    config = db.alembic_config(empty_database)
    command.upgrade(config, "0004")
    engine = create_engine(empty_database)
    vector = "[" + ",".join(["0.05"] * 384) + "]"
    insert = text(
        "insert into text_embeddings (org_id, model, content_hash, embedding)"
        " values ('acme', 'm', :h, :v)"
    )
    try:
        with engine.begin() as conn:
            conn.execute(text("insert into organizations (id, name) values ('acme', 'Acme')"))
            conn.execute(insert, {"h": "old", "v": vector})
        db.upgrade(empty_database)
        with engine.begin() as conn:
            conn.execute(insert, {"h": "new", "v": vector})
            rows = conn.execute(text("select content_hash, searchable from text_embeddings"))
            flags = dict(rows.tuples().all())
        assert flags == {"old": True, "new": False}
        command.downgrade(config, "0004")
        with engine.connect() as conn:
            assert conn.scalar(text("select count(*) from text_embeddings")) == 2
    finally:
        engine.dispose()


def test_0010_numbers_existing_runs_per_organization(empty_database: str) -> None:
    db.upgrade(empty_database, "0009")
    engine = create_engine(empty_database)
    run = (
        "insert into report_runs (org_id, schema_version, inputs_version, model, filters, "
        "config, summary, findings) values (:org, 'v1', 'x', 'm', '{}', '{}', '{}', '[]')"
    )
    try:
        with engine.begin() as conn:
            conn.execute(text("insert into organizations (id, name) values ('a', 'A'), ('b', 'B')"))
            for org in ("a", "b", "a", "b", "a"):  # global ids 1..5
                conn.execute(text(run), {"org": org})
        db.upgrade(empty_database, "0012")  # 0013 moves the findings column out
        with engine.connect() as conn:
            rows = conn.execute(
                text("select org_id, id, number, confirmed_at = created_at from report_runs "
                     "order by id")
            ).all()  # fmt: skip
        assert [tuple(r) for r in rows] == [
            ("a", 1, 1, True), ("b", 2, 1, True), ("a", 3, 2, True), ("b", 4, 2, True),
            ("a", 5, 3, True),
        ]  # fmt: skip
        with pytest.raises(Exception, match="uq_report_runs_number"), engine.begin() as conn:
            conn.execute(
                text(run.replace("(org_id,", "(number, org_id,").replace("(:org,", "(2, :org,")),
                {"org": "b"},
            )
    finally:
        engine.dispose()


def test_0013_moves_findings_to_rows_in_order_and_back(empty_database: str) -> None:
    """Existing runs keep every finding, unchanged and in order; a run without findings stays
    empty; the tenant policy covers the new table; downgrade puts the arrays back."""
    db.upgrade(empty_database, "0012")
    engine = create_engine(empty_database)
    findings = [
        {"key": f"k{i}", "kind": "orphan_okr" if i % 2 else "stale_checkin", "category": "c",
         "severity": "high", "reason": f"Reason {i}", "scope": {"teams": ["T-1", f"T-{i}"]},
         "records": [{"type": "okr", "id": f"O-{i}", "label": f"Grow Ünits {i}"}],
         "evidence": {"similarity": i / 10}}
        for i in range(12)
    ]  # fmt: skip
    run = (
        "insert into report_runs (org_id, number, schema_version, inputs_version, model, "
        "filters, config, summary, findings) values "
        "(:org, :n, 'v1', 'x', 'm', '{}', '{}', '{}', cast(:findings as jsonb))"
    )
    try:
        with engine.begin() as conn:
            conn.execute(text("insert into organizations (id, name) values ('a', 'A')"))
            conn.execute(text(run), {"org": "a", "n": 1, "findings": json.dumps(findings)})
            conn.execute(text(run), {"org": "a", "n": 2, "findings": "[]"})
        db.upgrade(empty_database)
        with engine.connect() as conn:
            rows = conn.execute(
                text("select run_id, position, kind, teams, search, body from report_findings "
                     "order by run_id, position")
            ).all()  # fmt: skip
            policy = conn.scalar(
                text("select count(*) from pg_policies where tablename = 'report_findings'")
            )
        assert [r.body for r in rows] == findings
        assert [(r.run_id, r.position) for r in rows] == [(1, i) for i in range(12)]
        assert rows[3].kind == "orphan_okr" and rows[3].teams == ["T-1", "T-3"]
        assert "o-3 grow ünits 3" in rows[3].search and "reason 3" in rows[3].search
        assert policy == 1
        assert "findings" not in {c["name"] for c in inspect(engine).get_columns("report_runs")}

        command.downgrade(db.alembic_config(empty_database), "0012")
        with engine.connect() as conn:
            back = conn.execute(text("select number, findings from report_runs order by number"))
            assert [tuple(r) for r in back] == [(1, findings), (2, [])]
    finally:
        engine.dispose()


def test_the_cli_says_what_it_migrated_without_alembics_set_up_lines(empty_database: str) -> None:
    def upgrade() -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-c", "from service.cli import main; main()", "db", "upgrade"],
            env={**os.environ, "DATABASE_URL": empty_database},
            capture_output=True,
            text=True,
            timeout=300,
        )

    first = upgrade()
    assert first.returncode == 0, first.stderr
    head = db.schema_revision(empty_database)
    assert head and f"schema: migrated an empty database -> {head}" in first.stderr
    assert "alembic" not in first.stderr and "Context impl" not in first.stderr
    again = upgrade()
    assert again.returncode == 0, again.stderr
    assert "migrated" not in again.stderr and "database is at the latest schema" in again.stderr
