"""Pydantic v2 integration: models as parameters, bodies and response models, as FastAPI does.

Imported lazily (see ``_pydantic_lazy``), once pydantic is already in
``sys.modules`` and a pydantic type shows up; never by ``import gofastapi``:
``pydantic_core`` refuses to load in own-GIL sub-interpreters, so an app using
pydantic runs in the process (or main) runtime.

Importing this module registers the type adapter and the encoders. Every
``TypeAdapter`` is built once, when a route is declared; per request only its
``validate_python`` / ``dump_python`` run (both in Rust). Validation follows
FastAPI 0.115: ``validate_python(value, from_attributes=True)``, errors from
``errors(include_url=False)`` (``ctx`` kept), responses serialised with
``dump_python(mode="json", by_alias=True, ...)``.
"""

from __future__ import annotations

import copy
import dataclasses
import inspect
import typing
from collections.abc import Callable
from typing import Annotated, Any

import pydantic_core
from pydantic import BaseModel, Field, TypeAdapter, ValidationError

from . import encoders
from ._constraints import Constraints
from ._convert import (
    Converter,
    Invalid,
    build_converter,
    classify,
    register_type_adapter,
    unwrap,
)
from ._pydantic_lazy import mentions
from .dependencies import ParamSpec
from .params import Depends, Param, Undefined

__all__ = [
    "ModelField",
    "PydanticAdapter",
    "param_model_spec",
    "request_converter",
    "response_converter",
]

_CACHE: dict[Any, TypeAdapter[Any]] = {}


def _adapter(tp: Any) -> TypeAdapter[Any]:
    try:
        cached = _CACHE.get(tp)
    except TypeError:  # unhashable metadata
        return TypeAdapter(tp)
    if cached is None:
        cached = _CACHE[tp] = TypeAdapter(tp)
    return cached


def _clean(tp: Any) -> Any:
    """``tp`` without gofastapi markers; ``Constraints`` metadata become ``Field(...)``.

    FastAPI validates ``Annotated[annotation, FieldInfo]``, so a marker's
    constraints (``Query(ge=1)``) produce pydantic's own errors.
    """
    if typing.get_origin(tp) is not Annotated:
        return tp
    kept: list[Any] = []
    for meta in tp.__metadata__:
        if isinstance(meta, (Param, Depends)):
            continue
        if isinstance(meta, Constraints):
            kwargs = {
                f.name: getattr(meta, f.name)
                for f in dataclasses.fields(meta)
                if getattr(meta, f.name) is not None
            }
            if kwargs:
                kept.append(Field(**kwargs))
            continue
        kept.append(meta)
    inner = tp.__origin__
    return Annotated[(inner, *kept)] if kept else inner  # type: ignore[valid-type]


def _invalid(exc: ValidationError) -> Invalid:
    return Invalid(exc.errors(include_url=False))  # type: ignore[arg-type]


def request_converter(tp: Any) -> Converter:
    validate = _adapter(_clean(tp)).validate_python

    def convert(value: Any) -> Any:
        try:
            return validate(value, from_attributes=True)
        except ValidationError as exc:
            raise _invalid(exc) from None

    return convert


def response_converter(
    tp: Any,
    *,
    include: Any = None,
    exclude: Any = None,
    by_alias: bool = True,
    exclude_unset: bool = False,
    exclude_defaults: bool = False,
    exclude_none: bool = False,
) -> Converter:
    """Validate a handler's return value as ``tp`` and serialise it to JSON-able data.

    Fields of the returned object that ``tp`` does not declare are dropped
    (pydantic serialises by the schema of ``tp``, subclass instances included).
    """
    adapter = _adapter(_clean(tp))
    validate, dump = adapter.validate_python, adapter.dump_python

    def convert(value: Any) -> Any:
        try:
            validated = validate(value, from_attributes=True)
        except ValidationError as exc:
            raise _invalid(exc) from None
        return dump(
            validated,
            mode="json",
            include=include,
            exclude=exclude,
            by_alias=by_alias,
            exclude_unset=exclude_unset,
            exclude_defaults=exclude_defaults,
            exclude_none=exclude_none,
        )

    return convert


