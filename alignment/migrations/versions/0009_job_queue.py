"""Background work: procrastinate's queue, the jobs people see, webhook subscriptions.

Procrastinate's own schema is applied from the copy in alignment/migrations/sql/ (the version
pinned in pyproject.toml), so this revision means the same thing whatever is installed later.
The three tables of ours carry `org_id` and get the tenant policy 0008 gives every such table.

Revision ID: 0009
Revises: 0008
"""

from pathlib import Path

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

PROCRASTINATE_SQL = Path(__file__).parent.parent / "sql" / "procrastinate-3.10.0.sql"
TENANT = "current_setting('goldenthread.org_id', true)"
OURS = ("jobs", "webhook_subscriptions", "webhook_deliveries")


def _now() -> sa.TextClause:
    return sa.text("now()")


def _org() -> sa.Column:
    return sa.Column(
        "org_id",
        sa.String(),
        sa.ForeignKey("organizations.id", ondelete="CASCADE"),
        nullable=False,
    )


def upgrade() -> None:
    # psycopg runs a parameterless script as is: no bind-parameter parsing of its `$$` bodies.
    op.get_bind().connection.driver_connection.execute(PROCRASTINATE_SQL.read_text())
    op.create_table(
        "jobs",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), primary_key=True),
        _org(),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("status", sa.String(), server_default="queued", nullable=False),
        sa.Column(
            "params",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'"),
            nullable=False,
        ),
        sa.Column("dedupe_key", sa.String(), nullable=True),
        sa.Column("requested_by", sa.Text(), nullable=False),
        sa.Column("requests", sa.Integer(), server_default="1", nullable=False),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("progress_done", sa.Integer(), nullable=True),
        sa.Column("progress_total", sa.Integer(), nullable=True),
        sa.Column("progress_label", sa.Text(), nullable=True),
        sa.Column("result", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("queue_job_id", sa.BigInteger(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=_now(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "status in ('queued','running','retrying','succeeded','failed')", name="job_status"
        ),
    )
    op.create_index("ix_jobs_org_created", "jobs", ["org_id", "created_at"])
    op.create_index(
        "uq_jobs_queued_dedupe",
        "jobs",
        ["org_id", "dedupe_key"],
        unique=True,
        postgresql_where=sa.text("status = 'queued' and dedupe_key is not null"),
    )
    op.create_table(
        "webhook_subscriptions",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), primary_key=True),
        _org(),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("events", postgresql.ARRAY(sa.String()), nullable=False),
        sa.Column("secret", sa.Text(), nullable=False),
        sa.Column("active", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column("created_by", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=_now(), nullable=False),
    )
    op.create_index("ix_webhook_subscriptions_org", "webhook_subscriptions", ["org_id"])
    op.create_table(
        "webhook_deliveries",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), primary_key=True),
        _org(),
        sa.Column(
            "subscription_id",
            sa.BigInteger(),
            sa.ForeignKey("webhook_subscriptions.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("event", sa.String(), nullable=False),
        sa.Column("payload", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("status", sa.String(), server_default="pending", nullable=False),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("last_status_code", sa.Integer(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=_now(), nullable=False),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("status in ('pending','delivered','failed')", name="delivery_status"),
    )
    op.create_index(
        "ix_webhook_deliveries_subscription",
        "webhook_deliveries",
        ["subscription_id", "created_at"],
    )
    for table in OURS:
        op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
        rule = f"(org_id = {TENANT})"
        op.execute(f"CREATE POLICY tenant_isolation ON {table} USING {rule} WITH CHECK {rule}")


def downgrade() -> None:
    for table in reversed(OURS):
        op.drop_table(table)
    bind = op.get_bind()
    functions = list(
        bind.execute(
            sa.text(
                "select p.oid::regprocedure::text from pg_proc p join pg_namespace n "
                "on n.oid = p.pronamespace where n.nspname = 'public' "
                "and p.proname like 'procrastinate%'"
            )
        ).scalars()
    )
    for table in ("events", "periodic_defers", "jobs", "workers"):
        op.execute(f"DROP TABLE IF EXISTS procrastinate_{table} CASCADE")
    for signature in functions:
        op.execute(f"DROP FUNCTION IF EXISTS {signature} CASCADE")
    for kind in ("job_to_defer_v1", "job_event_type", "job_status"):
        op.execute(f"DROP TYPE IF EXISTS procrastinate_{kind} CASCADE")
