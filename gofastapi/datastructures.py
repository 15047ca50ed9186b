"""Request and response data structures: ``Headers``, ``MutableHeaders``, ``QueryParams``, ``URL``, ``Address``.

Re-exported by ``gofastapi.requests`` (where FastAPI users look for them).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any, NamedTuple
from urllib.parse import quote, unquote_plus

__all__ = ["URL", "Address", "Headers", "MutableHeaders", "QueryParams", "parse_query"]


class Address(NamedTuple):
    """The client's address: ``host`` (IP text, ``""`` if unknown) and ``port`` (0 if unknown)."""

    host: str
    port: int


def parse_query(raw: str) -> list[tuple[str, str]]:
    """Parse a query string like ``urllib.parse.parse_qsl(raw, keep_blank_values=True)``."""
    out = []
    plain = "%" not in raw and "+" not in raw
    for field in raw.split("&"):
        if not field:
            continue
        name, _, value = field.partition("=")
        if not plain:
            name = unquote_plus(name)
            value = unquote_plus(value)
        out.append((name, value))
    return out


class QueryParams(Mapping[str, str]):
    """The query string as an immutable multi-dict; ``q[key]`` and ``get`` give the last value."""

    __slots__ = ("_dict", "_list")

    def __init__(
        self, items: str | Sequence[tuple[str, str]] | Mapping[str, str] = ()
    ) -> None:
        if isinstance(items, str):
            self._list = parse_query(items)
        elif isinstance(items, Mapping):
            self._list = [(str(k), str(v)) for k, v in items.items()]
        else:
            self._list = [(str(k), str(v)) for k, v in items]
        self._dict = dict(self._list)

    def __getitem__(self, key: str) -> str:
        return self._dict[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._dict)

    def __len__(self) -> int:
        return len(self._dict)

    def __contains__(self, key: object) -> bool:
        return key in self._dict

    def getlist(self, key: str) -> list[str]:
        return [v for k, v in self._list if k == key]

    def multi_items(self) -> list[tuple[str, str]]:
        return list(self._list)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, QueryParams) and sorted(self._list) == sorted(
            other._list
        )

    def __str__(self) -> str:
        return "&".join(
            f"{quote(k, safe='')}={quote(v, safe='')}" for k, v in self._list
        )

    def __repr__(self) -> str:
        return f"QueryParams({str(self)!r})"


class Headers(Mapping[str, str]):
    """Case-insensitive, multi-valued headers; ``h[name]`` and ``get`` give the first value."""

    __slots__ = ("_list",)

    def __init__(
        self,
        headers: Mapping[str, str] | Sequence[tuple[str, str]] | None = None,
        *,
        raw: str | None = None,
    ) -> None:
        if raw is not None:
            items = []
            for line in raw.split("\r\n"):
                if line:
                    name, _, value = line.partition(":")
                    items.append((name.lower(), value.strip(" \t")))
            self._list: list[tuple[str, str]] = items
        elif headers is None:
            self._list = []
        elif isinstance(headers, Mapping):
            self._list = [(k.lower(), v) for k, v in headers.items()]
        else:
            self._list = [(k.lower(), v) for k, v in headers]

    @property
    def raw(self) -> list[tuple[str, str]]:
        """The ``(lower-case name, value)`` pairs, in order (mutable for ``MutableHeaders``)."""
        return self._list

    def __getitem__(self, key: str) -> str:
        key = key.lower()
        for k, v in self._list:
            if k == key:
                return v
        raise KeyError(key)

    def __contains__(self, key: object) -> bool:
        if not isinstance(key, str):
            return False
        key = key.lower()
        return any(k == key for k, _ in self._list)

    def __iter__(self) -> Iterator[str]:
        return iter(self.keys())

    def __len__(self) -> int:
        return len(self._list)

    def keys(self) -> list[str]:  # type: ignore[override]
        return [k for k, _ in self._list]

    def values(self) -> list[str]:  # type: ignore[override]
        return [v for _, v in self._list]

    def items(self) -> list[tuple[str, str]]:  # type: ignore[override]
        return list(self._list)

    def getlist(self, key: str) -> list[str]:
        key = key.lower()
        return [v for k, v in self._list if k == key]

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Headers) and sorted(self._list) == sorted(other._list)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._list!r})"


class MutableHeaders(Headers):
    """Response headers: ``h[name] = value`` replaces, ``append`` adds another value."""

    __slots__ = ()

    def __setitem__(self, key: str, value: str) -> None:
        key = key.lower()
        value = str(value)
        found = False
        out = []
        for k, v in self._list:
            if k == key:
                if not found:
                    out.append((k, value))
                    found = True
            else:
                out.append((k, v))
        if not found:
            out.append((key, value))
        self._list[:] = out

    def __delitem__(self, key: str) -> None:
        key = key.lower()
        self._list[:] = [(k, v) for k, v in self._list if k != key]

    def append(self, key: str, value: str) -> None:
        self._list.append((key.lower(), str(value)))

    def setdefault(self, key: str, value: str) -> str:
        if key in self:
            return self[key]
        self.append(key, value)
        return value

    def update(self, other: Mapping[str, str]) -> None:
        for k, v in other.items():
            self[k] = v

    def pop(self, key: str, default: Any = None) -> Any:
        try:
            value = self[key]
        except KeyError:
            return default
        del self[key]
        return value


class URL:
    """The request URL; ``str(url)`` rebuilds it from scheme, host, path and query."""

    __slots__ = ("scheme", "netloc", "path", "query")

    def __init__(self, scheme: str, netloc: str, path: str, query: str) -> None:
        self.scheme = scheme
        self.netloc = netloc
        self.path = path
        self.query = query

    @property
    def hostname(self) -> str:
        host = self.netloc
        if host.startswith("["):
            return host[1 : host.find("]")]
        return host.rsplit(":", 1)[0] if ":" in host else host

    @property
    def port(self) -> int | None:
        host = self.netloc
        tail = host[host.rfind("]") + 1 :] if host.startswith("[") else host
        if ":" in tail:
            try:
                return int(tail.rsplit(":", 1)[1])
            except ValueError:
                return None
        return None

    def __str__(self) -> str:
        url = (
            f"{self.scheme}://{self.netloc}{quote(self.path, safe='/:@!$&()*+,;=-._~')}"
        )
        return f"{url}?{self.query}" if self.query else url

    def __repr__(self) -> str:
        return f"URL({str(self)!r})"

    def __eq__(self, other: object) -> bool:
        return str(self) == str(other)

    def __hash__(self) -> int:
        return hash(str(self))
