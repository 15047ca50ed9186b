"""Parameter markers: ``Query``, ``Path``, ``Header``, ``Cookie``, ``Body``, ``Depends``.

A marker is used either as a default value (``q: int = Query(10, ge=1)``) or
inside ``Annotated`` (``q: Annotated[int, Query(ge=1)] = 10``). Markers only
carry declarations; they are read once, when the route is declared.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from typing import Any, ClassVar

__all__ = [
    "Body",
    "Cookie",
    "Depends",
    "Header",
    "Param",
    "Path",
    "Query",
    "Security",
    "Undefined",
]


class _UndefinedType:
    """The "no default given" sentinel: the parameter is required."""

    _instance: ClassVar[_UndefinedType | None] = None

    def __new__(cls) -> _UndefinedType:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "Undefined"

    def __bool__(self) -> bool:
        return False

    def __copy__(self) -> _UndefinedType:
        return self

    def __deepcopy__(self, memo: Any) -> _UndefinedType:
        return self


Undefined: Any = _UndefinedType()


class Param:
    """Where a parameter comes from, its default and its constraints.

    ``default=...`` (Ellipsis) and no default both mean "required".
    """

    source: ClassVar[str] = ""

    def __init__(
        self,
        default: Any = Undefined,
        *,
        default_factory: Callable[[], Any] | None = None,
        alias: str | None = None,
        title: str | None = None,
        description: str | None = None,
        gt: float | None = None,
        ge: float | None = None,
        lt: float | None = None,
        le: float | None = None,
        multiple_of: float | None = None,
        min_length: int | None = None,
        max_length: int | None = None,
        pattern: str | None = None,
        regex: str | None = None,
        examples: Sequence[Any] | None = None,
        deprecated: bool | None = None,
        include_in_schema: bool = True,
    ) -> None:
        if default is ...:
            default = Undefined
        if default is not Undefined and default_factory is not None:
            raise TypeError("cannot give both 'default' and 'default_factory'")
        if regex is not None:
            warnings.warn(
                "'regex' is deprecated, use 'pattern' instead",
                DeprecationWarning,
                stacklevel=3,
            )
            if pattern is None:
                pattern = regex
        self.default = default
        self.default_factory = default_factory
        self.alias = alias
        self.title = title
        self.description = description
        self.gt = gt
        self.ge = ge
        self.lt = lt
        self.le = le
        self.multiple_of = multiple_of
        self.min_length = min_length
        self.max_length = max_length
        self.pattern = pattern
        self.examples = examples
        self.deprecated = deprecated
        self.include_in_schema = include_in_schema

    @property
    def has_default(self) -> bool:
        return self.default is not Undefined or self.default_factory is not None

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.default!r})"


class Query(Param):
    """A query-string parameter (``?name=value``, repeated for lists)."""

    source = "query"


class Path(Param):
    """A path parameter, named in the route's template (``/items/{item_id}``)."""

    source = "path"


class Header(Param):
    """A request header; ``user_agent`` reads ``user-agent`` unless ``convert_underscores=False``."""

    source = "header"

    def __init__(
        self,
        default: Any = Undefined,
        *,
        convert_underscores: bool = True,
        **kwargs: Any,
    ) -> None:
        super().__init__(default, **kwargs)
        self.convert_underscores = convert_underscores


class Cookie(Param):
    """A cookie sent by the client."""

    source = "cookie"


class Body(Param):
    """A part of the JSON request body.

    A single body parameter takes the whole body unless ``embed=True``; with
    several body parameters each one is read from the body object by name.
    """

    source = "body"

    def __init__(
        self,
        default: Any = Undefined,
        *,
        embed: bool = False,
        media_type: str = "application/json",
        **kwargs: Any,
    ) -> None:
        super().__init__(default, **kwargs)
        self.embed = embed
        self.media_type = media_type


class Depends:
    """A dependency: ``dependency`` is called (with its own parameters resolved) per request.

    Within one request the result is cached per callable unless ``use_cache=False``.
    With no ``dependency`` the parameter's annotation is called.
    """

    def __init__(
        self, dependency: Callable[..., Any] | None = None, *, use_cache: bool = True
    ) -> None:
        self.dependency = dependency
        self.use_cache = use_cache

    def __repr__(self) -> str:
        name = getattr(self.dependency, "__name__", type(self.dependency).__name__)
        cache = "" if self.use_cache else ", use_cache=False"
        return f"{type(self).__name__}({name}{cache})"


class Security(Depends):
    """A dependency that also declares OAuth2 ``scopes`` (stored; used by security helpers)."""

    def __init__(
        self,
        dependency: Callable[..., Any] | None = None,
        *,
        scopes: Sequence[str] | None = None,
        use_cache: bool = True,
    ) -> None:
        super().__init__(dependency, use_cache=use_cache)
        self.scopes = list(scopes or ())
