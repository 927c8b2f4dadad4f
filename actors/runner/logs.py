"""A job's logs: what the attempt prints (stdout, stderr, Ray Data's log lines, a user
script's output) is buffered here, and flushed in order, in chunks, every half second:
stored with the job (cluster/catalog/jobs.py keeps a bounded tail) and published as
`{"type": "job_log"}` events, which the WebSocket forwards to the job's owner and to
admins only."""

from __future__ import annotations

import asyncio
import contextlib
import io
import logging
import sys
import threading
import uuid
from collections.abc import Callable, Iterator
from typing import Any, TextIO

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from cluster.catalog import jobs as catalog_jobs

FLUSH_INTERVAL_S = 0.5
MAX_CHUNK_CHARS = 64 * 1024


class LogBuffer:
    """Thread-safe: any thread appends text; the flusher takes it in order."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._parts: list[str] = []

    def write(self, text: str) -> None:
        if text:
            with self._lock:
                self._parts.append(text)

    def line(self, message: str) -> None:
        self.write(message.rstrip("\n") + "\n")

    def take(self) -> str:
        with self._lock:
            text, self._parts = "".join(self._parts), []
        return text


class _Tee(io.TextIOBase):
    def __init__(self, original: TextIO, buffer: LogBuffer) -> None:
        self._original = original
        self._buffer = buffer

    def write(self, text: str) -> int:
        self._buffer.write(text)
        try:
            return self._original.write(text)
        except ValueError:  # the original was closed
            return len(text)

    def flush(self) -> None:
        with contextlib.suppress(ValueError):
            self._original.flush()

    def isatty(self) -> bool:
        return False

    def fileno(self) -> int:
        return self._original.fileno()


class _Handler(logging.Handler):
    def __init__(self, buffer: LogBuffer) -> None:
        super().__init__(logging.INFO)
        self._buffer = buffer
        self.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        with contextlib.suppress(Exception):
            self._buffer.line(self.format(record))


@contextlib.contextmanager
def captured(buffer: LogBuffer) -> Iterator[None]:
    """While the attempt runs: stdout and stderr are teed into the buffer, and Ray Data's
    log records copied into it. One job runs in a process at a time, so process-wide
    redirection sees only this job's output."""
    stdout, stderr = sys.stdout, sys.stderr
    handler = _Handler(buffer)
    loggers = [logging.getLogger("ray.data"), logging.getLogger("helio.job")]
    sys.stdout, sys.stderr = _Tee(stdout, buffer), _Tee(stderr, buffer)
    for logger in loggers:
        logger.addHandler(handler)
    try:
        yield
    finally:
        sys.stdout, sys.stderr = stdout, stderr
        for logger in loggers:
            logger.removeHandler(handler)


class LogWriter:
    """Numbers the chunks of one attempt's output (continuing after the job's earlier
    attempts) and stores and publishes them."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], *, job_id: uuid.UUID,
                 owner_id: uuid.UUID | None, attempt: int, max_bytes: int,
                 publish: Callable[[dict[str, Any]], Any]) -> None:
        self.sessions = sessions
        self.job_id = job_id
        self.owner_id = owner_id
        self.attempt = attempt
        self.max_bytes = max_bytes
        self.publish = publish
        self.seq: int | None = None
        self.kept = 0
        self._lock: asyncio.Lock | None = None

    async def flush(self, buffer: LogBuffer) -> None:
        # One flush at a time (the periodic one and the one before an outcome): chunks
        # are stored and published in the order of their numbers.
        self._lock = self._lock or asyncio.Lock()
        async with self._lock:
            await self._flush(buffer)

    async def _flush(self, buffer: LogBuffer) -> None:
        text = buffer.take()
        while text:
            chunk, text = text[:MAX_CHUNK_CHARS], text[MAX_CHUNK_CHARS:]
            async with self.sessions() as session:
                if self.seq is None:
                    self.seq, self.kept = await catalog_jobs.log_state(session, self.job_id)
                self.seq += 1
                self.kept = await catalog_jobs.append_log(
                    session, self.job_id, self.attempt, self.seq, chunk,
                    max_bytes=self.max_bytes, kept_bytes=self.kept)
            self.publish({"type": "job_log", "owner_id": str(self.owner_id or ""),
                          "job_log": {"job_id": str(self.job_id), "seq": self.seq,
                                      "attempt": self.attempt, "text": chunk}})
