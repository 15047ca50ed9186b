"""Security dependencies: ``HTTPBearer``, ``HTTPBasic``, ``APIKey*``, ``SecurityScopes``, ``JWTBearer``.

Used as FastAPI's: ``creds = Depends(HTTPBearer())``. Every class is pure
Python (no pydantic), so it works in own-GIL sub-interpreters. Every failed
authentication is logged by ``gofastapi.security`` at WARNING with
``extra={"event": "auth_failed", "client": ..., "reason": ...}`` and the
request id; a credential is never logged.

``JWTBearer`` is verified by the Go server at the edge (protocol.md §2.1):
Go passes the verified claims in the ``x-gofastapi-jwt-claims`` request
header, which it removes from every client request first. Without that header
(``TestClient``, a request Go did not verify) the token is verified here with
PyJWT when it is importable, and refused otherwise.
"""

from __future__ import annotations

import binascii
import dataclasses
import datetime as dt
import json
import logging
from base64 import b64decode
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ._jwt import make_config, verify
from .exceptions import HTTPException
from .requests import Request

__all__ = [
    "APIKeyCookie",
    "APIKeyHeader",
    "APIKeyQuery",
    "HTTPAuthorizationCredentials",
    "HTTPBasic",
    "HTTPBasicCredentials",
    "HTTPBearer",
    "JWTBearer",
    "SecurityScopes",
]

logger = logging.getLogger("gofastapi.security")

CLAIMS_HEADER = "x-gofastapi-jwt-claims"


def _auth_failed(request: Request, reason: str) -> None:
    logger.warning(
        "authentication failed: %s",
        reason,
        extra={
            "event": "auth_failed",
            "client": request.client.host,
            "reason": reason,
            "request_id": request.request_id,
        },
    )


def _scheme_param(value: str | None) -> tuple[str, str]:
    # FastAPI's get_authorization_scheme_param.
    if not value:
        return "", ""
    scheme, _, param = value.partition(" ")
    return scheme, param


@dataclasses.dataclass(frozen=True, slots=True)
class HTTPAuthorizationCredentials:
    """``Authorization: <scheme> <credentials>``, split at the first space (FastAPI's shape).

    ``repr()`` and ``str()`` hide the credentials so that logging the object
    never logs the token; read ``.credentials``.
    """

    scheme: str
    credentials: str

    def __repr__(self) -> str:
        return (
            f"HTTPAuthorizationCredentials(scheme={self.scheme!r}, credentials='***')"
        )

    __str__ = __repr__


@dataclasses.dataclass(frozen=True, slots=True)
class HTTPBasicCredentials:
    """The user name and password of ``Authorization: Basic ...``; ``repr()`` hides the password."""

    username: str
    password: str

    def __repr__(self) -> str:
        return f"HTTPBasicCredentials(username={self.username!r}, password='***')"

    __str__ = __repr__


class SecurityScopes:
    """Declared as a parameter type, receives the scopes of every ``Security(...)`` above it."""

    def __init__(self, scopes: Sequence[str] | None = None) -> None:
        self.scopes: list[str] = list(scopes or [])
        self.scope_str = " ".join(self.scopes)

    def __repr__(self) -> str:
        return f"SecurityScopes({self.scopes!r})"


class SecurityBase:
    """Base of the security dependencies: ``scheme_name`` and ``description`` are informational."""

    scheme_name: str
    description: str | None
    auto_error: bool

    def _init(
        self, scheme_name: str | None, description: str | None, auto_error: bool
    ) -> None:
        self.scheme_name = scheme_name or type(self).__name__
        self.description = description
        self.auto_error = auto_error


