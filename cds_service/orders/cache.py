"""The select->sign cache: order-sign reuses the order checks order-select computed, on any worker or host.

The key is a digest of everything the checks read: the patient, the draft orders, the prefetched data, the
unavailable prefetch keys and the reference date (not the hook, not the selections: the checks cover every draft
order and the handler filters). It is keyed on CONTENT: a searchset Bundle counts by its resources only, never by
the Bundle id, meta, links or timestamp a FHIR server regenerates per search (so order-sign, whose prefetch the
EHR searched again, finds order-select's entry). Any change of content gives a new key, so a stale answer is
impossible; the TTL only bounds how long an unchanged chart is trusted and how much the store keeps.

`SharedCache` keeps the entries in the service's store (`use_store`, called by the app factory), so every
worker and host sees them; without a store (the CLI, handler tests) it is a per-process LRU (`TtlCache`). A
store failure is never a failed call: the checks are computed instead. The key is a digest and the values are
the checks' own texts: no patient identifier is kept.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import threading
import time
from collections import OrderedDict
from typing import Any, Callable, Generic, TypeVar

import orjson

T = TypeVar("T")
log = logging.getLogger("kmt2a_cds.cache")

# Bundle members a server regenerates per search: they say nothing about the patient's data.
_VOLATILE_BUNDLE = ("id", "meta", "link", "timestamp", "total", "identifier", "signature")


def _content(value: Any) -> Any:
    """A searchset (or collection) Bundle as its resources in a stable order; a mapping of prefetch keys
    with each Bundle so reduced. Only these two levels are walked: resources are digested as sent."""
    if isinstance(value, dict):
        if value.get("resourceType") == "Bundle":
            entries = value.get("entry") if isinstance(value.get("entry"), list) else []  # the EHR's: any shape
            resources = [e.get("resource") for e in entries if isinstance(e, dict)]
            return {"Bundle": sorted(resources, key=_order)}
        if "resourceType" not in value:
            return {k: _content(v) if isinstance(v, dict) else v for k, v in value.items()}
    return value


def _order(resource: Any) -> tuple[str, str]:
    if isinstance(resource, dict):
        return str(resource.get("resourceType", "")), str(resource.get("id", ""))
    return "", ""


def content_key(*parts: object) -> str:
    """A stable digest of JSON-like parts: dict key order, Bundle ids, metadata and entry order do not matter."""
    digest = hashlib.sha256()
    for part in parts:
        digest.update(orjson.dumps(_content(part), option=orjson.OPT_SORT_KEYS, default=str))
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


@dataclasses.dataclass(frozen=True)
class Codec(Generic[T]):
    """How a cached value is written to the store and read back (JSON, never pickle: the store is shared)."""

    encode: Callable[[T], bytes]
    decode: Callable[[bytes], T]


def dataclass_tuple_codec(cls: type) -> Codec:
    """A tuple of frozen dataclass instances of `cls` as JSON; list fields whose default is a tuple are read
    back as tuples, so a decoded value equals the computed one."""
    tuple_fields = {f.name for f in dataclasses.fields(cls) if isinstance(f.default, tuple)}

    def decode(raw: bytes) -> tuple:
        return tuple(cls(**{k: tuple(v) if k in tuple_fields and isinstance(v, list) else v for k, v in row.items()})
                     for row in orjson.loads(raw))

    return Codec(encode=lambda values: orjson.dumps([dataclasses.asdict(v) for v in values]), decode=decode)


class SharedCache(Generic[T]):
    """`get_or_compute(key, compute)` backed by the store when the app registered one (`use_store`), else by a
    per-process `TtlCache`. `stats()` counts this process's hits, misses and evaluations."""

    def __init__(self, codec: Codec[T], ttl_seconds: float = 300.0, max_entries: int = 256) -> None:
        self.codec, self.ttl_seconds = codec, ttl_seconds
        self.local: TtlCache[T] = TtlCache(ttl_seconds=ttl_seconds, max_entries=max_entries)
        self.store: Any = None  # a cds_service.web.store.Store (not imported: orders/ does not depend on web/)
        self._lock = threading.Lock()
        self._hits = self._misses = self._evaluations = 0

    def use_store(self, store: Any) -> None:
        self.store = store

    def get_or_compute(self, key: str, compute: Callable[[], T]) -> T:
        store = self.store
        if store is None:
            return self.local.get_or_compute(key, compute)
        now = time.time()
        try:
            raw = store.cached(key, newer_than=now - self.ttl_seconds)
        except Exception:  # noqa: BLE001 - the cache is an optimisation: never fail a call over it
            log.exception("shared cache unavailable; computing")
            raw = None
        if raw is not None:
            try:
                value = self.codec.decode(raw)
                self._count(hits=1)
                return value
            except Exception:  # noqa: BLE001 - an entry written by another version: recompute
                log.warning("shared cache entry not readable; computing")
        self._count(misses=1)
        value = compute()
        self._count(evaluations=1)
        try:
            store.cache(key, self.codec.encode(value), now=time.time(), expire_before=time.time() - self.ttl_seconds)
        except Exception:  # noqa: BLE001
            log.exception("shared cache not written")
        return value

    def _count(self, hits: int = 0, misses: int = 0, evaluations: int = 0) -> None:
        with self._lock:
            self._hits += hits
            self._misses += misses
            self._evaluations += evaluations

    def stats(self) -> dict[str, int]:
        if self.store is None:
            return self.local.stats()
        with self._lock:
            return {"hits": self._hits, "misses": self._misses, "evaluations": self._evaluations}

    def clear(self) -> None:
        self.local.clear()
        with self._lock:
            self._hits = self._misses = self._evaluations = 0
