"""Calling Helio's named actors from replicas."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any


class NamedActor:
    """Creates (or finds) a named actor on first use and calls it with a timeout.

    After a RayActorError the handle is dropped and fetched again on the next call: the
    actor restarts under the same name (`max_restarts=-1`)."""

    def __init__(self, get_or_create: Callable[[], Any], timeout_s: float = 2.0) -> None:
        self._get_or_create = get_or_create
        self._timeout = timeout_s
        self._handle: Any = None

    async def call(self, method: str, *args: Any) -> Any:
        from ray.exceptions import RayActorError

        if self._handle is None:
            self._handle = self._get_or_create()
        try:
            return await asyncio.wait_for(getattr(self._handle, method).remote(*args),
                                          timeout=self._timeout)
        except RayActorError:
            self._handle = None
            raise