class HTTPBearer(SecurityBase):
    """``Authorization: Bearer <token>`` → ``HTTPAuthorizationCredentials``.

    Missing, empty or another scheme: 401 ``{"detail": "Not authenticated"}``
    with ``WWW-Authenticate: Bearer`` (FastAPI 0.115 answers 403 here; later
    FastAPI releases and RFC 6750 use 401), or ``None`` with ``auto_error=False``.
    The token itself is not checked: that is the handler's job (or use ``JWTBearer``).
    """

    def __init__(
        self,
        *,
        bearerFormat: str | None = None,  # noqa: N803  (FastAPI's name)
        scheme_name: str | None = None,
        description: str | None = None,
        auto_error: bool = True,
    ) -> None:
        self._init(scheme_name, description, auto_error)
        self.bearer_format = bearerFormat

    def __call__(self, request: Request) -> HTTPAuthorizationCredentials | None:
        authorization = request.headers.get("authorization")
        scheme, credentials = _scheme_param(authorization)
        if not (authorization and scheme and credentials):
            return self._fail(request, "missing bearer credentials")
        if scheme.lower() != "bearer":
            return self._fail(request, "authorization scheme is not Bearer")
        return HTTPAuthorizationCredentials(scheme=scheme, credentials=credentials)

    def _fail(self, request: Request, reason: str) -> None:
        if not self.auto_error:
            return None
        _auth_failed(request, reason)
        raise HTTPException(
            401, "Not authenticated", headers={"WWW-Authenticate": "Bearer"}
        )


class HTTPBasic(SecurityBase):
    """``Authorization: Basic base64(user:password)`` → ``HTTPBasicCredentials`` (FastAPI's statuses).

    Missing or another scheme: 401 ``"Not authenticated"``; undecodable or no
    ``:``: 401 ``"Invalid authentication credentials"``; both with
    ``WWW-Authenticate: Basic`` (``Basic realm="..."`` with ``realm``).
    The password is not checked: compare it with ``secrets.compare_digest``.
    """

    def __init__(
        self,
        *,
        scheme_name: str | None = None,
        realm: str | None = None,
        description: str | None = None,
        auto_error: bool = True,
    ) -> None:
        self._init(scheme_name, description, auto_error)
        self.realm = realm
        self._challenge = {
            "WWW-Authenticate": f'Basic realm="{realm}"' if realm else "Basic"
        }

    def __call__(self, request: Request) -> HTTPBasicCredentials | None:
        authorization = request.headers.get("authorization")
        scheme, param = _scheme_param(authorization)
        if not authorization or scheme.lower() != "basic":
            if not self.auto_error:
                return None
            _auth_failed(
                request,
                "authorization scheme is not Basic"
                if authorization
                else "missing basic credentials",
            )
            raise HTTPException(401, "Not authenticated", headers=self._challenge)
        try:
            data = b64decode(param).decode("ascii")
        except (ValueError, UnicodeDecodeError, binascii.Error):
            data = ""
        username, separator, password = data.partition(":")
        if not separator:
            _auth_failed(request, "malformed basic credentials")
            raise HTTPException(
                401, "Invalid authentication credentials", headers=self._challenge
            )
        return HTTPBasicCredentials(username=username, password=password)


class _APIKey(SecurityBase):
    where = ""

    def __init__(
        self,
        *,
        name: str,
        scheme_name: str | None = None,
        description: str | None = None,
        auto_error: bool = True,
    ) -> None:
        if not isinstance(name, str) or not name:
            raise ValueError(f"{type(self).__name__}: name must be a non-empty string")
        self._init(scheme_name, description, auto_error)
        self.name = name

    def _lookup(self, request: Request) -> str | None:
        raise NotImplementedError

    def __call__(self, request: Request) -> str | None:
        key = self._lookup(request)
        if not key:
            if not self.auto_error:
                return None
            _auth_failed(request, f"missing API key in {self.where} {self.name!r}")
            raise HTTPException(403, "Not authenticated")
        return key


class APIKeyHeader(_APIKey):
    """The API key in header ``name``; missing → 403 ``"Not authenticated"`` (FastAPI 0.115)."""

    where = "header"

    def _lookup(self, request: Request) -> str | None:
        return request.headers.get(self.name.lower())


class APIKeyQuery(_APIKey):
    """The API key in query parameter ``name``; missing → 403 ``"Not authenticated"``."""

    where = "query parameter"

    def _lookup(self, request: Request) -> str | None:
        return request.query_params.get(self.name)


