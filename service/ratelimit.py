"""Per-key rate limits: a token bucket per API key, in this process.

Each API replica keeps its own buckets, so N replicas allow up to N times the rate; a shared
limit (PostgreSQL or a proxy in front) is the step beyond one machine (docs/security.md).
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass

from alignment.errors import DomainError


class TooManyRequests(DomainError):
    status = 429
    code = "rate_limited"

    def __init__(self, message: str, *, retry_after: float) -> None:
        super().__init__(message, details=[{"path": "$", "message": "slow down"}])
        self.headers = {"Retry-After": str(max(1, math.ceil(retry_after)))}


@dataclass
class _Bucket:
    tokens: float
    stamp: float


class RateLimiter:
    def __init__(self, per_minute: int, burst: int | None = None) -> None:
        self.rate = per_minute / 60.0
        self.capacity = float(burst or per_minute)
        self._buckets: dict[str, _Bucket] = {}
        self._lock = threading.Lock()

    def take(self, key: str) -> None:
        """Spend one request of `key`'s budget, or raise TooManyRequests with Retry-After."""
        now = time.monotonic()
        with self._lock:
            bucket = self._buckets.get(key) or _Bucket(self.capacity, now)
            bucket.tokens = min(self.capacity, bucket.tokens + (now - bucket.stamp) * self.rate)
            bucket.stamp = now
            self._buckets[key] = bucket
            if bucket.tokens < 1:
                wait = (1 - bucket.tokens) / self.rate
                raise TooManyRequests(
                    f"too many requests for this key; at most {round(self.rate * 60)} a minute",
                    retry_after=wait,
                )
            bucket.tokens -= 1
