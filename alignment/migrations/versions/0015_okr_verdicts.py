"""Each OKR's stored comparison with its organization's median best score.

An OKR without an aligned or weak link is an `orphan` when its best score is far under the
organization's median, `needs_review` otherwise (alignment/verdicts.py). The median moves when
other OKRs are added, so the comparison is stored with the OKR's text and context hashes and
kept while both are unchanged, as the links' labels are (0011). OKRs scored before have no
row: readers compare them with today's median until the next scoring run stores one. The table
carries `org_id` and gets the tenant policy every such table has (0008).

The cached score reads (0012) now also show verdicts, which depend on these comparisons and on
people's link feedback: a rejection of a link already labelled "none" changes no scored link, so
both tables get the statement triggers that bump the organization's read version.

Revision ID: 0015
Revises: 0014
"""

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

WATCHED = ("okr_verdicts", "link_feedback")
TENANT = "current_setting('goldenthread.org_id', true)"
PLATFORM = "current_setting('goldenthread.platform', true) = 'on'"


def upgrade() -> None:
    op.create_table(
        "okr_verdicts",
        sa.Column(
            "org_id",
            sa.String(),
            sa.ForeignKey("organizations.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("okr_id", sa.String(), primary_key=True),
        sa.Column("far_below", sa.Boolean(), nullable=False),
        sa.Column("best_score", sa.Float(), nullable=False),
        sa.Column("reference", sa.Float(), nullable=False),
        sa.Column("okr_hash", sa.String(length=64), nullable=False),
        sa.Column("context_hash", sa.String(length=64), nullable=False),
        sa.Column(
            "decided_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["org_id", "okr_id"], ["okrs.org_id", "okrs.id"], ondelete="CASCADE"
        ),
    )
    op.execute("ALTER TABLE okr_verdicts ENABLE ROW LEVEL SECURITY")
    rule = f"(org_id = {TENANT} or (org_id is null and {PLATFORM}))"
    op.execute(f"CREATE POLICY tenant_isolation ON okr_verdicts USING {rule} WITH CHECK {rule}")
    for table in WATCHED:  # the function is 0012's
        for event, rows in (("INSERT", "NEW"), ("UPDATE", "NEW"), ("DELETE", "OLD")):
            op.execute(
                f"CREATE TRIGGER {table}_read_version_{event.lower()} AFTER {event} ON {table} "
                f"REFERENCING {rows} TABLE AS changed "
                "FOR EACH STATEMENT EXECUTE FUNCTION bump_read_versions()"
            )


def downgrade() -> None:
    for event in ("insert", "update", "delete"):
        op.execute(f"DROP TRIGGER link_feedback_read_version_{event} ON link_feedback")
    op.drop_table("okr_verdicts")