class APIKeyCookie(_APIKey):
    """The API key in cookie ``name``; missing → 403 ``"Not authenticated"``."""

    where = "cookie"

    def _lookup(self, request: Request) -> str | None:
        return request.cookies.get(self.name)


# --------------------------------------------------------------------------- JWT

_INVALID_TOKEN = {"WWW-Authenticate": 'Bearer error="invalid_token"'}
_CHALLENGE = {"WWW-Authenticate": "Bearer"}


class JWTBearer(SecurityBase):
    """``Authorization: Bearer <JWT>`` → the verified claims ``dict``.

    ``secret_key`` (HS256/384/512) or ``public_key`` (PEM; RS*, PS*, ES*,
    EdDSA), or the ``*_file`` variants (read now; a trailing newline is
    stripped). ``algorithms`` may not mix HMAC and public-key algorithms (key
    confusion) nor contain ``none``; an HMAC secret must be at least as long as
    the hash (32 bytes for HS256, 48 for HS384, 64 for HS512). ``audience``
    and ``issuer`` are checked when given (a token carrying ``aud`` is refused
    when no audience is configured, as PyJWT does); ``leeway`` (seconds)
    relaxes ``exp``/``nbf``/``iat``; ``required_claims`` must be present.
    A bad setting raises ``ValueError`` (or ``TypeError``) naming it.

    Missing token: 401 ``"Not authenticated"`` with ``WWW-Authenticate: Bearer``.
    Invalid, expired or unverifiable: 401 ``"Invalid or expired token"`` with
    ``WWW-Authenticate: Bearer error="invalid_token"``. With
    ``auto_error=False`` both give ``None`` instead.
    """

    def __init__(
        self,
        secret_key: str | None = None,
        public_key: str | None = None,
        algorithms: Sequence[str] = ("HS256",),
        audience: str | Sequence[str] | None = None,
        issuer: str | None = None,
        leeway: float | dt.timedelta = 0,
        required_claims: Sequence[str] = (),
        secret_key_file: str | Path | None = None,
        public_key_file: str | Path | None = None,
        auto_error: bool = True,
        *,
        scheme_name: str | None = None,
        description: str | None = None,
    ) -> None:
        self._init(scheme_name, description, auto_error)
        self.config = make_config(
            secret_key=secret_key,
            public_key=public_key,
            algorithms=algorithms,
            audience=audience,
            issuer=issuer,
            leeway=leeway,
            required_claims=required_claims,
            secret_key_file=secret_key_file,
            public_key_file=public_key_file,
        )

    @property
    def secret_key(self) -> str | None:
        return self.config.secret_key

    @property
    def public_key(self) -> str | None:
        return self.config.public_key

    @property
    def algorithms(self) -> list[str]:
        return list(self.config.algorithms)

    def edge_config(self) -> dict[str, Any]:
        """What the Go server needs to verify tokens (the route's ``jwt``, protocol.md §2.1)."""
        return self.config.edge()

    def __repr__(self) -> str:  # never the key
        return (
            f"JWTBearer(algorithms={self.algorithms!r}, issuer={self.config.issuer!r})"
        )

    def __call__(self, request: Request) -> dict[str, Any] | None:
        verified = request.headers.get(CLAIMS_HEADER)
        if verified is not None:
            # Go verified the token; it strips this header from client requests.
            try:
                claims = json.loads(verified.encode("latin-1").decode("utf-8"))
            except (ValueError, UnicodeError):
                claims = None
            if isinstance(claims, dict):
                return claims
            return self._invalid(request, "malformed claims header from the server")
        scheme, token = _scheme_param(request.headers.get("authorization"))
        if not token or scheme.lower() != "bearer":
            if not self.auto_error:
                return None
            _auth_failed(request, "missing bearer token")
            raise HTTPException(401, "Not authenticated", headers=_CHALLENGE)
        claims, reason = verify(token, self.config)
        if claims is None:
            return self._invalid(request, reason)
        return claims

    def _invalid(self, request: Request, reason: str) -> None:
        _auth_failed(request, reason)
        if not self.auto_error:
            return None
        raise HTTPException(401, "Invalid or expired token", headers=_INVALID_TOKEN)
