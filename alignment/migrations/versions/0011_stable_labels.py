"""What a stored link's label was decided against: the objectives, calibration and model.

A rescoring keeps the stored label of an OKR whose own text and whose candidates (this
context) did not change, so adding or editing one OKR cannot flip another's verdict through
organization-wide statistics (alignment/scoring/stability.py). Links stored before have no
context: the first rescoring decides them afresh.

Revision ID: 0011
Revises: 0010
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("scored_links", sa.Column("context_hash", sa.String(length=64), nullable=True))


def downgrade() -> None:
    op.drop_column("scored_links", "context_hash")
