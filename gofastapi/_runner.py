"""Per-request execution of the route plans: the code behind ``_dispatch.handle``.

``Runtime(app)`` compiles every route once into a runner chosen for what the
route needs: a bare call for a handler without parameters, a sync runner, an
async runner (one event loop per interpreter and thread), or the middleware
chain. Each runner returns the protocol triple ``(status, headers, body)`` and
never raises: the exception layering follows Starlette (handled exceptions →
their handler; anything else → logged 500).
"""

from __future__ import annotations

import inspect
import logging
import traceback
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ._convert import Invalid, prefix_errors
from ._logging import request_id_var
from ._loop import get_loop, record_error, run_sync
from ._solve import exit_async, exit_sync, solve_async, solve_sync
from .dependencies import CALL, CALL_ASYNC
from .encoders import dumps
from .exceptions import HTTPException, RequestValidationError, ResponseValidationError
from .requests import _UNPARSED, Request
from .responses import InvalidResponseError, JSONResponse, Response, body_allowed

if TYPE_CHECKING:
    from .app import GoFastAPI
    from .routing import APIRoute

__all__ = ["Runtime", "get_loop"]

Wire = tuple[int, bytes, bytes]
Runner = Callable[..., Wire]

error_logger = logging.getLogger("gofastapi.error")

_JSON_HEADERS = b"content-type: application/json\r\n"
_INTERNAL_ERROR: Wire = (500, _JSON_HEADERS, b'{"detail":"Internal Server Error"}')
# --------------------------------------------------------------------------- routes


class _Plan:
    """What one route does per request, fixed when the runtime is built."""

    __slots__ = (
        "route",
        "dep",
        "call",
        "status",
        "response_conv",
        "fast_json",
        "response_class",
    )

    def __init__(self, route: APIRoute) -> None:
        self.route = route
        self.dep = route.dependant
        self.call = route.dependant.call
        self.status = route.status_code if route.status_code is not None else 200
        self.response_conv = route.response_converter
        self.response_class = route.response_class
        self.fast_json = route.response_class is JSONResponse

    def finish(self, req: Request, result: Any, as_object: bool) -> Any:
        """Turn the handler's return value into the wire triple (or a ``Response`` object)."""
        if isinstance(result, Response):
            return result if as_object else result._wire()
        if self.response_conv is not None:
            try:
                result = self.response_conv(result)
            except Invalid as exc:
                raise ResponseValidationError(
                    prefix_errors(exc.errors, ("response",)), body=result
                ) from None
        sub = req._sub
        status = self.status
        if sub is not None and sub.status_code:
            status = sub.status_code
        if self.fast_json and not as_object and (sub is None or not sub.headers.raw):
            if not body_allowed(status):
                return (status, b"", b"")
            return (status, _JSON_HEADERS, dumps(result))
        response = self.response_class(result, status_code=status)
        if sub is not None:
            response.headers.raw.extend(sub.headers.raw)
        if not body_allowed(status):
            response.body = b""
        return response if as_object else response._wire()


