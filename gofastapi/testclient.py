"""An in-process test client: requests go through the same code path as under the Go server.

``TestClient`` matches routes the way Go's ``ServeMux`` does (404/405 in the
server's JSON shapes), builds the exact arguments of ``_dispatch.handle`` and
calls the app's compiled runner; HEAD responses lose their body, as Go drops
it. Use it as a context manager to run the startup and shutdown hooks.
"""

from __future__ import annotations

import http
import http.cookies
import json as jsonlib
import uuid
from collections.abc import Mapping, Sequence
from types import TracebackType
from typing import Any
from urllib.parse import unquote, urlencode, urljoin, urlsplit

from . import _loop
from .app import GoFastAPI
from .requests import Headers
from .security import CLAIMS_HEADER

__all__ = ["TestClient", "TestResponse"]

_NOT_FOUND = (404, b"content-type: application/json\r\n", b'{"detail":"Not Found"}')
_UNSET: Any = object()
_REDIRECTS = (301, 302, 303, 307, 308)


class TestResponse:
    """What the client received: ``status_code``, ``headers``, ``content``, ``text``, ``json()``."""

    __test__ = False

    def __init__(
        self, status_code: int, headers: Headers, content: bytes, method: str, url: str
    ) -> None:
        self.status_code = status_code
        self.headers = headers
        self.content = content
        self.method = method
        self.url = url
        self.history: list[TestResponse] = []

    @property
    def text(self) -> str:
        content_type = self.headers.get("content-type", "")
        charset = "utf-8"
        if "charset=" in content_type:
            charset = (
                content_type.split("charset=", 1)[1].split(";")[0].strip() or "utf-8"
            )
        return self.content.decode(charset, errors="replace")

    def json(self) -> Any:
        return jsonlib.loads(self.content)

    @property
    def cookies(self) -> dict[str, str]:
        jar: dict[str, str] = {}
        for value in self.headers.getlist("set-cookie"):
            cookie: http.cookies.SimpleCookie = http.cookies.SimpleCookie()
            cookie.load(value)
            for name, morsel in cookie.items():
                jar[name] = morsel.value
        return jar

    @property
    def reason_phrase(self) -> str:
        try:
            return http.HTTPStatus(self.status_code).phrase
        except ValueError:
            return ""

    @property
    def is_success(self) -> bool:
        return 200 <= self.status_code < 300

    def raise_for_status(self) -> None:
        if self.status_code >= 400:
            raise RuntimeError(
                f"{self.status_code} {self.reason_phrase} for {self.method} {self.url}"
            )

    def __repr__(self) -> str:
        return f"<TestResponse [{self.status_code}]>"


