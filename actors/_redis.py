"""Redis connection for the actors (created inside the actor process, never at import)."""

from __future__ import annotations

from redis.asyncio import Redis

KEY_PREFIX = "helio:"


def connect(url: str) -> Redis:
    return Redis.from_url(url, socket_timeout=0.5, socket_connect_timeout=0.5,
                          health_check_interval=5, decode_responses=False)
