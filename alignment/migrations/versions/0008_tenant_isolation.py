"""Tenant isolation in PostgreSQL: an application role and row-level security on every table.

The service connects as `goldenthread_app` (override with GOLDENTHREAD_APP_DB_USER): it owns no
table and is no superuser, so the policies below bind it. Each transaction names its tenant
with `set_config('goldenthread.org_id', ..., true)` (alignment/tenancy.py); with none set, it sees
no rows at all. Migrations and operator commands connect as the owner, which RLS does not bind.

Every table with an `org_id` column gets the policy, discovered at upgrade time, so the rule
is one statement, not a list to keep in step. A later migration that adds a tenant table adds
its own policy (tests/alignment/test_tenancy.py fails on a table without one).

Revision ID: 0008
Revises: 0007
"""

from alembic import op
from sqlalchemy import text

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

TENANT = "current_setting('goldenthread.org_id', true)"
PLATFORM = "current_setting('goldenthread.platform', true) = 'on'"
KEY_PREFIX = "current_setting('goldenthread.key_prefix', true)"


def _app_role() -> tuple[str, str | None]:
    attributes = op.get_context().config.attributes
    return attributes.get("app_role", "goldenthread_app"), attributes.get("app_password")


def _tenant_tables(bind) -> list[str]:
    return list(
        bind.scalars(
            text(
                "select table_name from information_schema.columns "
                "where table_schema = 'public' and column_name = 'org_id' order by table_name"
            )
        )
    )


def upgrade() -> None:
    bind = op.get_bind()
    role, password = _app_role()
    exists = bind.scalar(text("select 1 from pg_roles where rolname = :r"), {"r": role})
    if not exists:
        op.execute(f'CREATE ROLE "{role}" LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE')
    if password:
        quoted = bind.scalar(text("select quote_literal(:p)"), {"p": password})
        op.execute(f'ALTER ROLE "{role}" PASSWORD {quoted}')
    op.execute(f'GRANT USAGE ON SCHEMA public TO "{role}"')
    op.execute(f'GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO "{role}"')
    op.execute(f'REVOKE ALL ON alembic_version FROM "{role}"')
    op.execute(f'GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO "{role}"')
    op.execute(
        "ALTER DEFAULT PRIVILEGES IN SCHEMA public "
        f'GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO "{role}"'
    )
    op.execute(
        f'ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE, SELECT ON SEQUENCES TO "{role}"'
    )

    for table in _tenant_tables(bind):
        op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
        # Rows without an organization (platform keys, their audit entries) are the platform's.
        rule = f"(org_id = {TENANT} or (org_id is null and {PLATFORM}))"
        op.execute(f"CREATE POLICY tenant_isolation ON {table} USING {rule} WITH CHECK {rule}")
    op.execute("ALTER TABLE organizations ENABLE ROW LEVEL SECURITY")
    rule = f"(id = {TENANT} or {PLATFORM})"
    op.execute(f"CREATE POLICY tenant_isolation ON organizations USING {rule} WITH CHECK {rule}")
    # Authentication reads (and stamps) the presented key's row before any tenant is known.
    op.execute(f"CREATE POLICY key_lookup ON api_keys FOR SELECT USING (prefix = {KEY_PREFIX})")
    op.execute(
        f"CREATE POLICY key_stamp ON api_keys FOR UPDATE "
        f"USING (prefix = {KEY_PREFIX}) WITH CHECK (prefix = {KEY_PREFIX})"
    )


def downgrade() -> None:
    bind = op.get_bind()
    role, _ = _app_role()
    op.execute("DROP POLICY IF EXISTS key_stamp ON api_keys")
    op.execute("DROP POLICY IF EXISTS key_lookup ON api_keys")
    for table in [*_tenant_tables(bind), "organizations"]:
        op.execute(f"DROP POLICY IF EXISTS tenant_isolation ON {table}")
        op.execute(f"ALTER TABLE {table} DISABLE ROW LEVEL SECURITY")
    op.execute(
        "ALTER DEFAULT PRIVILEGES IN SCHEMA public "
        f'REVOKE SELECT, INSERT, UPDATE, DELETE ON TABLES FROM "{role}"'
    )
    op.execute(
        f'ALTER DEFAULT PRIVILEGES IN SCHEMA public REVOKE USAGE, SELECT ON SEQUENCES FROM "{role}"'
    )
    op.execute(f'REVOKE ALL ON ALL TABLES IN SCHEMA public FROM "{role}"')
    op.execute(f'REVOKE ALL ON ALL SEQUENCES IN SCHEMA public FROM "{role}"')
    op.execute(f'REVOKE USAGE ON SCHEMA public FROM "{role}"')
    # The role itself stays: other databases on this server may use it.
