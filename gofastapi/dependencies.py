"""Signature analysis: a handler or dependency becomes an immutable ``Dependant`` plan.

Runs once, when a route is declared. Every parameter gets its source (path,
query, header, cookie, body, dependency, ``Request`` or ``Response``), its
lookup key, its converter and its default; a bad signature raises here with a
message naming the parameter, never on a request.
"""

from __future__ import annotations

import copy
import dataclasses
import enum
import inspect
import typing
from collections.abc import Callable, Mapping, Sequence
from typing import Annotated, Any

from . import params as p
from ._convert import Constraints, Converter, build_converter, classify, unwrap
from ._pydantic_lazy import is_model_class
from .requests import Request
from .responses import Response
from .security import SecurityScopes

__all__ = [
    "CALL",
    "CALL_ASYNC",
    "GEN",
    "GEN_ASYNC",
    "Dependant",
    "ParamSpec",
    "analyze",
    "flat_body",
]

# How a dependant is called.
CALL, CALL_ASYNC, GEN, GEN_ASYNC = 0, 1, 2, 3

_SOURCE_ORDER = {"path": 0, "query": 1, "header": 2, "cookie": 3}
_IMMUTABLE = (
    type(None),
    str,
    bytes,
    int,
    float,
    bool,
    complex,
    tuple,
    frozenset,
    enum.Enum,
)


@dataclasses.dataclass(frozen=True, slots=True, eq=False)
class ParamSpec:
    """One request-derived parameter.

    ``alias`` is the lookup key (lower case for headers); ``loc`` the error
    location prefix; ``copy_default`` is set when the default is mutable and
    must be deep-copied per request (as FastAPI does).
    """

    name: str
    source: str
    alias: str
    loc: tuple[str, ...]
    convert: Converter
    required: bool
    default: Any
    default_factory: Callable[[], Any] | None
    is_seq: bool
    index: int
    embed: bool
    media_type: str
    # A pydantic model read from the query, headers or cookies: its fields, else None.
    model_fields: tuple[Any, ...] | None = None
    # What the converter was built from, for the edge plan (_edge_plan.py).
    annotation: Any = None
    constraints: Any = None

    def make_default(self) -> Any:
        return self.default if self.default_factory is None else self.default_factory()


@dataclasses.dataclass(frozen=True, slots=True, eq=False)
class Dependant:
    """The plan for calling ``call``: sub-dependencies first, then its own parameters.

    ``deps`` pairs a keyword name (``None`` for decorator-level dependencies,
    whose value is discarded) with the sub-plan. ``needs_async`` is true when
    this call or any sub-dependency must be awaited. ``security_scopes`` are
    the ``Security(scopes=...)`` of the chain down to this call (what a
    ``SecurityScopes`` parameter, named in ``scopes_names``, receives);
    ``cache_key`` identifies the call and those scopes in the per-request cache.
    """

    call: Callable[..., Any]
    name: str
    kind: int
    use_cache: bool
    deps: tuple[tuple[str | None, Dependant], ...]
    params: tuple[ParamSpec, ...]
    body: tuple[ParamSpec, ...]
    request_names: tuple[str, ...]
    response_names: tuple[str, ...]
    needs_async: bool
    has_generators: bool
    security_scopes: tuple[str, ...] = ()
    scopes_names: tuple[str, ...] = ()
    cache_key: Any = None

    @property
    def is_trivial(self) -> bool:
        """No parameters and no dependencies: call it with no arguments."""
        return not (
            self.deps
            or self.params
            or self.body
            or self.request_names
            or self.response_names
            or self.scopes_names
        )

    def walk(self) -> list[Dependant]:
        """This plan and every sub-plan, depth first."""
        out = [self]
        for _, sub in self.deps:
            out.extend(sub.walk())
        return out


def _call_kind(call: Any) -> int:
    if inspect.isclass(call):
        return CALL
    for target in (call, type(call).__call__):
        if inspect.isasyncgenfunction(target):
            return GEN_ASYNC
        if inspect.isgeneratorfunction(target):
            return GEN
        if inspect.iscoroutinefunction(target):
            return CALL_ASYNC
    return CALL


def _call_name(call: Any) -> str:
    return (
        getattr(call, "__qualname__", None)
        or getattr(call, "__name__", None)
        or type(call).__name__
    )


