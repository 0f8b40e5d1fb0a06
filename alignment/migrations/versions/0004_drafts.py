"""Drafts (suggested OKRs, review summaries) with provenance, and the decisions taken on them.

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    jsonb = postgresql.JSONB(astext_type=sa.Text())
    op.create_table(
        "drafts",
        sa.Column("org_id", sa.String(), nullable=False),
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("request", jsonb, nullable=False),
        sa.Column("team_id", sa.String(), nullable=True),
        sa.Column("objective_id", sa.String(), nullable=True),
        sa.Column("cycle_id", sa.String(), nullable=True),
        sa.Column("payload", jsonb, nullable=True),
        sa.Column("schema_version", sa.String(), nullable=False),
        sa.Column("prompt_id", sa.String(), nullable=False),
        sa.Column("prompt_version", sa.Integer(), nullable=False),
        sa.Column("prompt_hash", sa.String(length=64), nullable=False),
        sa.Column("drafter", sa.String(), nullable=False),
        sa.Column("model", sa.String(), nullable=False),
        sa.Column("input_tokens", sa.Integer(), nullable=False),
        sa.Column("output_tokens", sa.Integer(), nullable=False),
        sa.Column("total_tokens", sa.Integer(), nullable=False),
        sa.Column("latency_ms", sa.Integer(), nullable=False),
        sa.Column("gates", jsonb, nullable=False),
        sa.Column("attempts", jsonb, nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint("kind in ('suggestion','summary')", name="draft_kind"),
        sa.CheckConstraint(
            "status in ('pending','approved','edited_and_approved','rejected','failed')",
            name="draft_status",
        ),
        sa.ForeignKeyConstraint(["org_id"], ["organizations.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("org_id", "id"),
    )
    op.create_index("ix_drafts_status", "drafts", ["org_id", "status", "created_at"])
    op.create_index("ix_drafts_created", "drafts", ["org_id", "created_at"])
    op.create_table(
        "draft_decisions",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("org_id", sa.String(), nullable=False),
        sa.Column("draft_id", sa.String(), nullable=False),
        sa.Column("decision", sa.String(), nullable=False),
        sa.Column("decided_by", sa.String(), nullable=False),
        sa.Column(
            "decided_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("ai_payload", jsonb, nullable=True),
        sa.Column("edited_payload", jsonb, nullable=True),
        sa.Column("created_records", jsonb, nullable=False),
        sa.CheckConstraint(
            "decision in ('approved','edited_and_approved','rejected')", name="draft_decision"
        ),
        sa.ForeignKeyConstraint(
            ["org_id", "draft_id"], ["drafts.org_id", "drafts.id"], ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(["org_id"], ["organizations.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_draft_decisions_draft", "draft_decisions", ["org_id", "draft_id", "decided_at"]
    )


def downgrade() -> None:
    op.drop_index("ix_draft_decisions_draft", table_name="draft_decisions")
    op.drop_table("draft_decisions")
    op.drop_index("ix_drafts_created", table_name="drafts")
    op.drop_index("ix_drafts_status", table_name="drafts")
    op.drop_table("drafts")
