"""Converters for scalar types (str, int, float, bool, UUID, dates, Decimal, Enum, Literal...).

Each accepts what pydantic's lax mode accepts from JSON or from a query string
and raises ``Invalid`` with pydantic's error type and message otherwise.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import enum
import re
import uuid
from collections.abc import Sequence
from decimal import Decimal, InvalidOperation
from typing import Any

from ._errors import Converter, _fail

__all__ = ["SCALARS", "enum_converter", "identity", "literal_converter"]


def identity(value: Any) -> Any:
    return value


def _to_str(value: Any) -> str:
    if type(value) is str:
        return value
    if isinstance(value, str):
        return str(value) if not isinstance(value, enum.Enum) else value.value
    _fail("string_type", "Input should be a valid string", value)


_INT_RE = re.compile(r"\s*([+-]?[0-9]+)(?:\.0*)?\s*")


def _to_int(value: Any) -> int:
    t = type(value)
    if t is int:
        return value  # type: ignore[no-any-return]
    if t is str:
        if value.isdigit() and value.isascii() and len(value) < 4300:
            return int(value)
        m = _INT_RE.fullmatch(value)
        if m is not None:
            try:
                return int(m.group(1))
            except ValueError:  # more digits than sys.get_int_max_str_digits()
                pass
        _fail(
            "int_parsing",
            "Input should be a valid integer, unable to parse string as an integer",
            value,
        )
    if t is float:
        if value != value or value in (float("inf"), float("-inf")):
            _fail("finite_number", "Input should be a finite number", value)
        if not value.is_integer():
            _fail(
                "int_from_float",
                "Input should be a valid integer, got a number with a fractional part",
                value,
            )
        return int(value)
    if isinstance(value, int):  # bool, IntEnum
        return int(value)
    _fail("int_type", "Input should be a valid integer", value)


_FLOAT_RE = re.compile(
    r"\s*[+-]?(?:(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?|inf|infinity|nan)\s*",
    re.IGNORECASE,
)


def _to_float(value: Any) -> float:
    t = type(value)
    if t is float:
        return value  # type: ignore[no-any-return]
    if t is str:
        if _FLOAT_RE.fullmatch(value) is not None:
            return float(value)
        _fail(
            "float_parsing",
            "Input should be a valid number, unable to parse string as a number",
            value,
        )
    if isinstance(value, (int, float)):
        try:
            return float(value)
        except OverflowError:
            _fail(
                "float_parsing",
                "Input should be a valid number, unable to parse string as a number",
                value,
            )
    _fail("float_type", "Input should be a valid number", value)


_TRUE = frozenset({"1", "on", "t", "true", "y", "yes"})
_FALSE = frozenset({"0", "off", "f", "false", "n", "no"})


def _to_bool(value: Any) -> bool:
    if value is True or value is False:
        return value
    t = type(value)
    if t is str:
        s = value.lower()
        if s in _TRUE:
            return True
        if s in _FALSE:
            return False
    elif t is int or t is float:
        if value == 1:
            return True
        if value == 0:
            return False
    else:
        _fail("bool_type", "Input should be a valid boolean", value)
    _fail(
        "bool_parsing",
        "Input should be a valid boolean, unable to interpret input",
        value,
    )


_UUID_CHARS = re.compile(r"[^0-9a-fA-F-]")


def _uuid_reason(text: str) -> str:
    body = text[9:] if text.lower().startswith("urn:uuid:") else text
    bad = _UUID_CHARS.search(body)
    if bad is not None:
        return (
            "invalid character: expected an optional prefix of `urn:uuid:` followed by "
            f"[0-9a-fA-F-], found `{bad.group()}` at {bad.start() + 1}"
        )
    groups = body.split("-")
    if len(groups) not in (1, 5):
        return f"invalid group count: expected 5, found {len(groups)}"
    return f"invalid length: expected length 32 for simple format, found {len(body)}"


def _to_uuid(value: Any) -> uuid.UUID:
    if isinstance(value, uuid.UUID):
        return value
    if isinstance(value, str):
        try:
            return uuid.UUID(value)
        except ValueError:
            reason = _uuid_reason(value)
            _fail(
                "uuid_parsing",
                f"Input should be a valid UUID, {reason}",
                value,
                {"error": reason},
            )
    if isinstance(value, bytes) and len(value) == 16:
        return uuid.UUID(bytes=value)
    _fail("uuid_type", "UUID input should be a string, bytes or UUID object", value)


def _to_decimal(value: Any) -> Decimal:
    t = type(value)
    if t is Decimal:
        d = value
    elif t is str or t is int:
        try:
            d = Decimal(value.strip() if t is str else value)
        except InvalidOperation:
            _fail("decimal_parsing", "Input should be a valid decimal", value)
    elif t is float:
        d = Decimal(repr(value))
    else:
        _fail(
            "decimal_type",
            "Decimal input should be an integer, float, string or Decimal object",
            value,
        )
    if not d.is_finite():
        _fail("finite_number", "Input should be a finite number", value)
    return d  # type: ignore[no-any-return]


def _to_bytes(value: Any) -> bytes:
    if type(value) is bytes:
        return value
    if isinstance(value, str):
        return value.encode("utf-8")
    if isinstance(value, (bytes, bytearray)):
        return bytes(value)
    _fail("bytes_type", "Input should be a valid bytes", value)


def _timestamp(value: float) -> dt.datetime:
    if abs(value) > 2e10:  # pydantic: larger numbers are milliseconds
        value = value / 1000
    return dt.datetime.fromtimestamp(value, tz=dt.UTC)


def _datetime_reason(text: str) -> str:
    if len(text) < 10:
        return "input is too short"
    if not text[:4].isdigit():
        return "invalid character in year"
    return "invalid datetime format"


def _to_datetime(value: Any) -> dt.datetime:
    if isinstance(value, dt.datetime):
        return value
    if isinstance(value, str):
        if _FLOAT_RE.fullmatch(value) is not None and not value.strip().isalpha():
            return _timestamp(float(value))
        try:
            return dt.datetime.fromisoformat(value)
        except ValueError:
            reason = _datetime_reason(value)
            _fail(
                "datetime_from_date_parsing",
                f"Input should be a valid datetime or date, {reason}",
                value,
                {"error": reason},
            )
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        try:
            return _timestamp(value)
        except (OverflowError, ValueError, OSError):
            _fail(
                "datetime_parsing",
                "Input should be a valid datetime, dates after 9999 are not supported as unix timestamps",
                value,
            )
    _fail("datetime_type", "Input should be a valid datetime", value)


def _to_date(value: Any) -> dt.date:
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            pass
        try:
            full = dt.datetime.fromisoformat(value)
        except ValueError:
            reason = "input is too short" if len(value) < 10 else "invalid date format"
            _fail(
                "date_from_datetime_parsing",
                f"Input should be a valid date or datetime, {reason}",
                value,
                {"error": reason},
            )
        if full.time() != dt.time(0):
            _fail(
                "date_from_datetime_inexact",
                "Datetimes provided to dates should have zero time - e.g. be exact dates",
                value,
            )
        return full.date()
    _fail("date_type", "Input should be a valid date", value)


def _to_time(value: Any) -> dt.time:
    if isinstance(value, dt.time):
        return value
    if isinstance(value, str):
        try:
            return dt.time.fromisoformat(value)
        except ValueError:
            _fail(
                "time_parsing",
                "Input should be in a valid time format, invalid time format",
                value,
                {"error": "invalid time format"},
            )
    _fail("time_type", "Input should be a valid time", value)


def _to_timedelta(value: Any) -> dt.timedelta:
    if isinstance(value, dt.timedelta):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return dt.timedelta(seconds=value)
    if isinstance(value, str):
        if _FLOAT_RE.fullmatch(value) is not None:
            return dt.timedelta(seconds=float(value))
        m = re.fullmatch(r"\s*(-)?(\d+):([0-5]\d):([0-5]\d(?:\.\d+)?)\s*", value)
        if m is not None:
            secs = int(m.group(2)) * 3600 + int(m.group(3)) * 60 + float(m.group(4))
            return dt.timedelta(seconds=-secs if m.group(1) else secs)
        _fail(
            "time_delta_parsing",
            "Input should be a valid timedelta, invalid timedelta format",
            value,
            {"error": "invalid timedelta format"},
        )
    _fail("time_delta_type", "Input should be a valid timedelta", value)


def _to_none(value: Any) -> None:
    if value is not None:
        _fail("none_required", "Input should be None", value)


SCALARS: dict[Any, Converter] = {
    str: _to_str,
    int: _to_int,
    float: _to_float,
    bool: _to_bool,
    uuid.UUID: _to_uuid,
    Decimal: _to_decimal,
    bytes: _to_bytes,
    dt.datetime: _to_datetime,
    dt.date: _to_date,
    dt.time: _to_time,
    dt.timedelta: _to_timedelta,
    type(None): _to_none,
    None: _to_none,
    Any: identity,
    object: identity,
}


def _expected(values: Sequence[Any]) -> str:
    shown = [repr(v.value if isinstance(v, enum.Enum) else v) for v in values]
    if len(shown) <= 1:
        return "".join(shown)
    return ", ".join(shown[:-1]) + " or " + shown[-1]


def enum_converter(cls: type[enum.Enum]) -> Converter:
    members = list(cls)
    by_value: dict[Any, enum.Enum] = {}
    by_text: dict[str, enum.Enum] = {}
    for m in members:
        with contextlib.suppress(
            TypeError
        ):  # unhashable values are matched by text only
            by_value.setdefault(m.value, m)
        if not isinstance(m.value, str):
            by_text.setdefault(str(m.value), m)
    expected = _expected(members)
    msg = f"Input should be {expected}"

    def convert(value: Any) -> enum.Enum:
        if type(value) is cls:
            return value
        try:
            return by_value[value]
        except (KeyError, TypeError):
            pass
        if type(value) is str and value in by_text:
            return by_text[value]
        _fail("enum", msg, value, {"expected": expected})

    return convert


def literal_converter(values: tuple[Any, ...]) -> Converter:
    expected = _expected(values)
    msg = f"Input should be {expected}"
    by_text = {str(v): v for v in values if not isinstance(v, str)}

    def convert(value: Any) -> Any:
        for lit in values:
            if value == lit and type(value) is type(lit):
                return lit
        if type(value) is str and value in by_text:
            return by_text[value]
        _fail("literal_error", msg, value, {"expected": expected})

    return convert
