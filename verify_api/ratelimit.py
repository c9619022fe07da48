"""Per-client token buckets, in memory: public endpoints stay up for everyone under load.

Each client IP gets a bucket of `per_minute` tokens that refills continuously. The table is
bounded: the least recently seen clients are forgotten first, so a flood of spoofed
addresses cannot exhaust memory. One process keeps its own buckets; behind a load balancer
the limit applies per instance, which is the intended trade-off for a stateless verifier.
"""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass


@dataclass
class _Bucket:
    tokens: float
    updated: float


class RateLimiter:
    def __init__(
        self,
        per_minute: int,
        *,
        max_clients: int = 100_000,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.capacity = float(max(per_minute, 1))
        self.rate = self.capacity / 60.0
        self.max_clients = max_clients
        self._now = monotonic
        self._buckets: OrderedDict[str, _Bucket] = OrderedDict()
        self._lock = threading.Lock()
        self.enabled = per_minute > 0

    def take(self, client: str, cost: float = 1.0) -> float:
        """Spend `cost` tokens; returns 0 when allowed, else seconds until it would be."""
        if not self.enabled:
            return 0.0
        cost = min(cost, self.capacity)
        with self._lock:
            now = self._now()
            bucket = self._buckets.pop(client, None)
            if bucket is None:
                bucket = _Bucket(self.capacity, now)
            else:
                bucket.tokens = min(
                    self.capacity, bucket.tokens + (now - bucket.updated) * self.rate
                )
                bucket.updated = now
            self._buckets[client] = bucket
            while len(self._buckets) > self.max_clients:
                self._buckets.popitem(last=False)
            if bucket.tokens >= cost:
                bucket.tokens -= cost
                return 0.0
            return (cost - bucket.tokens) / self.rate

    @staticmethod
    def retry_after(wait: float) -> str:
        return str(max(1, math.ceil(wait)))
