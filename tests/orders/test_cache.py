"""The order-check cache: TTL, bound, content keys (the handler-level reuse is in test_requests.py)."""

from __future__ import annotations

from cds_service.orders.cache import TtlCache, content_key


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_second_call_within_ttl_is_a_hit():
    cache, computed = TtlCache(ttl_seconds=300, clock=Clock()), []
    for _ in range(3):
        assert cache.get_or_compute("k", lambda: computed.append(1) or "value") == "value"
    assert len(computed) == 1
    assert cache.stats() == {"hits": 2, "misses": 1, "evaluations": 1, "size": 1}


def test_expired_entry_is_recomputed():
    clock = Clock()
    cache = TtlCache(ttl_seconds=300, clock=clock)
    cache.get_or_compute("k", lambda: 1)
    clock.now += 299
    assert cache.get_or_compute("k", lambda: 2) == 1
    clock.now += 2
    assert cache.get_or_compute("k", lambda: 3) == 3
    assert cache.stats()["evaluations"] == 2


def test_size_is_bounded_least_recently_used_first():
    cache = TtlCache(ttl_seconds=300, max_entries=2, clock=Clock())
    cache.get_or_compute("a", lambda: "A")
    cache.get_or_compute("b", lambda: "B")
    cache.get_or_compute("a", lambda: "A2")  # hit: a becomes the most recent
    cache.get_or_compute("c", lambda: "C")  # evicts b
    assert cache.stats()["size"] == 2
    assert cache.get_or_compute("a", lambda: "again") == "A"
    assert cache.get_or_compute("b", lambda: "B2") == "B2"


def test_content_key_ignores_key_order_but_not_content():
    one = {"entry": [{"resource": {"id": "r", "dose": 270}}], "type": "collection"}
    same = {"type": "collection", "entry": [{"resource": {"dose": 270, "id": "r"}}]}
    other = {"type": "collection", "entry": [{"resource": {"dose": 160, "id": "r"}}]}
    assert content_key("p1", one) == content_key("p1", same)
    assert content_key("p1", one) != content_key("p1", other)
    assert content_key("p1", one) != content_key("p2", one)
    assert "p1" not in content_key("p1", one)  # a digest: no identifier kept
