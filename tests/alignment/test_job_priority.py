"""Job threads run at a lower CPU priority than requests, and so do the threads they start."""

from __future__ import annotations

import os
import threading

import pytest
from sqlalchemy import create_engine, text

from alignment.jobs.priority import local_backend, lower_backend_priority, lower_priority
from alignment.settings import get_settings


def _nice() -> int:
    return os.getpriority(os.PRIO_PROCESS, threading.get_native_id())


@pytest.mark.parametrize("nice", ["10", "0"])
def test_the_worker_thread_and_its_threads_yield(monkeypatch, nice: str) -> None:
    monkeypatch.setenv("GOLDENTHREAD_JOBS_NICE", nice)
    get_settings.cache_clear()
    before = _nice()
    seen: dict[str, int] = {}

    def job_thread() -> None:
        seen["started"] = _nice()

    def worker_thread() -> None:
        lower_priority()
        seen["worker"] = _nice()
        child = threading.Thread(target=job_thread)
        child.start()
        child.join()

    try:
        thread = threading.Thread(target=worker_thread)
        thread.start()
        thread.join()
    finally:
        get_settings.cache_clear()
    expected = min(19, before + int(nice))
    assert seen == {"worker": expected, "started": expected}
    assert _nice() == before  # the caller's own thread (the API's) keeps its priority


def _backend_nice(engine) -> int:
    with engine.connect() as connection:
        pid = connection.execute(text("select pg_backend_pid()")).scalar_one()
        return os.getpriority(os.PRIO_PROCESS, pid)


def test_job_connections_are_served_by_backends_at_the_workers_priority(
    database_url: str, monkeypatch
) -> None:
    """The embedded server is on this machine (a Unix-domain socket): the backends serving the
    worker's connections get its niceness, the others keep theirs."""
    monkeypatch.setenv("GOLDENTHREAD_JOBS_NICE", "7")
    get_settings.cache_clear()
    jobs, requests = create_engine(database_url), create_engine(database_url)
    try:
        before = _backend_nice(requests)
        lower_backend_priority(jobs)
        assert _backend_nice(jobs) == min(19, before + 7)
        assert _backend_nice(jobs) == min(19, before + 7)  # pooled: lowered once, not again
        assert _backend_nice(requests) == before
    finally:
        jobs.dispose()
        requests.dispose()
        get_settings.cache_clear()


def test_only_a_backend_on_this_machine_is_reniced(database_url: str) -> None:
    """Over TCP the backend's pid may belong to another host or container: never touched; nor
    a pid that is not a PostgreSQL process."""
    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:  # the backend lives as long as the connection
            pid = connection.execute(text("select pg_backend_pid()")).scalar_one()
            host = connection.connection.dbapi_connection.info.host
            assert host.startswith("/")  # the embedded server: a Unix-domain socket
            assert local_backend(host, pid) == pid
            assert local_backend("127.0.0.1", pid) is None
            assert local_backend("db.example.internal", pid) is None
    finally:
        engine.dispose()
    assert local_backend(host, os.getpid()) is None  # this test's process is not PostgreSQL
