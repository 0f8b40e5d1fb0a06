"""Jobs can be cancelled: a `cancelled` status, who asked for it and when.

Until now a job ended `succeeded` or `failed`, and only deleting its organization removed one:
a report asked with the wrong filters, or a drafting job an LLM outage keeps retrying, held its
requester's place in the queue (and its cap of waiting drafts) until it ran out. A waiting job
is cancelled at once; a running one is asked to stop (`cancel_requested_*`), and ends
`cancelled` when it next looks, its work rolled back (alignment/jobs/cancel.py).

The tenant policy of 0008 covers the new columns (it is per row), the application role's
grants are per table, and the queue entries' policy (0024) asks `jobs` by id, so a tenant
cancels its own jobs' entries and no one else's. The partial unique index of waiting twins
(`uq_jobs_queued_dedupe`) covers `queued` only: a cancelled job is no longer one a new equal
request joins.

Downgrading turns cancelled jobs into failed ones that say who cancelled them: the older
schema has no other status for work that did not happen.

Revision ID: 0025
Revises: 0024
"""

import sqlalchemy as sa
from alembic import op

revision = "0025"
down_revision = "0024"
branch_labels = None
depends_on = None

STATUSES = "('queued','running','retrying','succeeded','failed','cancelled')"
OLD_STATUSES = "('queued','running','retrying','succeeded','failed')"
# A cancelled job always says who cancelled it and when: the page and the API show both.
CANCELLED_SAYS_WHO = (
    "status <> 'cancelled' or (cancelled_by is not null and cancelled_at is not null)"
)


def upgrade() -> None:
    op.add_column("jobs", sa.Column("cancel_requested_by", sa.Text()))
    op.add_column("jobs", sa.Column("cancel_requested_at", sa.DateTime(timezone=True)))
    op.add_column("jobs", sa.Column("cancelled_by", sa.Text()))
    op.add_column("jobs", sa.Column("cancelled_at", sa.DateTime(timezone=True)))
    op.drop_constraint("job_status", "jobs", type_="check")
    op.create_check_constraint("job_status", "jobs", f"status in {STATUSES}")
    op.create_check_constraint("job_cancelled_says_who", "jobs", CANCELLED_SAYS_WHO)


def downgrade() -> None:
    op.execute(
        "update jobs set status = 'failed', "
        "error = 'cancelled: by ' || cancelled_by, finished_at = cancelled_at "
        "where status = 'cancelled'"
    )
    op.drop_constraint("job_cancelled_says_who", "jobs", type_="check")
    op.drop_constraint("job_status", "jobs", type_="check")
    op.create_check_constraint("job_status", "jobs", f"status in {OLD_STATUSES}")
    op.drop_column("jobs", "cancelled_at")
    op.drop_column("jobs", "cancelled_by")
    op.drop_column("jobs", "cancel_requested_at")
    op.drop_column("jobs", "cancel_requested_by")
