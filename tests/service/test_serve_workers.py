"""`goldenthread serve --workers N`: several API processes on one port, a bounded number of
requests at the database in each, and a clean stop."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import httpx

from tests.service.test_serve_shutdown import (
    REPO,
    _free_port,
    serve_env,
    start_serve,
    wait_until_healthy,
)


def test_two_api_processes_answer_a_burst_and_stop_with_their_database(tmp_path) -> None:
    port = _free_port()
    # Two request threads per process, far fewer than the 40 requests in flight: before the
    # database permits, requests held every pooled connection while the threads waited for
    # one, and the process stopped answering.
    server = start_serve(
        tmp_path,
        port,
        keep_logs=False,
        args=("--workers", "2"),
        env={"GOLDENTHREAD_REQUEST_THREADS": "2", "GOLDENTHREAD_RATE_LIMIT_PER_MINUTE": "100000"},
    )
    pid_file = tmp_path / "pgdata" / "postmaster.pid"
    try:
        wait_until_healthy(port)
        assert pid_file.exists()

        create = ["keys", "create", "--role", "platform_admin", "--json"]
        created = subprocess.run(
            [sys.executable, "-m", "service.cli", *create],
            env=serve_env(tmp_path, port),
            cwd=REPO,
            capture_output=True,
            text=True,
            check=True,
        )
        headers = {"Authorization": f"Bearer {json.loads(created.stdout)['key']}"}

        def read(_: int) -> httpx.Response:
            return httpx.get(f"http://127.0.0.1:{port}/orgs", headers=headers, timeout=30)

        with ThreadPoolExecutor(40) as pool:
            answers = list(pool.map(read, range(400)))
        assert [r.status_code for r in answers] == [200] * 400

        started = time.monotonic()
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=15)
        assert time.monotonic() - started < 10
        time.sleep(0.5)
        assert not pid_file.exists(), "the embedded PostgreSQL is still running"
    finally:
        if server.poll() is None:
            server.kill()
