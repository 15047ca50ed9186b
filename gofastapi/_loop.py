"""Per-thread async support: the lazily created event loop and the last-error hook.

Each interpreter's worker owns one OS thread, so a per-thread loop is a
per-interpreter loop. ``asyncio`` is imported only when an app first needs it.
"""

from __future__ import annotations

import threading
from collections.abc import Awaitable
from typing import Any

__all__ = [
    "capture_errors",
    "close_loop",
    "get_loop",
    "last_error",
    "record_error",
    "run_sync",
]

_tls = threading.local()


def get_loop() -> Any:
    """This thread's event loop, created on first use (``asyncio`` is imported lazily)."""
    loop = getattr(_tls, "loop", None)
    if loop is None or loop.is_closed():
        import asyncio

        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        _tls.loop = loop
    return loop


def close_loop() -> None:
    loop = getattr(_tls, "loop", None)
    if loop is not None and not loop.is_closed():
        loop.close()
    _tls.loop = None


def run_sync(awaitable: Awaitable[Any]) -> Any:
    """Wait for ``awaitable`` from sync code: on the loop, or by driving it if the loop is busy."""
    loop = get_loop()
    if not loop.is_running():
        return loop.run_until_complete(awaitable)
    coro = awaitable.__await__()
    try:
        coro.send(None)
    except StopIteration as stop:
        return stop.value
    coro.close()
    raise RuntimeError(
        "sync code (a sync middleware or handler hook) cannot wait for async code that suspends "
        "while the event loop is running; declare it with 'async def'"
    )


def capture_errors(enabled: bool) -> None:
    """Remember the last unhandled exception of this thread (used by ``TestClient``)."""
    _tls.capture = enabled
    _tls.last_error = None


def last_error() -> BaseException | None:
    err = getattr(_tls, "last_error", None)
    _tls.last_error = None
    return err


def record_error(exc: BaseException) -> None:
    """Remember ``exc`` if this thread asked for it (``capture_errors(True)``)."""
    if getattr(_tls, "capture", False):
        _tls.last_error = exc
