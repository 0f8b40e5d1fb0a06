"""HNSW index only over the texts that are searched by similarity (OKR titles, key results).

Most stored texts (check-ins, whole-OKR texts, objective fields, missions) are only ever read
back by content hash; keeping them in the HNSW graph cost about 1.2 ms of server CPU per stored
vector. Rows stored before this revision stay searchable.

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

HNSW = {
    "postgresql_using": "hnsw",
    "postgresql_with": {"m": 16, "ef_construction": 64},
    "postgresql_ops": {"embedding": "vector_cosine_ops"},
}


def upgrade() -> None:
    # Existing rows become searchable through the column default (no rewrite, no UPDATE that
    # would feed every row to the old graph); new rows default to false.
    op.add_column(
        "text_embeddings",
        sa.Column("searchable", sa.Boolean(), server_default=sa.true(), nullable=False),
    )
    op.alter_column("text_embeddings", "searchable", server_default=sa.false())
    op.drop_index("ix_text_embeddings_hnsw", table_name="text_embeddings", **HNSW)
    op.create_index(
        "ix_text_embeddings_hnsw",
        "text_embeddings",
        ["embedding"],
        postgresql_where=sa.text("searchable"),
        **HNSW,
    )


def downgrade() -> None:
    op.drop_index("ix_text_embeddings_hnsw", table_name="text_embeddings", **HNSW)
    op.drop_column("text_embeddings", "searchable")
    op.create_index("ix_text_embeddings_hnsw", "text_embeddings", ["embedding"], **HNSW)