def _signature(
    call: Any, name: str, localns: Mapping[str, Any] | None
) -> inspect.Signature:
    try:
        return inspect.signature(call, eval_str=True, locals=localns)
    except NameError as exc:
        raise TypeError(f"{name}: cannot resolve an annotation: {exc}") from None
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{name}: cannot read the signature: {exc}") from None


def _default_factory(value: Any) -> Callable[[], Any] | None:
    if isinstance(value, _IMMUTABLE):
        return None
    return lambda: copy.deepcopy(value)


def analyze(
    call: Callable[..., Any],
    *,
    path_params: Sequence[str],
    use_cache: bool = True,
    extra: Sequence[p.Depends] = (),
    where: str = "",
    localns: Mapping[str, Any] | None = None,
    security_scopes: Sequence[str] = (),
) -> Dependant:
    """Analyse ``call``'s signature into a ``Dependant``.

    ``path_params`` are the route's path parameter names, in ``go_pattern``
    order; ``extra`` are decorator-level dependencies run before the others;
    ``localns`` resolves string annotations naming local objects (the scope
    the route was declared in); ``security_scopes`` are the scopes declared
    by ``Security(...)`` markers above this call.
    """
    name = _call_name(call)
    label = f"{where}: {name}" if where else name
    if not callable(call):
        raise TypeError(f"{label}: dependency is not callable")
    sig = _signature(call, label, localns)
    deps: list[tuple[str | None, Dependant]] = []
    for extra_marker in extra:
        if not isinstance(extra_marker, p.Depends):
            raise TypeError(
                f"{label}: dependencies must be Depends(...) objects, got {extra_marker!r}"
            )
        sub = _sub(extra_marker, None, path_params, where, localns, security_scopes)
        deps.append((None, sub))
    specs: list[ParamSpec] = []
    body: list[ParamSpec] = []
    request_names: list[str] = []
    response_names: list[str] = []
    scopes_names: list[str] = []
    for param in sig.parameters.values():
        if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            continue
        what = f"{label}: parameter {param.name!r}"
        if param.kind is param.POSITIONAL_ONLY:
            raise TypeError(
                f"{what} is positional-only; handler parameters are passed by keyword"
            )
        annotation = (
            Any if param.annotation is inspect.Parameter.empty else param.annotation
        )
        marker = _marker(annotation, param, what)
        base, _ = unwrap(annotation)
        if isinstance(marker, p.Depends):
            sub = _sub(marker, base, path_params, what, localns, security_scopes)
            deps.append((param.name, sub))
            continue
        if inspect.isclass(base) and marker is None:
            if issubclass(base, Request):
                request_names.append(param.name)
                continue
            if issubclass(base, Response):
                response_names.append(param.name)
                continue
            if issubclass(base, SecurityScopes):
                scopes_names.append(param.name)
                continue
        spec = _param_spec(param, annotation, base, marker, path_params, what)
        (body if spec.source == "body" else specs).append(spec)
    _check_param_models(specs, label)
    specs.sort(key=lambda s: _SOURCE_ORDER[s.source])
    kind = _call_kind(call)
    sub_plans = [d for _, d in deps]
    scopes = tuple(security_scopes)
    return Dependant(
        call=call,
        name=name,
        kind=kind,
        use_cache=use_cache,
        deps=tuple(deps),
        params=tuple(specs),
        body=tuple(body),
        request_names=tuple(request_names),
        response_names=tuple(response_names),
        needs_async=kind in (CALL_ASYNC, GEN_ASYNC)
        or any(d.needs_async for d in sub_plans),
        has_generators=kind in (GEN, GEN_ASYNC)
        or any(d.has_generators for d in sub_plans),
        security_scopes=scopes,
        scopes_names=tuple(scopes_names),
        # FastAPI's cache key: the call and the sorted set of scopes.
        cache_key=id(call) if not scopes else (id(call), tuple(sorted(set(scopes)))),
    )


def _sub(
    marker: p.Depends,
    annotation: Any,
    path_params: Sequence[str],
    where: str,
    localns: Mapping[str, Any] | None,
    security_scopes: Sequence[str],
) -> Dependant:
    call = marker.dependency if marker.dependency is not None else annotation
    if call is None or call is Any or not callable(call):
        raise TypeError(
            f"{where}: Depends() needs a callable (or a callable annotation)"
        )
    if isinstance(marker, p.Security):
        security_scopes = [*security_scopes, *marker.scopes]
    return analyze(
        call,
        path_params=path_params,
        use_cache=marker.use_cache,
        where=where,
        localns=localns,
        security_scopes=security_scopes,
    )


