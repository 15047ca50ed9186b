"""Routes and routers: ``APIRoute``, ``APIRouter`` and path templates.

A path template (``/items/{item_id}``, ``/files/{rest:path}``) compiles to a
Go ``ServeMux`` pattern (``/items/{item_id}``, ``/files/{rest...}``), the
ordered parameter names, and a regex the in-process test client matches with.
Routes whose patterns ServeMux would refuse (a parameter sharing a segment
with text, a catch-all that is not last, two routes it cannot order) are
rejected when they are declared.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from . import params
from ._paths import (
    EQUIVALENT,
    MORE_SPECIFIC,
    OVERLAPS,
    CompiledPath,
    compile_path,
    relation,
)
from ._response_model import DefaultPlaceholder, response_converter
from ._settings import parse_rate_limit, parse_size, parse_timeout
from .dependencies import CALL, CALL_ASYNC, Dependant, analyze, flat_body
from .responses import JSONResponse, Response
from .security import JWTBearer

__all__ = ["APIRoute", "APIRouter", "CompiledPath", "compile_path", "relation"]

_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")


class APIRoute:
    """One endpoint: its methods, compiled path, options and the analysed handler plan."""

    def __init__(
        self,
        path: str,
        endpoint: Callable[..., Any],
        *,
        methods: Sequence[str] | None = None,
        status_code: int | None = None,
        response_class: type[Response] = JSONResponse,
        response_model: Any = DefaultPlaceholder,
        response_model_include: Any = None,
        response_model_exclude: Any = None,
        response_model_by_alias: bool = True,
        response_model_exclude_unset: bool = False,
        response_model_exclude_defaults: bool = False,
        response_model_exclude_none: bool = False,
        name: str | None = None,
        tags: Sequence[str] | None = None,
        summary: str | None = None,
        description: str | None = None,
        include_in_schema: bool = True,
        dependencies: Sequence[params.Depends] | None = None,
        rate_limit: str | None = None,
        max_request_size: int | str | None = None,
        timeout: float | None = None,
        deprecated: bool | None = None,
        operation_id: str | None = None,
        localns: Mapping[str, Any] | None = None,
    ) -> None:
        if not callable(endpoint):
            raise TypeError(f"route {path!r}: the endpoint must be callable")
        self.endpoint = endpoint
        self.name = name or getattr(endpoint, "__name__", type(endpoint).__name__)
        method_list = [m.upper() for m in (methods or ["GET"])]
        for m in method_list:
            if not isinstance(m, str) or _TOKEN.fullmatch(m) is None:
                raise ValueError(f"route {path!r}: invalid HTTP method {m!r}")
        self.methods: tuple[str, ...] = tuple(dict.fromkeys(method_list))
        label = f"{'/'.join(self.methods)} {path}"
        self.compiled = compile_path(path, route=label)
        self.path = path
        self.path_params = self.compiled.param_names
        self.go_pattern = self.compiled.go_pattern
        if status_code is not None and (
            isinstance(status_code, bool)
            or not isinstance(status_code, int)
            or not 100 <= status_code <= 599
        ):
            raise ValueError(
                f"route {label!r}: status_code must be an int from 100 to 599"
            )
        self.status_code = status_code
        if not (
            isinstance(response_class, type) and issubclass(response_class, Response)
        ):
            raise TypeError(
                f"route {label!r}: response_class must be a Response subclass"
            )
        self.response_class = response_class
        self.response_model = response_model
        self.tags = list(tags or [])
        self.summary = summary
        self.description = description
        self.include_in_schema = include_in_schema
        self.deprecated = deprecated
        self.operation_id = operation_id
        self.dependencies = list(dependencies or [])
        # "off" exempts this route from the app's rate limit.
        self.rate_limit = (
            "off"
            if rate_limit == "off"
            else parse_rate_limit(rate_limit, f"route {label!r}: rate_limit")
        )
        self.max_request_size = parse_size(
            max_request_size, f"route {label!r}: max_request_size"
        )
        self.timeout = parse_timeout(timeout, f"route {label!r}: timeout")
        self.dependant: Dependant = analyze(
            endpoint,
            path_params=self.path_params,
            extra=self.dependencies,
            where=f"route {label!r}",
            localns=localns,
        )
        if self.dependant.kind not in (CALL, CALL_ASYNC):
            raise TypeError(
                f"route {label!r}: the handler is a generator function; return a value or a Response instead"
            )
        body = flat_body(self.dependant)
        # FastAPI's rule: one body parameter takes the whole body unless embed=True.
        self.body_embed = len(body) > 1 or (len(body) == 1 and body[0].embed)
        # What Go accepts as Content-Type for a body (415 otherwise); empty: no check.
        self.media_types = sorted({spec.media_type for spec in body})
        serialize = {
            "include": response_model_include,
            "exclude": response_model_exclude,
            "by_alias": response_model_by_alias,
            "exclude_unset": response_model_exclude_unset,
            "exclude_defaults": response_model_exclude_defaults,
            "exclude_none": response_model_exclude_none,
        }
        self.response_converter = response_converter(
            endpoint, response_model, label, serialize
        )
        self.jwt = _jwt_config(self.dependant, label)
        self._options = {
            "status_code": status_code,
            "response_class": response_class,
            "response_model": response_model,
            **{f"response_model_{k}": v for k, v in serialize.items()},
            "name": name,
            "summary": summary,
            "description": description,
            "include_in_schema": include_in_schema,
            "rate_limit": rate_limit,
            "max_request_size": max_request_size,
            "timeout": timeout,
            "deprecated": deprecated,
            "operation_id": operation_id,
            "localns": localns,
        }

    def copy_with(
        self,
        *,
        prefix: str,
        tags: Sequence[str],
        dependencies: Sequence[params.Depends],
        include_in_schema: bool = True,
    ) -> APIRoute:
        """This route re-declared under ``prefix`` with extra tags and dependencies first."""
        options = dict(self._options)
        options["include_in_schema"] = include_in_schema and self.include_in_schema
        return APIRoute(
            prefix + self.path,
            self.endpoint,
            methods=self.methods,
            tags=[*tags, *self.tags],
            dependencies=[*dependencies, *self.dependencies],
            **options,
        )

    def describe(self, route_id: int) -> dict[str, Any]:
        """This route's entry in the description Go reads (protocol.md §1)."""
        return {
            "id": route_id,
            "name": self.name,
            "methods": list(self.methods),
            "path": self.path,
            "go_pattern": self.go_pattern,
            "path_params": list(self.path_params),
            "status_code": self.status_code if self.status_code is not None else 200,
            "include_in_schema": self.include_in_schema,
            "tags": list(self.tags),
            "summary": self.summary,
            "rate_limit": self.rate_limit,
            "max_request_size": self.max_request_size,
            "timeout": self.timeout,
            "media_types": list(self.media_types),
            "jwt": self.jwt,
        }

    def __repr__(self) -> str:
        return f"APIRoute({'/'.join(self.methods)} {self.path!r}, name={self.name!r})"


