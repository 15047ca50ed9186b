"""JSON log lines on standard error, in the shape of the Go server's ``log/slog`` output.

protocol.md §3: one object per line with ``time`` (RFC 3339), ``level``
(``DEBUG|INFO|WARN|ERROR``), ``msg``, ``logger``, ``request_id`` (inside a
request) and any ``extra`` fields.
"""

from __future__ import annotations

import contextvars
import datetime as dt
import json
import logging
import os
import sys
import traceback
from typing import Any, TextIO

__all__ = ["JSONFormatter", "JSONHandler", "install", "request_id_var"]

# The id of the request being handled in this context ("" outside requests).
request_id_var: contextvars.ContextVar[str] = contextvars.ContextVar(
    "gofastapi_request_id", default=""
)

_LEVELS = {"WARNING": "WARN", "CRITICAL": "ERROR", "FATAL": "ERROR"}
# Attributes every LogRecord has; anything else came from ``extra=``.
_STANDARD = frozenset(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {
    "message",
    "asctime",
    "taskName",
}


def _safe(value: Any) -> Any:
    if isinstance(value, (str, int, float, bool, type(None))):
        return value
    try:
        json.dumps(value)
        return value
    except (TypeError, ValueError):
        return repr(value)


class JSONFormatter(logging.Formatter):
    """Formats a record as one JSON object (no trailing newline)."""

    def format(self, record: logging.LogRecord) -> str:
        when = dt.datetime.fromtimestamp(record.created, tz=dt.UTC)
        out: dict[str, Any] = {
            "time": when.isoformat(timespec="microseconds").replace("+00:00", "Z"),
            "level": _LEVELS.get(record.levelname, record.levelname),
            "msg": record.getMessage(),
            "logger": record.name,
        }
        request_id = getattr(record, "request_id", None) or request_id_var.get()
        if request_id:
            out["request_id"] = request_id
        for key, value in record.__dict__.items():
            if key not in _STANDARD and key not in out and not key.startswith("_"):
                out[key] = _safe(value)
        if record.exc_info and record.exc_info[0] is not None:
            out["exc_type"] = record.exc_info[0].__name__
            out["traceback"] = "".join(
                traceback.format_exception(*record.exc_info)
            ).rstrip()
        if record.stack_info:
            out["stack"] = record.stack_info
        return json.dumps(out, ensure_ascii=False, separators=(",", ":"), default=str)


class JSONHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes JSON lines to ``sys.stderr`` (looked up per record, so redirection works)."""

    def __init__(self, stream: TextIO | None = None) -> None:
        super().__init__(stream)
        self._fixed = stream is not None
        self.setFormatter(JSONFormatter())

    def emit(self, record: logging.LogRecord) -> None:
        if not self._fixed:
            self.stream = sys.stderr
        super().emit(record)


def install() -> None:
    """Install the JSON handler on the root logger unless logging is already configured.

    The root level is INFO, or ``GOFASTAPI_LOG_LEVEL`` (DEBUG, INFO, WARN,
    WARNING, ERROR) when set, which also applies to an existing configuration.
    """
    root = logging.getLogger()
    if not root.handlers:
        root.addHandler(JSONHandler())
        root.setLevel(logging.INFO)
    level = os.environ.get("GOFASTAPI_LOG_LEVEL", "").strip().upper()
    if level:
        level = {"WARN": "WARNING"}.get(level, level)
        if level not in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"):
            raise ValueError(
                f"GOFASTAPI_LOG_LEVEL must be DEBUG, INFO, WARN or ERROR, not {level!r}"
            )
        root.setLevel(level)
