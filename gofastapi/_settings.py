"""Validation and normalisation of the app's settings (exported to Go in the description).

Every error names the setting and the accepted form, so a bad value fails at
import time with a message the user can act on.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

__all__ = [
    "DEFAULTS",
    "parse_rate_limit",
    "parse_size",
    "parse_timeout",
    "validate_settings",
]

DEFAULTS: dict[str, Any] = {
    "cors_origins": [],
    "cors_methods": ["GET"],
    "cors_headers": [],
    "cors_credentials": False,
    "cors_max_age": 600,
    "security_headers": True,
    "max_request_size": 1024 * 1024,
    "rate_limit": None,
    "allowed_imports": None,
    "timeout": None,
}

_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_BAD_VALUE = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")
_ORIGIN = re.compile(
    r"(?:https?)://(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.\-*]+)(?::[0-9]{1,5})?", re.ASCII
)
_SIZE = re.compile(r"\s*([0-9]+(?:\.[0-9]+)?)\s*([KMGT]?)(I?B)?\s*", re.IGNORECASE)
_RATE = re.compile(
    r"\s*([0-9]+)\s*/\s*(second|minute|hour)\s*(?:;\s*burst\s*=\s*([0-9]+)\s*)?",
    re.IGNORECASE,
)
_MODULE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*")
_UNITS = {"": 1, "K": 1024, "M": 1024**2, "G": 1024**3, "T": 1024**4}


def parse_size(value: Any, setting: str = "max_request_size") -> int | None:
    """Bytes from an int or a string: ``"100"``, ``"512KB"``, ``"10MB"``, ``"1GiB"``.

    KB/MB/GB/TB are 1024-based, as nginx treats them; KiB/MiB/GiB/TiB are
    accepted as the same units. ``None`` means "no limit set here".
    """
    if value is None:
        return None
    form = "an int of bytes >= 0 or a string like '512KB', '10MB', '1GiB' (1024-based)"
    if isinstance(value, bool):
        raise TypeError(f"{setting} must be {form}, not {value!r}")
    if isinstance(value, int):
        if value < 0:
            raise ValueError(f"{setting} must be {form}, not {value!r}")
        return value
    if isinstance(value, str):
        m = _SIZE.fullmatch(value)
        if m is not None and (m.group(2) or m.group(3) or "." not in m.group(1)):
            if m.group(3) and m.group(3).upper() == "IB" and not m.group(2):
                raise ValueError(f"{setting} must be {form}, not {value!r}")
            number = float(m.group(1)) if "." in m.group(1) else int(m.group(1))
            return int(number * _UNITS[m.group(2).upper()])
        raise ValueError(f"{setting} must be {form}, not {value!r}")
    raise TypeError(f"{setting} must be {form}, not {type(value).__name__}")


def parse_rate_limit(value: Any, setting: str = "rate_limit") -> str | None:
    """Normalise ``"100/minute"`` or ``"100/minute;burst=20"`` (units: second, minute, hour)."""
    if value is None:
        return None
    form = "None or a string like '100/minute' or '100/minute;burst=20' (second, minute or hour)"
    if setting != "rate_limit":
        form += ", or 'off'"
    if not isinstance(value, str):
        raise TypeError(f"{setting} must be {form}, not {type(value).__name__}")
    m = _RATE.fullmatch(value)
    if (
        m is None
        or int(m.group(1)) < 1
        or (m.group(3) is not None and int(m.group(3)) < 1)
    ):
        raise ValueError(f"{setting} must be {form}, not {value!r}")
    text = f"{int(m.group(1))}/{m.group(2).lower()}"
    if m.group(3) is not None:
        text += f";burst={int(m.group(3))}"
    return text


def parse_timeout(value: Any, setting: str = "timeout") -> float | None:
    """Seconds as a positive finite number, or ``None``."""
    if value is None:
        return None
    form = "None or a number of seconds > 0"
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{setting} must be {form}, not {type(value).__name__}")
    if not math.isfinite(value) or value <= 0:
        raise ValueError(f"{setting} must be {form}, not {value!r}")
    return float(value)


def _str_list(value: Any, setting: str, form: str) -> list[str]:
    if isinstance(value, str) or not isinstance(value, (list, tuple)):
        raise TypeError(f"{setting} must be {form}, not {type(value).__name__}")
    for item in value:
        if not isinstance(item, str):
            raise TypeError(f"{setting} must be {form}; {item!r} is not a string")
    return list(value)


def _origins(value: Any) -> list[str]:
    form = "a list of origins like 'https://example.com' or '*'"
    out = []
    for origin in _str_list(value, "cors_origins", form):
        origin = origin.rstrip("/") if origin != "*" else origin
        if origin != "*" and _ORIGIN.fullmatch(origin) is None:
            raise ValueError(
                f"cors_origins must be {form}; {origin!r} is not an origin (scheme://host[:port])"
            )
        out.append(origin)
    return out


def _tokens(value: Any, setting: str, upper: bool) -> list[str]:
    form = "a list of HTTP tokens or '*'"
    out = []
    for item in _str_list(value, setting, form):
        if item != "*" and _TOKEN.fullmatch(item) is None:
            raise ValueError(f"{setting} must be {form}; {item!r} is not a token")
        out.append(item.upper() if upper else item)
    return out


def _security_headers(value: Any) -> bool | dict[str, Any]:
    """A dict extends the defaults: a value replaces one, ``None`` removes one,
    and ``"inherit_defaults": False`` starts from no defaults at all."""
    form = "True, False or a dict of header name -> value (None removes a default)"
    if isinstance(value, bool):
        return value
    if not isinstance(value, Mapping):
        raise TypeError(f"security_headers must be {form}, not {type(value).__name__}")
    out: dict[str, Any] = {}
    for name, text in value.items():
        if name == "inherit_defaults":
            out[name] = _bool(text, "security_headers['inherit_defaults']")
            continue
        if text is None and isinstance(name, str) and _TOKEN.fullmatch(name) is not None:
            out[name] = None
            continue
        if not isinstance(name, str) or _TOKEN.fullmatch(name) is None:
            raise ValueError(
                f"security_headers must be {form}; {name!r} is not a header name"
            )
        if not isinstance(text, str) or _BAD_VALUE.search(text) is not None:
            raise ValueError(
                f"security_headers must be {form}; the value of {name!r} is not a valid header value"
            )
        out[name] = text
    return out


def _bool(value: Any, setting: str) -> bool:
    if not isinstance(value, bool):
        raise TypeError(f"{setting} must be True or False, not {value!r}")
    return value


def _max_age(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"cors_max_age must be an int of seconds >= 0, not {value!r}")
    if value < 0:
        raise ValueError(f"cors_max_age must be an int of seconds >= 0, not {value!r}")
    return value


def _allowed_imports(value: Any) -> list[str] | None:
    if value is None:
        return None
    form = "None or a list of module names like 'json' or 'mypkg.sub'"
    names = _str_list(value, "allowed_imports", form)
    for name in names:
        if _MODULE.fullmatch(name) is None:
            raise ValueError(
                f"allowed_imports must be {form}; {name!r} is not a module name"
            )
    return names


def validate_settings(given: Mapping[str, Any]) -> dict[str, Any]:
    """Return the normalised settings; unknown names raise ``TypeError``."""
    unknown = sorted(set(given) - set(DEFAULTS))
    if unknown:
        raise TypeError(
            f"GoFastAPI() got an unexpected keyword argument {unknown[0]!r} "
            f"(settings are: {', '.join(DEFAULTS)})"
        )
    merged = {**DEFAULTS, **given}
    out: dict[str, Any] = {
        "cors_origins": _origins(merged["cors_origins"]),
        "cors_methods": _tokens(merged["cors_methods"], "cors_methods", upper=True),
        "cors_headers": _tokens(merged["cors_headers"], "cors_headers", upper=False),
        "cors_credentials": _bool(merged["cors_credentials"], "cors_credentials"),
        "cors_max_age": _max_age(merged["cors_max_age"]),
        "security_headers": _security_headers(merged["security_headers"]),
        "max_request_size": parse_size(merged["max_request_size"]),
        "rate_limit": parse_rate_limit(merged["rate_limit"]),
        "allowed_imports": _allowed_imports(merged["allowed_imports"]),
        "timeout": parse_timeout(merged["timeout"]),
    }
    if out["cors_credentials"] and "*" in out["cors_origins"]:
        raise ValueError(
            "cors_credentials=True cannot be combined with '*' in cors_origins; "
            "list the allowed origins explicitly"
        )
    return out
