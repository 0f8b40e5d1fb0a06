"""Webhook subscriptions remember the address they were made through: `links_base`.

An event's links (`okr.misaligned`'s, `report.completed`'s) were paths, `/orgs/acme/...`, which
a receiving tool has no host to resolve. Events are built in background jobs, where there is no
request; the address a subscriber reached the service at when subscribing is the one it can
reach again, so it is kept with the subscription and each payload's `url` starts with it
(GOLDENTHREAD_PUBLIC_URL, when set, comes first; alignment/webhooks/links.py). A subscription
made before this migration has none: its `url` stays the path until that setting is set.

Revision ID: 0026
Revises: 0025
"""

import sqlalchemy as sa
from alembic import op

revision = "0026"
down_revision = "0025"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("webhook_subscriptions", sa.Column("links_base", sa.Text()))


def downgrade() -> None:
    op.drop_column("webhook_subscriptions", "links_base")
