"""`goldenthread serve` on SIGTERM: finishes, and stops the embedded PostgreSQL it started,
within 10 s."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from alignment import db
from tests.conftest import REPO, embedded_env


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serve_env(data_dir: Path, port: int) -> dict[str, str]:
    """The environment of a user's shell without DATABASE_URL: the embedded PostgreSQL in
    `data_dir`."""
    return embedded_env(data_dir) | {"GOLDENTHREAD_PORT": str(port), "HF_HUB_OFFLINE": "1"}


def start_serve(
    data_dir: Path,
    port: int,
    *,
    keep_logs: bool = True,
    args: tuple[str, ...] = (),
    env: dict[str, str] | None = None,
) -> subprocess.Popen:
    """`goldenthread serve` as a user runs it: no DATABASE_URL, so it starts the embedded
    PostgreSQL in `data_dir`. With `keep_logs` stderr is a pipe the caller must read (a long
    run would fill it and block the server)."""
    return subprocess.Popen(
        [sys.executable, "-m", "service.cli", "serve", *args],
        env=serve_env(data_dir, port) | (env or {}),
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE if keep_logs else subprocess.DEVNULL,
        text=True,
    )


def wait_until_healthy(port: int, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1)
            return
        except OSError:
            time.sleep(0.3)
    raise AssertionError("serve did not answer /healthz")


def test_sigterm_stops_the_server_and_its_embedded_database(tmp_path) -> None:
    port = _free_port()
    server = start_serve(tmp_path, port)
    pid_file = tmp_path / "pgdata" / "postmaster.pid"
    try:
        wait_until_healthy(port)
        assert pid_file.exists()
        started = time.monotonic()
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=10)
        assert time.monotonic() - started < 10
        time.sleep(0.5)
        assert not pid_file.exists(), "the embedded PostgreSQL is still running"
        logs = server.stderr.read()
        assert '"logger": "goldenthread.access"' in logs  # JSON lines with request ids
    finally:
        if server.poll() is None:
            server.kill()
        db.stop_embedded(tmp_path / "pgdata")  # a failed test's server must not outlive it


def test_the_demo_shows_its_report_at_once_and_stops_its_embedded_database(tmp_path) -> None:
    # The demo's import starts the server before serving begins; serving must still count it
    # as started here, or it outlives the demo. And the demo builds the first report before
    # serving: the report page answers with it, not a "being built" page.
    port = _free_port()
    printed, logged = (tmp_path / "stdout").open("w"), (tmp_path / "stderr").open("w")
    demo = subprocess.Popen(
        [sys.executable, "-m", "service.cli", "demo", "--port", str(port)],
        env=serve_env(tmp_path, port), cwd=REPO, stdout=printed, stderr=logged,
    )  # fmt: skip
    pid_file = tmp_path / "pgdata" / "postmaster.pid"
    try:
        wait_until_healthy(port, timeout=300)
        assert pid_file.exists()
        key = json.loads((tmp_path / "demo-keys.json").read_text())["strategy_office"]
        page = urllib.request.Request(
            f"http://127.0.0.1:{port}/orgs/brightwater-linen/report.html",
            headers={"Authorization": f"Bearer {key}", "Accept": "text/html"},
        )
        with urllib.request.urlopen(page, timeout=30) as response:
            assert response.status == 200
            html = response.read().decode()
        # No banner of a report under way: neither its markup (what report.js waits on) nor
        # its words.
        assert 'class="recomputing"' not in html
        assert "Recomputing" not in html and "being built" not in html
        assert "<h1>Alignment report: Brightwater Linen Services</h1>" in html
        assert "<html" not in (tmp_path / "stdout").read_text()  # stored, not printed
        demo.send_signal(signal.SIGTERM)
        demo.wait(timeout=15)
        time.sleep(0.5)
        assert not pid_file.exists(), (tmp_path / "stderr").read_text()[-4000:]
    finally:
        if demo.poll() is None:
            demo.kill()
        db.stop_embedded(tmp_path / "pgdata")  # a failed test's server must not outlive it
