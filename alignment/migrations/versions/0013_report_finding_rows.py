"""A report run's findings as rows, one per finding, instead of one JSON array in the run.

Reading one page of a 10,000-OKR organization's report loaded its whole array (tens of
thousands of findings, about 5 s); rows keyed by run and position make a page one range of
the primary key (alignment/report/finding_rows.py). Existing runs are moved over in order, each
finding unchanged, and the column is dropped; downgrade puts the arrays back.

The table carries `org_id` and gets the tenant policy every such table has (0008).

Revision ID: 0013
Revises: 0012
"""

import json

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

TENANT = "current_setting('goldenthread.org_id', true)"
PLATFORM = "current_setting('goldenthread.platform', true) = 'on'"


def _search(f: dict) -> str:
    # A copy of page.searchable_text as it is at this revision: migrations do not import the
    # application, whose code moves on.
    parts = [str(f.get(k, "")) for k in ("key", "kind", "reason")]
    parts += [f"{r['type']} {r['id']} {r['label']}" for r in f.get("records", [])]
    parts.append(json.dumps(f.get("evidence", {}), ensure_ascii=False))
    return " ".join(parts).lower()


def upgrade() -> None:
    table = op.create_table(
        "report_findings",
        sa.Column("org_id", sa.String(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("category", sa.String(), nullable=False),
        sa.Column("severity", sa.String(), nullable=False),
        sa.Column("teams", postgresql.ARRAY(sa.String()), nullable=False),
        sa.Column("search", sa.Text(), nullable=False),
        sa.Column("body", postgresql.JSONB(), nullable=False),
        sa.PrimaryKeyConstraint("org_id", "run_id", "position"),
        sa.ForeignKeyConstraint(
            ["org_id", "run_id"],
            ["report_runs.org_id", "report_runs.id"],
            ondelete="CASCADE",
            name="fk_report_findings_run",
        ),
    )
    bind = op.get_bind()
    runs = bind.execute(sa.text("select org_id, id, findings from report_runs order by id"))
    for org_id, run_id, findings in runs.all():
        rows = [
            {
                "org_id": org_id,
                "run_id": run_id,
                "position": i,
                "kind": str(f.get("kind", "")),
                "category": str(f.get("category", "")),
                "severity": str(f.get("severity", "")),
                "teams": [str(t) for t in (f.get("scope") or {}).get("teams", [])],
                "search": _search(f),
                "body": f,
            }
            for i, f in enumerate(findings)
        ]
        if rows:
            op.bulk_insert(table, rows)
    op.drop_column("report_runs", "findings")
    op.execute("ALTER TABLE report_findings ENABLE ROW LEVEL SECURITY")
    rule = f"(org_id = {TENANT} or (org_id is null and {PLATFORM}))"
    op.execute(f"CREATE POLICY tenant_isolation ON report_findings USING {rule} WITH CHECK {rule}")


def downgrade() -> None:
    op.add_column(
        "report_runs",
        sa.Column("findings", postgresql.JSONB(), nullable=False, server_default="[]"),
    )
    op.execute(
        """
        update report_runs r set findings = f.findings
        from (select org_id, run_id, jsonb_agg(body order by position) as findings
              from report_findings group by org_id, run_id) f
        where f.org_id = r.org_id and f.run_id = r.id
        """
    )
    op.alter_column("report_runs", "findings", server_default=None)
    op.drop_table("report_findings")
