"""Finding pydantic types without importing pydantic, and activating the integration on first use.

``import gofastapi`` must never import pydantic: ``pydantic_core`` refuses to
load in own-GIL sub-interpreters. Without ``pydantic`` in ``sys.modules`` no
annotation or object can be one of its types, so every check here starts
there; only a positive answer imports ``gofastapi._pydantic``, which
registers its type adapter and encoders once per interpreter.
"""

from __future__ import annotations

import sys
import typing
from typing import Annotated, Any, Literal

__all__ = ["activate_for_object", "is_model_class", "mentions", "owns"]


def _is_pydantic_meta(obj: Any) -> bool:
    module = getattr(type(obj), "__module__", "") or ""
    return module.partition(".")[0] == "pydantic" or hasattr(
        obj, "__get_pydantic_core_schema__"
    )


def mentions(tp: Any, depth: int = 0) -> bool:
    """Whether annotation ``tp`` holds a pydantic type anywhere (models, ``Field``, ``SecretStr``...)."""
    if depth > 20:
        return False
    if typing.get_origin(tp) is Annotated:
        if any(_is_pydantic_meta(m) for m in tp.__metadata__):
            return True
        return mentions(tp.__origin__, depth + 1)
    if isinstance(tp, typing.NewType):
        return mentions(tp.__supertype__, depth + 1)
    if isinstance(tp, typing.TypeAliasType):
        return mentions(tp.__value__, depth + 1)
    if isinstance(tp, type) and (
        hasattr(tp, "__pydantic_validator__")
        or hasattr(tp, "__get_pydantic_core_schema__")
    ):
        return True  # models, pydantic dataclasses, SecretStr, EmailStr, ...
    if typing.get_origin(tp) is Literal:
        return False
    return any(
        mentions(arg, depth + 1) for arg in typing.get_args(tp) if arg is not Ellipsis
    )


def owns(tp: Any) -> bool:
    """Whether annotation ``tp`` mentions a pydantic type; if so, activate the integration."""
    if sys.modules.get("pydantic") is None or not mentions(tp):
        return False
    from . import _pydantic  # noqa: F401  (registers its type adapter and encoders)

    return True


def activate_for_object(tp: type) -> bool:
    """For the encoder: activate the integration the first time a pydantic object is met."""
    if "gofastapi._pydantic" in sys.modules or sys.modules.get("pydantic") is None:
        return False
    module = (getattr(tp, "__module__", "") or "").partition(".")[0]
    if module not in ("pydantic", "pydantic_core") and not hasattr(
        tp, "__pydantic_serializer__"
    ):
        return False
    from . import _pydantic  # noqa: F401

    return True


def is_model_class(tp: Any) -> bool:
    """Whether ``tp`` is a ``pydantic.BaseModel`` subclass."""
    main = sys.modules.get("pydantic.main")
    return main is not None and isinstance(tp, type) and issubclass(tp, main.BaseModel)
