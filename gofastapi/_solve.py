"""Executing a ``Dependant`` plan for one request: parameters, body, dependencies, teardown.

``solve_sync`` / ``solve_async`` walk the plan (sub-dependencies first, then
path, query, header, cookie and body parameters), collect every validation
error, and return the keyword arguments. Generator dependencies are entered
here and left by ``exit_sync`` / ``exit_async`` once the response exists.
"""

from __future__ import annotations

import json
from typing import Any

from ._convert import Invalid, missing_error, prefix_errors
from .dependencies import CALL, CALL_ASYNC, GEN, Dependant
from .exceptions import RequestValidationError
from .requests import _UNPARSED, Request
from .responses import Response
from .security import SecurityScopes

__all__ = ["exit_async", "exit_sync", "json_body", "solve_async", "solve_sync"]

_MISSING: Any = object()


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def json_body(req: Request) -> Any:
    value = req._json
    if value is not _UNPARSED:
        return value
    raw = req._body
    if not raw:
        value = None
    else:
        try:
            value = json.loads(raw, parse_constant=_reject_constant)
        except json.JSONDecodeError as exc:
            raise RequestValidationError(
                [
                    {
                        "type": "json_invalid",
                        "loc": ("body", exc.pos),
                        "msg": "JSON decode error",
                        "input": {},
                        "ctx": {"error": exc.msg},
                    }
                ],
                body=raw,
            ) from None
        except (ValueError, RecursionError) as exc:
            raise RequestValidationError(
                [
                    {
                        "type": "json_invalid",
                        "loc": ("body", 0),
                        "msg": "JSON decode error",
                        "input": {},
                        "ctx": {"error": str(exc)},
                    }
                ],
                body=raw,
            ) from None
    req._json = value
    return value


def _sub_response(req: Request) -> Response:
    if req._sub is None:
        sub = Response()
        sub.status_code = None  # type: ignore[assignment]
        req._sub = sub
    return req._sub


def _model_input(p: Any, req: Request) -> dict[str, Any]:
    """FastAPI 0.115's input for a model read from the query, headers or cookies.

    The model's fields (lists for sequence fields, defaults filled in), then
    every other key received, so ``extra="forbid"`` models refuse unknown keys.
    """
    source = p.source
    received: Any = (
        req.query_params
        if source == "query"
        else req.headers
        if source == "header"
        else req.cookies
    )
    out: dict[str, Any] = {}
    seen: set[str] = set()
    for field in p.model_fields:
        value = (
            received.getlist(field.key) or None
            if field.is_seq
            else received.get(field.key)
        )
        if value is None and field.default is not None:
            value = field.default()
        if value is not None:
            out[field.alias] = value
        seen.update((field.key, field.alias, field.name))
    for key, value in received.items():
        if key not in seen:
            out[key] = value
    return out


def _extract(
    dep: Dependant, req: Request, values: dict[str, Any], errors: list[dict[str, Any]]
) -> None:
    raw: Any
    loc: tuple[Any, ...]
    for p in dep.params:
        source = p.source
        if p.model_fields is not None:
            try:
                values[p.name] = p.convert(_model_input(p, req))
            except Invalid as exc:
                errors.extend(prefix_errors(exc.errors, p.loc))
            continue
        if source == "path":
            raw = req._path_values[p.index]
        elif source == "query":
            query = req.query_params
            raw = (
                query.getlist(p.alias)
                if p.is_seq
                else query._dict.get(p.alias, _MISSING)
            )
        elif source == "header":
            headers = req.headers
            raw = (
                headers.getlist(p.alias) if p.is_seq else headers.get(p.alias, _MISSING)
            )
        else:
            raw = req.cookies.get(p.alias, _MISSING)
        if raw is _MISSING or (p.is_seq and not raw):
            if p.required:
                errors.append(missing_error(p.loc))
            else:
                values[p.name] = p.make_default()
            continue
        try:
            values[p.name] = p.convert(raw)
        except Invalid as exc:
            errors.extend(prefix_errors(exc.errors, p.loc))
    if dep.body:
        body = json_body(req)
        embed = req.route.body_embed if req.route is not None else False
        for p in dep.body:
            if not embed:
                value, loc = body, ("body",)
            elif isinstance(body, dict):
                value, loc = body.get(p.alias), p.loc
            elif body is None:
                value, loc = None, p.loc
            else:
                errors.append(missing_error(p.loc))
                continue
            if value is None:
                if p.required:
                    errors.append(missing_error(loc))
                else:
                    values[p.name] = p.make_default()
                continue
            try:
                values[p.name] = p.convert(value)
            except Invalid as exc:
                errors.extend(prefix_errors(exc.errors, loc))
    for name in dep.request_names:
        values[name] = req
    for name in dep.response_names:
        values[name] = _sub_response(req)
    for name in dep.scopes_names:
        values[name] = SecurityScopes(dep.security_scopes)


