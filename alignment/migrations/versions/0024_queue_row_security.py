"""Row-level security on procrastinate's tables: a tenant sees and changes its own queue entries.

Procrastinate's tables (migration 0009) have no `org_id`, so 0008's discovery gave them no
policy, and the application role could read every organization's queue entries (their locks
name organizations), change their priority, cancel them, or queue an entry naming another
organization's job. The service touches them only through its tenant's jobs: it defers in the
request's transaction (alignment/jobs/queue.py), reads priorities beside its own `jobs` rows,
and takes an organization's waiting jobs off the queue when it is deleted (jobs/abandon.py);
the platform admin counts them for GET /metrics.

Each queue entry's only argument is our `jobs` row's id (queue.py registers one task, and the
row is flushed before it is deferred), so an entry is the tenant's when that row is: the
policy asks `jobs`, whose own policy applies inside it. An event is its entry's. The workers
and periodic-defer tables hold no tenant's data and the service never reads them: they get
no policy, so the application role sees none of their rows (procrastinate's delete trigger
still runs its update of periodic defers, which then matches nothing, as it always did).

The worker is not bound: it connects as the owner (queue.py `worker_app`, and its jobs'
sessions through db.transaction), which row-level security does not bind without FORCE, so
its fetch still sees every organization's entries and locks.

Revision ID: 0024
Revises: 0023
"""

from alembic import op

revision = "0024"
down_revision = "0023"
branch_labels = None
depends_on = None

TABLES = (
    "procrastinate_jobs",
    "procrastinate_events",
    "procrastinate_workers",
    "procrastinate_periodic_defers",
)
PLATFORM = "current_setting('goldenthread.platform', true) = 'on'"
# CASE, not AND: PostgreSQL may evaluate AND's operands in any order, and a cast of anything
# but digits would fail every query that meets such an entry.
JOB_ID = "CASE WHEN args->>'job_id' ~ '^[0-9]{1,18}$' THEN (args->>'job_id')::bigint END"
TENANTS_JOB = f"exists (select 1 from jobs j where j.id = {JOB_ID})"
TENANTS_ENTRY = "exists (select 1 from procrastinate_jobs p where p.id = job_id)"
POLICIES = {
    "procrastinate_jobs": TENANTS_JOB,
    "procrastinate_events": TENANTS_ENTRY,
}


def upgrade() -> None:
    for table in TABLES:
        op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
    for table, rule in POLICIES.items():
        op.execute(f"CREATE POLICY tenant_isolation ON {table} USING ({rule}) WITH CHECK ({rule})")
        # Counts for GET /metrics, which covers every organization: read, never write.
        op.execute(f"CREATE POLICY platform_counts ON {table} FOR SELECT USING ({PLATFORM})")


def downgrade() -> None:
    for table in POLICIES:
        op.execute(f"DROP POLICY IF EXISTS platform_counts ON {table}")
        op.execute(f"DROP POLICY IF EXISTS tenant_isolation ON {table}")
    for table in TABLES:
        op.execute(f"ALTER TABLE {table} DISABLE ROW LEVEL SECURITY")
