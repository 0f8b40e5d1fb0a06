"""Row-level security left open, proven at the database as the application role: what the
authentication phase may change on a key's row (migration 0023), and the job queue's own
tables (migration 0024).

These tests commit real rows (as the owner) in organizations of their own and delete them at
the end, as tests/alignment/test_tenancy.py does: a rolled-back test session cannot show what
the application role's own connection sees.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from alignment.access import keys
from alignment.access.principal import Role
from alignment.jobs import SCORE_PARAMS, enqueue
from alignment.jobs.abandon import abandon_jobs
from alignment.tenancy import set_tenant

STAMPS_ONLY = "only its use and sign-out stamps"


class World:
    """Two committed organizations, each with an admin key; `raw[org]` is its key's text."""

    def __init__(self, a: str, b: str, raw: dict[str, str]) -> None:
        self.a, self.b, self.raw = a, b, raw

    def prefix(self, org: str) -> str:
        return self.raw[org].split("_")[1]


@pytest.fixture
def world(two_orgs) -> World:
    return World(*two_orgs)


def key_row(engine: Engine, prefix: str) -> dict:
    with engine.connect() as conn:
        row = conn.execute(text("select * from api_keys where prefix = :p"), {"p": prefix})
        return dict(row.one()._mapping)


# --- 1. The authentication phase stamps a key's row and changes nothing else of it -----------

CHANGES = {
    "role": "role = 'platform_admin', org_id = null",  # a tenant's key made the platform's
    "org_id": "org_id = :other",
    "revoked_at": "revoked_at = now()",
    "name": "name = 'renamed'",
    "secret_hash": "secret_hash = repeat('0', 64)",
    "team_ids": "team_ids = '{T-1}'",
    "created_by": "created_by = 'someone else'",
}


@pytest.mark.parametrize("column", sorted(CHANGES))
def test_before_a_tenant_is_known_a_key_row_gets_its_stamps_and_nothing_else(
    world, app_engine, engine, column
) -> None:
    prefix = world.prefix(world.a)
    before = key_row(engine, prefix)
    with Session(app_engine) as s:
        assert keys.active_key(s, prefix) is not None  # the authentication phase: no tenant
        with pytest.raises(DBAPIError, match=STAMPS_ONLY) as refused:
            s.execute(
                text(f"update api_keys set {CHANGES[column]} where prefix = :p"),
                {"p": prefix, "other": world.b},
            )
        assert column in str(refused.value)  # the error names what may not change
        s.rollback()
    assert key_row(engine, prefix) == before


def test_the_authentication_phase_still_stamps_use_and_sign_out(world, app_engine, engine):
    prefix = world.prefix(world.a)
    with Session(app_engine) as s:
        principal = keys.authenticate(s, world.raw[world.a])
        assert principal is not None and principal.org_id == world.a
        s.commit()
    assert key_row(engine, prefix)["last_used_at"] is not None
    at = datetime.now(UTC)
    with Session(app_engine) as s:
        keys.sign_out(s, prefix, at)
        s.commit()
    assert key_row(engine, prefix)["signed_out_at"] == at


def test_an_admin_in_its_tenant_still_renames_and_revokes_its_keys(world, app_engine, engine):
    with Session(engine) as s, s.begin():
        other = keys.create_key(s, org_id=world.a, role=Role.strategy_office)[0].prefix
    with Session(app_engine) as s:
        # As a request does: the caller's key checked first, then its organization set.
        assert keys.authenticate(s, world.raw[world.a]) is not None
        set_tenant(s, world.a)
        renamed = s.execute(
            text("update api_keys set name = 'Omar (renamed)' where prefix = :p"), {"p": other}
        )
        assert renamed.rowcount == 1
        assert keys.revoke_key(s, other, org_id=world.a).revoked_at is not None
        s.commit()
    row = key_row(engine, other)
    assert row["name"] == "Omar (renamed)" and row["revoked_at"] is not None


def test_a_tenant_cannot_move_its_own_key_into_another_organization(world, app_engine, engine):
    """The presented key's row is writable by its prefix whatever the tenant: an admin of A
    moving its own key to B passed the stamp policy's check, though no tenant's admits it."""
    prefix = world.prefix(world.a)
    with Session(app_engine) as s:
        assert keys.authenticate(s, world.raw[world.a]) is not None
        set_tenant(s, world.a)
        with pytest.raises(DBAPIError, match=STAMPS_ONLY):
            s.execute(
                text("update api_keys set org_id = :b where prefix = :p"),
                {"b": world.b, "p": prefix},
            )
        s.rollback()
    assert key_row(engine, prefix)["org_id"] == world.a


