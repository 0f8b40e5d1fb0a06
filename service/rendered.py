"""Rendered report runs, kept per process: a stored run never changes, so its JSON or CSV is
rendered once and then served as bytes.

Reading the latest report was loading the run's findings from PostgreSQL, rebuilding the
document and serializing it on every request: most of its cost, and the same bytes each time.
Bounded by total size (least recently used first out); access checks happen before the cache is
consulted, and its key includes the organization.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable

from alignment.report.store import RunRef

MAX_BYTES = 64 * 1024 * 1024

Rendered = tuple[bytes, str, dict[str, str]]  # body, media type, headers


class RenderedRuns:
    def __init__(self, max_bytes: int = MAX_BYTES) -> None:
        self.max_bytes = max_bytes
        self.size = 0
        self.entries: OrderedDict[tuple, Rendered] = OrderedDict()
        self.lock = threading.Lock()

    def get(self, org_id: str, ref: RunRef, fmt: str, render: Callable[[], Rendered]) -> Rendered:
        key = (org_id, ref.id, ref.created_at, fmt)
        with self.lock:
            hit = self.entries.get(key)
            if hit is not None:
                self.entries.move_to_end(key)
                return hit
        rendered = render()  # outside the lock: two first readers may both render, harmlessly
        if len(rendered[0]) <= self.max_bytes // 4:  # one huge run must not empty the cache
            with self.lock:
                if key not in self.entries:
                    self.entries[key] = rendered
                    self.size += len(rendered[0])
                while self.size > self.max_bytes:
                    _, (body, _, _) = self.entries.popitem(last=False)
                    self.size -= len(body)
        return rendered


rendered_runs = RenderedRuns()
