"""Alignment results: text embeddings (HNSW, cosine), scored links, drift, human feedback.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op
from pgvector.sqlalchemy import Vector
from sqlalchemy.dialects import postgresql

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "text_embeddings",
        sa.Column("org_id", sa.String(), nullable=False),
        sa.Column("model", sa.String(), nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("embedding", Vector(384), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(["org_id"], ["organizations.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("org_id", "model", "content_hash"),
    )
    op.create_index(
        "ix_text_embeddings_hnsw",
        "text_embeddings",
        ["embedding"],
        unique=False,
        postgresql_using="hnsw",
        postgresql_with={"m": 16, "ef_construction": 64},
        postgresql_ops={"embedding": "vector_cosine_ops"},
    )
    op.create_table(
        "link_feedback",
        sa.Column("org_id", sa.String(), nullable=False),
        sa.Column("okr_id", sa.String(), nullable=False),
        sa.Column("objective_id", sa.String(), nullable=False),
        sa.Column("verdict", sa.String(), nullable=False),
        sa.Column("okr_hash", sa.String(length=64), nullable=False),
        sa.Column("decided_by", sa.String(), nullable=False),
        sa.Column(
            "decided_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("note", sa.Text(), nullable=True),
        sa.CheckConstraint("verdict in ('confirmed','rejected')", name="link_feedback_verdict"),
        sa.ForeignKeyConstraint(
            ["org_id", "objective_id"],
            ["strategic_objectives.org_id", "strategic_objectives.id"],
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["org_id", "okr_id"], ["okrs.org_id", "okrs.id"], ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(["org_id"], ["organizations.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("org_id", "okr_id", "objective_id"),
    )
    op.create_table(
        "scored_links",
        sa.Column("org_id", sa.String(), nullable=False),
        sa.Column("okr_id", sa.String(), nullable=False),
        sa.Column("objective_id", sa.String(), nullable=False),
        sa.Column("rank", sa.Integer(), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("label", sa.String(), nullable=False),
        sa.Column("evidence", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("okr_hash", sa.String(length=64), nullable=False),
        sa.Column("model", sa.String(), nullable=False),
        sa.Column(
            "scored_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        sa.CheckConstraint("label in ('aligned','weak','none')", name="scored_link_label"),
        sa.ForeignKeyConstraint(
            ["org_id", "objective_id"],
            ["strategic_objectives.org_id", "strategic_objectives.id"],
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["org_id", "okr_id"], ["okrs.org_id", "okrs.id"], ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(["org_id"], ["organizations.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("org_id", "okr_id", "objective_id"),
    )
    op.create_index(
        "ix_scored_links_objective",
        "scored_links",
        ["org_id", "objective_id", "score"],
        unique=False,
    )
    op.create_table(
        "check_in_drift",
        sa.Column("org_id", sa.String(), nullable=False),
        sa.Column("check_in_id", sa.String(), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("drifting", sa.Boolean(), nullable=False),
        sa.Column("evidence", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("model", sa.String(), nullable=False),
        sa.Column(
            "scored_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["org_id", "check_in_id"], ["check_ins.org_id", "check_ins.id"], ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(["org_id"], ["organizations.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("org_id", "check_in_id"),
    )


def downgrade() -> None:
    op.drop_table("check_in_drift")
    op.drop_index("ix_scored_links_objective", table_name="scored_links")
    op.drop_table("scored_links")
    op.drop_table("link_feedback")
    op.drop_index(
        "ix_text_embeddings_hnsw",
        table_name="text_embeddings",
        postgresql_using="hnsw",
        postgresql_with={"m": 16, "ef_construction": 64},
        postgresql_ops={"embedding": "vector_cosine_ops"},
    )
    op.drop_table("text_embeddings")
