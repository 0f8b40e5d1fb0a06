"""Rendered reads kept per process, as bytes, under a key that names their content exactly:
a report run (it never changes once stored) or an organization's read version (bumped by the
database when what a score read shows changes, migration 0012).

Reading the latest report was loading the run's findings, rebuilding the document and
serializing it on every request; the score reads re-read and re-serialized the same rows:
most of their cost under load, for the same bytes each time (docs/scaling.md). Bounded by total
size (least recently used first out); access checks happen before the cache is consulted, and
every key starts with the organization.

Bodies of a kilobyte or more are also kept gzip-compressed, made once with the entry, and sent
to clients that accept gzip (browsers, httpx, requests, curl --compressed all do): the latest
report of a 10,000-OKR organization is 530 KB of JSON and 80 KB compressed, and writing the
whole of it to every poller was most of what such a read cost (docs/scaling.md). Each entry also
has an `ETag` (a hash of its body): a client that sends it back in `If-None-Match` gets
`304 Not Modified` and no body until what the read shows changes.
"""

from __future__ import annotations

import gzip
import hashlib
import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping
from typing import NamedTuple

from starlette.responses import Response

from alignment.report.store import RunRef

MAX_BYTES = 256 * 1024 * 1024  # per API process; one entry at most a quarter of it
GZIP_FROM = 1024  # bytes: below this the header costs about what compression saves

Rendered = tuple[bytes, str, dict[str, str]]  # body, media type, headers


class Entry(NamedTuple):
    body: bytes
    media_type: str
    headers: dict[str, str]
    gzipped: bytes | None  # the body compressed, when that is smaller and worth it
    etag: str

    @classmethod
    def of(cls, rendered: Rendered) -> Entry:
        body, media_type, headers = rendered
        packed = gzip.compress(body, compresslevel=6, mtime=0) if len(body) >= GZIP_FROM else None
        if packed is not None and len(packed) >= len(body):
            packed = None
        etag = f'"{hashlib.blake2b(body, digest_size=12).hexdigest()}"'
        return cls(body, media_type, headers, packed, etag)

    @property
    def size(self) -> int:
        return len(self.body) + len(self.gzipped or b"")

    def response(self, request_headers: Mapping[str, str]) -> Response:
        """The body as the client can take it: compressed when it accepts gzip, nothing (304)
        when it already holds this version."""
        headers = {**self.headers, "etag": self.etag}
        if self.gzipped is not None:
            headers["vary"] = "Accept-Encoding"
        held = _tags(request_headers.get("if-none-match"))
        if self.etag in held or "*" in held:
            return Response(status_code=304, headers=headers)
        if self.gzipped is not None and accepts_gzip(request_headers.get("accept-encoding")):
            headers["content-encoding"] = "gzip"
            return Response(self.gzipped, media_type=self.media_type, headers=headers)
        return Response(self.body, media_type=self.media_type, headers=headers)


def _tags(if_none_match: str | None) -> set[str]:
    """The entity tags an `If-None-Match` header lists; a weak `W/` tag compares as its strong
    form (RFC 9110 13.1.2: If-None-Match uses the weak comparison)."""
    return {t.strip().removeprefix("W/") for t in (if_none_match or "").split(",") if t.strip()}


def accepts_gzip(accept_encoding: str | None) -> bool:
    """Whether an `Accept-Encoding` header admits gzip (RFC 9110 12.5.3): named, or `*`, with a
    q-value above 0; an explicit `gzip;q=0` refuses it whatever `*` says."""
    wildcard = False
    for part in (accept_encoding or "").split(","):
        coding, *params = (p.strip() for p in part.split(";"))
        q = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        if coding.lower() in ("gzip", "x-gzip"):
            return q > 0
        if coding == "*":
            wildcard = q > 0
    return wildcard


class RenderedBytes:
    def __init__(self, max_bytes: int = MAX_BYTES) -> None:
        self.max_bytes = max_bytes
        self.size = 0
        self.entries: OrderedDict[tuple, Entry] = OrderedDict()
        self.rendering: dict[tuple, threading.Lock] = {}
        self.lock = threading.Lock()

    def run(self, org_id: str, ref: RunRef, fmt: str, render: Callable[[], Rendered]) -> Entry:
        """A report run in one format."""
        return self.get((org_id, "run", ref.id, ref.created_at, fmt), render)

    def read(self, org_id: str, version: int, what: tuple, render: Callable[[], Rendered]) -> Entry:
        """A score read (`what`: its route and parameters) at the organization's version."""
        return self.get((org_id, "read", version, *what), render)

    def get(self, key: tuple, render: Callable[[], Rendered]) -> Entry:
        with self.lock:
            hit = self.entries.get(key)
            if hit is not None:
                self.entries.move_to_end(key)
                return hit
            # One render per key at a time: 13 clients missing a 10,000-OKR coverage together
            # rendered it 13 times at once, and every one of them timed out.
            turn = self.rendering.setdefault(key, threading.Lock())
        try:
            with turn:
                with self.lock:
                    hit = self.entries.get(key)
                if hit is None:
                    hit = Entry.of(render())
                    self._keep(key, hit)
        finally:
            with self.lock:
                self.rendering.pop(key, None)
        return hit

    def _keep(self, key: tuple, entry: Entry) -> None:
        if entry.size > self.max_bytes // 4:  # one huge read must not empty the cache
            return
        with self.lock:
            if key not in self.entries:
                self.entries[key] = entry
                self.size += entry.size
            while self.size > self.max_bytes:
                _, dropped = self.entries.popitem(last=False)
                self.size -= dropped.size


rendered = RenderedBytes()
