"""Bundles posted with `?background=true`, kept until their import job has imported them.

Importing a 10,000-OKR bundle is over a minute of work; in a request it held an API process's
core at request priority, and reads waited behind it (docs/scaling.md). The body is stored as
posted, and the import job removes it in the import's own transaction. The table carries
`org_id` and gets the tenant policy every such table has (0008).

Revision ID: 0014
Revises: 0013
"""

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

TENANT = "current_setting('goldenthread.org_id', true)"
PLATFORM = "current_setting('goldenthread.platform', true) = 'on'"


def upgrade() -> None:
    op.create_table(
        "bundle_uploads",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), primary_key=True),
        sa.Column(
            "org_id",
            sa.String(),
            sa.ForeignKey("organizations.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("body", sa.LargeBinary(), nullable=False),
        sa.Column("prune", sa.Boolean(), nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
    )
    op.execute("ALTER TABLE bundle_uploads ENABLE ROW LEVEL SECURITY")
    rule = f"(org_id = {TENANT} or (org_id is null and {PLATFORM}))"
    op.execute(f"CREATE POLICY tenant_isolation ON bundle_uploads USING {rule} WITH CHECK {rule}")


def downgrade() -> None:
    op.drop_table("bundle_uploads")