class Runtime:
    """The compiled, per-interpreter form of a frozen app."""

    def __init__(self, app: GoFastAPI) -> None:
        self.app = app
        self.routes: tuple[APIRoute, ...] = tuple(app.router.routes)
        handlers = dict(app.exception_handlers)
        self._server_handler = handlers.get(500) or handlers.get(Exception)
        self._status_handlers = {
            k: v for k, v in handlers.items() if isinstance(k, int) and k != 500
        }
        self._type_handlers = {
            k: v
            for k, v in handlers.items()
            if isinstance(k, type) and k is not Exception
        }
        self.runners: tuple[Runner, ...] = tuple(self._compile(r) for r in self.routes)

    def handle(self, route_id: int, *args: Any) -> Wire:
        return self.runners[route_id](*args)

    # -- compiling

    def _compile(self, route: APIRoute) -> Runner:
        plan = _Plan(route)
        if self.app.user_middleware:
            return self._middleware_runner(plan)
        dep = plan.dep
        if (
            dep.is_trivial
            and dep.kind == CALL
            and plan.fast_json
            and plan.response_conv is None
        ):
            return self._trivial_runner(plan)
        if dep.needs_async:
            return self._async_runner(plan)
        return self._sync_runner(plan)

    def _trivial_runner(self, plan: _Plan) -> Runner:
        app, route, call, status = self.app, plan.route, plan.call, plan.status
        has_body = body_allowed(status)
        set_id, reset_id = request_id_var.set, request_id_var.reset
        error = self._error_wire

        def run(
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
        ) -> Wire:
            token = set_id(request_id)
            try:
                result = call()
                if isinstance(result, Response):
                    return result._wire()
                if has_body:
                    return (status, _JSON_HEADERS, dumps(result))
                return (status, b"", b"")
            except BaseException as exc:
                req = Request(
                    app,
                    route,
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
                return error(req, exc)
            finally:
                reset_id(token)

        return run

    def _sync_runner(self, plan: _Plan) -> Runner:
        app, route = self.app, plan.route
        inner, error = self._inner_sync, self._error_wire
        set_id, reset_id = request_id_var.set, request_id_var.reset

        def run(*args: Any) -> Wire:
            token = set_id(args[8])
            req = Request(app, route, *args)
            try:
                return inner(plan, req, False)  # type: ignore[no-any-return]
            except BaseException as exc:
                return error(req, exc)
            finally:
                reset_id(token)

        return run

    def _async_runner(self, plan: _Plan) -> Runner:
        app, route = self.app, plan.route
        inner, error = self._inner_async, self._error_wire
        set_id, reset_id = request_id_var.set, request_id_var.reset

        def run(*args: Any) -> Wire:
            token = set_id(args[8])
            req = Request(app, route, *args)
            try:
                return get_loop().run_until_complete(inner(plan, req, False))  # type: ignore[no-any-return]
            except BaseException as exc:
                return error(req, exc)
            finally:
                reset_id(token)

        return run

    def _middleware_runner(self, plan: _Plan) -> Runner:
        app, route = self.app, plan.route
        set_id, reset_id = request_id_var.set, request_id_var.reset
        if plan.dep.needs_async:

            async def endpoint(req: Request) -> Response:
                try:
                    return await self._inner_async(plan, req, True)  # type: ignore[no-any-return]
                except BaseException as exc:
                    handler = self._lookup(exc)
                    if handler is None:
                        raise
                    response = handler(req, exc)
                    if inspect.isawaitable(response):
                        response = await response
                    return _check_response(response, handler)

            call: Callable[[Request], Any] = endpoint
        else:

            def sync_endpoint(req: Request) -> Response:
                try:
                    return self._inner_sync(plan, req, True)  # type: ignore[no-any-return]
                except BaseException as exc:
                    handler = self._lookup(exc)
                    if handler is None:
                        raise
                    return _check_response(_resolve(handler(req, exc)), handler)

            call = sync_endpoint
        for mw in self.app.user_middleware:  # first registered is innermost
            call = _layer(mw, call)
        outer = call

        def run(*args: Any) -> Wire:
            token = set_id(args[8])
            req = Request(app, route, *args)
            try:
                response = _resolve(outer(req))
                return _check_response(response, "middleware")._wire()
            except BaseException as exc:
                return self._server_error_wire(req, exc)
            finally:
                reset_id(token)

        return run

    # -- running

    def _inner_sync(self, plan: _Plan, req: Request, as_object: bool) -> Any:
        try:
            errors: list[dict[str, Any]] = []
            values = solve_sync(plan.dep, req, errors)
            if errors:
                raise RequestValidationError(
                    errors, body=req._json if req._json is not _UNPARSED else None
                )
            out = plan.finish(req, plan.call(**values), as_object)
        except BaseException as exc:
            if req._exits:
                exit_sync(req._exits, exc)
            raise
        if req._exits:
            exit_sync(req._exits, None)
        return out

    async def _inner_async(self, plan: _Plan, req: Request, as_object: bool) -> Any:
        try:
            errors: list[dict[str, Any]] = []
            values = await solve_async(plan.dep, req, errors)
            if errors:
                raise RequestValidationError(
                    errors, body=req._json if req._json is not _UNPARSED else None
                )
            result = plan.call(**values)
            if plan.dep.kind == CALL_ASYNC:
                result = await result
            out = plan.finish(req, result, as_object)
        except BaseException as exc:
            if req._exits:
                await exit_async(req._exits, exc)
            raise
        if req._exits:
            await exit_async(req._exits, None)
        return out

    # -- errors

    def _lookup(self, exc: BaseException) -> Callable[..., Any] | None:
        """The handler for an exception the app handles itself (not a 500), if any."""
        if isinstance(exc, InvalidResponseError):
            return None
        if isinstance(exc, HTTPException) and self._status_handlers:
            by_status: Callable[..., Any] | None = self._status_handlers.get(
                exc.status_code
            )
            if by_status is not None:
                return by_status
        for cls in type(exc).__mro__:
            by_type: Callable[..., Any] | None = self._type_handlers.get(cls)
            if by_type is not None:
                return by_type
        return None

    def _error_wire(self, req: Request, exc: BaseException) -> Wire:
        """The response for an exception raised by the route (handled, or a 500)."""
        handler = self._lookup(exc)
        if handler is None:
            return self._server_error_wire(req, exc)
        try:
            return _check_response(_resolve(handler(req, exc)), handler)._wire()
        except BaseException as new:
            return self._server_error_wire(req, new)

    def _server_error_wire(self, req: Request, exc: BaseException) -> Wire:
        """Log ``exc`` with the request id and answer 500 (via a user 500 handler if any)."""
        try:
            route = req.route.name if req.route is not None else ""
            error_logger.error(
                "unhandled exception in %s %s (%s): %s: %s",
                req.method,
                req._path,
                route,
                type(exc).__name__,
                exc,
                exc_info=(type(exc), exc, exc.__traceback__),
                extra={"request_id": req.request_id, "route": route},
            )
            record_error(exc)
            handler = self._server_handler
            if handler is not None and isinstance(exc, Exception):
                try:
                    return _check_response(_resolve(handler(req, exc)), handler)._wire()
                except BaseException as new:
                    error_logger.error(
                        "the 500 exception handler failed: %s",
                        new,
                        exc_info=(type(new), new, new.__traceback__),
                        extra={"request_id": req.request_id},
                    )
            if self.app.debug:
                content = {
                    "detail": "Internal Server Error",
                    "traceback": "".join(traceback.format_exception(exc)),
                }
                return JSONResponse(content, status_code=500)._wire()
        except BaseException:  # logging or encoding failed: still answer
            pass
        return _INTERNAL_ERROR


def _resolve(value: Any) -> Any:
    return run_sync(value) if inspect.isawaitable(value) else value


def _check_response(response: Any, source: Any) -> Response:
    if not isinstance(response, Response):
        name = getattr(source, "__qualname__", source)
        raise TypeError(f"{name} must return a Response, not {type(response).__name__}")
    return response


def _layer(
    mw: Callable[..., Any], inner: Callable[[Request], Any]
) -> Callable[[Request], Any]:
    """Wrap ``inner`` (sync or async) in the ``mw(request, call_next)`` middleware."""
    if inspect.iscoroutinefunction(mw) or inspect.iscoroutinefunction(
        type(mw).__call__
    ):

        async def call_next_async(request: Request) -> Response:
            response = inner(request)
            if inspect.isawaitable(response):
                response = await response
            return response  # type: ignore[no-any-return]

        async def async_layer(request: Request) -> Response:
            return _check_response(await mw(request, call_next_async), mw)

        return async_layer

    def call_next(request: Request) -> Response:
        return _resolve(inner(request))  # type: ignore[no-any-return]

    def sync_layer(request: Request) -> Response:
        return _check_response(_resolve(mw(request, call_next)), mw)

    return sync_layer
