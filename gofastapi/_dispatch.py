"""The entry points the Go server calls in every interpreter (docs/protocol.md).

``load(app_spec, app_dir)`` once, then ``handle(...)`` per request, then
``shutdown()`` once at exit. Nothing else in the package is called by Go.
"""

from __future__ import annotations

import contextlib
import importlib
import json
import logging
import os
import sys
from typing import Any

from . import _logging
from ._runner import Runner
from .app import GoFastAPI

__all__ = ["PROTOCOL_VERSION", "handle", "load", "shutdown"]

PROTOCOL_VERSION = 2

_INTERNAL_ERROR = (
    500,
    b"content-type: application/json\r\n",
    b'{"detail":"Internal Server Error"}',
)
_logger = logging.getLogger("gofastapi.error")
_TRUE = frozenset({"1", "t", "true", "yes", "on"})

_app: GoFastAPI | None = None
_runners: tuple[Runner, ...] = ()


def load(app_spec: str, app_dir: str, startup: bool = True) -> str:
    """Import ``"module:attr"`` from ``app_dir``, freeze the app and return the description JSON.

    With ``startup`` (every serving interpreter) the app's start-up hooks and
    lifespan run once here; the main interpreter passes ``False`` to only read
    the description.
    """
    try:
        return _load(app_spec, app_dir, startup)
    except BaseException:
        _forget_dummy_thread()  # the server ends this interpreter next
        raise


def _load(app_spec: str, app_dir: str, startup: bool) -> str:
    global _app, _runners
    module_name, sep, attr = app_spec.partition(":")
    if not sep or not module_name or not attr:
        raise ValueError(f"app spec {app_spec!r} must look like 'module:attribute'")
    if app_dir and app_dir not in sys.path:
        sys.path.insert(0, app_dir)
    module = importlib.import_module(module_name)
    obj: Any = module
    for part in attr.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            raise AttributeError(
                f"module {module_name!r} has no attribute {attr!r}"
            ) from None
    if not isinstance(obj, GoFastAPI):
        kind = type(obj)
        raise TypeError(
            f"{app_spec!r} is a {kind.__module__}.{kind.__qualname__}, not a gofastapi.GoFastAPI app"
        )
    _logging.install()
    if os.environ.get("GOFASTAPI_DEBUG", "").strip().lower() in _TRUE:
        obj.debug = True  # the server's --debug: tracebacks in 500 bodies
    obj.freeze()
    runtime = obj.runtime()
    if startup:
        from . import _guard

        _guard.install(app_dir or os.getcwd(), obj.settings.get("allowed_imports"))
        obj.startup()
    _app, _runners = obj, runtime.runners
    return json.dumps(
        {"protocol": PROTOCOL_VERSION, **obj.describe()}, ensure_ascii=False
    )


def handle(
    route_id: int,
    method: str,
    path: str,
    raw_query: str,
    headers: str,
    body: bytes,
    client_host: str,
    client_port: int,
    scheme: str,
    request_id: str,
    path_values: tuple[str, ...],
) -> tuple[int, bytes, bytes]:
    """Run one request through route ``route_id``; always returns ``(status, headers, body)``."""
    try:
        return _runners[route_id](
            method,
            path,
            raw_query,
            headers,
            body,
            client_host,
            client_port,
            scheme,
            request_id,
            path_values,
        )
    except (
        BaseException
    ) as exc:  # a bug in gofastapi itself: the runners catch everything else
        with contextlib.suppress(BaseException):
            _logger.error(
                "gofastapi failed to handle route %r: %r",
                route_id,
                exc,
                exc_info=(type(exc), exc, exc.__traceback__),
                extra={"request_id": request_id},
            )
        return _INTERNAL_ERROR


def shutdown() -> None:
    """Run the app's shutdown hooks (once per interpreter, at exit); never raises."""
    global _app, _runners
    app, _app, _runners = _app, None, ()
    _forget_dummy_thread()
    if app is None:
        return
    try:
        app.shutdown()
    except BaseException as exc:
        with contextlib.suppress(BaseException):
            _logger.error(
                "shutdown failed: %r", exc, exc_info=(type(exc), exc, exc.__traceback__)
            )


def _forget_dummy_thread() -> None:
    """Drop this thread's ``threading._DummyThread`` now, while ``threading`` still works.

    Requests run on server threads that Python did not start; the first
    ``threading.current_thread()`` there (asyncio calls it) makes a dummy
    thread whose clean-up would otherwise run during interpreter teardown and
    print "Exception ignored" tracebacks to stderr.
    """
    import threading

    local = getattr(threading, "_thread_local_info", None)
    with contextlib.suppress(AttributeError):
        del local._track_dummy_thread_ref  # type: ignore[union-attr]