def test_the_platform_and_the_operator_still_change_keys(world, app_engine, engine) -> None:
    with Session(engine) as s, s.begin():
        platform_key = keys.create_key(s, org_id=None, role=Role.platform_admin)[0].prefix
    try:
        with Session(app_engine) as s:
            set_tenant(s, None, platform=True)
            assert keys.revoke_key(s, platform_key, org_id=None).revoked_at is not None
            s.commit()
        # The operator's commands connect as the owner, with no setting at all.
        with Session(engine) as s, s.begin():
            keys.revoke_key(s, world.prefix(world.b), org_id=world.b)
        assert key_row(engine, world.prefix(world.b))["revoked_at"] is not None
    finally:
        with engine.begin() as conn:
            conn.execute(text("delete from api_keys where prefix = :p"), {"p": platform_key})


# --- 3. The queue's tables: a tenant sees and changes its own jobs only ------------------------


@pytest.fixture
def queued(world, engine) -> Iterator[dict[str, int]]:
    """A queued scoring job of each organization: its procrastinate job id, by organization."""
    ids: dict[str, int] = {}
    with Session(engine) as s, s.begin():
        for org in (world.a, world.b):
            ids[org] = enqueue(s, org, "score", SCORE_PARAMS, requested_by="test").job.queue_job_id
    yield ids
    with engine.begin() as conn:
        conn.execute(
            text("delete from procrastinate_jobs where id = any(:ids)"), {"ids": [*ids.values()]}
        )


def visible(s: Session, table: str, column: str, ids: list[int]) -> set[int]:
    return set(
        s.scalars(text(f"select {column} from {table} where {column} = any(:ids)"), {"ids": ids})
    )


def test_a_tenant_sees_only_its_own_queue_jobs_and_events(world, queued, app_engine) -> None:
    ids = [queued[world.a], queued[world.b]]
    with Session(app_engine) as s:
        assert visible(s, "procrastinate_jobs", "id", ids) == set()  # no tenant: nothing
        assert visible(s, "procrastinate_events", "job_id", ids) == set()
        s.rollback()
        set_tenant(s, world.a)
        assert visible(s, "procrastinate_jobs", "id", ids) == {queued[world.a]}
        assert visible(s, "procrastinate_events", "job_id", ids) == {queued[world.a]}
        # B's job is not there to change, jump ahead of or take off the queue.
        b = {"id": queued[world.b]}
        assert (
            s.execute(text("update procrastinate_jobs set priority = 9 where id = :id"), b).rowcount
            == 0
        )
        assert s.execute(text("delete from procrastinate_jobs where id = :id"), b).rowcount == 0
        with pytest.raises(DBAPIError, match="row-level security"):
            # A queue entry naming B's job: the worker would run B's job on A's request.
            s.execute(
                text(
                    "insert into procrastinate_jobs (queue_name, task_name, args) "
                    "values ('scoring', 'goldenthread.run_job', jsonb_build_object('job_id', "
                    "(select j.id from jobs j where j.queue_job_id = :id)))"
                ),
                b,
            )
        s.rollback()


def test_the_platform_reads_queue_counts_and_changes_nothing(world, queued, app_engine) -> None:
    ids = [queued[world.a], queued[world.b]]
    with Session(app_engine) as s:
        set_tenant(s, None, platform=True)  # as GET /metrics runs
        assert visible(s, "procrastinate_jobs", "id", ids) == set(ids)
        assert visible(s, "procrastinate_events", "job_id", ids) == set(ids)
        changed = s.execute(
            text("update procrastinate_jobs set priority = 9 where id = any(:ids)"), {"ids": ids}
        )
        assert changed.rowcount == 0
        s.rollback()


def test_the_request_path_still_queues_and_unqueues_as_the_application_role(
    world, queued, app_engine, engine
) -> None:
    with Session(app_engine) as s:
        set_tenant(s, world.a)
        # Another kind than the queued one (which a scoring request would join): a new entry.
        job = enqueue(s, world.a, "report", {}, requested_by="test").job
        assert job.queue_job_id is not None
        assert visible(s, "procrastinate_events", "job_id", [job.queue_job_id]) == {
            job.queue_job_id
        }
        # A delete of the organization takes its waiting jobs off the queue (abandon.py).
        abandon_jobs(s, world.a)
        gone = [job.queue_job_id, queued[world.a]]
        assert visible(s, "procrastinate_jobs", "id", gone) == set()
        s.rollback()
    with Session(engine) as s:  # the owner, as the worker connects: every organization's jobs
        assert visible(s, "procrastinate_jobs", "id", [*queued.values()]) == set(queued.values())


def test_the_worker_connects_as_a_role_the_queue_policies_do_not_bind(engine) -> None:
    # The worker (alignment/jobs/queue.py `worker_app`) and its jobs' sessions (db.transaction)
    # use the owner's URL: procrastinate's fetch must see every organization's jobs and locks.
    with engine.connect() as conn:
        for table in ("procrastinate_jobs", "procrastinate_events", "procrastinate_workers"):
            assert conn.scalar(text("select row_security_active(:t)"), {"t": table}) is False


def test_every_queue_table_has_row_level_security(engine) -> None:
    with engine.connect() as conn:
        open_tables = conn.scalars(
            text(
                "select relname from pg_class where relname like 'procrastinate%' "
                "and relkind = 'r' and not relrowsecurity order by relname"
            )
        ).all()
    assert open_tables == []
