"""Validation plans the Go edge runs before Python (docs/protocol.md §2.2).

For a route whose whole input can be judged without Python — path and query
parameters of type ``int``, ``float``, ``str`` or ``bool`` with numeric and
length constraints, and at most one dataclass body of such fields — the
description carries a plan. Go applies it with the same rules as
``_scalars`` and ``_constraints``; when it finds errors it answers the 422
itself, so invalid requests never take an interpreter. Every message is
rendered here, so both sides say exactly the same thing; Go only adds the
``input``. Anything else (dependencies, middleware, custom validation
handlers, other types, patterns, ``__post_init__``) gets no plan: Python
judges it, as always.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from typing import Any

from .exception_handlers import request_validation_exception_handler
from .exceptions import RequestValidationError

__all__ = ["edge_plan"]

_KINDS = {int: "int", float: "float", str: "str", bool: "bool"}

#: The fixed errors of each kind: (type, message) by situation.
_PARSE = {
    "int": ("int_parsing", "Input should be a valid integer, unable to parse string as an integer"),
    "float": ("float_parsing", "Input should be a valid number, unable to parse string as a number"),
    "bool": ("bool_parsing", "Input should be a valid boolean, unable to interpret input"),
}
_TYPE = {
    "int": ("int_type", "Input should be a valid integer"),
    "float": ("float_type", "Input should be a valid number"),
    "str": ("string_type", "Input should be a valid string"),
    "bool": ("bool_type", "Input should be a valid boolean"),
}


def _plural(n: Any, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def _checks(kind: str, c: Any) -> list[dict[str, Any]] | None:
    """The constraint errors, in the order ``_constraints`` tries them."""
    if c is None:
        return []
    if c.pattern is not None or c.multiple_of is not None:
        return None
    out: list[dict[str, Any]] = []
    if kind == "str":
        if any(v is not None for v in (c.gt, c.ge, c.lt, c.le)):
            return None
        if c.min_length is not None:
            out.append({"op": "min_length", "limit": c.min_length, "type": "string_too_short",
                        "msg": f"String should have at least {_plural(c.min_length, 'character')}",
                        "ctx": {"min_length": c.min_length}})
        if c.max_length is not None:
            out.append({"op": "max_length", "limit": c.max_length, "type": "string_too_long",
                        "msg": f"String should have at most {_plural(c.max_length, 'character')}",
                        "ctx": {"max_length": c.max_length}})
        return out
    if kind == "bool" or c.min_length is not None or c.max_length is not None:
        return None  # constraints Go does not apply to this kind
    for op, typ, words in (("gt", "greater_than", "greater than"), ("ge", "greater_than_equal", "greater than or equal to"),
                           ("lt", "less_than", "less than"), ("le", "less_than_equal", "less than or equal to")):
        limit = getattr(c, op)
        if limit is None:
            continue
        if type(limit) not in (int, float):
            return None
        out.append({"op": op, "limit": limit, "type": typ, "msg": f"Input should be {words} {limit}",
                    "ctx": {op: limit}})
    return out


def _scalar(annotation: Any, constraints: Any) -> dict[str, Any] | None:
    kind = _KINDS.get(annotation) if isinstance(annotation, type) else None
    if kind is None:
        return None
    checks = _checks(kind, constraints)
    if checks is None:
        return None
    plan = {"kind": kind, "checks": checks,
            "parse_error": list(_PARSE.get(kind, ("", ""))), "type_error": list(_TYPE[kind])}
    if kind == "int":
        plan["fraction_error"] = ["int_from_float", "Input should be a valid integer, got a number with a fractional part"]
    return plan


def _optional_of(annotation: Any) -> Any:
    """``X`` for ``X | None`` / ``Optional[X]``, else None."""
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        if len(args) == 1 and len(typing.get_args(annotation)) == 2:
            return args[0]
    return None


def _strip_annotated(annotation: Any) -> Any:
    while typing.get_origin(annotation) is typing.Annotated:
        annotation = typing.get_args(annotation)[0]
    return annotation


def _param(spec: Any) -> dict[str, Any] | None:
    if spec.source not in ("path", "query") or spec.model_fields is not None or spec.is_seq:
        return None
    annotation = _strip_annotated(spec.annotation)
    inner = _optional_of(annotation)
    if inner is not None:
        if spec.required:
            return None  # a required Optional: Python's rules for None differ
        annotation = _strip_annotated(inner)
    plan = _scalar(annotation, spec.constraints)
    if plan is None:
        return None
    return {"source": spec.source, "name": spec.alias, "loc": list(spec.loc), "required": spec.required, **plan}


def _body(spec: Any) -> dict[str, Any] | None:
    cls = spec.annotation
    if spec.embed or not (isinstance(cls, type) and dataclasses.is_dataclass(cls)):
        return None
    if hasattr(cls, "__post_init__") or any(
        getattr(c, "__post_init__", None) for c in cls.__mro__[1:] if dataclasses.is_dataclass(c)
    ):
        return None
    try:
        hints = typing.get_type_hints(cls)
    except Exception:
        return None
    fields = []
    for f in dataclasses.fields(cls):
        if not f.init:
            return None
        plan = _scalar(hints.get(f.name), None)
        if plan is None:
            return None
        required = f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
        fields.append({"name": f.name, "required": required, **plan})
    name = cls.__name__
    return {"required": spec.required, "fields": fields, "type_error": [
        "dataclass_type", f"Input should be a dictionary or an instance of {name}"],
        "type_ctx": {"class_name": name}}


def _handlers_are_default(app: Any) -> bool:
    for key, handler in app.exception_handlers.items():
        if key == 422:
            return False
        if key is RequestValidationError:
            if handler is not request_validation_exception_handler:
                return False
        elif isinstance(key, type) and issubclass(RequestValidationError, key):
            return False
    return True


def edge_plan(app: Any, route: Any) -> dict[str, Any] | None:
    """The route's edge validation plan, or None when Python must judge."""
    dep = route.dependant
    if app.user_middleware or not _handlers_are_default(app) or dep.deps:
        return None
    params = []
    for spec in dep.params:
        plan = _param(spec)
        if plan is None:
            return None
        params.append(plan)
    body = None
    if dep.body:
        if len(dep.body) != 1 or route.body_embed:
            return None
        body = _body(dep.body[0])
        if body is None:
            return None
    if not params and body is None:
        return None
    return {"params": params, "body": body}
