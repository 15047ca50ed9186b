"""The default exception handlers (reusable from custom ones, as in FastAPI)."""

from __future__ import annotations

from .encoders import jsonable_encoder
from .exceptions import HTTPException, RequestValidationError
from .requests import Request
from .responses import JSONResponse, Response, body_allowed

__all__ = ["http_exception_handler", "request_validation_exception_handler"]


def http_exception_handler(request: Request, exc: HTTPException) -> Response:
    """``{"detail": exc.detail}`` with the exception's status and headers."""
    if not body_allowed(exc.status_code):
        return Response(status_code=exc.status_code, headers=exc.headers)
    return JSONResponse(
        {"detail": exc.detail}, status_code=exc.status_code, headers=exc.headers
    )


def request_validation_exception_handler(
    request: Request, exc: RequestValidationError
) -> Response:
    """422 ``{"detail": [errors...]}``."""
    return JSONResponse({"detail": jsonable_encoder(exc.errors())}, status_code=422)
