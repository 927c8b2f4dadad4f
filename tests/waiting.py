"""The one way tests wait: poll until a condition holds or a deadline passes, then fail
with what was seen last. Every deadline is scaled by HELIO_TEST_TIMEOUT_SCALE (default 1):
on a slow or loaded machine raise the scale, never a test's own number."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")


def scale() -> float:
    try:
        return max(0.1, float(os.environ.get("HELIO_TEST_TIMEOUT_SCALE") or 1.0))
    except ValueError:
        return 1.0


def scaled(seconds: float) -> float:
    return seconds * scale()


def _timed_out(what: str, timeout_s: float, last: object, error: BaseException | None) -> str:
    seen = f"last error: {type(error).__name__}: {error}" if error is not None else \
        f"last seen: {str(last)[-3000:]}"
    return (f"timed out after {scaled(timeout_s):.0f} s (HELIO_TEST_TIMEOUT_SCALE={scale():g}) "
            f"waiting for {what}; {seen}")


def wait_for(observe: Callable[[], T], until: Callable[[T], bool] = bool, *, timeout_s: float,
             what: str, interval_s: float = 0.2,
             retry_on: tuple[type[BaseException], ...] = ()) -> T:
    """Call `observe` until `until(observation)`; returns that observation. Errors listed
    in `retry_on` count as "not yet" (a service still starting)."""
    deadline = time.monotonic() + scaled(timeout_s)
    last: object = None
    error: BaseException | None = None
    while True:
        try:
            last = value = observe()
            error = None
            if until(value):
                return value
        except retry_on as exc:
            error = exc
        if time.monotonic() > deadline:
            raise AssertionError(_timed_out(what, timeout_s, last, error))
        time.sleep(interval_s)


async def async_wait_for(observe: Callable[[], Awaitable[T]], until: Callable[[T], bool] = bool,
                         *, timeout_s: float, what: str, interval_s: float = 0.2,
                         retry_on: tuple[type[BaseException], ...] = ()) -> T:
    """`wait_for` for coroutines."""
    deadline = time.monotonic() + scaled(timeout_s)
    last: object = None
    error: BaseException | None = None
    while True:
        try:
            last = value = await observe()
            error = None
            if until(value):
                return value
        except retry_on as exc:
            error = exc
        if time.monotonic() > deadline:
            raise AssertionError(_timed_out(what, timeout_s, last, error))
        await asyncio.sleep(interval_s)
