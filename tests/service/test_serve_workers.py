"""`goldenthread serve --workers N`: several API processes on one port, a bounded number of
requests at the database in each, and a clean stop."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import psutil

from alignment import db
from service.processes import GRACE
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
        assert_connections_spread(server.pid, port)
        # Both processes sign page forms with one secret (none was configured): a form served
        # by one is accepted by the other.
        secrets = {
            psutil.Process(pid).environ().get("GOLDENTHREAD_SECRET_KEY")
            for pid in api_processes(server.pid, port)
        }
        assert len(secrets) == 1 and None not in secrets, secrets

        started = time.monotonic()
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=15)
        assert time.monotonic() - started < 10
        time.sleep(0.5)
        assert not pid_file.exists(), "the embedded PostgreSQL is still running"
    finally:
        if server.poll() is None:
            server.kill()
        db.stop_embedded(tmp_path / "pgdata")  # a failed test's server must not outlive it


def assert_connections_spread(supervisor: int, port: int) -> None:
    """Each API process listens on a socket of its own, and a burst of 40 new connections is
    spread over both. With one shared socket (uvicorn's supervisor) the first process to wake
    accepted the burst, and under load one process queued while the other idled."""
    listeners = api_processes(supervisor, port)
    assert len(listeners) == 2, listeners
    first, second = listeners.values()
    assert not first & second, "the API processes share one listening socket"

    held = [socket.create_connection(("127.0.0.1", port)) for _ in range(40)]
    try:
        time.sleep(1.0)
        accepted = {
            pid: sum(
                c.status == psutil.CONN_ESTABLISHED and c.laddr.port == port
                for c in psutil.Process(pid).net_connections(kind="tcp")
            )
            for pid in listeners
        }
    finally:
        for s in held:
            s.close()
    assert sum(accepted.values()) == 40 and min(accepted.values()) >= 8, accepted


def api_processes(supervisor: int, port: int) -> dict[int, set[str]]:
    """The supervisor's processes listening on the port: pid -> their listening sockets."""
    listeners: dict[int, set[str]] = {}
    for child in psutil.Process(supervisor).children(recursive=True):
        for c in child.net_connections(kind="tcp"):
            if c.status == psutil.CONN_LISTEN and c.laddr.port == port:
                inode = os.readlink(f"/proc/{child.pid}/fd/{c.fd}")
                listeners.setdefault(child.pid, set()).add(inode)
    return listeners


def test_a_dead_api_process_is_replaced_and_none_outlives_the_supervisor(tmp_path) -> None:
    port = _free_port()
    server = start_serve(tmp_path, port, keep_logs=False, args=("--workers", "2"))
    try:
        wait_until_healthy(port)
        deadline = time.monotonic() + 60
        while len(first := api_processes(server.pid, port)) < 2 and time.monotonic() < deadline:
            time.sleep(0.5)
        assert len(first) == 2, first
        gone = next(iter(first))
        os.kill(gone, signal.SIGKILL)
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            now = api_processes(server.pid, port)
            if len(now) == 2 and gone not in now:
                break
            time.sleep(0.5)
        assert len(now) == 2 and gone not in now, now
        wait_until_healthy(port)

        # The supervisor killed outright: its API processes must not keep the port.
        survivors = [psutil.Process(pid) for pid in now]
        server.kill()
        server.wait(timeout=10)
        # SIGTERM from the kernel (PR_SET_PDEATHSIG), then uvicorn's graceful stop: up to
        # GRACE for requests in flight plus the app's shutdown, slower on a loaded machine (a
        # CI run beside other work once took more than 15 s). Outliving is the failure, not
        # taking its time.
        _, alive = psutil.wait_procs(survivors, timeout=GRACE + 30)
        assert not alive, f"API processes outlived their supervisor: {alive}"
    finally:
        if server.poll() is None:
            server.kill()
        subprocess.run(
            [sys.executable, "-m", "service.cli", "db", "stop"],
            env=serve_env(tmp_path, port), cwd=REPO, capture_output=True, timeout=60,
        )  # fmt: skip