def _jwt_config(dep: Dependant, label: str) -> dict[str, Any] | None:
    """The edge JWT configuration of the route's ``JWTBearer`` dependencies (protocol.md §2.1).

    Go verifies one configuration per route: two different ones are refused.
    """
    found: dict[str, dict[str, Any]] = {}
    for sub in dep.walk():
        if isinstance(sub.call, JWTBearer):
            config = sub.call.edge_config()
            found[json.dumps(config, sort_keys=True)] = config
    if len(found) > 1:
        raise ValueError(
            f"route {label!r}: depends on JWTBearer objects with different configurations; "
            "the server verifies one JWT configuration per route"
        )
    return next(iter(found.values()), None)


def check_conflict(existing: Sequence[APIRoute], new: APIRoute) -> None:
    """Raise ``ValueError`` if ``new`` duplicates or conflicts with a route in ``existing``."""
    for route in existing:
        for m1 in new.methods:
            for m2 in route.methods:
                rel = relation(m1, new.compiled, m2, route.compiled)
                if rel == EQUIVALENT:
                    raise ValueError(
                        f"duplicate route {m1} {new.path!r}: already declared by {route.name!r} "
                        f"as {m2} {route.path!r}"
                    )
                if rel == OVERLAPS:
                    raise ValueError(
                        f"route {m1} {new.path!r} conflicts with {m2} {route.path!r} ({route.name!r}): "
                        "both match some paths and neither is more specific, which Go's ServeMux refuses"
                    )


