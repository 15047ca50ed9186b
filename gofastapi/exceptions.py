"""Exceptions users raise or catch: HTTP errors and validation errors."""

from __future__ import annotations

import http
from collections.abc import Mapping, Sequence
from typing import Any

__all__ = [
    "HTTPException",
    "RequestValidationError",
    "ResponseValidationError",
    "ValidationException",
]


class HTTPException(Exception):
    """An HTTP error answered as ``{"detail": detail}`` with ``status_code``.

    ``detail`` defaults to the status code's reason phrase (as Starlette does);
    ``headers`` are added to the error response.
    """

    def __init__(
        self,
        status_code: int,
        detail: Any = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        if detail is None:
            try:
                detail = http.HTTPStatus(status_code).phrase
            except ValueError:
                detail = ""
        self.status_code = status_code
        self.detail = detail
        self.headers = dict(headers) if headers is not None else None
        super().__init__(status_code, detail)

    def __str__(self) -> str:
        return f"{self.status_code}: {self.detail}"

    def __repr__(self) -> str:
        return f"{type(self).__name__}(status_code={self.status_code!r}, detail={self.detail!r})"


class ValidationException(Exception):
    """Base of the validation errors; ``errors()`` returns the error dicts."""

    def __init__(self, errors: Sequence[Any]) -> None:
        super().__init__(errors)
        self._errors = errors

    def errors(self) -> Sequence[Any]:
        return self._errors


class RequestValidationError(ValidationException):
    """The request did not match the handler's parameters: answered 422.

    Each error is a dict with ``type``, ``loc`` (a tuple such as
    ``("query", "q")``), ``msg``, ``input`` and, where pydantic has one, ``ctx``.
    """

    def __init__(self, errors: Sequence[Any], *, body: Any = None) -> None:
        super().__init__(errors)
        self.body = body


class ResponseValidationError(ValidationException):
    """The handler's return value did not match its ``response_model``: answered 500."""

    def __init__(self, errors: Sequence[Any], *, body: Any = None) -> None:
        super().__init__(errors)
        self.body = body

    def __str__(self) -> str:
        lines = [f"{len(self._errors)} validation error(s) in the response:"]
        lines.extend(f"  {e}" for e in self._errors)
        return "\n".join(lines)
