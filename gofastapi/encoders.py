"""Turning handler return values into JSON: ``jsonable_encoder`` and the fast JSON dumper.

``dumps`` is the hot path: ``json`` encodes the built-in types in C and calls
``_default`` only for the others (dataclasses, datetimes, UUIDs, ``Decimal``,
sets, bytes...), which return something ``json`` knows. ``jsonable_encoder``
does the same conversion eagerly and also fixes dict keys ``json`` refuses.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import ipaddress
import json
import pathlib
import re
import uuid
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from ._pydantic_lazy import activate_for_object

__all__ = ["dumps", "jsonable_encoder", "register_encoder"]

_ENCODERS: dict[type, Callable[[Any], Any]] = {}


def register_encoder(tp: type, encoder: Callable[[Any], Any]) -> None:
    """Encode instances of ``tp`` (and subclasses) with ``encoder`` (returns a JSON-able value)."""
    _ENCODERS[tp] = encoder


def _decimal(value: Decimal) -> int | float:
    # FastAPI's decimal_encoder: integral values stay integers.
    exponent = value.as_tuple().exponent
    if isinstance(exponent, int) and exponent >= 0:
        return int(value)
    return float(value)


def _dataclass_dict(obj: Any) -> dict[str, Any]:
    return {f.name: getattr(obj, f.name) for f in dataclasses.fields(obj)}


_BUILTIN: dict[type, Callable[[Any], Any]] = {
    dt.datetime: dt.datetime.isoformat,
    dt.date: dt.date.isoformat,
    dt.time: dt.time.isoformat,
    dt.timedelta: dt.timedelta.total_seconds,
    uuid.UUID: str,
    Decimal: _decimal,
    set: list,
    frozenset: list,
    bytes: lambda b: b.decode(),
    bytearray: lambda b: bytes(b).decode(),
    re.Pattern: lambda p: p.pattern,
    pathlib.PurePath: str,
    ipaddress.IPv4Address: str,
    ipaddress.IPv6Address: str,
    ipaddress.IPv4Network: str,
    ipaddress.IPv6Network: str,
    ipaddress.IPv4Interface: str,
    ipaddress.IPv6Interface: str,
}


def _default(obj: Any) -> Any:
    """``json`` calls this for objects it cannot encode itself."""
    tp = type(obj)
    enc = _ENCODERS.get(tp) or _BUILTIN.get(tp)
    if enc is not None:
        return enc(obj)
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return _dataclass_dict(obj)
    if isinstance(obj, enum.Enum):
        return obj.value
    for base in tp.__mro__[1:]:
        enc = _ENCODERS.get(base) or _BUILTIN.get(base)
        if enc is not None:
            return enc(obj)
    if activate_for_object(tp):
        return _default(obj)
    if isinstance(obj, BaseException):
        # FastAPI's fallback (vars(obj)): a 422's ctx {"error": ValueError(...)} → {}.
        return dict(vars(obj))
    for method in ("model_dump", "dict"):  # pydantic models and friends, when present
        dump = getattr(obj, method, None)
        if callable(dump) and not isinstance(obj, dict):
            try:
                return dump(mode="json") if method == "model_dump" else dump()
            except TypeError:
                continue
    if hasattr(obj, "__iter__") and not isinstance(obj, (str, bytes, dict)):
        return list(obj)
    raise TypeError(f"Object of type {tp.__name__} is not JSON serializable")


# The C encoder, built once: json.JSONEncoder.encode would rebuild it on every call.
# Without a markers dict there is no circular-reference check: a cycle ends in RecursionError (a 500).
_c_encoder = getattr(json.encoder, "c_make_encoder", None)
_c_basestring = getattr(json.encoder, "c_encode_basestring", None)
_encode: Callable[[Any], str]
if _c_encoder is not None and _c_basestring is not None:
    # Arguments: markers, default, encoder, indent, key sep, item sep, sort_keys, skipkeys, allow_nan.
    _iterencode = _c_encoder(
        None, _default, _c_basestring, None, ":", ",", False, False, False
    )

    def _encode(content: Any) -> str:
        return "".join(_iterencode(content, 0))
else:  # pragma: no cover - CPython always has the C encoder
    _encode = json.JSONEncoder(
        ensure_ascii=False, allow_nan=False, separators=(",", ":"), default=_default
    ).encode


def dumps(content: Any) -> bytes:
    """Compact UTF-8 JSON, as Starlette's ``JSONResponse`` renders it.

    Raises ``ValueError`` for NaN/Infinity and ``TypeError`` for unknown
    objects (the request then answers 500).
    """
    try:
        return _encode(content).encode("utf-8")
    except TypeError:
        # json refuses keys such as UUID, date or tuples; the eager encoder fixes them.
        return _encode(jsonable_encoder(content)).encode("utf-8")


_JSON_SCALARS = (str, int, float, type(None))


def jsonable_encoder(obj: Any, *, exclude_none: bool = False) -> Any:
    """Return ``obj`` converted to values ``json.dumps`` accepts (FastAPI's function)."""
    if isinstance(obj, _JSON_SCALARS):
        return obj.value if isinstance(obj, enum.Enum) else obj
    if isinstance(obj, dict):
        out = {}
        for k, v in obj.items():
            if exclude_none and v is None:
                continue
            key = jsonable_encoder(k)
            if not isinstance(key, _JSON_SCALARS):
                key = str(key)
            out[key] = jsonable_encoder(v, exclude_none=exclude_none)
        return out
    if isinstance(obj, (list, tuple)):
        return [jsonable_encoder(v, exclude_none=exclude_none) for v in obj]
    return jsonable_encoder(_default(obj), exclude_none=exclude_none)
