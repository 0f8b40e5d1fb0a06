"""Each organization's last completed scoring run, so a queued `score` job it covered is skipped.

A report that scores first (report.facts.needs_scoring) does the work a queued `score` job was
queued for; the job then found nothing to tell it so and scored everything again. The run now
stores, in its own transaction, the `score` jobs it saw waiting right after taking the lock and
before it read any record (job id -> `requests`), when it read them (`started_at`:
`clock_timestamp()` then, not `now()`, its transaction's start, which for a report's run
precedes the lock and may precede a covered job's `created_at`), and its summary; a job it saw,
and no request joined since, is skipped (alignment/scoring/runs.py). Organizations scored
before have no row: their waiting jobs run in full. The table carries `org_id` and gets the
tenant policy every such table has (0008).

Revision ID: 0017
Revises: 0016
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None

TENANT = "current_setting('goldenthread.org_id', true)"
PLATFORM = "current_setting('goldenthread.platform', true) = 'on'"


def upgrade() -> None:
    op.create_table(
        "last_scoring_runs",
        sa.Column(
            "org_id",
            sa.String(),
            sa.ForeignKey("organizations.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column(
            "started_at",
            sa.DateTime(timezone=True),
            server_default=sa.func.clock_timestamp(),
            nullable=False,
        ),
        sa.Column(
            "waiting_jobs",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'"),
            nullable=False,
        ),
        sa.Column("summary", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    )
    op.execute("ALTER TABLE last_scoring_runs ENABLE ROW LEVEL SECURITY")
    rule = f"(org_id = {TENANT} or (org_id is null and {PLATFORM}))"
    op.execute(
        f"CREATE POLICY tenant_isolation ON last_scoring_runs USING {rule} WITH CHECK {rule}"
    )


def downgrade() -> None:
    op.drop_table("last_scoring_runs")