def _push_exit(req: Request, gen: Any, is_async: bool) -> None:
    if req._exits is None:
        req._exits = []
    req._exits.append((gen, is_async))


def solve_sync(
    dep: Dependant, req: Request, errors: list[dict[str, Any]]
) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for name, sub in dep.deps:
        key = sub.cache_key
        cache = req._cache
        if sub.use_cache and cache is not None and key in cache:
            value = cache[key]
        else:
            before = len(errors)
            kwargs = solve_sync(sub, req, errors)
            if len(errors) > before:
                continue
            if sub.kind == GEN:
                gen = sub.call(**kwargs)
                try:
                    value = next(gen)
                except StopIteration:
                    raise RuntimeError(
                        f"dependency {sub.name} did not yield a value"
                    ) from None
                _push_exit(req, gen, False)
            else:
                value = sub.call(**kwargs)
            if sub.use_cache:
                if req._cache is None:
                    req._cache = {}
                req._cache[key] = value
        if name is not None:
            values[name] = value
    _extract(dep, req, values, errors)
    return values


async def solve_async(
    dep: Dependant, req: Request, errors: list[dict[str, Any]]
) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for name, sub in dep.deps:
        key = sub.cache_key
        cache = req._cache
        if sub.use_cache and cache is not None and key in cache:
            value = cache[key]
        else:
            before = len(errors)
            kwargs = (
                await solve_async(sub, req, errors)
                if sub.needs_async
                else solve_sync(sub, req, errors)
            )
            if len(errors) > before:
                continue
            kind = sub.kind
            if kind == CALL:
                value = sub.call(**kwargs)
            elif kind == CALL_ASYNC:
                value = await sub.call(**kwargs)
            elif kind == GEN:
                gen = sub.call(**kwargs)
                try:
                    value = next(gen)
                except StopIteration:
                    raise RuntimeError(
                        f"dependency {sub.name} did not yield a value"
                    ) from None
                _push_exit(req, gen, False)
            else:
                agen = sub.call(**kwargs)
                try:
                    value = await agen.__anext__()
                except StopAsyncIteration:
                    raise RuntimeError(
                        f"dependency {sub.name} did not yield a value"
                    ) from None
                _push_exit(req, agen, True)
            if sub.use_cache:
                if req._cache is None:
                    req._cache = {}
                req._cache[key] = value
        if name is not None:
            values[name] = value
    _extract(dep, req, values, errors)
    return values


def exit_sync(exits: list[tuple[Any, bool]], exc: BaseException | None) -> None:
    """Run the code after ``yield`` of generator dependencies, last entered first."""
    while exits:
        gen, _ = exits.pop()
        try:
            if exc is None:
                next(gen)
            else:
                gen.throw(exc)
        except StopIteration:
            continue
        except BaseException as new:  # the dependency raised (or re-raised)
            exc = new
            continue
        exc = RuntimeError("a generator dependency yielded more than once")
    if exc is not None:
        raise exc


async def exit_async(exits: list[tuple[Any, bool]], exc: BaseException | None) -> None:
    while exits:
        gen, is_async = exits.pop()
        try:
            if is_async:
                await (gen.__anext__() if exc is None else gen.athrow(exc))
            elif exc is None:
                next(gen)
            else:
                gen.throw(exc)
        except (StopIteration, StopAsyncIteration):
            continue
        except BaseException as new:
            exc = new
            continue
        exc = RuntimeError("a generator dependency yielded more than once")
    if exc is not None:
        raise exc
