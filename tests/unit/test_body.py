"""JSON bodies: dataclasses, dicts, lists, embedding and pydantic-shaped errors."""

from __future__ import annotations

import dataclasses
import enum
from typing import Any, Literal, Optional

import pytest

from gofastapi import Body, GoFastAPI
from gofastapi.testclient import TestClient


class Kind(enum.Enum):
    TOOL = "tool"
    TOY = "toy"


@dataclasses.dataclass
class Tag:
    name: str


@dataclasses.dataclass
class Item:
    name: str
    price: float
    kind: Kind = Kind.TOOL
    tags: list[Tag] = dataclasses.field(default_factory=list)
    description: Optional[str] = None  # noqa: UP045
    attrs: dict[str, int] = dataclasses.field(default_factory=dict)
    size: Literal["s", "m", "l"] = "m"


@dataclasses.dataclass
class Order:
    items: list[Item]
    note: str | None = None


@dataclasses.dataclass
class User:
    username: str


@dataclasses.dataclass
class Positive:
    value: int

    def __post_init__(self) -> None:
        if self.value <= 0:
            raise ValueError("value must be positive")


@pytest.fixture
def client() -> TestClient:
    app = GoFastAPI()

    @app.post("/items")
    def create(item: Item) -> Item:
        return item

    @app.post("/orders", status_code=201)
    def order(order: Order) -> dict[str, Any]:
        return {
            "count": len(order.items),
            "total": sum(i.price for i in order.items),
            "note": order.note,
        }

    @app.post("/two")
    def two(item: Item, user: User, importance: int = Body()) -> dict[str, Any]:
        return {"item": item.name, "user": user.username, "importance": importance}

    @app.post("/embed")
    def embed(item: Item = Body(embed=True)) -> str:
        return item.name

    @app.post("/dict")
    def as_dict(data: dict[str, int]) -> dict[str, int]:
        return data

    @app.post("/list")
    def as_list(values: list[Item]) -> int:
        return len(values)

    @app.post("/raw")
    def raw(payload: dict) -> dict:  # type: ignore[type-arg]
        return payload

    @app.post("/optional")
    def optional(item: Item | None = None) -> str:
        return "none" if item is None else item.name

    @app.post("/positive")
    def positive(p: Positive) -> int:
        return p.value

    @app.post("/scalar")
    def scalar(n: int = Body()) -> int:
        return n

    return TestClient(app)


def test_dataclass_body(client: TestClient) -> None:
    payload = {
        "name": "hammer",
        "price": "9.5",
        "tags": [{"name": "t"}],
        "attrs": {"w": "3"},
        "kind": "toy",
    }
    response = client.post("/items", json=payload)
    assert response.status_code == 200
    assert response.json() == {
        "name": "hammer",
        "price": 9.5,
        "kind": "toy",
        "tags": [{"name": "t"}],
        "description": None,
        "attrs": {"w": 3},
        "size": "m",
    }


def test_nested_error_locations(client: TestClient) -> None:
    payload = {
        "items": [
            {"name": "a", "price": 1},
            {"name": "b", "price": "cheap", "tags": [{}]},
        ]
    }
    response = client.post("/orders", json=payload)
    assert response.status_code == 422
    assert response.json()["detail"] == [
        {
            "type": "float_parsing",
            "loc": ["body", "items", 1, "price"],
            "msg": "Input should be a valid number, unable to parse string as a number",
            "input": "cheap",
        },
        {
            "type": "missing",
            "loc": ["body", "items", 1, "tags", 0, "name"],
            "msg": "Field required",
            "input": {},
        },
    ]


