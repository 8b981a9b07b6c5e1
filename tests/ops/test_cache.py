"""The cache fails open: with Redis unreachable it answers misses, never errors."""

from __future__ import annotations

from django.core.cache import cache


def test_the_cache_answers_misses_when_redis_is_unreachable(settings):
    settings.CACHES = {
        alias: {**config, "LOCATION": "redis://127.0.0.1:1/0"}
        for alias, config in settings.CACHES.items()
    }
    assert cache.get("limit", "fallback") == "fallback"
    assert cache.add("lock", True) is True  # a lock in a dead cache never spins
    cache.set("limit", [1, 2])
    assert cache.incr("hits", 3) == 3
    assert cache.get_many(["a", "b"]) == {}
    assert cache.delete("lock") is False


def test_the_cache_works_as_usual_when_redis_is_up():
    cache.set("limit", [1, 2])
    assert cache.get("limit") == [1, 2]
    assert cache.add("limit", "other") is False