def _is_model(tp: Any) -> bool:
    return isinstance(tp, type) and (
        issubclass(tp, BaseModel)
        or (dataclasses.is_dataclass(tp) and hasattr(tp, "__pydantic_validator__"))
    )


class PydanticAdapter:
    """The ``_convert`` type adapter for annotations that mention a pydantic type."""

    def owns(self, tp: Any) -> bool:
        return mentions(tp)

    def converter(self, tp: Any, *, from_attributes: bool) -> Converter | None:
        return request_converter(tp) if mentions(tp) else None

    def is_model(self, tp: Any) -> bool:
        return _is_model(tp)

    def is_scalar(self, tp: Any) -> bool:
        # SecretStr, EmailStr, HttpUrl...: FastAPI treats any non-container class as a scalar.
        return isinstance(tp, type) and mentions(tp) and not _is_model(tp)


# --------------------------------------------------------------------------- query models


@dataclasses.dataclass(frozen=True, slots=True)
class ModelField:
    """One field of a model read from the query, headers or cookies (FastAPI ≥ 0.115)."""

    name: str  # the attribute name
    alias: str  # the key pydantic validates (alias, else name)
    key: str  # where it is read from (headers: lower case, "_" → "-")
    is_seq: bool
    default: Callable[[], Any] | None  # None: required, or no default to fill in


def param_model_spec(
    name: str,
    source: str,
    alias: str,
    annotation: Any,
    marker: Param,
    param: inspect.Parameter,
    what: str,
) -> ParamSpec:
    """``Annotated[Model, Query()]`` (or ``Header()``, ``Cookie()``): the model's fields are read there."""
    if param.default is not inspect.Parameter.empty and not isinstance(
        param.default, Param
    ):
        raise TypeError(f"{what}: a model read from the {source} cannot have a default")
    model, _ = unwrap(annotation)
    try:
        convert = build_converter(annotation)
    except TypeError as exc:
        raise TypeError(f"{what}: {exc}") from None
    return ParamSpec(
        name=name,
        source=source,
        alias=alias,
        loc=(source,),
        convert=convert,
        required=True,
        default=Undefined,
        default_factory=None,
        is_seq=False,
        index=-1,
        embed=False,
        media_type="",
        model_fields=_model_fields(
            model, source, getattr(marker, "convert_underscores", True)
        ),
    )


def _model_fields(
    model: type[BaseModel], source: str, convert_underscores: bool
) -> tuple[ModelField, ...]:
    out = []
    for name, info in model.model_fields.items():
        alias = info.alias or name
        key = alias
        if source == "header":
            if convert_underscores and alias == name:
                key = name.replace("_", "-")
            key = key.lower()
        default: Callable[[], Any] | None = None
        if not info.is_required():
            value = info.get_default(call_default_factory=False)
            if info.default_factory is not None:
                default = info.default_factory  # type: ignore[assignment]
            elif value is not None:
                default = _copier(value)
        is_seq = source != "cookie" and classify(info.annotation) == "sequence"
        out.append(ModelField(name, alias, key, is_seq, default))
    return tuple(out)


def _copier(value: Any) -> Callable[[], Any]:
    return lambda: copy.deepcopy(value)


# --------------------------------------------------------------------------- encoders


def _dump_model(model: BaseModel) -> Any:
    # FastAPI's jsonable_encoder: model_dump(mode="json", by_alias=True).
    return model.model_dump(mode="json", by_alias=True)


def _install() -> None:
    register_type_adapter(PydanticAdapter())
    encoders.register_encoder(BaseModel, _dump_model)
    for tp in (pydantic_core.Url, pydantic_core.MultiHostUrl):
        encoders.register_encoder(tp, str)
    import pydantic

    for name in ("AnyUrl", "SecretStr", "SecretBytes", "NameEmail"):
        tp = getattr(pydantic, name, None)
        if isinstance(tp, type):
            encoders.register_encoder(tp, str)


_install()
