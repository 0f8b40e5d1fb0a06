"""Idempotency rows expire, and none keeps a secret.

Stored answers of `Idempotency-Key` POSTs are kept 24 hours (service/idempotency.py): each
claim removes this key's expired row and a batch of others, found by this index on
`created_at`. Answers stored before kept a new API key's full text or a webhook's signing secret
in `response_body`; they are removed here (a retry of one of them runs again).

Revision ID: 0018
Revises: 0017
"""

from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_idempotency_keys_created_at", "idempotency_keys", ["created_at"])
    # FastAPI's JSON has no spaces: a key's answer holds "key":"gt_...,
    # a webhook's "secret":"whsec_...
    op.execute(
        "DELETE FROM idempotency_keys WHERE response_body IS NOT NULL AND ("
        " position(convert_to('\"key\":\"gt_', 'UTF8') in response_body) > 0"
        " OR position(convert_to('\"secret\":\"whsec_', 'UTF8') in response_body) > 0)"
    )


def downgrade() -> None:
    op.drop_index("ix_idempotency_keys_created_at", table_name="idempotency_keys")
