"""Signing out of the web pages ends every page session of the key, on the server.

The pages' cookie holds a signed session ticket (the key's prefix, when it was issued, and an
HMAC over both and the key's stored hash), not the key itself (service/auth.py). Signing out
stamps `signed_out_at` on the key: tickets issued before it no longer sign anyone in, wherever
they were copied to. The key itself keeps working for the API.

Revision ID: 0019
Revises: 0018
"""

import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("api_keys", sa.Column("signed_out_at", sa.DateTime(timezone=True)))


def downgrade() -> None:
    op.drop_column("api_keys", "signed_out_at")
