"""The request as handlers see it: ``Request``, ``Headers``, ``QueryParams``, ``URL``, ``Address``.

A ``Request`` wraps the raw values Go passed to ``_dispatch.handle`` and parses
headers, query string and cookies only when first asked for.
"""

from __future__ import annotations

import http.cookies
import json
import types
from typing import TYPE_CHECKING, Any

from .datastructures import (
    URL,
    Address,
    Headers,
    MutableHeaders,
    QueryParams,
    parse_query,
)

if TYPE_CHECKING:
    from .app import GoFastAPI
    from .responses import Response
    from .routing import APIRoute

__all__ = [
    "URL",
    "Address",
    "Headers",
    "MutableHeaders",
    "QueryParams",
    "Request",
    "parse_query",
]


def _parse_cookies(header: str) -> dict[str, str]:
    # Starlette's cookie_parser: lenient, like browsers.
    cookies: dict[str, str] = {}
    for chunk in header.split(";"):
        if "=" in chunk:
            key, val = chunk.split("=", 1)
        else:
            key, val = "", chunk
        key, val = key.strip(), val.strip()
        if key or val:
            cookies[key] = http.cookies._unquote(val)
    return cookies


class Request:
    """One HTTP request, as the Go server passed it.

    Reading the body: ``await request.body()`` / ``await request.json()`` as in
    FastAPI, or, in sync handlers, ``request.body_bytes`` and ``request.get_json()``.
    The whole body is already in memory (Go capped its size).
    """

    __slots__ = (
        "app",
        "route",
        "method",
        "_path",
        "_raw_query",
        "_raw_headers",
        "_body",
        "_client_host",
        "_client_port",
        "scheme",
        "request_id",
        "_path_values",
        "_headers",
        "_query",
        "_cookies",
        "_json",
        "_state",
        "_sub",
        "_exits",
        "_cache",
    )

    def __init__(
        self,
        app: GoFastAPI | None,
        route: APIRoute | None,
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
    ) -> None:
        self.app = app
        self.route = route
        self.method = method
        self._path = path
        self._raw_query = raw_query
        self._raw_headers = headers
        self._body = body
        self._client_host = client_host
        self._client_port = client_port
        self.scheme = scheme
        self.request_id = request_id
        self._path_values = path_values
        self._headers: Headers | None = None
        self._query: QueryParams | None = None
        self._cookies: dict[str, str] | None = None
        self._json: Any = _UNPARSED
        self._state: types.SimpleNamespace | None = None
        self._sub: Response | None = None
        self._exits: list[Any] | None = None
        self._cache: dict[int, Any] | None = None

    @property
    def headers(self) -> Headers:
        if self._headers is None:
            self._headers = Headers(raw=self._raw_headers)
        return self._headers

    @property
    def query_params(self) -> QueryParams:
        if self._query is None:
            query = self._query = QueryParams.__new__(QueryParams)
            query._list = pairs = parse_query(self._raw_query)
            query._dict = dict(pairs)
        return self._query

    @property
    def cookies(self) -> dict[str, str]:
        if self._cookies is None:
            values = self.headers.getlist("cookie")
            self._cookies = _parse_cookies("; ".join(values)) if values else {}
        return self._cookies

    @property
    def path_params(self) -> dict[str, str]:
        names = self.route.path_params if self.route is not None else ()
        return dict(zip(names, self._path_values, strict=False))

    @property
    def url(self) -> URL:
        return URL(
            self.scheme, self.headers.get("host", ""), self._path, self._raw_query
        )

    @property
    def base_url(self) -> URL:
        return URL(self.scheme, self.headers.get("host", ""), "/", "")

    @property
    def client(self) -> Address:
        return Address(self._client_host, self._client_port)

    @property
    def state(self) -> types.SimpleNamespace:
        """Per-request attributes, seeded from the lifespan state (if the lifespan yielded a dict)."""
        if self._state is None:
            initial = getattr(self.app, "_lifespan_state", None) or {}
            self._state = types.SimpleNamespace(**initial)
        return self._state

    @property
    def body_bytes(self) -> bytes:
        """The request body (sync access)."""
        return self._body

    def get_json(self) -> Any:
        """The body parsed as JSON (sync access); raises ``ValueError`` if it is not JSON."""
        if self._json is _UNPARSED:
            self._json = json.loads(self._body)
        return self._json

    async def body(self) -> bytes:
        return self._body

    async def json(self) -> Any:
        return self.get_json()

    def __repr__(self) -> str:
        return f"<Request {self.method} {self._path}>"


class _Unparsed:
    pass


_UNPARSED: Any = _Unparsed()