def _check_param_models(specs: Sequence[ParamSpec], label: str) -> None:
    """A model read from the query (headers, cookies) must be that source's only parameter.

    FastAPI silently misreads the other case; refusing it here names the problem.
    """
    for spec in specs:
        if spec.model_fields is None:
            continue
        others = [s.name for s in specs if s.source == spec.source and s is not spec]
        if others:
            raise TypeError(
                f"{label}: parameter {spec.name!r} reads a model from the {spec.source}, "
                f"so it must be the only {spec.source} parameter of its function "
                f"(also found: {', '.join(others)})"
            )


def _marker(
    annotation: Any, param: inspect.Parameter, what: str
) -> p.Param | p.Depends | None:
    found: p.Param | p.Depends | None = None
    if typing.get_origin(annotation) is Annotated:
        for meta in annotation.__metadata__:
            if isinstance(meta, (p.Param, p.Depends)):
                found = meta
        if isinstance(found, p.Param) and found.has_default:
            raise TypeError(
                f"{what}: {type(found).__name__}() default value cannot be set in Annotated; "
                "set it with '=' instead"
            )
    if isinstance(param.default, (p.Param, p.Depends)):
        if found is not None:
            raise TypeError(
                f"{what}: cannot use both an Annotated marker and a default marker"
            )
        return param.default
    return found


def _param_spec(
    param: inspect.Parameter,
    annotation: Any,
    base: Any,
    marker: p.Param | None,
    path_params: Sequence[str],
    what: str,
) -> ParamSpec:
    name = param.name
    has_python_default = (
        param.default is not inspect.Parameter.empty
        and not isinstance(param.default, p.Param)
    )
    if isinstance(marker, p.Param):
        source = marker.source
        alias = marker.alias or name
        if (
            source == "header"
            and marker.alias is None
            and getattr(marker, "convert_underscores", True)
        ):
            alias = name.replace("_", "-")
    elif name in path_params:
        source, alias = "path", name
    else:
        source = "body" if classify(annotation) == "body" else "query"
        alias = name
    kind = classify(annotation)
    if source == "path":
        if alias not in path_params:
            raise TypeError(
                f"{what} is declared with Path() but the route's path has no {{{alias}}}"
            )
        if kind != "scalar":
            raise TypeError(
                f"{what}: a path parameter must be a single value, not {annotation!r}"
            )
    elif (
        source in ("query", "header", "cookie")
        and kind == "body"
        and isinstance(marker, p.Param)
        and is_model_class(base)
    ):
        from ._pydantic import param_model_spec

        return param_model_spec(name, source, alias, annotation, marker, param, what)
    elif source in ("query", "header", "cookie") and (
        kind == "body" or (source == "cookie" and kind == "sequence")
    ):
        raise TypeError(
            f"{what}: type {annotation!r} cannot be read from the {source}; "
            "use a scalar (or list of scalars), or declare it with Body()"
        )
    if source == "header":
        alias = alias.lower()
    constraints = Constraints.from_objects(marker) if marker is not None else None
    try:
        convert = build_converter(annotation, constraints)
    except TypeError as exc:
        raise TypeError(f"{what}: {exc}") from None
    default: Any = p.Undefined
    factory: Callable[[], Any] | None = None
    if marker is not None and marker.has_default:
        default, factory = marker.default, marker.default_factory
    elif has_python_default:
        default = param.default
    required = source == "path" or (default is p.Undefined and factory is None)
    if factory is None and not required:
        factory = _default_factory(default)
    return ParamSpec(
        name=name,
        source=source,
        alias=alias,
        loc=(source, alias),
        convert=convert,
        required=required,
        default=default,
        default_factory=factory,
        is_seq=kind == "sequence",
        index=list(path_params).index(alias) if source == "path" else -1,
        embed=bool(getattr(marker, "embed", False)),
        media_type=getattr(marker, "media_type", "application/json")
        if source == "body"
        else "",
        annotation=annotation,
        constraints=constraints,
    )


def flat_body(dep: Dependant) -> list[ParamSpec]:
    """All body parameters of ``dep`` and its sub-dependencies (FastAPI flattens them)."""
    out = [spec for _, sub in dep.deps for spec in flat_body(sub)]
    out.extend(dep.body)
    return out
