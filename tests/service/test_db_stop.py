"""`goldenthread db stop` stops an embedded PostgreSQL that another process started."""

from __future__ import annotations

import subprocess
import sys
import threading

from tests.conftest import REPO, embedded_env


def test_db_stop_stops_the_embedded_server(tmp_path) -> None:
    env = embedded_env(tmp_path)
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from alignment import db; db.resolve_database(); print('ready', flush=True); input()",
        ],
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=REPO,
    )
    pid_file = tmp_path / "pgdata" / "postmaster.pid"
    # Killed if it never says so, so that a failing start cannot hang the suite.
    watchdog = threading.Timer(120, holder.kill)
    watchdog.start()
    try:
        # Once started, not once the pid file appears: initdb's single-user runs of postgres
        # create and remove it while they set the new cluster up, and on a loaded CI machine
        # `db stop` came in between (no pid file: "no embedded PostgreSQL runs").
        assert holder.stdout.readline() == "ready\n", "the embedded server did not start"
        assert pid_file.exists()
        stopped = subprocess.run(
            [sys.executable, "-m", "service.cli", "db", "stop"],
            env=env,
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert stopped.returncode == 0, stopped.stderr
        assert "stopped" in stopped.stderr
        assert not pid_file.exists()
        again = subprocess.run(
            [sys.executable, "-m", "service.cli", "db", "stop"],
            env=env, cwd=REPO, capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        assert again.returncode == 0 and "no embedded PostgreSQL runs" in again.stderr
    finally:
        watchdog.cancel()
        holder.kill()
        holder.wait(timeout=10)


def test_a_process_that_started_the_server_and_stopped_it_logs_no_error_at_exit(
    tmp_path,
) -> None:
    """`serve` and `demo` stop the server they started: the library's own stop at exit then
    has nothing to do, and must not log a failed pg_ctl."""
    env = embedded_env(tmp_path)
    script = (
        "import logging; logging.basicConfig(level=logging.WARNING)\n"
        "from alignment import db\n"
        "db.resolve_database()\n"
        f"assert db.stop_embedded(__import__('pathlib').Path({str(tmp_path / 'pgdata')!r}))\n"
    )
    ran = subprocess.run(
        [sys.executable, "-c", script], env=env, cwd=REPO, capture_output=True, text=True,
        timeout=120,
    )  # fmt: skip
    assert ran.returncode == 0, ran.stderr
    assert "Failed postgres command" not in ran.stderr and "killing it" not in ran.stderr
    assert not (tmp_path / "pgdata" / "postmaster.pid").exists()


def test_a_killed_holder_does_not_keep_the_server_running_for_later_commands(tmp_path) -> None:
    """A holder killed outright leaves its pid in the library's list of holders; before, every
    later command then thought another process still used the server and left it running."""
    env = embedded_env(tmp_path)
    pid_file = tmp_path / "pgdata" / "postmaster.pid"
    start = "from alignment import db; db.resolve_database(); print('ready', flush=True)"
    killed = subprocess.Popen(
        [sys.executable, "-c", f"{start}; input()"],
        env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=REPO,
    )  # fmt: skip
    try:
        assert killed.stdout.readline() == "ready\n", "the embedded server did not start"
        killed.kill()  # SIGKILL: no exit handler runs
        killed.wait(timeout=10)
        assert pid_file.exists()  # the server outlives it, as it should
        later = subprocess.run(
            [sys.executable, "-c", start], env=env, cwd=REPO, capture_output=True, text=True,
            timeout=120,
        )  # fmt: skip
        assert later.returncode == 0, later.stderr
        # The later command joined the running server and, the only holder left, stopped it.
        assert not pid_file.exists(), "the embedded PostgreSQL is still running"
    finally:
        if killed.poll() is None:
            killed.kill()
        stopped = subprocess.run(
            [sys.executable, "-m", "service.cli", "db", "stop"],
            env=env, cwd=REPO, capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        assert stopped.returncode == 0, stopped.stderr
