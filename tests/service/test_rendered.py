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


def test_gzip_is_what_the_accept_encoding_header_admits() -> None:
    from service.rendered import accepts_gzip

    admitted = ["gzip", "gzip, deflate, br", "br;q=1.0, GZIP;q=0.5", "*", "deflate, *;q=0.1"]
    refused = [None, "", "identity", "br", "gzip;q=0", "gzip;q=0.0, *", "*;q=0", "gzip;q=x"]
    assert [accepts_gzip(h) for h in admitted] == [True] * len(admitted)
    assert [accepts_gzip(h) for h in refused] == [False] * len(refused)


def test_large_bodies_go_out_compressed_to_clients_that_accept_it() -> None:
    import gzip

    from service.rendered import GZIP_FROM, Entry

    body = b'{"findings":[' + b'{"kind":"orphan_okr"},' * 200 + b"{}]}"
    entry = RenderedBytes(max_bytes=10**6).read("acme", 1, ("report",), counting(body)[0])
    assert entry.gzipped is not None and len(entry.gzipped) < len(body) // 10
    packed = entry.response({"accept-encoding": "gzip, deflate"})
    assert packed.headers["content-encoding"] == "gzip"
    assert packed.headers["vary"] == "Accept-Encoding"
    assert gzip.decompress(packed.body) == body
    plain = entry.response({})
    assert plain.body == body and "content-encoding" not in plain.headers
    assert plain.headers["vary"] == "Accept-Encoding"  # caches must key on the header
    small = Entry.of((b"x" * (GZIP_FROM - 1), "application/json", {}))
    assert small.gzipped is None
    assert "vary" not in small.response({"accept-encoding": "gzip"}).headers


def test_the_cache_counts_the_compressed_copies_against_its_bound() -> None:
    import os

    cache = RenderedBytes(max_bytes=40_000)
    noise = os.urandom(5_000)  # incompressible: no compressed copy is kept
    text = b"a" * 5_000  # compresses to a few dozen bytes, kept beside the body
    cache.read("acme", 1, ("noise",), counting(noise)[0])
    cache.read("acme", 1, ("text",), counting(text)[0])
    kept = cache.entries[("acme", "read", 1, "text")]
    assert cache.entries[("acme", "read", 1, "noise")].gzipped is None
    assert kept.gzipped is not None
    assert cache.size == len(noise) + len(text) + len(kept.gzipped)


def test_a_client_holding_the_current_version_gets_304_and_no_body() -> None:
    from service.rendered import Entry

    entry = Entry.of((b'{"id": 1}' * 200, "application/json", {}))
    other = Entry.of((b'{"id": 2}' * 200, "application/json", {}))
    assert entry.etag != other.etag and entry.etag.startswith('"')
    first = entry.response({"accept-encoding": "gzip"})
    assert first.status_code == 200 and first.headers["etag"] == entry.etag
    for held in (entry.etag, f"W/{entry.etag}", f'"nope", {entry.etag}', "*"):
        again = entry.response({"if-none-match": held, "accept-encoding": "gzip"})
        assert again.status_code == 304, held
        assert again.body == b"" and again.headers["etag"] == entry.etag
    # A changed read (another entry) answers in full to the old tag.
    assert other.response({"if-none-match": entry.etag}).status_code == 200
