"""Value constraints (``ge``, ``max_length``, ``pattern``...) checked after conversion.

Errors carry pydantic's types, messages and ``ctx`` (``{"ge": 1}``), with the
original input (as FastAPI shows it), not the converted value.
"""

from __future__ import annotations

import dataclasses
import re
from decimal import Decimal
from typing import Any

from ._errors import Converter, _fail

__all__ = ["Constraints", "with_constraints"]


_CONSTRAINT_NAMES = (
    "gt",
    "ge",
    "lt",
    "le",
    "multiple_of",
    "min_length",
    "max_length",
    "pattern",
)


@dataclasses.dataclass(frozen=True, slots=True)
class Constraints:
    """Value constraints (FastAPI/pydantic names); ``None`` means unconstrained."""

    gt: Any = None
    ge: Any = None
    lt: Any = None
    le: Any = None
    multiple_of: Any = None
    min_length: int | None = None
    max_length: int | None = None
    pattern: str | None = None

    @classmethod
    def from_objects(cls, *objs: Any) -> Constraints | None:
        """Merge constraint attributes of ``objs`` (markers, annotated-types objects); later wins."""
        found: dict[str, Any] = {}
        for obj in objs:
            for name in _CONSTRAINT_NAMES:
                value = getattr(obj, name, None)
                if value is not None and not callable(value):
                    found[name] = value
        return cls(**found) if found else None


def _plural(n: Any, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def with_constraints(base: Converter, c: Constraints, tp: Any) -> Converter:
    pattern = re.compile(c.pattern) if c.pattern is not None else None
    seq_name = {
        list: "List",
        tuple: "Tuple",
        set: "Set",
        frozenset: "Frozenset",
        dict: "Dictionary",
    }

    def check(value: Any) -> Any:
        out = base(value)
        if isinstance(out, str):
            n = len(out)
            if c.min_length is not None and n < c.min_length:
                _fail(
                    "string_too_short",
                    f"String should have at least {_plural(c.min_length, 'character')}",
                    value,
                    {"min_length": c.min_length},
                )
            if c.max_length is not None and n > c.max_length:
                _fail(
                    "string_too_long",
                    f"String should have at most {_plural(c.max_length, 'character')}",
                    value,
                    {"max_length": c.max_length},
                )
            if pattern is not None and pattern.search(out) is None:
                _fail(
                    "string_pattern_mismatch",
                    f"String should match pattern '{c.pattern}'",
                    value,
                    {"pattern": c.pattern},
                )
        elif isinstance(out, (list, tuple, set, frozenset, dict)):
            n = len(out)
            kind = seq_name.get(type(out), "Value")
            if c.min_length is not None and n < c.min_length:
                msg = f"{kind} should have at least {_plural(c.min_length, 'item')} after validation, not {n}"
                _fail(
                    "too_short",
                    msg,
                    value,
                    {
                        "field_type": kind,
                        "min_length": c.min_length,
                        "actual_length": n,
                    },
                )
            if c.max_length is not None and n > c.max_length:
                msg = f"{kind} should have at most {_plural(c.max_length, 'item')} after validation, not {n}"
                _fail(
                    "too_long",
                    msg,
                    value,
                    {
                        "field_type": kind,
                        "max_length": c.max_length,
                        "actual_length": n,
                    },
                )
        elif isinstance(out, (int, float, Decimal)) and out is not None:
            if c.gt is not None and not out > c.gt:
                _fail(
                    "greater_than",
                    f"Input should be greater than {c.gt}",
                    value,
                    {"gt": c.gt},
                )
            if c.ge is not None and not out >= c.ge:
                _fail(
                    "greater_than_equal",
                    f"Input should be greater than or equal to {c.ge}",
                    value,
                    {"ge": c.ge},
                )
            if c.lt is not None and not out < c.lt:
                _fail(
                    "less_than",
                    f"Input should be less than {c.lt}",
                    value,
                    {"lt": c.lt},
                )
            if c.le is not None and not out <= c.le:
                _fail(
                    "less_than_equal",
                    f"Input should be less than or equal to {c.le}",
                    value,
                    {"le": c.le},
                )
            if c.multiple_of is not None and out % c.multiple_of != 0:
                _fail(
                    "multiple_of",
                    f"Input should be a multiple of {c.multiple_of}",
                    value,
                    {"multiple_of": c.multiple_of},
                )
        return out

    return check
