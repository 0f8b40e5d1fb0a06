"""Background work yields the CPU to requests: job threads, and the PostgreSQL backends that
run their statements.

A scoring job embeds with every core it can get and then writes tens of thousands of rows and
vectors; on a machine that also serves reads, the reads' latency went to seconds while one ran
(docs/scaling.md). Niceness is per thread on Linux and inherited by the threads a thread starts,
so the worker lowers its own thread first thing. The database's share of a job (index upkeep on
inserted vectors, the writes themselves) runs in the backend process serving the job's
connection; when that process is on this machine, it gets the same niceness.
"""

from __future__ import annotations

import contextlib
import os
import threading
from pathlib import Path

from sqlalchemy import Engine, event

from alignment.settings import get_settings

_RENICED = "goldenthread.reniced"


def lower_priority() -> None:
    """Give this thread, and every thread it starts from now on, `jobs.nice` more niceness."""
    nice = get_settings().jobs.nice
    if nice:
        me = threading.get_native_id()
        with contextlib.suppress(OSError):  # no permission to renice is no reason to stop
            os.setpriority(os.PRIO_PROCESS, me, min(19, os.getpriority(os.PRIO_PROCESS, me) + nice))


def lower_backend_priority(engine: Engine) -> None:
    """Every connection `engine` hands out from now on is served by a backend with `jobs.nice`
    more niceness (set once per connection), when that backend runs on this machine."""
    nice = get_settings().jobs.nice
    if not nice:
        return

    @event.listens_for(engine, "checkout")
    def _renice(dbapi_connection, record, _proxy) -> None:
        if record.info.get(_RENICED):
            return
        record.info[_RENICED] = True
        pid = local_backend(dbapi_connection.info.host, dbapi_connection.info.backend_pid)
        if pid is not None:
            with contextlib.suppress(OSError):  # a server run by another user: leave it
                now = os.getpriority(os.PRIO_PROCESS, pid)
                os.setpriority(os.PRIO_PROCESS, pid, min(19, now + nice))


def local_backend(host: str, pid: int) -> int | None:
    """`pid` when it is a backend on this machine: reached through a Unix-domain socket (a
    host that is a directory), with a `postgres` process at that pid. Over TCP the backend may
    be in another host or container, where the pid names some other process."""
    if not host.startswith("/"):
        return None
    try:
        return pid if Path(f"/proc/{pid}/comm").read_text().strip() == "postgres" else None
    except OSError:
        return None
