"""Rate limits, token buckets in this process: requests per API key, and failed
authentication attempts per client address with key prefix, and per client address.

Each API replica keeps its own buckets, so N replicas allow up to N times the rate; a shared
limit (PostgreSQL or a proxy in front) is the step beyond one machine (docs/security.md).
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass

from alignment.errors import DomainError


class TooManyRequests(DomainError):
    status = 429
    code = "rate_limited"

    def __init__(self, message: str, *, retry_after: float, path: str = "$") -> None:
        # `path`: what the client sent that is limited (its credential's header), or the
        # request as a whole ("$").
        super().__init__(message, details=[{"path": path, "message": "slow down"}])
        self.headers = {"Retry-After": str(max(1, math.ceil(retry_after)))}


@dataclass
class _Bucket:
    tokens: float
    stamp: float


class RateLimiter:
    # Past this many buckets, the ones refilled to capacity (the same as none) are dropped:
    # the failed-attempt buckets are named by whatever addresses and prefixes clients send.
    PRUNE_AT = 10_000

    def __init__(self, per_minute: int, burst: int | None = None) -> None:
        self.rate = per_minute / 60.0
        self.capacity = float(burst or per_minute)
        self._buckets: dict[str, _Bucket] = {}
        self._lock = threading.Lock()
        self._prune_at = self.PRUNE_AT

    def take(self, key: str) -> None:
        """Spend one request of `key`'s budget, or raise TooManyRequests with Retry-After."""
        with self._lock:
            bucket = self._refilled(key, time.monotonic())
            if bucket.tokens < 1:
                raise TooManyRequests(
                    f"too many requests for this key; at most {round(self.rate * 60)} a minute",
                    retry_after=self._wait(bucket),
                )
            bucket.tokens -= 1

    def wait(self, key: str) -> float:
        """Seconds until `key` has a request to spend (0: now); spends nothing."""
        with self._lock:
            bucket = self._buckets.get(key)
            if bucket is None:
                return 0.0
            tokens = min(
                self.capacity, bucket.tokens + (time.monotonic() - bucket.stamp) * self.rate
            )
            return 0.0 if tokens >= 1 else (1 - tokens) / self.rate

    def spend(self, key: str) -> None:
        """Spend one request of `key`'s budget, down to none (never into debt)."""
        with self._lock:
            bucket = self._refilled(key, time.monotonic())
            bucket.tokens = max(0.0, bucket.tokens - 1)

    def _refilled(self, key: str, now: float) -> _Bucket:
        bucket = self._buckets.get(key)
        if bucket is None:
            if len(self._buckets) >= self._prune_at:
                self._prune(now)
            bucket = self._buckets[key] = _Bucket(self.capacity, now)
        bucket.tokens = min(self.capacity, bucket.tokens + (now - bucket.stamp) * self.rate)
        bucket.stamp = now
        return bucket

    def _prune(self, now: float) -> None:
        full = self.capacity / self.rate  # a bucket untouched this long has refilled
        self._buckets = {k: b for k, b in self._buckets.items() if now - b.stamp < full}
        self._prune_at = max(self.PRUNE_AT, 2 * len(self._buckets))

    def _wait(self, bucket: _Bucket) -> float:
        return (1 - bucket.tokens) / self.rate


# Failed authentication (a refused API key or page session, a refused sign-in), counted per
# client address and key prefix together: 10 a minute, all at once and then one every 6 s. Why
# 10: a person mistyping a key, or a script whose key was revoked, fails a few times and stops;
# ten in a row is well past that, and one more every 6 s is still a try per look at the page.
# Why the pair, not the prefix alone: prefixes are public (they name deciders), and a prefix
# bucket shared by every address would let anyone lock a key out. Guessing a key is hopeless at
# any rate (43 random characters); the limit is about load (a lookup and a hash per failure),
# so an address also has 100 failures a minute over all the prefixes it sends: ten times the
# pair's, so that people behind one office address seldom share a refusal.
FAILED_AUTH_PER_MINUTE = 10
FAILED_AUTH_PER_ADDRESS_PER_MINUTE = 100


# The key prefix of a `pair:` bucket whose credential names no key ("Token abc", "Basic ...",
# a "gt_" key too short to hold a prefix): all of an address's such credentials share it.
NO_KEY = "-"


def _whose(name: str) -> str:
    """Whose failures a refused bucket counts, as the 429 says it: a key's, or (the shared
    bucket) those of credentials that are no key at all, which "for this key" would misname."""
    if not name.startswith("pair:"):
        return ""
    if name.endswith(f"|{NO_KEY}"):
        return (
            " with credentials that are not an API key (send Authorization: Bearer and the "
            "whole key, gt_...)"
        )
    return " for this key"


class FailedAttempts:
    """Failed authentication per client address and key prefix (`pair:` buckets) and per
    client address (`address:` buckets).

    Only failures spend; a request that would need a lookup is refused (429) before it, while
    any of its buckets is empty. A key this process checked moments ago needs no lookup and
    never comes here."""

    def __init__(
        self,
        per_minute: int = FAILED_AUTH_PER_MINUTE,
        per_address: int = FAILED_AUTH_PER_ADDRESS_PER_MINUTE,
    ) -> None:
        self._limits = {"pair": RateLimiter(per_minute), "address": RateLimiter(per_address)}

    def _limit(self, name: str) -> RateLimiter:
        return self._limits[name.partition(":")[0]]

    def check(self, names: Iterable[str], *, attempts: str = "sign-in", path: str = "$") -> None:
        """Refuse (429) while any bucket of `names` is empty. `attempts` names what failed as
        the client sees it ("sign-in" on the sign-in form, "authentication" for an API key
        sent in a header); `path` is the refusal's detail path (the credential's header)."""
        waits = [(self._limit(n).wait(n), n) for n in names]
        wait, name = max(waits, default=(0.0, ""))
        if wait > 0:
            per_minute = round(self._limit(name).rate * 60)
            raise TooManyRequests(
                f"too many failed {attempts} attempts from this address"
                + _whose(name)
                + f"; at most {per_minute} a minute",
                retry_after=wait,
                path=path,
            )

    def failed(self, names: Iterable[str]) -> None:
        for name in names:
            self._limit(name).spend(name)
