"""Structured JSON logs (structlog) for every Helio process."""

from __future__ import annotations

import logging
import sys

import structlog

_SECRET_KEYS = frozenset({"password", "token", "access_token", "refresh_token", "key", "secret",
                          "authorization", "api_key", "jwt_secret"})


def _redact(_: object, __: str, event_dict: structlog.types.EventDict) -> structlog.types.EventDict:
    for name in list(event_dict):
        if name.lower() in _SECRET_KEYS:
            event_dict[name] = "***"
    return event_dict


def configure_logging(level: str = "INFO", *, json: bool = True) -> None:
    """Idempotent: safe to call from every replica and CLI entry point."""
    renderer: structlog.types.Processor = (
        structlog.processors.JSONRenderer() if json else structlog.dev.ConsoleRenderer()
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            _redact,
            structlog.processors.format_exc_info,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level)),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=False,
    )
