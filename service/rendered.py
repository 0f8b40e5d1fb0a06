"""Rendered reads kept per process, as bytes, under a key that names their content exactly:
a report run (it never changes once stored) or an organization's read version (bumped by the
database when what a score read shows changes, migration 0012).

Reading the latest report was loading the run's findings, rebuilding the document and
serializing it on every request; the score reads re-read and re-serialized the same rows:
most of their cost under load, for the same bytes each time (docs/scaling.md). Bounded by total
size (least recently used first out); access checks happen before the cache is consulted, and
every key starts with the organization.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable

from alignment.report.store import RunRef

MAX_BYTES = 256 * 1024 * 1024  # per API process; one entry at most a quarter of it

Rendered = tuple[bytes, str, dict[str, str]]  # body, media type, headers


class RenderedBytes:
    def __init__(self, max_bytes: int = MAX_BYTES) -> None:
        self.max_bytes = max_bytes
        self.size = 0
        self.entries: OrderedDict[tuple, Rendered] = OrderedDict()
        self.rendering: dict[tuple, threading.Lock] = {}
        self.lock = threading.Lock()

    def run(self, org_id: str, ref: RunRef, fmt: str, render: Callable[[], Rendered]) -> Rendered:
        """A report run in one format."""
        return self.get((org_id, "run", ref.id, ref.created_at, fmt), render)

    def read(
        self, org_id: str, version: int, what: tuple, render: Callable[[], Rendered]
    ) -> Rendered:
        """A score read (`what`: its route and parameters) at the organization's version."""
        return self.get((org_id, "read", version, *what), render)

    def get(self, key: tuple, render: Callable[[], Rendered]) -> Rendered:
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
                    hit = render()
                    self._keep(key, hit)
        finally:
            with self.lock:
                self.rendering.pop(key, None)
        return hit

    def _keep(self, key: tuple, rendered: Rendered) -> None:
        if len(rendered[0]) > self.max_bytes // 4:  # one huge read must not empty the cache
            return
        with self.lock:
            if key not in self.entries:
                self.entries[key] = rendered
                self.size += len(rendered[0])
            while self.size > self.max_bytes:
                _, (body, _, _) = self.entries.popitem(last=False)
                self.size -= len(body)


rendered = RenderedBytes()
