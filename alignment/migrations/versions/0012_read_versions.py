"""A version per organization of what the score reads show, bumped by the database itself.

The API keeps rendered score reads (orphans, coverage, one OKR's links) per process and serves
them again while the organization's version is unchanged (service/rendered.py). Statement
triggers bump it whenever scored links, OKRs or strategic objectives change, however they
change (a scoring run, an import, a cascade from a deleted OKR), so a cached read can never
outlive what it shows. One statement bumps once, whatever its row count: a scoring run that
stores 145,000 links costs one upsert.

No foreign key to organizations: deleting an organization deletes its links, whose trigger
would otherwise insert a row for the organization being deleted. The function runs as its
owner (SECURITY DEFINER) so a platform admin's statement on another organization's rows
still bumps that organization's version under row-level security.

Revision ID: 0012
Revises: 0011
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

WATCHED = ("scored_links", "okrs", "strategic_objectives")
TENANT = "current_setting('goldenthread.org_id', true)"
PLATFORM = "current_setting('goldenthread.platform', true) = 'on'"


def upgrade() -> None:
    op.create_table(
        "read_versions",
        sa.Column("org_id", sa.String(), primary_key=True),
        sa.Column("version", sa.BigInteger(), nullable=False, server_default="0"),
    )
    # Versions come from a sequence, not a counter: a rolled-back transaction's number is never
    # handed out again, so a cache key seen inside it cannot name other content later.
    op.execute("CREATE SEQUENCE read_version_numbers")
    op.execute("ALTER TABLE read_versions ENABLE ROW LEVEL SECURITY")
    rule = f"(org_id = {TENANT} or (org_id is null and {PLATFORM}))"
    op.execute(f"CREATE POLICY tenant_isolation ON read_versions USING {rule} WITH CHECK {rule}")
    op.execute(
        """
        CREATE FUNCTION bump_read_versions() RETURNS trigger
        LANGUAGE plpgsql SECURITY DEFINER SET search_path = public AS $$
        BEGIN
            INSERT INTO read_versions (org_id, version)
            SELECT org_id, nextval('read_version_numbers')
            FROM (SELECT DISTINCT org_id FROM changed) AS organizations
            ON CONFLICT (org_id) DO UPDATE SET version = excluded.version;
            RETURN NULL;
        END $$
        """
    )
    for table in WATCHED:
        for event, rows in (("INSERT", "NEW"), ("UPDATE", "NEW"), ("DELETE", "OLD")):
            op.execute(
                f"CREATE TRIGGER {table}_read_version_{event.lower()} AFTER {event} ON {table} "
                f"REFERENCING {rows} TABLE AS changed "
                "FOR EACH STATEMENT EXECUTE FUNCTION bump_read_versions()"
            )


def downgrade() -> None:
    for table in WATCHED:
        for event in ("insert", "update", "delete"):
            op.execute(f"DROP TRIGGER {table}_read_version_{event} ON {table}")
    op.execute("DROP FUNCTION bump_read_versions()")
    op.drop_table("read_versions")
    op.execute("DROP SEQUENCE read_version_numbers")
