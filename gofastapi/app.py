"""The application object: ``GoFastAPI``."""

from __future__ import annotations

import hashlib
import json
import logging
import types
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

from . import params
from ._loop import close_loop, run_sync
from ._runner import Runtime
from ._edge_plan import edge_plan
from ._settings import validate_settings
from .exception_handlers import (
    http_exception_handler,
    request_validation_exception_handler,
)
from .exceptions import HTTPException, RequestValidationError
from .routing import APIRoute, APIRouter

__all__ = ["GoFastAPI"]

F = TypeVar("F", bound=Callable[..., Any])
logger = logging.getLogger("gofastapi")


class GoFastAPI:
    """A GoFastAPI application: routes, middleware, exception handlers, lifecycle hooks and settings.

    ``settings`` are validated here (a bad value raises ``ValueError`` or
    ``TypeError`` naming the setting) and exported to the Go server, which
    enforces them:

    - ``cors_origins`` (list of origins or ``"*"``, default ``[]``),
      ``cors_methods`` (default ``["GET"]``), ``cors_headers`` (default ``[]``),
      ``cors_credentials`` (bool, default ``False``; not with ``"*"``),
      ``cors_max_age`` (int seconds >= 0, default 600);
    - ``security_headers``: ``True`` (the server's defaults), ``False`` or a
      dict header → value;
    - ``max_request_size``: bytes as an int or a string ``"100"``, ``"512KB"``,
      ``"10MB"``, ``"1GiB"``; KB/MB/GB/TB are 1024-based (as in nginx), and
      KiB/MiB/GiB/TiB mean the same; default 1 MiB; ``None`` leaves the
      server's limit;
    - ``rate_limit``: ``None`` or ``"N/second|minute|hour"``, optionally
      ``";burst=B"``;
    - ``allowed_imports``: ``None`` or a list of module names the import guard allows;
    - ``timeout``: request timeout in seconds (``None``: the server's default).
    """

    def __init__(
        self,
        debug: bool = False,
        title: str = "GoFastAPI",
        version: str = "0.1.0",
        *,
        description: str = "",
        dependencies: Sequence[params.Depends] | None = None,
        lifespan: Callable[[GoFastAPI], Any] | None = None,
        on_startup: Sequence[Callable[[], Any]] | None = None,
        on_shutdown: Sequence[Callable[[], Any]] | None = None,
        exception_handlers: Mapping[Any, Callable[..., Any]] | None = None,
        **settings: Any,
    ) -> None:
        if not isinstance(debug, bool):
            raise TypeError(f"debug must be True or False, not {debug!r}")
        if not isinstance(title, str) or not isinstance(version, str):
            raise TypeError("title and version must be strings")
        self.debug = debug
        self.title = title
        self.version = version
        self.description = description
        self.settings = validate_settings(settings)
        self.router = APIRouter(dependencies=dependencies)
        self.state = types.SimpleNamespace()
        self.exception_handlers: dict[Any, Callable[..., Any]] = {
            HTTPException: http_exception_handler,
            RequestValidationError: request_validation_exception_handler,
        }
        for key, handler in (exception_handlers or {}).items():
            self.add_exception_handler(key, handler)
        self.user_middleware: list[Callable[..., Any]] = []
        self._on_startup = list(on_startup or [])
        self._on_shutdown = list(on_shutdown or [])
        self._lifespan = lifespan
        self._lifespan_cm: Any = None
        self._lifespan_state: dict[str, Any] | None = None
        self._started = False
        self._frozen = False
        self._runtime: Runtime | None = None
        self._runtime_key: tuple[int, int, int] | None = None

    # -- routes

    @property
    def routes(self) -> list[APIRoute]:
        return self.router.routes

    def add_api_route(
        self, path: str, endpoint: Callable[..., Any], **options: Any
    ) -> APIRoute:
        return self.router.add_api_route(path, endpoint, **options)

    def api_route(
        self, path: str, *, methods: Sequence[str] | None = None, **options: Any
    ) -> Callable[[F], F]:
        return self.router.api_route(path, methods=methods, **options)  # type: ignore[return-value]

    def get(self, path: str, **options: Any) -> Callable[[F], F]:
        return self.api_route(path, methods=["GET"], **options)

    def post(self, path: str, **options: Any) -> Callable[[F], F]:
        return self.api_route(path, methods=["POST"], **options)

    def put(self, path: str, **options: Any) -> Callable[[F], F]:
        return self.api_route(path, methods=["PUT"], **options)

    def patch(self, path: str, **options: Any) -> Callable[[F], F]:
        return self.api_route(path, methods=["PATCH"], **options)

    def delete(self, path: str, **options: Any) -> Callable[[F], F]:
        return self.api_route(path, methods=["DELETE"], **options)

    def head(self, path: str, **options: Any) -> Callable[[F], F]:
        return self.api_route(path, methods=["HEAD"], **options)

    def options(self, path: str, **options: Any) -> Callable[[F], F]:
        return self.api_route(path, methods=["OPTIONS"], **options)

    def include_router(
        self,
        router: APIRouter,
        *,
        prefix: str = "",
        tags: Sequence[str] | None = None,
        dependencies: Sequence[params.Depends] | None = None,
        include_in_schema: bool = True,
    ) -> None:
        self.router.include_router(
            router,
            prefix=prefix,
            tags=tags,
            dependencies=dependencies,
            include_in_schema=include_in_schema,
        )

    # -- hooks

    def _check_open(self, what: str) -> None:
        if self._frozen:
            raise RuntimeError(
                f"cannot add {what}: the app is frozen once it is loaded"
            )

    def exception_handler(
        self, exc_class_or_status_code: type[BaseException] | int
    ) -> Callable[[F], F]:
        """Decorator: ``handler(request, exc) -> Response`` for an exception class or an HTTP status."""

        def decorator(func: F) -> F:
            self.add_exception_handler(exc_class_or_status_code, func)
            return func

        return decorator

    def add_exception_handler(
        self, key: type[BaseException] | int, handler: Callable[..., Any]
    ) -> None:
        self._check_open("an exception handler")
        if not (
            isinstance(key, int)
            or (isinstance(key, type) and issubclass(key, BaseException))
        ):
            raise TypeError(
                f"exception handlers are keyed by an exception class or a status code, not {key!r}"
            )
        self.exception_handlers[key] = handler

    def middleware(self, middleware_type: str = "http") -> Callable[[F], F]:
        """Decorator for ``(async) def mw(request, call_next) -> Response``; ``"request"`` is an alias of ``"http"``.

        The last registered middleware runs outermost (as in Starlette).
        """
        if middleware_type not in ("http", "request"):
            raise ValueError(
                f'middleware type must be "http" (or "request"), not {middleware_type!r}'
            )

        def decorator(func: F) -> F:
            self._check_open("a middleware")
            if not callable(func):
                raise TypeError("a middleware must be callable")
            self.user_middleware.append(func)
            return func

        return decorator

    def on_event(self, event_type: str) -> Callable[[F], F]:
        """Decorator for ``"startup"`` / ``"shutdown"`` hooks (sync or async), run once per interpreter."""
        if event_type not in ("startup", "shutdown"):
            raise ValueError(
                f'event type must be "startup" or "shutdown", not {event_type!r}'
            )

        def decorator(func: F) -> F:
            self.add_event_handler(event_type, func)
            return func

        return decorator

    def add_event_handler(self, event_type: str, func: Callable[[], Any]) -> None:
        self._check_open("an event handler")
        if event_type == "startup":
            self._on_startup.append(func)
        elif event_type == "shutdown":
            self._on_shutdown.append(func)
        else:
            raise ValueError(
                f'event type must be "startup" or "shutdown", not {event_type!r}'
            )

    # -- lifecycle (used by _dispatch and TestClient)

    def freeze(self) -> None:
        """Refuse any further route, middleware or handler."""
        self._frozen = True
        self.router._frozen = True

    def runtime(self) -> Runtime:
        """The compiled runtime, rebuilt if routes or hooks changed since it was built."""
        key = (
            len(self.router.routes),
            len(self.user_middleware),
            len(self.exception_handlers),
        )
        if self._runtime is None or self._runtime_key != key:
            self._runtime = Runtime(self)
            self._runtime_key = key
        return self._runtime

    def startup(self) -> None:
        """Run the startup hooks and enter the lifespan (once)."""
        if self._started:
            return
        self._started = True
        for hook in self._on_startup:
            result = hook()
            if hasattr(result, "__await__"):
                run_sync(result)
        if self._lifespan is not None:
            cm = self._lifespan(self)
            state = (
                run_sync(cm.__aenter__())
                if hasattr(cm, "__aenter__")
                else cm.__enter__()
            )
            self._lifespan_cm = cm
            if isinstance(state, Mapping):
                self._lifespan_state = dict(state)

    def shutdown(self) -> None:
        """Leave the lifespan and run the shutdown hooks; errors are logged, never raised."""
        if not self._started:
            return
        self._started = False
        cm, self._lifespan_cm = self._lifespan_cm, None
        if cm is not None:
            try:
                if hasattr(cm, "__aexit__"):
                    run_sync(cm.__aexit__(None, None, None))
                else:
                    cm.__exit__(None, None, None)
            except Exception:
                logger.exception("lifespan shutdown failed")
        for hook in self._on_shutdown:
            try:
                result = hook()
                if hasattr(result, "__await__"):
                    run_sync(result)
            except Exception:
                logger.exception(
                    "shutdown hook %s failed", getattr(hook, "__qualname__", hook)
                )
        close_loop()

    def describe(self) -> dict[str, Any]:
        """The app's description for Go (protocol.md §1), without the protocol number."""
        routes = [route.describe(i) for i, route in enumerate(self.router.routes)]
        for desc, route in zip(routes, self.router.routes):
            desc["validate"] = edge_plan(self, route)
        canonical = json.dumps(routes, sort_keys=True)
        return {
            "title": self.title,
            "version": self.version,
            "debug": self.debug,
            "settings": self.settings,
            "routes": routes,
            "fingerprint": hashlib.sha256(canonical.encode("utf-8")).hexdigest(),
        }

    def __repr__(self) -> str:
        return f"GoFastAPI(title={self.title!r}, routes={len(self.router.routes)})"
