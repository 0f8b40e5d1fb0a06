"""When an OKR was added as new work: set by the routes that create one (an approved suggestion,
`POST /orgs/{org}/okrs`), never by a bundle or CSV import, which mirrors plans that may be older
than the import.

The report expects an OKR without check-ins to have one from its cycle's start, or from this
day when it came later: an OKR approved in week 7 is not 7 weeks late. OKRs stored before this
revision have none and are held to their cycle's start, as before.

Revision ID: 0022
Revises: 0021
"""

import sqlalchemy as sa
from alembic import op

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("okrs", sa.Column("added_at", sa.DateTime(timezone=True)))


def downgrade() -> None:
    op.drop_column("okrs", "added_at")
