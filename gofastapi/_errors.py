"""Validation error dicts in pydantic v2's shape, and the ``Invalid`` exception carrying them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NoReturn

__all__ = ["Converter", "Invalid", "make_error", "missing_error", "prefix_errors"]

Converter = Callable[[Any], Any]


class Invalid(Exception):
    """Raised by a converter; ``errors`` are error dicts with relative ``loc``."""

    __slots__ = ("errors",)

    def __init__(self, errors: list[dict[str, Any]]) -> None:
        self.errors = errors


def make_error(
    type_: str, msg: str, input_: Any, ctx: dict[str, Any] | None = None
) -> dict[str, Any]:
    err: dict[str, Any] = {"type": type_, "loc": (), "msg": msg, "input": input_}
    if ctx is not None:
        err["ctx"] = ctx
    return err


def _fail(
    type_: str, msg: str, input_: Any, ctx: dict[str, Any] | None = None
) -> NoReturn:
    raise Invalid([make_error(type_, msg, input_, ctx)])


def missing_error(loc: tuple[Any, ...], input_: Any = None) -> dict[str, Any]:
    return {"type": "missing", "loc": loc, "msg": "Field required", "input": input_}


def prefix_errors(
    errors: list[dict[str, Any]], loc: tuple[Any, ...]
) -> list[dict[str, Any]]:
    for err in errors:
        err["loc"] = loc + err["loc"]
    return errors
