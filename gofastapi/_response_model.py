"""How a route filters and serialises what its handler returns: the ``response_model`` plan.

Built once per route. ``response_model=`` (or, when not given, a return
annotation that contains a model) validates the return value; a pydantic
model also serialises it as FastAPI does (``response_model_include``,
``exclude``, ``by_alias``, ``exclude_unset``, ``exclude_defaults``,
``exclude_none``). Returning a ``Response`` skips all of it.
"""

from __future__ import annotations

import dataclasses
import inspect
import typing
from collections.abc import Callable
from typing import Any

from ._convert import _ADAPTERS, Converter, build_converter, unwrap
from ._pydantic_lazy import owns as pydantic_owns
from .encoders import jsonable_encoder
from .responses import Response

__all__ = ["DefaultPlaceholder", "response_converter"]

DefaultPlaceholder: Any = object()  # "not given" for response_model


def _contains_model(tp: Any) -> bool:
    if pydantic_owns(tp):
        return True
    tp, _ = unwrap(tp)
    if isinstance(tp, type):
        if issubclass(tp, Response):
            return False
        if dataclasses.is_dataclass(tp) or any(a.is_model(tp) for a in _ADAPTERS):
            return True
    return any(
        _contains_model(arg) for arg in typing.get_args(tp) if arg is not Ellipsis
    )


def response_converter(
    endpoint: Callable[..., Any], model: Any, label: str, serialize: dict[str, Any]
) -> Converter | None:
    """The converter that filters/validates return values, or ``None``.

    Without ``response_model=`` the return annotation is used when it contains a
    dataclass (or a model a type adapter knows); ``response_model=None`` disables it.
    A pydantic ``response_model`` validates and serialises as FastAPI does
    (``response_model_include/exclude/by_alias/exclude_*`` apply); other models
    support ``response_model_exclude_none`` only.
    """
    if model is DefaultPlaceholder:
        try:
            model = inspect.signature(endpoint, eval_str=True).return_annotation
        except Exception:
            return None
        if model is inspect.Signature.empty or not _contains_model(model):
            return None
    if model is None:
        return None
    if pydantic_owns(model):
        from ._pydantic import response_converter as pydantic_converter

        try:
            return pydantic_converter(model, **serialize)
        except Exception as exc:  # pydantic's schema errors
            raise TypeError(f"route {label!r}: response_model: {exc}") from None
    unsupported = [
        f"response_model_{k}"
        for k, v in serialize.items()
        if k not in ("exclude_none", "by_alias") and v not in (None, False)
    ]
    if unsupported:
        raise TypeError(
            f"route {label!r}: {', '.join(unsupported)} needs a pydantic response_model"
        )
    try:
        conv = build_converter(model, from_attributes=True)
    except TypeError as exc:
        raise TypeError(f"route {label!r}: response_model: {exc}") from None
    if serialize["exclude_none"]:
        return lambda value: jsonable_encoder(conv(value), exclude_none=True)
    return conv
