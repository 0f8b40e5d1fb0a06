"""Job threads run at a lower CPU priority than requests, and so do the threads they start."""

from __future__ import annotations

import os
import threading

import pytest

from alignment.jobs.worker import lower_priority
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
