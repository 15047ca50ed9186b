"""GoFastAPI: FastAPI-style Python handlers served by a Go HTTP server."""

from __future__ import annotations

from .app import GoFastAPI
from .encoders import jsonable_encoder
from .exceptions import HTTPException, RequestValidationError, ResponseValidationError
from .params import Body, Cookie, Depends, Header, Path, Query, Security
from .requests import URL, Address, Headers, QueryParams, Request
from .responses import (
    HTMLResponse,
    JSONResponse,
    PlainTextResponse,
    RedirectResponse,
    Response,
)
from .routing import APIRoute, APIRouter

__version__ = "0.1.0"

__all__ = [
    "URL",
    "APIRoute",
    "APIRouter",
    "Address",
    "Body",
    "Cookie",
    "Depends",
    "GoFastAPI",
    "HTMLResponse",
    "HTTPException",
    "Header",
    "Headers",
    "JSONResponse",
    "Path",
    "PlainTextResponse",
    "Query",
    "QueryParams",
    "RedirectResponse",
    "Request",
    "RequestValidationError",
    "Response",
    "ResponseValidationError",
    "Security",
    "__version__",
    "jsonable_encoder",
]
