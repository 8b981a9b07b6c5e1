"""A Redis cache that fails open: with Redis unreachable it answers misses instead of errors.

The cache holds nothing that must survive (rate-limit counters, short-lived locks), so losing it
must not take sign-in down with it; the account lockout lives in the database (axes).
"""

from __future__ import annotations

import functools
import logging

from django.core.cache.backends.redis import RedisCache
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

logger = logging.getLogger("trialportal.cache")

UNREACHABLE = (RedisConnectionError, RedisTimeoutError)


def _fail_open(fallback):
    """Answer `fallback(*args, **kwargs)` when Redis cannot be reached."""

    def decorate(method):
        @functools.wraps(method)
        def wrapper(self, *args, **kwargs):
            try:
                return method(self, *args, **kwargs)
            except UNREACHABLE as exc:
                logger.warning("cache unreachable, %s answered as a miss: %s", method.__name__, exc)
                return fallback(*args, **kwargs)

        return wrapper

    return decorate


def _default(key, default=None, *args, **kwargs):
    return default


class FailOpenRedisCache(RedisCache):
    """Django's Redis cache, answering a miss (or "stored") when Redis is down."""

    get = _fail_open(_default)(RedisCache.get)
    # add() says "stored": a lock taken in a dead cache must not spin until its timeout.
    add = _fail_open(lambda *args, **kwargs: True)(RedisCache.add)
    set = _fail_open(lambda *args, **kwargs: None)(RedisCache.set)
    touch = _fail_open(lambda *args, **kwargs: False)(RedisCache.touch)
    delete = _fail_open(lambda *args, **kwargs: False)(RedisCache.delete)
    incr = _fail_open(lambda key, delta=1, *args, **kwargs: delta)(RedisCache.incr)
    has_key = _fail_open(lambda *args, **kwargs: False)(RedisCache.has_key)
    get_many = _fail_open(lambda *args, **kwargs: {})(RedisCache.get_many)
    set_many = _fail_open(lambda data, *args, **kwargs: list(data))(RedisCache.set_many)
    delete_many = _fail_open(lambda *args, **kwargs: None)(RedisCache.delete_many)
    clear = _fail_open(lambda *args, **kwargs: False)(RedisCache.clear)
