"""Three verdicts for check-ins, and people's decisions on the ones the engine is unsure about.

`check_in_drift.verdict` is `drifting` (a confident drift finding), `needs_review` (between the
calibration's review and flag levels: a person decides) or `on_topic`; `drifting` stays, held
equal to `verdict = 'drifting'` by the constraint, for the readers that filter on it. Rows
scored before get the verdict their flag implies until the next scoring run.

`check_in_feedback` holds a person's verdict on a check-in (`drifting` or `on_topic`) with the
hash of what they judged (the text and the OKR and key result it is filed under); scoring keeps
it while that hash is unchanged. It carries `org_id` and gets the tenant policy every such table
has (0008).

Revision ID: 0016
Revises: 0015
"""

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

TENANT = "current_setting('goldenthread.org_id', true)"
PLATFORM = "current_setting('goldenthread.platform', true) = 'on'"


def upgrade() -> None:
    op.add_column(
        "check_in_drift",
        sa.Column("verdict", sa.String(), server_default="on_topic", nullable=False),
    )
    op.execute("UPDATE check_in_drift SET verdict = 'drifting' WHERE drifting")
    op.create_check_constraint(
        "check_in_drift_verdict",
        "check_in_drift",
        "verdict in ('drifting','needs_review','on_topic') and drifting = (verdict = 'drifting')",
    )
    op.create_table(
        "check_in_feedback",
        sa.Column(
            "org_id",
            sa.String(),
            sa.ForeignKey("organizations.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("check_in_id", sa.String(), primary_key=True),
        sa.Column("verdict", sa.String(), nullable=False),
        sa.Column("text_hash", sa.String(length=64), nullable=False),
        sa.Column("decided_by", sa.String(), nullable=False),
        sa.Column(
            "decided_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column("note", sa.Text()),
        sa.ForeignKeyConstraint(
            ["org_id", "check_in_id"], ["check_ins.org_id", "check_ins.id"], ondelete="CASCADE"
        ),
        sa.CheckConstraint("verdict in ('drifting','on_topic')", name="check_in_feedback_verdict"),
    )
    op.execute("ALTER TABLE check_in_feedback ENABLE ROW LEVEL SECURITY")
    rule = f"(org_id = {TENANT} or (org_id is null and {PLATFORM}))"
    op.execute(
        f"CREATE POLICY tenant_isolation ON check_in_feedback USING {rule} WITH CHECK {rule}"
    )


def downgrade() -> None:
    op.drop_table("check_in_feedback")
    op.drop_constraint("check_in_drift_verdict", "check_in_drift")
    op.drop_column("check_in_drift", "verdict")
