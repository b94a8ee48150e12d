"""A short-lived, per-process memo of order checks, so order-sign reuses order-select's work.

The key is a hash of everything the checks read: the patient, the draft orders, the prefetched data,
the unavailable prefetch keys and the reference date (not the hook, not the selections: the checks
cover every draft order and the handler filters). Any change gives a new key, so a stale answer is
impossible; the TTL only bounds memory and the window in which an unchanged chart is trusted.
Per process by design: with several workers a miss just recomputes. The key is a digest, so no
patient identifier is kept in it.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections import OrderedDict
from typing import Callable, Generic, TypeVar

import orjson

T = TypeVar("T")


def content_key(*parts: object) -> str:
    """A stable digest of JSON-like parts (dict key order does not matter)."""
    digest = hashlib.sha256()
    for part in parts:
        digest.update(orjson.dumps(part, option=orjson.OPT_SORT_KEYS, default=str))
        digest.update(b"\x1e")
    return digest.hexdigest()


class TtlCache(Generic[T]):
    """Bounded LRU with a time-to-live. `stats()` counts hits, misses and evaluations (for tests and ops)."""

    def __init__(self, ttl_seconds: float = 300.0, max_entries: int = 256,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl_seconds = ttl_seconds
        self.max_entries = max_entries
        self._clock = clock
        self._entries: OrderedDict[str, tuple[float, T]] = OrderedDict()
        self._lock = threading.Lock()
        self._hits = self._misses = self._evaluations = 0

    def get_or_compute(self, key: str, compute: Callable[[], T]) -> T:
        now = self._clock()
        with self._lock:
            found = self._entries.get(key)
            if found is not None and now - found[0] < self.ttl_seconds:
                self._entries.move_to_end(key)
                self._hits += 1
                return found[1]
            self._misses += 1
        value = compute()  # outside the lock: two concurrent misses may both compute, which is harmless
        with self._lock:
            self._evaluations += 1
            self._entries[key] = (self._clock(), value)
            self._entries.move_to_end(key)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)
        return value

    def stats(self) -> dict[str, int]:
        with self._lock:
            return {"hits": self._hits, "misses": self._misses, "evaluations": self._evaluations,
                    "size": len(self._entries)}

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._hits = self._misses = self._evaluations = 0
