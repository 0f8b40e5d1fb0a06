"""The per-process cache of rendered reads: keyed by organization and content, bounded."""

from __future__ import annotations

from datetime import UTC, datetime

from alignment.report.store import RunRef
from service.rendered import RenderedBytes

WHEN = datetime(2026, 12, 5, tzinfo=UTC)


def counting(body: bytes):
    calls = []

    def render():
        calls.append(1)
        return body, "application/json", {}

    return render, calls


def test_a_run_is_rendered_once_per_format_and_organization() -> None:
    cache = RenderedBytes(max_bytes=1000)
    render, calls = counting(b"x" * 10)
    for _ in range(3):
        assert cache.run("acme", RunRef(1, 1, WHEN), "json", render)[0] == b"x" * 10
    assert len(calls) == 1
    cache.run("acme", RunRef(1, 1, WHEN), "csv", render)
    cache.run("other", RunRef(1, 1, WHEN), "json", render)  # same id elsewhere: not shared
    cache.run("acme", RunRef(1, 1, WHEN.replace(year=2027)), "json", render)  # re-created org
    assert len(calls) == 4


def test_the_least_recently_used_runs_leave_first_and_huge_ones_never_enter() -> None:
    cache = RenderedBytes(max_bytes=100)
    render, calls = counting(b"y" * 20)
    for run in range(1, 7):  # 6 x 20 bytes > 100: the first leaves
        cache.run("acme", RunRef(run, run, WHEN), "json", render)
    assert cache.size <= 100
    cache.run("acme", RunRef(6, 6, WHEN), "json", render)
    assert len(calls) == 6
    cache.run("acme", RunRef(1, 1, WHEN), "json", render)
    assert len(calls) == 7
    huge, huge_calls = counting(b"z" * 60)  # over a quarter of the cache
    cache.run("acme", RunRef(9, 9, WHEN), "json", huge)
    cache.run("acme", RunRef(9, 9, WHEN), "json", huge)
    assert len(huge_calls) == 2


def test_readers_missing_the_same_key_together_render_it_once() -> None:
    import threading
    import time
    from concurrent.futures import ThreadPoolExecutor

    cache = RenderedBytes(max_bytes=1000)
    calls = []
    started = threading.Event()

    def slow():
        calls.append(1)
        started.set()
        time.sleep(0.2)
        return b"done", "application/json", {}

    with ThreadPoolExecutor(8) as pool:
        bodies = list(pool.map(lambda _: cache.read("acme", 7, ("coverage",), slow)[0], range(8)))
    assert bodies == [b"done"] * 8
    assert len(calls) == 1
    assert cache.rendering == {}
