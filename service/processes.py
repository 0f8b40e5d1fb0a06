"""`serve --workers N`: N API processes on one port, each accepting on its own socket.

uvicorn's own supervisor shares one listening socket between its processes, and whichever
process wakes first accepts a whole burst of new connections (asyncio accepts up to the backlog
per wake-up). Under 50 keep-alive clients one process answered in 9 ms while the other's
queue grew (docs/scaling.md). Here each process binds the port itself with `SO_REUSEPORT`, and
the kernel spreads new connections across the sockets by a hash of their addresses, the way
nginx's `reuseport` does.

The supervisor restarts a process that dies, and on SIGTERM or SIGINT stops them all: each gets
SIGTERM (uvicorn finishes in-flight requests, up to `GRACE` seconds), then SIGKILL.
"""

from __future__ import annotations

import ctypes
import logging
import multiprocessing
import os
import secrets
import signal
import socket
import threading
import time
from multiprocessing.process import BaseProcess

GRACE = 8.0  # seconds uvicorn gives in-flight requests; the caller still has to stop its own
BACKLOG = 2048
PR_SET_PDEATHSIG = 1  # linux/prctl.h
START_SECONDS = 60.0  # dying this soon after starting, three times running, stops serving
log = logging.getLogger("goldenthread.serve")


def listening_socket(host: str, port: int) -> socket.socket:
    """A socket of its own on host:port, sharing the port with the other API processes."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    sock.listen(BACKLOG)
    sock.set_inheritable(True)
    return sock


def api_process(host: str, port: int) -> None:
    """One API process (a fresh interpreter): its own socket, the served app, until SIGTERM."""
    import uvicorn

    _stop_with_parent()

    config = uvicorn.Config(
        "service.app:create_served_app", factory=True, log_config=None, access_log=False,
        timeout_graceful_shutdown=GRACE,
    )  # fmt: skip
    uvicorn.Server(config).run(sockets=[listening_socket(host, port)])


def _stop_with_parent() -> None:
    """SIGTERM this process when the supervisor dies, even by SIGKILL: an orphaned API
    process would keep the port and answer from a server nobody stops."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):  # not Linux: the supervisor's own stop still applies
        return
    if os.getppid() == 1:  # the supervisor died before prctl took effect
        os.kill(os.getpid(), signal.SIGTERM)


def serve_processes(host: str, port: int, workers: int) -> None:
    """Run `workers` API processes until SIGTERM or SIGINT, then stop them within GRACE + 1 s."""
    # The port must be free for us: a process of someone else's holding it would otherwise
    # only show up as a child that dies at start, over and over.
    listening_socket(host, port).close()
    # Page session tickets and form tokens are signed with it and checked by every process:
    # without a configured secret each process would sign with its own, and half the requests
    # a browser sends would reach the other one.
    os.environ.setdefault("GOLDENTHREAD_SECRET_KEY", secrets.token_urlsafe(32))
    spawn = multiprocessing.get_context("spawn")
    stop = threading.Event()
    previous = {s: signal.signal(s, lambda *_: stop.set()) for s in (signal.SIGTERM, signal.SIGINT)}

    started: dict[int, float] = {}
    quick_deaths = [0] * workers

    def start(n: int) -> BaseProcess:
        process = spawn.Process(target=api_process, args=(host, port), name=f"api-{n}")
        process.start()
        started[n] = time.monotonic()
        return process

    processes = [start(n) for n in range(workers)]
    try:
        while not stop.wait(0.5):
            for n, process in enumerate(processes):
                if process.is_alive():
                    continue
                quick = time.monotonic() - started[n] < START_SECONDS
                quick_deaths[n] = quick_deaths[n] + 1 if quick else 0
                if quick_deaths[n] == 3:  # broken, not unlucky: say so instead of looping
                    code = process.exitcode
                    raise SystemExit(f"API process {n} died at start 3 times (exit {code})")
                log.warning("API process %s exited (%s); starting another", n, process.exitcode)
                processes[n] = start(n)
    finally:
        for process in processes:
            if process.is_alive():
                process.terminate()
        deadline = time.monotonic() + GRACE + 1
        for process in processes:
            process.join(max(0.0, deadline - time.monotonic()))
            if process.is_alive():
                process.kill()
                process.join()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
