"""LLM adjudication of close calls: a verdict on each scored link; tokens spent outside drafts.

Downgrading drops `llm_usage`, and with it this month's record of adjudication spending.

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "scored_links",
        sa.Column("adjudication", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    )
    op.create_table(
        "llm_usage",
        sa.Column("org_id", sa.String(), nullable=False),
        sa.Column("id", sa.Integer(), sa.Identity(always=False), nullable=False),
        sa.Column("purpose", sa.String(), nullable=False),
        sa.Column("model", sa.String(), nullable=False),
        sa.Column("input_tokens", sa.Integer(), nullable=False),
        sa.Column("output_tokens", sa.Integer(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(["org_id"], ["organizations.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("org_id", "id"),
    )
    op.create_index("ix_llm_usage_org_created", "llm_usage", ["org_id", "created_at"])


def downgrade() -> None:
    op.drop_index("ix_llm_usage_org_created", table_name="llm_usage")
    op.drop_table("llm_usage")
    op.drop_column("scored_links", "adjudication")