class TestClient:
    """Calls ``app`` in process, as the Go server would.

    ``raise_server_exceptions=True`` (Starlette's default) re-raises an
    exception that made the app answer 500, so tests see the real error.
    """

    __test__ = False

    def __init__(
        self,
        app: GoFastAPI,
        base_url: str = "http://testserver",
        raise_server_exceptions: bool = True,
        headers: Mapping[str, str] | None = None,
        cookies: Mapping[str, str] | None = None,
        client: tuple[str, int] = ("testclient", 50000),
        follow_redirects: bool = True,
    ) -> None:
        if not isinstance(app, GoFastAPI):
            raise TypeError(
                f"TestClient needs a GoFastAPI app, not {type(app).__name__}"
            )
        self.app = app
        self.base_url = base_url
        self.raise_server_exceptions = raise_server_exceptions
        self.headers = {k.lower(): v for k, v in (headers or {}).items()}
        self.cookies: dict[str, str] = dict(cookies or {})
        self.client = client
        self.follow_redirects = follow_redirects

    def __enter__(self) -> TestClient:
        self.app.startup()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.app.shutdown()

    # -- verbs

    def get(self, url: str, **kwargs: Any) -> TestResponse:
        return self.request("GET", url, **kwargs)

    def head(self, url: str, **kwargs: Any) -> TestResponse:
        return self.request("HEAD", url, **kwargs)

    def options(self, url: str, **kwargs: Any) -> TestResponse:
        return self.request("OPTIONS", url, **kwargs)

    def delete(self, url: str, **kwargs: Any) -> TestResponse:
        return self.request("DELETE", url, **kwargs)

    def post(self, url: str, **kwargs: Any) -> TestResponse:
        return self.request("POST", url, **kwargs)

    def put(self, url: str, **kwargs: Any) -> TestResponse:
        return self.request("PUT", url, **kwargs)

    def patch(self, url: str, **kwargs: Any) -> TestResponse:
        return self.request("PATCH", url, **kwargs)

    def request(
        self,
        method: str,
        url: str,
        *,
        params: Mapping[str, Any] | Sequence[tuple[str, Any]] | str | None = None,
        json: Any = _UNSET,
        data: Mapping[str, Any] | str | bytes | None = None,
        content: str | bytes | None = None,
        headers: Mapping[str, str] | None = None,
        cookies: Mapping[str, str] | None = None,
        follow_redirects: bool | None = None,
    ) -> TestResponse:
        """Send one request (following redirects unless told not to)."""
        follow = self.follow_redirects if follow_redirects is None else follow_redirects
        body, content_type = _encode_body(json, data, content)
        target = urljoin(self.base_url, url)
        history: list[TestResponse] = []
        while True:
            response = self._send(
                method.upper(), target, params, body, content_type, headers, cookies
            )
            if (
                not follow
                or response.status_code not in _REDIRECTS
                or len(history) >= 20
            ):
                response.history = history
                return response
            history.append(response)
            target = urljoin(target, response.headers.get("location", ""))
            params = None
            if response.status_code == 303 or (
                response.status_code in (301, 302) and method.upper() == "POST"
            ):
                method, body, content_type = "GET", b"", None

    # -- internals

    def _send(
        self,
        method: str,
        url: str,
        params: Any,
        body: bytes,
        content_type: str | None,
        headers: Mapping[str, str] | None,
        cookies: Mapping[str, str] | None,
    ) -> TestResponse:
        split = urlsplit(url)
        raw_path = split.path or "/"
        raw_query = split.query
        if params:
            extra = (
                params
                if isinstance(params, str)
                else urlencode(
                    list(params.items())
                    if isinstance(params, Mapping)
                    else list(params),
                    doseq=True,
                )
            )
            raw_query = f"{raw_query}&{extra}" if raw_query else extra
        merged = {
            "host": split.netloc,
            "user-agent": "testclient",
            "accept": "*/*",
            "accept-encoding": "gzip, deflate",
            **self.headers,
        }
        if content_type is not None:
            merged["content-type"] = content_type
        if body:
            merged["content-length"] = str(len(body))
        merged.update({k.lower(): v for k, v in (headers or {}).items()})
        # Go removes this header from every client request (protocol.md §2.1): only the
        # server may vouch for JWT claims, so a test cannot forge them either.
        merged.pop(CLAIMS_HEADER, None)
        jar = {**self.cookies, **(cookies or {})}
        if jar and "cookie" not in merged:
            merged["cookie"] = "; ".join(f"{k}={v}" for k, v in jar.items())
        header_blob = "".join(f"{k}: {v}\r\n" for k, v in merged.items())

        status, blob, content = self._dispatch(
            method, raw_path, raw_query, header_blob, body, split.scheme or "http"
        )
        response_headers = Headers(raw=blob.decode("latin-1"))
        request_id = str(uuid.uuid4())
        response_headers.raw.append(("x-request-id", request_id))
        if method == "HEAD":
            content = b""
        else:
            response_headers.raw.append(("content-length", str(len(content))))
        response = TestResponse(status, response_headers, content, method, url)
        self._store_cookies(response_headers)
        return response

    def _dispatch(
        self,
        method: str,
        raw_path: str,
        raw_query: str,
        header_blob: str,
        body: bytes,
        scheme: str,
    ) -> tuple[int, bytes, bytes]:
        runtime = self.app.runtime()
        # ServeMux matches decoded segments: a %2F stays inside its segment (written as NUL here).
        decoded = "/".join(
            unquote(seg).replace("/", "\x00") for seg in raw_path.split("/")
        )
        route, raw_values, allowed = self.app.router.match(method, decoded)
        if route is None:
            if allowed:
                allow = ", ".join(allowed).encode("latin-1")
                return (
                    405,
                    b"allow: " + allow + b"\r\ncontent-type: application/json\r\n",
                    b'{"detail":"Method Not Allowed"}',
                )
            return _NOT_FOUND
        route_id = runtime.routes.index(route)
        values = tuple(v.replace("\x00", "/") for v in raw_values)
        _loop.capture_errors(True)
        try:
            result = runtime.handle(
                route_id,
                method,
                unquote(raw_path),
                raw_query,
                header_blob,
                body,
                self.client[0],
                self.client[1],
                scheme,
                str(uuid.uuid4()),
                values,
            )
            error = _loop.last_error()
        finally:
            _loop.capture_errors(False)
        if error is not None and self.raise_server_exceptions:
            raise error
        return result

    def _store_cookies(self, headers: Headers) -> None:
        for value in headers.getlist("set-cookie"):
            cookie: http.cookies.SimpleCookie = http.cookies.SimpleCookie()
            try:
                cookie.load(value)
            except http.cookies.CookieError:
                continue
            for name, morsel in cookie.items():
                if morsel["max-age"] == "0" or morsel["max-age"].startswith("-"):
                    self.cookies.pop(name, None)
                else:
                    self.cookies[name] = morsel.value


def _encode_body(json: Any, data: Any, content: Any) -> tuple[bytes, str | None]:
    if json is not _UNSET:
        text = jsonlib.dumps(
            json, ensure_ascii=False, separators=(",", ":"), allow_nan=False
        )
        return text.encode("utf-8"), "application/json"
    if isinstance(data, Mapping):
        return urlencode(list(data.items()), doseq=True).encode(
            "ascii"
        ), "application/x-www-form-urlencoded"
    if data is not None:
        content = data
    if content is None:
        return b"", None
    return (
        content.encode("utf-8") if isinstance(content, str) else bytes(content)
    ), None
