"""What every benchmark shares: a migrated database, scratch organizations, and a table printer."""

from __future__ import annotations

import atexit
import os
import shutil
import statistics
import tempfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Engine, delete
from sqlalchemy.orm import Session

from alignment import db
from alignment.models import Organization
from alignment.settings import get_settings


def database() -> tuple[Engine, str]:
    """DATABASE_URL if set, else a fresh embedded PostgreSQL in a temp dir (removed at exit);
    migrated."""
    url = get_settings().database.database_url
    where = "DATABASE_URL"
    if not url:
        data_dir = Path(tempfile.mkdtemp(prefix="gt-bench-"))
        # Registered before the server starts, so it runs after the server's own stop at exit.
        atexit.register(shutil.rmtree, data_dir, ignore_errors=True)
        url = db.start_embedded(data_dir)
        where = f"embedded PostgreSQL in {data_dir}"
    db.upgrade(url)
    return db.make_engine(url), where


@contextmanager
def scratch_org(engine: Engine, org_id: str) -> Iterator[str]:
    """An empty organization that is deleted (with everything under it) afterwards."""
    with Session(engine) as session, session.begin():
        session.execute(delete(Organization).where(Organization.id == org_id))
        session.add(Organization(id=org_id, name=f"benchmark scratch {org_id}"))
    try:
        yield org_id
    finally:
        with Session(engine) as session, session.begin():
            session.execute(delete(Organization).where(Organization.id == org_id))


def run_measured(work: Callable[[Engine], bool]) -> None:
    """Open the database, run `work`, and exit 0 when its targets were met (1 when not), with
    the machine's load printed before and after: figures from a busy machine read differently."""
    engine, where = database()
    print(f"database: {where}; machine: {machine_load()}")
    ok = work(engine)
    print(f"\nmachine at the end: {machine_load()}")
    raise SystemExit(0 if ok else 1)


def machine_load() -> str:
    """Cores and load average: figures from a busy shared machine read differently."""
    one, five, _ = os.getloadavg()
    return f"{os.cpu_count()} cores, load average {one:.1f} (1 min) / {five:.1f} (5 min)"


def percentile(values: Sequence[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1]


def print_table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> None:
    cells = [[str(h) for h in headers], *[[str(c) for c in row] for row in rows]]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    line = "  ".join("-" * w for w in widths)
    for n, row in enumerate(cells):
        # First column left-aligned (labels), figures right-aligned.
        pairs = enumerate(zip(row, widths, strict=True))
        print("  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in pairs))
        if n == 0:
            print(line)
