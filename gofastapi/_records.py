"""Converters for records: dataclasses (nested, recursive, with defaults) and TypedDicts.

Field converters come from ``build`` (``_convert.build_converter``), passed in
to keep the modules acyclic.
"""

from __future__ import annotations

import dataclasses
import typing
from collections.abc import Callable
from typing import Any

from ._errors import Converter, Invalid, _fail, missing_error, prefix_errors

__all__ = ["DATACLASS_CACHE", "dataclass_converter", "typeddict_converter"]

Build = Callable[..., Converter]


DATACLASS_CACHE: dict[tuple[Any, bool], Converter] = {}
_BUILDING: dict[tuple[Any, bool], list[Converter]] = {}


def _type_hints(cls: Any) -> dict[str, Any]:
    try:
        return typing.get_type_hints(cls, include_extras=True)
    except Exception as exc:  # NameError for an unresolvable forward reference, mostly
        raise TypeError(
            f"cannot resolve the annotations of {cls.__qualname__}: {exc}"
        ) from exc


def _record_fields(
    cls: Any, hints: dict[str, Any], from_attributes: bool, build: Build
) -> list[tuple[str, str, Converter, bool]]:
    """``(attribute, input key, converter, required)`` for each dataclass init field."""
    out = []
    for f in dataclasses.fields(cls):
        if not f.init:
            continue
        try:
            conv = build(hints.get(f.name, Any), from_attributes=from_attributes)
        except TypeError as exc:
            raise TypeError(f"field {cls.__qualname__}.{f.name}: {exc}") from None
        required = (
            f.default is dataclasses.MISSING
            and f.default_factory is dataclasses.MISSING
        )
        key = f.metadata.get("alias", f.name) if f.metadata else f.name
        out.append((f.name, key, conv, required))
    return out


def dataclass_converter(cls: Any, from_attributes: bool, build: Build) -> Converter:
    cache_key = (cls, from_attributes)
    cached = DATACLASS_CACHE.get(cache_key)
    if cached is not None:
        return cached
    building = _BUILDING.get(cache_key)
    if building is not None:  # a recursive reference: resolve late
        return lambda value: building[0](value)
    cell: list[Converter] = []
    _BUILDING[cache_key] = cell
    try:
        fields = _record_fields(cls, _type_hints(cls), from_attributes, build)
    finally:
        del _BUILDING[cache_key]
    name = cls.__name__
    type_msg = f"Input should be a dictionary or an instance of {name}"
    plain_types = (str, bytes, int, float, list, tuple, type(None))

    def convert(value: Any) -> Any:
        if type(value) is cls and not from_attributes:
            return value
        if isinstance(value, dict):
            get = value.get
        elif from_attributes and not isinstance(value, plain_types):
            obj = value

            def get(key: str, default: Any = None) -> Any:
                return getattr(obj, key, default)
        else:
            _fail("dataclass_type", type_msg, value, {"class_name": name})
        kwargs = {}
        errors: list[dict[str, Any]] | None = None
        for attr, key, conv, required in fields:
            raw = get(key, _ABSENT)
            if raw is _ABSENT:
                if required:
                    errors = errors or []
                    errors.append(missing_error((key,), value))
                continue
            try:
                kwargs[attr] = conv(raw)
            except Invalid as exc:
                errors = (errors or []) + prefix_errors(exc.errors, (key,))
        if errors:
            raise Invalid(errors)
        try:
            return cls(**kwargs)
        except (ValueError, AssertionError) as exc:
            _fail("value_error", f"Value error, {exc}", value, {"error": str(exc)})

    cell.append(convert)
    DATACLASS_CACHE[cache_key] = convert
    return convert


def typeddict_converter(cls: Any, from_attributes: bool, build: Build) -> Converter:
    hints = _type_hints(cls)
    required_keys = getattr(cls, "__required_keys__", frozenset(hints))
    fields = [
        (k, build(tp, from_attributes=from_attributes), k in required_keys)
        for k, tp in hints.items()
    ]

    def convert(value: Any) -> dict[str, Any]:
        if not isinstance(value, dict):
            _fail("dict_type", "Input should be a valid dictionary", value)
        out = {}
        errors: list[dict[str, Any]] = []
        for key, conv, required in fields:
            if key not in value:
                if required:
                    errors.append(missing_error((key,), value))
                continue
            try:
                out[key] = conv(value[key])
            except Invalid as exc:
                errors.extend(prefix_errors(exc.errors, (key,)))
        if errors:
            raise Invalid(errors)
        return out

    return convert


class _Absent:
    pass


_ABSENT: Any = _Absent()
