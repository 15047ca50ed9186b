"""Type conversion and validation, with pydantic-v2-shaped error dicts.

``build_converter(tp)`` turns an annotation into a converter: a plain function
``value -> converted value`` that raises ``Invalid`` carrying a list of error
dicts (``type``, ``loc``, ``msg``, ``input``, optional ``ctx``). ``loc`` is
relative; callers prefix it (``("query", "q")``, list indexes, field names).
Converters are built once, when a route is declared, and are cheap to call.

Extension point: ``register_type_adapter`` lets optional integrations supply
converters for the types they own. Pydantic is one, activated lazily: only when
pydantic is already imported (``sys.modules``) and an annotation mentions one
of its types is ``gofastapi._pydantic`` imported, so ``import gofastapi`` never
imports pydantic (which cannot load in own-GIL sub-interpreters).
"""

from __future__ import annotations

import collections.abc as cabc
import dataclasses
import enum
import types
import typing
from collections.abc import Mapping, Sequence
from typing import Annotated, Any, Literal, Protocol, Union

__all__ = [
    "Constraints",
    "Converter",
    "Invalid",
    "TypeAdapterFactory",
    "build_converter",
    "classify",
    "make_error",
    "missing_error",
    "prefix_errors",
    "register_type_adapter",
]

from ._constraints import Constraints, _plural, with_constraints
from ._errors import Converter, Invalid, _fail, make_error, missing_error, prefix_errors
from ._pydantic_lazy import owns as pydantic_owns
from ._records import DATACLASS_CACHE, dataclass_converter, typeddict_converter
from ._scalars import SCALARS, enum_converter, identity, literal_converter

# --------------------------------------------------------------------------- registry


class TypeAdapterFactory(Protocol):
    """Supplies converters for types an integration owns (e.g. pydantic models).

    Optional methods, looked up with ``getattr``: ``owns(tp) -> bool`` (the
    adapter converts the whole annotation, containers and ``Annotated``
    metadata included; ``converter`` then receives it with any constraints
    appended as ``Constraints`` metadata) and ``is_scalar(tp) -> bool`` (a
    type it owns that can come from the query, headers or cookies).
    """

    def converter(self, tp: Any, *, from_attributes: bool) -> Converter | None:
        """Return a converter for ``tp`` or ``None`` when ``tp`` is not handled."""

    def is_model(self, tp: Any) -> bool:
        """Whether ``tp`` is a model read from the request body."""


_ADAPTERS: list[TypeAdapterFactory] = []


def register_type_adapter(factory: TypeAdapterFactory) -> None:
    """Consult ``factory`` before the built-in conversions (latest first)."""
    _ADAPTERS.insert(0, factory)
    DATACLASS_CACHE.clear()


def _owner(tp: Any) -> TypeAdapterFactory | None:
    for adapter in _ADAPTERS:
        owns = getattr(adapter, "owns", None)
        if owns is not None and owns(tp):
            return adapter
    return None


# --------------------------------------------------------------------------- containers

_SEQ_ERRORS: dict[type, tuple[str, str]] = {
    list: ("list_type", "Input should be a valid list"),
    tuple: ("tuple_type", "Input should be a valid tuple"),
    set: ("set_type", "Input should be a valid set"),
    frozenset: ("frozen_set_type", "Input should be a valid frozenset"),
}


def _sequence_converter(item: Converter, out_type: type) -> Converter:
    err_type, err_msg = _SEQ_ERRORS[out_type]

    def convert(value: Any) -> Any:
        if not isinstance(value, (list, tuple, set, frozenset)):
            _fail(err_type, err_msg, value)
        if item is identity:
            return value if type(value) is out_type else out_type(value)
        out = []
        errors: list[dict[str, Any]] | None = None
        for i, v in enumerate(value):
            try:
                out.append(item(v))
            except Invalid as exc:
                errors = (errors or []) + prefix_errors(exc.errors, (i,))
        if errors:
            raise Invalid(errors)
        if out_type is list:
            return out
        try:
            return out_type(out)
        except TypeError:
            _fail(err_type, err_msg, value)

    return convert