def test_valid_nested_body_and_status(client: TestClient) -> None:
    response = client.post(
        "/orders",
        json={"items": [{"name": "a", "price": 1}, {"name": "b", "price": 2.5}]},
    )
    assert response.status_code == 201
    assert response.json() == {"count": 2, "total": 3.5, "note": None}


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        (
            {"price": 1},
            [
                {
                    "type": "missing",
                    "loc": ["body", "name"],
                    "msg": "Field required",
                    "input": {"price": 1},
                }
            ],
        ),
        (
            {"name": "x", "price": 1, "kind": "car"},
            [
                {
                    "type": "enum",
                    "loc": ["body", "kind"],
                    "msg": "Input should be 'tool' or 'toy'",
                    "input": "car",
                    "ctx": {"expected": "'tool' or 'toy'"},
                }
            ],
        ),
        (
            {"name": "x", "price": 1, "size": "xl"},
            [
                {
                    "type": "literal_error",
                    "loc": ["body", "size"],
                    "msg": "Input should be 's', 'm' or 'l'",
                    "input": "xl",
                    "ctx": {"expected": "'s', 'm' or 'l'"},
                }
            ],
        ),
        (
            {"name": 5, "price": 1},
            [
                {
                    "type": "string_type",
                    "loc": ["body", "name"],
                    "msg": "Input should be a valid string",
                    "input": 5,
                }
            ],
        ),
        (
            {"name": "x", "price": 1, "tags": "a"},
            [
                {
                    "type": "list_type",
                    "loc": ["body", "tags"],
                    "msg": "Input should be a valid list",
                    "input": "a",
                }
            ],
        ),
        (
            {"name": "x", "price": 1, "attrs": []},
            [
                {
                    "type": "dict_type",
                    "loc": ["body", "attrs"],
                    "msg": "Input should be a valid dictionary",
                    "input": [],
                }
            ],
        ),
        (
            {"name": "x", "price": 1, "attrs": {"k": "v"}},
            [
                {
                    "type": "int_parsing",
                    "loc": ["body", "attrs", "k"],
                    "msg": "Input should be a valid integer, unable to parse string as an integer",
                    "input": "v",
                }
            ],
        ),
        (
            [1],
            [
                {
                    "type": "dataclass_type",
                    "loc": ["body"],
                    "msg": "Input should be a dictionary or an instance of Item",
                    "input": [1],
                    "ctx": {"class_name": "Item"},
                }
            ],
        ),
        (
            {"name": "x", "price": 1.5, "tags": [{"name": None}]},
            [
                {
                    "type": "string_type",
                    "loc": ["body", "tags", 0, "name"],
                    "msg": "Input should be a valid string",
                    "input": None,
                }
            ],
        ),
    ],
    ids=[
        "missing",
        "enum",
        "literal",
        "string-type",
        "list-type",
        "dict-type",
        "dict-value",
        "not-object",
        "null-field",
    ],
)
def test_body_errors(
    client: TestClient, payload: Any, expected: list[dict[str, Any]]
) -> None:
    response = client.post("/items", json=payload)
    assert response.status_code == 422
    assert response.json() == {"detail": expected}


def test_int_from_float_rules(client: TestClient) -> None:
    assert client.post("/scalar", json=3.0).json() == 3
    [error] = client.post("/scalar", json=3.5).json()["detail"]
    assert error["type"] == "int_from_float"
    assert (
        error["msg"]
        == "Input should be a valid integer, got a number with a fractional part"
    )


def test_several_body_params_are_embedded(client: TestClient) -> None:
    payload = {
        "item": {"name": "x", "price": 1},
        "user": {"username": "u"},
        "importance": 5,
    }
    assert client.post("/two", json=payload).json() == {
        "item": "x",
        "user": "u",
        "importance": 5,
    }
    response = client.post("/two", json={"item": {"name": "x"}})
    assert [e["loc"] for e in response.json()["detail"]] == [
        ["body", "item", "price"],
        ["body", "user"],
        ["body", "importance"],
    ]


def test_embed_true(client: TestClient) -> None:
    assert client.post("/embed", json={"item": {"name": "n", "price": 1}}).json() == "n"
    response = client.post("/embed", json={"name": "n", "price": 1})
    assert response.json()["detail"] == [
        {
            "type": "missing",
            "loc": ["body", "item"],
            "msg": "Field required",
            "input": None,
        }
    ]


