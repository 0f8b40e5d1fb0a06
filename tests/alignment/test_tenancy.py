"""Row-level security, proven at the database as the application role.

These tests commit real rows (as the owner) in organizations of their own and delete them at
the end: the rolled-back test session cannot show what another connection of the pool sees.
"""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from alignment import db
from alignment.tenancy import set_tenant
from tests.conftest import auth


def count(session: Session, table: str, org: str) -> int:
    return session.scalar(text(f"select count(*) from {table} where org_id = :o"), {"o": org})


def test_without_a_tenant_the_application_role_sees_nothing(two_orgs, app_engine) -> None:
    a, b, _ = two_orgs
    with Session(app_engine) as s:
        assert s.scalar(text("select count(*) from organizations")) == 0
        assert count(s, "okrs", a) == 0 and count(s, "okrs", b) == 0
        assert s.scalar(text("select count(*) from api_keys")) == 0


def test_a_tenant_sees_and_writes_only_its_own_rows_even_on_a_reused_connection(
    two_orgs, app_engine
) -> None:
    a, b, _ = two_orgs
    with Session(app_engine) as s:
        set_tenant(s, a)
        assert count(s, "okrs", a) == 2
        assert count(s, "okrs", b) == 0
        assert s.scalars(text("select id from organizations")).all() == [a]
        with pytest.raises(DBAPIError, match="row-level security"):
            s.execute(
                text(
                    "insert into teams (org_id, id, name, content_hash) values (:o, 'T', 'x', 'h')"
                ),
                {"o": b},
            )
        s.rollback()
        set_tenant(s, a)
        # Another organization's rows cannot be changed or removed either: they are not there.
        assert s.execute(text("delete from okrs where org_id = :o"), {"o": b}).rowcount == 0
        s.commit()
    with Session(app_engine) as s:  # the same pooled connection, a new transaction
        assert s.scalar(text("select current_setting('goldenthread.org_id', true)")) in (None, "")
        assert count(s, "okrs", a) == 0
        set_tenant(s, b)
        assert count(s, "okrs", b) == 2
        s.commit()
        # The session re-applies its tenant to every transaction it begins.
        assert count(s, "okrs", b) == 2


def test_every_tenant_table_has_row_level_security_and_a_policy(engine: Engine) -> None:
    with engine.connect() as conn:
        tables = conn.scalars(
            text(
                "select c.table_name from information_schema.columns c "
                "where c.table_schema = 'public' and c.column_name = 'org_id'"
            )
        ).all()
        unprotected = conn.scalars(
            text(
                "select relname from pg_class where relname = any(:t) and not relrowsecurity "
                "or relname = any(:t) and not exists "
                "(select 1 from pg_policy p where p.polrelid = pg_class.oid)"
            ),
            {"t": [*tables, "organizations"]},
        ).all()
    assert len(tables) >= 18
    assert unprotected == []


def test_the_application_role_is_neither_superuser_nor_owner(engine: Engine) -> None:
    role = db.get_settings().database.app_db_user
    with engine.connect() as conn:
        flags = conn.execute(
            text("select rolsuper, rolbypassrls from pg_roles where rolname = :r"), {"r": role}
        ).one()
        owned = conn.scalar(
            text("select count(*) from pg_tables where schemaname = 'public' and tableowner = :r"),
            {"r": role},
        )
    assert tuple(flags) == (False, False)
    assert owned == 0


def test_the_service_itself_runs_as_the_application_role(two_orgs, embedder) -> None:
    from service import deps
    from service.app import create_app

    a, b, raw = two_orgs
    app = create_app()
    app.dependency_overrides[deps.embedder] = lambda: embedder
    with TestClient(app) as client:
        listed = client.get("/orgs", headers=auth(raw[a])).json()
        assert [o["id"] for o in listed["items"]] == [a]
        assert client.get(f"/orgs/{b}/okrs", headers=auth(raw[a])).status_code == 404
        okrs = client.get(f"/orgs/{a}/okrs", headers=auth(raw[a])).json()
        assert {o["id"] for o in okrs["items"]} == {"O-1", "O-2"}
        # The key is now one this process checked: authorized with no statement, the tenant
        # set at the route's first one. Still only the key's own organization.
        again = client.get("/orgs", headers=auth(raw[a])).json()
        assert [o["id"] for o in again["items"]] == [a]
        assert client.get(f"/orgs/{a}/okrs", headers=auth(raw[b])).status_code == 404
    with db.get_app_engine().connect() as conn:
        assert conn.scalar(text("select current_user")) == db.get_settings().database.app_db_user


def test_write_errors_name_the_field_and_record_under_row_level_security(
    two_orgs, embedder
) -> None:
    """PostgreSQL leaves a foreign key's values out of its error for a role under RLS: the
    service still says which field names which missing record, and what holds a record."""
    from service import deps
    from service.app import create_app

    a, _, raw = two_orgs
    app = create_app()
    app.dependency_overrides[deps.embedder] = lambda: embedder
    key = auth(raw[a])
    with TestClient(app) as client:
        body = {"id": "O-9", "team": "T-404", "cycle": "2026-Q3", "title": "Unknown team"}
        body["declared_links"] = ["SO-1", "SO-404"]
        made = client.post(f"/orgs/{a}/okrs", json=body, headers=key)
        assert made.status_code == 422, made.text
        missing = "no strategic objective 'SO-404' in this organization"
        assert made.json()["error"]["details"] == [
            {"path": "$.team", "message": "no team 'T-404' in this organization"},
            {"path": "$.declared_links[1]", "message": missing},
        ]
        moved = client.patch(f"/orgs/{a}/check-ins/C-1", json={"okr": "O-404"}, headers=key)
        assert moved.json()["error"]["details"][0]["path"] == "$.okr", moved.text
        held = client.delete(f"/orgs/{a}/teams/T-1", headers=key)
        assert held.status_code == 409 and "still used by" in held.json()["error"]["message"]
        dates = client.patch(f"/orgs/{a}/cycles/2026-Q3", json={"end": "2020-01-01"}, headers=key)
        assert dates.status_code == 422
        assert dates.json()["error"]["details"][0]["path"] == "$.end"
        assert "ends (2020-01-01) before it starts" in dates.json()["error"]["message"]