def _fixed_tuple_converter(items: tuple[Converter, ...]) -> Converter:
    n = len(items)

    def convert(value: Any) -> tuple[Any, ...]:
        if not isinstance(value, (list, tuple)):
            _fail("tuple_type", "Input should be a valid tuple", value)
        if len(value) > n:
            _fail(
                "too_long",
                f"Tuple should have at most {_plural(n, 'item')} after validation, not {len(value)}",
                value,
                {"field_type": "Tuple", "max_length": n, "actual_length": len(value)},
            )
        out = []
        errors: list[dict[str, Any]] = []
        for i, conv in enumerate(items):
            if i >= len(value):
                errors.append(missing_error((i,), value))
                continue
            try:
                out.append(conv(value[i]))
            except Invalid as exc:
                errors.extend(prefix_errors(exc.errors, (i,)))
        if errors:
            raise Invalid(errors)
        return tuple(out)

    return convert


def _dict_converter(key: Converter, val: Converter) -> Converter:
    def convert(value: Any) -> dict[Any, Any]:
        if not isinstance(value, dict):
            _fail("dict_type", "Input should be a valid dictionary", value)
        if key is identity and val is identity:
            return value
        out = {}
        errors: list[dict[str, Any]] | None = None
        for k, v in value.items():
            try:
                nk = key(k)
            except Invalid as exc:
                errors = (errors or []) + prefix_errors(exc.errors, (k, "[key]"))
                continue
            try:
                out[nk] = val(v)
            except Invalid as exc:
                errors = (errors or []) + prefix_errors(exc.errors, (k,))
        if errors:
            raise Invalid(errors)
        return out

    return convert


def _nullable(inner: Converter) -> Converter:
    def convert(value: Any) -> Any:
        if value is None:
            return None
        return inner(value)

    return convert


def _type_name(tp: Any) -> str:
    if isinstance(tp, type) and not typing.get_args(tp):
        return tp.__name__
    return repr(tp).replace("typing.", "")


def _union_converter(members: list[tuple[Any, Converter]]) -> Converter:
    exact = {tp: conv for tp, conv in members if tp in (str, int, float, bool)}

    def convert(value: Any) -> Any:
        conv = exact.get(type(value))
        if conv is not None:
            return conv(value)
        errors: list[dict[str, Any]] = []
        for tp, conv in members:
            try:
                return conv(value)
            except Invalid as exc:
                errors.extend(prefix_errors(exc.errors, (_type_name(tp),)))
        raise Invalid(errors)

    return convert


# --------------------------------------------------------------------------- building


def unwrap(tp: Any) -> tuple[Any, list[Any]]:
    """Strip ``Annotated`` and ``NewType`` layers; return the type and the metadata found."""
    meta: list[Any] = []
    while True:
        if typing.get_origin(tp) is Annotated:
            meta.extend(tp.__metadata__)
            tp = tp.__origin__
        elif isinstance(tp, typing.NewType):
            tp = tp.__supertype__
        elif isinstance(tp, typing.TypeAliasType):
            tp = tp.__value__
        else:
            return tp, meta


def _is_union(origin: Any) -> bool:
    return origin is Union or origin is types.UnionType


def _is_typeddict(tp: Any) -> bool:
    return (
        isinstance(tp, type)
        and issubclass(tp, dict)
        and hasattr(tp, "__required_keys__")
    )


def build_converter(
    tp: Any, constraints: Constraints | None = None, *, from_attributes: bool = False
) -> Converter:
    """Return a converter for annotation ``tp``; raise ``TypeError`` for an unsupported type.

    ``from_attributes`` lets dataclass converters read attributes of arbitrary
    objects (used for response models).
    """
    pydantic_owns(tp)
    owner = _owner(tp) if _ADAPTERS else None
    if owner is not None:
        whole = Annotated[tp, constraints] if constraints is not None else tp
        conv = owner.converter(whole, from_attributes=from_attributes)
        if conv is not None:
            return conv
    tp, meta = unwrap(tp)
    if meta:
        found = Constraints.from_objects(*meta)
        if found is not None:
            constraints = (
                found
                if constraints is None
                else Constraints.from_objects(found, constraints)
            )
    origin = typing.get_origin(tp)
    if _is_union(origin):
        args = typing.get_args(tp)
        rest = [a for a in args if a is not type(None)]
        if len(rest) < len(args):
            inner = build_converter(
                Union[tuple(rest)] if len(rest) > 1 else rest[0],
                constraints,  # noqa: UP007
                from_attributes=from_attributes,
            )
            return _nullable(inner)
        base = _union_converter(
            [(a, build_converter(a, from_attributes=from_attributes)) for a in args]
        )
    else:
        base = _build_plain(tp, origin, from_attributes)
    if constraints is not None:
        return with_constraints(base, constraints, tp)
    return base