def test_empty_body_is_missing(client: TestClient) -> None:
    response = client.post("/items")
    assert response.status_code == 422
    assert response.json() == {
        "detail": [
            {"type": "missing", "loc": ["body"], "msg": "Field required", "input": None}
        ]
    }
    assert client.post("/items", json=None).json()["detail"][0]["type"] == "missing"


def test_optional_body(client: TestClient) -> None:
    assert client.post("/optional").json() == "none"
    assert client.post("/optional", json={"name": "z", "price": 0}).json() == "z"


@pytest.mark.parametrize(
    ("content", "pos", "ctx_error"),
    [
        (b"{", 1, "Expecting property name enclosed in double quotes"),
        (b'{"a": 1} x', 9, "Extra data"),
        (b"[1,]", 2, "Illegal trailing comma before end of array"),
    ],
    ids=["truncated", "trailing-data", "trailing-comma"],
)
def test_invalid_json(
    client: TestClient, content: bytes, pos: int, ctx_error: str
) -> None:
    response = client.post(
        "/raw", content=content, headers={"content-type": "application/json"}
    )
    assert response.status_code == 422
    assert response.json() == {
        "detail": [
            {
                "type": "json_invalid",
                "loc": ["body", pos],
                "msg": "JSON decode error",
                "input": {},
                "ctx": {"error": ctx_error},
            }
        ]
    }


@pytest.mark.parametrize("constant", [b"NaN", b"Infinity", b"-Infinity"], ids=str)
def test_nan_and_infinity_are_rejected(client: TestClient, constant: bytes) -> None:
    response = client.post("/raw", content=b'{"a": ' + constant + b"}")
    assert response.status_code == 422
    assert response.json()["detail"][0]["type"] == "json_invalid"


def test_deeply_nested_json_is_a_422_not_a_crash(client: TestClient) -> None:
    response = client.post("/raw", content=b"[" * 100000 + b"]" * 100000)
    assert response.status_code == 422


def test_dict_and_list_bodies(client: TestClient) -> None:
    assert client.post("/dict", json={"a": "1"}).json() == {"a": 1}
    assert client.post("/list", json=[{"name": "a", "price": 1}]).json() == 1
    response = client.post("/list", json=[{"name": "a"}])
    assert response.json()["detail"][0]["loc"] == ["body", 0, "price"]
    assert client.post("/raw", json={"any": [1, {"x": None}]}).json() == {
        "any": [1, {"x": None}]
    }


def test_post_init_value_error(client: TestClient) -> None:
    assert client.post("/positive", json={"value": 2}).json() == 2
    [error] = client.post("/positive", json={"value": -1}).json()["detail"]
    assert error["type"] == "value_error"
    assert error["msg"] == "Value error, value must be positive"
    assert error["loc"] == ["body"]


def test_validation_error_mixes_query_and_body(client: TestClient) -> None:
    app = GoFastAPI()

    @app.post("/mix")
    def mix(q: int, item: Item) -> None:
        return None

    errors = TestClient(app).post("/mix?q=x", json={"price": 1}).json()["detail"]
    assert [e["loc"] for e in errors] == [["query", "q"], ["body", "name"]]


def test_recursive_dataclass() -> None:
    app = GoFastAPI()

    @app.post("/tree")
    def tree(node: Node) -> int:
        def count(n: Node) -> int:
            return 1 + sum(count(c) for c in n.children)

        return count(node)

    client = TestClient(app)
    assert (
        client.post(
            "/tree",
            json={
                "name": "r",
                "children": [{"name": "a", "children": [{"name": "b"}]}],
            },
        ).json()
        == 3
    )
    errors = client.post(
        "/tree", json={"name": "r", "children": [{"children": [{}]}]}
    ).json()["detail"]
    assert [e["loc"] for e in errors] == [
        ["body", "children", 0, "name"],
        ["body", "children", 0, "children", 0, "name"],
    ]


@dataclasses.dataclass
class Node:
    name: str
    children: list[Node] = dataclasses.field(default_factory=list)
