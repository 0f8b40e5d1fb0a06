"""A failed draft can be dismissed: set aside by a person so it no longer waits on the team page.

The draft, its gates and every attempt are kept for the audit trail; `dismissed_at` and
`dismissed_by` say who set it aside and when (the first dismissal stands). Only a `failed` draft
can be dismissed, and the two columns are set together: the constraint holds both.

Revision ID: 0020
Revises: 0019
"""

import sqlalchemy as sa
from alembic import op

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("drafts", sa.Column("dismissed_at", sa.DateTime(timezone=True)))
    op.add_column("drafts", sa.Column("dismissed_by", sa.String()))
    op.create_check_constraint(
        "draft_dismissed",
        "drafts",
        "(dismissed_at is null) = (dismissed_by is null) "
        "and (dismissed_at is null or status = 'failed')",
    )


def downgrade() -> None:
    op.drop_constraint("draft_dismissed", "drafts")
    op.drop_column("drafts", "dismissed_by")
    op.drop_column("drafts", "dismissed_at")
