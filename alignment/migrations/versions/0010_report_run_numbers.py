"""Report runs numbered per organization (1, 2, ...), with a digest of what each run says.

`number` is how people name a run (URLs, CLI, pages); the global `id` stays the internal key.
Existing runs are numbered in the order they were built. `content_hash` lets a build that says
exactly what the newest run with the same filters says return that run instead of storing a copy,
and `confirmed_at` records when a build last produced that content (the page compares record
edits with it, so an edit that changes nothing does not ask for a rebuild on every view). Older
runs have no digest: the first build after this migration stores a new run once.

Revision ID: 0010
Revises: 0009
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("report_runs", sa.Column("number", sa.Integer(), nullable=True))
    op.add_column("report_runs", sa.Column("content_hash", sa.String(length=64), nullable=True))
    op.add_column(
        "report_runs",
        sa.Column(
            "confirmed_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
    )
    op.execute(
        """
        update report_runs r set number = n.number, confirmed_at = r.created_at
        from (select org_id, id,
                     row_number() over (partition by org_id order by id) as number
              from report_runs) n
        where n.org_id = r.org_id and n.id = r.id
        """
    )
    op.alter_column("report_runs", "number", nullable=False)
    op.create_unique_constraint("uq_report_runs_number", "report_runs", ["org_id", "number"])


def downgrade() -> None:
    op.drop_constraint("uq_report_runs_number", "report_runs", type_="unique")
    op.drop_column("report_runs", "confirmed_at")
    op.drop_column("report_runs", "content_hash")
    op.drop_column("report_runs", "number")