def _build_plain(tp: Any, origin: Any, from_attributes: bool) -> Converter:
    for adapter in _ADAPTERS:
        conv = adapter.converter(tp, from_attributes=from_attributes)
        if conv is not None:
            return conv
    try:
        scalar = SCALARS.get(tp)
    except TypeError:  # unhashable annotation object
        scalar = None
    if scalar is not None:
        return scalar
    if isinstance(tp, typing.TypeVar):
        return identity
    if origin is Literal:
        return literal_converter(typing.get_args(tp))
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        return enum_converter(tp)
    if dataclasses.is_dataclass(tp) and isinstance(tp, type):
        return dataclass_converter(tp, from_attributes, build_converter)
    if _is_typeddict(tp):
        return typeddict_converter(tp, from_attributes, build_converter)
    container = origin if origin is not None else tp
    args = typing.get_args(tp)
    if container in (list, set, frozenset) or container in _ABC_SEQUENCES:
        item = (
            build_converter(args[0], from_attributes=from_attributes)
            if args
            else identity
        )
        out_type = (
            container
            if container in (list, set, frozenset)
            else _ABC_SEQUENCES[container]
        )
        return _sequence_converter(item, out_type)
    if container is tuple:
        if not args or (len(args) == 2 and args[1] is Ellipsis):
            item = (
                build_converter(args[0], from_attributes=from_attributes)
                if args
                else identity
            )
            return _sequence_converter(item, tuple)
        return _fixed_tuple_converter(
            tuple(build_converter(a, from_attributes=from_attributes) for a in args)
        )
    if container is dict or container in _ABC_MAPPINGS:
        key = build_converter(args[0]) if args else identity
        val = (
            build_converter(args[1], from_attributes=from_attributes)
            if len(args) > 1
            else identity
        )
        return _dict_converter(key, val)
    raise TypeError(f"unsupported type {_type_name(tp)}")


_ABC_SEQUENCES: dict[Any, type] = {
    Sequence: list,
    typing.Sequence: list,
    typing.List: list,  # noqa: UP006
    typing.Set: set,  # noqa: UP006
    typing.FrozenSet: frozenset,  # noqa: UP006
    cabc.Set: set,
    cabc.MutableSequence: list,
    cabc.Iterable: list,
}
_ABC_MAPPINGS = frozenset({Mapping, typing.Mapping, typing.Dict, cabc.MutableMapping})  # noqa: UP006

_SCALAR_TYPES = frozenset(k for k in SCALARS if k is not None) | {type(None)}


def classify(tp: Any) -> str:
    """``"scalar"``, ``"sequence"`` (of scalars) or ``"body"`` (models, mappings, nested data).

    Scalars and sequences of scalars can come from the path, query, headers or
    cookies; everything else is read from the JSON body.
    """
    pydantic_owns(tp)
    tp, _ = unwrap(tp)
    origin = typing.get_origin(tp)
    if _is_union(origin):
        kinds = {classify(a) for a in typing.get_args(tp) if a is not type(None)}
        if kinds <= {"scalar"}:
            return "scalar"
        if kinds <= {"sequence"}:
            return "sequence"
        return "body"
    for adapter in _ADAPTERS:
        if adapter.is_model(tp):
            return "body"
        is_scalar = getattr(adapter, "is_scalar", None)
        if is_scalar is not None and is_scalar(tp):
            return "scalar"
    if origin is Literal or isinstance(tp, typing.TypeVar):
        return "scalar"
    try:
        if tp in _SCALAR_TYPES:
            return "scalar"
    except TypeError:
        return "body"
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        return "scalar"
    container = origin if origin is not None else tp
    if container in (list, set, frozenset, tuple) or container in _ABC_SEQUENCES:
        args = [a for a in typing.get_args(tp) if a is not Ellipsis]
        if args and all(classify(a) == "scalar" for a in args):
            return "sequence"
    return "body"
