"""jsonable_encoder, the fast dumper and the converters' less common types."""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import pathlib
import uuid
from decimal import Decimal
from typing import Any, TypedDict

import pytest

from gofastapi import jsonable_encoder
from gofastapi._convert import Invalid, build_converter
from gofastapi.encoders import dumps, register_encoder


class Mood(enum.Enum):
    HAPPY = "happy"


@dataclasses.dataclass
class Inner:
    when: dt.datetime
    tags: frozenset[str]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (
            Inner(dt.datetime(2024, 1, 2, 3, 4, 5, tzinfo=dt.UTC), frozenset({"a"})),
            {"when": "2024-01-02T03:04:05+00:00", "tags": ["a"]},
        ),
        (
            {uuid.UUID(int=3): Mood.HAPPY},
            {"00000000-0000-0000-0000-000000000003": "happy"},
        ),
        ({"d": Decimal("3"), "f": Decimal("0.5")}, {"d": 3, "f": 0.5}),
        (dt.timedelta(seconds=90), 90.0),
        (dt.time(1, 2), "01:02:00"),
        (b"bytes", "bytes"),
        (pathlib.PurePosixPath("/tmp/x"), "/tmp/x"),
        ({"none": None, "n": [None]}, {"none": None, "n": [None]}),
    ],
    ids=[
        "dataclass",
        "uuid-key-enum",
        "decimal",
        "timedelta",
        "time",
        "bytes",
        "path",
        "none",
    ],
)
def test_jsonable_encoder(value: Any, expected: Any) -> None:
    assert jsonable_encoder(value) == expected


def test_exclude_none() -> None:
    assert jsonable_encoder(
        {"a": None, "b": {"c": None, "d": 1}}, exclude_none=True
    ) == {"b": {"d": 1}}


def test_register_encoder() -> None:
    class Money:
        def __init__(self, cents: int) -> None:
            self.cents = cents

    register_encoder(Money, lambda m: f"{m.cents / 100:.2f}")
    assert dumps({"price": Money(150)}) == b'{"price":"1.50"}'


def test_dumps_is_compact_and_utf8() -> None:
    assert dumps({"a": [1, 2], "é": "☃"}) == '{"a":[1,2],"é":"☃"}'.encode()
    with pytest.raises(ValueError):
        dumps(float("nan"))


@pytest.mark.parametrize(
    ("annotation", "value", "expected"),
    [
        (int | str, "5", "5"),
        (int | str, 5, 5),
        (tuple[int, str], ["1", "a"], (1, "a")),
        (tuple[int, ...], ["1", "2"], (1, 2)),
        (set[int], ["1", "1"], {1}),
        (dt.datetime, 0, dt.datetime(1970, 1, 1, tzinfo=dt.UTC)),
        (dt.timedelta, "01:00:30", dt.timedelta(seconds=3630)),
        (dt.time, "10:20", dt.time(10, 20)),
        (dt.date, "2024-01-02T00:00:00", dt.date(2024, 1, 2)),
        (bytes, "abc", b"abc"),
        (Any, {"x": 1}, {"x": 1}),
    ],
    ids=[
        "union-str",
        "union-int",
        "tuple-fixed",
        "tuple-var",
        "set",
        "timestamp",
        "timedelta",
        "time",
        "date-from-datetime",
        "bytes",
        "any",
    ],
)
def test_more_conversions(annotation: Any, value: Any, expected: Any) -> None:
    assert build_converter(annotation)(value) == expected


def test_union_errors_list_each_member() -> None:
    with pytest.raises(Invalid) as info:
        build_converter(int | bool)("nope")
    assert [e["loc"] for e in info.value.errors] == [("int",), ("bool",)]


def test_typed_dict() -> None:
    class Movie(TypedDict):
        title: str
        year: int

    convert = build_converter(Movie)
    assert convert({"title": "x", "year": "1999"}) == {"title": "x", "year": 1999}
    with pytest.raises(Invalid) as info:
        convert({"title": "x"})
    assert info.value.errors[0]["type"] == "missing"


def test_list_length_constraints() -> None:
    from gofastapi._convert import Constraints

    convert = build_converter(list[int], Constraints(min_length=2))
    with pytest.raises(Invalid) as info:
        convert(["1"])
    [error] = info.value.errors
    assert error["type"] == "too_short"
    assert error["msg"] == "List should have at least 2 items after validation, not 1"


class Money:
    """A model type owned by a fake integration (as pydantic will be)."""

    def __init__(self, cents: int) -> None:
        self.cents = cents


class MoneyAdapter:
    def converter(self, tp: Any, *, from_attributes: bool) -> Any:
        if tp is not Money:
            return None

        def convert(value: Any) -> Money:
            if isinstance(value, Money):
                return value
            if not isinstance(value, dict) or not isinstance(value.get("cents"), int):
                raise Invalid(
                    [{"type": "money", "loc": (), "msg": "bad money", "input": value}]
                )
            return Money(value["cents"])

        return convert

    def is_model(self, tp: Any) -> bool:
        return tp is Money


def test_type_adapter_registry_hook() -> None:
    from gofastapi import GoFastAPI, _convert
    from gofastapi.testclient import TestClient

    adapter = MoneyAdapter()
    _convert.register_type_adapter(adapter)
    try:
        app = GoFastAPI()

        @app.post("/pay")
        def pay(amount: Money) -> dict[str, int]:
            return {"cents": amount.cents}

        client = TestClient(app)
        assert client.post("/pay", json={"cents": 150}).json() == {"cents": 150}
        response = client.post("/pay", json={"cents": "x"})
        assert response.json()["detail"][0] == {
            "type": "money",
            "loc": ["body"],
            "msg": "bad money",
            "input": {"cents": "x"},
        }
    finally:
        _convert._ADAPTERS.remove(adapter)
