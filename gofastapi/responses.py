"""Response classes: ``Response``, ``JSONResponse``, ``PlainTextResponse``, ``HTMLResponse``, ``RedirectResponse``.

A response renders its body when created (as Starlette does). ``_wire`` turns
it into the ``(status, header bytes, body)`` triple of the Go protocol and
refuses anything that would make a malformed HTTP message.
"""

from __future__ import annotations

import datetime as dt
import http.cookies
import re
from collections.abc import Mapping
from typing import Any, ClassVar, Literal
from urllib.parse import quote

from .datastructures import MutableHeaders
from .encoders import dumps

__all__ = [
    "HTMLResponse",
    "InvalidResponseError",
    "JSONResponse",
    "PlainTextResponse",
    "RedirectResponse",
    "Response",
    "body_allowed",
]

# RFC 9110 token characters for header names.
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
# CTLs other than HTAB (CR, LF and NUL among them) may not appear in a field value.
_BAD_VALUE = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")
# Go frames the message itself (Content-Length / chunking): user values would conflict.
_FRAMING = frozenset({"content-length", "transfer-encoding"})


class InvalidResponseError(RuntimeError):
    """A handler produced a response that cannot be written (bad status or header)."""


def body_allowed(status_code: int) -> bool:
    """False for 1xx, 204 and 304, which carry no body."""
    return not (status_code < 200 or status_code in (204, 304))


class Response:
    """A response with a raw body (``bytes`` or ``str``) and a ``media_type``."""

    media_type: ClassVar[str | None] = None
    charset: ClassVar[str] = "utf-8"

    def __init__(
        self,
        content: Any = None,
        status_code: int = 200,
        headers: Mapping[str, str] | None = None,
        media_type: str | None = None,
        background: Any = None,
    ) -> None:
        self.status_code = status_code
        if media_type is not None:
            self.media_type = media_type  # type: ignore[misc]
        self.background = background
        self.body = self.render(content)
        self.headers = MutableHeaders(headers)
        if self.media_type is not None and "content-type" not in self.headers:
            content_type = self.media_type
            if (
                content_type.startswith("text/")
                and "charset=" not in content_type.lower()
            ):
                content_type += "; charset=" + self.charset
            self.headers.append("content-type", content_type)

    def render(self, content: Any) -> bytes:
        if content is None:
            return b""
        if isinstance(content, (bytes, memoryview, bytearray)):
            return bytes(content)
        return content.encode(self.charset)  # type: ignore[no-any-return]

    def set_cookie(
        self,
        key: str,
        value: str = "",
        max_age: int | None = None,
        expires: dt.datetime | str | int | None = None,
        path: str | None = "/",
        domain: str | None = None,
        secure: bool = False,
        httponly: bool = False,
        samesite: Literal["lax", "strict", "none"] | None = "lax",
        partitioned: bool = False,
    ) -> None:
        """Add a ``set-cookie`` header (Starlette's rules and defaults)."""
        cookie: http.cookies.SimpleCookie = http.cookies.SimpleCookie()
        cookie[key] = value
        morsel = cookie[key]
        if max_age is not None:
            morsel["max-age"] = max_age
        if expires is not None:
            if isinstance(expires, dt.datetime):
                from email.utils import format_datetime

                morsel["expires"] = format_datetime(expires, usegmt=True)
            else:
                morsel["expires"] = expires
        if path is not None:
            morsel["path"] = path
        if domain is not None:
            morsel["domain"] = domain
        if secure:
            morsel["secure"] = True
        if httponly:
            morsel["httponly"] = True
        if samesite is not None:
            if samesite.lower() not in ("strict", "lax", "none"):
                raise ValueError("samesite must be either 'strict', 'lax' or 'none'")
            morsel["samesite"] = samesite
        text = cookie.output(header="").strip()
        if partitioned:
            text += "; Partitioned"
        self.headers.append("set-cookie", text)

    def delete_cookie(
        self,
        key: str,
        path: str = "/",
        domain: str | None = None,
        secure: bool = False,
        httponly: bool = False,
        samesite: Literal["lax", "strict", "none"] | None = "lax",
    ) -> None:
        self.set_cookie(
            key,
            max_age=0,
            expires=0,
            path=path,
            domain=domain,
            secure=secure,
            httponly=httponly,
            samesite=samesite,
        )

    def _wire(self) -> tuple[int, bytes, bytes]:
        """The protocol triple; raises ``InvalidResponseError`` for a bad status or header."""
        status = self.status_code
        if type(status) is not int or not 100 <= status <= 599:
            raise InvalidResponseError(f"invalid status code {status!r}")
        lines = []
        for name, value in self.headers.raw:
            if name in _FRAMING:
                continue
            if type(name) is not str or _TOKEN.fullmatch(name) is None:
                raise InvalidResponseError(f"invalid header name {name!r}")
            if type(value) is not str or _BAD_VALUE.search(value) is not None:
                raise InvalidResponseError(
                    f"invalid value for header {name!r}: {value!r}"
                )
            lines.append(f"{name}: {value}\r\n")
        try:
            blob = "".join(lines).encode("latin-1")
        except UnicodeEncodeError as exc:
            raise InvalidResponseError(
                f"header not encodable as latin-1: {exc}"
            ) from None
        body = self.body if body_allowed(status) else b""
        if not isinstance(body, bytes):
            raise InvalidResponseError(
                f"response body must be bytes, not {type(body).__name__}"
            )
        return status, blob, body

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.status_code}>"


class JSONResponse(Response):
    """Compact UTF-8 JSON (``separators=(",", ":")``, ``ensure_ascii=False``, no NaN)."""

    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return dumps(content)


class PlainTextResponse(Response):
    media_type = "text/plain"


class HTMLResponse(Response):
    media_type = "text/html"


class RedirectResponse(Response):
    """A redirect to ``url`` (307 by default, as Starlette)."""

    def __init__(
        self,
        url: str | Any,
        status_code: int = 307,
        headers: Mapping[str, str] | None = None,
        background: Any = None,
    ) -> None:
        super().__init__(
            content=b"", status_code=status_code, headers=headers, background=background
        )
        self.headers["location"] = quote(str(url), safe=":/%#?=@[]!$&'()*+,;")