class APIRouter:
    """A group of routes with a common ``prefix``, ``tags`` and ``dependencies``."""

    def __init__(
        self,
        *,
        prefix: str = "",
        tags: Sequence[str] | None = None,
        dependencies: Sequence[params.Depends] | None = None,
        default_response_class: type[Response] = JSONResponse,
        include_in_schema: bool = True,
    ) -> None:
        if prefix and (not prefix.startswith("/") or prefix.endswith("/")):
            raise ValueError(
                f"APIRouter prefix {prefix!r} must start with '/' and not end with '/'"
            )
        self.prefix = prefix
        self.tags = list(tags or [])
        self.dependencies = list(dependencies or [])
        self.default_response_class = default_response_class
        self.include_in_schema = include_in_schema
        self.routes: list[APIRoute] = []
        self._frozen = False

    def _add(self, route: APIRoute) -> None:
        if self._frozen:
            raise RuntimeError(
                f"cannot add route {route.path!r}: the app's routes are frozen once it is loaded"
            )
        check_conflict(self.routes, route)
        self.routes.append(route)

    def add_api_route(
        self,
        path: str,
        endpoint: Callable[..., Any],
        *,
        methods: Sequence[str] | None = None,
        response_class: type[Response] | None = None,
        dependencies: Sequence[params.Depends] | None = None,
        tags: Sequence[str] | None = None,
        include_in_schema: bool = True,
        **options: Any,
    ) -> APIRoute:
        route = APIRoute(
            self.prefix + path,
            endpoint,
            methods=methods,
            response_class=response_class or self.default_response_class,
            dependencies=[*self.dependencies, *(dependencies or [])],
            tags=[*self.tags, *(tags or [])],
            include_in_schema=include_in_schema and self.include_in_schema,
            **options,
        )
        self._add(route)
        return route

    def api_route(
        self, path: str, *, methods: Sequence[str] | None = None, **options: Any
    ) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        """Decorator: declare the function as the handler of ``methods`` on ``path``."""

        def decorator(func: Callable[..., Any]) -> Callable[..., Any]:
            # String annotations (from __future__ import annotations) may name objects local
            # to the declaring scope: resolve them there too.
            localns = options.pop("localns", None) or sys._getframe(1).f_locals
            self.add_api_route(path, func, methods=methods, localns=localns, **options)
            return func

        return decorator

    def get(
        self, path: str, **options: Any
    ) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        return self.api_route(path, methods=["GET"], **options)

    def post(
        self, path: str, **options: Any
    ) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        return self.api_route(path, methods=["POST"], **options)

    def put(
        self, path: str, **options: Any
    ) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        return self.api_route(path, methods=["PUT"], **options)

    def patch(
        self, path: str, **options: Any
    ) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        return self.api_route(path, methods=["PATCH"], **options)

    def delete(
        self, path: str, **options: Any
    ) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        return self.api_route(path, methods=["DELETE"], **options)

    def head(
        self, path: str, **options: Any
    ) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        return self.api_route(path, methods=["HEAD"], **options)

    def options(
        self, path: str, **options: Any
    ) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
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
        """Copy ``router``'s routes here under ``prefix`` (routers can include routers)."""
        if prefix and (not prefix.startswith("/") or prefix.endswith("/")):
            raise ValueError(
                f"include_router prefix {prefix!r} must start with '/' and not end with '/'"
            )
        if router is self:
            raise ValueError("a router cannot include itself")
        for route in router.routes:
            self._add(
                route.copy_with(
                    prefix=self.prefix + prefix,
                    tags=[*self.tags, *(tags or [])],
                    dependencies=[*self.dependencies, *(dependencies or [])],
                    include_in_schema=include_in_schema and self.include_in_schema,
                )
            )

    def match(
        self, method: str, path: str
    ) -> tuple[APIRoute | None, tuple[str, ...], list[str]]:
        """Match like Go's ServeMux: ``(route, raw path values, allowed methods if 405)``.

        ``path`` is the segment-decoded path in which a ``/`` that was ``%2F``
        is written as NUL (see ``TestClient``).
        """
        best: tuple[APIRoute, str, tuple[str, ...]] | None = None
        allowed: set[str] = set()
        for route in self.routes:
            m = route.compiled.regex.match(path)
            if m is None:
                continue
            allowed.update(route.methods)
            for rm in route.methods:
                if (rm == method or (rm == "GET" and method == "HEAD")) and (
                    best is None
                    or relation(rm, route.compiled, best[1], best[0].compiled)
                    == MORE_SPECIFIC
                ):
                    best = (route, rm, m.groups())
        if best is not None:
            return best[0], best[2], []
        if "GET" in allowed:
            allowed.add("HEAD")
        return None, (), sorted(allowed)
