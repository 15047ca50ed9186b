"""Path templates compiled for Go's ``ServeMux`` and matched the way it matches.

``/items/{item_id}`` becomes the pattern ``/items/{item_id}``, ``/files/{p:path}``
becomes ``/files/{p...}`` and a trailing slash becomes ``{$}`` (an exact match,
not a subtree). ``relation`` reproduces ServeMux's precedence rules (Go's
``net/http/pattern.go``) so conflicts are refused at declaration and the test
client picks the route Go would pick.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Sequence

__all__ = ["CompiledPath", "compile_path", "relation"]

_PARAM = re.compile(r"\{([^{}:]*)(?::([^{}]*))?\}")

# Segment kinds, as Go's ServeMux sees them.
LIT, WILD, MULTI, END = "lit", "wild", "multi", "end"


@dataclasses.dataclass(frozen=True, slots=True)
class CompiledPath:
    """A template compiled for Go (``go_pattern``) and for the test client (``regex``)."""

    path: str
    go_pattern: str
    param_names: tuple[str, ...]
    regex: re.Pattern[str]
    segments: tuple[tuple[str, str], ...]


def compile_path(path: str, *, route: str = "") -> CompiledPath:
    """Compile ``path``; raise ``ValueError`` naming ``route`` for templates ServeMux cannot express."""
    where = f"route {route or path!r}"
    if not isinstance(path, str) or not path.startswith("/"):
        raise ValueError(f"{where}: the path must start with '/'")
    if any(c.isspace() or ord(c) < 0x20 or c in "?#" for c in path):
        raise ValueError(
            f"{where}: the path may not contain whitespace, control characters, '?' or '#'"
        )
    raw_segments = path[1:].split("/")
    go_parts: list[str] = []
    rx_parts: list[str] = []
    names: list[str] = []
    segments: list[tuple[str, str]] = []
    last = len(raw_segments) - 1
    for i, seg in enumerate(raw_segments):
        if "{" not in seg and "}" not in seg:
            if seg == "" and i != last:
                raise ValueError(f"{where}: empty path segment ('//')")
            if seg == "":  # trailing slash: an exact match, not a subtree
                go_parts.append("{$}")
                rx_parts.append("")
                segments.append((END, ""))
            else:
                go_parts.append(seg)
                rx_parts.append(re.escape(seg))
                segments.append((LIT, seg))
            continue
        m = _PARAM.fullmatch(seg)
        if m is None:
            raise ValueError(
                f"{where}: the segment {seg!r} mixes text and a parameter; Go's ServeMux needs every "
                "parameter to be a whole path segment (e.g. '/files/{name}' instead of '/files/{name}.json')"
            )
        name, convertor = m.group(1), m.group(2)
        if not name.isidentifier():
            raise ValueError(f"{where}: {name!r} is not a valid parameter name")
        if name in names:
            raise ValueError(f"{where}: the parameter {name!r} appears twice")
        names.append(name)
        if convertor in (None, "str"):
            go_parts.append("{" + name + "}")
            rx_parts.append("([^/]+)")
            segments.append((WILD, name))
        elif convertor == "path":
            if i != last:
                raise ValueError(
                    f"{where}: the catch-all parameter {{{name}:path}} must be the last segment"
                )
            go_parts.append("{" + name + "...}")
            rx_parts.append("(.*)")
            segments.append((MULTI, name))
        else:
            raise ValueError(
                f"{where}: unsupported convertor {{{name}:{convertor}}}; use {{{name}}} with a typed "
                f"parameter (e.g. {name}: int) or {{{name}:path}}"
            )
    return CompiledPath(
        path=path,
        go_pattern="/" + "/".join(go_parts),
        param_names=tuple(names),
        regex=re.compile("^/" + "/".join(rx_parts) + "$", re.DOTALL),
        segments=tuple(segments),
    )


# Relationships between two patterns, as Go's net/http computes them (pattern.go).
EQUIVALENT, MORE_GENERAL, MORE_SPECIFIC = "equivalent", "general", "specific"
DISJOINT, OVERLAPS = "disjoint", "overlaps"
_INVERSE = {MORE_GENERAL: MORE_SPECIFIC, MORE_SPECIFIC: MORE_GENERAL}


def _combine(r1: str, r2: str) -> str:
    if r1 == EQUIVALENT:
        return r2
    if r1 == DISJOINT or r2 == DISJOINT:
        return DISJOINT
    if r1 == OVERLAPS:
        return OVERLAPS
    if r2 == EQUIVALENT:
        return r1
    if r2 == _INVERSE[r1]:
        return OVERLAPS
    return r2


def _compare_segments(s1: tuple[str, str], s2: tuple[str, str]) -> str:
    k1, k2 = s1[0], s2[0]
    if k1 == MULTI and k2 == MULTI:
        return EQUIVALENT
    if k1 == MULTI:
        return MORE_GENERAL
    if k2 == MULTI:
        return MORE_SPECIFIC
    if k1 == WILD and k2 == WILD:
        return EQUIVALENT
    if k1 == WILD:
        return DISJOINT if k2 == END else MORE_GENERAL
    if k2 == WILD:
        return DISJOINT if k1 == END else MORE_SPECIFIC
    return EQUIVALENT if s1 == s2 else DISJOINT


def _compare_paths(a: Sequence[tuple[str, str]], b: Sequence[tuple[str, str]]) -> str:
    a_multi, b_multi = a[-1][0] == MULTI, b[-1][0] == MULTI
    if len(a) != len(b) and not a_multi and not b_multi:
        return DISJOINT
    rel = EQUIVALENT
    n = min(len(a), len(b))
    for i in range(n):
        rel = _combine(rel, _compare_segments(a[i], b[i]))
        if rel == DISJOINT:
            return rel
    if len(a) == len(b):
        return rel
    if len(a) < len(b) and a_multi:
        return _combine(rel, MORE_GENERAL)
    if len(b) < len(a) and b_multi:
        return _combine(rel, MORE_SPECIFIC)
    return DISJOINT


def relation(m1: str, p1: CompiledPath, m2: str, p2: CompiledPath) -> str:
    """How ``METHOD path`` pattern 1 relates to pattern 2 (Go's ServeMux precedence rules)."""
    if m1 == m2:
        mrel = EQUIVALENT
    elif m1 == "HEAD" and m2 == "GET":
        mrel = MORE_SPECIFIC
    elif m1 == "GET" and m2 == "HEAD":
        mrel = MORE_GENERAL
    else:
        return DISJOINT
    return _combine(mrel, _compare_paths(p1.segments, p2.segments))
